#pragma once
// Sources and sinks of images (containers/image ImageSource/ImageDestination,
// ggcr's v1.Image): a registry, the store, an OCI layout, an archive. copy()
// (transport/copy.h) sees only these interfaces.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "image/descriptor.h"
#include "io/stream.h"
#include "sys/fd.h"
#include "util/result.h"

namespace hoist::transport {

// A manifest or index with its exact bytes: digests are computed over these
// bytes and they are never re-serialised.
struct RawManifest {
  image::Descriptor descriptor;  // media type, digest and size of `bytes`
  std::string bytes;
};

// Called before a retry of a blob transfer: attempt number (2 = first retry),
// the error that caused it, and the delay before the retry in seconds.
using RetryHook = std::function<void(int attempt, const Error& cause, double delay_seconds)>;

// Where a blob's bytes lie in a local file: `size` bytes of `fd` from byte
// `offset` on (a blob file, or a member of an archive read in place). The
// bytes are NOT verified: see Source::blob_file.
struct BlobFile {
  std::shared_ptr<const sys::Fd> fd;
  uint64_t offset = 0;
  uint64_t size = 0;  // the descriptor's size (the source checks it)
  std::string path;   // for messages: "/l/blobs/sha256/ab..", "/x.tar"
  std::string where;  // the source, for messages: "oci:/l:app" ("" = its name())
};

class Source {
 public:
  virtual ~Source() = default;
  // The image's name for the pinned line ("127.0.0.1:5000/test/app"), and the
  // tag asked for ("" when fetched by digest).
  virtual std::string name() const = 0;
  virtual std::string tag() const = 0;
  // The root manifest or index the source's reference names, bytes verified
  // against its digest when the reference pins one.
  virtual Result<RawManifest> resolve() = 0;
  // A manifest or index by descriptor; bytes verified against its digest and size.
  virtual Result<RawManifest> fetch_manifest(const image::Descriptor& d) = 0;
  // Writes the blob's bytes from `offset` on into `sink`; never more than
  // d.size - offset bytes (kInvalidArgument for a longer body). Retries with a
  // resumed range inside, calling `on_retry` before each retry.
  virtual Result<> fetch_blob(const image::Descriptor& d, uint64_t offset, io::Writer& sink,
                              const RetryHook& on_retry) = 0;
  // The file the blob's bytes lie in, for a sink that verifies digests itself
  // (Sink::verifies_blobs) and sends them from there (BlobWriter::send_file):
  // their digest is NOT checked here, only their size (kIo for a shorter file,
  // kDigestMismatch for a longer one, as fetch_blob). nullopt when the source
  // has no such file (a registry, a manifest made in memory); kNotFound when
  // the blob is absent. Hostile bytes must never reach a sink that does not
  // verify them: every other sink is written through fetch_blob.
  virtual Result<std::optional<BlobFile>> blob_file(const image::Descriptor&) { return std::nullopt; }
};

// One blob on its way into a sink. Bytes from offset() on are written to it;
// commit() checks size and digest and makes the blob visible, or fails with
// kDigestMismatch and drops the bytes. Destroyed without commit() or abort(),
// the bytes written so far stay resumable where the sink supports it.
class BlobWriter : public io::Writer {
 public:
  virtual uint64_t offset() const = 0;
  virtual Result<> commit() = 0;
  virtual void abort() = 0;
  // Instead of write(): the blob's bytes from offset() on, straight from
  // `file` (bytes [file.offset + offset(), file.offset + file.size)), with
  // `progress` told the absolute count done from time to time. commit()
  // follows as after write(). Only writers of a sink that verifies_blobs()
  // implement it; the others refuse (kUnsupported).
  virtual Result<> send_file(const BlobFile& file, const std::function<void(uint64_t done)>& progress,
                             std::stop_token stop) {
    (void)file, (void)progress, (void)stop;
    return fail(Errc::kUnsupported, "this destination cannot send a blob from a file");
  }
};

// What copy() wrote, for the sink to record: the root and every manifest,
// config and layer under it.
struct CopiedImage {
  std::string name;  // "127.0.0.1:5000/test/app"
  std::string tag;   // "v1", or "" when none
  image::Descriptor root;
  std::vector<RawManifest> manifests;  // root first, then children of an index
  // Edges parent manifest/index -> child blob (config, layer, manifest).
  std::vector<std::pair<digest::Digest, image::Descriptor>> edges;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Result<bool> has_blob(const image::Descriptor& d) = 0;
  virtual Result<std::unique_ptr<BlobWriter>> put_blob(const image::Descriptor& d) = 0;
  // True when the sink checks every blob's digest itself, on its own side,
  // before the blob becomes visible (a registry checks the digest of an
  // upload's closing PUT and refuses a mismatch with DIGEST_INVALID:
  // distribution-spec spec.md "Pushing blobs"), and its writers implement
  // send_file(). copy() then sends local blobs from their files unhashed
  // (Source::blob_file); a mismatch ends in kDigestMismatch from the sink.
  virtual bool verifies_blobs() const { return false; }
  // Stores a manifest or index (bytes already verified by the source).
  virtual Result<> put_manifest(const RawManifest& m) = 0;
  // Records the image under its name once everything under it is in; for an
  // archive sink this is where the archive is written.
  virtual Result<> commit_image(const CopiedImage& image) = 0;
  // Called once after every image of a run (archives with several images).
  virtual Result<> finish() { return {}; }
  // The name to print for the image: by default the source's name.
  virtual std::string display_name(const CopiedImage& image) const { return image.name; }
  // True when the sink writes its data to stdout (oci-archive:-): the tool then
  // prints its result lines to stderr instead.
  virtual bool writes_stdout() const { return false; }
};

}  // namespace hoist::transport
