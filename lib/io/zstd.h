#pragma once
// zstd streams (libzstd streaming API), the format of
// application/vnd.oci.image.layer.v1.tar+zstd.
//
// Corrupt or truncated input is kInvalidArgument: "corrupt zstd stream: <libzstd's
// reason>", "unexpected end of zstd stream".

#include <cstdint>
#include <memory>

#include "io/stream.h"
#include "io/sticky_error.h"

namespace hoist::io {

// Decompresses `compressed`: concatenated and skippable frames read as one
// stream (like zstd -d). Checksums present in a frame are verified. The window
// is capped at libzstd's default (128 MiB, `zstd --long` up to 27) so hostile
// input cannot demand gigabytes. Empty input is an error.
class ZstdReader : public Reader {
 public:
  explicit ZstdReader(Reader& compressed);
  ~ZstdReader() override;
  Result<size_t> read(std::span<std::byte> buf) override;

  uint64_t compressed_count() const { return compressed_count_; }

 private:
  struct State;
  Reader& in_;
  std::unique_ptr<State> st_;
  uint64_t compressed_count_ = 0;
  size_t last_hint_ = 1;  // ZSTD_decompressStream's result: 0 when a frame is complete
  bool eof_ = false;
  detail::StickyError error_;
};

// Compresses into `next` as one frame with a content checksum (as the zstd CLI
// and containerd write). level: ZSTD_minCLevel()..ZSTD_maxCLevel(), 0 meaning
// libzstd's default (3). workers > 0 compresses on that many threads (output
// then differs from workers == 0 but not between worker counts). An invalid
// level fails the first write()/close() with kInvalidArgument. close() ends the
// frame, then closes `next`.
class ZstdWriter : public Writer {
 public:
  static constexpr int kDefaultLevel = 3;

  explicit ZstdWriter(Writer& next, int level = kDefaultLevel, int workers = 0);
  ~ZstdWriter() override;
  Result<> write(std::span<const std::byte> data) override;
  Result<> close() override;

  uint64_t count() const { return count_; }  // uncompressed bytes accepted

 private:
  Result<> compress(std::span<const std::byte> data, bool finish);

  struct State;
  Writer& next_;
  std::unique_ptr<State> st_;
  uint64_t count_ = 0;
  bool closed_ = false;
  detail::StickyError error_;
};

}  // namespace hoist::io
