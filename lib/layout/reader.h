#pragma once
// LayoutReader: reads an OCI image layout directory (layout.h). index.json is read
// once, at open(); blobs are read on demand through blobs(), which verifies what it
// reads in full (read_small_blob) or hands out the file (open_blob). Nothing is
// written. Thread-safe after open().

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "image/descriptor.h"
#include "store/blob_dir.h"
#include "util/result.h"

namespace hoist::layout {

// index.json's bytes -> its manifests (file order, annotations kept). `where`
// names the file in errors ("invalid 'WHERE': ..."). kInvalidArgument.
Result<std::vector<image::Descriptor>> parse_layout_index(std::string_view bytes, std::string_view where);
// oci-layout's bytes: kUnsupported for another imageLayoutVersion,
// kInvalidArgument when malformed.
Result<> check_oci_layout(std::string_view bytes, std::string_view where);

class LayoutReader {
 public:
  // kNotFound when DIR has no oci-layout or index.json ("'DIR' is not an OCI image
  // layout: no oci-layout"); kUnsupported for another imageLayoutVersion;
  // kInvalidArgument for a malformed file.
  static Result<std::unique_ptr<LayoutReader>> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const store::BlobDir& blobs() const { return blobs_; }
  // index.json's manifests, in file order, annotations kept.
  const std::vector<image::Descriptor>& manifests() const { return manifests_; }
  // The ref.name annotations present, in file order.
  std::vector<std::string> names() const;

  // The descriptor named `name`; with an empty name the only descriptor of the
  // layout. kNotFound "no image named 'x' in layout 'DIR'"; kInvalidArgument when
  // `name` is empty and the layout holds several images (or none).
  Result<image::Descriptor> resolve(std::string_view name) const;

  // A manifest or index blob, verified against d (digest and size).
  Result<std::string> read_manifest(const image::Descriptor& d) const;

 private:
  LayoutReader(std::string dir, std::vector<image::Descriptor> manifests);
  std::string dir_;
  store::BlobDir blobs_;
  std::vector<image::Descriptor> manifests_;
};

}  // namespace hoist::layout
