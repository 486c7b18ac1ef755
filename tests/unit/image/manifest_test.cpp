#include "image/manifest.h"

#include <doctest/doctest.h>

#include <fmt/core.h>

#include <string>

#include "fixtures.h"
#include "image/media_types.h"

using namespace hoist;
using namespace hoist::image;
namespace mt = hoist::image::media_type;

namespace {

void check_error(const Error& e, Errc code, std::string_view fragment) {
  CHECK(e.code() == code);
  CHECK_MESSAGE(e.message().find(fragment) != std::string::npos, e.message());
}

constexpr std::string_view kLayer1Digest = "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0";

}  // namespace

TEST_CASE("parse_manifest: the image-spec example") {
  auto m = parse_manifest(test::kOciManifest, mt::kOciManifest);
  REQUIRE_MESSAGE(m.has_value(), (m ? "" : m.error().message()));
  CHECK(m->schema_version == 2);
  CHECK(m->media_type == mt::kOciManifest);
  CHECK(m->config.media_type == mt::kOciConfig);
  CHECK(m->config.digest.str() == "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7");
  CHECK(m->config.size == 7023);
  REQUIRE(m->layers.size() == 3);
  CHECK(m->layers[0].digest.str() == kLayer1Digest);
  CHECK(m->layers[0].size == 32654);
  CHECK(m->layers[2].media_type == mt::kOciLayerZstd);
  REQUIRE(m->subject.has_value());
  CHECK(m->subject->size == 7682);
  CHECK(m->annotations.at("com.example.key2") == "value2");
}

TEST_CASE("parse_manifest: Docker schema 2, with parameters on the Content-Type") {
  auto m = parse_manifest(test::kDockerManifest, "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8");
  REQUIRE_MESSAGE(m.has_value(), (m ? "" : m.error().message()));
  CHECK(m->media_type == mt::kDockerManifest);
  CHECK(m->config.media_type == mt::kDockerConfig);
  REQUIRE(m->layers.size() == 3);
  CHECK(m->layers[2].media_type == mt::kDockerForeignLayer);
  CHECK(m->layers[2].urls == std::vector<std::string>{"https://example.com/layer.tar.gz"});
  CHECK_FALSE(m->subject.has_value());
}

TEST_CASE("parse_any tells manifest from index") {
  auto a = parse_any(test::kOciManifest);
  REQUIRE(a);
  CHECK(kind(*a) == ManifestKind::kManifest);
  auto b = parse_any(test::kDockerList, "application/json");  // unknown Content-Type: ignored
  REQUIRE(b);
  CHECK(kind(*b) == ManifestKind::kIndex);
  CHECK(std::get<Index>(*b).media_type == mt::kDockerManifestList);
}

TEST_CASE("parse_index: OCI index without mediaType takes it from the Content-Type or the default") {
  auto i = parse_index(test::kOciIndex);
  REQUIRE_MESSAGE(i.has_value(), (i ? "" : i.error().message()));
  CHECK(i->media_type == mt::kOciIndex);
  REQUIRE(i->manifests.size() == 3);
  REQUIRE(i->manifests[1].platform.has_value());
  CHECK(i->manifests[1].platform->os == "windows");
  CHECK(i->manifests[1].platform->os_version == "10.0.14393.1066");
  CHECK(i->manifests[1].platform->os_features == std::vector<std::string>{"win32k"});
  CHECK(i->annotations.size() == 2);
  // The index entry for linux/arm64 is found by platform matching.
  int hits = 0;
  for (const auto& d : i->manifests)
    if (d.platform && ref::matches(ref::parse_platform("linux/arm64").value(), *d.platform)) ++hits;
  CHECK(hits == 1);

  auto with_ct = parse_index(test::kOciIndex, mt::kOciIndex);
  REQUIRE(with_ct);
  CHECK(with_ct->media_type == mt::kOciIndex);
}

TEST_CASE("parse_index: Docker manifest list") {
  auto i = parse_index(test::kDockerList, mt::kDockerManifestList);
  REQUIRE(i);
  REQUIRE(i->manifests.size() == 2);
  CHECK(i->manifests[1].platform->architecture == "amd64");
}

