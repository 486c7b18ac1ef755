#pragma once
// A step's changes as a layer blob in the store, in one pass: the directory
// (an overlay upper directory, or a plain tree) -> tar (archive/tree_tar.h:
// whiteouts converted, mtimes clamped) -> diffID hasher -> gzip -> blob
// hasher -> the store's ingest -> commit (fsync, verify, rename). Nothing is
// held in memory, nothing is written twice.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "build/options.h"
#include "digest/digest.h"
#include "image/descriptor.h"
#include "store/store.h"
#include "util/result.h"

namespace hoist::build {

struct CommittedLayer {
  image::Descriptor blob;  // media type per `format`, digest, size
  digest::Digest diff_id;
  uint64_t entries = 0;
};

struct LayerOptions {
  bool overlay_upper = true;            // the directory is an overlay upper dir
  std::optional<int64_t> clamp_mtime;   // SOURCE_DATE_EPOCH
  ImageFormat format = ImageFormat::kOci;
  std::function<bool(std::string_view)> skip;  // archive::TreeTarOptions::skip
};

Result<CommittedLayer> commit_layer(store::Store& store, const std::string& dir, const LayerOptions& options);

}  // namespace hoist::build
