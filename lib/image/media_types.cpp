#include "image/media_types.h"

#include "util/strings.h"

namespace hoist::image::media_type {

std::string_view base_media_type(std::string_view content_type) {
  return trim(content_type.substr(0, content_type.find(';')));
}

bool is_manifest(std::string_view mt) { return mt == kOciManifest || mt == kDockerManifest; }

bool is_index(std::string_view mt) { return mt == kOciIndex || mt == kDockerManifestList; }

bool is_schema1(std::string_view mt) { return mt == kDockerSchema1Manifest || mt == kDockerSchema1Signed; }

bool is_config(std::string_view mt) { return mt == kOciConfig || mt == kDockerConfig; }

bool is_layer(std::string_view mt) { return layer_compression(mt).has_value(); }

bool is_docker(std::string_view mt) { return mt.starts_with("application/vnd.docker."); }

bool is_nondistributable(std::string_view mt) {
  return mt == kDockerForeignLayer || mt == kOciLayerNondistributable || mt == kOciLayerNondistributableGzip ||
         mt == kOciLayerNondistributableZstd;
}

std::optional<Compression> layer_compression(std::string_view mt) {
  if (mt == kOciLayer || mt == kOciLayerNondistributable || mt == kDockerLayerUncompressed)
    return Compression::kNone;
  if (mt == kOciLayerGzip || mt == kOciLayerNondistributableGzip || mt == kDockerLayer ||
      mt == kDockerForeignLayer)
    return Compression::kGzip;
  if (mt == kOciLayerZstd || mt == kOciLayerNondistributableZstd) return Compression::kZstd;
  return std::nullopt;
}

}  // namespace hoist::image::media_type
