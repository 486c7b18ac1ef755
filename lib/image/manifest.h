#pragma once
// Image manifests and indexes (image-spec image-manifest.md, image-index.md) and
// Docker's schema 2 manifest and manifest list, which have the same shape.
//
// Parsing is strict, because a manifest decides what gets fetched and run:
//  - schemaVersion must be the integer 2;
//  - the body's structure names its kind: "manifests" makes an index, "config" and
//    "layers" an image manifest; a body with both, or neither, is refused;
//  - the body's mediaType, when present, must be a manifest type of that kind, and
//    must equal the Content-Type when that is a known manifest or index type (a
//    Content-Type we do not know, such as application/json or "" from a layout, is
//    ignored); a Docker type in the Content-Type needs a mediaType in the body;
//  - every descriptor goes through descriptor_from_json (strict digest, size an
//    unsigned integer);
//  - Docker schema 1 (schemaVersion 1, or a v1 media type in the body or the
//    Content-Type) is kUnsupported with kSchema1Message.
// Everything else malformed is kInvalidArgument, prefixed "invalid image manifest: ",
// "invalid image index: " or, before the kind is known, "invalid manifest: ".
//
// A manifest read from elsewhere is never re-serialised to compute its digest:
// callers keep the raw bytes. to_json/serialize are for manifests hoist writes.
// Pure values; thread-compatible.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/descriptor.h"
#include "util/result.h"

namespace hoist::image {

inline constexpr std::string_view kSchema1Message =
    "schema 1 manifests are not supported (deprecated by Docker in 2019); re-push the image with a current "
    "client to convert it";

struct Manifest {
  uint32_t schema_version = 2;
  // The body's mediaType; when the body has none, the Content-Type's (if it is a
  // manifest type), else application/vnd.oci.image.manifest.v1+json.
  std::string media_type;
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;

  bool operator==(const Manifest&) const = default;
};

struct Index {
  uint32_t schema_version = 2;
  // As Manifest::media_type, defaulting to application/vnd.oci.image.index.v1+json.
  std::string media_type;
  std::string artifact_type;
  std::vector<Descriptor> manifests;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;

  bool operator==(const Index&) const = default;
};

enum class ManifestKind : uint8_t { kManifest, kIndex };
using AnyManifest = std::variant<Manifest, Index>;
inline ManifestKind kind(const AnyManifest& m) {
  return std::holds_alternative<Index>(m) ? ManifestKind::kIndex : ManifestKind::kManifest;
}

// `content_type` is the registry's Content-Type header or the referring
// descriptor's mediaType; "" when unknown. Parameters (";charset=...") are ignored.
Result<AnyManifest> parse_any(std::string_view bytes, std::string_view content_type = {});
// As parse_any, and kInvalidArgument when the body is of the other kind.
Result<Manifest> parse_manifest(std::string_view bytes, std::string_view content_type = {});
Result<Index> parse_index(std::string_view bytes, std::string_view content_type = {});

// Field order: schemaVersion, mediaType, artifactType, config|manifests, layers,
// subject, annotations; empty optional fields left out.
nlohmann::ordered_json to_json(const Manifest& m);
nlohmann::ordered_json to_json(const Index& i);
// Compact JSON bytes: what hoist hashes, stores and pushes.
std::string serialize(const Manifest& m);
std::string serialize(const Index& i);

// A descriptor of `bytes` (sha256, size) with the given media type.
Descriptor describe(std::string_view media_type, std::string_view bytes);

}  // namespace hoist::image