TEST_CASE("the wrong kind is refused by the kind-specific parsers") {
  auto m = parse_manifest(test::kDockerList);
  REQUIRE_FALSE(m);
  check_error(m.error(), Errc::kInvalidArgument, "expected an image manifest, got an image index");
  auto i = parse_index(test::kOciManifest);
  REQUIRE_FALSE(i);
  check_error(i.error(), Errc::kInvalidArgument, "expected an image index, got an image manifest");
}

TEST_CASE("mediaType and Content-Type must agree") {
  SUBCASE("OCI body, Docker Content-Type") {
    auto r = parse_manifest(test::kOciManifest, mt::kDockerManifest);
    REQUIRE_FALSE(r);
    check_error(r.error(), Errc::kInvalidArgument,
                "mediaType 'application/vnd.oci.image.manifest.v1+json' does not match the Content-Type "
                "'application/vnd.docker.distribution.manifest.v2+json'");
  }
  SUBCASE("manifest body, index Content-Type") {
    auto r = parse_any(test::kOciManifest, mt::kOciIndex);
    REQUIRE_FALSE(r);
    check_error(r.error(), Errc::kInvalidArgument, "does not match the Content-Type");
  }
  SUBCASE("index body without mediaType, manifest Content-Type") {
    auto r = parse_any(test::kOciIndex, mt::kOciManifest);
    REQUIRE_FALSE(r);
    check_error(r.error(), Errc::kInvalidArgument,
                "Content-Type 'application/vnd.oci.image.manifest.v1+json' does not name an image index");
  }
  SUBCASE("index mediaType on a manifest body") {
    auto r = parse_any(
        test::edit(test::kOciManifest, "image.manifest.v1+json\",\n  \"config", "image.index.v1+json\",\n  \"config"));
    REQUIRE_FALSE(r);
    check_error(r.error(), Errc::kInvalidArgument, "names an image index but the body is an image manifest");
  }
  SUBCASE("manifest mediaType on an index body") {
    auto r = parse_any(test::edit(test::kDockerList, "manifest.list.v2+json", "manifest.v2+json"));
    REQUIRE_FALSE(r);
    check_error(r.error(), Errc::kInvalidArgument, "names an image manifest but the body is an image index");
  }
  SUBCASE("unknown mediaType in the body") {
    auto r = parse_any(test::edit(test::kOciManifest, "image.manifest.v1+json", "image.config.v1+json"));
    REQUIRE_FALSE(r);
    check_error(r.error(), Errc::kInvalidArgument, "is not an image manifest media type");
  }
  SUBCASE("Docker Content-Type needs a mediaType in the body") {
    auto body =
        test::edit(test::kDockerManifest, "\"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",", "");
    CHECK(parse_manifest(body).has_value());  // as OCI, the field is optional
    auto r = parse_manifest(body, mt::kDockerManifest);
    REQUIRE_FALSE(r);
    check_error(r.error(), Errc::kInvalidArgument, "'mediaType' is missing");
  }
  SUBCASE("mediaType of the wrong JSON type") {
    auto r = parse_any(test::edit(test::kOciManifest, "\"application/vnd.oci.image.manifest.v1+json\"", "2"));
    REQUIRE_FALSE(r);
    check_error(r.error(), Errc::kInvalidArgument, "'mediaType' must be a string");
  }
}

TEST_CASE("structure decides the kind; both or neither is refused") {
  auto both = parse_any(test::edit(test::kOciIndex, "\"manifests\"",
                             "\"config\": {\"mediaType\": \"application/vnd.oci.image.config.v1+json\", \"digest\": "
                             "\"sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7\", "
                             "\"size\": 1},\n  \"manifests\""));
  REQUIRE_FALSE(both);
  check_error(both.error(), Errc::kInvalidArgument, "invalid manifest: it has both 'manifests'");

  auto neither = parse_any(R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})");
  REQUIRE_FALSE(neither);
  check_error(neither.error(), Errc::kInvalidArgument, "it has neither");

  auto no_layers = parse_any(R"({"schemaVersion": 2, "config": {"mediaType": "a/b", "size": 1,
      "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"}})");
  REQUIRE_FALSE(no_layers);
  check_error(no_layers.error(), Errc::kInvalidArgument, "invalid image manifest: 'layers' is missing");

  auto no_config = parse_any(R"({"schemaVersion": 2, "layers": []})");
  REQUIRE_FALSE(no_config);
  check_error(no_config.error(), Errc::kInvalidArgument, "invalid image manifest: 'config' is missing");
}

