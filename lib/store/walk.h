#pragma once
// Walking an image's graph in a BlobDir: root manifest or index -> manifests ->
// config and layers, reading each manifest (verified) from the blobs and parsing it
// strictly (image/manifest.h). Used to fill an ImageRecord before Store::record_image
// and to list what an archive must hold.

#include <string>
#include <vector>

#include "image/descriptor.h"
#include "store/blob_dir.h"
#include "store/index.h"
#include "util/result.h"

namespace hoist::store {

struct ImageGraph {
  // name and root as given; blobs: every present blob, each once, children before
  // parents (layers, config, manifest, ..., root last): the order an archive
  // writer wants. edges: every parent -> child link, present or not. diff_ids:
  // config rootfs.diff_ids paired with the layers when their counts agree.
  ImageRecord record;
  // Referenced but absent: an index's manifests for platforms never pulled, or
  // layers of a partial copy. Absent manifests are not descended into.
  std::vector<image::Descriptor> missing;
};

// kNotFound when the root itself is absent; parse errors of manifests and an index
// nested deeper than 8 levels are kInvalidArgument. A config that does not parse
// as an image config (an artifact's) only means no diff_ids.
Result<ImageGraph> walk_image(const BlobDir& blobs, std::string name, const image::Descriptor& root);

}  // namespace hoist::store
