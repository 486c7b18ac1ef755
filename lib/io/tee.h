#pragma once
// TeeWriter: one stream, two destinations (a blob into the store while it is
// unpacked; a layer to the registry and to a local archive).

#include "io/stream.h"

namespace hoist::io {

// Writes every byte to `a`, then to `b`; the first error is returned (a failed
// `a` means `b` does not get that chunk). close() closes both, even when the
// first fails, and returns the first error.
class TeeWriter : public Writer {
 public:
  TeeWriter(Writer& a, Writer& b) : a_(a), b_(b) {}
  Result<> write(std::span<const std::byte> data) override {
    HOIST_CHECK(a_.write(data));
    return b_.write(data);
  }
  Result<> close() override {
    auto ra = a_.close();
    auto rb = b_.close();
    if (!ra) return ra;
    return rb;
  }

 private:
  Writer& a_;
  Writer& b_;
};

}  // namespace hoist::io
