#include "io/memory.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

namespace hoist::io {

Result<size_t> StringReader::read(std::span<std::byte> buf) {
  size_t n = std::min(buf.size(), data_.size() - pos_);
  if (n > 0) std::memcpy(buf.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

Result<> StringWriter::write(std::span<const std::byte> data) {
  if (data.size() > max_size_ - out_.size()) {
    return fail(Errc::kInvalidArgument, fmt::format("content exceeds {} bytes", max_size_));
  }
  out_.append(reinterpret_cast<const char*>(data.data()), data.size());
  return {};
}

}  // namespace hoist::io
