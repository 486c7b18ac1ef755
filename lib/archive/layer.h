#pragma once
// One layer blob, start to finish: blob bytes -> digest and size check against
// the layer's descriptor -> decompressor (gzip via ISA-L, zstd, or none, as the
// media type says) -> size budget -> diffID hasher -> tar entries applied under
// a root (archive/apply.h). Each byte is touched once; verifying, decompressing
// and hashing run on a second thread while the entries are applied
// (archive/prefetch.h).

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

// Cap on the uncompressed bytes of all layers of one unpack when the caller
// sets none (callers that know the target filesystem derive a smaller one from
// its free space: unpack/bundle_writer.h).
inline constexpr uint64_t kDefaultMaxSize = uint64_t{64} << 30;

// Uncompressed bytes allowed, shared by the layers of one unpack. `why` says
// where `max` came from and how to raise it; it ends the "exceeds the limit"
// error ("90% of the space free on '/var'; --max-size raises it").
struct SizeBudget {
  uint64_t max = kDefaultMaxSize;
  uint64_t used = 0;
  std::string why;
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

// Applies the layer blob `blob` described by `layer` under `root`. The blob's
// bytes are checked against layer.digest and layer.size as they stream, in the
// same pass as decompression (io::VerifyingReader; not checked when layer.digest
// is invalid), and read to their end even when the compressed stream ends
// early; the media type gives the compression. The uncompressed digest is
// checked against `diff_id` (image config rootfs.diff_ids; invalid digest: not
// checked). The whole uncompressed stream is hashed, padding after the tar's
// end marker included (that is what a diffID covers).
// Errors (after any of them the entries applied so far make `root` unusable):
//   kDigestMismatch "layer blob digest mismatch: expected 'sha256:..', got
//                   'sha256:..'" (a blob longer than layer.size is read only
//                   that far, so it fails here too);
//   kIo             "short content for 'sha256:..': got X of N bytes";
//   kDigestMismatch "layer diffID mismatch: expected 'sha256:..', got 'sha256:..'";
//   kInvalidArgument "unpacked size exceeds the limit of N bytes" (+ budget.why)
//                   when `budget` runs out;
//   kUnsupported    for a media type that is not a layer;
// and the decompressor's and apply_tar's errors.
Result<LayerResult> apply_layer(io::Reader& blob, const image::Descriptor& layer, const digest::Digest& diff_id,
                                const sys::Fd& root, SizeBudget& budget, const LayerOptions& options);

// The compression a layer descriptor declares; kUnsupported for a media type that
// is not a layer (foreign layers are layers).
Result<image::media_type::Compression> layer_compression(const image::Descriptor& d);

}  // namespace hoist::archive
