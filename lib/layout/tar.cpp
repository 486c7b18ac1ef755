#include "layout/tar.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include <fmt/core.h>

namespace hoist::layout::tar {
namespace {

using Block = std::array<char, kBlockSize>;
using io::tar::Field;
using io::tar::kChksum;
using io::tar::kLinkname;
using io::tar::kMagic;
using io::tar::kMode;
using io::tar::kName;
using io::tar::kPrefix;
using io::tar::kSize;
using io::tar::kTypeflag;
using io::tar::padding;

constexpr uint64_t kMaxPaxHeader = io::tar::kMaxPaxSize;
constexpr size_t kCopyChunk = size_t{1} << 20;

Result<uint64_t> parse_number(const Block& b, Field f, std::string_view what) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + f.off);
  if (p[0] & 0x80) {  // GNU base-256: big-endian, first byte's top bit is the flag
    if (p[0] & 0x40) return fail(Errc::kInvalidArgument, fmt::format("invalid tar header: negative {}", what));
    uint64_t v = p[0] & 0x3f;
    for (size_t i = 1; i < f.len; ++i) {
      if (v >> 56) return fail(Errc::kInvalidArgument, fmt::format("invalid tar header: {} too large", what));
      v = (v << 8) | p[i];
    }
    return v;
  }
  size_t i = 0;
  while (i < f.len && (p[i] == ' ' || p[i] == '\0')) ++i;
  uint64_t v = 0;
  for (; i < f.len && p[i] != ' ' && p[i] != '\0'; ++i) {
    if (p[i] < '0' || p[i] > '7')
      return fail(Errc::kInvalidArgument, fmt::format("invalid tar header: bad {} field", what));
    if (v >> 60) return fail(Errc::kInvalidArgument, fmt::format("invalid tar header: {} too large", what));
    v = v * 8 + uint64_t(p[i] - '0');
  }
  return v;
}

std::string get_str(const Block& b, Field f) {
  const char* p = b.data() + f.off;
  return std::string(p, strnlen(p, f.len));
}

bool all_zero(const Block& b) {
  return std::all_of(b.begin(), b.end(), [](char c) { return c == 0; });
}

bool header_only(char t) { return t == '1' || t == '2' || t == '3' || t == '4' || t == '5' || t == '6'; }

// Reads up to n bytes, looping on short reads; fewer only at end of stream.
Result<size_t> read_full(io::Reader& in, std::span<std::byte> buf) {
  size_t got = 0;
  while (got < buf.size()) {
    size_t n = HOIST_TRY(in.read(buf.subspan(got)));
    if (n == 0) break;
    got += n;
  }
  return got;
}

}  // namespace

// ---------------------------------------------------------------- TarWriter

Result<> TarWriter::header(std::string_view name, char type, uint64_t size, uint32_t mode) {
  if (in_file_) return fail(Errc::kInvalidArgument, "tar: header written inside a file's data");
  io::tar::Header h;
  h.name = name;
  h.typeflag = type;
  h.mode = mode & 07777;
  h.size = size;
  std::string blocks;
  HOIST_CHECK(io::tar::append_header(h, blocks));
  return out_.write(std::as_bytes(std::span(blocks.data(), blocks.size())));
}

Result<> TarWriter::add_directory(std::string_view name, uint32_t mode) {
  std::string n(name);
  if (n.empty() || n.back() != '/') n += '/';
  return header(n, '5', 0, mode);
}

Result<> TarWriter::begin_file(std::string_view name, uint64_t size, uint32_t mode) {
  HOIST_CHECK(header(name, '0', size, mode));
  in_file_ = true;
  remaining_ = size;
  pad_ = padding(size);
  return {};
}

Result<> TarWriter::write_data(std::span<const std::byte> data) {
  if (!in_file_ || data.size() > remaining_)
    return fail(Errc::kInvalidArgument, "tar: more data than the entry's header announced");
  HOIST_CHECK(out_.write(data));
  remaining_ -= data.size();
  return {};
}

