#pragma once
// OCI lifecycle hooks (runtime-spec config.md#posix-platform-hooks): each hook
// runs with the container state JSON on stdin, its own args and env, and an
// optional timeout after which it is killed and counts as failed.

#include <sys/types.h>

#include <string>
#include <vector>

#include "runtime/spec.h"

namespace hoist::runtime {

// Runs `hooks` in order; stops at the first failure: "hook 'path' exited with
// status 3", "... timed out after 2s". With `ns_pid` > 0 each hook first joins
// that process's namespaces (createContainer, startContainer: the container's).
// Hook stdout/stderr go to the caller's stderr.
Result<> run_hooks(const std::vector<Hook>& hooks, const std::string& state_json, pid_t ns_pid = 0);

}  // namespace hoist::runtime
