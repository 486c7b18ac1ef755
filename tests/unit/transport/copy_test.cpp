// copy() against in-memory fakes of Source and Sink: the plan (platform pick,
// dedupe, manifests after blobs), resume offsets, and failure handling.

#include "transport/copy.h"

#include <doctest/doctest.h>
#include <fmt/core.h>

#include <map>
#include <mutex>

#include "image/manifest.h"
#include "image/media_types.h"

using namespace hoist;
using namespace hoist::transport;
namespace mt = hoist::image::media_type;

namespace {

class MemSource final : public Source {
 public:
  std::map<std::string, RawManifest> manifests;  // by digest
  std::map<std::string, std::string> blobs;      // by digest
  std::string root;
  std::map<std::string, uint64_t> fetched_from;  // digest -> offset of the last fetch
  std::string corrupt;                           // digest whose bytes are served wrong
  std::mutex mu;

  std::string name() const override { return "mem.test/repo"; }
  std::string tag() const override { return "v1"; }
  Result<RawManifest> resolve() override { return manifests.at(root); }
  Result<RawManifest> fetch_manifest(const image::Descriptor& d) override {
    auto it = manifests.find(d.digest.str());
    if (it == manifests.end()) return fail(Errc::kNotFound, "no manifest");
    return it->second;
  }
  Result<> fetch_blob(const image::Descriptor& d, uint64_t offset, io::Writer& sink, const RetryHook&) override {
    std::string bytes;
    {
      std::lock_guard lk(mu);
      fetched_from[d.digest.str()] = offset;
      bytes = blobs.at(d.digest.str());
    }
    if (d.digest.str() == corrupt) bytes[bytes.size() / 2] ^= 1;
    auto rest = std::string_view(bytes).substr(offset);
    return sink.write(std::as_bytes(std::span(rest.data(), rest.size())));
  }

  image::Descriptor add_blob(std::string bytes, std::string_view media_type) {
    auto d = image::describe(media_type, bytes);
    blobs[d.digest.str()] = std::move(bytes);
    return d;
  }
  image::Descriptor add_manifest(std::string bytes, std::string_view media_type) {
    auto d = image::describe(media_type, bytes);
    manifests[d.digest.str()] = {d, std::move(bytes)};
    return d;
  }
  image::Descriptor add_image(const std::string& seed, const std::string& shared_layer) {
    image::Manifest m;
    m.media_type = mt::kOciManifest;
    m.config = add_blob("{\"config\":\"" + seed + "\"}", mt::kOciConfig);
    m.layers.push_back(add_blob(shared_layer, mt::kOciLayerGzip));
    m.layers.push_back(add_blob("layer of " + seed, mt::kOciLayerGzip));
    return add_manifest(image::serialize(m), mt::kOciManifest);
  }
};

class MemWriter;

class MemSink final : public Sink {
 public:
  std::map<std::string, std::string> blobs;
  std::map<std::string, std::string> partial;  // resumable bytes by digest
  std::vector<std::string> order;              // blob and manifest digests in the order they became visible
  std::vector<CopiedImage> images;
  // Injected write failures: digest -> (failures left, at byte, error class).
  struct Failure {
    int times;
    size_t at;
    Errc code;
  };
  std::map<std::string, Failure> failures;
  int put_blob_calls = 0;
  std::mutex mu;

