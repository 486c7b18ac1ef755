#include "io/peek.h"

#include <algorithm>
#include <cstring>

namespace hoist::io {

Result<std::span<const std::byte>> PeekReader::peek(size_t n) {
  if (pos_ > 0) {  // compact so buf_ holds only unread bytes
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  while (buf_.size() < n && !eof_) {
    size_t have = buf_.size();
    buf_.resize(n);
    auto r = in_.read(std::span(buf_).subspan(have));
    if (!r) {
      buf_.resize(have);
      return fail(std::move(r).error());
    }
    buf_.resize(have + *r);
    if (*r == 0) eof_ = true;
  }
  return std::span<const std::byte>(buf_).first(std::min(n, buf_.size()));
}

Result<size_t> PeekReader::read(std::span<std::byte> buf) {
  if (pos_ < buf_.size()) {
    size_t n = std::min(buf.size(), buf_.size() - pos_);
    std::memcpy(buf.data(), buf_.data() + pos_, n);
    pos_ += n;
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    return n;
  }
  if (eof_) return 0;
  return in_.read(buf);
}

}  // namespace hoist::io
