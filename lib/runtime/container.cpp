#include "runtime/container.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/core.h>

#include "runtime/cgroup.h"
#include "runtime/hooks.h"
#include "runtime/launch.h"
#include "runtime/mounts.h"
#include "sys/file_io.h"
#include "sys/userns.h"
#include "sys/process.h"
#include "util/log.h"

namespace hoist::runtime {

namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

struct NsType {
  const char* spec;
  const char* proc;
  int flag;
};

constexpr NsType kNamespaces[] = {
    {"user", "user", CLONE_NEWUSER}, {"ipc", "ipc", CLONE_NEWIPC},    {"uts", "uts", CLONE_NEWUTS},
    {"network", "net", CLONE_NEWNET}, {"pid", "pid", CLONE_NEWPID},   {"cgroup", "cgroup", CLONE_NEWCGROUP},
    {"mount", "mnt", CLONE_NEWNS},
};

Result<std::string> real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return fail(Error::from_errno(errno, "cannot resolve '" + p + "'"));
  return std::string(buf);
}

Result<Spec> load_config(const std::string& path) {
  auto text = sys::read_file(path, 16 << 20);
  if (!text) return fail(std::move(text).error());
  return parse_spec(*text);
}

// Undoes a half-made container: kills the init, removes cgroups and state.
struct Cleanup {
  std::string dir;
  CgroupManager* cgroups = nullptr;
  pid_t pid = 0;
  bool armed = true;
  ~Cleanup() {
    if (!armed) return;
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      (void)sys::wait_pid(pid);
    }
    if (cgroups) (void)cgroups->destroy();
    if (!dir.empty()) (void)sys::remove_all(dir);
  }
};

