#pragma once
// LayoutWriter: writes an OCI image layout directory (layout.h), the sink side of
// `oci:DIR[:NAME]`. Blobs go through store::BlobDir's discipline (temp -> fsync ->
// verify -> rename; resumable partials kept as DIR/.hoist-ingest-*.partial).
//
// index.json is updated under an flock on DIR itself (flock works on directory
// descriptors), read-modify-write, then replaced atomically: several processes
// adding images to one DIR at once lose no entry. Before index.json names a blob,
// the blobs directory is fsynced (the rename becomes durable first).
//
// Thread-safe.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "image/descriptor.h"
#include "store/blob_dir.h"
#include "store/lock.h"
#include "util/result.h"

namespace hoist::layout {

class LayoutWriter {
 public:
  // Creates DIR, oci-layout and an empty index.json when missing. An existing
  // oci-layout of another version is kUnsupported; a malformed one kInvalidArgument.
  static Result<std::unique_ptr<LayoutWriter>> open(const std::string& dir,
                                                   std::chrono::milliseconds lock_timeout = store::kDefaultLockTimeout);

  const std::string& dir() const { return dir_; }
  store::BlobDir& blobs() { return blobs_; }
  const store::BlobDir& blobs() const { return blobs_; }

  // Adds `root` (a manifest or index whose blobs are already written) to
  // index.json. With a name: annotated ref.name = name, replacing any descriptor of
  // that name (skopeo's behaviour). Without: replaces unnamed descriptors of the
  // same digest. kNotFound when the root blob is absent; kInvalidArgument for a
  // name skopeo would refuse (layout.h) or a malformed existing index.json;
  // kUnavailable when another process holds the lock past the timeout.
  Result<> add_image(const image::Descriptor& root, std::string_view name);

  // Removes the descriptor named `name` from index.json (blobs stay).
  // kNotFound when there is none.
  Result<> remove_image(std::string_view name);

 private:
  LayoutWriter(std::string dir, std::chrono::milliseconds timeout);
  template <typename Fn>
  Result<> update_index(Fn&& edit);

  std::string dir_;
  store::BlobDir blobs_;
  std::chrono::milliseconds timeout_;
};

}  // namespace hoist::layout