Result<> TarWriter::end_file() {
  if (!in_file_) return fail(Errc::kInvalidArgument, "tar: end_file without begin_file");
  if (remaining_ != 0)
    return fail(Errc::kInvalidArgument, fmt::format("tar: entry ended {} bytes short of its header", remaining_));
  HOIST_CHECK(out_.write(io::tar::zeros(size_t(pad_))));
  in_file_ = false;
  return {};
}

Result<> TarWriter::add_file(std::string_view name, std::string_view content, uint32_t mode) {
  HOIST_CHECK(begin_file(name, content.size(), mode));
  HOIST_CHECK(write_data(std::as_bytes(std::span(content.data(), content.size()))));
  return end_file();
}

Result<> TarWriter::add_file_from(std::string_view name, io::Reader& in, uint64_t size, uint32_t mode) {
  HOIST_CHECK(begin_file(name, size, mode));
  auto buf = std::make_unique<std::byte[]>(kCopyChunk);
  while (remaining_ > 0) {
    size_t want = size_t(std::min<uint64_t>(kCopyChunk, remaining_));
    size_t n = HOIST_TRY(in.read(std::span(buf.get(), want)));
    if (n == 0)
      return fail(Errc::kIo, fmt::format("short content for tar entry '{}': got {} of {} bytes", name,
                                         size - remaining_, size));
    HOIST_CHECK(write_data(std::span<const std::byte>(buf.get(), n)));
  }
  return end_file();
}

Result<> TarWriter::finish() {
  if (in_file_) return fail(Errc::kInvalidArgument, "tar: finish inside a file's data");
  return out_.write(io::tar::zeros(io::tar::kEndOfArchiveSize));
}

// ---------------------------------------------------------------- TarReader

Result<> TarReader::skip(uint64_t n) {
  if (n == 0) return {};
  if (skipper_) {
    HOIST_CHECK(skipper_->skip(n));
    pos_ += n;
    return {};
  }
  std::array<std::byte, 16384> buf;
  while (n > 0) {
    size_t want = size_t(std::min<uint64_t>(buf.size(), n));
    size_t got = HOIST_TRY(in_.read(std::span(buf.data(), want)));
    if (got == 0) return fail(Errc::kIo, "truncated tar archive");
    n -= got;
    pos_ += got;
  }
  return {};
}

Result<std::string> TarReader::read_small(uint64_t size, std::string_view what) {
  if (size > kMaxPaxHeader)
    return fail(Errc::kInvalidArgument, fmt::format("invalid tar archive: {} of {} bytes", what, size));
  std::string s(size_t(size), '\0');
  size_t got = HOIST_TRY(read_full(in_, std::as_writable_bytes(std::span(s.data(), s.size()))));
  pos_ += got;
  if (got != s.size()) return fail(Errc::kIo, "truncated tar archive");
  HOIST_CHECK(skip(padding(size)));
  return s;
}

