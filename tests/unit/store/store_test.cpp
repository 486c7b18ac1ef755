#include <algorithm>
#include "store/store.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "unit/store/fixture.h"

using namespace hoist;
using hoist::testing::TempDir;

namespace {

std::set<std::string> index_json_names(const std::string& store_dir) {
  auto j = nlohmann::json::parse(hoist::testing::read_all(store_dir + "/index.json"));
  std::set<std::string> names;
  for (const auto& m : j["manifests"]) names.insert(m["annotations"]["org.opencontainers.image.ref.name"].get<std::string>());
  return names;
}

}  // namespace

TEST_CASE("default_store_dir") {
  const char* old = getenv("HOIST_STORE");
  std::string saved = old ? old : "";
  setenv("HOIST_STORE", "/tmp/somewhere", 1);
  CHECK(store::default_store_dir() == "/tmp/somewhere");
  unsetenv("HOIST_STORE");
  if (geteuid() == 0) CHECK(store::default_store_dir() == "/var/lib/hoist");
  if (old) setenv("HOIST_STORE", saved.c_str(), 1);
}

TEST_CASE("store: open creates an OCI layout; refs, records, edges, index.json") {
  TempDir t;
  std::string dir = t / "store";
  auto s = store::Store::open(dir).value();
  CHECK(hoist::testing::read_all(dir + "/oci-layout") == R"({"imageLayoutVersion":"1.0.0"})");
  CHECK(index_json_names(dir).empty());
  for (const char* sub : {"blobs/sha256", "ingest", "snapshots", "db"}) CHECK(sys::exists(dir + "/" + sub));

  auto img = hoist::testing::make_tiny_image();
  // Recording before the blobs are in: refused (no index entry without its blob).
  store::ImageRecord early{"docker.io/library/tiny:latest", img.manifest_desc, {}, {}, {}};
  auto r = s->record_image(early);
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kNotFound);

  img.put_into(s->blobs());
  auto g = s->add_image("docker.io/library/tiny:latest", img.manifest_desc).value();
  CHECK(g.missing.empty());
  REQUIRE(g.record.blobs.size() == 3);
  CHECK(g.record.blobs.back().digest == img.manifest_desc.digest);  // root last
  REQUIRE(g.record.diff_ids.size() == 1);
  CHECK(g.record.diff_ids[0].diff_id == img.diff_id);

  auto got = s->resolve("docker.io/library/tiny:latest").value();
  REQUIRE(got.has_value());
  CHECK(got->digest == img.manifest_desc.digest);
  CHECK(got->size == img.manifest_desc.size);
  CHECK(got->media_type == img.manifest_desc.media_type);
  CHECK(!s->resolve("docker.io/library/other:latest").value().has_value());

  auto kids = s->children(img.manifest_desc.digest).value();
  CHECK(kids.size() == 2);
  auto rec = s->blob_record(img.layer_desc.digest).value();
  REQUIRE(rec.has_value());
  CHECK(rec->size == img.layer_desc.size);
  CHECK(rec->media_type == img.layer_desc.media_type);
  CHECK(rec->last_used > 0);
  CHECK(s->index().diff_id_of(img.layer_desc.digest).value() == img.diff_id);
  CHECK(s->index().compressed_of(img.diff_id).value() == std::vector{img.layer_desc.digest});

  REQUIRE(s->add_image("localhost:5000/tiny:v2", img.manifest_desc).has_value());
  auto refs = s->list_refs().value();
  REQUIRE(refs.size() == 2);
  CHECK(refs[0].name == "docker.io/library/tiny:latest");
  CHECK(refs[1].name == "localhost:5000/tiny:v2");
  CHECK(index_json_names(dir) == std::set<std::string>{"docker.io/library/tiny:latest", "localhost:5000/tiny:v2"});

  REQUIRE(s->remove_ref("localhost:5000/tiny:v2").has_value());
  CHECK(s->remove_ref("localhost:5000/tiny:v2").error().code() == Errc::kNotFound);
  CHECK(index_json_names(dir) == std::set<std::string>{"docker.io/library/tiny:latest"});

  // Reopening keeps everything.
  s.reset();
  s = store::Store::open(dir).value();
  CHECK(s->list_refs().value().size() == 1);
  CHECK(s->fsck().value().ok());
}

