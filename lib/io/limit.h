#pragma once
// Size caps on untrusted streams (a registry's body, a manifest, an archive
// member). Exceeding the cap is kInvalidArgument "body longer than N bytes".

#include <cstdint>

#include "io/stream.h"
#include "io/sticky_error.h"

namespace hoist::io {

// Reads at most `max` bytes from `in`. A stream of exactly `max` bytes ends
// normally; once a byte beyond `max` shows up, read() fails. To tell the two
// apart it asks `in` for one byte more than the cap, so it may consume one
// byte past `max` (only when failing).
class LimitedReader : public Reader {
 public:
  LimitedReader(Reader& in, uint64_t max) : in_(in), max_(max) {}
  Result<size_t> read(std::span<std::byte> buf) override;
  uint64_t count() const { return count_; }

 private:
  Reader& in_;
  uint64_t max_;
  uint64_t count_ = 0;
  detail::StickyError error_;
};

// Passes at most `max` bytes to `next`. A write that would go past the cap
// fails and passes none of its bytes on. close() closes `next`.
class LimitedWriter : public Writer {
 public:
  LimitedWriter(Writer& next, uint64_t max) : next_(next), max_(max) {}
  Result<> write(std::span<const std::byte> data) override;
  Result<> close() override { return next_.close(); }
  uint64_t count() const { return count_; }

 private:
  Writer& next_;
  uint64_t max_;
  uint64_t count_ = 0;
  detail::StickyError error_;
};

}  // namespace hoist::io
