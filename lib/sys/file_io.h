#pragma once
// Plain file helpers over sys::Fd. Errors carry errno (Error::from_errno) and the path.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sys/fd.h"

namespace hoist::sys {

Result<Fd> open_file(const std::string& path, int flags, int mode = 0644);  // adds O_CLOEXEC
Result<> write_all(int fd, std::span<const std::byte> data);
Result<> write_all(int fd, std::string_view data);
Result<size_t> read_some(int fd, std::span<std::byte> buf);  // retries EINTR; 0 = EOF
Result<std::string> read_file(const std::string& path, size_t max_bytes);  // kInvalidArgument if larger
// Writes the whole file atomically: temp file in the same dir, fsync, rename, fsync dir.
Result<> write_file_atomic(const std::string& path, std::string_view data, int mode = 0644);
Result<> fsync_dir(const std::string& dir);
Result<> mkdir_all(const std::string& path, int mode = 0755);
Result<> remove_all(const std::string& path);  // like rm -rf; ENOENT is not an error
bool exists(const std::string& path);
// Bytes an unprivileged writer may still use on the filesystem holding `path`
// (statvfs f_bavail * f_frsize).
Result<uint64_t> free_space(const std::string& path);
// Starts writeback of [offset, offset+len) without waiting (sync_file_range
// SYNC_FILE_RANGE_WRITE), so a later fsync finds little left to write. Only a
// hint: errors are ignored, and it guarantees nothing about durability.
void start_writeback(int fd, uint64_t offset, uint64_t len);

}  // namespace hoist::sys
