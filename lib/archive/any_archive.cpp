#include "archive/any_archive.h"

#include <archive.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

namespace hoist::archive {

namespace {

constexpr size_t kReadChunk = 1 << 20;  // what each read of the compressed input asks for

// A tar header block: the checksum at 148 (octal, then NUL or space) is the sum
// of the block's bytes with the checksum field counted as spaces.
bool tar_header(const unsigned char* b, size_t n) {
  if (n < 512) return false;
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : b[i];
  unsigned want = 0;
  size_t i = 148;
  while (i < 156 && b[i] == ' ') ++i;
  bool digits = false;
  for (; i < 156 && b[i] >= '0' && b[i] <= '7'; ++i) {
    want = want * 8 + unsigned(b[i] - '0');
    digits = true;
  }
  return digits && want == sum && b[0] != 0;
}

// libarchive's "raw" format over a reader: one pseudo-entry, the input with
// every compression filter libarchive recognises undone.
class Decompressed final : public io::Reader {
 public:
  explicit Decompressed(io::Reader& in) : in_(in), buf_(new std::byte[kReadChunk]) {}
  ~Decompressed() override {
    if (a_) archive_read_free(a_);
  }
  Result<> open() {
    a_ = archive_read_new();
    if (!a_) return fail(Errc::kInternal, "cannot allocate a decompressor");
    archive_read_support_filter_all(a_);
    archive_read_support_format_raw(a_);
    if (archive_read_open(a_, this, nullptr, &Decompressed::read_cb, nullptr) != ARCHIVE_OK) return fail(error());
    struct archive_entry* e = nullptr;
    if (archive_read_next_header(a_, &e) != ARCHIVE_OK) return fail(error());
    return {};
  }
  // Whether a compression filter applies (libarchive counts "none" too).
  bool compressed() const { return archive_filter_count(a_) > 1; }
  Result<size_t> read(std::span<std::byte> buf) override {
    la_ssize_t n = archive_read_data(a_, buf.data(), buf.size());
    if (n < 0) return fail(error());
    return size_t(n);
  }

 private:
  static la_ssize_t read_cb(struct archive* a, void* self, const void** out) {
    auto* d = static_cast<Decompressed*>(self);
    auto n = d->in_.read(std::span(d->buf_.get(), kReadChunk));
    if (!n) {
      d->in_error_ = std::move(n).error();
      archive_set_error(a, EIO, "read failed");
      return -1;
    }
    *out = d->buf_.get();
    return la_ssize_t(*n);
  }
  Error error() {
    if (in_error_) return *in_error_;
    const char* msg = archive_error_string(a_);
    return Error(Errc::kInvalidArgument, std::string("cannot decompress: ") + (msg ? msg : "unknown error"));
  }

  io::Reader& in_;
  std::unique_ptr<std::byte[]> buf_;
  struct archive* a_ = nullptr;
  std::optional<Error> in_error_;
};

// pread from the start of a file, leaving its offset alone.
class PreadReader final : public io::Reader {
 public:
  explicit PreadReader(int fd) : fd_(fd) {}
  Result<size_t> read(std::span<std::byte> buf) override {
    ssize_t n;
    do {
      n = ::pread(fd_, buf.data(), buf.size(), off_t(pos_));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail(Error::from_errno(errno, "cannot read"));
    pos_ += uint64_t(n);
    return size_t(n);
  }

 private:
  int fd_;
  uint64_t pos_ = 0;
};

Result<size_t> read_block(io::Reader& r, unsigned char* block, size_t size) {
  size_t got = 0;
  while (got < size) {
    size_t n = HOIST_TRY(r.read(std::span(reinterpret_cast<std::byte*>(block) + got, size - got)));
    if (n == 0) break;
    got += n;
  }
  return got;
}

}  // namespace

Result<bool> is_tar_archive(int fd) {
  unsigned char block[512];
  {
    PreadReader plain(fd);
    size_t got = HOIST_TRY(read_block(plain, block, sizeof block));
    if (tar_header(block, got)) return true;
  }
  // Compressed? Its first 512 bytes, decompressed, must be a tar header.
  PreadReader raw(fd);
  Decompressed d(raw);
  if (!d.open() || !d.compressed()) return false;
  auto got = read_block(d, block, sizeof block);
  return got && tar_header(block, *got);
}

Result<std::unique_ptr<io::Reader>> open_any_decompressed(io::Reader& in) {
  auto d = std::make_unique<Decompressed>(in);
  HOIST_CHECK(d->open());
  return std::unique_ptr<io::Reader>(std::move(d));
}

}  // namespace hoist::archive
