#pragma once
// The OCI runtime operations (runtime-spec runtime.md#operations) with runc's
// semantics, on a state root (kDefaultStateRoot or --root). hoist-run is a thin
// driver over these; hoist-build runs its steps through run().
//
// Processes: create/run/exec clone the container's first process directly from
// the calling process; the calling process must be single-threaded (but for
// run() with RunOptions::stop: the clone copies only the calling thread, and
// the init allocates nothing), and must
// run from an image the container cannot write (sys::seal_exe() first thing in
// main, CVE-2019-5736): until its execve the init's /proc/<pid>/exe is the
// caller's. create leaves the init blocked on exec.fifo until start, and start
// returns the init's error if a step after it (user, capabilities, seccomp,
// execve) fails.
//
// Rootless (not root in the initial user namespace): the config must ask for a
// user namespace; cgroups are skipped when they cannot be made and the config
// sets no resources (runc's rootless rule); setgroups is denied in the new
// namespace, so additionalGids cannot be set. run and foreground exec supervise: they block the signals they
// forward (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH) and
// SIGCHLD in the calling thread while the container runs, and become a child
// subreaper so that every process is reaped.
//
// Errors: kNotFound (no such container), kAlreadyExists (id taken),
// kInvalidArgument (bad config or state for the operation), kDenied/kIo from
// the kernel, with the init step that failed in the message.

#include <sys/types.h>

#include <array>
#include <stop_token>
#include <string>
#include <vector>

#include "runtime/spec.h"
#include "runtime/state.h"

namespace hoist::runtime {

struct CreateOptions {
  std::string root{kDefaultStateRoot};
  std::string id;
  std::string bundle = ".";
  std::string pid_file;        // the init's host pid, written atomically
  std::string console_socket;  // AF_UNIX path receiving the pty master (terminal: true)
  bool no_new_keyring = false;  // keep the caller's session keyring (default: a new "_ses.<id>")
  int preserve_fds = 0;         // pass fds 3 .. 3+N-1 on to the process (must be open)
  // The process's stdin, stdout and stderr without a terminal: fds of the
  // caller's (-1: the caller's own 0, 1, 2). Like preserve_fds they must stay
  // open until the process has started.
  std::array<int, 3> stdio = {-1, -1, -1};
  // The container is killed when the calling thread dies (init.h die_with_parent).
  bool die_with_parent = false;
  std::vector<std::string>* warnings = nullptr;  // things ignored in the config; null: log::warn them
};

struct RunOptions : CreateOptions {
  bool detach = false;  // create + start, then return 0
  bool keep = false;    // keep the state after exit (runc run --keep)
  // Embedded use (hoist-build's RUN steps): when this token can be stopped,
  // run() leaves signals alone (the caller owns them, and may have threads),
  // waits for the init through a pidfd instead, and on a stop request kills
  // every process of the container and fails with kCancelled once they are
  // gone. Not with detach or a terminal.
  std::stop_token stop;
};

struct ExecOptions {
  std::string root{kDefaultStateRoot};
  std::string id;
  Process process;  // complete: see exec_base_process()
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
  int preserve_fds = 0;
};

Result<> create(const CreateOptions& o);
Result<> start(const std::string& root, const std::string& id);
// The container's exit status (128 + signal when killed), or 0 with detach.
Result<int> run(const RunOptions& o);
Result<ContainerState> state(const std::string& root, const std::string& id);
// kInvalidArgument when the container is stopped. `all`: every process in its cgroup.
Result<> kill(const std::string& root, const std::string& id, int sig, bool all);
// Stopped (or created) containers; force kills a running one first.
Result<> remove(const std::string& root, const std::string& id, bool force);
Result<std::vector<ContainerState>> list(const std::string& root);
Result<std::vector<pid_t>> pids(const std::string& root, const std::string& id);
// The container's config process, the base runc's exec overrides.
Result<Process> exec_base_process(const std::string& root, const std::string& id);
// The exec'd process's exit status, or 0 with detach.
Result<int> exec(const ExecOptions& o);

}  // namespace hoist::runtime
