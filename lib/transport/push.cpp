// Pushing and mirroring on top of copy(): source expansion, the naming rule,
// the "already there" check, and the sync loop. The blob work is copy()'s and
// the registry sink's; this file decides what goes where.

#include "transport/push.h"

#include <fmt/core.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "image/manifest.h"
#include "image/media_types.h"
#include "ref/reference.h"
#include "registry/client.h"
#include "transport/convert_source.h"
#include "transport/registry_sink.h"
#include "util/strings.h"

namespace hoist::transport {
namespace {

// "host:5000/a/b:v1", "a@sha256:..": a tag or digest is written out.
bool names_tag_or_digest(std::string_view text) {
  if (text.find('@') != std::string_view::npos) return true;
  auto slash = text.rfind('/');
  auto last = slash == std::string_view::npos ? text : text.substr(slash + 1);
  return last.find(':') != std::string_view::npos;
}

// The root copy() will push: the index itself with all_platforms, else the
// manifest it picks for the platform.
Result<digest::Digest> planned_root(Source& src, const CopyOptions& copts) {
  auto raw = HOIST_TRY(src.resolve());
  auto any = HOIST_TRY(image::parse_any(raw.bytes, raw.descriptor.media_type));
  if (image::kind(any) != image::ManifestKind::kIndex || copts.all_platforms) return raw.descriptor.digest;
  ref::Platform want = copts.platform ? *copts.platform : ref::host_platform();
  for (const auto& m : std::get<image::Index>(any).manifests)
    if (m.platform && ref::matches(want, *m.platform) && image::media_type::is_manifest(m.media_type)) return m.digest;
  return raw.descriptor.digest;  // copy() reports the missing platform
}

// Does every destination tag (or the destination digest) already name `root`?
Result<bool> present(Registries& registries, const ref::Reference& dest, const std::vector<std::string>& more_tags,
                     const digest::Digest& root) {
  auto client = registry_client(registries, dest.registry());
  std::vector<std::string> refs;
  if (!dest.tag().empty()) refs.push_back(dest.tag());
  for (const auto& t : more_tags) refs.push_back(t);
  if (dest.digest()) {
    if (*dest.digest() != root) return false;
    refs.push_back(dest.digest()->str());
  }
  if (refs.empty()) refs.push_back(root.str());
  for (const auto& r : refs) {
    auto info = HOIST_TRY(client->head_manifest(dest.repository(), r));
    if (!info || info->digest != root) return false;
  }
  return true;
}

}  // namespace

bool is_prefix(std::string_view dest) { return dest.ends_with('/'); }

Result<std::vector<PushSource>> open_push_sources(Registries& registries, std::string_view text,
                                                  const std::string& store_dir, bool* many) {
  std::vector<PushSource> out;
  if (many) *many = false;
  if (text.starts_with("docker://")) {
    std::string_view r = text.substr(9);
    if (names_tag_or_digest(r)) {
      out.push_back({HOIST_TRY(open_registry_source(registries, r)), std::string(text)});
      return out;
    }
    // A repository: every tag of it.
    auto ref = HOIST_TRY(ref::parse_reference(r));
    auto client = registry_client(registries, ref.registry());
    auto tags = HOIST_TRY_CTX(client->list_tags(ref.repository()),
                              fmt::format("cannot list the tags of '{}'", ref.name()));
    if (tags.empty()) return fail(Errc::kNotFound, fmt::format("repository '{}' has no tags", ref.name()));
    if (many) *many = true;
    for (const auto& t : tags) {
      std::string one = fmt::format("{}:{}", ref.name(), t);
      out.push_back({HOIST_TRY(open_registry_source(registries, one)), "docker://" + one});
    }
    return out;
  }
  auto local = HOIST_TRY(open_sources(text, store_dir));
  if (many) *many = local.size() > 1;
  for (auto& s : local) {
    std::string label = s->where();
    out.push_back({std::move(s), std::move(label)});
  }
  return out;
}

Result<std::string> destination_for(std::string_view dest, const Source& src, bool prefix) {
  if (dest.starts_with("docker://")) dest.remove_prefix(9);
  if (!prefix && !is_prefix(dest)) {
    HOIST_CHECK_CTX(ref::parse_reference(dest), "invalid destination");
    return std::string(dest);
  }
  std::string p(dest);
  while (p.ends_with('/')) p.pop_back();
  if (p.empty()) return fail(Errc::kUsage, "invalid destination '/': give REGISTRY[/PATH]/");
  if (names_tag_or_digest(p) && p.find('/') != std::string::npos)
    return fail(Errc::kUsage, fmt::format("destination '{}' names a tag or digest, but it is a prefix for several "
                                          "images: give REGISTRY[/PATH] (each image goes to "
                                          "PREFIX/<repository>:<tag>)",
                                          dest));
  std::string tag = src.tag().empty() ? "latest" : src.tag();
  std::string repo;
  if (!src.name().empty()) {
    auto r = HOIST_TRY(ref::parse_reference(src.name()));
    repo = r.repository();
  }
  std::string out = repo.empty() ? fmt::format("{}:{}", p, tag) : fmt::format("{}/{}:{}", p, repo, tag);
  HOIST_CHECK_CTX(ref::parse_reference(out), fmt::format("cannot name the destination of '{}'", src.name()));
  if (p.find('/') == std::string::npos && repo.empty())
    return fail(Errc::kUsage, fmt::format("image tagged '{}' records no repository name: push it to a full "
                                          "reference, or give a prefix with a path (REGISTRY/PATH/)",
                                          tag));
  return out;
}

Result<PushResult> push_image(Registries& registries, Source& src, std::string_view dest, const PushOptions& options,
                              ProgressSink& progress) {
  if (dest.starts_with("docker://")) dest.remove_prefix(9);
  std::unique_ptr<Source> converted;
  Source* s = &src;
  if (options.format) {
    converted = converting_source(src, *options.format);
    s = converted.get();
  }
  PushResult out;
  out.source = src.name();
  out.dest = std::string(dest);
  auto dref = HOIST_TRY(ref::parse_reference(dest));
  if (options.skip_present) {
    auto root = HOIST_TRY(planned_root(*s, options.copy));
    if (HOIST_TRY(present(registries, dref, options.tags, root))) {
      out.skipped = true;
      out.copy.name = dref.name();
      out.copy.root.digest = root;
      progress.skipped(root.str(), fmt::format("already in '{}'", dest));
      return out;
    }
  }
  RegistrySinkOptions so;
  so.tags = options.tags;
  so.store_dir = options.store_dir;
  auto sink = HOIST_TRY(open_registry_sink(registries, dest, so));
  out.copy = HOIST_TRY(copy(*s, *sink, options.copy, progress));
  HOIST_CHECK(sink->finish());
  return out;
}

Result<std::vector<SyncEntry>> parse_sync_list(std::string_view text) {
  std::vector<SyncEntry> out;
  int n = 0;
  for (auto line : split(text, '\n')) {
    ++n;
    std::string_view l = line;
    if (auto hash = l.find('#'); hash != std::string_view::npos) l = l.substr(0, hash);
    std::vector<std::string> words;
    size_t i = 0;
    while (i < l.size()) {
      while (i < l.size() && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r')) ++i;
      size_t j = i;
      while (j < l.size() && l[j] != ' ' && l[j] != '\t' && l[j] != '\r') ++j;
      if (j > i) words.emplace_back(l.substr(i, j - i));
      i = j;
    }
    if (words.empty()) continue;
    if (words.size() != 2)
      return fail(Errc::kUsage, fmt::format("sync list line {}: want 'SRC DEST', got {} word{}", n, words.size(),
                                            words.size() == 1 ? "" : "s"));
    out.push_back({n, std::move(words[0]), std::move(words[1])});
  }
  return out;
}

SyncSummary sync(Registries& registries, const std::vector<SyncEntry>& entries, const PushOptions& options,
                 ProgressSink& progress, const std::function<void(const SyncOutcome&)>& report) {
  SyncSummary sum;
  PushOptions o = options;
  o.skip_present = true;
  std::mutex mu;
  auto done = [&](SyncOutcome out) {
    std::lock_guard lk(mu);
    if (out.error)
      ++sum.failed;
    else
      (out.result->skipped ? sum.skipped : sum.copied)++;
    report(out);
  };

  // Every image of every entry first (cheap: registry sources touch the
  // network only when resolved, local ones read their index).
  struct Work {
    const SyncEntry* entry;
    PushSource src;
    std::string dest;
  };
  std::vector<Work> work;
  for (const auto& e : entries) {
    bool many = false;
    auto srcs = open_push_sources(registries, e.source, o.store_dir, &many);
    if (!srcs) {
      done({&e, e.source, e.dest, std::nullopt, std::move(srcs).error()});
      continue;
    }
    bool prefix = many || srcs->size() > 1 || is_prefix(e.dest);
    for (auto& ps : *srcs) {
      auto dest = destination_for(e.dest, *ps.source, prefix);
      if (!dest) {
        done({&e, ps.label, {}, std::nullopt, std::move(dest).error()});
        continue;
      }
      work.push_back({&e, std::move(ps), std::move(*dest)});
    }
  }

  // Images bound for one repository go one after the other: two pushes of
  // the same blobs into one repository at once race in the registry (the
  // reference registry writes a blob's link while the other push's
  // manifest PUT reads it: DIGEST_INVALID, MANIFEST_BLOB_UNKNOWN).
  std::map<std::string, std::vector<Work*>> by_repo;
  std::vector<std::vector<Work*>*> groups;
  for (auto& w : work) {
    auto dest = ref::parse_reference(w.dest);
    auto& g = by_repo[dest ? dest->name() : w.dest];
    if (g.empty()) groups.push_back(&g);
    g.push_back(&w);
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (;;) {
      size_t k = next++;
      if (k >= groups.size()) return;
      for (Work* w : *groups[k]) {
        if (o.copy.stop.stop_requested()) return;
        SyncOutcome out{w->entry, w->src.label, w->dest, std::nullopt, std::nullopt};
        auto r = push_image(registries, *w->src.source, w->dest, o, progress);
        if (r)
          out.result = std::move(*r);
        else
          out.error = std::move(r).error();
        done(std::move(out));
      }
    }
  };
  int n = std::max(1, std::min<int>(o.parallel_images, int(groups.size())));
  {
    std::vector<std::jthread> threads;
    for (int t = 1; t < n; ++t) threads.emplace_back(worker);
    worker();
  }
  return sum;
}

}  // namespace hoist::transport