Result<std::optional<Entry>> TarReader::next() {
  if (ended_) return std::optional<Entry>();
  HOIST_CHECK(skip(remaining_ + pad_));
  remaining_ = pad_ = 0;
  std::optional<std::string> pax_path, pax_link, gnu_path, gnu_link;
  std::optional<uint64_t> pax_size;
  for (;;) {
    Block b;
    size_t n = HOIST_TRY(read_full(in_, std::as_writable_bytes(std::span(b.data(), b.size()))));
    pos_ += n;
    if (n == 0) {
      ended_ = true;
      return std::optional<Entry>();
    }
    if (n != kBlockSize) return fail(Errc::kIo, "truncated tar archive");
    if (all_zero(b)) {
      // The end marker; the second zero block may be missing (some writers).
      ended_ = true;
      return std::optional<Entry>();
    }
    uint64_t want = HOIST_TRY(parse_number(b, kChksum, "checksum"));
    unsigned usum = 0;
    int ssum = 0;
    for (size_t i = 0; i < kBlockSize; ++i) {
      bool in_field = i >= kChksum.off && i < kChksum.off + kChksum.len;
      usum += in_field ? ' ' : static_cast<unsigned char>(b[i]);
      ssum += in_field ? ' ' : static_cast<signed char>(b[i]);
    }
    if (want != usum && int64_t(want) != ssum) return fail(Errc::kInvalidArgument, "invalid tar header: bad checksum");
    char type = b[kTypeflag];
    uint64_t size = HOIST_TRY(parse_number(b, kSize, "size"));
    if (type == 'x' || type == 'g') {
      std::string data = HOIST_TRY(read_small(size, "pax header"));
      if (type == 'g') continue;
      std::string_view rest = data;
      while (!rest.empty()) {
        size_t sp = rest.find(' ');
        if (sp == std::string_view::npos) return fail(Errc::kInvalidArgument, "invalid tar archive: bad pax record");
        size_t len = 0;
        for (char c : rest.substr(0, sp)) {
          if (c < '0' || c > '9' || len > (size_t{1} << 30))
            return fail(Errc::kInvalidArgument, "invalid tar archive: bad pax record");
          len = len * 10 + size_t(c - '0');
        }
        if (len <= sp + 1 || len > rest.size() || rest[len - 1] != '\n')
          return fail(Errc::kInvalidArgument, "invalid tar archive: bad pax record");
        std::string_view kv = rest.substr(sp + 1, len - sp - 2);
        rest = rest.substr(len);
        size_t eq = kv.find('=');
        if (eq == std::string_view::npos) return fail(Errc::kInvalidArgument, "invalid tar archive: bad pax record");
        std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
        if (key == "path") {
          pax_path = std::string(value);
        } else if (key == "linkpath") {
          pax_link = std::string(value);
        } else if (key == "size") {
          uint64_t v = 0;
          if (value.empty() || value.size() > 19) return fail(Errc::kInvalidArgument, "invalid tar archive: bad pax size");
          for (char c : value) {
            if (c < '0' || c > '9') return fail(Errc::kInvalidArgument, "invalid tar archive: bad pax size");
            v = v * 10 + uint64_t(c - '0');
          }
          pax_size = v;
        }
      }
      continue;
    }
    if (type == 'L' || type == 'K') {
      std::string data = HOIST_TRY(read_small(size, "GNU long name"));
      if (auto nul = data.find('\0'); nul != std::string::npos) data.resize(nul);
      (type == 'L' ? gnu_path : gnu_link) = std::move(data);
      continue;
    }
    Entry e;
    if (pax_path) {
      e.name = *pax_path;
    } else if (gnu_path) {
      e.name = *gnu_path;
    } else {
      e.name = get_str(b, kName);
      std::string prefix = std::memcmp(b.data() + kMagic.off, "ustar\0", 6) == 0 ? get_str(b, kPrefix) : "";
      if (!prefix.empty()) e.name = prefix + "/" + e.name;
    }
    e.linkname = pax_link ? *pax_link : gnu_link ? *gnu_link : get_str(b, kLinkname);
    e.mode = uint32_t(HOIST_TRY(parse_number(b, kMode, "mode")) & 07777);
    if (pax_size) size = *pax_size;
    if (type == '\0' || type == '7') type = '0';
    e.type = type;
    if (type == '0') {
      e.size = size;
      data_offset_ = pos_;
      remaining_ = size;
      pad_ = padding(size);
    } else if (!header_only(type)) {
      // Unknown types (sparse files, vendor extensions): not ours; skip the data.
      HOIST_CHECK(skip(size + padding(size)));
    }
    return std::optional<Entry>(std::move(e));
  }
}

Result<size_t> TarReader::read(std::span<std::byte> buf) {
  if (remaining_ == 0) return size_t{0};
  size_t want = size_t(std::min<uint64_t>(buf.size(), remaining_));
  size_t n = HOIST_TRY(in_.read(buf.first(want)));
  if (n == 0) return fail(Errc::kIo, "truncated tar archive");
  remaining_ -= n;
  pos_ += n;
  return n;
}

}  // namespace hoist::layout::tar