// Replaces each kCgroup op by the container's own cgroup directories, bound
// from the host (runc without a cgroup namespace does the same): on v1 (and
// hybrid) one per hierarchy under a tmpfs at the target; on v2 the one
// directory at the target itself. Read-only and the other flags apply to the
// binds (bind remounts) and to our tmpfs, never to a host superblock: a plain
// MS_REMOUNT of a bound cgroup2 directory would make the host's whole
// hierarchy read-only.
std::vector<MountOp> expand_cgroup_ops(const std::vector<MountOp>& ops, const std::vector<std::string>& dirs) {
  std::vector<MountOp> out;
  for (const auto& op : ops) {
    if (op.kind != OpKind::kCgroup) {
      out.push_back(op);
      continue;
    }
    constexpr std::string_view kRoot = "/sys/fs/cgroup/";
    auto bind = [&](const std::string& dir, const std::string& target) {
      MountOp b;
      b.kind = OpKind::kBind;
      b.source = dir;
      b.target = target;
      b.flags = (op.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
      out.push_back(b);
    };
    // Pure v2: one directory, not under a named hierarchy.
    if (dirs.size() == 1 && !dirs[0].starts_with(std::string(kRoot) + "unified/")) {
      bind(dirs[0], op.target);
      continue;
    }
    MountOp tmp;
    tmp.kind = OpKind::kMount;
    tmp.source = "tmpfs";
    tmp.fstype = "tmpfs";
    tmp.target = op.target;
    tmp.flags = (op.flags | MS_NOSUID | MS_NODEV | MS_NOEXEC) & ~MS_RDONLY;
    tmp.data = "mode=755";
    out.push_back(tmp);
    for (const auto& d : dirs) {
      // "/sys/fs/cgroup/memory/hoist/x" -> "memory": the component after /sys/fs/cgroup/.
      std::string name = "unified";
      if (d.starts_with(kRoot)) {
        auto rest = d.substr(kRoot.size());
        name = rest.substr(0, rest.find('/'));
      }
      bind(d, op.target + "/" + name);
    }
    if (op.flags & MS_RDONLY) {
      // The tmpfs is ours: its superblock may be remounted.
      MountOp ro;
      ro.kind = OpKind::kRemount;
      ro.target = op.target;
      ro.flags = tmp.flags | MS_RDONLY;
      out.push_back(ro);
    }
  }
  return out;
}

ContainerState hook_state(const ContainerState& s, Status st) {
  ContainerState h = s;
  h.status = st;
  return h;
}

// Everything create and run share, up to a container waiting at kReady.
struct Prepared {
  Spec spec;
  ContainerState state;
  std::unique_ptr<CgroupManager> cgroups;
  detail::Launch launch;
  detail::Launched launched;
  std::vector<sys::Fd> ns_fds;
  Cleanup cleanup;
};

// --preserve-fds N: fds 3 .. 3+N-1 must be open before we open anything, or
// one of ours (the sync socket, a namespace fd) could take a free number in
// that range and reach the container.
Result<> check_preserved_fds(int n) {
  if (n < 0 || n > 65536) return fail(Errc::kInvalidArgument, fmt::format("invalid --preserve-fds {}", n));
  for (int fd = 3; fd < 3 + n; ++fd)
    if (::fcntl(fd, F_GETFD) < 0)
      return fail(Errc::kInvalidArgument, fmt::format("--preserve-fds {}: fd {} is not open", n, fd));
  return {};
}

bool sets_limits(const std::optional<Resources>& r) {
  return r && (r->memory_limit || r->memory_swap || r->memory_reservation || r->cpu_shares || r->cpu_quota ||
               r->cpu_period || !r->cpuset_cpus.empty() || !r->cpuset_mems.empty() || r->pids_limit);
}

Result<> prepare(const CreateOptions& o, bool use_fifo, Prepared& p) {
  HOIST_CHECK(check_preserved_fds(o.preserve_fds));
  HOIST_CHECK(validate_id(o.id));
  // Root of a user namespace (hoist-build as an ordinary user) is rootless
  // as far as the host goes: no cgroups of its own, no device nodes, locked
  // mount flags.
  const bool in_userns = !sys::in_initial_user_namespace();
  const bool rootless = ::geteuid() != 0 || in_userns;
  std::string bundle = HOIST_TRY(real_path(o.bundle));
  p.spec = HOIST_TRY_CTX(load_config(bundle + "/config.json"), "cannot load '" + bundle + "/config.json'");
  Spec& spec = p.spec;
  std::vector<std::string> logged;  // without o.warnings: to the log, as they come
  std::vector<std::string>* warnings = o.warnings ? o.warnings : &logged;
  for (const auto& w : spec.warnings) warnings->push_back(w);
  if (!spec.process) return fail(Errc::kInvalidArgument, "config has no process");
  std::string rootfs = HOIST_TRY(real_path(spec.root_path[0] == '/' ? spec.root_path : bundle + "/" + spec.root_path));

  HOIST_CHECK(sys::mkdir_all(o.root, 0700));
  std::string dir = state_dir(o.root, o.id);
  if (::mkdir(dir.c_str(), 0700) < 0) {
    if (errno == EEXIST) return fail(Errc::kAlreadyExists, "container '" + o.id + "' already exists");
    return fail(Error::from_errno(errno, "cannot create '" + dir + "'"));
  }
  p.cleanup.dir = dir;
  HOIST_CHECK(write_state_file(dir + "/config.json", HOIST_TRY(sys::read_file(bundle + "/config.json", 16 << 20))));

  ContainerState& st = p.state;
  st.id = o.id;
  st.bundle = bundle;
  st.rootfs = rootfs;
  st.created = rfc3339_now();
  st.owner = "";
  st.annotations = spec.annotations;
  st.no_new_keyring = o.no_new_keyring;

  detail::Launch& l = p.launch;
  init::InitConfig& cfg = l.cfg;
  // Namespaces: new ones are made by clone (the user namespace first, so it
  // owns the others); the cgroup namespace after the cgroup is joined (unshare
  // in the child); paths are joined in the child, the user namespace first.
  bool new_user = false;
  for (const auto& ns : kNamespaces) {
    const Namespace* n = spec.find_namespace(ns.spec);
    if (!n) continue;
    if (n->path.empty()) {
      if (ns.flag == CLONE_NEWCGROUP) cfg.unshare_flags |= ns.flag;
      else l.clone_flags |= ns.flag;
      if (ns.flag == CLONE_NEWUSER) new_user = true;
      continue;
    }
    auto fd = HOIST_TRY_CTX(sys::open_file(n->path, O_RDONLY), fmt::format("cannot join {} namespace", ns.spec));
    if (ns.flag == CLONE_NEWPID) {
      l.pid_ns = std::move(fd);
    } else {
      cfg.joins.push_back({fd.get(), ns.flag});
      p.ns_fds.push_back(std::move(fd));
    }
  }
  if (spec.find_namespace("time")) return fail(Errc::kUnsupported, "time namespaces are not supported");
  if (!spec.has_namespace("mount")) return fail(Errc::kInvalidArgument, "config must ask for a mount namespace");
  cfg.in_user_ns = new_user || spec.find_namespace("user") || in_userns;
  if (new_user) {
    if (spec.linux_cfg.uid_mappings.empty() || spec.linux_cfg.gid_mappings.empty())
      return fail(Errc::kInvalidArgument, "a user namespace needs uidMappings and gidMappings");
    l.uid_map = spec.linux_cfg.uid_mappings;
    cfg.become_root = true;
    l.gid_map = spec.linux_cfg.gid_mappings;
  }
  if (!spec.hostname.empty()) {
    const Namespace* uts = spec.find_namespace("uts");
    if (!uts || !uts->path.empty()) return fail(Errc::kInvalidArgument, "cannot set hostname without a new uts namespace");
    cfg.set_hostname = true;
    cfg.hostname = spec.hostname;
  }
  if (!spec.domainname.empty()) {
    cfg.set_domainname = true;
    cfg.domainname = spec.domainname;
  }

  cfg.rootfs = rootfs;
  cfg.root_propagation = HOIST_TRY(plan_root_propagation(spec));
  {
    auto mi = HOIST_TRY(sys::read_file("/proc/self/mountinfo", 16 << 20));
    ParentMount parent = parent_mount(mi, rootfs);
    if (parent_stays_shared(parent, cfg.root_propagation)) cfg.private_parent = parent.mount_point;
  }
  auto ops = HOIST_TRY(plan_mounts(spec, bundle));
  cfg.masked_paths = spec.linux_cfg.masked_paths;
  cfg.readonly_paths = spec.linux_cfg.readonly_paths;
  cfg.root_readonly = spec.root_readonly;
  for (const auto& [k, v] : spec.linux_cfg.sysctl) {
    std::string path = "/proc/sys/" + k;
    for (size_t i = 10; i < path.size(); ++i)
      if (path[i] == '.') path[i] = '/';
    if (k.find("..") != std::string::npos || k.find('/') != std::string::npos)
      return fail(Errc::kInvalidArgument, "invalid sysctl '" + k + "'");
    cfg.sysctl.emplace_back(path, v);
  }
  cfg.pre_pivot_hooks = !spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty() ||
                        !spec.hooks.create_container.empty();
  cfg.set_groups = true;
  cfg.preserve_fds = o.preserve_fds;
  for (size_t i = 0; i < 3; ++i) cfg.stdio[i] = o.stdio[i];
  cfg.die_with_parent = o.die_with_parent;
  if (!o.no_new_keyring) cfg.session_keyring = "_ses." + o.id;

  sys::Fd rootfs_fd = HOIST_TRY(sys::open_file(rootfs, O_PATH | O_DIRECTORY));
  HOIST_CHECK(detail::fill_process(cfg, *spec.process, spec.linux_cfg.seccomp, rootfs_fd, warnings));
  for (const auto& w : logged) log::warn("{}", w);
  if (in_userns && !new_user) {
    // A namespace whose owner denied setgroups (a one-id map) refuses it to
    // everyone in it.
    auto sg = sys::read_file("/proc/self/setgroups", 64);
    if (sg && sg->starts_with("deny")) cfg.set_groups = false;
  }
  if (rootless && new_user) {
    // An unprivileged parent may write gid_map only after denying setgroups
    // (user_namespaces(7)); the init then leaves the (empty) groups alone.
    l.deny_setgroups = true;
    cfg.set_groups = !cfg.groups.empty();
    cfg.dumpable_until_mapped = true;
  }
  if (cfg.terminal && o.console_socket.empty() && use_fifo)
    return fail(Errc::kInvalidArgument, "cannot allocate a terminal for a detached container without --console-socket");
  l.console_socket = o.console_socket;
  l.oom_score_adj = spec.process->oom_score_adj;

  bool no_cgroup = false;
  auto opened = open_cgroups(spec.linux_cfg.cgroups_path, o.id);
  if (!opened && rootless && opened.error().code() == Errc::kUnsupported &&
      !sets_limits(spec.linux_cfg.resources) && spec.linux_cfg.cgroups_path.empty()) {
    // No cgroup file system at all (a container's view): nothing to join.
    log::debug("container '{}': no cgroup ({})", o.id, opened.error().to_string());
    opened = reopen_cgroups({});
    no_cgroup = true;
  }
  p.cgroups = HOIST_TRY(std::move(opened));
  if (auto made = no_cgroup ? Result<>{} : p.cgroups->create(); !made) {
    // runc's rootless rule: no cgroup is fine when none can be made and no
    // limit is asked for.
    if (!rootless || made.error().code() != Errc::kDenied || sets_limits(spec.linux_cfg.resources))
      return fail(std::move(made).error());
    log::debug("container '{}': no cgroup ({})", o.id, made.error().to_string());
    (void)p.cgroups->destroy();
    p.cgroups = reopen_cgroups({});
    no_cgroup = true;
  }
  p.cleanup.cgroups = p.cgroups.get();
  // Without a cgroup only the device rules are left to apply, and there is
  // nothing to apply them to (a rootless runc ignores them too; mknod is
  // refused in a user namespace anyway).
  if (spec.linux_cfg.resources && !no_cgroup)
    HOIST_CHECK_CTX(p.cgroups->apply(*spec.linux_cfg.resources), "cannot apply resources");
  st.cgroup_dirs = p.cgroups->dirs();
  l.cgroups = p.cgroups.get();
  cfg.ops = expand_cgroup_ops(ops, st.cgroup_dirs);

  sys::Fd fifo;
  if (use_fifo) {
    std::string f = dir + "/exec.fifo";
    // 0622 whatever the umask: a mapped container root is "other" to it.
    if (::mkfifo(f.c_str(), 0622) < 0 || ::chmod(f.c_str(), 0622) < 0)
      return fail(Error::from_errno(errno, "cannot create '" + f + "'"));
    fifo = HOIST_TRY(sys::open_file(f, O_PATH));
    cfg.fifo_fd = fifo.get();
  }

  l.on_hooks = [&p](pid_t pid) -> Result<> {
    ContainerState s = p.state;
    s.pid = pid;
    std::string js = state_json(hook_state(s, Status::kCreating));
    HOIST_CHECK_CTX(run_hooks(p.spec.hooks.prestart, js), "prestart hook failed");
    HOIST_CHECK_CTX(run_hooks(p.spec.hooks.create_runtime, js), "createRuntime hook failed");
    HOIST_CHECK_CTX(run_hooks(p.spec.hooks.create_container, js, pid), "createContainer hook failed");
    return {};
  };
  p.launched = HOIST_TRY(detail::launch(l));
  p.cleanup.pid = p.launched.pid;
  log::debug("container '{}': init {} ready in bundle '{}'", o.id, p.launched.pid, bundle);
  p.ns_fds.clear();
  st.pid = p.launched.pid;
  auto ps = HOIST_TRY(sys::proc_stat(st.pid));
  st.start_time = ps.start_time;
  HOIST_CHECK(save_state(o.root, st));
  if (!o.pid_file.empty()) HOIST_CHECK(write_state_file(o.pid_file, std::to_string(st.pid)));
  return {};
}

// After the handshake byte the init keeps exec.fifo open for writing until
// its execve closes it (CLOEXEC): EOF means the process runs; a Message means
// a step after start failed (user, capabilities, seccomp, execve).
Result<> wait_exec(int fd, const Spec& spec) {
  init::Message m;
  size_t got = 0;
  struct pollfd pfd = {fd, POLLIN, 0};
  // execve of even a large binary takes milliseconds; a minute means the init hangs.
  for (int waited = 0; waited < 60000;) {
    ssize_t n = ::read(fd, reinterpret_cast<char*>(&m) + got, sizeof m - got);
    if (n == 0) {
      if (got == 0) return {};
      return fail(Errc::kInternal, "short message from the container init");
    }
    if (n > 0) {
      got += size_t(n);
      if (got == sizeof m) {
        if (m.type != init::Msg::kError) return fail(Errc::kInternal, "unexpected message from the container init");
        init::InitConfig cfg;
        if (spec.process) {
          cfg.args = spec.process->args;
          cfg.cwd = spec.process->cwd;
        }
        return fail(Errc::kIo, detail::init_error(cfg, m));
      }
      continue;
    }
    if (errno != EAGAIN && errno != EINTR) return fail(Error::from_errno(errno, "cannot read exec.fifo"));
    ::poll(&pfd, 1, 100);
    waited += 100;
  }
  return fail(Errc::kUnavailable, "container init did not execute its process within 60s");
}

// Unblocks `start`: open the fifo for reading, which releases the init's
// blocking open for writing; the init writes one byte, goes on to execve and
// reports how that went on the same fifo.
Result<> open_fifo(const std::string& dir, const ContainerState& s, const Spec& spec) {
  std::string f = dir + "/exec.fifo";
  auto fd = sys::open_file(f, O_RDONLY | O_NONBLOCK);
  if (!fd) {
    if (fd.error().code() == Errc::kNotFound) return fail(Errc::kInvalidArgument, "container is not in created state");
    return fail(std::move(fd).error());
  }
  struct pollfd pfd = {fd->get(), POLLIN, 0};
  for (int waited = 0; waited < 10000; waited += 10) {
    char b;
    ssize_t n = ::read(fd->get(), &b, 1);
    if (n == 1) {
      // Ordering: unlinked first, so that state says "running" from here on
      // and a second start fails, even while this one waits for the execve.
      ::unlink(f.c_str());
      return wait_exec(fd->get(), spec);
    }
    // EOF: no writer yet. The init opens the fifo as soon as it runs again;
    // if it is gone instead (it failed after create), say so now.
    if (n == 0) {
      if (!sys::process_alive(s.pid, s.start_time))
        return fail(Errc::kIo, "container init exited before start (see the create log)");
      ::poll(&pfd, 1, 10);
      continue;
    }
    if (errno != EAGAIN && errno != EINTR) return fail(Error::from_errno(errno, "cannot read '" + f + "'"));
    ::poll(&pfd, 1, 10);
  }
  return fail(Errc::kUnavailable, "container init did not respond to start");
}

void kill_cgroup(CgroupManager& cg) {
  for (int round = 0; round < 50; ++round) {
    auto p = cg.pids();
    if (!p || p->empty()) return;
    for (pid_t pid : *p) ::kill(pid, SIGKILL);
    ::usleep(10000);
  }
}

// Poststop hooks, cgroups, state dir: what delete and the end of run do.
Result<> destroy(const std::string& root, const ContainerState& s) {
  auto cg = reopen_cgroups(s.cgroup_dirs);
  kill_cgroup(*cg);
  Result<> res = cg->destroy();
  std::string dir = state_dir(root, s.id);
  auto spec = load_config(dir + "/config.json");
  if (spec && !spec->hooks.poststop.empty()) {
    // runtime-spec: poststop failures are logged, and delete goes on.
    auto r = run_hooks(spec->hooks.poststop, state_json(hook_state(s, Status::kStopped)));
    if (!r) log::warn("poststop hook failed: {}", r.error().to_string());
  }
  if (auto r = sys::remove_all(dir); !r && res) res = std::move(r);
  return res;
}

class SignalBlock {
 public:
  SignalBlock() {
    sigemptyset(&set_);
    for (int s : kForwarded) sigaddset(&set_, s);
    sigaddset(&set_, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &set_, &old_);
    // An ignored signal is discarded, never pending, so signalfd would not
    // see it: a shell starts background jobs with SIGINT ignored. Default
    // (blocked, so harmless) while we forward, like Go's signal.Notify in runc.
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    for (size_t i = 0; i < std::size(kForwarded); ++i) ::sigaction(kForwarded[i], &dfl, &old_actions_[i]);
  }
  ~SignalBlock() {
    // Drop what is still pending of ours before unblocking: it was meant for the container.
    struct timespec zero = {0, 0};
    while (::sigtimedwait(&set_, nullptr, &zero) > 0) {
    }
    for (size_t i = 0; i < std::size(kForwarded); ++i) ::sigaction(kForwarded[i], &old_actions_[i], nullptr);
    ::sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  const sigset_t& set() const { return set_; }

 private:
  sigset_t set_, old_;
  struct sigaction old_actions_[std::size(kForwarded)] = {};
};

class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::isatty(fd) && ::tcgetattr(fd, &old_) == 0) {
      struct termios raw = old_;
      ::cfmakeraw(&raw);
      ok_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
    }
  }
  ~RawTerminal() {
    if (ok_) ::tcsetattr(fd_, TCSANOW, &old_);
  }

 private:
  int fd_;
  struct termios old_ = {};
  bool ok_ = false;
};

