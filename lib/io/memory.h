#pragma once
// In-memory streams: StringReader reads a string_view, StringWriter collects
// into a std::string (manifests, configs, small JSON bodies).

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "io/stream.h"

namespace hoist::io {

// Reads the bytes of `data`, which the caller keeps alive. Never fails.
class StringReader : public Reader {
 public:
  explicit StringReader(std::string_view data) : data_(data) {}
  Result<size_t> read(std::span<std::byte> buf) override;
  size_t remaining() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Appends everything written to an owned string. With max_size, a write that
// would make the string longer fails with kInvalidArgument
// "content exceeds N bytes" and appends nothing (a cap on untrusted bodies).
class StringWriter : public Writer {
 public:
  static constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();

  explicit StringWriter(size_t max_size = kUnlimited) : max_size_(max_size) {}
  Result<> write(std::span<const std::byte> data) override;
  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  size_t max_size_;
};

// Views bytes as text and text as bytes (no copy).
inline std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_string_view(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace hoist::io
