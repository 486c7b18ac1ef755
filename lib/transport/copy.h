#pragma once
// copy(): one image from a Source into a Sink. Manifests are resolved first,
// the platform picked from an index, then every blob the sink lacks is fetched
// by `jobs` workers at once, each streamed through the sink's BlobWriter
// (hashed as it is written, verified at commit) and resumed from the sink's
// partial bytes; manifests are stored after all the blobs they name, and the
// image is recorded last. The first failure stops the other transfers (their
// partial bytes stay resumable) and is returned.

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