void copy_winsize(int from, int to) {
  struct winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

bool pump(int from, int to) {
  char buf[8192];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, size_t(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += w;
  }
  return true;
}

// Waits for `pid`, forwarding signals to it, reaping every other child, and
// relaying the terminal if there is one. Returns the exit status.
Result<int> supervise(pid_t pid, const SignalBlock& sigs, sys::Fd pty) {
  sys::Fd sfd(::signalfd(-1, &sigs.set(), SFD_CLOEXEC));
  if (!sfd) return fail(Error::from_errno(errno, "cannot create signalfd"));
  std::optional<RawTerminal> raw;
  bool stdin_open = pty.valid();
  if (pty) {
    raw.emplace(0);
    copy_winsize(0, pty.get());
  }
  std::optional<int> status;
  bool pty_open = pty.valid();
  while (!status || pty_open) {
    struct pollfd fds[3] = {{sfd.get(), POLLIN, 0}, {pty.get(), POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    if (!pty_open) fds[1].fd = -1;
    // Once the init is gone, drain the terminal until it closes (or goes quiet).
    int n = ::poll(fds, 3, status ? 200 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Error::from_errno(errno, "poll failed"));
    }
    if (n == 0 && status) break;
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) == ssize_t(sizeof si)) {
        int sig = int(si.ssi_signo);
        if (sig == SIGCHLD) {
          for (;;) {
            int st = 0;
            pid_t r = ::waitpid(-1, &st, WNOHANG | __WALL);
            if (r <= 0) break;
            if (r == pid) status = st;
          }
        } else if (sig == SIGWINCH) {
          if (pty) copy_winsize(0, pty.get());
        } else if (!status) {
          ::kill(pid, sig);
        }
      }
    }
    if (pty_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      if (!pump(pty.get(), 1)) pty_open = false;
    }
    if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      if (!pump(0, pty.get())) stdin_open = false;
    }
  }
  return sys::exit_code_from_status(*status);
}

