#pragma once
// write_tree_tar: a directory as one OCI layer tar (image-spec layer.md), for
// hoist-build: either a fresh directory holding a COPY's files, or the overlayfs
// upper directory a RUN step left, whose whiteouts become ".wh." entries.
//
// The walk (fd-based, so a name is never resolved twice and nothing outside the
// tree is reached): every directory opened with openat(O_NOFOLLOW|O_DIRECTORY)
// from its parent's fd, every name looked at with fstatat(AT_SYMLINK_NOFOLLOW),
// every file opened with O_NOFOLLOW and checked to be the inode just looked at.
// A symlink is written as a symlink, never followed. Mount points inside the
// tree are crossed; `skip` is how a caller leaves out the ones it made.
//
// Order: depth first, parents before children, each directory's names in byte
// order (Go's filepath.WalkDir order, which moby's archive.TarWithOptions
// writes); names relative without "./", directories with a trailing '/', the
// root itself not written. Entries as lib/archive/tar_writer.h encodes them
// (ustar, PAX only where needed, uname/gname empty, whole-second mtimes).
//
// What is written, as moby's pkg/archive (addTarFile, overlayWhiteoutConverter)
// and containerd's archive.ChangeWriter write it:
//   - regular files with their data; a non-directory with st_nlink > 1 whose
//     (dev, ino) was already written becomes a hardlink entry to the first path;
//   - directories, symlinks, char/block devices, fifos; sockets are skipped;
//   - xattrs: security.capability (a VFS_CAP_REVISION_3 value is written as
//     revision 2, as moby does: its root uid means nothing outside the user
//     namespace that wrote it) and user.* but overlay's user.overlay.*;
//     everything else (trusted.*, security.selinux, system.posix_acl_*) is left
//     out, as containerd keeps nothing but security.capability;
//   - overlay_upper: a char device 0/0 is an overlay whiteout and becomes an
//     empty regular file "DIR/.wh.NAME", mode 0600, the device's owner and mtime
//     (never a hardlink, though overlayfs links its whiteouts to one inode); a
//     directory with trusted.overlay.opaque = "y" (the namespace of hoist's
//     own mounts: a user.overlay.* xattr the image's files carry is neither a
//     marker nor written) is written, then "DIR/.wh..wh..opq" first among
//     its children: an empty regular file with the directory's permission bits
//     and owner and mtime 0 (moby leaves its ModTime zero). A redirect or
//     metacopy xattr (their data lives in a lower layer) is kUnsupported: mount
//     the overlay with redirect_dir=off and metacopy=off.
//
// Memory: the listing of each directory on the path from the root to the one
// being written (names are dropped as they are written), the paths of files
// with more than one link, and one 1 MiB data buffer. File data is read
// straight from the file's fd. Open fds: one per directory level.
//
// Errors, with the relative path: errno errors of the file system ("cannot
// stat 'a/b'"), kIo "'a/b' changed while it was read" (replaced between the
// look and the open, or shorter than its size), kUnsupported as above, and the
// tar writer's and `out`'s errors. `out` is left as far as it got, and never
// closed here. Thread-compatible; the tree must not change during the walk.

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "io/stream.h"
#include "sys/fd.h"
#include "util/result.h"

namespace hoist::archive {

struct TreeTarOptions {
  // Mtimes later than this are written as this (BuildKit's rewrite-timestamp,
  // SOURCE_DATE_EPOCH): equal trees then give identical bytes whatever the clock.
  std::optional<int64_t> clamp_mtime;
  // `dir` is an overlayfs upper directory: convert whiteouts and opaque dirs.
  bool overlay_upper = false;
  // Leaves out the entry at this relative path ("a/b", no trailing '/') and, for
  // a directory, everything under it. May be empty.
  std::function<bool(std::string_view relpath)> skip;
  // Called with the file data bytes written so far, after each chunk of up to
  // 1 MiB. May be empty.
  std::function<void(uint64_t bytes)> on_progress;
};

struct TreeTarStats {
  uint64_t entries = 0;      // tar entries (PAX extended headers not counted)
  uint64_t dirs = 0;
  uint64_t files = 0;        // regular files written with their data
  uint64_t data_bytes = 0;   // their bytes
  uint64_t symlinks = 0;
  uint64_t hardlinks = 0;
  uint64_t specials = 0;     // devices and fifos
  uint64_t whiteouts = 0;    // ".wh.NAME" entries
  uint64_t opaque_dirs = 0;  // ".wh..wh..opq" entries
  uint64_t skipped = 0;      // sockets, and the names `skip` refused
  uint64_t tar_bytes = 0;    // all bytes written to `out`, end marker included
};

// Writes the tree under `dir` (an fd of a directory; O_PATH is enough) to `out`,
// then the end-of-archive marker.
Result<TreeTarStats> write_tree_tar(const sys::Fd& dir, io::Writer& out, const TreeTarOptions& o);

}  // namespace hoist::archive
