#pragma once
// Byte streams. Filters (hashing, counting, limiting, (de)compressing) wrap a
// Reader or Writer so each byte is touched once (STYLE.md 3.4).
// Push (Writer) where the C library pushes (curl WRITEFUNCTION, archive_write_open);
// pull (Reader) where it pulls (archive_read_open, curl READFUNCTION).
//
// Conventions every filter in lib/io follows:
// - A filter holds its Reader/Writer by reference and does not own it; the
//   caller keeps it alive for the filter's lifetime.
// - A filter Writer's close() finishes its own output (trailer, verification)
//   and then closes the Writer below it, so closing the top of a chain finishes
//   the whole chain. close() is idempotent: calling it again returns the first
//   result without doing the work twice.
// - A filter with state to protect (compressors, verifiers, limits) stays
//   broken after an error: later calls fail again. Pass-through
//   filters (hashing, counting, tee) report whatever the stream below says.
// - Streams are thread-compatible (one thread at a time), never thread-safe.

#include <cstddef>
#include <span>

#include "util/result.h"

namespace hoist::io {

class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to buf.size() bytes; 0 means end of stream.
  virtual Result<size_t> read(std::span<std::byte> buf) = 0;
};

class Writer {
 public:
  virtual ~Writer() = default;
  // Writes all of data or fails.
  virtual Result<> write(std::span<const std::byte> data) = 0;
  // Flushes and finishes the stream (a compressor writes its trailer). Destructors
  // never report errors: call close() where the result matters. Idempotent.
  virtual Result<> close() { return {}; }
};

}  // namespace hoist::io
