// Local sources against real layouts, archives and stores made on disk: what
// they resolve, what they name, what they refuse.

#include "transport/local_sources.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "image/manifest.h"
#include "io/fd_stream.h"
#include "io/memory.h"
#include "layout/archive.h"
#include "layout/archive_file.h"
#include "layout/tar.h"
#include "layout/writer.h"
#include "store/store.h"
#include "transport/convert_source.h"
#include "transport/open.h"
#include "transport/push.h"
#include "unit/store/fixture.h"

using namespace hoist;
using namespace hoist::transport;
using hoist::testing::TempDir;
using hoist::testing::TinyImage;
namespace mt = hoist::image::media_type;

namespace {

std::string fetch(Source& s, const image::Descriptor& d, uint64_t offset = 0) {
  io::StringWriter w;
  auto r = s.fetch_blob(d, offset, w, {});
  REQUIRE_MESSAGE(r.has_value(), hoist::testing::err(r));
  return w.str();
}

// The bytes blob_file() points at.
std::string file_bytes(Source& s, const image::Descriptor& d) {
  auto f = s.blob_file(d);
  REQUIRE_MESSAGE(f.has_value(), hoist::testing::err(f));
  REQUIRE(f->has_value());
  CHECK((*f)->size == d.size);
  std::string out((*f)->size, '\0');
  REQUIRE(::pread((*f)->fd->get(), out.data(), out.size(), off_t((*f)->offset)) == ssize_t(out.size()));
  return out;
}

void write_file_from(const std::string& path, const std::function<Result<>(io::Writer&)>& fn) {
  sys::Fd fd = sys::open_file(path, O_WRONLY | O_CREAT | O_TRUNC).value();
  io::FdWriter w(fd.get());
  auto r = fn(w);
  REQUIRE_MESSAGE(r.has_value(), hoist::testing::err(r));
  REQUIRE(fd.close().has_value());
}

// A layout with two images named as hoist names them and one as skopeo does.
struct TwoImageLayout {
  TempDir t;
  TinyImage a = hoist::testing::make_tiny_image("a");
  TinyImage b = hoist::testing::make_tiny_image("b");
  std::string dir = t / "layout";
  TwoImageLayout() {
    auto w = layout::LayoutWriter::open(dir).value();
    a.put_into(w->blobs());
    b.put_into(w->blobs());
    REQUIRE(w->add_image(a.manifest_desc, "127.0.0.1:5000/team/a:v1").has_value());
    REQUIRE(w->add_image(b.manifest_desc, "docker.io/library/b:2").has_value());
    REQUIRE(w->add_image(a.manifest_desc, "latest").has_value());
  }
};

}  // namespace

TEST_CASE("split_ref_name: full names, bare tags, digests") {
  using P = std::pair<std::string, std::string>;
  CHECK(split_ref_name("127.0.0.1:5000/team/a:v1") == P{"127.0.0.1:5000/team/a", "v1"});
  CHECK(split_ref_name("latest") == std::pair<std::string, std::string>{"", "latest"});
  CHECK(split_ref_name("busybox:1") == std::pair<std::string, std::string>{"docker.io/library/busybox", "1"});
  auto d = digest::sha256_of("x").str();
  CHECK(split_ref_name("r.io/a@" + d) == std::pair<std::string, std::string>{"r.io/a", ""});
  CHECK(split_ref_name("") == std::pair<std::string, std::string>{});
}

TEST_CASE("oci:DIR: one named image, every image, names from ref.name") {
  TwoImageLayout l;
  auto one = open_source("oci:" + l.dir + ":127.0.0.1:5000/team/a:v1", "");
  REQUIRE_MESSAGE(one.has_value(), hoist::testing::err(one));
  CHECK((*one)->name() == "127.0.0.1:5000/team/a");
  CHECK((*one)->tag() == "v1");
  auto root = (*one)->resolve().value();
  CHECK(root.descriptor.digest == l.a.manifest_desc.digest);
  CHECK(root.descriptor.annotations.empty());  // ref.name is the layout's, not the image's
  CHECK(root.bytes == l.a.manifest);
  CHECK(fetch(**one, l.a.layer_desc) == l.a.layer);
  CHECK(fetch(**one, l.a.layer_desc, 10) == l.a.layer.substr(10));
  CHECK((*one)->blob_dir() != nullptr);

  auto several = open_source("oci:" + l.dir, "");
  REQUIRE_FALSE(several.has_value());
  CHECK(several.error().message().find("holds 3 images") != std::string::npos);

  auto all = open_sources("oci:" + l.dir, "").value();
  REQUIRE(all.size() == 3);
  CHECK(all[1]->name() == "docker.io/library/b");
  CHECK(all[1]->tag() == "2");
  CHECK(all[2]->name() == "");
  CHECK(all[2]->tag() == "latest");

  auto missing = open_source("oci:" + l.dir + ":nope", "");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code() == Errc::kNotFound);
  CHECK(missing.error().message().find("127.0.0.1:5000/team/a:v1") != std::string::npos);  // lists what it has
}

