#pragma once
// hoist-pull --unpack DIR REF: copy an image into the store and unpack it into
// a plain bundle at the same time (DESIGN.md "Data flow"): layer k is applied
// as soon as it and every layer below it are in the store, while later layers
// are still downloading; config.json is written once the copy has finished.
//
// How: transport::copy runs on a second thread as usual. A Source wrapper
// notes the image manifest when copy() fetches it; a ProgressSink wrapper notes
// each blob as copy() reports it committed (finished) or already present
// (skipped). The calling thread waits on those notes and applies layers in
// order with BundleWriter, reading each from the store's blobs/ directory.
// A failed apply stops the copy (its partial downloads stay resumable); a
// failed copy stops the unpack; either way DIR is removed again.
//
// One image only: an index kept whole (all_platforms) is refused.

#include <string>

#include "store/blob_dir.h"
#include "transport/copy.h"
#include "transport/transport.h"
#include "unpack/bundle_writer.h"
#include "util/progress.h"

namespace hoist::unpack {

struct PullUnpackResult {
  transport::CopyResult copy;
  std::string bundle;  // DIR, absolute
};

// `store_blobs` is where `sink` commits blobs (the store's BlobDir).
Result<PullUnpackResult> pull_and_unpack(transport::Source& src, transport::Sink& sink,
                                         const store::BlobDir& store_blobs, const transport::CopyOptions& copts,
                                         const std::string& dir, const BundleOptions& options,
                                         ProgressSink& progress);

}  // namespace hoist::unpack