// runc's list: the owner is the user owning the state directory, "#<uid>"
// when it has no name.
std::string owner_of(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) < 0) return "";
  struct passwd pw, *found = nullptr;
  char buf[4096];
  if (::getpwuid_r(st.st_uid, &pw, buf, sizeof buf, &found) == 0 && found) return pw.pw_name;
  return "#" + std::to_string(st.st_uid);
}

}  // namespace

Result<> create(const CreateOptions& o) {
  Prepared p;
  HOIST_CHECK(prepare(o, true, p));
  p.cleanup.armed = false;
  return {};
}

Result<> start(const std::string& root, const std::string& id) {
  ContainerState s = HOIST_TRY(load_state(root, id));
  if (s.status != Status::kCreated)
    return fail(Errc::kInvalidArgument, fmt::format("cannot start a container that is {}", status_name(s.status)));
  std::string dir = state_dir(root, id);
  auto spec = HOIST_TRY(load_config(dir + "/config.json"));
  // startContainer hooks run in the container before its process (runtime-spec).
  HOIST_CHECK_CTX(run_hooks(spec.hooks.start_container, state_json(s), s.pid), "startContainer hook failed");
  HOIST_CHECK(open_fifo(dir, s, spec));
  log::debug("container '{}': process of init {} started", id, s.pid);
  s.status = Status::kRunning;
  if (auto r = run_hooks(spec.hooks.poststart, state_json(s)); !r)
    log::warn("poststart hook failed: {}", r.error().to_string());
  return {};
}