TEST_CASE("resolve_image: manifest and config of a local image") {
  TwoImageLayout l;
  auto s = open_source("oci:" + l.dir + ":latest", "").value();
  auto img = resolve_image(*s, std::nullopt);
  REQUIRE_MESSAGE(img.has_value(), hoist::testing::err(img));
  CHECK(img->manifest_desc.digest == l.a.manifest_desc.digest);
  CHECK(img->manifest.layers.size() == 1);
  CHECK(img->config.rootfs.diff_ids.at(0) == l.a.diff_id);
}

TEST_CASE("a layout blob whose bytes do not match its name is refused while it streams") {
  TwoImageLayout l;
  std::string path = l.dir + "/blobs/sha256/" + l.a.layer_desc.digest.hex();
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  std::string bad = l.a.layer;
  bad[bad.size() / 2] ^= 1;
  REQUIRE(sys::write_file_atomic(path, bad).has_value());
  auto s = open_source("oci:" + l.dir + ":latest", "").value();
  io::StringWriter w;
  auto r = s->fetch_blob(l.a.layer_desc, 0, w, {});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Errc::kDigestMismatch);
  CHECK(r.error().message().find("does not match its digest") != std::string::npos);
  CHECK(r.error().message().find(l.a.layer_desc.digest.str()) != std::string::npos);

  // blob_file() leaves the digest to the sink (a registry checks it) and
  // checks only the size.
  auto f = s->blob_file(l.a.layer_desc);
  REQUIRE_MESSAGE(f.has_value(), hoist::testing::err(f));
  REQUIRE(f->has_value());
  CHECK((*f)->path == path);
  CHECK(file_bytes(*s, l.a.layer_desc) == bad);
  REQUIRE(sys::write_file_atomic(path, bad + "x").has_value());
  auto longer = s->blob_file(l.a.layer_desc);
  REQUIRE_FALSE(longer.has_value());
  CHECK(longer.error().code() == Errc::kDigestMismatch);
  REQUIRE(sys::write_file_atomic(path, bad.substr(1)).has_value());
  auto shorter = s->blob_file(l.a.layer_desc);
  REQUIRE_FALSE(shorter.has_value());
  CHECK(shorter.error().code() == Errc::kIo);
  CHECK(shorter.error().message().find(l.a.layer_desc.digest.str()) != std::string::npos);
  ::unlink(path.c_str());
  auto gone = s->blob_file(l.a.layer_desc);
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error().code() == Errc::kNotFound);

  // A manifest file swapped for another one's bytes: refused before parsing.
  std::string mpath = l.dir + "/blobs/sha256/" + l.a.manifest_desc.digest.hex();
  REQUIRE(::chmod(mpath.c_str(), 0644) == 0);
  REQUIRE(sys::write_file_atomic(mpath, l.b.manifest).has_value());
  auto m = s->resolve();
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().code() == Errc::kDigestMismatch);
}