TEST_CASE("store: upload sessions") {
  TempDir t;
  auto s = store::Store::open(t.path()).value();
  auto d = digest::sha256_of("layer");
  store::UploadSession u{"reg.example:5000", "team/app", d, "https://reg.example:5000/v2/team/app/blobs/uploads/x", 1234, 0};
  REQUIRE(s->index().put_upload(u).has_value());
  auto got = s->index().get_upload("reg.example:5000", "team/app", d).value();
  REQUIRE(got.has_value());
  CHECK(got->url == u.url);
  CHECK(got->offset == 1234);
  CHECK(got->updated > 0);
  REQUIRE(s->index().remove_upload("reg.example:5000", "team/app", d).has_value());
  CHECK(!s->index().get_upload("reg.example:5000", "team/app", d).value().has_value());
}

TEST_CASE("store: blob sources, from record_image and put_blob_sources") {
  TempDir t;
  auto s = store::Store::open(t.path()).value();
  auto layer = digest::sha256_of("layer bytes");
  REQUIRE(s->put_small_blob("layer bytes", layer).has_value());
  auto manifest = digest::sha256_of("{}");
  REQUIRE(s->put_small_blob("{}", manifest).has_value());
  store::ImageRecord rec;
  rec.name = "reg.example:5000/team/app:v1";
  rec.root = {"application/vnd.oci.image.manifest.v1+json", manifest, 2};
  rec.blobs.push_back({"application/vnd.oci.image.layer.v1.tar+gzip", layer, 11});
  rec.source = "reg.example:5000/team/app";
  REQUIRE(s->record_image(rec).has_value());
  CHECK(s->index().blob_sources(layer).value() == std::vector<std::string>{"reg.example:5000/team/app"});
  CHECK(s->index().blob_sources(manifest).value() == std::vector<std::string>{"reg.example:5000/team/app"});
  // A push elsewhere adds a source; a blob never seen has none.
  REQUIRE(s->index().put_blob_sources({layer}, "reg.example:5000/team/other").has_value());
  auto both = s->index().blob_sources(layer).value();
  CHECK(both.size() == 2);
  CHECK(std::find(both.begin(), both.end(), "reg.example:5000/team/other") != both.end());
  CHECK(s->index().blob_sources(digest::sha256_of("unknown")).value().empty());
  // Without a source, record_image writes none.
  auto other = digest::sha256_of("x");
  REQUIRE(s->put_small_blob("x", other).has_value());
  store::ImageRecord plain;
  plain.root = {"application/vnd.oci.image.manifest.v1+json", other, 1};
  REQUIRE(s->record_image(plain).has_value());
  CHECK(s->index().blob_sources(other).value().empty());
}

TEST_CASE("store: a crash between the index and index.json is repaired at open") {
  TempDir t;
  auto s = store::Store::open(t.path()).value();
  auto img = hoist::testing::make_tiny_image();
  img.put_into(s->blobs());
  REQUIRE(s->add_image("example.com/a:1", img.manifest_desc).has_value());
  // Simulate the lost rewrite: index.json gone.
  REQUIRE(::unlink((t / "index.json").c_str()) == 0);
  s = store::Store::open(t.path()).value();
  CHECK(index_json_names(t.path()) == std::set<std::string>{"example.com/a:1"});
}

TEST_CASE("store: two processes adding 50 refs each lose none") {
  TempDir t;
  auto img = hoist::testing::make_tiny_image();
  {
    auto s = store::Store::open(t.path()).value();
    img.put_into(s->blobs());
  }
  auto adder = [&](int which) {
    return [&, which] {
      auto s = store::Store::open(t.path());
      if (!s) return 2;
      for (int i = 0; i < 50; ++i) {
        auto r = (*s)->add_image(fmt::format("example.com/p{}/img:{}", which, i), img.manifest_desc);
        if (!r) {
          fmt::print(stderr, "child {}: {}\n", which, r.error().message());
          return 3;
        }
      }
      return 0;
    };
  };
  pid_t a = hoist::testing::fork_child(adder(0));
  pid_t b = hoist::testing::fork_child(adder(1));
  CHECK(hoist::testing::wait_child(a) == 0);
  CHECK(hoist::testing::wait_child(b) == 0);
  auto s = store::Store::open(t.path()).value();
  auto refs = s->list_refs().value();
  CHECK(refs.size() == 100);
  auto names = index_json_names(t.path());
  CHECK(names.size() == 100);
  for (int w = 0; w < 2; ++w)
    for (int i = 0; i < 50; ++i) CHECK(names.contains(fmt::format("example.com/p{}/img:{}", w, i)));
}