namespace {

// run() for an embedding caller (RunOptions::stop): no signal handling, the
// init waited for through a pidfd, a stop request turned into SIGKILL for the
// whole container. The init is our child (a new pid namespace: no double
// fork), so waitpid reaps it; its namespace's other processes die with it.
Result<int> run_embedded(const RunOptions& o) {
  if (o.detach) return fail(Errc::kInvalidArgument, "an embedded run cannot detach");
  Prepared p;
  HOIST_CHECK(prepare(o, false, p));
  if (p.launch.cfg.terminal) return fail(Errc::kInvalidArgument, "an embedded run cannot have a terminal");
  ContainerState s = p.state;
  auto pidfd = HOIST_TRY(sys::pidfd_open(s.pid));
  sys::Fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return fail(Error::from_errno(errno, "cannot create eventfd"));
  HOIST_CHECK_CTX(run_hooks(p.spec.hooks.start_container, state_json(hook_state(s, Status::kCreated)), s.pid),
                  "startContainer hook failed");
  HOIST_CHECK(detail::release(p.launched, p.launch.cfg));
  p.cleanup.pid = 0;
  p.cleanup.armed = false;
  bool cancelled = false;
  {
    std::stop_callback on_stop(o.stop, [&wake] {
      uint64_t one = 1;
      (void)!::write(wake.get(), &one, sizeof one);
    });
    for (;;) {
      struct pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {wake.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return fail(Error::from_errno(errno, "poll failed"));
      }
      if (fds[0].revents) break;
      if (fds[1].revents && !cancelled) {
        cancelled = true;
        (void)sys::pidfd_send_signal(pidfd, SIGKILL);
      }
    }
  }
  int status = 0;
  while (::waitpid(s.pid, &status, __WALL) < 0 && errno == EINTR) {
  }
  if (!o.keep) {
    auto d = destroy(o.root, s);
    if (!d) log::warn("cannot clean up container '{}': {}", o.id, d.error().to_string());
  }
  if (cancelled) return fail(Errc::kCancelled, "container '" + o.id + "' killed: interrupted");
  return sys::exit_code_from_status(status);
}

}  // namespace

