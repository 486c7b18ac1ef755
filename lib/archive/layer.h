#pragma once
// One layer blob, start to finish: blob bytes -> decompressor (gzip via ISA-L,
// zstd, or none, as the media type says) -> size budget -> diffID hasher -> tar
// entries applied under a root (archive/apply.h). Each byte is touched once;
// decompressing and hashing run on a second thread while the entries are
// applied (archive/prefetch.h).

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "archive/apply.h"
#include "digest/digest.h"
#include "image/descriptor.h"
#include "image/media_types.h"
#include "io/stream.h"
#include "sys/fd.h"

namespace hoist::archive {

// Default cap on the uncompressed bytes of all layers of one unpack: generous,
// but finite, so a decompression bomb stops.
inline constexpr uint64_t kDefaultMaxSize = uint64_t{64} << 30;

// Uncompressed bytes allowed, shared by the layers of one unpack.
struct SizeBudget {
  uint64_t max = kDefaultMaxSize;
  uint64_t used = 0;
};

struct LayerOptions {
  ApplyOptions apply;
  // Read ahead on a second thread (false: everything on the caller's thread).
  bool threaded = true;
  // Uncompressed bytes read so far in this layer; called from the reading thread.
  std::function<void(uint64_t)> on_progress;
};

struct LayerResult {
  ApplyStats stats;
  digest::Digest diff_id;    // of the uncompressed stream, as read
  uint64_t uncompressed = 0;
};

// Applies the layer in `blob` (compressed as `c`) under `root`, checking its
// uncompressed digest against `diff_id` (image config rootfs.diff_ids; invalid
// digest: not checked). The whole uncompressed stream is hashed, padding after
// the tar's end marker included (that is what a diffID covers).
// Errors: kDigestMismatch "layer diffID mismatch: expected 'sha256:..', got
// 'sha256:..'" (the entries are already applied: the root is then unusable);
// kInvalidArgument "unpacked size exceeds the limit of N bytes" when `budget`
// runs out; the decompressor's and apply_tar's errors.
Result<LayerResult> apply_layer(io::Reader& blob, image::media_type::Compression c, const digest::Digest& diff_id,
                                const sys::Fd& root, SizeBudget& budget, const LayerOptions& options);

// The compression a layer descriptor declares; kUnsupported for a media type that
// is not a layer (foreign layers are layers).
Result<image::media_type::Compression> layer_compression(const image::Descriptor& d);

}  // namespace hoist::archive
