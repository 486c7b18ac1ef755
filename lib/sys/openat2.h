#pragma once
// Path containment: opening and creating paths inside a root directory fd so that
// no symlink or ".." in an untrusted tree (a bundle's rootfs, a layer) can lead
// outside it. Built on openat2(2) RESOLVE_IN_ROOT (Linux >= 5.6).
//
// Two layers:
// - the *_raw functions are async-signal-safe, never allocate and report errors
//   as -1 + errno: runtime/init calls them between clone and execve;
// - open_in_root / mkdir_all_in_root wrap them in Result<Fd> for everyone else.

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "sys/fd.h"

namespace hoist::sys {

// openat2(dirfd, path, {flags | O_CLOEXEC, mode, resolve}). Returns the fd or -1/errno.
int openat2_raw(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve);

// Opens `path` resolved as if `root_fd` were "/" (symlinks and ".." cannot leave it);
// magic links (/proc/self/fd/...) are refused. -1/errno (ENAMETOOLONG past PATH_MAX).
int open_in_root_raw(int root_fd, const char* path, int flags, mode_t mode = 0);

// Creates every missing directory of `path` under `root_fd` (each component resolved
// inside the root) and returns an O_PATH|O_DIRECTORY fd of the last one, or -1/errno.
// An existing non-directory component fails with ENOTDIR.
int mkdir_all_in_root_raw(int root_fd, const char* path, mode_t mode);

// Creates the parent directories of `path` and an empty regular file at `path` if
// nothing is there (a bind mount target for a file source); returns an O_PATH fd
// of what is at `path` now, or -1/errno.
int touch_in_root_raw(int root_fd, const char* path, mode_t mode);

// Result wrappers. Errors name the path; errno is kept (Error::sys_errno).
Result<Fd> open_in_root(const Fd& root, std::string_view path, int flags, mode_t mode = 0);
Result<Fd> mkdir_all_in_root(const Fd& root, std::string_view path, mode_t mode = 0755);

}  // namespace hoist::sys