Result<int> run(const RunOptions& o) {
  if (o.stop.stop_possible()) return run_embedded(o);
  if (o.detach) {
    HOIST_CHECK(create(o));
    auto r = start(o.root, o.id);
    if (!r) {
      (void)remove(o.root, o.id, true);
      return fail(std::move(r).error());
    }
    return 0;
  }
  // Ordering: signals are blocked before clone so that none sent between now
  // and the supervisor's signalfd is lost; the init unblocks them before execve.
  SignalBlock sigs;
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  Prepared p;
  HOIST_CHECK(prepare(o, false, p));
  ContainerState s = p.state;
  HOIST_CHECK_CTX(run_hooks(p.spec.hooks.start_container, state_json(hook_state(s, Status::kCreated)), s.pid),
                  "startContainer hook failed");
  HOIST_CHECK(detail::release(p.launched, p.launch.cfg));
  p.cleanup.pid = 0;
  p.cleanup.armed = false;
  if (auto r = run_hooks(p.spec.hooks.poststart, state_json(hook_state(s, Status::kRunning))); !r)
    log::warn("poststart hook failed: {}", r.error().to_string());
  auto code = supervise(s.pid, sigs, std::move(p.launched.pty_master));
  if (!o.keep) {
    auto d = destroy(o.root, s);
    if (!d) log::warn("cannot clean up container '{}': {}", o.id, d.error().to_string());
  }
  return code;
}