TEST_CASE("store: a held lock makes others wait, then time out naming the holder") {
  TempDir t;
  auto s = store::Store::open(t.path(), {std::chrono::milliseconds(200)}).value();
  int ready[2], release[2];
  REQUIRE(pipe(ready) == 0);
  REQUIRE(pipe(release) == 0);
  pid_t holder = hoist::testing::fork_child([&] {
    auto lock = store::LockFile::acquire(t / "lock", store::LockFile::Mode::kExclusive, std::chrono::milliseconds(0),
                                         "test");
    if (!lock) return 2;
    (void)!write(ready[1], "x", 1);
    char c;
    (void)!read(release[0], &c, 1);
    usleep(100 * 1000);  // the waiter below is already polling
    return 0;
  });
  char c;
  REQUIRE(read(ready[0], &c, 1) == 1);
  auto r = s->list_refs();
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kUnavailable);
  CHECK(r.error().message() == fmt::format("store '{}' is locked by pid {}", t.path(), holder));
  // A patient caller gets through once the holder is gone.
  REQUIRE(write(release[1], "x", 1) == 1);
  auto patient = store::Store::open(t.path(), {std::chrono::milliseconds(10000)}).value();
  CHECK(patient->list_refs().has_value());
  CHECK(hoist::testing::wait_child(holder) == 0);
  for (int fd : {ready[0], ready[1], release[0], release[1]}) close(fd);
}

TEST_CASE("store: fsck reports corrupt blobs, strays, missing blobs and leftovers") {
  TempDir t;
  auto s = store::Store::open(t.path()).value();
  auto img = hoist::testing::make_tiny_image();
  img.put_into(s->blobs());
  REQUIRE(s->add_image("example.com/a:1", img.manifest_desc).has_value());
  CHECK(s->fsck().value().ok());
  // Corrupt the config, drop the layer, add a stray and a dead writer's temp file.
  std::string cfg = s->blob_path(img.config_desc.digest);
  ::chmod(cfg.c_str(), 0644);
  REQUIRE(sys::write_file_atomic(cfg, "{}").has_value());
  REQUIRE(::unlink(s->blob_path(img.layer_desc.digest).c_str()) == 0);
  REQUIRE(sys::write_file_atomic(t / "blobs/sha256/not-a-digest", "x").has_value());
  REQUIRE(sys::write_file_atomic(t / "ingest/new.999999999-0.tmp", "x").has_value());
  auto rep = s->fsck().value();
  CHECK(!rep.ok());
  std::multiset<store::FsckProblem::Kind> kinds;
  for (const auto& p : rep.problems) kinds.insert(p.kind);
  CHECK(kinds.count(store::FsckProblem::Kind::kCorruptBlob) == 1);
  CHECK(kinds.count(store::FsckProblem::Kind::kStrayFile) == 1);
  CHECK(kinds.count(store::FsckProblem::Kind::kMissingBlob) == 1);
  CHECK(kinds.count(store::FsckProblem::Kind::kLeftoverTemp) == 1);
  CHECK(sys::exists(cfg));  // reports, never deletes
}

TEST_CASE("store: skopeo and umoci read the store as an OCI layout") {
  if (!hoist::testing::have_tool("skopeo")) {
    MESSAGE("skopeo not installed; skipped");
    return;
  }
  TempDir t;
  std::string dir = t / "store";
  auto s = store::Store::open(dir).value();
  auto img = hoist::testing::make_tiny_image("interop");
  img.put_into(s->blobs());
  const std::string name = "docker.io/library/tiny:latest";
  REQUIRE(s->add_image(name, img.manifest_desc).has_value());

  auto res = hoist::testing::run(fmt::format("skopeo inspect --raw oci:{}:{}", dir, name));
  CHECK_MESSAGE(res.rc == 0, res.out);
  CHECK(res.out == img.manifest);
  res = hoist::testing::run(fmt::format("skopeo inspect oci:{}:{}", dir, name));
  CHECK_MESSAGE(res.rc == 0, res.out);
  res = hoist::testing::run(fmt::format("skopeo copy oci:{}:{} oci:{}:x", dir, name, t / "other"));
  CHECK_MESSAGE(res.rc == 0, res.out);
  CHECK(sys::exists(t / ("other/blobs/sha256/" + img.layer_desc.digest.hex())));
  if (hoist::testing::have_tool("umoci")) {
    res = hoist::testing::run(fmt::format("umoci list --layout {}", dir));
    CHECK_MESSAGE(res.rc == 0, res.out);
    CHECK(res.out.find(name) != std::string::npos);
    res = hoist::testing::run(fmt::format("umoci stat --image {}:{}", dir, name));
    CHECK_MESSAGE(res.rc == 0, res.out);
  }
}
