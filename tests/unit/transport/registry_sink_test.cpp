// The registry sink against the real CNCF registry (docker-registry), with
// small chunks so that a few hundred KiB exercise the chunked path: copy()
// into it, a resume from the offset the registry holds after an abandoned
// writer (the session remembered in the store), a lost session, a mount from
// another repository the store names, and the writer's size checks.

#include "transport/registry_sink.h"

#include <doctest/doctest.h>
#include <fmt/core.h>

#include <fcntl.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "image/manifest.h"
#include "image/media_types.h"
#include "io/memory.h"
#include "transport/copy.h"
#include "unit/registry/servers.h"

using namespace hoist;
using namespace hoist::transport;
namespace mt = hoist::image::media_type;

namespace {

std::string pseudo(size_t n, size_t seed) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += char((i * 167 + seed * 13) % 253);
  return s;
}

std::span<const std::byte> as_bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

class OneImage final : public Source {
 public:
  std::map<std::string, std::string> blobs;
  RawManifest root;
  std::map<std::string, uint64_t> fetched_from;

  OneImage(const std::string& seed, size_t layer_size) {
    image::Manifest m;
    m.media_type = mt::kOciManifest;
    m.config = add("{\"seed\":\"" + seed + "\"}", mt::kOciConfig);
    m.layers.push_back(add(pseudo(layer_size, seed.size()), mt::kOciLayerGzip));
    m.layers.push_back(add("small " + seed, mt::kOciLayerGzip));
    root.bytes = image::serialize(m);
    root.descriptor = image::describe(mt::kOciManifest, root.bytes);
  }
  image::Descriptor add(std::string bytes, std::string_view media_type) {
    auto d = image::describe(media_type, bytes);
    blobs[d.digest.str()] = std::move(bytes);
    return d;
  }
  std::string name() const override { return "mem.test/one"; }
  std::string tag() const override { return "v1"; }
  Result<RawManifest> resolve() override { return root; }
  Result<RawManifest> fetch_manifest(const image::Descriptor&) override { return root; }
  Result<> fetch_blob(const image::Descriptor& d, uint64_t offset, io::Writer& sink, const RetryHook&) override {
    fetched_from[d.digest.str()] = offset;
    std::string_view b = blobs.at(d.digest.str());
    return sink.write(as_bytes(b.substr(offset)));
  }
};

// OneImage whose blobs also lie in files (as a layout's do): blob_file()
// points at them, so a sink that verifies digests itself takes them from
// there. `corrupt` flips a byte of one blob's file (same size).
class FileImage final : public Source {
 public:
  OneImage mem;
  std::filesystem::path dir;

