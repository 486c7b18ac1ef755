#pragma once
// Internal to runtime/: turning a Spec into an init::InitConfig, cloning the
// init and driving the sync protocol from the parent's side.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/cgroup.h"
#include "runtime/init/init.h"
#include "runtime/spec.h"
#include "sys/fd.h"

namespace hoist::runtime::detail {

// Process settings shared by create and exec: user, caps, rlimits, seccomp,
// cwd, args/env and the executable looked up inside `rootfs_fd` ("/" of the
// container: a dirfd of the rootfs, or of /proc/<pid>/root for exec).
Result<> fill_process(init::InitConfig& cfg, const Process& p, const std::optional<Seccomp>& seccomp,
                      const sys::Fd& rootfs_fd, std::vector<std::string>* warnings);

struct Launch {
  init::InitConfig cfg;
  int clone_flags = 0;              // CLONE_NEW* given to clone
  sys::Fd pid_ns;                   // joined by the init, which forks into it (init.h)
  std::vector<IdMapping> uid_map, gid_map;
  bool deny_setgroups = false;      // write "deny" to setgroups before gid_map (rootless)
  CgroupManager* cgroups = nullptr;  // the child is added before it goes on
  std::optional<int> oom_score_adj;
  // Called on kHooks with the child's pid (prestart, createRuntime, createContainer).
  std::function<Result<>(pid_t)> on_hooks;
  std::string console_socket;       // where the pty master goes; empty: keep it
};

struct Launched {
  pid_t pid = 0;
  sys::Fd sync;        // the parent's end, for kGo and the exec result
  sys::Fd pty_master;  // terminal without console socket
};

// Clones the init and runs the protocol up to kReady. On error the child is
// killed and reaped; the message names the init step. The caller blocks the
// signals it will forward before calling (so none is lost before its signalfd).
Result<Launched> launch(Launch& l);

// After kReady: sends kGo and waits for the execve (EOF) or an init error.
Result<> release(Launched& l, const init::InitConfig& cfg);

// Sends `fd` to the AF_UNIX socket at `path` (runc's --console-socket protocol).
Result<> send_console(const std::string& path, int fd);

std::string init_error(const init::InitConfig& cfg, const init::Message& m);

}  // namespace hoist::runtime::detail
