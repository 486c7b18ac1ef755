#pragma once
// NullWriter: a sink that discards its bytes and counts them. Put under a
// HashingWriter to compute a digest and size without storing anything.

#include <cstdint>

#include "io/stream.h"

namespace hoist::io {

class NullWriter : public Writer {
 public:
  Result<> write(std::span<const std::byte> data) override {
    count_ += data.size();
    return {};
  }
  uint64_t count() const { return count_; }

 private:
  uint64_t count_ = 0;
};

}  // namespace hoist::io
