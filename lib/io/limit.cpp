#include "io/limit.h"

#include <fmt/core.h>

#include <algorithm>

namespace hoist::io {

namespace {

Error too_long(uint64_t max) {
  return Error(Errc::kInvalidArgument, fmt::format("body longer than {} bytes", max));
}

}  // namespace

Result<size_t> LimitedReader::read(std::span<std::byte> buf) {
  if (error_.failed()) return error_.get();
  if (buf.empty()) return 0;
  // Allow one byte past the cap so that "exactly max" and "more" differ.
  uint64_t allowed = max_ - count_ + 1;
  if (allowed == 0) allowed = max_;  // max_ == UINT64_MAX and nothing read: wrapped
  size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), allowed));
  auto n = in_.read(buf.first(want));
  if (!n) return error_.set(std::move(n).error());
  if (*n > max_ - count_) return error_.set(too_long(max_));
  count_ += *n;
  return *n;
}

Result<> LimitedWriter::write(std::span<const std::byte> data) {
  if (error_.failed()) return error_.get();
  if (data.size() > max_ - count_) return error_.set(too_long(max_));
  auto r = next_.write(data);
  if (!r) return error_.set(std::move(r).error());
  count_ += data.size();
  return {};
}

}  // namespace hoist::io
