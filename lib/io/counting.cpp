#include "io/counting.h"

namespace hoist::io {

Result<> CountingWriter::write(std::span<const std::byte> data) {
  HOIST_CHECK(next_.write(data));
  uint64_t before = count_;
  count_ += data.size();
  if (on_progress_ && count_ / every_ != before / every_) on_progress_(count_);
  return {};
}

Result<> CountingWriter::close() {
  bool first = !closed_;
  closed_ = true;
  HOIST_CHECK(next_.close());
  if (first && on_progress_) on_progress_(count_);
  return {};
}

Result<size_t> CountingReader::read(std::span<std::byte> buf) {
  size_t n = HOIST_TRY(in_.read(buf));
  uint64_t before = count_;
  count_ += n;
  if (on_progress_) {
    if (n == 0 && !buf.empty() && !ended_) {
      ended_ = true;
      on_progress_(count_);
    } else if (count_ / every_ != before / every_) {
      on_progress_(count_);
    }
  }
  return n;
}

}  // namespace hoist::io
