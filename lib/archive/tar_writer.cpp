#include "archive/tar_writer.h"

#include <algorithm>

#include <fmt/core.h>

#include "io/tar_format.h"

namespace hoist::archive {

namespace {

constexpr size_t kChunk = size_t{1} << 20;

Result<char> typeflag_of(EntryType t) {
  switch (t) {
    case EntryType::kFile: return io::tar::kTypeFile;
    case EntryType::kDir: return io::tar::kTypeDir;
    case EntryType::kSymlink: return io::tar::kTypeSymlink;
    case EntryType::kHardlink: return io::tar::kTypeHardlink;
    case EntryType::kChar: return io::tar::kTypeChar;
    case EntryType::kBlock: return io::tar::kTypeBlock;
    case EntryType::kFifo: return io::tar::kTypeFifo;
    case EntryType::kOther: break;
  }
  return fail(Errc::kInvalidArgument, "unknown entry type");
}

}  // namespace

Result<> TarWriter::put(std::span<const std::byte> bytes) {
  auto r = out_.write(bytes);
  if (!r) {
    broken_ = true;
    return r;
  }
  written_ += bytes.size();
  return {};
}

Result<> TarWriter::begin(const TarEntry& e) {
  if (broken_) return fail(Errc::kInvalidArgument, "tar writer failed earlier");
  if (in_file_) return fail(Errc::kInvalidArgument, "tar: header written inside a file's data");
  if (finished_) return fail(Errc::kInvalidArgument, "tar: entry after the end-of-archive marker");
  auto type = typeflag_of(e.type);
  if (!type) return fail(std::move(type).error().context(fmt::format("cannot write tar entry '{}'", e.path)));
  if (e.sparse) return fail(Errc::kUnsupported, fmt::format("cannot write tar entry '{}': sparse file", e.path));

  std::string dir_name;
  io::tar::Header h;
  h.name = e.path;
  if (e.type == EntryType::kDir && !e.path.empty() && e.path.back() != '/') {
    dir_name = e.path + "/";
    h.name = dir_name;
  }
  h.typeflag = *type;
  h.mode = e.mode;
  h.uid = e.uid;
  h.gid = e.gid;
  h.mtime = e.mtime_sec;
  h.size = e.type == EntryType::kFile ? e.size : 0;
  if (e.type == EntryType::kSymlink || e.type == EntryType::kHardlink) h.linkname = e.linkname;
  if (e.type == EntryType::kChar || e.type == EntryType::kBlock) {
    h.dev_major = e.dev_major;
    h.dev_minor = e.dev_minor;
  }
  h.xattrs = e.xattrs;
  header_.clear();
  HOIST_CHECK(io::tar::append_header(h, header_));
  HOIST_CHECK(put(std::as_bytes(std::span(header_.data(), header_.size()))));
  in_file_ = true;
  remaining_ = h.size;
  pad_ = io::tar::padding(h.size);
  return {};
}

Result<> TarWriter::write_data(std::span<const std::byte> data) {
  if (broken_) return fail(Errc::kInvalidArgument, "tar writer failed earlier");
  if (!in_file_ || data.size() > remaining_)
    return fail(Errc::kInvalidArgument, "tar: more data than the entry's header announced");
  HOIST_CHECK(put(data));
  remaining_ -= data.size();
  return {};
}

Result<> TarWriter::end() {
  if (broken_) return fail(Errc::kInvalidArgument, "tar writer failed earlier");
  if (!in_file_) return fail(Errc::kInvalidArgument, "tar: end without begin");
  if (remaining_ != 0)
    return fail(Errc::kInvalidArgument, fmt::format("tar: entry ended {} bytes short of its header", remaining_));
  HOIST_CHECK(put(io::tar::zeros(size_t(pad_))));
  in_file_ = false;
  pad_ = 0;
  return {};
}

Result<> TarWriter::add(const TarEntry& e) {
  if (e.type == EntryType::kFile && e.size > 0)
    return fail(Errc::kInvalidArgument, fmt::format("cannot write tar entry '{}': file data missing", e.path));
  HOIST_CHECK(begin(e));
  return end();
}

Result<> TarWriter::add_file(const TarEntry& e, io::Reader& data) {
  if (e.type != EntryType::kFile)
    return fail(Errc::kInvalidArgument, fmt::format("cannot write tar entry '{}': not a regular file", e.path));
  HOIST_CHECK(begin(e));
  if (remaining_ > 0 && !buf_) buf_ = std::make_unique<std::byte[]>(kChunk);
  while (remaining_ > 0) {
    size_t want = size_t(std::min<uint64_t>(kChunk, remaining_));
    auto n = data.read(std::span(buf_.get(), want));
    if (!n) {
      broken_ = true;  // the header promised bytes that will not come
      return fail(std::move(n).error().context(fmt::format("cannot read data of '{}'", e.path)));
    }
    if (*n == 0) {
      broken_ = true;
      return fail(Errc::kIo,
                  fmt::format("short content for '{}': got {} of {} bytes", e.path, e.size - remaining_, e.size));
    }
    HOIST_CHECK(write_data(std::span<const std::byte>(buf_.get(), *n)));
  }
  return end();
}

Result<> TarWriter::finish() {
  if (broken_) return fail(Errc::kInvalidArgument, "tar writer failed earlier");
  if (in_file_) return fail(Errc::kInvalidArgument, "tar: finish inside a file's data");
  if (finished_) return fail(Errc::kInvalidArgument, "tar: end-of-archive marker written twice");
  HOIST_CHECK(put(io::tar::zeros(io::tar::kEndOfArchiveSize)));
  finished_ = true;
  return {};
}

}  // namespace hoist::archive
