#include "runtime/init/init.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/openat2.h"

// Everything in this file runs in the cloned child before execve. Rules:
// - no allocation (the parent may have held malloc's lock, and ASan would
//   report the child's unfreed memory), no locks, no exceptions, no stdio;
// - read the InitConfig only; every string in it was built before clone;
// - every failure goes to the parent as {step, errno, index} and ends the child.
// The order follows runc's standard_init_linux.go; comments mark each ordering
// constraint.

namespace hoist::runtime::init {

namespace {

// After start: exec.fifo, open for writing, where `start` reads the outcome
// (this child's own copy of the variable: the parent never sets it).
int g_report_fd = -1;

void send_msg(const InitConfig& c, Msg type, Step step = Step::kSync, int err = 0, int index = -1) {
  Message m{type, step, err, index};
  ssize_t r;
  do {
    r = ::send(c.sync_fd, &m, sizeof m, MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
}

[[noreturn]] void die(const InitConfig& c, Step step, int err, int index = -1) {
  if (g_report_fd >= 0) {
    // One write of less than PIPE_BUF: atomic on the fifo.
    Message m{Msg::kError, step, err, index};
    ssize_t r;
    do {
      r = ::write(g_report_fd, &m, sizeof m);
    } while (r < 0 && errno == EINTR);
  } else {
    send_msg(c, Msg::kError, step, err, index);
  }
  ::_exit(127);
}

void wait_go(const InitConfig& c) {
  Message m;
  ssize_t r;
  do {
    r = ::recv(c.sync_fd, &m, sizeof m, 0);
  } while (r < 0 && errno == EINTR);
  // The parent went away or aborted the launch: nothing to report to.
  if (r != ssize_t(sizeof m) || m.type != Msg::kGo) ::_exit(126);
}

// "/proc/self/fd/<fd>" into buf (>= 32 bytes), without snprintf.
const char* fd_path(int fd, char* buf) {
  static constexpr char kPrefix[] = "/proc/self/fd/";
  memcpy(buf, kPrefix, sizeof kPrefix - 1);
  char digits[16];
  int n = 0;
  unsigned v = unsigned(fd);
  do {
    digits[n++] = char('0' + v % 10);
    v /= 10;
  } while (v);
  char* p = buf + sizeof kPrefix - 1;
  while (n) *p++ = digits[--n];
  *p = '\0';
  return buf;
}

// Splits "/a/b/c" into "/a/b" (in dir, PATH_MAX) and a pointer to "c" inside `path`.
bool split_parent(const char* path, char* dir, const char** leaf) {
  size_t n = strnlen(path, PATH_MAX);
  if (n >= PATH_MAX) return false;
  const char* slash = strrchr(path, '/');
  if (!slash) {
    dir[0] = '/';
    dir[1] = '\0';
    *leaf = path;
    return true;
  }
  size_t d = size_t(slash - path);
  memcpy(dir, path, d);
  dir[d] = '\0';
  if (d == 0) dir[0] = '/', dir[1] = '\0';
  *leaf = slash + 1;
  return true;
}

// Mount flags the kernel locks on a mount inherited from a more privileged
// namespace: a bind remount must repeat them or fail with EPERM.
unsigned long locked_flags(const char* path) {
  struct statvfs st;
  if (::statvfs(path, &st) < 0) return 0;
  unsigned long f = 0;
  if (st.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) f |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (st.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (st.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

// Remounts the mount now at `target` (re-resolved in the root, so the fd names
// the new mount, not the directory under it) with `flags`.
int remount_bind(int root_fd, const char* target, unsigned long flags, bool user_ns) {
  int fd = sys::open_in_root_raw(root_fd, target, O_PATH);
  if (fd < 0) return -1;
  char p[32];
  fd_path(fd, p);
  unsigned long f = MS_BIND | MS_REMOUNT | flags;
  if (user_ns) f |= locked_flags(p) & ~(MS_RDONLY);
  int r = ::mount(nullptr, p, nullptr, f, nullptr);
  int e = errno;
  ::close(fd);
  errno = e;
  return r;
}

int set_propagation(int root_fd, const char* target, unsigned long prop) {
  int fd = sys::open_in_root_raw(root_fd, target, O_PATH);
  if (fd < 0) return -1;
  char p[32];
  int r = ::mount(nullptr, fd_path(fd, p), nullptr, prop, nullptr);
  int e = errno;
  ::close(fd);
  errno = e;
  return r;
}

constexpr unsigned long kRemountable = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                       MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

void apply_bind(const InitConfig& c, int root_fd, const MountOp& op, int i) {
  struct stat st;
  if (::stat(op.source.c_str(), &st) < 0) die(c, Step::kBind, errno, i);
  // The target is made inside the root: a directory for a directory source,
  // an empty file for anything else (file, device, socket).
  int fd = S_ISDIR(st.st_mode) ? sys::mkdir_all_in_root_raw(root_fd, op.target.c_str(), 0755)
                               : sys::touch_in_root_raw(root_fd, op.target.c_str(), 0644);
  if (fd < 0) die(c, Step::kBind, errno, i);
  char p[32];
  if (::mount(op.source.c_str(), fd_path(fd, p), nullptr, MS_BIND | (op.recursive ? MS_REC : 0), nullptr) < 0)
    die(c, Step::kBind, errno, i);
  ::close(fd);
  // A bind ignores every flag but MS_REC: ro, nosuid, ... need a remount.
  if (op.flags & kRemountable) {
    if (remount_bind(root_fd, op.target.c_str(), op.flags & kRemountable, c.in_user_ns) < 0)
      die(c, Step::kRemount, errno, i);
  }
  if (op.propagation && set_propagation(root_fd, op.target.c_str(), op.propagation) < 0)
    die(c, Step::kMountPropagation, errno, i);
}

void apply_mount(const InitConfig& c, int root_fd, const MountOp& op, int i) {
  int fd = sys::mkdir_all_in_root_raw(root_fd, op.target.c_str(), 0755);
  if (fd < 0) die(c, Step::kMount, errno, i);
  char p[32];
  fd_path(fd, p);
  const char* data = op.data.empty() ? nullptr : op.data.c_str();
  int r = ::mount(op.source.c_str(), p, op.fstype.c_str(), op.flags, data);
  if (r < 0 && errno == EPERM && op.fstype == "sysfs") {
    // Without a network namespace of its own (or in a user namespace) sysfs
    // cannot be mounted; runc falls back to binding the host's, read-only.
    r = ::mount("/sys", p, nullptr, MS_BIND | MS_REC, nullptr);
    if (r == 0) {
      ::close(fd);
      if (remount_bind(root_fd, op.target.c_str(), (op.flags & kRemountable) | MS_RDONLY, c.in_user_ns) < 0)
        die(c, Step::kRemount, errno, i);
      return;
    }
  }
  if (r < 0) die(c, Step::kMount, errno, i);
  ::close(fd);
  if (op.propagation && set_propagation(root_fd, op.target.c_str(), op.propagation) < 0)
    die(c, Step::kMountPropagation, errno, i);
}

void apply_device(const InitConfig& c, int root_fd, const MountOp& op, int i) {
  char dir[PATH_MAX];
  const char* leaf;
  if (!split_parent(op.target.c_str(), dir, &leaf)) die(c, Step::kDevice, ENAMETOOLONG, i);
  if (c.in_user_ns) {
    // mknod is refused in a user namespace: bind the host's node instead (runc).
    int fd = sys::touch_in_root_raw(root_fd, op.target.c_str(), 0644);
    if (fd < 0) die(c, Step::kDevice, errno, i);
    char p[32];
    if (::mount(op.source.c_str(), fd_path(fd, p), nullptr, MS_BIND, nullptr) < 0) die(c, Step::kDevice, errno, i);
    ::close(fd);
    return;
  }
  int dfd = sys::mkdir_all_in_root_raw(root_fd, dir, 0755);
  if (dfd < 0) die(c, Step::kDevice, errno, i);
  // O_PATH dirfds work with *at() calls; the leaf is a plain name, never followed.
  int pfd = ::openat(dfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  ::close(dfd);
  if (pfd < 0) die(c, Step::kDevice, errno, i);
  if (::unlinkat(pfd, leaf, 0) < 0 && errno != ENOENT) die(c, Step::kDevice, errno, i);
  if (::mknodat(pfd, leaf, op.mode, makedev(op.major, op.minor)) < 0) die(c, Step::kDevice, errno, i);
  if (::fchownat(pfd, leaf, op.uid, op.gid, AT_SYMLINK_NOFOLLOW) < 0) die(c, Step::kDevice, errno, i);
  ::close(pfd);
}

void apply_symlink(const InitConfig& c, int root_fd, const MountOp& op, int i) {
  char dir[PATH_MAX];
  const char* leaf;
  if (!split_parent(op.target.c_str(), dir, &leaf)) die(c, Step::kSymlink, ENAMETOOLONG, i);
  int dfd = sys::mkdir_all_in_root_raw(root_fd, dir, 0755);
  if (dfd < 0) die(c, Step::kSymlink, errno, i);
  int pfd = ::openat(dfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  ::close(dfd);
  if (pfd < 0) die(c, Step::kSymlink, errno, i);
  if (::unlinkat(pfd, leaf, 0) < 0 && errno != ENOENT) die(c, Step::kSymlink, errno, i);
  if (::symlinkat(op.link_target.c_str(), pfd, leaf) < 0) die(c, Step::kSymlink, errno, i);
  ::close(pfd);
}

void setup_rootfs(const InitConfig& c) {
  // Ordering: propagation of "/" first, so that nothing mounted below reaches
  // the host's mount namespace (default rslave, as runc).
  if (::mount(nullptr, "/", nullptr, c.root_propagation, nullptr) < 0) die(c, Step::kRootPropagation, errno);
  // Ordering: a parent mount still shared with the host (rootfsPropagation
  // shared, private, ...) is made private before anything is mounted under it.
  if (!c.private_parent.empty() && ::mount(nullptr, c.private_parent.c_str(), nullptr, MS_PRIVATE, nullptr) < 0)
    die(c, Step::kRootPropagation, errno);
  // pivot_root needs the new root to be a mount point: bind it on itself.
  if (::mount(c.rootfs.c_str(), c.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    die(c, Step::kRootBind, errno);
  int root_fd = ::open(c.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) die(c, Step::kRootOpen, errno);
  for (size_t i = 0; i < c.ops.size(); ++i) {
    const MountOp& op = c.ops[i];
    switch (op.kind) {
      case OpKind::kMount: apply_mount(c, root_fd, op, int(i)); break;
      case OpKind::kBind: apply_bind(c, root_fd, op, int(i)); break;
      case OpKind::kCgroup: break;  // the launcher expands these into kMount/kBind
      case OpKind::kDevice: apply_device(c, root_fd, op, int(i)); break;
      case OpKind::kSymlink: apply_symlink(c, root_fd, op, int(i)); break;
      case OpKind::kRemount: {
        int fd = sys::open_in_root_raw(root_fd, op.target.c_str(), O_PATH);
        char p[32];
        if (fd < 0 || ::mount(nullptr, fd_path(fd, p), nullptr, MS_REMOUNT | op.flags, nullptr) < 0)
          die(c, Step::kRemount, errno, int(i));
        ::close(fd);
        break;
      }
    }
  }
  // Ordering: prestart/createRuntime/createContainer hooks see the mounts made
  // but the root not yet pivoted (runtime-spec "createContainer").
  if (c.pre_pivot_hooks) {
    send_msg(c, Msg::kHooks);
    wait_go(c);
  }
  // pivot_root(".", ".") stacks the old root on the new one; unmounting "."
  // then drops the old root without needing a directory for it (runc, lxc).
  if (::fchdir(root_fd) < 0) die(c, Step::kPivotRoot, errno);
  ::close(root_fd);
  if (::syscall(SYS_pivot_root, ".", ".") < 0) die(c, Step::kPivotRoot, errno);
  // The old root must not propagate the unmount to the host: make it a slave first.
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) die(c, Step::kPivotRoot, errno);
  if (::umount2(".", MNT_DETACH) < 0) die(c, Step::kPivotRoot, errno);
  if (::chdir("/") < 0) die(c, Step::kPivotRoot, errno);
  // Shared propagation asked for the root itself is applied on the new root.
  if ((c.root_propagation & (MS_SHARED | MS_PRIVATE | MS_UNBINDABLE)) &&
      ::mount(nullptr, "/", nullptr, c.root_propagation, nullptr) < 0)
    die(c, Step::kRootPropagation, errno);
}

// After pivot_root "/" is the container's root: plain paths resolve inside it
// and no host fd is open, so nothing here can reach the host.
void write_sysctls(const InitConfig& c) {
  for (size_t i = 0; i < c.sysctl.size(); ++i) {
    int fd = ::open(c.sysctl[i].first.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) die(c, Step::kSysctl, errno, int(i));
    const std::string& v = c.sysctl[i].second;
    if (::write(fd, v.data(), v.size()) < 0) die(c, Step::kSysctl, errno, int(i));
    ::close(fd);
  }
}

void readonly_paths(const InitConfig& c) {
  for (size_t i = 0; i < c.readonly_paths.size(); ++i) {
    const char* p = c.readonly_paths[i].c_str();
    if (::mount(p, p, nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;
      die(c, Step::kReadonlyPath, errno, int(i));
    }
    if (::mount(nullptr, p, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | (locked_flags(p) & ~MS_RDONLY),
                nullptr) < 0)
      die(c, Step::kReadonlyPath, errno, int(i));
  }
}

void mask_paths(const InitConfig& c) {
  for (size_t i = 0; i < c.masked_paths.size(); ++i) {
    const char* p = c.masked_paths[i].c_str();
    // A file is hidden under /dev/null; a directory under an empty read-only tmpfs.
    if (::mount("/dev/null", p, nullptr, MS_BIND, nullptr) == 0) continue;
    if (errno == ENOENT) continue;
    if (errno != ENOTDIR) die(c, Step::kMask, errno, int(i));
    if (::mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0k") < 0) die(c, Step::kMask, errno, int(i));
  }
}

void readonly_root(const InitConfig& c) {
  if (::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | (locked_flags("/") & ~MS_RDONLY), nullptr) < 0)
    die(c, Step::kRootReadonly, errno);
}

void send_fd(const InitConfig& c, int fd) {
  Message m{Msg::kPty, Step::kTerminal, 0, -1};
  struct iovec iov = {&m, sizeof m};
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  struct cmsghdr* cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  if (::sendmsg(c.sync_fd, &mh, MSG_NOSIGNAL) < 0) die(c, Step::kTerminal, errno);
}

// The pty comes from the container's own devpts instance (/dev/ptmx ->
// pts/ptmx), so the slave is a /dev/pts/N the container can see.
void setup_terminal(const InitConfig& c) {
  int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die(c, Step::kTerminal, errno);
  int unlock = 0;
  if (::ioctl(master, TIOCSPTLCK, &unlock) < 0) die(c, Step::kTerminal, errno);
  // TIOCGPTPEER opens the slave from the master: no path lookup to race.
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) die(c, Step::kTerminal, errno);
  if (c.rows || c.cols) {
    struct winsize ws = {c.rows, c.cols, 0, 0};
    ::ioctl(slave, TIOCSWINSZ, &ws);
  }
  send_fd(c, master);
  ::close(master);
  // setsid() ran first: the slave can become this session's controlling tty.
  if (::ioctl(slave, TIOCSCTTY, 0) < 0) die(c, Step::kTerminal, errno);
  for (int i = 0; i < 3; ++i)
    if (::dup2(slave, i) < 0) die(c, Step::kTerminal, errno);
  if (slave > 2) ::close(slave);
}

// Ordering: before close_inherited_fds, which closes the fds given here once
// they are duplicated onto 0, 1 and 2 (dup2 clears FD_CLOEXEC on the copy).
void redirect_stdio(const InitConfig& c) {
  for (int i = 0; i < 3; ++i)
    if (c.stdio[i] >= 0 && c.stdio[i] != i && ::dup2(c.stdio[i], i) < 0) die(c, Step::kStdio, errno, i);
}

void wait_start(const InitConfig& c) {
  if (c.fifo_fd < 0) {
    wait_go(c);
    return;
  }
  // Blocks until `start` opens exec.fifo for reading (runc's exec.fifo). The
  // fd is an O_PATH handle opened before pivot_root; reopening it through
  // /proc/self/fd works in any mount namespace.
  char p[32];
  int fd;
  do {
    fd = ::open(fd_path(c.fifo_fd, p), O_WRONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) die(c, Step::kFifo, errno);
  if (::write(fd, "0", 1) < 0) die(c, Step::kFifo, errno);
  ::close(c.fifo_fd);
  // Ordering: from here on `start` listens on the fifo, not the parent (gone
  // since create) on the sync socket; execve closes fd (CLOEXEC): EOF = started.
  g_report_fd = fd;
}

void close_inherited_fds(const InitConfig& c) {
  // CVE-2024-21626: no descriptor of the host (a directory, /sys/fs/cgroup, ...)
  // may survive into the container, and none may serve as a cwd below. Only
  // stdio, the fds asked for with --preserve-fds (the launcher checked they
  // were open before it opened anything of its own), the sync socket (CLOEXEC,
  // gone at execve) and exec.fifo's O_PATH handle (a fifo, not a directory;
  // closed after start) stay.
  unsigned first = 3 + unsigned(c.preserve_fds);
  unsigned keep[2] = {unsigned(c.sync_fd), c.fifo_fd >= 0 ? unsigned(c.fifo_fd) : unsigned(c.sync_fd)};
  if (keep[0] > keep[1]) {
    unsigned t = keep[0];
    keep[0] = keep[1];
    keep[1] = t;
  }
  unsigned from = first;
  for (unsigned k : keep) {
    if (k < first) continue;
    if (k > from && ::syscall(SYS_close_range, from, k - 1, 0u) < 0) die(c, Step::kCloseFds, errno);
    if (k + 1 > from) from = k + 1;
  }
  if (::syscall(SYS_close_range, from, ~0u, 0u) < 0) die(c, Step::kCloseFds, errno);
  // The preserved fds go through execve whatever their flag was in the caller.
  for (unsigned fd = 3; fd < first; ++fd)
    if (::fcntl(int(fd), F_SETFD, 0) < 0) die(c, Step::kCloseFds, errno, int(fd));
}

// runc's JoinSessionKeyring + ModKeyringPerm: a keyring of the container's
// own instead of the caller's session keyring, searchable by its user so that
// `exec` (which asks for the same name) joins it rather than making another.
void join_keyring(const InitConfig& c) {
  if (c.session_keyring.empty()) return;
  long id = ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, c.session_keyring.c_str());
  if (id < 0) {
    // No keyrings here (old kernel, some sandboxes): best effort, as runc.
    if (errno == ENOSYS) return;
    die(c, Step::kKeyring, errno);
  }
  // "type;uid;gid;perm;description": the perm field is hex.
  char desc[256];
  long n = ::syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, desc, sizeof desc - 1);
  if (n < 0) die(c, Step::kKeyring, errno);
  desc[sizeof desc - 1] = '\0';
  const char* p = desc;
  for (int field = 0; field < 3 && p; ++field) {
    p = strchr(p, ';');
    if (p) ++p;
  }
  if (!p) die(c, Step::kKeyring, EINVAL);
  unsigned long perm = 0;
  for (; *p && *p != ';'; ++p) {
    int d = (*p >= '0' && *p <= '9') ? *p - '0' : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10 : -1;
    if (d < 0) die(c, Step::kKeyring, EINVAL);
    perm = perm * 16 + unsigned(d);
  }
  constexpr unsigned long kUsrSearch = 0x00080000;  // KEY_USR_SEARCH
  if (::syscall(SYS_keyctl, KEYCTL_SETPERM, id, perm | kUsrSearch) < 0) die(c, Step::kKeyring, errno);
}

void change_dir(const InitConfig& c) {
  if (::chdir(c.cwd.c_str()) < 0) die(c, Step::kCwd, errno);
  // The working directory must be inside the root: getcwd(2) says
  // "(unreachable)" (no leading '/') for a directory outside it.
  char buf[PATH_MAX];
  long n = ::syscall(SYS_getcwd, buf, sizeof buf);
  if (n < 0) die(c, Step::kCwd, errno);
  if (buf[0] != '/') die(c, Step::kCwdOutsideRoot, ENOENT);
}

int capset_raw(uint64_t eff, uint64_t perm, uint64_t inh) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  d[0].effective = uint32_t(eff);
  d[1].effective = uint32_t(eff >> 32);
  d[0].permitted = uint32_t(perm);
  d[1].permitted = uint32_t(perm >> 32);
  d[0].inheritable = uint32_t(inh);
  d[1].inheritable = uint32_t(inh >> 32);
  return int(::syscall(SYS_capset, &h, d));
}

void load_seccomp(const InitConfig& c) {
  struct sock_fprog prog;
  prog.len = (unsigned short)c.seccomp.size();
  prog.filter = const_cast<struct sock_filter*>(c.seccomp.data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c.seccomp_flags, &prog) < 0) die(c, Step::kSeccomp, errno);
}

// runc's finalizeNamespace + setupUser: bounding set, then the ids with caps
// kept across setuid, then the final sets.
void drop_privileges(const InitConfig& c) {
  if (c.set_caps) {
    // Ordering: the bounding set can only shrink while CAP_SETPCAP is held,
    // i.e. before the uid change and the final capset.
    for (int cap = 0; cap <= c.cap_last; ++cap)
      if (!(c.cap_bounding & (uint64_t(1) << cap)) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
        die(c, Step::kCapBounding, errno, cap);
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die(c, Step::kKeepCaps, errno);
  }
  if (c.set_groups && ::syscall(SYS_setgroups, c.groups.size(), c.groups.data()) < 0) die(c, Step::kSetgroups, errno);
  // Ordering: gid before uid, while we may still change it.
  if (::syscall(SYS_setresgid, c.gid, c.gid, c.gid) < 0) die(c, Step::kSetgid, errno);
  if (::syscall(SYS_setresuid, c.uid, c.uid, c.uid) < 0) die(c, Step::kSetuid, errno);
  if (c.set_caps) {
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) die(c, Step::kKeepCaps, errno);
    if (capset_raw(c.cap_effective, c.cap_permitted, c.cap_inheritable) < 0) die(c, Step::kCapset, errno);
    // Ambient caps need them in permitted and inheritable: after capset.
    for (int cap = 0; cap <= c.cap_last; ++cap)
      if ((c.cap_ambient & (uint64_t(1) << cap)) &&
          ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
        die(c, Step::kAmbient, errno, cap);
  }
}

[[noreturn]] void exec_process(const InitConfig& c) {
  int err = ENOENT;
  for (const auto& path : c.exec_candidates) {
    ::execve(path.c_str(), c.argv.data(), c.envp.data());
    // Like execvp: keep looking past ENOENT/ENOTDIR, remember EACCES.
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
  }
  die(c, Step::kExec, err);
}

}  // namespace

void run_init(const InitConfig& c) {
  ::close(c.parent_sync_fd);
  // The parent blocked the signals it forwards; the container starts with none
  // blocked (restored just before execve).
  sigset_t none;
  sigemptyset(&none);
  // Not dumpable until execve: no other process of the container can open this
  // one's /proc/<pid>/exe (hoist-run's sealed image, CVE-2019-5736), its fds or
  // memory, or ptrace it. (A rootless parent must write our maps first.)
  if (!c.dumpable_until_mapped) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // Die with the launcher while setting up; cleared once the container is ready.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Device nodes and mount points get exactly the modes asked for.
  ::umask(0);

  // Ordering: the parent writes the uid/gid maps and puts us in the cgroups
  // before anything else happens here.
  wait_go(c);
  if (c.dumpable_until_mapped) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  // Ordering: the user namespace first, so that the others are joined (or
  // made) with its capabilities.
  for (size_t i = 0; i < c.joins.size(); ++i)
    if (::setns(c.joins[i].fd, c.joins[i].nstype) < 0) die(c, Step::kSetns, errno, int(i));
  for (const auto& j : c.joins) ::close(j.fd);
  if (c.pid_ns_fd >= 0) {
    // Ordering: the pid namespace last of the joins; setns only sets the
    // namespace of our children: fork one to be the container's process.
    if (::setns(c.pid_ns_fd, CLONE_NEWPID) < 0) die(c, Step::kSetns, errno, int(c.joins.size()));
    ::close(c.pid_ns_fd);
    // The raw syscall: no atfork handlers or sanitizer hooks run in here.
    pid_t child = pid_t(::syscall(SYS_clone, (unsigned long)SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (child < 0) die(c, Step::kFork, errno);
    if (child > 0) {
      // The launcher reaps us; it is a subreaper, so the child becomes its own.
      send_msg(c, Msg::kPid, Step::kFork, 0, int(child));
      ::_exit(0);
    }
    // fork cleared the death signal; setting it again would fire when our
    // parent exits now. The sync socket's EOF tells us if the launcher dies.
    // Ordering: nothing of ours may reach the launcher before our parent's
    // kPid, which it answers with kGo.
    wait_go(c);
  }
  if (c.unshare_flags && ::unshare(c.unshare_flags) < 0) die(c, Step::kUnshare, errno);
  // Ordering: in a new user namespace our ids are still the host's (unmapped
  // there, so files we make would fail with EOVERFLOW) until we switch to the
  // namespace's root, which the maps written by the parent now define.
  if (c.become_root) {
    if (::syscall(SYS_setresgid, 0, 0, 0) < 0) die(c, Step::kSetgid, errno);
    if (::syscall(SYS_setresuid, 0, 0, 0) < 0) die(c, Step::kSetuid, errno);
  }

  if (::setsid() < 0) die(c, Step::kSetsid, errno);
  // Ordering: in the container's user namespace, so that the keyring is its root's.
  join_keyring(c);

  if (!c.exec_mode) {
    setup_rootfs(c);
    if (c.set_hostname && ::sethostname(c.hostname.data(), c.hostname.size()) < 0) die(c, Step::kHostname, errno);
    if (c.set_domainname && ::setdomainname(c.domainname.data(), c.domainname.size()) < 0)
      die(c, Step::kDomainname, errno);
    // Ordering: sysctls are written before readonlyPaths makes /proc/sys read-only.
    write_sysctls(c);
    readonly_paths(c);
    // Ordering: masking binds the container's /dev/null, made above.
    mask_paths(c);
  }
  if (c.terminal) setup_terminal(c);
  else redirect_stdio(c);
  if (!c.exec_mode && c.root_readonly) readonly_root(c);

  for (size_t i = 0; i < c.rlimits.size(); ++i)
    if (::syscall(SYS_prlimit64, 0, c.rlimits[i].first, &c.rlimits[i].second, nullptr) < 0)
      die(c, Step::kRlimit, errno, int(i));

  close_inherited_fds(c);
  // Ordering: cwd after the fds are closed (CVE-2024-21626) and as root, before
  // the uid change (runc tries here first too); before kReady so that `create`
  // still reports a bad cwd.
  change_dir(c);

  // Ordering: the launcher may exit after kReady (create): drop the death
  // signal first or the container would die with it (unless it should).
  if (!c.die_with_parent) ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  send_msg(c, Msg::kReady);
  wait_start(c);
  // The container starts with every signal at its default action: none of
  // what the runtime's caller ignored (a shell's background job ignores
  // SIGINT; nohup, SIGHUP) is inherited through execve. (Still blocked until
  // just before execve; and before seccomp, which might refuse sigaction.)
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  // Without no_new_privs a filter needs CAP_SYS_ADMIN: load it while we have it
  // (runc does the same); it must then allow what follows.
  if (!c.seccomp.empty() && c.seccomp_early) load_seccomp(c);
  drop_privileges(c);
  // A change of credentials clears the death signal: set it again.
  if (c.die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::umask(c.umask);
  if (c.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die(c, Step::kNoNewPrivs, errno);
  // Ordering: the filter last, so that it constrains the container only.
  if (!c.seccomp.empty() && !c.seccomp_early) load_seccomp(c);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  exec_process(c);
}

const char* step_name(Step s) {
  switch (s) {
    case Step::kSync: return "waiting for the runtime";
    case Step::kSetns: return "joining namespace";
    case Step::kUnshare: return "creating namespaces";
    case Step::kSetsid: return "creating a session";
    case Step::kKeyring: return "joining a session keyring";
    case Step::kFork: return "forking into the pid namespace";
    case Step::kRootPropagation: return "setting root propagation";
    case Step::kRootBind: return "binding the rootfs on itself";
    case Step::kRootOpen: return "opening the rootfs";
    case Step::kMount: return "mounting";
    case Step::kMountPropagation: return "setting mount propagation";
    case Step::kBind: return "bind mounting";
    case Step::kRemount: return "remounting";
    case Step::kDevice: return "creating device";
    case Step::kSymlink: return "creating symlink";
    case Step::kPivotRoot: return "pivoting root";
    case Step::kMask: return "masking path";
    case Step::kReadonlyPath: return "making path read-only";
    case Step::kRootReadonly: return "making the root read-only";
    case Step::kHostname: return "setting hostname";
    case Step::kDomainname: return "setting domainname";
    case Step::kSysctl: return "writing sysctl";
    case Step::kTerminal: return "setting up the terminal";
    case Step::kRlimit: return "setting rlimit";
    case Step::kFifo: return "waiting for start";
    case Step::kCloseFds: return "closing inherited descriptors";
    case Step::kCwd: return "changing to the working directory";
    case Step::kCwdOutsideRoot: return "working directory is outside the container";
    case Step::kCapBounding: return "dropping bounding capability";
    case Step::kKeepCaps: return "keeping capabilities";
    case Step::kSetgroups: return "setting additional groups";
    case Step::kSetgid: return "setting gid";
    case Step::kSetuid: return "setting uid";
    case Step::kCapset: return "setting capabilities";
    case Step::kAmbient: return "raising ambient capability";
    case Step::kUmask: return "setting umask";
    case Step::kNoNewPrivs: return "setting no_new_privs";
    case Step::kSeccomp: return "loading seccomp filter";
    case Step::kExec: return "executing process";
    case Step::kStdio: return "redirecting stdio";
  }
  return "unknown step";
}

}  // namespace hoist::runtime::init