TEST_CASE("schema 1 is refused with the conversion hint, whichever way it shows") {
  SUBCASE("schemaVersion 1 in the body") {
    auto r = parse_any(test::kSchema1);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::kUnsupported);
    CHECK(r.error().message() == kSchema1Message);
    CHECK(r.error().message() ==
          "schema 1 manifests are not supported (deprecated by Docker in 2019); re-push the image with a current "
          "client to convert it");
  }
  SUBCASE("a v1 Content-Type") {
    for (auto ct : {mt::kDockerSchema1Signed, mt::kDockerSchema1Manifest}) {
      auto r = parse_manifest(test::kDockerManifest, ct);
      REQUIRE_FALSE(r);
      CHECK(r.error().code() == Errc::kUnsupported);
      CHECK(r.error().message() == kSchema1Message);
    }
  }
  SUBCASE("a v1 mediaType in a schema 2 body") {
    auto r = parse_any(test::edit(test::kDockerManifest, "manifest.v2+json", "manifest.v1+prettyjws"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::kUnsupported);
  }
}

TEST_CASE("schemaVersion must be the integer 2") {
  auto missing = parse_any(test::edit(test::kOciManifest, "\"schemaVersion\": 2,", ""));
  REQUIRE_FALSE(missing);
  check_error(missing.error(), Errc::kInvalidArgument, "'schemaVersion' is missing");
  for (std::string_view bad : {"\"2\"", "2.0", "-2", "true"}) {
    CAPTURE(bad);
    auto r = parse_any(test::edit(test::kOciManifest, "\"schemaVersion\": 2", fmt::format("\"schemaVersion\": {}", bad)));
    REQUIRE_FALSE(r);
    check_error(r.error(), Errc::kInvalidArgument, "'schemaVersion' must be 2");
  }
  auto three = parse_any(test::edit(test::kOciManifest, "\"schemaVersion\": 2", "\"schemaVersion\": 3"));
  REQUIRE_FALSE(three);
  check_error(three.error(), Errc::kUnsupported, "schemaVersion 3 is not supported");
}

TEST_CASE("descriptors inside are parsed strictly") {
  struct Case {
    std::string_view from, to, says;
    Errc code = Errc::kInvalidArgument;
  };
  const Case cases[] = {
      {"9834876dcfb05cb1", "9834876dcfb05cbZ", "invalid image manifest: layers[0]: 'digest': invalid digest"},
      {"sha256:9834876dcfb05cb1", "sha256:9834876dcfb05cb", "layers[0]: 'digest'"},
      {"sha256:9834876dcfb05cb1", "md5:9834876dcfb05cb1", "unsupported digest algorithm 'md5'", Errc::kUnsupported},
      {"\"size\": 32654", "\"size\": -1", "layers[0]: 'size' must be a non-negative integer"},
      {"\"size\": 32654", "\"size\": 1.5", "layers[0]: 'size' must be a non-negative integer"},
      {"\"size\": 32654", "\"size\": 3e4", "'size' must be a non-negative integer"},
      {"\"size\": 32654", "\"size\": \"32654\"", "'size' must be a non-negative integer"},
      {"\"size\": 32654", "\"size\": 9223372036854775808", "'size' is too large"},
      {"\"size\": 32654", "\"size\": null", "layers[0]: 'size' is missing"},
      {"\"size\": 7023", "\"size\": -7023", "invalid image manifest: 'config': 'size' must be"},
      {"\"size\": 7682", "\"size\": 7682, \"urls\": \"x\"", "'subject': 'urls' must be an array of strings"},
      {"\"value1\"", "1", "'annotations.com.example.key1' must be a string"},
      {"\"layers\": [", "\"layers\": 1, \"x\": [", "'layers' must be an array"},
      {"\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n      \"digest\": \"sha256:98",
       "\"digest\": \"sha256:98", "layers[0]: 'mediaType' is missing"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.to);
    auto r = parse_manifest(test::edit(test::kOciManifest, c.from, c.to));
    REQUIRE_FALSE(r);
    check_error(r.error(), c.code, c.says);
  }
  // The largest legal size passes.
  auto big = parse_manifest(test::edit(test::kOciManifest, "\"size\": 32654", "\"size\": 9223372036854775807"));
  REQUIRE(big);
  CHECK(big->layers[0].size == 9223372036854775807ULL);
}