Result<ContainerState> state(const std::string& root, const std::string& id) { return load_state(root, id); }

Result<> kill(const std::string& root, const std::string& id, int sig, bool all) {
  ContainerState s = HOIST_TRY(load_state(root, id));
  if (s.status == Status::kStopped) return fail(Errc::kInvalidArgument, "container '" + id + "' is not running");
  if (all) {
    auto cg = reopen_cgroups(s.cgroup_dirs);
    for (pid_t p : HOIST_TRY(cg->pids())) ::kill(p, sig);
    return {};
  }
  // Open the pidfd first, then check it is still our init: a signal through
  // the pidfd cannot reach a process that reused the pid.
  auto fd = HOIST_TRY(sys::pidfd_open(s.pid));
  if (!sys::process_alive(s.pid, s.start_time))
    return fail(Errc::kInvalidArgument, "container '" + id + "' is not running");
  return sys::pidfd_send_signal(fd, sig);
}

Result<> remove(const std::string& root, const std::string& id, bool force) {
  auto loaded = load_state(root, id);
  if (!loaded) {
    if (force && loaded.error().code() == Errc::kNotFound) return {};
    return fail(std::move(loaded).error());
  }
  ContainerState s = std::move(*loaded);
  if (s.status == Status::kRunning && !force)
    return fail(Errc::kInvalidArgument, "cannot delete container '" + id + "' that is not stopped: running");
  if (s.status != Status::kStopped) {
    if (auto fd = sys::pidfd_open(s.pid); fd && sys::process_alive(s.pid, s.start_time)) {
      (void)sys::pidfd_send_signal(*fd, SIGKILL);
      (void)sys::pidfd_wait_exit(*fd, 5000);
      // Our own child (run --keep, tests): reap it; anyone else's parent does.
      ::waitpid(s.pid, nullptr, WNOHANG);
    }
  }
  s.status = Status::kStopped;
  return destroy(root, s);
}

Result<std::vector<ContainerState>> list(const std::string& root) {
  std::vector<ContainerState> out;
  for (const auto& id : HOIST_TRY(list_ids(root))) {
    auto s = load_state(root, id);
    if (!s) continue;
    s->owner = owner_of(state_dir(root, id));
    out.push_back(std::move(*s));
  }
  return out;
}

