#include "image/media_types.h"

#include <doctest/doctest.h>

#include "fixtures.h"
#include "image/convert.h"
#include "image/manifest.h"

using namespace hoist;
using namespace hoist::image;
namespace mt = hoist::image::media_type;

TEST_CASE("media type classifiers") {
  CHECK(mt::is_manifest(mt::kOciManifest));
  CHECK(mt::is_manifest(mt::kDockerManifest));
  CHECK_FALSE(mt::is_manifest(mt::kOciIndex));
  CHECK_FALSE(mt::is_manifest(mt::kDockerSchema1Signed));
  CHECK(mt::is_index(mt::kOciIndex));
  CHECK(mt::is_index(mt::kDockerManifestList));
  CHECK_FALSE(mt::is_index(mt::kDockerManifest));
  CHECK(mt::is_schema1("application/vnd.docker.distribution.manifest.v1+json"));
  CHECK(mt::is_schema1("application/vnd.docker.distribution.manifest.v1+prettyjws"));
  CHECK(mt::is_config(mt::kOciConfig));
  CHECK(mt::is_config(mt::kDockerConfig));
  CHECK_FALSE(mt::is_config(mt::kOciEmpty));
  CHECK(mt::is_docker(mt::kDockerForeignLayer));
  CHECK_FALSE(mt::is_docker(mt::kOciLayer));
  CHECK(mt::is_nondistributable(mt::kDockerForeignLayer));
  CHECK(mt::is_nondistributable(mt::kOciLayerNondistributableGzip));
  CHECK_FALSE(mt::is_nondistributable(mt::kOciLayerGzip));
}

