#include "archive/prefetch.h"

#include <cstring>

namespace hoist::archive {

PrefetchReader::PrefetchReader(io::Reader& source, size_t chunk, size_t depth)
    : source_(source), chunk_(chunk), depth_(depth < 1 ? 1 : depth) {
  thread_ = std::jthread([this](std::stop_token st) { produce(st); });
}

PrefetchReader::~PrefetchReader() {
  thread_.request_stop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PrefetchReader::produce(std::stop_token stop) {
  for (;;) {
    Chunk c;
    {
      std::unique_lock lk(mu_);
      if (!cv_.wait(lk, stop, [&] { return full_.size() < depth_; })) return;
      if (!free_.empty()) {
        c = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!c.data) c.data.reset(new std::byte[chunk_]);
    // Fill the chunk as far as the source goes, so small reads from a
    // decompressor do not turn into many hand-offs.
    c.size = 0;
    bool end = false;
    std::optional<Error> err;
    while (c.size < chunk_) {
      auto n = source_.read(std::span(c.data.get() + c.size, chunk_ - c.size));
      if (!n) {
        err = std::move(n).error();
        break;
      }
      if (*n == 0) {
        end = true;
        break;
      }
      c.size += *n;
      if (c.size >= chunk_ / 2) break;
    }
    std::lock_guard lk(mu_);
    if (c.size > 0) full_.push_back(std::move(c));
    if (err) error_ = std::move(err);
    if (end) eof_ = true;
    cv_.notify_all();
    if (err || end) return;
  }
}

Result<size_t> PrefetchReader::read(std::span<std::byte> buf) {
  if (buf.empty()) return size_t{0};
  if (!current_.data || pos_ >= current_.size) {
    std::unique_lock lk(mu_);
    if (current_.data) {
      free_.push_back(std::move(current_));
      current_ = Chunk{};
    }
    cv_.wait(lk, [&] { return !full_.empty() || eof_ || error_; });
    if (full_.empty()) {
      if (error_) return fail(*error_);
      return size_t{0};
    }
    current_ = std::move(full_.front());
    full_.pop_front();
    pos_ = 0;
    cv_.notify_all();
  }
  size_t n = std::min(buf.size(), current_.size - pos_);
  std::memcpy(buf.data(), current_.data.get() + pos_, n);
  pos_ += n;
  return n;
}

}  // namespace hoist::archive
