#include "transport/copy.h"

#include <fmt/core.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "image/manifest.h"
#include "image/media_types.h"

namespace hoist::transport {
namespace {

// Passes bytes on to the blob writer, reports progress, and stops the transfer
// when the copy is cancelled (another blob failed, or SIGINT).
class ProgressWriter final : public io::Writer {
 public:
  ProgressWriter(io::Writer& next, ProgressSink& progress, std::string id, uint64_t done, std::stop_token stop)
      : next_(next), progress_(progress), id_(std::move(id)), done_(done), stop_(std::move(stop)) {}
  Result<> write(std::span<const std::byte> data) override {
    if (stop_.stop_requested()) return fail(Errc::kCancelled, "cancelled");
    HOIST_CHECK(next_.write(data));
    done_ += data.size();
    progress_.advanced(id_, done_);
    return {};
  }
  uint64_t done() const { return done_; }

 private:
  io::Writer& next_;
  ProgressSink& progress_;
  std::string id_;
  uint64_t done_;
  std::stop_token stop_;
};

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

  auto fetch_one = [&](size_t i) -> Result<> {
    const auto& d = plan.blobs[i];
    std::string id = d.digest.str();
    auto w = HOIST_TRY(dst.put_blob(d));
    uint64_t offset = w->offset();
    progress.started({id, plan.labels[i], d.size}, offset);
    ProgressWriter pw(*w, progress, id, offset, stop.get_token());
    Result<> r;
    if (offset < d.size || d.size == 0) {
      r = src.fetch_blob(d, offset, pw, [&](int attempt, const Error& cause, double delay) {
        progress.retried(id, attempt, cause.message(), delay);
      });
    }
    bytes += pw.done() - offset;
    if (!r) {
      // A body that cannot be right is dropped; anything else stays resumable.
      if (r.error().code() == Errc::kDigestMismatch || r.error().code() == Errc::kInvalidArgument) w->abort();
      return r;
    }
    auto c = w->commit();
    if (!c && c.error().code() != Errc::kAlreadyExists)
      return fail(std::move(c).error().context(fmt::format("blob '{}' from '{}'", id, src.name())));
    progress.verified(id);
    progress.finished(id);
    return {};
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
