#pragma once
// PeekReader: look at the first bytes of a stream without consuming them
// (compression sniffing, tar vs. JSON detection on stdin).

#include <memory>
#include <vector>

#include "io/stream.h"

namespace hoist::io {

class PeekReader : public Reader {
 public:
  explicit PeekReader(Reader& in) : in_(in) {}

  // Returns up to n bytes from the current position without consuming them;
  // fewer only when the stream ends sooner. The span stays valid until the
  // next call on this reader. Errors from `in` pass through.
  Result<std::span<const std::byte>> peek(size_t n);

  // Serves peeked bytes first, then reads from `in` directly.
  Result<size_t> read(std::span<std::byte> buf) override;

 private:
  Reader& in_;
  std::vector<std::byte> buf_;
  size_t pos_ = 0;  // first unread byte in buf_
  bool eof_ = false;
};

}  // namespace hoist::io
