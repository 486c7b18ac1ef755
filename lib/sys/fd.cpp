#include "sys/fd.h"

#include <cerrno>
#include <unistd.h>

namespace hoist::sys {

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<> Fd::close() {
  int fd = std::exchange(fd_, -1);
  if (fd < 0) return {};
  // close(2) must not be retried on EINTR on Linux: the fd is gone either way.
  if (::close(fd) < 0 && errno != EINTR) return fail(Error::from_errno(errno, "cannot close file"));
  return {};
}

}  // namespace hoist::sys
