#pragma once
// LockFile: an flock(2) on a file, held for the life of the object, taken with a
// bounded wait. It serialises processes (and threads: each LockFile opens its own
// file description, and flock locks belong to the description) that share a store
// or a layout directory.
//
// The holder writes its pid into the file (a fixed-width decimal line at offset 0)
// so that a waiter can name it: "waiting for store '/var/lib/hoist' (locked by pid
// 123)" through log::info, once, and on timeout
//   kUnavailable "store '/var/lib/hoist' is locked by pid 123".
// A shared holder writes its pid too; with several shared holders the file names
// one of them. The pid may be stale (the file is never truncated): it is a hint for
// people, never used for decisions. flock locks die with their process, so a crashed
// holder never blocks anyone.
// Thread-compatible; move-only.

#include <chrono>
#include <string>
#include <string_view>

#include "sys/fd.h"
#include "util/result.h"

namespace hoist::store {

inline constexpr std::chrono::milliseconds kDefaultLockTimeout{60'000};

// flock(2), retrying EINTR; op is LOCK_SH/LOCK_EX/LOCK_UN [| LOCK_NB] from <sys/file.h>.
// Returns 0 or -1 with errno set.
int flock_fd(int fd, int op);

class LockFile {
 public:
  enum class Mode : uint8_t { kShared, kExclusive };

  // Opens (creating, mode 0644) `path` and locks it. `what` names the guarded thing
  // in messages ("store '/x'"). A timeout of 0 tries once.
  static Result<LockFile> acquire(const std::string& path, Mode mode, std::chrono::milliseconds timeout,
                                  std::string_view what);
  // Locks an already open descriptor (e.g. a directory); does not write a pid.
  static Result<LockFile> acquire_fd(sys::Fd fd, Mode mode, std::chrono::milliseconds timeout,
                                     std::string_view what);

  LockFile(LockFile&&) noexcept = default;
  LockFile& operator=(LockFile&&) noexcept = default;
  ~LockFile() = default;  // closing the descriptor releases the lock

  int fd() const { return fd_.get(); }

 private:
  explicit LockFile(sys::Fd fd) : fd_(std::move(fd)) {}
  static Result<LockFile> wait_for(sys::Fd fd, Mode mode, std::chrono::milliseconds timeout,
                                   std::string_view what, bool write_pid);
  sys::Fd fd_;
};

}  // namespace hoist::store