TEST_CASE("oci-archive:FILE: every image, read in place, verified") {
  TempDir t;
  auto st = store::Store::open(t / "store").value();
  auto a = hoist::testing::make_tiny_image("arch-a");
  auto b = hoist::testing::make_tiny_image("arch-b");
  a.put_into(st->blobs());
  b.put_into(st->blobs());
  std::vector<layout::ArchiveImage> imgs{{a.manifest_desc, "127.0.0.1:5000/x/a:1"}, {b.manifest_desc, "r.io/y/b:2"}};
  write_file_from(t / "all.tar", [&](io::Writer& w) { return layout::write_oci_archive(st->blobs(), imgs, w); });

  auto all = open_sources("oci-archive:" + t / "all.tar", "");
  REQUIRE_MESSAGE(all.has_value(), hoist::testing::err(all));
  REQUIRE(all->size() == 2);
  CHECK((*all)[0]->name() == "127.0.0.1:5000/x/a");
  CHECK((*all)[1]->tag() == "2");
  CHECK((*all)[1]->resolve().value().bytes == b.manifest);
  CHECK(fetch(*(*all)[1], b.layer_desc) == b.layer);
  CHECK((*all)[1]->blob_dir() == nullptr);
  CHECK(file_bytes(*(*all)[1], b.layer_desc) == b.layer);  // the member, in place
  CHECK(file_bytes(*(*all)[1], b.config_desc) == b.config);

  auto named = open_source("oci-archive:" + t / "all.tar:r.io/y/b:2", "").value();
  CHECK(named->resolve().value().descriptor.digest == b.manifest_desc.digest);

  // The same archive with one blob's bytes flipped in place.
  REQUIRE(hoist::testing::run(fmt::format("cp '{}' '{}'", t / "all.tar", t / "bad.tar")).rc == 0);
  {
    auto f = layout::ArchiveFile::open(t / "bad.tar").value();
    const auto* m = f->find("blobs/sha256/" + b.layer_desc.digest.hex());
    REQUIRE(m != nullptr);
    sys::Fd fd = sys::open_file(t / "bad.tar", O_WRONLY).value();
    char x = 'X';
    REQUIRE(::pwrite(fd.get(), &x, 1, off_t(m->offset + m->size / 2)) == 1);
  }
  auto bad = open_source("oci-archive:" + t / "bad.tar:r.io/y/b:2", "").value();
  io::StringWriter w;
  auto r = bad->fetch_blob(b.layer_desc, 0, w, {});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Errc::kDigestMismatch);
  CHECK(r.error().message().find("oci-archive:") != std::string::npos);

  auto not_archive = open_source("oci-archive:" + t / "store/oci-layout", "");
  REQUIRE_FALSE(not_archive.has_value());
}

TEST_CASE("docker-archive: docker save's layout becomes a schema 2 manifest with the tars' digests") {
  TempDir t;
  auto a = hoist::testing::make_tiny_image("dock");
  // docker save (before 25): <id>/layer.tar uncompressed, <id>.json config.
  REQUIRE(sys::write_file_atomic(t / "layer.gz", a.layer).has_value());
  REQUIRE(hoist::testing::run(fmt::format("gzip -dc '{}' > '{}'", t / "layer.gz", t / "layer.tar")).rc == 0);
  std::string tar_bytes = hoist::testing::read_all(t / "layer.tar");
  REQUIRE(digest::sha256_of(tar_bytes) == a.diff_id);
  auto make = [&](const std::string& path, const std::string& layers_json) {
    write_file_from(path, [&](io::Writer& w) -> Result<> {
      layout::tar::TarWriter tw(w);
      HOIST_CHECK(tw.add_file("abc/layer.tar", tar_bytes));
      HOIST_CHECK(tw.add_file("cfg.json", a.config));
      HOIST_CHECK(tw.add_file("manifest.json", fmt::format(R"([{{"Config":"cfg.json","RepoTags":["busybox:1",)"
                                                           R"("127.0.0.1:5000/t/b:2"],"Layers":{}}}])",
                                                           layers_json)));
      return tw.finish();
    });
  };
  make(t / "d.tar", R"(["abc/layer.tar"])");
  auto all = open_sources("docker-archive:" + t / "d.tar", "");
  REQUIRE_MESSAGE(all.has_value(), hoist::testing::err(all));
  REQUIRE(all->size() == 2);
  CHECK((*all)[0]->name() == "docker.io/library/busybox");
  CHECK((*all)[0]->tag() == "1");
  CHECK((*all)[1]->name() == "127.0.0.1:5000/t/b");
  auto root = (*all)[0]->resolve().value();
  CHECK(root.descriptor.media_type == mt::kDockerManifest);
  auto m = image::parse_manifest(root.bytes, root.descriptor.media_type).value();
  CHECK(m.config.digest == a.config_desc.digest);  // the image ID is kept
  CHECK(m.config.media_type == mt::kDockerConfig);
  REQUIRE(m.layers.size() == 1);
  CHECK(m.layers[0].digest == a.diff_id);
  CHECK(m.layers[0].media_type == mt::kDockerLayerUncompressed);
  CHECK(m.layers[0].size == tar_bytes.size());
  CHECK(fetch(*(*all)[0], m.layers[0]) == tar_bytes);
  CHECK(fetch(*(*all)[0], m.config) == a.config);
  CHECK(file_bytes(*(*all)[0], m.layers[0]) == tar_bytes);
  // The manifest is made in memory: no file.
  CHECK((*all)[0]->blob_file(root.descriptor).value() == std::nullopt);

  auto one = open_source("docker-archive:" + t / "d.tar:127.0.0.1:5000/t/b:2", "");
  REQUIRE_MESSAGE(one.has_value(), hoist::testing::err(one));
  CHECK((*one)->tag() == "2");
  CHECK(open_source("docker-archive:" + t / "d.tar:@0", "").has_value());
  CHECK_FALSE(open_source("docker-archive:" + t / "d.tar:@1", "").has_value());
  CHECK_FALSE(open_source("docker-archive:" + t / "d.tar", "").has_value());  // two tags: name one

  SUBCASE("a layer named outside the archive is refused, not read") {
    make(t / "evil.tar", R"(["../../../../etc/passwd"])");
    auto e = open_sources("docker-archive:" + t / "evil.tar", "");
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().message().find("path escapes the archive") != std::string::npos);
  }
  SUBCASE("a layer whose bytes are not its diff_id") {
    std::string other = tar_bytes;
    other[600] ^= 1;
    write_file_from(t / "swap.tar", [&](io::Writer& w) -> Result<> {
      layout::tar::TarWriter tw(w);
      HOIST_CHECK(tw.add_file("abc/layer.tar", other));
      HOIST_CHECK(tw.add_file("cfg.json", a.config));
      HOIST_CHECK(tw.add_file("manifest.json",
                              R"([{"Config":"cfg.json","RepoTags":["x:1"],"Layers":["abc/layer.tar"]}])"));
      return tw.finish();
    });
    auto s = open_source("docker-archive:" + t / "swap.tar", "").value();
    auto mm = image::parse_manifest(s->resolve().value().bytes, mt::kDockerManifest).value();
    io::StringWriter w;
    auto r = s->fetch_blob(mm.layers[0], 0, w, {});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Errc::kDigestMismatch);
  }
}

