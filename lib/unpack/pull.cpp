#include "unpack/pull.h"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <fmt/core.h>

#include "image/config.h"
#include "image/manifest.h"

namespace hoist::unpack {

namespace {

// What the copy thread tells the unpacking thread. Thread-safe.
class Board {
 public:
  void manifest(image::Manifest m) {
    std::lock_guard lk(mu_);
    if (!manifest_) manifest_ = std::move(m);
    cv_.notify_all();
  }
  void blob_in(std::string_view id) {
    std::lock_guard lk(mu_);
    in_.emplace(id);
    cv_.notify_all();
  }
  void copy_done(Result<transport::CopyResult> r) {
    std::lock_guard lk(mu_);
    copy_ = std::move(r);
    cv_.notify_all();
  }

  // Waits for the manifest; the copy's error (or kInternal) when it ended without one.
  Result<image::Manifest> wait_manifest() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return manifest_ || copy_; });
    if (manifest_) return *manifest_;
    return fail(ended_without("the image manifest").error());
  }
  // Waits until blob `d` is in the store.
  Result<> wait_blob(const digest::Digest& d) {
    std::string id = d.str();
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return in_.contains(id) || copy_; });
    if (in_.contains(id)) return {};
    return ended_without("blob '" + id + "'");
  }
  Result<transport::CopyResult> wait_copy() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return copy_.has_value(); });
    return *copy_;
  }

 private:
  // Called with mu_ held, once the copy has ended.
  Result<> ended_without(const std::string& what) {
    if (!*copy_) return fail(copy_->error());
    // A successful copy reports every blob; a missing one is a bug here.
    return fail(Errc::kInternal, "the copy finished without reporting " + what);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<image::Manifest> manifest_;
  std::set<std::string, std::less<>> in_;
  std::optional<Result<transport::CopyResult>> copy_;
};

// Notes the image manifest as copy() fetches it (the root, or the platform's
// manifest picked from an index).
class NotingSource final : public transport::Source {
 public:
  NotingSource(transport::Source& next, Board& board) : next_(next), board_(board) {}
  std::string name() const override { return next_.name(); }
  std::string tag() const override { return next_.tag(); }
  Result<transport::RawManifest> resolve() override { return note(next_.resolve()); }
  Result<transport::RawManifest> fetch_manifest(const image::Descriptor& d) override {
    return note(next_.fetch_manifest(d));
  }
  Result<> fetch_blob(const image::Descriptor& d, uint64_t offset, io::Writer& sink,
                      const transport::RetryHook& on_retry) override {
    return next_.fetch_blob(d, offset, sink, on_retry);
  }

 private:
  Result<transport::RawManifest> note(Result<transport::RawManifest> r) {
    if (!r) return r;
    auto any = image::parse_any(r->bytes, r->descriptor.media_type);
    if (any && image::kind(*any) != image::ManifestKind::kIndex) board_.manifest(std::get<image::Manifest>(*any));
    return r;
  }
  transport::Source& next_;
  Board& board_;
};

// Passes every event on; a blob is in the store once copy() reports it
// finished (after its commit) or skipped (already present).
class NotingProgress final : public ProgressSink {
 public:
  NotingProgress(ProgressSink& next, Board& board) : next_(next), board_(board) {}
  void started(const ProgressItem& item, uint64_t already) override { next_.started(item, already); }
  void advanced(std::string_view id, uint64_t done) override { next_.advanced(id, done); }
  void retried(std::string_view id, int attempt, std::string_view reason, double delay) override {
    next_.retried(id, attempt, reason, delay);
  }
  void verified(std::string_view id) override { next_.verified(id); }
  void skipped(std::string_view id, std::string_view why) override {
    next_.skipped(id, why);
    board_.blob_in(id);
  }
  void finished(std::string_view id) override {
    next_.finished(id);
    board_.blob_in(id);
  }
  void failed(std::string_view id, std::string_view error) override { next_.failed(id, error); }
  void note(std::string_view message) override { next_.note(message); }

 private:
  ProgressSink& next_;
  Board& board_;
};

Result<std::string> unpack_as_pulled(Board& board, const store::BlobDir& blobs, const std::string& dir,
                                     const BundleOptions& options, ProgressSink& progress) {
  // DIR first: a DIR that is not empty is refused before anything is waited for.
  auto w = HOIST_TRY(BundleWriter::create(dir, RootfsKind::kPlain, options));
  auto manifest = HOIST_TRY(board.wait_manifest());
  HOIST_CHECK(board.wait_blob(manifest.config.digest));
  std::string cfg_bytes = HOIST_TRY(blobs.read_small_blob(manifest.config.digest));
  auto config = HOIST_TRY(image::parse_config(cfg_bytes));
  size_t n = manifest.layers.size();
  if (config.rootfs.diff_ids.size() != n)
    return fail(Errc::kInvalidArgument, fmt::format("the manifest lists {} layers but the config {} diff_ids", n,
                                                    config.rootfs.diff_ids.size()));
  for (size_t i = 0; i < n; ++i) {
    const auto& layer = manifest.layers[i];
    HOIST_CHECK(board.wait_blob(layer.digest));
    auto blob = HOIST_TRY(open_layer_blob(blobs, layer, i, n));
    HOIST_CHECK(w->apply_layer(*blob, layer, config.rootfs.diff_ids[i], i, n, progress));
  }
  // config.json only for an image the store now holds whole.
  HOIST_CHECK(board.wait_copy());
  return w->finish(config);
}

}  // namespace

Result<PullUnpackResult> pull_and_unpack(transport::Source& src, transport::Sink& sink,
                                         const store::BlobDir& store_blobs, const transport::CopyOptions& copts,
                                         const std::string& dir, const BundleOptions& options,
                                         ProgressSink& progress) {
  if (copts.all_platforms) return fail(Errc::kUsage, "--unpack makes one bundle: it cannot be used with --all-platforms");
  Board board;
  NotingSource nsrc(src, board);
  NotingProgress nprog(progress, board);
  std::stop_source stop;
  std::stop_callback forward(copts.stop, [&] { stop.request_stop(); });
  transport::CopyOptions co = copts;
  co.stop = stop.get_token();

  Result<std::string> bundle = fail(Errc::kInternal, "not unpacked");
  {
    std::jthread copier([&] { board.copy_done(transport::copy(nsrc, sink, co, nprog)); });
    bundle = unpack_as_pulled(board, store_blobs, dir, options, progress);
    // An unpack failure stops the downloads (they stay resumable) before the join.
    if (!bundle) stop.request_stop();
  }
  auto copied = board.wait_copy();
  // The first cause wins: a download that failed on its own, else the unpack
  // (which cancelled the copy), else an interrupted copy.
  if (!copied && copied.error().code() != Errc::kCancelled) return fail(std::move(copied).error());
  if (!bundle) return fail(std::move(bundle).error().context("cannot unpack into '" + dir + "'"));
  if (!copied) return fail(std::move(copied).error());
  return PullUnpackResult{std::move(*copied), std::move(*bundle)};
}

}  // namespace hoist::unpack
