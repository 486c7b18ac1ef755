#pragma once
// Applying one layer tar to a root directory (image-spec layer.md): changesets with
// whiteouts and opaque directories, hardlinks, symlinks, devices and fifos, owners,
// modes with setuid/setgid/sticky, mtimes, xattrs and sparse files.
//
// Containment (the point of this module): every path of every entry, hardlink
// target and whiteout is resolved inside `root` (openat2 RESOLVE_IN_ROOT through
// sys/openat2.h, the last component through *at() calls that never follow it), so
// no entry can create, change or remove anything outside the root, whether the
// escape was set up in this layer or an earlier one. A symlink met on the way is
// followed as if `root` were "/" (as docker and umoci resolve it); a name whose
// ".." climbs above the root is refused. Errors name the entry:
//   "entry '../etc/x': path escapes the root"
//   "entry 'a/b': hardlink target 'c' not found"
//
// Same-layer rule (layer.md): a whiteout or opaque marker hides only what lower
// layers put there, never entries of its own layer, in whatever order they come.
// Directory modes and mtimes are set when the layer ends (children change them).
//
// Not thread-safe; one layer at a time per root. Small regular files are created
// on worker threads of its own (joined before apply_tar returns); the result, the
// errors and the order of warnings are those of applying the entries one by one.

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "archive/tar_reader.h"
#include "io/stream.h"
#include "sys/fd.h"
#include "util/result.h"

namespace hoist::archive {

enum class WhiteoutMode : uint8_t {
  kApply,    // remove what the whiteout names from the tree (a plain rootfs)
  kOverlay,  // write overlayfs whiteouts and opaque xattrs (a snapshot: one layer per dir)
  kNone,     // ".wh." names are ordinary files (an archive that is not a layer: ADD)
};

// The xattr rootless tools (umoci, runc's rootless docs, rootlesscontainers.io)
// use for the intended owner: a protobuf Resource{uint32 uid = 1; uint32 gid = 2}.
inline constexpr std::string_view kRootlessXattr = "user.rootlesscontainers";

struct ApplyOptions {
  // Files stay owned by the invoking user; an entry's owner other than 0:0 is kept
  // in kRootlessXattr; device nodes are skipped with a warning; xattrs the kernel
  // refuses (trusted.*, security.*) are skipped with a warning.
  bool rootless = false;
  WhiteoutMode whiteouts = WhiteoutMode::kApply;
  // kOverlay only: roots of the layers below (snapshots, top first; fds owned by
  // the caller). A parent directory this layer does not list is created with the
  // owner, mode and times it has in the highest lower layer that has it (as
  // containerd's overlay apply does), and a hardlink whose target is in a lower
  // layer copies the target up into this one first, so the merged tree is the
  // plain unpack's.
  std::vector<int> lower_roots;
  // Threads creating small regular files: 0 one per core (up to 4), 1 none (all
  // on the calling thread).
  unsigned threads = 0;
  // Warnings for people (skipped entries); may be empty. Called on the calling
  // thread only.
  std::function<void(std::string_view)> warn;
};

struct ApplyStats {
  uint64_t entries = 0;
  uint64_t files = 0;
  uint64_t data_bytes = 0;  // file data written
  uint64_t removed = 0;     // whiteouts and opaque markers applied
  uint64_t skipped = 0;     // entries left out with a warning
};

// Reads the tar from `tar` to its end-of-archive marker and applies every entry
// under `root` (an fd of a directory, O_PATH is enough). It does not read past
// the marker: whoever hashes the stream drains the rest. Errors: kInvalidArgument
// for a hostile or malformed entry, kIo/errno for the file system; the tree is
// left as far as it got.
Result<ApplyStats> apply_tar(io::Reader& tar, const sys::Fd& root, const ApplyOptions& options);

// Encodes / decodes the kRootlessXattr value.
std::string encode_rootless_owner(uint32_t uid, uint32_t gid);
Result<std::pair<uint32_t, uint32_t>> decode_rootless_owner(std::string_view value);

}  // namespace hoist::archive