TEST_CASE("docker-archive written by hoist (compressed layers under blobs/) keeps the layers' digests") {
  TempDir t;
  auto st = store::Store::open(t / "store").value();
  auto a = hoist::testing::make_tiny_image("dock2");
  a.put_into(st->blobs());
  std::vector<layout::ArchiveImage> imgs{{a.manifest_desc, "127.0.0.1:5000/x/a:1"}};
  write_file_from(t / "d.tar", [&](io::Writer& w) { return layout::write_docker_archive(st->blobs(), imgs, w); });
  auto s = open_source("docker-archive:" + t / "d.tar", "");
  REQUIRE_MESSAGE(s.has_value(), hoist::testing::err(s));
  CHECK((*s)->name() == "127.0.0.1:5000/x/a");
  auto m = image::parse_manifest((*s)->resolve().value().bytes, mt::kDockerManifest).value();
  REQUIRE(m.layers.size() == 1);
  CHECK(m.layers[0].digest == a.layer_desc.digest);
  CHECK(m.layers[0].media_type == mt::kDockerLayer);
  CHECK(fetch(**s, m.layers[0]) == a.layer);
}

TEST_CASE("the store: a recorded ref, NAME@sha256 (tag recovered), sha256:, every ref") {
  TempDir t;
  auto st = store::Store::open(t / "store").value();
  auto a = hoist::testing::make_tiny_image("store-a");
  a.put_into(st->blobs());
  REQUIRE(st->add_image("127.0.0.1:5000/team/a:v1", a.manifest_desc).has_value());
  REQUIRE(st->add_image("docker.io/library/busybox:latest", a.manifest_desc).has_value());
  std::string dir = t / "store";

  auto by_ref = open_source("127.0.0.1:5000/team/a:v1", dir);
  REQUIRE_MESSAGE(by_ref.has_value(), hoist::testing::err(by_ref));
  CHECK((*by_ref)->tag() == "v1");
  CHECK((*by_ref)->resolve().value().descriptor.digest == a.manifest_desc.digest);

  auto normalised = open_source("busybox", dir);
  REQUIRE_MESSAGE(normalised.has_value(), hoist::testing::err(normalised));
  CHECK((*normalised)->name() == "docker.io/library/busybox");

  auto pinned = open_source("127.0.0.1:5000/team/a@" + a.manifest_desc.digest.str(), dir);
  REQUIRE_MESSAGE(pinned.has_value(), hoist::testing::err(pinned));
  CHECK((*pinned)->name() == "127.0.0.1:5000/team/a");
  CHECK((*pinned)->tag() == "v1");  // the store knows which tag that digest came under

  auto bare = open_source(a.manifest_desc.digest.str(), dir).value();
  CHECK(bare->name().empty());
  auto root = bare->resolve().value();
  CHECK(root.descriptor.media_type == mt::kOciManifest);  // found from the bytes
  CHECK(root.descriptor.size == a.manifest.size());

  auto every = open_sources("store", dir).value();
  CHECK(every.size() == 2);

  auto absent = open_source("127.0.0.1:5000/team/zzz:v1", dir);
  REQUIRE_FALSE(absent.has_value());
  CHECK(absent.error().code() == Errc::kNotFound);
  CHECK(absent.error().message().find("pull it first") != std::string::npos);
  CHECK_FALSE(open_source("sha256:" + std::string(64, '0'), dir).has_value());
  CHECK(open_source("docker://r.io/a:1", dir).error().code() == Errc::kUsage);
}