  Result<bool> has_blob(const image::Descriptor& d) override {
    std::lock_guard lk(mu);
    return blobs.count(d.digest.str()) > 0;
  }
  Result<std::unique_ptr<BlobWriter>> put_blob(const image::Descriptor& d) override;
  Result<> put_manifest(const RawManifest& m) override {
    std::lock_guard lk(mu);
    blobs[m.descriptor.digest.str()] = m.bytes;
    order.push_back(m.descriptor.digest.str());
    return {};
  }
  Result<> commit_image(const CopiedImage& image) override {
    images.push_back(image);
    return {};
  }
};

class MemWriter final : public BlobWriter {
 public:
  MemWriter(MemSink& sink, image::Descriptor d) : sink_(sink), d_(std::move(d)) {
    std::lock_guard lk(sink_.mu);
    data_ = sink_.partial[d_.digest.str()];
  }
  ~MemWriter() override {
    if (!done_) {
      std::lock_guard lk(sink_.mu);
      sink_.partial[d_.digest.str()] = data_;
    }
  }
  uint64_t offset() const override { return data_.size(); }
  Result<> write(std::span<const std::byte> b) override {
    std::string_view in(reinterpret_cast<const char*>(b.data()), b.size());
    {
      std::lock_guard lk(sink_.mu);
      auto it = sink_.failures.find(d_.digest.str());
      if (it != sink_.failures.end() && it->second.times > 0 && data_.size() + in.size() > it->second.at) {
        --it->second.times;
        data_.append(in.substr(0, it->second.at - std::min(it->second.at, data_.size())));
        return fail(it->second.code, "injected sink failure");
      }
    }
    data_.append(in);
    return {};
  }
  Result<> commit() override {
    done_ = true;
    std::lock_guard lk(sink_.mu);
    sink_.partial.erase(d_.digest.str());
    if (digest::sha256_of(data_) != d_.digest) return fail(Errc::kDigestMismatch, "digest mismatch");
    sink_.blobs[d_.digest.str()] = data_;
    sink_.order.push_back(d_.digest.str());
    return {};
  }
  void abort() override {
    done_ = true;
    std::lock_guard lk(sink_.mu);
    sink_.partial.erase(d_.digest.str());
  }

 private:
  MemSink& sink_;
  image::Descriptor d_;
  std::string data_;
  bool done_ = false;
};

Result<std::unique_ptr<BlobWriter>> MemSink::put_blob(const image::Descriptor& d) {
  {
    std::lock_guard lk(mu);
    ++put_blob_calls;
  }
  return std::make_unique<MemWriter>(*this, d);
}

size_t pos(const std::vector<std::string>& v, const std::string& s) {
  return size_t(std::find(v.begin(), v.end(), s) - v.begin());
}

}  // namespace

TEST_CASE("copy fetches every blob once, manifests after their blobs") {
  MemSource src;
  auto m = src.add_image("a", "shared base layer");
  src.root = m.digest.str();
  MemSink dst;
  NullProgress progress;
  auto r = copy(src, dst, {}, progress);
  REQUIRE(r.has_value());
  CHECK(r->pinned() == "mem.test/repo@" + m.digest.str());
  CHECK(r->blobs_fetched == 3);
  CHECK(dst.blobs.size() == 4);
  CHECK(pos(dst.order, m.digest.str()) == 3);  // the manifest became visible last
  REQUIRE(dst.images.size() == 1);
  CHECK(dst.images[0].edges.size() == 3);

  // A second copy into the same sink fetches nothing.
  src.fetched_from.clear();
  auto again = copy(src, dst, {}, progress);
  REQUIRE(again.has_value());
  CHECK(again->blobs_fetched == 0);
  CHECK(again->blobs_skipped == 3);
  CHECK(src.fetched_from.empty());
}

TEST_CASE("copy picks the platform from an index, or keeps them all") {
  MemSource src;
  auto amd = src.add_image("amd64", "shared");
  auto arm = src.add_image("arm64", "shared");
  amd.platform = ref::Platform{"linux", "amd64"};
  arm.platform = ref::Platform{"linux", "arm64", "v8"};
  image::Index idx;
  idx.media_type = mt::kOciIndex;
  idx.manifests = {amd, arm};
  auto root = src.add_manifest(image::serialize(idx), mt::kOciIndex);
  src.root = root.digest.str();
  NullProgress progress;

  SUBCASE("explicit platform") {
    MemSink dst;
    CopyOptions o;
    o.platform = ref::Platform{"linux", "arm64"};
    auto r = copy(src, dst, o, progress);
    REQUIRE(r.has_value());
    CHECK(r->root.digest == arm.digest);
    CHECK(r->platform->architecture == "arm64");
    CHECK(dst.blobs.count(amd.digest.str()) == 0);
    CHECK(dst.blobs.count(root.digest.str()) == 0);
  }
  SUBCASE("all platforms: shared layer fetched once, index last") {
    MemSink dst;
    CopyOptions o;
    o.all_platforms = true;
    auto r = copy(src, dst, o, progress);
    REQUIRE(r.has_value());
    CHECK(r->root.digest == root.digest);
    CHECK(r->blobs_fetched == 5);  // 2 configs, 2 own layers, 1 shared
    CHECK(dst.order.back() == root.digest.str());
    CHECK(pos(dst.order, amd.digest.str()) < pos(dst.order, root.digest.str()));
  }
  SUBCASE("a platform the index lacks names what it has") {
    MemSink dst;
    CopyOptions o;
    o.platform = ref::Platform{"linux", "s390x"};
    auto r = copy(src, dst, o, progress);
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::kNotFound);
    CHECK(r.error().message().find("linux/arm64") != std::string::npos);
  }
}

