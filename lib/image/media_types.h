#pragma once
// Media types of the OCI image-spec (media-types.md) and of Docker's image
// manifest v2 schema 2 (distribution/manifest/schema2), with classifiers.
// Comparisons are exact after base_media_type() has cut parameters such as
// "; charset=utf-8" off a Content-Type header.

#include <array>
#include <optional>
#include <string_view>

namespace hoist::image::media_type {

// OCI image-spec v1.1.
inline constexpr std::string_view kOciDescriptor = "application/vnd.oci.descriptor.v1+json";
inline constexpr std::string_view kOciLayoutHeader = "application/vnd.oci.layout.header.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";  // {} artifacts
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
// Deprecated by image-spec v1.1 but still found in the wild (Windows base layers).
inline constexpr std::string_view kOciLayerNondistributable =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNondistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNondistributableZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

// Docker image manifest v2, schema 2.
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
// distribution's MediaTypeUncompressedLayer; rare, and not every client accepts it.
inline constexpr std::string_view kDockerLayerUncompressed = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerForeignLayer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view kDockerPluginConfig = "application/vnd.docker.plugin.v1+json";

// Docker image manifest v2, schema 1: recognised only to be refused.
inline constexpr std::string_view kDockerSchema1Manifest = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

// What a client sends as Accept when fetching a manifest, most preferred first.
// Schema 1 is deliberately absent: a registry that only has schema 1 answers 404
// or converts (distribution does).
inline constexpr std::array<std::string_view, 4> kManifestAccept = {kOciIndex, kOciManifest,
                                                                    kDockerManifestList, kDockerManifest};

enum class Compression : uint8_t { kNone, kGzip, kZstd };

// "application/vnd.oci.image.manifest.v1+json; charset=utf-8" -> the part before ';',
// whitespace trimmed. Media types are compared case-sensitively, as registries do.
std::string_view base_media_type(std::string_view content_type);

bool is_manifest(std::string_view mt);   // OCI manifest, Docker schema 2 manifest
bool is_index(std::string_view mt);      // OCI index, Docker manifest list
bool is_schema1(std::string_view mt);    // either Docker schema 1 type
bool is_config(std::string_view mt);     // OCI config, Docker container config
bool is_layer(std::string_view mt);      // every layer type above, foreign/nondistributable included
bool is_docker(std::string_view mt);     // application/vnd.docker.*
// Layers that registries may refuse to serve and that carry `urls` (foreign,
// nondistributable): copying them is a policy decision.
bool is_nondistributable(std::string_view mt);
// The compression a layer media type declares; nullopt for anything not a layer.
std::optional<Compression> layer_compression(std::string_view mt);

}  // namespace hoist::image::media_type
