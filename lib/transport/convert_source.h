#pragma once
// A Source that serves another Source's image converted between Docker v2
// schema 2 and OCI (hoist-push --format, skopeo copy --format). Manifests and
// indexes get new bytes (so a new digest); configs and layers pass through
// unchanged, their digests kept (image/convert.h). An image already in the
// target format is served byte for byte: its digest does not change.
//
// Lossy conversions are refused, never done quietly: resolve() fails with
// kUnsupported "cannot convert 'NAME' to v2s2: it would drop annotations,
// layers[0].artifactType" (or "...: zstd layers have no Docker media type").

#include <memory>

#include "image/convert.h"
#include "transport/transport.h"

namespace hoist::transport {

// `inner` must outlive the result.
std::unique_ptr<Source> converting_source(Source& inner, image::Format to);

}  // namespace hoist::transport
