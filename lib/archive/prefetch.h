#pragma once
// PrefetchReader: reads its source on a thread of its own, a few chunks ahead of
// the consumer, so that decompressing and hashing a layer (the source side) run
// on one core while applying it (the consumer side) runs on another.
//
// The source Reader (and everything below it) is used only by the prefetch
// thread from construction until read() has returned 0 or an error, or the
// PrefetchReader is destroyed; only then may the caller look at it again (e.g.
// a HashingReader's digest()). The destructor stops and joins the thread.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "io/stream.h"

namespace hoist::archive {

class PrefetchReader : public io::Reader {
 public:
  explicit PrefetchReader(io::Reader& source, size_t chunk = size_t{1} << 20, size_t depth = 4);
  ~PrefetchReader() override;
  PrefetchReader(const PrefetchReader&) = delete;
  PrefetchReader& operator=(const PrefetchReader&) = delete;

  Result<size_t> read(std::span<std::byte> buf) override;

 private:
  struct Chunk {
    std::unique_ptr<std::byte[]> data;
    size_t size = 0;
  };
  void produce(std::stop_token stop);

  io::Reader& source_;
  size_t chunk_;
  size_t depth_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Chunk> full_;
  std::vector<Chunk> free_;
  std::optional<Error> error_;
  bool eof_ = false;
  Chunk current_;
  size_t pos_ = 0;
  std::jthread thread_;  // last: started after the members it uses
};

}  // namespace hoist::archive
