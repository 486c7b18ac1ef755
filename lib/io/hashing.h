#pragma once
// Hashing filters: digest and count the bytes that pass, in the same pass that
// moves them (ggcr verify, containerd's ingest). digest() may be called at any
// time and reports the bytes seen so far; it does not disturb the stream.

#include <cstdint>

#include "digest/digest.h"
#include "io/stream.h"

namespace hoist::io {

// Hashes every byte that `next` accepted. close() closes `next` (stream.h).
class HashingWriter : public Writer {
 public:
  explicit HashingWriter(Writer& next, digest::Algorithm a = digest::Algorithm::kSha256)
      : next_(next), hasher_(a) {}
  Result<> write(std::span<const std::byte> data) override;
  Result<> close() override { return next_.close(); }

  digest::Digest digest() const { return hasher_.clone().finish(); }
  uint64_t count() const { return count_; }

 private:
  Writer& next_;
  digest::Hasher hasher_;
  uint64_t count_ = 0;
};

// Hashes every byte read through it; digest() after read() returned 0 is the
// digest of the whole stream.
class HashingReader : public Reader {
 public:
  explicit HashingReader(Reader& in, digest::Algorithm a = digest::Algorithm::kSha256)
      : in_(in), hasher_(a) {}
  Result<size_t> read(std::span<std::byte> buf) override;

  digest::Digest digest() const { return hasher_.clone().finish(); }
  uint64_t count() const { return count_; }

 private:
  Reader& in_;
  digest::Hasher hasher_;
  uint64_t count_ = 0;
};

}  // namespace hoist::io
