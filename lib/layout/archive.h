#pragma once
// Image archives: tar streams of images, written and read without seeking (a pipe
// works: `hoist-pull --output oci-archive:- ref | ssh host hoist-push ...`). Blobs
// are copied from their files in 1 MiB chunks, never held whole; tar framing per
// layout/tar.h.
//
// oci-archive (skopeo's oci-archive: transport): a tar of an OCI image layout:
//   oci-layout, index.json, blobs/, blobs/<alg>/, blobs/<alg>/<hex> ...
// index.json lists each image's root descriptor with ref.name = ArchiveImage::name
// when set. skopeo's oci-archive:FILE:NAME looks NAME up exactly; skopeo itself
// writes the tag only ("latest"), so pass that for skopeo users.
//
// docker-archive (`docker save`; read by `docker load` and skopeo's
// docker-archive: transport): written as Docker 25+ writes it, which is at the same
// time an OCI layout:
//   blobs/sha256/<hex>       layers, configs and manifests
//   manifest.json            [{"Config":"blobs/sha256/<hex>","RepoTags":["busybox:latest"],
//                              "Layers":["blobs/sha256/<hex>", ...]}]
//   repositories             {"busybox":{"latest":"<top layer hex>"}}
//   oci-layout, index.json   ref.name = the tag, io.containerd.image.name = the full name
// Layers are written as stored, compressed: `docker load` (since 1.10) and skopeo
// both decompress while reading, checking the result against the config's
// diff_ids. (skopeo's own writer decompresses every layer first; that costs a
// pass over each layer and gains nothing for these readers. zstd layers need a
// docker that reads zstd, 23.0 or later.)

#include <memory>
#include <span>
#include <string>

#include "image/descriptor.h"
#include "io/stream.h"
#include "layout/reader.h"
#include "store/blob_dir.h"
#include "util/result.h"

namespace hoist::layout {

struct ArchiveImage {
  image::Descriptor root;  // a manifest (docker-archive), or a manifest or index (oci-archive)
  std::string name;        // oci-archive: ref.name ("" = none); docker-archive: a reference
                           // with a tag, e.g. "docker.io/library/busybox:latest" ("" = untagged)
};

// Every blob of every image must be in `blobs`, except manifests an index names
// for platforms never copied (a partial multi-platform image stays readable).
// kNotFound naming the first missing blob. Writes the end-of-archive marker; does
// not close `out`.
Result<> write_oci_archive(const store::BlobDir& blobs, std::span<const ArchiveImage> images, io::Writer& out);

// Extracts an oci-archive stream into the layout directory `dest` (created when
// missing; existing content is kept, index.json replaced). Every blob is verified
// against its name while it streams in (store::BlobWriter); entries other than
// oci-layout, index.json and blobs/<alg>/<hex> are skipped, so no name in the
// archive can write outside `dest`. kInvalidArgument when the stream is not an
// oci-archive (no index.json or oci-layout); kDigestMismatch for a corrupt blob.
Result<std::unique_ptr<LayoutReader>> read_oci_archive(io::Reader& in, const std::string& dest);

// The same walk, with the blobs going into `blobs` (e.g. the store's, so an
// archive on a pipe is imported once, verified, deduplicated against what is
// there) and index.json returned instead of written. Blobs already present are
// skipped unread. kInvalidArgument / kUnsupported / kDigestMismatch as above.
struct ImportedArchive {
  std::string index_json;
  uint64_t blobs_written = 0;
  uint64_t bytes_written = 0;
};
Result<ImportedArchive> import_oci_archive(io::Reader& in, store::BlobDir& blobs);

// Images must be single-platform manifests (kInvalidArgument for an index: pick a
// platform first) with config and layers in `blobs`. Two ArchiveImages with the
// same root become one manifest.json entry with both RepoTags.
Result<> write_docker_archive(const store::BlobDir& blobs, std::span<const ArchiveImage> images, io::Writer& out);

}  // namespace hoist::layout
