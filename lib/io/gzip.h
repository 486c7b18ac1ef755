#pragma once
// gzip (RFC 1952) streams. Reading uses ISA-L's igzip inflater (several times
// zlib's speed on the same bytes); writing uses igzip for the fast levels and
// zlib for the rest. Output is plain gzip that `gzip -d`, Go's compress/gzip
// (docker, containerd) and skopeo read.
//
// Corrupt or truncated input is kInvalidArgument, naming what is wrong:
//   "corrupt gzip stream: incorrect checksum", "unexpected end of gzip stream",
//   "trailing garbage after gzip stream".

#include <cstdint>
#include <memory>

#include "io/stream.h"
#include "io/sticky_error.h"

namespace hoist::io {

// Decompresses `compressed`. Concatenated members (pigz, `cat a.gz b.gz`) read
// as one stream, like gzip -d and Go's multistream default. Each member's
// CRC-32 and length are checked. Anything after the last member that is not
// another gzip member is an error (Go rejects it too); so is empty input.
class GzipReader : public Reader {
 public:
  explicit GzipReader(Reader& compressed);
  ~GzipReader() override;
  Result<size_t> read(std::span<std::byte> buf) override;

  uint64_t compressed_count() const { return compressed_count_; }  // bytes taken from `compressed`
  unsigned members() const { return members_; }                   // members started so far

 private:
  Result<> fill();

  struct State;
  Reader& in_;
  std::unique_ptr<State> st_;
  uint64_t compressed_count_ = 0;
  unsigned members_ = 0;
  bool eof_ = false;
  bool done_ = false;
  detail::StickyError error_;
};

// Compresses into `next`. Levels follow gzip(1):
//   0      stored (zlib)
//   1..3   igzip levels 1..3: 400-500 MB/s, output ~3-15% larger than zlib -6
//   4..9   zlib levels 4..9: 7-50 MB/s
//   kDefaultLevel = 2 (igzip level 2): the best ratio among the fast levels on
//   layer-like data; use 6..9 when size matters more than time, or zstd.
// Output is reproducible: the header is fixed (no name, mtime 0, OS 255) and
// equal content at one level gives equal bytes however it is split into
// write() calls (igzip is fed fixed-size segments), for one build of zlib and
// ISA-L. igzip's bytes are reported to differ on CPUs without SSE4.2.
// An invalid level fails the first write()/close() with kInvalidArgument.
// close() writes the trailer, then closes `next`.
class GzipWriter : public Writer {
 public:
  static constexpr int kDefaultLevel = 2;

  explicit GzipWriter(Writer& next, int level = kDefaultLevel);
  ~GzipWriter() override;
  Result<> write(std::span<const std::byte> data) override;
  Result<> close() override;

  uint64_t count() const { return count_; }  // uncompressed bytes accepted

 private:
  Result<> flush_out();
  Result<> deflate_some(std::span<const std::byte> data, bool finish);

  struct Isal;
  struct Zlib;
  Writer& next_;
  std::unique_ptr<Isal> isal_;
  std::unique_ptr<Zlib> zlib_;
  std::unique_ptr<std::byte[]> out_;
  size_t out_used_ = 0;
  uint64_t count_ = 0;
  bool closed_ = false;
  detail::StickyError error_;
};

}  // namespace hoist::io
