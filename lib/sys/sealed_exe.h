#pragma once
// A program that starts containers by cloning itself (hoist-run, hoist-build)
// must not run from a file the container could write: until the init calls
// execve, its /proc/<pid>/exe is this program's file, and a container process
// that opens it (or execs it through "#!/proc/self/exe") can reopen it for
// writing once the runtime has exited and replace the host's binary (runc
// CVE-2019-5736). seal_exe() re-executes the program from a view of its file
// that cannot be written by anyone:
//   1. a read-only overlayfs made with the new mount API and never attached to
//      any mount namespace (runc 1.2's approach): no copy, ~0.2 ms, root only;
//      the superblock is read-only, so no remount of any clone of it helps;
//   2. else a memfd copy with write/grow/shrink seals (runc 1.1's approach):
//      costs a copy of the binary, works unprivileged.
// Not thread-safe: call it first thing in main, before any thread exists.

#include "util/result.h"

namespace hoist::sys {

// True when /proc/self/exe is already such a view: a memfd sealed against
// writes, or a file on a read-only mount that is in no mount namespace.
bool exe_is_sealed();

// Returns at once if exe_is_sealed(); else execs the sealed view with `argv`
// and `envp` (the process image is replaced: this returns only on failure).
// kUnsupported when neither way works here; a marker in the environment stops
// a second attempt if the exec'd image still does not look sealed.
Result<> seal_exe(char* const argv[], char* const envp[]);

}  // namespace hoist::sys
