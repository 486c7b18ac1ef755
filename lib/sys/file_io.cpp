#include "sys/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <random>

namespace hoist::sys {

Result<Fd> open_file(const std::string& path, int flags, int mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return fail(Error::from_errno(errno, "cannot open '" + path + "'"));
  return Fd(fd);
}

Result<> write_all(int fd, std::span<const std::byte> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Error::from_errno(errno, "write failed"));
    }
    data = data.subspan(size_t(n));
  }
  return {};
}

Result<> write_all(int fd, std::string_view data) {
  return write_all(fd, std::as_bytes(std::span(data.data(), data.size())));
}

Result<size_t> read_some(int fd, std::span<std::byte> buf) {
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n >= 0) return size_t(n);
    if (errno != EINTR) return fail(Error::from_errno(errno, "read failed"));
  }
}

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  Fd fd = HOIST_TRY(open_file(path, O_RDONLY));
  std::string out;
  char buf[65536];
  for (;;) {
    auto n = read_some(fd.get(), std::as_writable_bytes(std::span(buf)));
    if (!n) return fail(std::move(n).error().context("cannot read '" + path + "'"));
    if (*n == 0) break;
    if (out.size() + *n > max_bytes)
      return fail(Errc::kInvalidArgument, "'" + path + "' is larger than " + std::to_string(max_bytes) + " bytes");
    out.append(buf, *n);
  }
  return out;
}

Result<> fsync_dir(const std::string& dir) {
  Fd fd = HOIST_TRY(open_file(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) < 0) return fail(Error::from_errno(errno, "cannot fsync '" + dir + "'"));
  return {};
}

Result<> write_file_atomic(const std::string& path, std::string_view data, int mode) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(std::random_device{}());
  {
    Fd fd = HOIST_TRY(open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, mode));
    auto w = write_all(fd.get(), data);
    if (w && ::fsync(fd.get()) < 0) w = fail(Error::from_errno(errno, "cannot fsync '" + tmp + "'"));
    if (w) w = fd.close();
    if (!w) {
      ::unlink(tmp.c_str());
      return fail(std::move(w).error().context("cannot write '" + path + "'"));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(Error::from_errno(e, "cannot rename into '" + path + "'"));
  }
  return fsync_dir(dir);
}

Result<> mkdir_all(const std::string& path, int mode) {
  if (path.empty()) return {};
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return fail(Errc::kAlreadyExists, "'" + path + "' exists and is not a directory");
  }
  auto slash = path.find_last_not_of('/');
  slash = slash == std::string::npos ? std::string::npos : path.rfind('/', slash);
  if (slash != std::string::npos && slash > 0) HOIST_CHECK(mkdir_all(path.substr(0, slash), mode));
  if (::mkdir(path.c_str(), mode_t(mode)) < 0 && errno != EEXIST)
    return fail(Error::from_errno(errno, "cannot create directory '" + path + "'"));
  return {};
}

Result<> remove_all(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return {};
    return fail(Error::from_errno(errno, "cannot stat '" + path + "'"));
  }
  if (S_ISDIR(st.st_mode)) {
    DIR* d = ::opendir(path.c_str());
    if (!d) return fail(Error::from_errno(errno, "cannot open directory '" + path + "'"));
    while (dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n == "." || n == "..") continue;
      auto r = remove_all(path + "/" + std::string(n));
      if (!r) {
        ::closedir(d);
        return r;
      }
    }
    ::closedir(d);
    if (::rmdir(path.c_str()) < 0 && errno != ENOENT)
      return fail(Error::from_errno(errno, "cannot remove '" + path + "'"));
    return {};
  }
  if (::unlink(path.c_str()) < 0 && errno != ENOENT)
    return fail(Error::from_errno(errno, "cannot remove '" + path + "'"));
  return {};
}

void start_writeback(int fd, uint64_t offset, uint64_t len) {
  (void)::sync_file_range(fd, off64_t(offset), off64_t(len), SYNC_FILE_RANGE_WRITE);
}

Result<uint64_t> free_space(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) return fail(Error::from_errno(errno, "cannot stat the filesystem of '" + path + "'"));
  return uint64_t(st.f_bavail) * uint64_t(st.f_frsize);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace hoist::sys
