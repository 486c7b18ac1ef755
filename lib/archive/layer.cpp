#include "archive/layer.h"

#include "archive/prefetch.h"
#include "io/decompress.h"
#include "io/hashing.h"

namespace hoist::archive {

namespace {

// Counts uncompressed bytes against the budget shared by all layers.
class BudgetReader : public io::Reader {
 public:
  BudgetReader(io::Reader& in, SizeBudget& b, const std::function<void(uint64_t)>& progress)
      : in_(in), b_(b), progress_(progress) {}
  Result<size_t> read(std::span<std::byte> buf) override {
    size_t n = HOIST_TRY(in_.read(buf));
    b_.used += n;
    count_ += n;
    if (b_.used > b_.max)
      return fail(Errc::kInvalidArgument, "unpacked size exceeds the limit of " + std::to_string(b_.max) + " bytes");
    if (progress_ && (count_ - reported_ >= (uint64_t{1} << 20) || n == 0)) {
      reported_ = count_;
      progress_(count_);
    }
    return n;
  }
  uint64_t count() const { return count_; }

 private:
  io::Reader& in_;
  SizeBudget& b_;
  const std::function<void(uint64_t)>& progress_;
  uint64_t count_ = 0;
  uint64_t reported_ = 0;
};

io::Compression io_compression(image::media_type::Compression c) {
  switch (c) {
    case image::media_type::Compression::kGzip: return io::Compression::kGzip;
    case image::media_type::Compression::kZstd: return io::Compression::kZstd;
    case image::media_type::Compression::kNone: break;
  }
  return io::Compression::kNone;
}

// Reads `r` to its end (the bytes after the tar's end marker still count for the diffID).
Result<> drain(io::Reader& r) {
  std::unique_ptr<std::byte[]> buf(new std::byte[1 << 16]);
  for (;;) {
    size_t n = HOIST_TRY(r.read(std::span(buf.get(), 1 << 16)));
    if (n == 0) return {};
  }
}

}  // namespace

Result<image::media_type::Compression> layer_compression(const image::Descriptor& d) {
  auto c = image::media_type::layer_compression(d.media_type);
  if (!c) return fail(Errc::kUnsupported, "'" + d.media_type + "' is not a layer media type");
  return *c;
}

Result<LayerResult> apply_layer(io::Reader& blob, image::media_type::Compression c, const digest::Digest& diff_id,
                                const sys::Fd& root, SizeBudget& budget, const LayerOptions& options) {
  auto plain = HOIST_TRY(io::open_decompressed(blob, io_compression(c)));
  BudgetReader counted(*plain, budget, options.on_progress);
  io::HashingReader hashed(counted, diff_id.valid() ? diff_id.algorithm() : digest::Algorithm::kSha256);
  LayerResult res;
  if (options.threaded) {
    PrefetchReader ahead(hashed);
    res.stats = HOIST_TRY(apply_tar(ahead, root, options.apply));
    HOIST_CHECK(drain(ahead));
  } else {
    res.stats = HOIST_TRY(apply_tar(hashed, root, options.apply));
    HOIST_CHECK(drain(hashed));
  }
  res.diff_id = hashed.digest();
  res.uncompressed = hashed.count();
  if (diff_id.valid() && res.diff_id != diff_id)
    return fail(Errc::kDigestMismatch,
                "layer diffID mismatch: expected '" + diff_id.str() + "', got '" + res.diff_id.str() + "'");
  return res;
}

}  // namespace hoist::archive
