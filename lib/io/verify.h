#pragma once
// Verifying filters: content must match a descriptor's digest and size
// (image-spec descriptor.md; ggcr verify, umoci's hardening). Errors:
//   kDigestMismatch "size exceeds descriptor: more than N bytes for 'sha256:..'"
//   kIo             "short content for 'sha256:..': got X of N bytes"
//   kDigestMismatch "digest mismatch: expected 'sha256:..', got 'sha256:..'"
// A short stream is kIo, not kDigestMismatch: it is an interrupted transfer
// (worth resuming), not wrong content.

#include <cstdint>

#include "digest/digest.h"
#include "io/stream.h"
#include "io/sticky_error.h"

namespace hoist::io {

// Passes bytes to `next` while hashing them. Refuses, and passes nothing of,
// the write that would take the total past `expected_size`. close() closes
// `next`, then checks size and digest; only a close() that succeeded means the
// content is what the descriptor promised.
class VerifyingWriter : public Writer {
 public:
  VerifyingWriter(Writer& next, digest::Digest expected, uint64_t expected_size);
  // Resuming: `already` bytes reached the destination earlier, and `seeded`
  // has hashed exactly those bytes (e.g. a Hasher that re-read the partial
  // file, or a clone() kept from the interrupted transfer).
  VerifyingWriter(Writer& next, digest::Digest expected, uint64_t expected_size,
                  digest::Hasher seeded, uint64_t already);

  Result<> write(std::span<const std::byte> data) override;
  Result<> close() override;

  uint64_t count() const { return count_; }  // includes `already`
  const digest::Digest& expected() const { return expected_; }

 private:
  Writer& next_;
  digest::Digest expected_;
  uint64_t expected_size_;
  digest::Hasher hasher_;
  uint64_t count_;
  bool closed_ = false;
  detail::StickyError error_;
};

// Reads exactly `expected_size` bytes from `in` and never asks `in` for more
// (safe on a stream that carries further data, such as a tar member). When the
// last byte arrives the digest is checked: on mismatch that read() fails
// instead of returning the final bytes, so a consumer never gets a complete,
// unverified stream; read() returns 0 only after the content verified.
// `in` ending early is the kIo "short content" error.
class VerifyingReader : public Reader {
 public:
  VerifyingReader(Reader& in, digest::Digest expected, uint64_t expected_size);
  Result<size_t> read(std::span<std::byte> buf) override;

  uint64_t count() const { return count_; }
  bool verified() const { return verified_; }

 private:
  Result<> check_digest();

  Reader& in_;
  digest::Digest expected_;
  uint64_t expected_size_;
  digest::Hasher hasher_;
  uint64_t count_ = 0;
  bool verified_ = false;
  detail::StickyError error_;
};

}  // namespace hoist::io
