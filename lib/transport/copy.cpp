#include "transport/copy.h"

#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "http/retry.h"
#include "image/manifest.h"
#include "image/media_types.h"

namespace hoist::transport {
namespace {

// Passes bytes on to the blob writer, reports progress, and stops the transfer
// when the copy is cancelled (another blob failed, or SIGINT).
//
// A failure of the blob writer is kept here and handed to the source as
// kCancelled: the source retries what looks like its own transient failure
// (kUnavailable), and must not retry into a sink that failed. copy() then
// looks at sink_error() to tell the two sides apart.
class ProgressWriter final : public io::Writer {
 public:
  ProgressWriter(io::Writer& next, ProgressSink& progress, std::string id, uint64_t done, std::stop_token stop)
      : next_(next), progress_(progress), id_(std::move(id)), done_(done), stop_(std::move(stop)) {}
  Result<> write(std::span<const std::byte> data) override {
    if (stop_.stop_requested()) return fail(Errc::kCancelled, "cancelled");
    if (sink_error_) return fail(Errc::kCancelled, "the destination failed");
    if (auto r = next_.write(data); !r) {
      sink_error_ = std::move(r).error();
      return fail(Errc::kCancelled, fmt::format("the destination failed: {}", sink_error_->message()));
    }
    done_ += data.size();
    progress_.advanced(id_, done_);
    return {};
  }
  uint64_t done() const { return done_; }
  std::optional<Error>& sink_error() { return sink_error_; }

