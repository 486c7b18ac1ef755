#pragma once
// Layer snapshots for overlay bundles (hoist-unpack --snapshot): each layer
// unpacked once into STORE/snapshots/sha256/<hex of its chain ID>/, in overlay
// form (whiteouts as 0/0 character devices, opaque directories marked with
// trusted.overlay.opaque=y; archive::WhiteoutMode::kOverlay), and a bundle's
// rootfs is an overlay of its chain's snapshots with DIR/upper and DIR/work.
//
// Chain IDs as image-spec config.md defines them: ChainID(L0) = DiffID(L0),
// ChainID(L0|..|Ln) = SHA256(ChainID(L0|..|Ln-1) + " " + DiffID(Ln)): a snapshot
// depends on every layer below it, so images sharing base layers share their
// snapshot directories.
//
// Crash safety without any index entry: a snapshot is built in
// STORE/snapshots/tmp/<random>/ and renamed into place only once complete
// (after syncfs), so a directory under snapshots/sha256/ is always whole. The
// builder holds an flock on its temp directory; a temp directory nobody holds
// locked is a crash leftover and is removed by the next builder. Two processes
// building the same snapshot both finish: the first rename wins, the other
// drops its copy and uses the winner's.
//
// Each snapshot is applied on its own, with the containment of archive/apply.h
// inside the snapshot directory and its diffID verified before the rename. Its
// root directory starts with the parent snapshot root's owner, mode and times
// (the merged root of an overlay shows the upper-most layer's); parent
// directories and hardlink targets from lower layers are taken from the
// snapshots below (archive::ApplyOptions::lower_roots). Known
// difference from a plain unpack: a path that goes through a symlink made by a
// *lower* layer (`lib -> usr/lib`, then `lib/x`) is created as a directory in
// this layer's snapshot (as containerd's overlay snapshotter does), where the
// plain unpack follows the symlink.
//
// Root only: overlay whiteouts are device nodes and trusted.* xattrs need
// CAP_SYS_ADMIN. Thread-compatible.

#include <string>
#include <vector>

#include "digest/digest.h"
#include "image/config.h"
#include "image/manifest.h"
#include "store/blob_dir.h"
#include "unpack/bundle_writer.h"
#include "util/progress.h"
#include "util/result.h"

namespace hoist::unpack {

// A temp directory (under snapshots/tmp/), flock'ed for as long as its owner
// lives, so that Snapshots::remove_stale() leaves it alone; removed by the
// destructor unless keep() was called.
class TempDir {
 public:
  static Result<TempDir> make(const std::string& tmp_root);
  TempDir(TempDir&&) = default;
  TempDir& operator=(TempDir&&) = default;
  ~TempDir();
  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }
  void keep() { path_.clear(); }

 private:
  TempDir(std::string path, sys::Fd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  sys::Fd fd_;
};

// ChainIDs of diff_ids, in the same order.
std::vector<digest::Digest> chain_ids(const std::vector<digest::Digest>& diff_ids);

class Snapshots {
 public:
  // `dir` is STORE/snapshots; nothing is created until needed.
  // In a user namespace, DIR/userxattr: those snapshots mark opaque
  // directories with user.overlay.* (sys::overlay_xattr_prefix), the host's
  // with trusted.overlay.*, and each kind is read only by its own mounts.
  explicit Snapshots(std::string dir);

  std::string path(const digest::Digest& chain_id) const;  // DIR/sha256/<hex>
  const std::string& dir() const { return dir_; }
  bool has(const digest::Digest& chain_id) const;

  // Builds the snapshot of `chain_id` from `blob` (layer `layer`, which must
  // hash to `diff_id`) on top of `lower` (the snapshots below, top first; empty
  // for the base layer: archive::ApplyOptions::lower_roots). Returns true when this call made it, false when it was already
  // there (or another process renamed its copy in first). Errors carry the
  // apply's message; nothing is left under sha256/ on failure.
  Result<bool> create(const digest::Digest& chain_id, const std::vector<std::string>& lower, io::Reader& blob,
                      const image::Descriptor& layer, const digest::Digest& diff_id, archive::SizeBudget& budget,
                      const archive::LayerOptions& options);

  // A temp directory under DIR/tmp for a builder of snapshots (hoist-build
  // makes its steps' overlay directories there).
  Result<TempDir> make_temp();
  // Makes `dir` (on the same file system, e.g. inside a make_temp() directory:
  // an overlay upper directory, whose whiteouts are the snapshots' own format)
  // the snapshot of `chain_id`: synced, then renamed into place. False when the
  // snapshot was already there (`dir` is left as it is).
  Result<bool> adopt(const digest::Digest& chain_id, const std::string& dir);

  // Removes temp directories of builders that are gone (no flock held).
  void remove_stale();

 private:
  std::string dir_;
};

struct SnapshotStats {
  size_t layers = 0;
  size_t created = 0;  // snapshots made by this call (the rest were present)
};

// Makes the missing snapshots of the chain `layers`/`diff_ids` (the store's
// snapshots under `store_dir`, one per ChainID, each from its layer blob,
// verified) and returns their paths top first: the lower directories of an
// overlay of the image. Errors name the layer ("layer 2/3 'sha256:…': ...").
Result<std::vector<std::string>> ensure_snapshots(const store::BlobDir& blobs, const std::string& store_dir,
                                                  const std::vector<image::Descriptor>& layers,
                                                  const std::vector<digest::Digest>& diff_ids,
                                                  const BundleOptions& options, ProgressSink& progress,
                                                  SnapshotStats* stats = nullptr);

// hoist-unpack --snapshot IMAGE DIR: makes the chain's missing snapshots under
// `store_dir`/snapshots, then DIR (BundleWriter kOverlay) with rootfs mounted
// and config.json. Returns DIR's absolute path. kUnsupported for a rootless
// request, an image without layers, or a kernel without overlayfs.
Result<std::string> unpack_snapshot(const store::BlobDir& blobs, const std::string& store_dir,
                                    const image::Manifest& manifest, const image::ImageConfig& config,
                                    const std::string& dir, const BundleOptions& options, ProgressSink& progress,
                                    SnapshotStats* stats = nullptr);

}  // namespace hoist::unpack
