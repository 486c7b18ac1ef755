#pragma once
// Running one RUN step: a container on the step's root (build/step_root.h)
// through lib/runtime, in-process (the same code as hoist-run; no runc, no
// daemon). New mount, pid, ipc and uts namespaces (and a network namespace
// with --network none); the host's /etc/hosts and /etc/resolv.conf are bound
// in as private copies (what the step writes to them is dropped, and they
// never reach the layer); Docker's default capabilities; no seccomp filter
// and no no_new_privs (setuid tools such as su work, as in docker build).
// The process's stdout and stderr go to a pipe read line by line on a thread
// of its own; a stop request kills the container.
//
// What the runtime had to create in the rootfs to mount over it (a missing
// /proc, /etc/hosts, ...) is removed from the upper directory afterwards
// (clean_mount_points): it is not the step's doing.

#include <cstdint>
#include <deque>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace hoist::build {

// A mount the step gets besides the runtime's own (RUN --mount).
struct RunMount {
  std::string destination;      // absolute, inside the container
  std::string type = "bind";    // "bind" or "tmpfs"
  std::string source;           // bind: the host path
  std::vector<std::string> options;
};

struct RunSpec {
  std::vector<std::string> args;  // argv; argv[0] is looked up along the env's PATH
  std::vector<std::string> env;   // KEY=VALUE, PATH added when missing
  std::string user;               // as USER says: "", "name", "uid", "name:group", "uid:gid"
  std::string workdir = "/";      // absolute; created when missing
  bool network_none = false;      // --network none: loopback only
  std::string hostname = "hoist";
  // Files the step sees but its layer never holds (a heredoc script with a
  // "#!" line): container path under /dev (a tmpfs) -> content, bound in
  // read-only and executable.
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<RunMount> mounts;     // after the runtime's, in order
  // Secret values: each occurrence in an output line (on_line and the tail)
  // is shown as "****".
  std::vector<std::string> redact;
  // Where the bundle and the runtime's state go instead of `scratch` (a
  // tmpfs, when the step has secrets).
  std::string private_dir;
};

struct RunResult {
  int exit_code = 0;
  std::deque<std::string> tail;  // the last lines of output (up to kTailLines)
};

inline constexpr size_t kTailLines = 10;

// Runs `spec` with `rootfs` (a StepRoot's merged directory) as "/". `scratch`
// is an empty directory of the step's for the bundle, the runtime's state and
// the hosts/resolv.conf copies. on_line gets each output line (from another
// thread). kCancelled when `stop` was requested (the container is killed and
// reaped first); the runtime's errors ("executable file not found", ...) as
// they are.
Result<RunResult> run_step(const std::string& rootfs, const std::string& scratch, const RunSpec& spec,
                           const std::function<void(std::string_view)>& on_line, std::stop_token stop);

// The paths the runtime mounts over (/proc, /dev, /sys, /etc/hosts,
// /etc/resolv.conf, ...) and `extra` (RUN --mount targets, absolute and
// cleaned) with their parents, those that do not exist in `rootfs` now, deepest last;
// clean_mount_points() removes those of them that appeared in `upper` as
// empty files or empty directories.
std::vector<std::string> missing_mount_points(const std::string& rootfs, const std::vector<std::string>& extra = {});
Result<> clean_mount_points(const std::string& upper, const std::vector<std::string>& missing);

}  // namespace hoist::build
