#pragma once
// Operations on one name inside an already-resolved directory, for trees written
// from untrusted input (layer tars, snapshots). The directory fd is trusted (it was
// resolved inside a root, sys/openat2.h); the name is a single component, and no
// function here follows a symlink in it. Errors carry errno and the name.

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "sys/fd.h"

namespace hoist::sys {

// rm -rf of dirfd/name without following any symlink: a symlink is unlinked, a
// directory is emptied through fds opened with O_NOFOLLOW. Directories without
// write permission (a rootless tree) are made writable first. ENOENT is success.
Result<> remove_all_at(int dirfd, const std::string& name);

// The names in dirfd/name (a directory, not followed if a symlink: ENOTDIR), "."
// and ".." left out. name "" lists dirfd itself.
Result<std::vector<std::string>> list_dir_at(int dirfd, const std::string& name);

// chmod of dirfd/name itself, never a symlink's target (EOPNOTSUPP for a symlink).
Result<> chmod_at(int dirfd, const std::string& name, mode_t mode);

// lsetxattr / lgetxattr on dirfd/name through /proc/self/fd/<dirfd>/<name>: the
// directory is the one the fd names, and the last component is not followed.
// name "" means the directory itself. get_xattr_at: kNotFound when absent.
Result<> set_xattr_at(int dirfd, const std::string& name, const std::string& key, std::string_view value);
Result<std::string> get_xattr_at(int dirfd, const std::string& name, const std::string& key);
// The xattr names of dirfd/name (not followed; "" is the directory itself);
// none where the file system has no xattrs (ENOTSUP).
Result<std::vector<std::string>> list_xattrs_at(int dirfd, const std::string& name);

// Overlayfs whiteout (a 0/0 character device) at dirfd/name.
Result<> make_whiteout_at(int dirfd, const std::string& name);

}  // namespace hoist::sys
