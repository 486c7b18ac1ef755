#pragma once
// The copy snapshotter's file work (build/step_root.h, Snapshotter::kCopy):
// for kernels whose overlayfs cannot be mounted in a user namespace (< 5.11),
// a step runs on a full copy of the tree below it, and its layer is the
// difference between the two, written as an overlay upper directory would
// hold it (0/0 character devices for deletions), so that the same layer
// writer (archive/tree_tar.h) makes the same tar.
//
// merge_into: `src`, a tree in overlay form (a snapshot), onto `dst`: each
//   entry copied with its owner, mode, times, user.* and security.capability
//   xattrs (hardlinks within one call kept), a whiteout removing what `dst`
//   has at its name, an opaque directory (sys::overlay_xattr_prefix()opaque)
//   emptied in `dst` first. With plain trees (no whiteouts) it is a copy.
// diff_into: what `merged` (a copy of `lower` made before `since`) has that
//   `lower` has not, or has of another type, or changed after `since` (its
//   ctime, which nothing but the kernel sets, moved, and then its mode,
//   owner, mtime, size, bytes, link target, device or xattrs differ: a link
//   count alone is no change), into `upper`: changed entries
//   whole, the directories on the way to them with merged's metadata, and a
//   whiteout for each name `lower` has and `merged` has not. A directory
//   replaced by another is a set of whiteouts and new entries, not an opaque
//   directory (only overlay knows it was replaced). Returns the number of
//   changes.
//
// Symlinks are never followed; every directory is opened O_NOFOLLOW from its
// parent's fd. Memory: one directory listing per level, plus the hardlinks
// met. Thread-compatible.

#include <cstdint>
#include <ctime>

#include "util/result.h"

namespace hoist::build {

Result<> merge_into(int src_dirfd, int dst_dirfd);
Result<uint64_t> diff_into(int lower_dirfd, int merged_dirfd, int upper_dirfd, const struct timespec& since);

}  // namespace hoist::build