TEST_CASE("a corrupt blob fails the copy, names it, and leaves nothing") {
  MemSource src;
  auto m = src.add_image("a", "base");
  src.root = m.digest.str();
  auto man = image::parse_manifest(src.manifests[m.digest.str()].bytes).value();
  src.corrupt = man.layers[1].digest.str();
  MemSink dst;
  NullProgress progress;
  CopyOptions o;
  o.jobs = 1;
  auto r = copy(src, dst, o, progress);
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kDigestMismatch);
  CHECK(r.error().message().find(src.corrupt) != std::string::npos);
  CHECK(r.error().message().find("mem.test/repo") != std::string::npos);
  CHECK(dst.blobs.count(src.corrupt) == 0);
  CHECK(dst.partial.count(src.corrupt) == 0);
  CHECK(dst.blobs.count(m.digest.str()) == 0);  // no manifest without its blobs
  CHECK(dst.images.empty());
}

TEST_CASE("a partial blob resumes from the sink's offset") {
  MemSource src;
  auto m = src.add_image("a", std::string(10000, 'x'));
  src.root = m.digest.str();
  auto man = image::parse_manifest(src.manifests[m.digest.str()].bytes).value();
  auto big = man.layers[0].digest.str();
  MemSink dst;
  dst.partial[big] = src.blobs[big].substr(0, 4000);
  NullProgress progress;
  auto r = copy(src, dst, {}, progress);
  REQUIRE(r.has_value());
  CHECK(src.fetched_from[big] == 4000);
  CHECK(dst.blobs[big] == src.blobs[big]);
}

TEST_CASE("a sink failure classed kUnavailable is retried per blob, resuming from the sink's offset") {
  MemSource src;
  auto m = src.add_image("a", std::string(10000, 'y'));
  src.root = m.digest.str();
  auto man = image::parse_manifest(src.manifests[m.digest.str()].bytes).value();
  auto big = man.layers[0].digest.str();
  NullProgress progress;

  SUBCASE("retried, and the source is read again from where the sink is") {
    MemSink dst;
    dst.failures[big] = {2, 6000, Errc::kUnavailable};
    auto r = copy(src, dst, {}, progress);
    REQUIRE_MESSAGE(r.has_value(), r.error().message());
    CHECK(src.fetched_from[big] == 6000);  // the third attempt resumed at the sink's offset
    CHECK(dst.blobs[big] == src.blobs[big]);
    CHECK(dst.put_blob_calls == 3 + 2);
  }
  SUBCASE("bounded by sink_attempts") {
    MemSink dst;
    dst.failures[big] = {10, 6000, Errc::kUnavailable};
    CopyOptions o;
    o.sink_attempts = 3;
    auto r = copy(src, dst, o, progress);
    REQUIRE(!r.has_value());
    CHECK(r.error().code() == Errc::kUnavailable);
    CHECK(r.error().message().find("injected sink failure") != std::string::npos);
    CHECK(dst.failures[big].times == 7);
    CHECK(dst.blobs.count(m.digest.str()) == 0);  // no manifest without its blobs
  }
  SUBCASE("other sink errors are not retried, and reach the caller as the sink's") {
    MemSink dst;
    dst.failures[big] = {10, 6000, Errc::kIo};
    auto r = copy(src, dst, {}, progress);
    REQUIRE(!r.has_value());
    CHECK(r.error().code() == Errc::kIo);
    CHECK(dst.failures[big].times == 9);
  }
}
