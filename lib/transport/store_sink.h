#pragma once
// The content store as a Sink (transport/transport.h). Blobs go through the
// store's resumable ingest (a partial left by a crash resumes); commit_image
// records the ref "NAME:TAG" (or "NAME@DIGEST") with every blob, the graph
// edges and the diffID pairs in one WriteBatch, and, when NAME is a registry
// repository ("127.0.0.1:5000/team/app", a pull), a v1/source record per blob
// naming it, in the same batch: where hoist-push can mount the blob from.

#include <memory>
#include <set>

#include "store/store.h"
#include "transport/transport.h"

namespace hoist::transport {

class StoreSink final : public Sink {
 public:
  // record_refs false: blobs and graph only (a staging area for archives).
  explicit StoreSink(std::unique_ptr<store::Store> store, bool record_refs = true);
  ~StoreSink() override;
  Result<bool> has_blob(const image::Descriptor& d) override;
  Result<std::unique_ptr<BlobWriter>> put_blob(const image::Descriptor& d) override;
  Result<> put_manifest(const RawManifest& m) override;
  Result<> commit_image(const CopiedImage& image) override;
  store::Store& store() { return *store_; }
  static std::string ref_name(const CopiedImage& image);

 private:
  std::unique_ptr<store::Store> store_;
  bool record_refs_;
};

// A transport::BlobWriter over a BlobDir ingest (the store's or a layout's);
// a blob that is already present gives a writer with nothing left to write.
Result<std::unique_ptr<BlobWriter>> open_store_blob(store::BlobDir& blobs, const image::Descriptor& d);

}  // namespace hoist::transport
