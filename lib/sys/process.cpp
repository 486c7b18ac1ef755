#include "sys/process.h"

#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "sys/file_io.h"
#include "util/strings.h"

namespace hoist::sys {

Result<ProcStat> proc_stat(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return fail(Errc::kNotFound, "no process " + std::to_string(pid));
  // comm (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  auto close = text->rfind(')');
  if (close == std::string::npos) return fail(Errc::kInternal, "cannot parse /proc/" + std::to_string(pid) + "/stat");
  auto fields = split(std::string_view(*text).substr(close + 2), ' ');
  // fields[0] is field 3 (state); start time is field 22 -> fields[19].
  if (fields.size() < 20) return fail(Errc::kInternal, "cannot parse /proc/" + std::to_string(pid) + "/stat");
  ProcStat st;
  st.state = fields[0].empty() ? '?' : fields[0][0];
  st.ppid = pid_t(parse_u64(fields[1]).value_or(0));
  st.start_time = parse_u64(fields[19]).value_or(0);
  return st;
}

bool process_alive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto st = proc_stat(pid);
  if (!st) return false;
  if (st->state == 'Z' || st->state == 'X') return false;
  return start_time == 0 || st->start_time == start_time;
}

Result<Fd> pidfd_open(pid_t pid) {
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return fail(Error::from_errno(errno, "cannot open process " + std::to_string(pid)));
  return Fd(int(fd));
}

Result<> pidfd_send_signal(const Fd& pidfd, int sig) {
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0)
    return fail(Error::from_errno(errno, "cannot send signal " + std::to_string(sig)));
  return {};
}

Result<bool> pidfd_wait_exit(const Fd& pidfd, int timeout_ms) {
  struct pollfd p = {pidfd.get(), POLLIN, 0};
  for (;;) {
    int n = ::poll(&p, 1, timeout_ms);
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return fail(Error::from_errno(errno, "cannot wait for process"));
  }
}

Result<int> wait_pid(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, __WALL);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return fail(Error::from_errno(errno, "cannot wait for process " + std::to_string(pid)));
  }
}

int exit_code_from_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

Result<std::vector<pid_t>> read_pids(const std::string& path) {
  auto text = HOIST_TRY(read_file(path, 16 << 20));
  std::vector<pid_t> out;
  for (auto line : split(text, '\n')) {
    auto n = parse_u64(trim(line));
    if (n) out.push_back(pid_t(*n));
  }
  return out;
}

}  // namespace hoist::sys
