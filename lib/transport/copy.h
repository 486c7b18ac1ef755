#pragma once
// copy(): one image from a Source into a Sink. Manifests are resolved first,
// the platform picked from an index, then every blob the sink lacks is fetched
// by `jobs` workers at once, each streamed through the sink's BlobWriter
// (hashed as it is written, verified at commit) and resumed from the sink's
// partial bytes; a sink that verifies digests on its own side (a registry:
// Sink::verifies_blobs) is handed a local source's blob files instead
// (Source::blob_file, BlobWriter::send_file), which are not hashed here, and
// its refusal of a corrupt file is explained (kDigestMismatch naming the blob,
// the source and the file); manifests are stored after all the blobs they name, and the
// image is recorded last. The first failure stops the other transfers (their
// partial bytes stay resumable) and is returned.
//
// Retries: the source retries its own reads (with a resumed range). A sink
// error classed kUnavailable (a registry upload cut, a chunk refused with 416,
// a 401 mid-upload, 5xx) is retried per blob, up to sink_attempts in all, with
// backoff: put_blob() again, which resumes from the offset the sink reports
// (what the registry holds), and the source is read from there. Other sink
// errors (disk full, digest mismatch) fail at once.

#include <optional>
#include <stop_token>

#include "ref/platform.h"
#include "transport/transport.h"
#include "util/progress.h"

namespace hoist::transport {

struct CopyOptions {
  std::optional<ref::Platform> platform;  // default: the host's
  bool all_platforms = false;             // keep the whole index
  int jobs = 4;
  int sink_attempts = 5;  // per blob, the first included; 1 = no sink retries
  std::stop_token stop;
};

struct CopyResult {
  std::string name;          // as printed: "127.0.0.1:5000/test/app"
  image::Descriptor root;    // the manifest picked (or the index with all_platforms)
  std::optional<ref::Platform> platform;
  uint64_t bytes_fetched = 0;
  int blobs_fetched = 0;
  int blobs_skipped = 0;
  std::string pinned() const;  // "NAME@sha256:..."
};

Result<CopyResult> copy(Source& src, Sink& dst, const CopyOptions& options, ProgressSink& progress);

}  // namespace hoist::transport
