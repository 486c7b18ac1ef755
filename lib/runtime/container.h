#pragma once
// The OCI runtime operations (runtime-spec runtime.md#operations) with runc's
// semantics, on a state root (kDefaultStateRoot or --root). hoist-run is a thin
// driver over these; hoist-build runs its steps through run().
//
// Processes: create/run/exec clone the container's first process directly from
// the calling process (no re-exec of any binary, CVE-2019-5736); the calling
// process must be single-threaded. create leaves the init blocked on exec.fifo
// until start. run and foreground exec supervise: they block the signals they
// forward (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH) and
// SIGCHLD in the calling thread while the container runs, and become a child
// subreaper so that every process is reaped.
//
// Errors: kNotFound (no such container), kAlreadyExists (id taken),
// kInvalidArgument (bad config or state for the operation), kDenied/kIo from
// the kernel, with the init step that failed in the message.

#include <sys/types.h>

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
  bool no_new_keyring = false;  // accepted; hoist-run never creates a session keyring
  std::vector<std::string>* warnings = nullptr;  // things ignored in the config
};

struct RunOptions : CreateOptions {
  bool detach = false;  // create + start, then return 0
  bool keep = false;    // keep the state after exit (runc run --keep)
};

struct ExecOptions {
  std::string root{kDefaultStateRoot};
  std::string id;
  Process process;  // complete: see exec_base_process()
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
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
