// The content store as a Sink: blobs through the store's resumable ingest,
// manifests as small blobs, and one record_image() (one WriteBatch) at the end.

#include "transport/store_sink.h"

#include <fmt/core.h>

#include "image/config.h"
#include "image/manifest.h"
#include "image/media_types.h"
#include "ref/reference.h"

namespace hoist::transport {
namespace {

class StoreBlobWriter final : public BlobWriter {
 public:
  explicit StoreBlobWriter(std::unique_ptr<store::BlobWriter> w) : w_(std::move(w)) {}
  uint64_t offset() const override { return w_->offset(); }
  Result<> write(std::span<const std::byte> data) override { return w_->write(data); }
  Result<> commit() override { return w_->commit(); }
  void abort() override { (void)w_->abort(); }

 private:
  std::unique_ptr<store::BlobWriter> w_;
};

// Another writer committed the blob between has_blob() and put_blob().
class PresentBlobWriter final : public BlobWriter {
 public:
  explicit PresentBlobWriter(uint64_t size) : size_(size) {}
  uint64_t offset() const override { return size_; }
  Result<> write(std::span<const std::byte> data) override {
    if (data.empty()) return {};
    return fail(Errc::kInternal, "write to a blob that is already present");
  }
  Result<> commit() override { return {}; }
  void abort() override {}

 private:
  uint64_t size_;
};

}  // namespace

Result<std::unique_ptr<BlobWriter>> open_store_blob(store::BlobDir& blobs, const image::Descriptor& d) {
  auto w = blobs.ingest(d.digest, d.size);
  if (!w) {
    if (w.error().code() == Errc::kAlreadyExists) return std::make_unique<PresentBlobWriter>(d.size);
    return fail(std::move(w).error());
  }
  return std::make_unique<StoreBlobWriter>(std::move(*w));
}

StoreSink::StoreSink(std::unique_ptr<store::Store> store, bool record_refs)
    : store_(std::move(store)), record_refs_(record_refs) {}

StoreSink::~StoreSink() = default;

Result<bool> StoreSink::has_blob(const image::Descriptor& d) { return store_->has_blob(d.digest); }

Result<std::unique_ptr<BlobWriter>> StoreSink::put_blob(const image::Descriptor& d) {
  return open_store_blob(store_->blobs(), d);
}

Result<> StoreSink::put_manifest(const RawManifest& m) {
  return store_->put_small_blob(m.bytes, m.descriptor.digest);
}

std::string StoreSink::ref_name(const CopiedImage& image) {
  if (!image.tag.empty()) return image.name + ":" + image.tag;
  return image.name + "@" + image.root.digest.str();
}

Result<> StoreSink::commit_image(const CopiedImage& image) {
  store::ImageRecord rec;
  if (record_refs_) rec.name = ref_name(image);
  rec.root = image.root;
  // A pull from a registry: remember where each blob lives, so hoist-push can
  // mount it there instead of uploading it (store/index.h v1/source).
  if (auto r = ref::parse_reference(image.name); r && r->name() == image.name && !r->digest()) rec.source = image.name;
  std::set<digest::Digest> seen;
  auto add_blob = [&](const image::Descriptor& d) {
    if (seen.insert(d.digest).second) rec.blobs.push_back(d);
  };
  add_blob(image.root);
  for (const auto& m : image.manifests) add_blob(m.descriptor);
  for (const auto& [parent, child] : image.edges) {
    add_blob(child);
    rec.edges.push_back({parent, child.digest});
  }
  // diffID <-> layer digest pairs, for unpacking and building later.
  for (const auto& m : image.manifests) {
    if (!image::media_type::is_manifest(m.descriptor.media_type)) continue;
    auto man = image::parse_manifest(m.bytes, m.descriptor.media_type);
    if (!man) continue;
    auto cfg_bytes = store_->read_small_blob(man->config.digest);
    if (!cfg_bytes) continue;
    auto cfg = image::parse_config(*cfg_bytes);
    if (!cfg || cfg->rootfs.diff_ids.size() != man->layers.size()) continue;
    for (size_t i = 0; i < man->layers.size(); ++i)
      rec.diff_ids.push_back({cfg->rootfs.diff_ids[i], man->layers[i].digest});
  }
  return store_->record_image(rec);
}

}  // namespace hoist::transport
