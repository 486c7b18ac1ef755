#pragma once
// Overlay mounts for snapshot bundles (hoist-unpack --snapshot): one overlay of
// read-only lower directories (the store's snapshots) with a writable upper and
// work directory, and the checks --remove needs before unmounting one.
//
// The lower directories are passed one by one (fsconfig "lowerdir+", Linux >=
// 6.8), each as /proc/self/fd/N of an fd opened here: no option string has to
// hold every path, so neither overlay's one-page limit on "lowerdir=" nor the
// 256-byte limit on one fsconfig value bounds the number of layers or the length
// of the store's path. Older kernels fall back to mount(2) with
// "lowerdir=/proc/self/fd/A:/proc/self/fd/B:..." (about 18 bytes a layer: some
// 200 layers fit in a page, overlay itself stops at 500). Nothing here changes
// the working directory, so it is safe with other threads running.
//
// Root only (CAP_SYS_ADMIN). Errors: kUnsupported when the kernel has no
// overlay file system, otherwise errno with the kernel's own message when it
// gave one ("overlayfs: failed to resolve ...").

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace hoist::sys {

// With an upper directory, redirect_dir and metacopy are off: the upper holds
// every change as plain files and whiteouts (what a layer tar is made from).
struct OverlaySpec {
  std::vector<std::string> lower;  // top first
  std::string upper;               // "": a read-only overlay (at least two lowers)
  std::string work;                // same file system as upper, empty
};

Result<> mount_overlay(const OverlaySpec& spec, const std::string& target);

// True when `path` is the root of an overlay mount (statfs magic and a device
// that differs from its parent's, or the mount root flag of statx).
Result<bool> is_overlay_mount_root(const std::string& path);
// True when `path` is the root of any mount.
Result<bool> is_mount_root(const std::string& path);

// umount2(path, UMOUNT_NOFOLLOW). EBUSY keeps its errno ("device or resource busy").
Result<> unmount(const std::string& path);

// The xattr namespace of the overlays this process mounts: "trusted.overlay."
// on the host, "user.overlay." in a user namespace (mounted with userxattr:
// trusted.* needs CAP_SYS_ADMIN on the host). Snapshots made for them
// (opaque directories) and layers read from their upper directories use it.
std::string_view overlay_xattr_prefix();

// Binds the file or directory `fd` names (O_PATH is enough) at `target`
// (an existing file or directory): open_tree(OPEN_TREE_CLONE) then
// move_mount, so the bind is of what `fd` resolved to, whatever the path
// names by then.
Result<> bind_fd(int fd, const std::string& target);

// A private tmpfs at `target` (nosuid, nodev, noexec), `data` its options
// ("mode=0700,size=64m"): where secrets live for a build step, off the disk.
Result<> mount_tmpfs(const std::string& target, const std::string& data);

// Moves the process into a mount namespace of its own whose mounts are slaves
// of the host's (host mounts still appear; ours never reach the host). Every
// mount the process makes afterwards vanishes with it, however it dies
// (hoist-build's step overlays after a kill -9). Must be called while the
// process has one thread (unshare(CLONE_NEWNS) refuses a shared fs_struct).
Result<> enter_private_mount_namespace();

}  // namespace hoist::sys
