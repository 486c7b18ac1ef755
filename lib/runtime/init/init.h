#pragma once
// The container init: everything that runs in the child between clone and
// execve (STYLE 3.7). The launcher prepares an InitConfig in full before clone;
// run_init() only reads it: no allocation, no locks, no exceptions, errors go
// to the parent as {step, errno, index} (protocol.h). Never returns.

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/init/protocol.h"
#include "runtime/mounts.h"

namespace hoist::runtime::init {

struct NsJoin {
  int fd;      // an open /proc/<pid>/ns/<x> or bundle-given path
  int nstype;  // CLONE_NEWUSER, CLONE_NEWNS, ...
};

struct InitConfig {
  int sync_fd = -1;         // the child's end of the socketpair
  int parent_sync_fd = -1;  // the parent's end: closed first thing in the child
  int fifo_fd = -1;         // O_PATH fd of exec.fifo (create); -1: wait for kGo
  // Until then, errors go to the sync socket; after exec.fifo is opened for
  // writing (start), to the fifo instead, which `start` reads until execve
  // closes it (the fd is CLOEXEC): a failure after start is reported too.

  // Dumpable until the parent has written the uid/gid maps: an unprivileged
  // parent cannot open /proc/<pid>/uid_map of a non-dumpable child (rootless).
  bool dumpable_until_mapped = false;
  // fds 3 .. 3+preserve_fds-1 are passed to the process (runc --preserve-fds).
  int preserve_fds = 0;
  // Join a new session keyring with this name ("_ses.<id>"; runc), unless empty
  // (--no-new-keyring). exec joins the container's by name.
  std::string session_keyring;

  // Namespaces: joined in this order (user first), then unshare_flags.
  std::vector<NsJoin> joins;
  int unshare_flags = 0;
  // A pid namespace to join (exec, or a config's pid path): after the joins
  // above, setns to it and fork; the child goes on in it, this process sends
  // its pid (kPid) and exits (crun's and runc's double fork). So the process
  // that enters the container's pid namespace - where the container's own
  // processes can see it - is already in all its other namespaces.
  int pid_ns_fd = -1;

  // Exec into a running container: no rootfs work, no hostname, no sysctl.
  bool exec_mode = false;
  bool in_user_ns = false;  // devices are bind-mounted, not made
  bool become_root = false; // new user ns: switch to its uid/gid 0 once mapped
  bool pre_pivot_hooks = false;

  // Rootfs (host path of the bundle's root, absolute).
  std::string rootfs;
  unsigned long root_propagation = 0;
  std::string private_parent;  // mount to make private before the rootfs bind (mounts.h)
  std::vector<MountOp> ops;
  std::vector<std::string> masked_paths, readonly_paths;
  bool root_readonly = false;
  bool set_hostname = false, set_domainname = false;
  std::string hostname, domainname;
  std::vector<std::pair<std::string, std::string>> sysctl;  // (/proc/sys/... path, value)

  // Process.
  bool terminal = false;
  // Without a terminal: fds of the caller's to become the process's stdin,
  // stdout and stderr (-1: keep the caller's own 0, 1, 2).
  int stdio[3] = {-1, -1, -1};
  // SIGKILL when the thread that cloned the init dies, through execve and the
  // credential change (an embedding caller killed with -9 leaves no container:
  // the pid namespace's init takes the rest with it).
  bool die_with_parent = false;
  uint16_t rows = 0, cols = 0;
  std::vector<std::pair<int, struct rlimit>> rlimits;
  bool set_caps = false;
  int cap_last = 40;
  uint64_t cap_bounding = 0, cap_effective = 0, cap_permitted = 0, cap_inheritable = 0, cap_ambient = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool set_groups = true;
  std::vector<gid_t> groups;
  mode_t umask = 022;
  bool no_new_privs = false;
  std::vector<struct sock_filter> seccomp;  // empty: no filter
  bool seccomp_early = false;               // load before dropping privileges (no NNP)
  unsigned int seccomp_flags = 0;           // SECCOMP_FILTER_FLAG_*
  std::string cwd = "/";
  std::vector<std::string> exec_candidates;  // argv[0] resolved along the container's PATH
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;  // null-terminated, pointing into args/env: build last
};

[[noreturn]] void run_init(const InitConfig& cfg);

}  // namespace hoist::runtime::init
