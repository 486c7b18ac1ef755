#include "layout/archive.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "io/copy.h"
#include "io/fd_stream.h"
#include "io/memory.h"
#include "layout/tar.h"
#include "layout/writer.h"
#include "store/store.h"
#include "unit/store/fixture.h"

using namespace hoist;
using hoist::testing::TempDir;

namespace {

void write_file_from(const std::string& path, const std::function<Result<>(io::Writer&)>& fn) {
  sys::Fd fd = sys::open_file(path, O_WRONLY | O_CREAT | O_TRUNC).value();
  io::FdWriter w(fd.get());
  auto r = fn(w);
  REQUIRE_MESSAGE(r.has_value(), hoist::testing::err(r));
  REQUIRE(fd.close().has_value());
}

// An index naming the tiny image plus a platform manifest that was never copied.
std::pair<std::string, image::Descriptor> make_index(const hoist::testing::TinyImage& img) {
  auto absent = hoist::testing::make_tiny_image("absent-arm64");
  std::string idx = fmt::format(
      R"({{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
      R"({{"mediaType":"{}","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}},)"
      R"({{"mediaType":"{}","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux"}}}}]}})",
      img.manifest_desc.media_type, img.manifest_desc.digest.str(), img.manifest_desc.size,
      absent.manifest_desc.media_type, absent.manifest_desc.digest.str(), absent.manifest_desc.size);
  image::Descriptor d;
  d.media_type = image::media_type::kOciIndex;
  d.digest = digest::sha256_of(idx);
  d.size = idx.size();
  return {idx, d};
}

}  // namespace

TEST_CASE("oci-archive: write from a store, read back through a pipe") {
  TempDir t;
  auto s = store::Store::open(t / "store").value();
  auto img = hoist::testing::make_tiny_image("archive");
  auto img2 = hoist::testing::make_tiny_image("archive-2");
  img.put_into(s->blobs());
  img2.put_into(s->blobs());
  auto [idx, idx_desc] = make_index(img);
  REQUIRE(s->put_small_blob(idx, idx_desc.digest).has_value());
  std::vector<layout::ArchiveImage> images{{img.manifest_desc, "v1"}, {img2.manifest_desc, "v2"}, {idx_desc, "multi"}};

  int p[2];
  REQUIRE(pipe(p) == 0);
  pid_t child = hoist::testing::fork_child([&] {
    close(p[0]);
    io::FdWriter w(p[1]);
    auto r = layout::write_oci_archive(s->blobs(), images, w);
    close(p[1]);
    return r ? 0 : 2;
  });
  close(p[1]);
  io::FdReader in(p[0]);
  auto reader = layout::read_oci_archive(in, t / "extracted");
  close(p[0]);
  CHECK(hoist::testing::wait_child(child) == 0);
  REQUIRE_MESSAGE(reader.has_value(), hoist::testing::err(reader));
  auto& r = **reader;
  CHECK(r.names() == std::vector<std::string>{"v1", "v2", "multi"});
  CHECK(r.resolve("v1").value().digest == img.manifest_desc.digest);
  CHECK(r.read_manifest(r.resolve("v2").value()).value() == img2.manifest);
  CHECK(r.read_manifest(r.resolve("multi").value()).value() == idx);
  CHECK(r.blobs().verify_blob(img.layer_desc.digest).has_value());
  CHECK(r.blobs().list().value().blobs.size() == 7);  // 2 x 3 + the index
  CHECK(r.blobs().list_ingest().value().empty());
}

TEST_CASE("oci-archive: a missing layer is refused, a corrupt blob detected") {
  TempDir t;
  store::BlobDir blobs(t / "b", t / "b/ingest");
  auto img = hoist::testing::make_tiny_image("corrupt");
  REQUIRE(blobs.put_small_blob(img.config, img.config_desc.digest).has_value());
  REQUIRE(blobs.put_small_blob(img.manifest, img.manifest_desc.digest).has_value());
  std::vector<layout::ArchiveImage> images{{img.manifest_desc, "x"}};
  io::StringWriter sw;
  auto r = layout::write_oci_archive(blobs, images, sw);
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kNotFound);

  REQUIRE(blobs.put_small_blob(img.layer, img.layer_desc.digest).has_value());
  io::StringWriter ok;
  REQUIRE(layout::write_oci_archive(blobs, images, ok).has_value());
  std::string tar = ok.take();
  auto at = tar.find("SEED=corrupt");
  REQUIRE(at != std::string::npos);
  tar[at] = 'X';
  io::StringReader in(tar);
  auto rd = layout::read_oci_archive(in, t / "out");
  REQUIRE(!rd);
  CHECK(rd.error().code() == Errc::kDigestMismatch);
  CHECK(!sys::exists(t / ("out/blobs/sha256/" + img.config_desc.digest.hex())));

  std::string zeros(1024, '\0');
  io::StringReader not_archive(zeros);
  CHECK(layout::read_oci_archive(not_archive, t / "out2").error().code() == Errc::kInvalidArgument);
}

