#include "image/convert.h"

#include <fmt/core.h>

#include <array>
#include <utility>

#include "image/media_types.h"

namespace hoist::image {
namespace {

namespace mt = media_type;

// Docker type, OCI type: the pairs that convert both ways.
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kPairs = {{
    {mt::kDockerManifest, mt::kOciManifest},
    {mt::kDockerManifestList, mt::kOciIndex},
    {mt::kDockerConfig, mt::kOciConfig},
    {mt::kDockerLayer, mt::kOciLayerGzip},
    {mt::kDockerLayerUncompressed, mt::kOciLayer},
    {mt::kDockerForeignLayer, mt::kOciLayerNondistributableGzip},
}};

// OCI types with no Docker counterpart, still OCI for format_of.
constexpr std::array<std::string_view, 3> kOciOnly = {mt::kOciLayerZstd, mt::kOciLayerNondistributable,
                                                      mt::kOciLayerNondistributableZstd};

Result<Descriptor> convert_descriptor(const Descriptor& d, Format to, std::string_view where,
                                      std::vector<std::string>& lost) {
  Descriptor out = d;
  out.media_type = HOIST_TRY_CTX(convert_media_type(d.media_type, to), where);
  if (to == Format::kDocker && !out.artifact_type.empty()) {
    out.artifact_type.clear();
    lost.push_back(fmt::format("{}.artifactType", where));
  }
  return out;
}

// Artifacts (a config or layer of no image type) pass through to OCI untouched;
// a Docker manifest cannot carry them.
Result<Descriptor> convert_blob(const Descriptor& d, Format to, std::string_view where,
                                std::vector<std::string>& lost) {
  if (to == Format::kOci && !format_of(d.media_type)) return d;
  return convert_descriptor(d, to, where, lost);
}

template <typename T>
void drop_top_level(T& v, Format to, std::vector<std::string>& lost) {
  if (to != Format::kDocker) return;
  if (!v.annotations.empty()) {
    v.annotations.clear();
    lost.push_back("annotations");
  }
  if (v.subject) {
    v.subject.reset();
    lost.push_back("subject");
  }
  if (!v.artifact_type.empty()) {
    v.artifact_type.clear();
    lost.push_back("artifactType");
  }
}

}  // namespace

Result<Format> parse_format(std::string_view text) {
  if (text == "oci") return Format::kOci;
  if (text == "docker" || text == "v2s2") return Format::kDocker;
  return fail(Errc::kInvalidArgument, fmt::format("unknown image format '{}' (expected 'oci' or 'docker')", text));
}

std::optional<Format> format_of(std::string_view media_type) {
  for (const auto& [docker, oci] : kPairs) {
    if (media_type == docker) return Format::kDocker;
    if (media_type == oci) return Format::kOci;
  }
  for (auto oci : kOciOnly)
    if (media_type == oci) return Format::kOci;
  return std::nullopt;
}

Result<std::string> convert_media_type(std::string_view media_type, Format to) {
  for (const auto& [docker, oci] : kPairs) {
    if (media_type == docker || media_type == oci) return std::string(to == Format::kDocker ? docker : oci);
  }
  if (format_of(media_type) == to) return std::string(media_type);
  if (media_type == mt::kOciLayerZstd || media_type == mt::kOciLayerNondistributableZstd)
    return fail(Errc::kUnsupported, fmt::format("media type '{}' has no Docker schema 2 equivalent; recompress "
                                                "the layer with gzip",
                                                media_type));
  return fail(Errc::kUnsupported,
              fmt::format("media type '{}' has no {} equivalent", media_type,
                          to == Format::kDocker ? "Docker schema 2" : "OCI"));
}

Result<Converted<Manifest>> convert(const Manifest& m, Format to) {
  Converted<Manifest> c{m, {}};
  Manifest& out = c.value;
  out.media_type = HOIST_TRY(convert_media_type(m.media_type, to));
  drop_top_level(out, to, c.lost);
  out.config = HOIST_TRY(convert_blob(m.config, to, "config", c.lost));
  for (size_t i = 0; i < out.layers.size(); ++i) {
    std::string where = fmt::format("layers[{}]", i);
    out.layers[i] = HOIST_TRY(convert_blob(m.layers[i], to, where, c.lost));
  }
  return c;
}

Result<Converted<Index>> convert(const Index& idx, Format to) {
  Converted<Index> c{idx, {}};
  Index& out = c.value;
  out.media_type = HOIST_TRY(convert_media_type(idx.media_type, to));
  drop_top_level(out, to, c.lost);
  for (size_t i = 0; i < out.manifests.size(); ++i) {
    std::string where = fmt::format("manifests[{}]", i);
    out.manifests[i] = HOIST_TRY(convert_blob(idx.manifests[i], to, where, c.lost));
  }
  return c;
}

}  // namespace hoist::image
