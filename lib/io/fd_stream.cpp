#include "io/fd_stream.h"

#include <fmt/core.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace hoist::io {

namespace {

// A descriptor inherited from a parent may be O_NONBLOCK (node, some shells set
// it on a shared pipe); wait for it instead of failing with EAGAIN.
bool wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, -1);
  } while (r < 0 && errno == EINTR);
  return r >= 0;
}

// Linux transfers at most 0x7ffff000 bytes per call anyway.
constexpr size_t kMaxChunk = size_t{1} << 30;

}  // namespace

Result<size_t> FdReader::read(std::span<std::byte> buf) {
  size_t want = std::min(buf.size(), kMaxChunk);
  while (true) {
    ssize_t n = ::read(fd_, buf.data(), want);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_for(fd_, POLLIN)) continue;
    return fail(Error::from_errno(errno, fmt::format("cannot read fd {}", fd_)));
  }
}

Result<> FdWriter::write(std::span<const std::byte> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), std::min(data.size(), kMaxChunk));
    if (n > 0) {
      data = data.subspan(static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return fail(Error::from_errno(EIO, fmt::format("cannot write fd {}", fd_)));
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_for(fd_, POLLOUT)) continue;
    return fail(Error::from_errno(errno, fmt::format("cannot write fd {}", fd_)));
  }
  return {};
}

}  // namespace hoist::io