TEST_CASE("docker-archive: manifest.json, repositories, and refusal of an index") {
  TempDir t;
  store::BlobDir blobs(t / "b", t / "b/ingest");
  auto img = hoist::testing::make_tiny_image("docker");
  img.put_into(blobs);
  std::vector<layout::ArchiveImage> images{{img.manifest_desc, "docker.io/library/tiny:latest"},
                                           {img.manifest_desc, "registry.example:5000/team/tiny:1"}};
  io::StringWriter sw;
  REQUIRE(layout::write_docker_archive(blobs, images, sw).has_value());
  io::StringReader in(sw.str());
  layout::tar::TarReader tr(in);
  std::map<std::string, std::string> files;
  for (;;) {
    auto e = tr.next().value();
    if (!e) break;
    if (e->type != '0') continue;
    io::StringWriter data;
    REQUIRE(io::copy(tr, data).has_value());
    files[e->name] = data.take();
  }
  auto mj = nlohmann::json::parse(files.at("manifest.json"));
  REQUIRE(mj.size() == 1);
  CHECK(mj[0]["Config"] == "blobs/sha256/" + img.config_desc.digest.hex());
  CHECK(mj[0]["RepoTags"] == nlohmann::json::array({"tiny:latest", "registry.example:5000/team/tiny:1"}));
  CHECK(mj[0]["Layers"] == nlohmann::json::array({"blobs/sha256/" + img.layer_desc.digest.hex()}));
  auto repos = nlohmann::json::parse(files.at("repositories"));
  CHECK(repos["tiny"]["latest"] == img.layer_desc.digest.hex());
  CHECK(files.at("blobs/sha256/" + img.layer_desc.digest.hex()) == img.layer);
  CHECK(files.contains("index.json"));
  CHECK(files.contains("oci-layout"));

  auto [idx, idx_desc] = make_index(img);
  REQUIRE(blobs.put_small_blob(idx, idx_desc.digest).has_value());
  std::vector<layout::ArchiveImage> multi{{idx_desc, "docker.io/library/tiny:multi"}};
  io::StringWriter sw2;
  CHECK(layout::write_docker_archive(blobs, multi, sw2).error().code() == Errc::kInvalidArgument);
}

TEST_CASE("archives: skopeo reads ours, we read skopeo's") {
  if (!hoist::testing::have_tool("skopeo")) {
    MESSAGE("skopeo not installed; skipped");
    return;
  }
  TempDir t;
  auto s = store::Store::open(t / "store").value();
  auto img = hoist::testing::make_tiny_image("skopeo-archive");
  img.put_into(s->blobs());
  std::vector<layout::ArchiveImage> oci{{img.manifest_desc, "v1"}};
  write_file_from(t / "oci.tar", [&](io::Writer& w) { return layout::write_oci_archive(s->blobs(), oci, w); });
  std::vector<layout::ArchiveImage> docker{{img.manifest_desc, "docker.io/library/tiny:latest"}};
  write_file_from(t / "docker.tar", [&](io::Writer& w) { return layout::write_docker_archive(s->blobs(), docker, w); });

  auto res = hoist::testing::run(fmt::format("skopeo inspect oci-archive:{}:v1", t / "oci.tar"));
  CHECK_MESSAGE(res.rc == 0, res.out);
  res = hoist::testing::run(fmt::format("skopeo copy oci-archive:{}:v1 oci:{}:a", t / "oci.tar", t / "o1"));
  CHECK_MESSAGE(res.rc == 0, res.out);
  res = hoist::testing::run(fmt::format("skopeo inspect docker-archive:{}", t / "docker.tar"));
  CHECK_MESSAGE(res.rc == 0, res.out);
  CHECK_MESSAGE(res.out.find(img.diff_id.str()) != std::string::npos, res.out);  // skopeo reports diff_ids here
  res =
      hoist::testing::run(fmt::format("skopeo copy docker-archive:{} oci:{}:b", t / "docker.tar", t / "o2"));
  CHECK_MESSAGE(res.rc == 0, res.out);
  // The docker-archive is also an OCI layout (Docker 25's format): oci-archive reads it.
  res = hoist::testing::run(fmt::format("skopeo inspect oci-archive:{}:latest", t / "docker.tar"));
  CHECK_MESSAGE(res.rc == 0, res.out);

  // skopeo's own oci-archive, read by read_oci_archive.
  res =
      hoist::testing::run(fmt::format("skopeo copy oci:{}:a oci-archive:{}:fromskopeo", t / "o1", t / "sk.tar"));
  REQUIRE_MESSAGE(res.rc == 0, res.out);
  sys::Fd fd = sys::open_file(t / "sk.tar", O_RDONLY).value();
  io::FdReader in(fd.get());
  auto r = layout::read_oci_archive(in, t / "from-skopeo");
  REQUIRE_MESSAGE(r.has_value(), hoist::testing::err(r));
  auto d = (*r)->resolve("fromskopeo").value();
  CHECK((*r)->read_manifest(d).has_value());
}
