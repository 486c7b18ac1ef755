#include "runtime/hooks.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "sys/file_io.h"
#include "sys/process.h"

namespace hoist::runtime {

namespace {

struct NsFd {
  int fd;
  int type;
};

Result<> run_one(const Hook& h, const std::string& state_json, pid_t ns_pid) {
  // Everything the child needs is built before fork: it only calls syscalls.
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = h.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<NsFd> ns;
  if (ns_pid > 0) {
    // Ordering: user first, mount last (after it the /proc paths would change).
    static constexpr std::pair<const char*, int> kNs[] = {
        {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},     {"uts", CLONE_NEWUTS},
        {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP}, {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};
    for (auto [name, type] : kNs) {
      std::string p = "/proc/" + std::to_string(ns_pid) + "/ns/" + name;
      int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ns.push_back({fd, type});
    }
  }
  int pfd[2];
  if (::pipe2(pfd, O_CLOEXEC) < 0) return fail(Error::from_errno(errno, "cannot create pipe"));
  pid_t pid = ::fork();
  if (pid < 0) return fail(Error::from_errno(errno, "cannot fork hook '" + h.path + "'"));
  if (pid == 0) {
    for (const auto& n : ns) ::setns(n.fd, n.type);  // EINVAL for our own user ns is harmless
    ::dup2(pfd[0], 0);
    // stdout of a hook must not pollute ours (state, ps output): send it to stderr.
    ::dup2(2, 1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  for (const auto& n : ns) ::close(n.fd);
  ::close(pfd[0]);
  sys::Fd w(pfd[1]);
  // A hook need not read its stdin: a closed pipe is not an error, and must
  // not kill us with SIGPIPE either.
  struct sigaction ign = {}, old = {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  (void)sys::write_all(w.get(), state_json);
  ::sigaction(SIGPIPE, &old, nullptr);
  w.reset();
  auto pidfd = sys::pidfd_open(pid);
  if (pidfd && h.timeout) {
    auto exited = HOIST_TRY(sys::pidfd_wait_exit(*pidfd, *h.timeout * 1000));
    if (!exited) {
      ::kill(pid, SIGKILL);
      (void)sys::wait_pid(pid);
      return fail(Errc::kCancelled, "hook '" + h.path + "' timed out after " + std::to_string(*h.timeout) + "s");
    }
  }
  int status = HOIST_TRY(sys::wait_pid(pid));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return fail(Errc::kNotFound, "hook '" + h.path + "' could not be executed");
  return fail(Errc::kIo, "hook '" + h.path + "' exited with status " + std::to_string(sys::exit_code_from_status(status)));
}

}  // namespace

Result<> run_hooks(const std::vector<Hook>& hooks, const std::string& state_json, pid_t ns_pid) {
  for (const auto& h : hooks) HOIST_CHECK(run_one(h, state_json, ns_pid));
  return {};
}

}  // namespace hoist::runtime
