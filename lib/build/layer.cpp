#include "build/layer.h"

#include <fcntl.h>

#include "archive/tree_tar.h"
#include "image/media_types.h"
#include "io/gzip.h"
#include "io/hashing.h"
#include "sys/file_io.h"

namespace hoist::build {

Result<CommittedLayer> commit_layer(store::Store& store, const std::string& dir, const LayerOptions& options) {
  auto root = HOIST_TRY(sys::open_file(dir, O_RDONLY | O_DIRECTORY));
  auto blob = HOIST_TRY(store.ingest_new());
  io::HashingWriter compressed(*blob);
  io::GzipWriter gz(compressed);
  io::HashingWriter uncompressed(gz);
  archive::TreeTarOptions topts;
  topts.clamp_mtime = options.clamp_mtime;
  topts.overlay_upper = options.overlay_upper;
  topts.skip = options.skip;
  auto stats = HOIST_TRY_CTX(archive::write_tree_tar(root, uncompressed, topts), "cannot write the layer of '" + dir + "'");
  HOIST_CHECK(uncompressed.close());  // flushes gzip into `compressed`, closes the blob writer
  CommittedLayer out;
  out.diff_id = uncompressed.digest();
  out.entries = stats.entries;
  out.blob.digest = compressed.digest();
  out.blob.size = compressed.count();
  out.blob.media_type = std::string(options.format == ImageFormat::kDocker ? image::media_type::kDockerLayer
                                                                            : image::media_type::kOciLayerGzip);
  auto r = blob->commit(out.blob.digest, out.blob.size);
  if (!r && r.error().code() != Errc::kAlreadyExists) return fail(std::move(r).error());
  return out;
}

}  // namespace hoist::build