  FileImage(const std::string& seed, size_t layer_size, std::filesystem::path d)
      : mem(seed, layer_size), dir(std::move(d)) {
    std::filesystem::create_directories(dir);
    // All the blobs in one file, end to end, as in an archive.
    std::string all;
    for (const auto& [digest, bytes] : mem.blobs) {
      offsets[digest] = all.size();
      all += bytes;
    }
    write(all);
  }
  void corrupt(const digest::Digest& d, size_t at) {
    std::string all = read();
    all[offsets.at(d.str()) + at] ^= 1;
    write(all);
  }
  std::string name() const override { return mem.name(); }
  std::string tag() const override { return mem.tag(); }
  Result<RawManifest> resolve() override { return mem.resolve(); }
  Result<RawManifest> fetch_manifest(const image::Descriptor& d) override { return mem.fetch_manifest(d); }
  Result<> fetch_blob(const image::Descriptor& d, uint64_t offset, io::Writer& sink, const RetryHook& h) override {
    return mem.fetch_blob(d, offset, sink, h);
  }
  Result<std::optional<BlobFile>> blob_file(const image::Descriptor& d) override {
    ++files_given;
    int fd = ::open(path().c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    return BlobFile{std::make_shared<const sys::Fd>(fd), offsets.at(d.digest.str()), d.size, path()};
  }
  int files_given = 0;

 private:
  std::string path() const { return (dir / "blobs").string(); }
  void write(const std::string& all) {
    FILE* f = std::fopen(path().c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(std::fwrite(all.data(), 1, all.size(), f) == all.size());
    std::fclose(f);
  }
  std::string read() const {
    std::string out(std::filesystem::file_size(path()), '\0');
    FILE* f = std::fopen(path().c_str(), "rb");
    REQUIRE(f != nullptr);
    REQUIRE(std::fread(out.data(), 1, out.size(), f) == out.size());
    std::fclose(f);
    return out;
  }
  std::map<std::string, uint64_t> offsets;
};

struct Fixture {
  test::DistributionRegistry reg;
  test::TempTree tmp;
  std::shared_ptr<registry::RegistryClient> client;
  UploadTuning tuning{.monolithic_max = 32 * 1024, .chunk_size = 64 * 1024, .pipe_bytes = 64 * 1024};

  Fixture() {
    registry::RegistryOptions o;
    o.registry = reg.name();
    o.retry.sleep = [](std::chrono::milliseconds) {};
    o.tokens = std::make_shared<registry::TokenCache>();
    client = std::make_shared<registry::RegistryClient>(test::shared_http(), std::move(o));
  }
  std::string store_dir() const { return (tmp.path / "store").string(); }
  std::unique_ptr<Sink> sink(const std::string& repo_tag, std::vector<std::string> tags = {}) {
    auto ref = ref::parse_reference(reg.name() + "/" + repo_tag);
    REQUIRE(ref.has_value());
    auto st = store::Store::open(store_dir());
    REQUIRE(st.has_value());
    RegistrySinkOptions opts;
    opts.tags = std::move(tags);
    return make_registry_sink(client, *ref, opts, std::move(*st), tuning);
  }
  std::unique_ptr<store::Store> store() { return std::move(store::Store::open(store_dir()).value()); }
};

}  // namespace

TEST_CASE("copy into a registry: chunked and monolithic uploads, manifest by digest and tags") {
  Fixture f;
  REQUIRE(f.reg.ready());
  OneImage src("a", 200 * 1024);  // 4 chunks of 64 KiB
  auto dst = f.sink("t/app:v1", {"extra"});
  NullProgress progress;
  auto r = copy(src, *dst, {}, progress);
  REQUIRE_MESSAGE(r.has_value(), r.error().message());
  CHECK(r->pinned() == f.reg.name() + "/t/app@" + src.root.descriptor.digest.str());
  for (const auto& [d, bytes] : src.blobs)
    CHECK(f.client->head_blob("t/app", digest::parse(d).value()).value() == bytes.size());
  for (const char* ref : {"v1", "extra"}) {
    auto m = f.client->get_manifest("t/app", ref);
    REQUIRE(m.has_value());
    CHECK(m->bytes == src.root.bytes);  // bytes unchanged
  }
  CHECK(f.client->get_manifest("t/app", src.root.descriptor.digest.str()).has_value());
  // Recorded: t/app holds every blob; no upload left behind.
  auto st = f.store();
  for (const auto& [d, bytes] : src.blobs) {
    auto dg = digest::parse(d).value();
    auto names = st->index().blob_sources(dg).value();
    CHECK(std::find(names.begin(), names.end(), f.reg.name() + "/t/app") != names.end());
    CHECK(st->index().get_upload(f.reg.name(), "t/app", dg).value() == std::nullopt);
  }

  // Again: every blob is skipped after a HEAD.
  auto again = copy(src, *f.sink("t/app:v2"), {}, progress);
  REQUIRE(again.has_value());
  CHECK(again->blobs_fetched == 0);
  CHECK(again->blobs_skipped == 3);
}

TEST_CASE("an abandoned chunked upload resumes from the registry's offset; a lost one starts over") {
  Fixture f;
  REQUIRE(f.reg.ready());
  std::string blob = pseudo(300 * 1024, 7);
  auto d = image::describe(mt::kOciLayerGzip, blob);
  {
    auto dst = f.sink("t/resume:v1");
    auto w = dst->put_blob(d);
    REQUIRE(w.has_value());
    CHECK((*w)->offset() == 0);
    // 100 KiB: one 64 KiB chunk acknowledged, the next one cut when the writer goes.
    REQUIRE((*w)->write(as_bytes(std::string_view(blob).substr(0, 100 * 1024))).has_value());
  }
  auto rec = f.store()->index().get_upload(f.reg.name(), "t/resume", d.digest).value();
  REQUIRE(rec.has_value());
  CHECK(rec->offset == 64 * 1024);

  SUBCASE("resume") {
    auto dst = f.sink("t/resume:v1");
    auto w = dst->put_blob(d);
    REQUIRE_MESSAGE(w.has_value(), w.error().message());
    CHECK((*w)->offset() == 64 * 1024);  // what the registry has, not what was written
    REQUIRE((*w)->write(as_bytes(std::string_view(blob).substr(64 * 1024))).has_value());
    auto c = (*w)->commit();
    REQUIRE_MESSAGE(c.has_value(), c.error().message());
    CHECK(f.client->head_blob("t/resume", d.digest).value() == blob.size());
    CHECK(f.store()->index().get_upload(f.reg.name(), "t/resume", d.digest).value() == std::nullopt);
  }
  SUBCASE("the registry lost the session") {
    registry::UploadSession s;
    s.repository = "t/resume";
    s.location = rec->url;
    REQUIRE(f.client->cancel_upload(s).has_value());
    auto dst = f.sink("t/resume:v1");
    auto w = dst->put_blob(d);
    REQUIRE_MESSAGE(w.has_value(), w.error().message());
    CHECK((*w)->offset() == 0);
    REQUIRE((*w)->write(as_bytes(blob)).has_value());
    REQUIRE((*w)->commit().has_value());
    CHECK(f.client->head_blob("t/resume", d.digest).value() == blob.size());
  }
}

TEST_CASE("a blob the store places in another repository is mounted, not uploaded") {
  Fixture f;
  REQUIRE(f.reg.ready());
  OneImage src("m", 100 * 1024);
  NullProgress progress;
  REQUIRE(copy(src, *f.sink("t/first:v1"), {}, progress).has_value());
  src.fetched_from.clear();
  auto r = copy(src, *f.sink("t/second:v1"), {}, progress);
  REQUIRE_MESSAGE(r.has_value(), r.error().message());
  CHECK(r->blobs_fetched == 0);
  CHECK(r->blobs_skipped == 3);
  CHECK(src.fetched_from.empty());
  for (const auto& [d, bytes] : src.blobs)
    CHECK(f.client->head_blob("t/second", digest::parse(d).value()).value() == bytes.size());

  // Without the hint (another store), the same push uploads.
  f.tuning.chunk_size = 1 << 20;
  auto ref = ref::parse_reference(f.reg.name() + "/t/third:v1").value();
  auto other = store::Store::open((f.tmp.path / "other-store").string());
  REQUIRE(other.has_value());
  auto sink = make_registry_sink(f.client, ref, {}, std::move(*other), f.tuning);
  auto up = copy(src, *sink, {}, progress);
  REQUIRE(up.has_value());
  CHECK(up->blobs_fetched == 3);
}

TEST_CASE("the blob writer refuses more or fewer bytes than the descriptor says") {
  Fixture f;
  REQUIRE(f.reg.ready());
  auto dst = f.sink("t/size:v1");
  for (size_t size : {size_t(1000), size_t(100 * 1024)}) {
    CAPTURE(size);
    std::string blob = pseudo(size, 3);
    auto d = image::describe(mt::kOciLayerGzip, blob);
    auto w = dst->put_blob(d);
    REQUIRE(w.has_value());
    auto too_much = (*w)->write(as_bytes(blob + "x"));
    REQUIRE(!too_much.has_value());
    CHECK(too_much.error().code() == Errc::kInvalidArgument);
    CHECK(too_much.error().message().find(d.digest.str()) != std::string::npos);

    auto w2 = dst->put_blob(d);
    REQUIRE(w2.has_value());
    REQUIRE((*w2)->write(as_bytes(std::string_view(blob).substr(0, size / 2))).has_value());
    auto c = (*w2)->commit();
    REQUIRE(!c.has_value());
    CHECK(c.error().code() == Errc::kInvalidArgument);
    (*w2)->abort();
    CHECK(f.client->head_blob("t/size", d.digest).value() == std::nullopt);
  }
  // A zero-byte blob goes up too.
  auto empty = image::describe(mt::kOciLayerGzip, "");
  auto w = dst->put_blob(empty);
  REQUIRE(w.has_value());
  REQUIRE((*w)->commit().has_value());
  CHECK(f.client->head_blob("t/size", empty.digest).value() == 0u);
}

TEST_CASE("local blob files go to the registry unhashed, from their files") {
  Fixture f;
  REQUIRE(f.reg.ready());
  NullProgress progress;
  SUBCASE("chunked and monolithic uploads from files") {
    FileImage src("file", 200 * 1024, f.tmp.path / "src");  // 4 chunks of 64 KiB, and two small blobs
    auto r = copy(src, *f.sink("f/app:v1"), {}, progress);
    REQUIRE_MESSAGE(r.has_value(), r.error().message());
    CHECK(src.files_given == 3);
    CHECK(src.mem.fetched_from.empty());  // nothing streamed through write()
    for (const auto& [d, bytes] : src.mem.blobs)
      CHECK(f.client->head_blob("f/app", digest::parse(d).value()).value() == bytes.size());
    CHECK(f.client->get_manifest("f/app", "v1").value().bytes == src.mem.root.bytes);
  }
  SUBCASE("an upload abandoned by write() resumes from a file at the registry's offset") {
    FileImage src("resume", 300 * 1024, f.tmp.path / "src");
    auto layer = image::parse_manifest(src.mem.root.bytes, mt::kOciManifest).value().layers[0];
    {
      auto dst = f.sink("f/resume:v1");
      auto w = dst->put_blob(layer);
      REQUIRE(w.has_value());
      std::string_view b = src.mem.blobs.at(layer.digest.str());
      REQUIRE((*w)->write(as_bytes(b.substr(0, 100 * 1024))).has_value());
    }
    REQUIRE(f.store()->index().get_upload(f.reg.name(), "f/resume", layer.digest).value()->offset == 64 * 1024);
    auto r = copy(src, *f.sink("f/resume:v1"), {}, progress);
    REQUIRE_MESSAGE(r.has_value(), r.error().message());
    CHECK(f.client->head_blob("f/resume", layer.digest).value() == layer.size);
    CHECK(f.store()->index().get_upload(f.reg.name(), "f/resume", layer.digest).value() == std::nullopt);
  }
}

// docker-registry checks the digest of the closing PUT (distribution-spec: it
// MUST): what lets copy() skip hashing. The error names the blob, the source
// and the file, and says what the registry answered; nothing is left behind.
TEST_CASE("the registry refuses a corrupt blob file: a clear error, no manifest, no session") {
  Fixture f;
  REQUIRE(f.reg.ready());
  NullProgress progress;
  for (size_t layer_size : {size_t(20 * 1024), size_t(200 * 1024)}) {  // monolithic, chunked
    CAPTURE(layer_size);
    std::string repo = fmt::format("f/bad{}", layer_size);
    FileImage src("bad", layer_size, f.tmp.path / repo);
    auto layer = image::parse_manifest(src.mem.root.bytes, mt::kOciManifest).value().layers[0];
    src.corrupt(layer.digest, layer_size / 2);
    auto r = copy(src, *f.sink(repo + ":v1"), {}, progress);
    REQUIRE_FALSE(r.has_value());
    const auto& msg = r.error().message();
    CHECK(r.error().code() == Errc::kDigestMismatch);
    CHECK(msg.find(layer.digest.str()) != std::string::npos);
    CHECK(msg.find("mem.test/one") != std::string::npos);
    CHECK(msg.find((f.tmp.path / repo / "blobs").string()) != std::string::npos);
    CHECK(msg.find("DIGEST_INVALID") != std::string::npos);
    CHECK(msg.find("is corrupt or was changed") != std::string::npos);
    CHECK(f.client->head_blob(repo, layer.digest).value() == std::nullopt);
    CHECK_FALSE(f.client->get_manifest(repo, "v1").has_value());
    CHECK(f.store()->index().get_upload(f.reg.name(), repo, layer.digest).value() == std::nullopt);
  }
}
