#pragma once
// Streams over raw file descriptors, which the caller owns and keeps open
// (stdin/stdout in pipes, files opened through lib/sys). EINTR is retried; a
// non-blocking descriptor is waited on with poll(), so both kinds work.
// Errors carry errno (Error::from_errno): "cannot read fd 3: Broken pipe".

#include <cstdint>

#include "io/stream.h"

namespace hoist::io {

class FdReader : public Reader {
 public:
  explicit FdReader(int fd) : fd_(fd) {}
  Result<size_t> read(std::span<std::byte> buf) override;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Full-write loop: write() returns only when every byte is written or an
// error occurred. close() does not close the descriptor (not owned).
class FdWriter : public Writer {
 public:
  explicit FdWriter(int fd) : fd_(fd) {}
  Result<> write(std::span<const std::byte> data) override;
  int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace hoist::io
