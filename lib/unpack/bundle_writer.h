#pragma once
// Making an OCI runtime bundle (DIR/rootfs + DIR/config.json) from an image's
// layers, the code hoist-unpack and `hoist-pull --unpack` share.
//
// A bundle hoist makes carries DIR/hoist-bundle.json (kMarkerFile; umoci keeps
// umoci.json the same way): {"bundle":"hoist","version":1,"rootfs":"plain"|
// "overlay"}. It is written first, so a bundle left half-made by a crash is
// still recognised; remove_bundle() refuses a directory without it.
//
// Plain bundles: layers applied in order into DIR/rootfs (archive/layer.h), the
// caller feeding them as they become available. Overlay bundles: see
// unpack/snapshot.h. Not thread-safe; one thread drives a BundleWriter.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "archive/layer.h"
#include "bundle/spec.h"
#include "image/config.h"
#include "image/descriptor.h"
#include "image/manifest.h"
#include "io/stream.h"
#include "store/blob_dir.h"
#include "sys/fd.h"
#include "util/progress.h"
#include "util/result.h"

namespace hoist::unpack {

inline constexpr std::string_view kMarkerFile = "hoist-bundle.json";

enum class RootfsKind : uint8_t { kPlain, kOverlay };

// The default cap on an unpack's uncompressed bytes (max_size 0): this share of
// the space free on the target filesystem when the unpack begins, so that a
// decompression bomb stops with a clear error and leaves the disk usable.
inline constexpr unsigned kDefaultMaxSizePercentOfFree = 90;

struct BundleOptions {
  bundle::SpecOptions spec;  // spec.rootless also means a rootless unpack
  // Cap on the uncompressed bytes of all layers; 0: kDefaultMaxSizePercentOfFree
  // of the target filesystem's free space.
  uint64_t max_size = 0;
  // Ends the "exceeds the limit" error of the default cap: how to raise it.
  std::string max_size_hint = "hoist-unpack --max-size raises it";
  std::function<void(std::string_view)> warn;  // skipped entries; may be empty
};

// The budget for an unpack into `target` (a directory on the filesystem that
// receives the bytes): options.max_size, or the default share of its free space
// (archive::kDefaultMaxSize when that cannot be read).
archive::SizeBudget unpack_budget(const BundleOptions& options, const std::string& target);

// Opens layer `index` (0-based) of `count` from `blobs`, refusing a blob whose
// size is not its descriptor's: kDigestMismatch "layer 2/3 'sha256:…': the blob
// in 'ROOT' is 140 bytes, its descriptor says 40". Its digest is checked as it
// streams (archive::apply_layer).
Result<std::unique_ptr<store::BlobReader>> open_layer_blob(const store::BlobDir& blobs,
                                                           const image::Descriptor& layer, size_t index,
                                                           size_t count);

class BundleWriter {
 public:
  // Creates DIR (0700) or takes it when it exists and is empty, writes the marker,
  // and makes DIR/rootfs (plain), or DIR/rootfs, DIR/upper, DIR/work (overlay).
  // kAlreadyExists "bundle directory 'DIR' is not empty".
  static Result<std::unique_ptr<BundleWriter>> create(const std::string& dir, RootfsKind kind,
                                                      const BundleOptions& options);
  // Unless finish() succeeded: unmounts the rootfs if mounted and removes DIR
  // (or only its contents, when DIR existed before).
  ~BundleWriter();
  BundleWriter(const BundleWriter&) = delete;
  BundleWriter& operator=(const BundleWriter&) = delete;

  const std::string& dir() const { return dir_; }

  // Plain: applies layer `index` (0-based) of `count` from `blob`, checking its
  // diffID. Progress item id "apply:<digest>". Errors carry "layer 2/3 'sha256:…'".
  Result<> apply_layer(io::Reader& blob, const image::Descriptor& layer, const digest::Digest& diff_id, size_t index,
                       size_t count, ProgressSink& progress);

  // Overlay: mounts DIR/rootfs as an overlay of `lower` (top first) with
  // DIR/upper and DIR/work; DIR/upper takes the owner, mode and times of lower[0]
  // (the merged root's metadata comes from the upper directory).
  Result<> mount_lower(const std::vector<std::string>& lower);

  // Writes config.json (bundle/spec.h, the user resolved in the rootfs) and keeps
  // the bundle. Returns DIR as an absolute path.
  Result<std::string> finish(const image::ImageConfig& config);

 private:
  BundleWriter(std::string dir, bool created, RootfsKind kind, const BundleOptions& options);
  void discard();

  std::string dir_;
  bool created_;
  RootfsKind kind_;
  BundleOptions options_;
  archive::SizeBudget budget_;
  sys::Fd root_;  // DIR/rootfs, plain only until finish()
  bool mounted_ = false;
  bool done_ = false;
};

// hoist-unpack --remove DIR: unmounts DIR/rootfs when it is an overlay mount
// and removes DIR. Refuses (kInvalidArgument) a directory without the marker,
// and a rootfs that is a mount of any other kind; kIo with errno EBUSY when the
// overlay is still in use (a container running in it).
Result<> remove_bundle(const std::string& dir);

// hoist-unpack IMAGE DIR: every layer of `manifest` from `blobs`, in order, then
// config.json. Returns DIR as an absolute path; on failure DIR is removed again.
Result<std::string> unpack_image(const store::BlobDir& blobs, const image::Manifest& manifest,
                                 const image::ImageConfig& config, const std::string& dir,
                                 const BundleOptions& options, ProgressSink& progress);

}  // namespace hoist::unpack