TEST_CASE("converting_source: OCI -> v2s2 changes manifest bytes only; lossy conversions are refused") {
  TwoImageLayout l;
  auto s = open_source("oci:" + l.dir + ":latest", "").value();
  auto conv = converting_source(*s, image::Format::kDocker);
  auto root = conv->resolve().value();
  CHECK(root.descriptor.media_type == mt::kDockerManifest);
  CHECK(root.descriptor.digest != l.a.manifest_desc.digest);
  CHECK(root.descriptor.digest == digest::sha256_of(root.bytes));
  auto m = image::parse_manifest(root.bytes, root.descriptor.media_type).value();
  CHECK(m.config.digest == l.a.config_desc.digest);
  CHECK(m.layers[0].digest == l.a.layer_desc.digest);
  CHECK(m.layers[0].media_type == mt::kDockerLayer);

  auto same = converting_source(*s, image::Format::kOci);
  CHECK(same->resolve().value().bytes == l.a.manifest);  // already OCI: byte for byte

  // An OCI manifest with annotations has nowhere to keep them in schema 2.
  TempDir t;
  auto w = layout::LayoutWriter::open(t / "l").value();
  l.a.put_into(w->blobs());
  std::string annotated = l.a.manifest;
  annotated.insert(annotated.size() - 1, R"(,"annotations":{"org.opencontainers.image.source":"x"})");
  auto ad = image::describe(mt::kOciManifest, annotated);
  REQUIRE(w->blobs().put_small_blob(annotated, ad.digest).has_value());
  REQUIRE(w->add_image(ad, "ann").has_value());
  auto src = open_source("oci:" + t / "l:ann", "").value();
  auto lossy = converting_source(*src, image::Format::kDocker)->resolve();
  REQUIRE_FALSE(lossy.has_value());
  CHECK(lossy.error().code() == Errc::kUnsupported);
  CHECK(lossy.error().message().find("annotations") != std::string::npos);
}

TEST_CASE("destination_for and parse_sync_list") {
  TwoImageLayout l;
  auto all = open_sources("oci:" + l.dir, "").value();
  CHECK(destination_for("h:5/m", *all[0], true).value() == "h:5/m/team/a:v1");
  CHECK(destination_for("h:5/m/", *all[1], false).value() == "h:5/m/library/b:2");
  CHECK(destination_for("docker://h:5/m/", *all[2], false).value() == "h:5/m:latest");  // a bare tag
  CHECK(destination_for("h:5/x/y:t", *all[0], false).value() == "h:5/x/y:t");
  CHECK(destination_for("h:5", *all[0], true).value() == "h:5/team/a:v1");
  CHECK_FALSE(destination_for("h:5/m:t", *all[0], true).has_value());
  CHECK_FALSE(destination_for("h:5/", *all[2], false).has_value());  // no repository at all

  auto list = parse_sync_list("# mirror\n docker://a.io/x:1   b.io/m/  # trailing\n\noci:/l:v\tb.io/y:2\n").value();
  REQUIRE(list.size() == 2);
  CHECK(list[0].line == 2);
  CHECK(list[0].source == "docker://a.io/x:1");
  CHECK(list[0].dest == "b.io/m/");
  CHECK(list[1].line == 4);
  CHECK(list[1].dest == "b.io/y:2");
  auto bad = parse_sync_list("one two three\n");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message().find("line 1") != std::string::npos);
}