Result<std::vector<pid_t>> pids(const std::string& root, const std::string& id) {
  ContainerState s = HOIST_TRY(load_state(root, id));
  return reopen_cgroups(s.cgroup_dirs)->pids();
}

Result<Process> exec_base_process(const std::string& root, const std::string& id) {
  ContainerState s = HOIST_TRY(load_state(root, id));
  auto spec = HOIST_TRY(load_config(state_dir(root, id) + "/config.json"));
  if (!spec.process) return fail(Errc::kInvalidArgument, "config has no process");
  return *spec.process;
}

Result<int> exec(const ExecOptions& o) {
  HOIST_CHECK(check_preserved_fds(o.preserve_fds));
  ContainerState s = HOIST_TRY(load_state(o.root, o.id));
  if (s.status != Status::kRunning && s.status != Status::kCreated)
    return fail(Errc::kInvalidArgument, fmt::format("cannot exec in a container that is {}", status_name(s.status)));
  auto spec = HOIST_TRY(load_config(state_dir(o.root, o.id) + "/config.json"));
  if (o.process.terminal && o.detach && o.console_socket.empty())
    return fail(Errc::kInvalidArgument, "cannot allocate a terminal for a detached process without --console-socket");

  detail::Launch l;
  init::InitConfig& cfg = l.cfg;
  cfg.exec_mode = true;
  // Join every namespace of the init that differs from ours; the user
  // namespace first (kNamespaces order), pid through pid_for_children.
  std::vector<sys::Fd> ns_fds;
  for (const auto& ns : kNamespaces) {
    std::string theirs = fmt::format("/proc/{}/ns/{}", s.pid, ns.proc);
    std::string ours = fmt::format("/proc/self/ns/{}", ns.proc);
    struct stat a, b;
    if (::stat(theirs.c_str(), &a) < 0) continue;
    if (::stat(ours.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) continue;
    auto fd = HOIST_TRY(sys::open_file(theirs, O_RDONLY));
    if (ns.flag == CLONE_NEWPID) {
      l.pid_ns = std::move(fd);
    } else {
      cfg.joins.push_back({fd.get(), ns.flag});
      ns_fds.push_back(std::move(fd));
    }
    if (ns.flag == CLONE_NEWUSER) cfg.in_user_ns = true;
  }
  cfg.set_groups = true;
  // The executable is looked up in the container's root as its init sees it.
  sys::Fd root_fd = HOIST_TRY(sys::open_file(fmt::format("/proc/{}/root", s.pid), O_PATH | O_DIRECTORY));
  // Recheck after opening: the root belongs to our init, not a reused pid.
  if (!sys::process_alive(s.pid, s.start_time)) return fail(Errc::kInvalidArgument, "container '" + o.id + "' is not running");
  std::vector<std::string> warnings;
  HOIST_CHECK(detail::fill_process(cfg, o.process, spec.linux_cfg.seccomp, root_fd, &warnings));
  for (const auto& w : warnings) log::warn("{}", w);
  root_fd.reset();
  cfg.preserve_fds = o.preserve_fds;
  if (!s.no_new_keyring) cfg.session_keyring = "_ses." + o.id;
  // A rootless container's user namespace denies setgroups: leave empty groups alone.
  if (cfg.in_user_ns && cfg.groups.empty()) {
    auto sg = sys::read_file(fmt::format("/proc/{}/setgroups", s.pid), 64);
    if (sg && sg->starts_with("deny")) cfg.set_groups = false;
  }
  auto cg = reopen_cgroups(s.cgroup_dirs);
  l.cgroups = cg.get();
  l.console_socket = o.console_socket;
  l.oom_score_adj = o.process.oom_score_adj;

  std::optional<SignalBlock> sigs;
  if (!o.detach) sigs.emplace();
  auto launched = HOIST_TRY(detail::launch(l));
  ns_fds.clear();
  if (!o.pid_file.empty()) {
    if (auto r = write_state_file(o.pid_file, std::to_string(launched.pid)); !r) {
      ::kill(launched.pid, SIGKILL);
      (void)sys::wait_pid(launched.pid);
      return fail(std::move(r).error());
    }
  }
  if (auto r = detail::release(launched, cfg); !r) {
    (void)sys::wait_pid(launched.pid);
    return fail(std::move(r).error());
  }
  if (o.detach) return 0;
  return supervise(launched.pid, *sigs, std::move(launched.pty_master));
}

}  // namespace hoist::runtime