TEST_CASE("platform in an index entry is parsed strictly") {
  auto r = parse_index(test::edit(test::kOciIndex, "\"architecture\": \"ppc64le\",", ""));
  REQUIRE_FALSE(r);
  check_error(r.error(), Errc::kInvalidArgument,
              "invalid image index: manifests[0]: 'platform': 'architecture' is missing");
  auto r2 = parse_index(test::edit(test::kOciIndex, "\"os.features\": [\"win32k\"]", "\"os.features\": \"win32k\""));
  REQUIRE_FALSE(r2);
  check_error(r2.error(), Errc::kInvalidArgument, "manifests[1]: 'platform': 'os.features' must be an array");
}

TEST_CASE("not JSON, not an object") {
  auto r = parse_any("{\"schemaVersion\": 2,");
  REQUIRE_FALSE(r);
  check_error(r.error(), Errc::kInvalidArgument, "invalid manifest: not valid JSON");
  auto a = parse_any("[]");
  REQUIRE_FALSE(a);
  check_error(a.error(), Errc::kInvalidArgument, "not a JSON object");
  auto e = parse_any("");
  REQUIRE_FALSE(e);
}

TEST_CASE("unknown fields are ignored, null optional fields read as absent") {
  auto m = parse_manifest(test::edit(test::kOciManifest, "\"schemaVersion\": 2,",
                               "\"schemaVersion\": 2, \"x-future\": {\"a\": [1]}, \"artifactType\": null,"));
  REQUIRE(m);
  CHECK(m->artifact_type.empty());
}

TEST_CASE("serialize: Go field order, round trip, and no re-serialisation of parsed bytes needed") {
  auto m = parse_manifest(test::kDockerManifest).value();
  std::string bytes = serialize(m);
  CHECK(bytes.starts_with(
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{"
      "\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"sha256:b5b2b2c5"));
  CHECK(bytes.find("\"size\":73109,\"urls\":[\"https://example.com/layer.tar.gz\"]") != std::string::npos);
  auto again = parse_manifest(bytes, mt::kDockerManifest);
  REQUIRE(again);
  CHECK(*again == m);

  auto oci = parse_manifest(test::kOciManifest).value();
  auto oci_again = parse_manifest(serialize(oci), mt::kOciManifest);
  REQUIRE(oci_again);
  CHECK(*oci_again == oci);

  auto idx = parse_index(test::kOciIndex).value();
  std::string ib = serialize(idx);
  CHECK(ib.starts_with(
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["));
  CHECK(ib.find("\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.14393.1066\","
                "\"os.features\":[\"win32k\"]}") != std::string::npos);
  auto idx_again = parse_index(ib);
  REQUIRE(idx_again);
  CHECK(*idx_again == idx);
}

TEST_CASE("describe hashes the bytes") {
  Descriptor d = describe(mt::kOciManifest, "");
  CHECK(d.digest.str() == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(d.size == 0);
  std::string bytes = serialize(parse_manifest(test::kOciManifest).value());
  Descriptor d2 = describe(mt::kOciManifest, bytes);
  CHECK(d2.size == bytes.size());
  CHECK(d2.digest == digest::sha256_of(bytes));
  CHECK(d2.media_type == mt::kOciManifest);
}
