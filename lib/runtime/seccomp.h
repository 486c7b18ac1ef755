#pragma once
// Seccomp: the config's linux.seccomp compiled to a classic BPF program with
// libseccomp (crun seccomp.h). Compiling happens in the launcher; the init only
// loads the result (runtime/init), so no libseccomp code runs after clone.

#include <linux/filter.h>

#include <string>
#include <vector>

#include "runtime/spec.h"

namespace hoist::runtime {

struct SeccompProgram {
  std::vector<struct sock_filter> filter;
  unsigned int flags = 0;  // SECCOMP_FILTER_FLAG_* from linux.seccomp.flags
};

// kInvalidArgument for an unknown action, architecture, operator or flag;
// kUnsupported for SCMP_ACT_NOTIFY. Unknown syscall names are skipped with a
// warning (the config may name syscalls of newer kernels), as runc does.
Result<SeccompProgram> compile_seccomp(const Seccomp& config, std::vector<std::string>* warnings);

}  // namespace hoist::runtime
