#pragma once
// Docker image manifest v2 schema 2 <-> OCI image-spec v1 conversion, for
// `--format oci|docker` (skopeo copy --format, containers/image manifest/oci.go).
//
// Only media types change: config and layer blobs keep their bytes and digests
// (the image ID, the config digest, is unchanged); the manifest itself gets new
// bytes and so a new digest.
//
//   kind           Docker schema 2                              OCI                                   lossless
//   manifest       ...distribution.manifest.v2+json          <-> ...image.manifest.v1+json             see below
//   index          ...distribution.manifest.list.v2+json     <-> ...image.index.v1+json                see below
//   config         ...container.image.v1+json                <-> ...image.config.v1+json               yes (1)
//   layer, gzip    ...image.rootfs.diff.tar.gzip             <-> ...image.layer.v1.tar+gzip            yes
//   layer, tar     ...image.rootfs.diff.tar                  <-> ...image.layer.v1.tar                 yes (2)
//   foreign layer  ...image.rootfs.foreign.diff.tar.gzip     <-> ...layer.nondistributable.v1.tar+gzip yes
//   layer, zstd    (none)                                     <-  ...image.layer.v1.tar+zstd           refused
//
// (1) the config bytes stay as they are: OCI readers ignore Docker's extra fields
//     (container_config, Healthcheck, ...), Docker reads the OCI fields.
// (2) few Docker-format consumers accept an uncompressed layer.
// Docker -> OCI is lossless. OCI -> Docker drops what schema 2 has no field for:
// the manifest's or index's annotations, subject and artifactType, and a
// descriptor's artifactType; Converted::lost names each one dropped, so a caller
// can refuse a lossy conversion. Types with no counterpart (zstd layers, artifact
// configs, non-distributable zstd) make the conversion kUnsupported.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/manifest.h"
#include "util/result.h"

namespace hoist::image {

enum class Format : uint8_t { kOci, kDocker };

// "oci" or "docker" (also "v2s2"); kInvalidArgument otherwise.
Result<Format> parse_format(std::string_view text);
// The format a manifest, index, config or layer media type belongs to; nullopt for
// types of neither (artifacts).
std::optional<Format> format_of(std::string_view media_type);

// The counterpart of `media_type` in `to`; the type itself when already in `to`.
// kUnsupported when there is none.
Result<std::string> convert_media_type(std::string_view media_type, Format to);

template <typename T>
struct Converted {
  T value;
  std::vector<std::string> lost;  // "annotations", "subject", "layers[2].artifactType", ...
};

Result<Converted<Manifest>> convert(const Manifest& m, Format to);
// Converts the index's own media type and the media types of its entries (the
// entries' digests then no longer match: the caller converts and re-describes each
// child manifest, and puts the new descriptors in).
Result<Converted<Index>> convert(const Index& i, Format to);

}  // namespace hoist::image
