#include "runtime/launch.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "sys/file_io.h"
#include "sys/openat2.h"
#include "sys/process.h"
#include "util/strings.h"

namespace hoist::runtime::detail {

namespace {

struct RlimitName {
  const char* name;
  int resource;
};

constexpr RlimitName kRlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},       {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},             {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

int cap_last() {
  auto t = sys::read_file("/proc/sys/kernel/cap_last_cap", 64);
  if (!t) return kCapLastKnown;
  auto n = parse_u64(trim(*t));
  return n ? int(std::min<uint64_t>(*n, 63)) : kCapLastKnown;
}

bool is_executable(const sys::Fd& root, const std::string& path) {
  int fd = sys::open_in_root_raw(root.get(), path.c_str(), O_PATH);
  if (fd < 0) return false;
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
  ::close(fd);
  return ok;
}

Result<> write_map(pid_t pid, const char* file, const std::vector<IdMapping>& map) {
  std::string text;
  for (const auto& m : map) text += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  std::string path = fmt::format("/proc/{}/{}", pid, file);
  auto fd = HOIST_TRY(sys::open_file(path, O_WRONLY));
  // The kernel takes the whole map in one write(2) or not at all.
  if (::write(fd.get(), text.data(), text.size()) != ssize_t(text.size()))
    return fail(Error::from_errno(errno, fmt::format("cannot write '{}'", path)));
  return {};
}

// One message from the child, and the fd that came with it (kPty).
Result<bool> receive(int sock, init::Message& m, sys::Fd* fd) {
  struct iovec iov = {&m, sizeof m};
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail(Error::from_errno(errno, "cannot read from the container init"));
  if (n == 0) return false;
  if (n != ssize_t(sizeof m)) return fail(Errc::kInternal, "short message from the container init");
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && fd) {
      int got;
      memcpy(&got, CMSG_DATA(c), sizeof got);
      fd->reset(got);
    }
  return true;
}

Result<> send_go(int sock) {
  init::Message m{init::Msg::kGo, init::Step::kSync, 0, -1};
  if (::send(sock, &m, sizeof m, MSG_NOSIGNAL) != ssize_t(sizeof m))
    return fail(Error::from_errno(errno, "cannot signal the container init"));
  return {};
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  (void)sys::wait_pid(pid);
}

}  // namespace

std::string init_error(const init::InitConfig& cfg, const init::Message& m) {
  std::string what = init::step_name(m.step);
  size_t i = size_t(m.index);
  switch (m.step) {
    case init::Step::kMount:
    case init::Step::kBind:
    case init::Step::kRemount:
    case init::Step::kMountPropagation:
      if (m.index >= 0 && i < cfg.ops.size()) {
        const auto& op = cfg.ops[i];
        what += op.kind == OpKind::kBind ? fmt::format(" '{}' on '{}'", op.source, op.target)
                                         : fmt::format(" '{}' on '{}'", op.fstype, op.target);
      }
      break;
    case init::Step::kDevice:
    case init::Step::kSymlink:
      if (m.index >= 0 && i < cfg.ops.size()) what += fmt::format(" '{}'", cfg.ops[i].target);
      break;
    case init::Step::kMask:
      if (m.index >= 0 && i < cfg.masked_paths.size()) what += fmt::format(" '{}'", cfg.masked_paths[i]);
      break;
    case init::Step::kReadonlyPath:
      if (m.index >= 0 && i < cfg.readonly_paths.size()) what += fmt::format(" '{}'", cfg.readonly_paths[i]);
      break;
    case init::Step::kSysctl:
      if (m.index >= 0 && i < cfg.sysctl.size()) what += fmt::format(" '{}'", cfg.sysctl[i].first);
      break;
    case init::Step::kCwd:
    case init::Step::kCwdOutsideRoot: what += fmt::format(" '{}'", cfg.cwd); break;
    case init::Step::kExec:
      if (!cfg.args.empty()) what += fmt::format(" '{}'", cfg.args[0]);
      break;
    case init::Step::kCapBounding:
    case init::Step::kAmbient: what += fmt::format(" '{}'", capability_name(m.index)); break;
    default: break;
  }
  return Error::from_errno(m.err, "container init failed " + what).to_string();
}

