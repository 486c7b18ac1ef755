#include "layout/archive_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/core.h>

#include "layout/tar.h"
#include "sys/file_io.h"

namespace hoist::layout {
namespace {

// Sequential reads for the tar headers, lseek for the data in between.
class FileCursor final : public io::Reader, public tar::Skipper {
 public:
  FileCursor(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Result<size_t> read(std::span<std::byte> buf) override { return sys::read_some(fd_, buf); }
  Result<> skip(uint64_t n) override {
    if (::lseek(fd_, off_t(n), SEEK_CUR) < 0)
      return fail(Error::from_errno(errno, fmt::format("cannot seek in '{}'", path_)));
    return {};
  }

 private:
  int fd_;
  std::string path_;
};

// pread from [offset, end): no shared file position, so readers run in parallel.
class RangeReader final : public io::Reader {
 public:
  RangeReader(int fd, uint64_t pos, uint64_t end) : fd_(fd), pos_(pos), end_(end) {}
  Result<size_t> read(std::span<std::byte> buf) override {
    if (pos_ >= end_ || buf.empty()) return size_t{0};
    size_t want = size_t(std::min<uint64_t>(buf.size(), end_ - pos_));
    for (;;) {
      ssize_t n = ::pread(fd_, buf.data(), want, off_t(pos_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(Error::from_errno(errno, "cannot read archive member"));
      if (n == 0) return fail(Errc::kIo, "archive member cut short: the file shrank");
      pos_ += uint64_t(n);
      return size_t(n);
    }
  }

 private:
  int fd_;
  uint64_t pos_;
  uint64_t end_;
};

}  // namespace

Result<std::string> clean_member_name(std::string_view name) {
  if (name.empty()) return fail(Errc::kInvalidArgument, "empty member name");
  if (name.front() == '/') return fail(Errc::kInvalidArgument, fmt::format("'{}': absolute member name", name));
  std::string out;
  size_t i = 0;
  while (i <= name.size()) {
    size_t slash = name.find('/', i);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view c = name.substr(i, slash - i);
    if (c == "..") return fail(Errc::kInvalidArgument, fmt::format("'{}': path escapes the archive", name));
    if (!c.empty() && c != ".") {
      if (!out.empty()) out += '/';
      out += c;
    }
    i = slash + 1;
  }
  if (out.empty()) return fail(Errc::kInvalidArgument, fmt::format("'{}': empty member name", name));
  return out;
}

Result<std::unique_ptr<ArchiveFile>> ArchiveFile::open(const std::string& path) {
  auto fd = HOIST_TRY(sys::open_file(path, O_RDONLY));
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return fail(Error::from_errno(errno, fmt::format("cannot stat '{}'", path)));
  if (!S_ISREG(st.st_mode))
    return fail(Errc::kInvalidArgument,
                fmt::format("'{}' is not a regular file (use '-' for a stream on stdin)", path));
  std::unique_ptr<ArchiveFile> a(new ArchiveFile(path, std::move(fd)));
  FileCursor cur(a->fd_.get(), path);
  tar::TarReader tr(cur, &cur);
  for (;;) {
    auto e = tr.next();
    if (!e) return fail(std::move(e).error().context(fmt::format("cannot read archive '{}'", path)));
    if (!*e) break;
    if ((*e)->type != '0') continue;
    if (tr.data_offset() + (*e)->size > uint64_t(st.st_size))
      return fail(Errc::kIo, fmt::format("cannot read archive '{}': '{}' runs past the end of the file (truncated?)",
                                         path, (*e)->name));
    auto name = clean_member_name((*e)->name);
    if (!name) continue;
    a->members_[*name] = Member{tr.data_offset(), (*e)->size};
  }
  return a;
}

const ArchiveFile::Member* ArchiveFile::find(std::string_view name) const {
  auto clean = clean_member_name(name);
  if (!clean) return nullptr;
  auto it = members_.find(*clean);
  return it == members_.end() ? nullptr : &it->second;
}

Result<std::string> ArchiveFile::read(std::string_view name, size_t max_bytes) const {
  const Member* m = find(name);
  if (!m) return fail(Errc::kNotFound, fmt::format("no '{}' in archive '{}'", name, path_));
  if (m->size > max_bytes)
    return fail(Errc::kInvalidArgument,
                fmt::format("'{}' in archive '{}' is {} bytes, more than {} allowed", name, path_, m->size, max_bytes));
  std::string s(size_t(m->size), '\0');
  RangeReader r(fd_.get(), m->offset, m->offset + m->size);
  size_t got = 0;
  while (got < s.size()) {
    size_t n = HOIST_TRY(r.read(std::as_writable_bytes(std::span(s.data() + got, s.size() - got))));
    if (n == 0) break;
    got += n;
  }
  return s;
}

std::unique_ptr<io::Reader> ArchiveFile::open_member(const Member& m, uint64_t offset) const {
  return std::make_unique<RangeReader>(fd_.get(), m.offset + std::min(offset, m.size), m.offset + m.size);
}

}  // namespace hoist::layout
