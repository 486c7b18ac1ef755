#pragma once
// copy(): the pump between a Reader and a Writer.

#include <cstdint>

#include "io/stream.h"

namespace hoist::io {

constexpr size_t kCopyBufferSize = size_t{1} << 20;

// Reads `in` to its end and writes every byte to `out`; returns the byte count.
// Does not close `out` (the caller decides when the stream is complete).
// Errors from either side pass through unchanged.
Result<uint64_t> copy(Reader& in, Writer& out, size_t buffer_size = kCopyBufferSize);

}  // namespace hoist::io