Result<> fill_process(init::InitConfig& cfg, const Process& p, const std::optional<Seccomp>& seccomp,
                      const sys::Fd& rootfs_fd, std::vector<std::string>* warnings) {
  if (p.args.empty()) return fail(Errc::kInvalidArgument, "process.args must not be empty");
  if (p.cwd.empty() || p.cwd[0] != '/')
    return fail(Errc::kInvalidArgument, "process.cwd '" + p.cwd + "' must be an absolute path");
  cfg.terminal = p.terminal;
  cfg.rows = p.console_height;
  cfg.cols = p.console_width;
  cfg.uid = p.uid;
  cfg.gid = p.gid;
  cfg.groups.assign(p.additional_gids.begin(), p.additional_gids.end());
  cfg.umask = p.umask.value_or(022);
  cfg.no_new_privs = p.no_new_privileges;
  cfg.cwd = p.cwd;
  for (const auto& r : p.rlimits) {
    int res = -1;
    for (const auto& n : kRlimits)
      if (r.type == n.name) res = n.resource;
    if (res < 0) return fail(Errc::kInvalidArgument, "unknown rlimit '" + r.type + "'");
    struct rlimit rl = {rlim_t(r.soft), rlim_t(r.hard)};
    cfg.rlimits.emplace_back(res, rl);
  }
  if (p.capabilities) {
    cfg.set_caps = true;
    cfg.cap_last = cap_last();
    const auto& c = *p.capabilities;
    cfg.cap_bounding = HOIST_TRY(capability_mask(c.bounding, cfg.cap_last, warnings));
    cfg.cap_effective = HOIST_TRY(capability_mask(c.effective, cfg.cap_last, warnings));
    cfg.cap_permitted = HOIST_TRY(capability_mask(c.permitted, cfg.cap_last, warnings));
    cfg.cap_inheritable = HOIST_TRY(capability_mask(c.inheritable, cfg.cap_last, warnings));
    cfg.cap_ambient = HOIST_TRY(capability_mask(c.ambient, cfg.cap_last, warnings));
    // The kernel raises an ambient cap only if it is permitted and inheritable;
    // runc's default spec lists ambient caps without inheritable ones and runc
    // then silently has none: do the same rather than fail.
    cfg.cap_ambient &= cfg.cap_permitted & cfg.cap_inheritable;
  }
  if (seccomp) {
    auto prog = HOIST_TRY(compile_seccomp(*seccomp, warnings));
    cfg.seccomp = std::move(prog.filter);
    cfg.seccomp_flags = prog.flags;
    cfg.seccomp_early = !p.no_new_privileges;
  }
  cfg.args = p.args;
  cfg.env = p.env;
  // The executable is looked up now, inside the container's root, so that a
  // missing one fails `create` (as runc) instead of a started container.
  const std::string& arg0 = p.args[0];
  std::vector<std::string> candidates;
  if (arg0.find('/') != std::string::npos) {
    candidates.push_back(arg0[0] == '/' ? arg0 : p.cwd + "/" + arg0);
  } else {
    std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const auto& e : p.env)
      if (e.starts_with("PATH=")) path = e.substr(5);
    for (auto dir : split(path, ':')) candidates.push_back((dir.empty() ? std::string(".") : std::string(dir)) + "/" + arg0);
  }
  cfg.exec_candidates.clear();
  for (const auto& c : candidates)
    if (is_executable(rootfs_fd, c[0] == '/' ? c : p.cwd + "/" + c)) {
      cfg.exec_candidates.push_back(c);
      break;
    }
  if (cfg.exec_candidates.empty())
    return fail(Errc::kNotFound, arg0.find('/') != std::string::npos
                                     ? "executable '" + arg0 + "' not found in the container"
                                     : "executable file '" + arg0 + "' not found in $PATH");
  return {};
}

