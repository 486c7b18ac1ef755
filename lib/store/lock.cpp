#include "store/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include <fmt/core.h>

#include "sys/file_io.h"
#include "util/log.h"
#include "util/strings.h"


namespace hoist::store {

int flock_fd(int fd, int op) {
  int r;
  do {
    r = ::flock(fd, op);
  } while (r < 0 && errno == EINTR);
  return r;
}

namespace {

constexpr size_t kPidWidth = 11;  // "4194304   \n": pid_max is at most 2^22

// Reads the pid a holder wrote; "unknown" when the file holds none (a directory
// lock, or a holder that died between lock and write).
std::string holder_pid(int fd) {
  char buf[kPidWidth + 1] = {};
  ssize_t n = ::pread(fd, buf, kPidWidth, 0);
  if (n <= 0) return "unknown";
  auto pid = parse_u64(trim(std::string_view(buf, size_t(n))));
  return pid ? std::to_string(*pid) : "unknown";
}

}  // namespace

Result<LockFile> LockFile::acquire(const std::string& path, Mode mode, std::chrono::milliseconds timeout,
                                   std::string_view what) {
  sys::Fd fd = HOIST_TRY(sys::open_file(path, O_RDWR | O_CREAT, 0644));
  return wait_for(std::move(fd), mode, timeout, what, true);
}

Result<LockFile> LockFile::acquire_fd(sys::Fd fd, Mode mode, std::chrono::milliseconds timeout,
                                      std::string_view what) {
  return wait_for(std::move(fd), mode, timeout, what, false);
}

Result<LockFile> LockFile::wait_for(sys::Fd fd, Mode mode, std::chrono::milliseconds timeout,
                                    std::string_view what, bool write_pid) {
  const int op = (mode == Mode::kExclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Polling rather than a blocking flock with an alarm: a library must not own
  // signals. The sleep grows from 1 ms to 50 ms, so a short hold (one RocksDB
  // WriteBatch) costs a waiter little and a long one costs the CPU nothing.
  auto sleep = std::chrono::milliseconds(1);
  bool told = false;
  for (;;) {
    if (flock_fd(fd.get(), op) == 0) break;
    if (errno != EWOULDBLOCK) return fail(Error::from_errno(errno, fmt::format("cannot lock {}", what)));
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(Errc::kUnavailable, fmt::format("{} is locked by pid {}", what, holder_pid(fd.get())));
    }
    if (!told) {
      log::info("waiting for {} (locked by pid {})", what, holder_pid(fd.get()));
      told = true;
    }
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::milliseconds(50));
  }
  if (write_pid) {
    // Fixed width, so no truncation is needed and a shorter pid never leaves the
    // tail of a longer one behind. Failure to record is harmless (a hint only).
    std::string line = fmt::format("{:<{}}\n", ::getpid(), kPidWidth - 1);
    (void)!::pwrite(fd.get(), line.data(), line.size(), 0);
  }
  return LockFile(std::move(fd));
}

}  // namespace hoist::store
