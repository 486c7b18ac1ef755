#pragma once
// Finding the image hoist-unpack was given: a reference or digest in the store,
// or oci:DIR[:TAG] (an OCI image layout), down to its manifest and config.
// TODO(#5): hoist-pull --unpack and hoist-build need the same; move to a library
// module when they land.

#include <memory>
#include <optional>
#include <string>

#include "image/config.h"
#include "image/manifest.h"
#include "ref/platform.h"
#include "store/blob_dir.h"

namespace hoist::unpack {

struct ImageSource {
  std::unique_ptr<store::BlobDir> blobs;  // where the blobs are (the store, or the layout)
  std::string name;                       // for messages
  image::Descriptor manifest_desc;
  image::Manifest manifest;
  image::ImageConfig config;
};

// text: "oci:DIR[:TAG]", "sha256:<hex>", "NAME@sha256:<hex>", or a reference
// recorded in the store at store_dir ("" = the default store).
Result<ImageSource> open_image(const std::string& text, const std::string& store_dir,
                               const std::optional<ref::Platform>& platform);

}  // namespace hoist::unpack
