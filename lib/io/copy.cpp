#include "io/copy.h"

#include <memory>

namespace hoist::io {

Result<uint64_t> copy(Reader& in, Writer& out, size_t buffer_size) {
  if (buffer_size == 0) buffer_size = kCopyBufferSize;
  auto buf = std::make_unique_for_overwrite<std::byte[]>(buffer_size);
  uint64_t total = 0;
  while (true) {
    size_t n = HOIST_TRY(in.read({buf.get(), buffer_size}));
    if (n == 0) return total;
    HOIST_CHECK(out.write({buf.get(), n}));
    total += n;
  }
}

}  // namespace hoist::io