Result<Launched> launch(Launch& l) {
  init::InitConfig& cfg = l.cfg;
  // Ordering: argv/envp point into cfg.args/env; nothing may resize them after.
  cfg.argv.clear();
  cfg.envp.clear();
  for (auto& a : cfg.args) cfg.argv.push_back(a.data());
  cfg.argv.push_back(nullptr);
  for (auto& e : cfg.env) cfg.envp.push_back(e.data());
  cfg.envp.push_back(nullptr);

  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return fail(Error::from_errno(errno, "cannot create the sync socket"));
  sys::Fd parent_end(sp[0]), child_end(sp[1]);
  cfg.sync_fd = child_end.get();
  cfg.parent_sync_fd = parent_end.get();

  // A pid namespace is joined by the init after its other namespaces (it
  // forks into it, init.h); its child then becomes ours through the subreaper
  // bit (a foreground exec waits for it). Set before clone: no orphan may
  // escape to pid 1 in between.
  cfg.pid_ns_fd = l.pid_ns ? l.pid_ns.get() : -1;
  if (l.pid_ns && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return fail(Error::from_errno(errno, "cannot become a subreaper"));
  // A fork-like clone (no CLONE_VM, no new stack): the child gets a copy of
  // this address space with cfg in it and continues below, like fork(2), but
  // in new namespaces. Nothing is exec'd before the container's own binary.
  long pid = ::syscall(SYS_clone, (unsigned long)(l.clone_flags | SIGCHLD), nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) init::run_init(cfg);
  if (pid < 0) return fail(Error::from_errno(errno, "cannot clone the container init"));
  child_end.reset();

  Launched out;
  out.pid = pid_t(pid);
  pid_t helper = 0;  // the first child, when the init forks into a pid namespace
  auto fail_child = [&](Error e) -> Result<Launched> {
    if (helper > 0) kill_and_reap(helper);
    kill_and_reap(out.pid);
    return fail(std::move(e));
  };
  if (!l.uid_map.empty() || !l.gid_map.empty()) {
    if (auto r = write_map(out.pid, "uid_map", l.uid_map); !r) return fail_child(std::move(r).error());
    if (l.deny_setgroups) {
      auto fd = sys::open_file(fmt::format("/proc/{}/setgroups", out.pid), O_WRONLY);
      if (!fd) return fail_child(std::move(fd).error());
      if (auto w = sys::write_all(fd->get(), "deny"); !w) return fail_child(std::move(w).error());
    }
    if (auto r = write_map(out.pid, "gid_map", l.gid_map); !r) return fail_child(std::move(r).error());
  }
  if (l.cgroups)
    if (auto r = l.cgroups->add(out.pid); !r) return fail_child(std::move(r).error());
  if (l.oom_score_adj) {
    auto fd = sys::open_file(fmt::format("/proc/{}/oom_score_adj", out.pid), O_WRONLY);
    if (!fd) return fail_child(std::move(fd).error());
    if (auto w = sys::write_all(fd->get(), std::to_string(*l.oom_score_adj)); !w)
      return fail_child(std::move(w).error().context("cannot set oomScoreAdj"));
  }
  if (auto r = send_go(parent_end.get()); !r) return fail_child(std::move(r).error());

  for (;;) {
    init::Message m;
    sys::Fd fd;
    auto got = receive(parent_end.get(), m, &fd);
    if (!got) return fail_child(std::move(got).error());
    if (!*got) {
      if (helper > 0) (void)sys::wait_pid(helper);
      int status = HOIST_TRY(sys::wait_pid(out.pid));
      return fail(Errc::kInternal, fmt::format("container init exited during setup (status {})",
                                               sys::exit_code_from_status(status)));
    }
    switch (m.type) {
      case init::Msg::kError: return fail_child(Error(Errc::kIo, init_error(cfg, m)));
      case init::Msg::kHooks:
        if (l.on_hooks)
          if (auto r = l.on_hooks(out.pid); !r) return fail_child(std::move(r).error());
        if (auto r = send_go(parent_end.get()); !r) return fail_child(std::move(r).error());
        break;
      case init::Msg::kPty:
        if (!fd) return fail_child(Error(Errc::kInternal, "container init sent no terminal"));
        if (!l.console_socket.empty()) {
          if (auto r = send_console(l.console_socket, fd.get()); !r) return fail_child(std::move(r).error());
        } else {
          out.pty_master = std::move(fd);
        }
        break;
      case init::Msg::kPid: {
        if (!l.pid_ns || helper > 0 || m.index <= 0)
          return fail_child(Error(Errc::kInternal, "unexpected message from the container init"));
        helper = out.pid;
        out.pid = pid_t(m.index);
        // The first child exits right after this message; its child waits
        // for kGo, so that no message of its can overtake this one.
        if (auto r = sys::wait_pid(helper); !r) return fail_child(std::move(r).error());
        helper = 0;
        if (auto r = send_go(parent_end.get()); !r) return fail_child(std::move(r).error());
        break;
      }
      case init::Msg::kReady: out.sync = std::move(parent_end); return out;
      case init::Msg::kGo: return fail_child(Error(Errc::kInternal, "unexpected message from the container init"));
    }
  }
}

Result<> release(Launched& l, const init::InitConfig& cfg) {
  HOIST_CHECK(send_go(l.sync.get()));
  init::Message m;
  auto got = HOIST_TRY(receive(l.sync.get(), m, nullptr));
  l.sync.reset();
  // EOF: the sync socket was closed by execve (CLOEXEC), the process runs.
  if (!got) return {};
  if (m.type == init::Msg::kError) return fail(Errc::kIo, init_error(cfg, m));
  return fail(Errc::kInternal, "unexpected message from the container init");
}

Result<> send_console(const std::string& path, int fd) {
  sys::Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return fail(Error::from_errno(errno, "cannot create socket"));
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail(Errc::kInvalidArgument, "console socket path '" + path + "' is too long");
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    return fail(Error::from_errno(errno, "cannot connect to console socket '" + path + "'"));
  // runc sends the pty's name as the payload and the master as SCM_RIGHTS.
  static constexpr char kName[] = "/dev/ptmx";
  struct iovec iov = {const_cast<char*>(kName), sizeof kName - 1};
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (::sendmsg(s.get(), &mh, MSG_NOSIGNAL) < 0)
    return fail(Error::from_errno(errno, "cannot send the terminal to '" + path + "'"));
  return {};
}

}  // namespace hoist::runtime::detail