TEST_CASE("layer_compression") {
  using C = mt::Compression;
  CHECK(mt::layer_compression("application/vnd.oci.image.layer.v1.tar") == C::kNone);
  CHECK(mt::layer_compression("application/vnd.oci.image.layer.v1.tar+gzip") == C::kGzip);
  CHECK(mt::layer_compression("application/vnd.oci.image.layer.v1.tar+zstd") == C::kZstd);
  CHECK(mt::layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd") == C::kZstd);
  CHECK(mt::layer_compression("application/vnd.docker.image.rootfs.diff.tar.gzip") == C::kGzip);
  CHECK(mt::layer_compression("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") == C::kGzip);
  CHECK(mt::layer_compression("application/vnd.docker.image.rootfs.diff.tar") == C::kNone);
  CHECK_FALSE(mt::layer_compression(mt::kOciConfig).has_value());
  CHECK_FALSE(mt::layer_compression("application/vnd.oci.image.layer.v1.tar+bzip2").has_value());
  CHECK(mt::is_layer(mt::kOciLayerZstd));
  CHECK_FALSE(mt::is_layer(mt::kOciManifest));
}

TEST_CASE("base_media_type cuts parameters and whitespace") {
  CHECK(mt::base_media_type("application/vnd.oci.image.index.v1+json; charset=utf-8") == mt::kOciIndex);
  CHECK(mt::base_media_type("  application/json ") == "application/json");
  CHECK(mt::base_media_type("") == "");
}

TEST_CASE("convert_media_type: both directions and refusals") {
  struct Pair {
    std::string_view docker, oci;
  };
  const Pair pairs[] = {
      {mt::kDockerManifest, mt::kOciManifest},   {mt::kDockerManifestList, mt::kOciIndex},
      {mt::kDockerConfig, mt::kOciConfig},       {mt::kDockerLayer, mt::kOciLayerGzip},
      {mt::kDockerLayerUncompressed, mt::kOciLayer}, {mt::kDockerForeignLayer, mt::kOciLayerNondistributableGzip},
  };
  for (const auto& p : pairs) {
    CAPTURE(p.docker);
    CHECK(convert_media_type(p.docker, Format::kOci).value() == p.oci);
    CHECK(convert_media_type(p.oci, Format::kDocker).value() == p.docker);
    CHECK(convert_media_type(p.oci, Format::kOci).value() == p.oci);
    CHECK(convert_media_type(p.docker, Format::kDocker).value() == p.docker);
    CHECK(format_of(p.docker) == Format::kDocker);
    CHECK(format_of(p.oci) == Format::kOci);
  }
  auto zstd = convert_media_type(mt::kOciLayerZstd, Format::kDocker);
  REQUIRE_FALSE(zstd);
  CHECK(zstd.error().code() == Errc::kUnsupported);
  CHECK(zstd.error().message().find("recompress the layer with gzip") != std::string::npos);
  CHECK(convert_media_type(mt::kOciLayerZstd, Format::kOci).value() == mt::kOciLayerZstd);
  CHECK_FALSE(convert_media_type("application/vnd.example.thing", Format::kDocker));
  CHECK_FALSE(format_of("application/vnd.example.thing").has_value());
  CHECK(parse_format("oci").value() == Format::kOci);
  CHECK(parse_format("docker").value() == Format::kDocker);
  CHECK(parse_format("v2s2").value() == Format::kDocker);
  CHECK(parse_format("OCI").error().code() == Errc::kInvalidArgument);
}

TEST_CASE("convert: Docker -> OCI is lossless and reversible") {
  Manifest docker = parse_manifest(test::kDockerManifest).value();
  auto oci = convert(docker, Format::kOci);
  REQUIRE(oci);
  CHECK(oci->lost.empty());
  CHECK(oci->value.media_type == mt::kOciManifest);
  CHECK(oci->value.config.media_type == mt::kOciConfig);
  CHECK(oci->value.layers[0].media_type == mt::kOciLayerGzip);
  CHECK(oci->value.layers[2].media_type == mt::kOciLayerNondistributableGzip);
  // Blobs are untouched: same digests, sizes and urls.
  CHECK(oci->value.config.digest == docker.config.digest);
  CHECK(oci->value.layers[2].urls == docker.layers[2].urls);
  // The converted manifest is valid OCI and parses as such.
  auto reparsed = parse_manifest(serialize(oci->value), mt::kOciManifest);
  REQUIRE(reparsed);
  auto back = convert(*reparsed, Format::kDocker);
  REQUIRE(back);
  CHECK(back->lost.empty());
  CHECK(back->value == docker);
}

TEST_CASE("convert: OCI -> Docker reports what it drops, refuses zstd") {
  Manifest oci = parse_manifest(test::kOciManifest).value();
  auto refused = convert(oci, Format::kDocker);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == Errc::kUnsupported);
  CHECK(refused.error().message().starts_with("layers[2]: media type 'application/vnd.oci.image.layer.v1.tar+zstd'"));

  oci.layers.pop_back();
  oci.layers[0].artifact_type = "application/vnd.example";
  auto docker = convert(oci, Format::kDocker);
  REQUIRE(docker);
  CHECK(docker->lost == std::vector<std::string>{"annotations", "subject", "layers[0].artifactType"});
  CHECK(docker->value.annotations.empty());
  CHECK_FALSE(docker->value.subject.has_value());
  CHECK(parse_manifest(serialize(docker->value), mt::kDockerManifest).has_value());
}

TEST_CASE("convert: indexes and artifacts") {
  Index list = parse_index(test::kDockerList).value();
  auto oci = convert(list, Format::kOci);
  REQUIRE(oci);
  CHECK(oci->value.media_type == mt::kOciIndex);
  for (const auto& d : oci->value.manifests) CHECK(d.media_type == mt::kOciManifest);
  auto docker = convert(parse_index(test::kOciIndex).value(), Format::kDocker);
  REQUIRE(docker);
  CHECK(docker->lost == std::vector<std::string>{"annotations"});

  // An artifact's config passes through to OCI, but has no Docker form.
  Manifest art = parse_manifest(test::kOciManifest).value();
  art.config.media_type = "application/vnd.example.config.v1+json";
  auto to_oci = convert(art, Format::kOci);
  REQUIRE(to_oci);
  CHECK(to_oci->value.config.media_type == "application/vnd.example.config.v1+json");
  CHECK_FALSE(convert(art, Format::kDocker));
}
