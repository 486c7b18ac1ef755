#pragma once
// Sources that read images hoist holds on this machine (the job of
// containers/image's storage, oci/layout, oci/archive and docker/archive
// ImageSources). open_source()/open_sources() in transport/open.h parse the
// text; this header is for callers that want more than a Source: the
// manifest and config of one image (hoist-unpack, hoist-build) or where its
// blobs live.
//
//   REF                     a reference recorded in the store: as hoist-pull
//                           recorded it ("127.0.0.1:5000/team/app:v1"), or any
//                           spelling that normalises to it ("busybox")
//   NAME@sha256:<hex>       the line hoist-pull prints; the digest is looked up in
//                           the store (NAME is kept for naming only)
//   sha256:<hex>            a manifest or index in the store, unnamed
//   store                   (open_sources only) every ref recorded in the store
//   oci:DIR[:NAME]          an OCI image layout; NAME matches the ref.name
//                           annotation exactly (hoist writes the full NAME:TAG,
//                           skopeo the tag alone)
//   oci-archive:FILE[:NAME] an OCI layout in a tar file, read in place (pread;
//                           nothing is extracted)
//   oci-archive:-           an oci-archive on stdin: a pipe cannot seek, so its
//                           blobs are imported into the store's blobs/ as they
//                           stream (verified, deduplicated, no ref recorded; gc
//                           may drop them later), then read from there
//   docker-archive:FILE[:REF|:@N]
//                           what `docker save` (and hoist's docker-archive sink)
//                           writes: manifest.json's Config, RepoTags and Layers.
//                           The image is served as a Docker v2 schema 2 manifest
//                           made here (as skopeo's docker-archive source does):
//                           config and layers are the archive's files as they are,
//                           each layer's digest that of its bytes (for a plain tar,
//                           its diff_id). So its manifest digest is new, but its
//                           config digest (the image ID) and layers are kept.
//
// Every blob a source hands out is checked against its descriptor as it
// streams: a layout or archive whose file does not match its name gives
// kDigestMismatch ("blob 'sha256:…' in 'oci-archive:x.tar' does not match its
// digest"), never bytes that differ from what the manifest promises. The
// exception: blob_file() (transport.h) gives the file a blob lies in (a blob
// file, an archive member; not a docker-archive's manifest, made in memory)
// with only its size checked, for a sink that checks the digest itself.
//
// Names: a source's name()/tag() come from the ref it was found under: the
// store's ref, the ref.name annotation when it is a full reference (it has a '/'
// or a ':'), a RepoTag. A bare ref.name ("latest", as skopeo writes) is a tag
// with no name: name() is "" and tag() the tag. Unnamed images have both "".

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/config.h"
#include "image/manifest.h"
#include "ref/platform.h"
#include "store/blob_dir.h"
#include "transport/transport.h"

namespace hoist::transport {

// A Source over local content, with a little more than the interface.
class LocalSource : public Source {
 public:
  // Where the image was found, for messages: "oci:./l:app:v1", "store '/s'".
  virtual std::string where() const = 0;
  // The root descriptor (a manifest or index) as the source records it; the
  // media type may be empty for a bare digest from the store (resolve() fills it).
  virtual const image::Descriptor& root() const = 0;
  // The directory the blobs are files in (the store, a layout, the store for an
  // imported stream), or nullptr (an archive file, a docker-archive).
  virtual const store::BlobDir* blob_dir() const = 0;
};

// One image: its manifest (an index resolved to `platform`, default this
// host's) and config, with diff_ids checked against the layers' count.
struct ResolvedImage {
  image::Descriptor manifest_desc;
  image::Manifest manifest;
  image::ImageConfig config;
  std::string config_bytes;
};
Result<ResolvedImage> resolve_image(Source& src, const std::optional<ref::Platform>& platform);

// Parsing helpers, exposed for the tools and tests.
// "FILE" / "FILE:NAME": split at the first ':' as skopeo does.
std::pair<std::string, std::string> split_locator(std::string_view text);
// A ref.name / RepoTag -> (name, tag), per the naming rule above.
std::pair<std::string, std::string> split_ref_name(std::string_view ref_name);

}  // namespace hoist::transport
