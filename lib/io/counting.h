#pragma once
// Counting filters for progress reporting: a callback every `every` bytes.

#include <cstdint>
#include <functional>

#include "io/stream.h"

namespace hoist::io {

// Called with the running total. The callback must not throw and must not
// touch the stream it observes.
using ProgressFn = std::function<void(uint64_t total)>;

// Passes bytes to `next`, counting those `next` accepted. on_progress runs
// whenever the total crosses a multiple of `every` (at most once per write),
// and once more from a successful close() with the final total. close()
// closes `next`.
class CountingWriter : public Writer {
 public:
  CountingWriter(Writer& next, ProgressFn on_progress, uint64_t every = uint64_t{1} << 20)
      : next_(next), on_progress_(std::move(on_progress)), every_(every == 0 ? 1 : every) {}
  Result<> write(std::span<const std::byte> data) override;
  Result<> close() override;
  uint64_t count() const { return count_; }

 private:
  Writer& next_;
  ProgressFn on_progress_;
  uint64_t every_;
  uint64_t count_ = 0;
  bool closed_ = false;
};

// The pull-side twin: on_progress when the total crosses a multiple of
// `every`, and once at end of stream.
class CountingReader : public Reader {
 public:
  CountingReader(Reader& in, ProgressFn on_progress, uint64_t every = uint64_t{1} << 20)
      : in_(in), on_progress_(std::move(on_progress)), every_(every == 0 ? 1 : every) {}
  Result<size_t> read(std::span<std::byte> buf) override;
  uint64_t count() const { return count_; }

 private:
  Reader& in_;
  ProgressFn on_progress_;
  uint64_t every_;
  uint64_t count_ = 0;
  bool ended_ = false;
};

}  // namespace hoist::io
