#include "io/verify.h"

#include <fmt/core.h>

#include <algorithm>

namespace hoist::io {

namespace {

Error too_long(const digest::Digest& d, uint64_t size) {
  return Error(Errc::kDigestMismatch,
               fmt::format("size exceeds descriptor: more than {} bytes for '{}'", size, d.str()));
}

Error too_short(const digest::Digest& d, uint64_t got, uint64_t size) {
  return Error(Errc::kIo, fmt::format("short content for '{}': got {} of {} bytes", d.str(), got, size));
}

}  // namespace

VerifyingWriter::VerifyingWriter(Writer& next, digest::Digest expected, uint64_t expected_size)
    : next_(next),
      expected_(std::move(expected)),
      expected_size_(expected_size),
      hasher_(expected_.algorithm()),
      count_(0) {}

VerifyingWriter::VerifyingWriter(Writer& next, digest::Digest expected, uint64_t expected_size,
                                 digest::Hasher seeded, uint64_t already)
    : next_(next),
      expected_(std::move(expected)),
      expected_size_(expected_size),
      hasher_(std::move(seeded)),
      count_(already) {
  // A hasher of another algorithm can never match; say so rather than report a
  // confusing mismatch at the end.
  if (hasher_.algorithm() != expected_.algorithm()) {
    error_.set(Error(Errc::kInternal, fmt::format("resume hasher is not {} for '{}'",
                                                  expected_.algorithm_name(), expected_.str())));
  } else if (already > expected_size) {
    error_.set(too_long(expected_, expected_size_));
  }
}

Result<> VerifyingWriter::write(std::span<const std::byte> data) {
  if (error_.failed()) return error_.get();
  if (closed_) return error_.set(Error(Errc::kInternal, "write after close"));
  // Checked before anything passes on: the extra bytes never reach `next`.
  if (data.size() > expected_size_ - count_) return error_.set(too_long(expected_, expected_size_));
  auto r = next_.write(data);
  if (!r) return error_.set(std::move(r).error());
  hasher_.update(data);
  count_ += data.size();
  return {};
}

Result<> VerifyingWriter::close() {
  if (closed_ || error_.failed()) {
    // Still close `next` (idempotent) so a failed chain releases what it holds.
    if (!closed_) {
      closed_ = true;
      (void)next_.close();
    }
    if (error_.failed()) return error_.get();
    return {};
  }
  closed_ = true;
  auto r = next_.close();
  if (!r) return error_.set(std::move(r).error());
  if (count_ < expected_size_) return error_.set(too_short(expected_, count_, expected_size_));
  auto ok = digest::verify(expected_, hasher_.finish());
  if (!ok) return error_.set(std::move(ok).error());
  return {};
}

VerifyingReader::VerifyingReader(Reader& in, digest::Digest expected, uint64_t expected_size)
    : in_(in),
      expected_(std::move(expected)),
      expected_size_(expected_size),
      hasher_(expected_.algorithm()) {}

Result<> VerifyingReader::check_digest() {
  auto ok = digest::verify(expected_, hasher_.finish());
  if (!ok) return error_.set(std::move(ok).error());
  verified_ = true;
  return {};
}

Result<size_t> VerifyingReader::read(std::span<std::byte> buf) {
  if (error_.failed()) return error_.get();
  if (verified_) return 0;
  if (count_ == expected_size_) {  // only for an empty blob: nothing to read
    HOIST_CHECK(check_digest());
    return 0;
  }
  if (buf.empty()) return 0;
  size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), expected_size_ - count_));
  auto n = in_.read(buf.first(want));
  if (!n) return error_.set(std::move(n).error());
  if (*n == 0) return error_.set(too_short(expected_, count_, expected_size_));
  hasher_.update(buf.first(*n));
  count_ += *n;
  if (count_ == expected_size_) HOIST_CHECK(check_digest());
  return *n;
}

}  // namespace hoist::io

