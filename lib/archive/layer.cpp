#include "archive/layer.h"

#include <optional>

#include "archive/prefetch.h"
#include "io/decompress.h"
#include "io/hashing.h"
#include "io/verify.h"
#include "util/strings.h"

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
    if (b_.used > b_.max) {
      std::string msg = "unpacked size exceeds the limit of " + std::to_string(b_.max) + " bytes (" +
                        human_bytes(b_.max) + ")";
      if (!b_.why.empty()) msg += ": " + b_.why;
      return fail(Errc::kInvalidArgument, std::move(msg));
    }
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

namespace {

// The blob as its descriptor promises it, or the blob itself when there is no
// digest to check against.
class LayerBlob final : public io::Reader {
 public:
  LayerBlob(io::Reader& in, const image::Descriptor& d) : in_(in) {
    if (d.digest.valid()) verify_.emplace(in, d.digest, d.size);
  }
  Result<size_t> read(std::span<std::byte> buf) override {
    if (!verify_) return in_.read(buf);
    auto n = verify_->read(buf);
    if (n) return n;
    Error e = std::move(n).error();
    if (e.code() == Errc::kDigestMismatch && e.message().starts_with("digest mismatch"))
      e = Error(Errc::kDigestMismatch, "layer blob " + e.message());
    error_ = e;
    return fail(std::move(e));
  }
  // The blob's own failure, if it had one: the cause of whatever the consumer
  // then reports (an entry cut short is not the entry's fault). Read it after
  // the consumer has seen the error: the prefetch queue orders the two.
  const std::optional<Error>& error() const { return error_; }

 private:
  io::Reader& in_;
  std::optional<io::VerifyingReader> verify_;
  std::optional<Error> error_;
};

}  // namespace

Result<LayerResult> apply_layer(io::Reader& blob, const image::Descriptor& layer, const digest::Digest& diff_id,
                                const sys::Fd& root, SizeBudget& budget, const LayerOptions& options) {
  auto c = HOIST_TRY(layer_compression(layer));
  LayerBlob verified(blob, layer);
  auto plain = HOIST_TRY(io::open_decompressed(verified, io_compression(c)));
  BudgetReader counted(*plain, budget, options.on_progress);
  io::HashingReader hashed(counted, diff_id.valid() ? diff_id.algorithm() : digest::Algorithm::kSha256);
  LayerResult res;
  Result<ApplyStats> applied = fail(Errc::kInternal, "not applied");
  Result<> drained;
  if (options.threaded) {
    PrefetchReader ahead(hashed);
    applied = apply_tar(ahead, root, options.apply);
    if (applied) drained = drain(ahead);
  } else {
    applied = apply_tar(hashed, root, options.apply);
    if (applied) drained = drain(hashed);
  }
  if (verified.error() && (!applied || !drained)) return fail(*verified.error());
  if (!applied) return fail(std::move(applied).error());
  HOIST_CHECK(drained);
  res.stats = std::move(*applied);
  // The compressed stream may end before the blob does (trailing bytes after a
  // gzip member): the digest covers them too.
  HOIST_CHECK(drain(verified));
  res.diff_id = hashed.digest();
  res.uncompressed = hashed.count();
  if (diff_id.valid() && res.diff_id != diff_id)
    return fail(Errc::kDigestMismatch,
                "layer diffID mismatch: expected '" + diff_id.str() + "', got '" + res.diff_id.str() + "'");
  return res;
}

}  // namespace hoist::archive