 private:
  io::Writer& next_;
  ProgressSink& progress_;
  std::string id_;
  uint64_t done_;
  std::stop_token stop_;
  std::optional<Error> sink_error_;
};

// Sleeps `d` unless `stop` is requested first; false when stopped.
bool sleep_unless_stopped(std::chrono::milliseconds d, const std::stop_token& stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lk(mu);
  return !cv.wait_for(lk, stop, d, [] { return false; });
}

struct Plan {
  std::vector<RawManifest> manifests;  // children before parents, root last
  std::vector<image::Descriptor> blobs;
  std::vector<std::string> labels;
  std::vector<std::pair<digest::Digest, image::Descriptor>> edges;
  std::set<digest::Digest> seen;
};

std::string describe_platforms(const image::Index& index) {
  std::string out;
  for (const auto& m : index.manifests) {
    if (!m.platform) continue;
    if (!out.empty()) out += ", ";
    out += m.platform->str();
  }
  return out.empty() ? "none" : out;
}

// Adds a manifest's config and layers to the plan.
Result<> plan_manifest(const RawManifest& raw, Plan& plan) {
  auto m = HOIST_TRY(image::parse_manifest(raw.bytes, raw.descriptor.media_type));
  auto add = [&](const image::Descriptor& d, std::string label) {
    plan.edges.emplace_back(raw.descriptor.digest, d);
    if (!plan.seen.insert(d.digest).second) return;
    plan.blobs.push_back(d);
    plan.labels.push_back(std::move(label));
  };
  add(m.config, fmt::format("{} config", m.config.digest.short_hex()));
  for (size_t i = 0; i < m.layers.size(); ++i)
    add(m.layers[i], fmt::format("{} layer {}/{}", m.layers[i].digest.short_hex(), i + 1, m.layers.size()));
  plan.manifests.push_back(raw);
  return {};
}

Result<> plan_index(Source& src, const RawManifest& raw, const image::Index& index, Plan& plan, int depth) {
  if (depth > 4) return fail(Errc::kInvalidArgument, "indexes nested more than 4 deep");
  for (const auto& child : index.manifests) {
    plan.edges.emplace_back(raw.descriptor.digest, child);
    if (!plan.seen.insert(child.digest).second) continue;
    auto sub = HOIST_TRY(src.fetch_manifest(child));
    auto any = HOIST_TRY(image::parse_any(sub.bytes, sub.descriptor.media_type));
    if (image::kind(any) == image::ManifestKind::kIndex) {
      HOIST_CHECK(plan_index(src, sub, std::get<image::Index>(any), plan, depth + 1));
      plan.manifests.push_back(std::move(sub));
    } else {
      HOIST_CHECK(plan_manifest(sub, plan));
    }
  }
  return {};
}

}  // namespace

std::string CopyResult::pinned() const { return name + "@" + root.digest.str(); }

Result<CopyResult> copy(Source& src, Sink& dst, const CopyOptions& options, ProgressSink& progress) {
  CopyResult result;
  result.name = src.name();
  RawManifest root = HOIST_TRY(src.resolve());
  auto any = HOIST_TRY_CTX(image::parse_any(root.bytes, root.descriptor.media_type),
                           fmt::format("'{}'", src.name()));

  Plan plan;
  if (image::kind(any) == image::ManifestKind::kIndex) {
    const auto& index = std::get<image::Index>(any);
    if (options.all_platforms) {
      HOIST_CHECK(plan_index(src, root, index, plan, 0));
      plan.manifests.push_back(root);
    } else {
      ref::Platform want = options.platform ? *options.platform : ref::host_platform();
      const image::Descriptor* pick = nullptr;
      for (const auto& m : index.manifests) {
        if (m.platform && ref::matches(want, *m.platform) && image::media_type::is_manifest(m.media_type)) {
          pick = &m;
          break;
        }
      }
      if (!pick)
        return fail(Errc::kNotFound, fmt::format("'{}' has no image for platform '{}' (it has: {}); pick one with "
                                                 "--platform, or keep them all with --all-platforms",
                                                 src.name(), want.str(), describe_platforms(index)));
      result.platform = pick->platform;
      root = HOIST_TRY(src.fetch_manifest(*pick));
      root.descriptor.platform = pick->platform;
      HOIST_CHECK(plan_manifest(root, plan));
    }
  } else {
    HOIST_CHECK(plan_manifest(root, plan));
  }
  result.root = root.descriptor;

  // Which blobs the sink lacks.
  std::vector<size_t> todo;
  for (size_t i = 0; i < plan.blobs.size(); ++i) {
    const auto& d = plan.blobs[i];
    if (HOIST_TRY(dst.has_blob(d))) {
      progress.skipped(d.digest.str(), "already present");
      ++result.blobs_skipped;
    } else {
      todo.push_back(i);
    }
  }

  std::stop_source stop;
  std::stop_callback forward(options.stop, [&] { stop.request_stop(); });
  std::mutex mu;
  std::optional<Error> first_error;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> bytes{0};

  // One attempt at one blob. `sink_failed` tells whether a failure came from
  // the sink (put_blob, its writer, commit) rather than the source.
  auto fetch_attempt = [&](size_t i, bool& sink_failed) -> Result<> {
    const auto& d = plan.blobs[i];
    std::string id = d.digest.str();
    sink_failed = true;
    auto w = HOIST_TRY(dst.put_blob(d));
    uint64_t offset = w->offset();
    progress.started({id, plan.labels[i], d.size}, offset);
    // A sink that verifies digests itself takes a local blob straight from its
    // file, unhashed here: its refusal of a mismatch is explained below.
    std::optional<BlobFile> file;
    if (offset < d.size && dst.verifies_blobs()) {
      auto f = src.blob_file(d);
      if (!f) {
        sink_failed = false;
        if (f.error().code() == Errc::kDigestMismatch || f.error().code() == Errc::kInvalidArgument) w->abort();
        return fail(std::move(f).error());
      }
      file = std::move(*f);
    }
    auto refused = [&](Error e) {
      if (!file || e.code() != Errc::kDigestMismatch) return e;
      return std::move(e).context(fmt::format("blob '{}' from '{}' does not match its digest: the destination "
                                              "refused the bytes of '{}' (the file is corrupt or was changed; "
                                              "'sha256sum' shows what its bytes hash to)",
                                              id, file->where.empty() ? src.name() : file->where, file->path));
    };
    if (file) {
      auto sent = w->send_file(*file, [&](uint64_t done) { progress.advanced(id, done); }, stop.get_token());
      if (!sent) return fail(refused(std::move(sent).error()));
      bytes += d.size - offset;
      progress.advanced(id, d.size);
    }
    ProgressWriter pw(*w, progress, id, offset, stop.get_token());
    Result<> r;
    if (!file && (offset < d.size || d.size == 0)) {
      r = src.fetch_blob(d, offset, pw, [&](int attempt, const Error& cause, double delay) {
        progress.retried(id, attempt, cause.message(), delay);
      });
    }
    bytes += pw.done() - offset;
    if (auto& e = pw.sink_error()) return fail(std::move(*e));
    if (!r) {
      sink_failed = false;
      // A body that cannot be right is dropped; anything else stays resumable.
      if (r.error().code() == Errc::kDigestMismatch || r.error().code() == Errc::kInvalidArgument) w->abort();
      return r;
    }
    auto c = w->commit();
    if (!c && file && c.error().code() == Errc::kDigestMismatch) return fail(refused(std::move(c).error()));
    if (!c && c.error().code() != Errc::kAlreadyExists) {
      // Name the blob and where it came from unless the sink's message does already.
      const auto& msg = c.error().message();
      if (msg.find(id) != std::string::npos && msg.find(src.name()) != std::string::npos)
        return fail(std::move(c).error());
      return fail(std::move(c).error().context(fmt::format("blob '{}' from '{}'", id, src.name())));
    }
    progress.verified(id);
    progress.finished(id);
    return {};
  };

  // A sink failure classed kUnavailable (an upload cut, refused mid-way) is
  // retried: put_blob() again resumes from what the destination holds.
  auto fetch_one = [&](size_t i) -> Result<> {
    http::RetryPolicy policy;
    policy.max_attempts = std::max(1, options.sink_attempts);
    for (int attempt = 1;; ++attempt) {
      bool sink_failed = false;
      auto r = fetch_attempt(i, sink_failed);
      if (r || !sink_failed || r.error().code() != Errc::kUnavailable || attempt >= policy.max_attempts ||
          stop.stop_requested())
        return r;
      auto delay = http::backoff_delay(policy, attempt);
      progress.retried(plan.blobs[i].digest.str(), attempt + 1, r.error().message(),
                       double(delay.count()) / 1000.0);
      if (!sleep_unless_stopped(delay, stop.get_token())) return r;
    }
  };

  auto worker = [&] {
    for (;;) {
      size_t k = next++;
      if (k >= todo.size() || stop.stop_requested()) return;
      auto r = fetch_one(todo[k]);
      if (!r) {
        std::lock_guard lk(mu);
        bool cancelled = r.error().code() == Errc::kCancelled;
        if (!cancelled || !first_error) {
          if (!first_error || first_error->code() == Errc::kCancelled) {
            progress.failed(plan.blobs[todo[k]].digest.str(), r.error().message());
            first_error = std::move(r).error();
          }
        }
        stop.request_stop();
        return;
      }
    }
  };
  {
    int n = std::max(1, std::min<int>(options.jobs, int(todo.size())));
    std::vector<std::jthread> threads;
    for (int t = 1; t < n; ++t) threads.emplace_back(worker);
    worker();
  }
  if (first_error) return fail(std::move(*first_error));
  if (options.stop.stop_requested()) return fail(Errc::kCancelled, "interrupted");
  result.blobs_fetched = int(todo.size());
  result.bytes_fetched = bytes;

  // Manifests after every blob they name, children before the index.
  for (const auto& m : plan.manifests) HOIST_CHECK(dst.put_manifest(m));

  CopiedImage image;
  image.name = src.name();
  image.tag = src.tag();
  image.root = root.descriptor;
  image.edges = std::move(plan.edges);
  image.manifests.push_back(root);
  for (auto& m : plan.manifests)
    if (m.descriptor.digest != root.descriptor.digest) image.manifests.push_back(std::move(m));
  HOIST_CHECK(dst.commit_image(image));
  result.name = dst.display_name(image);
  return result;
}

}  // namespace hoist::transport
