// FROM: a stage's starting point (scratch, an earlier stage, or an image
// from the store or a registry), and the snapshots of a chain of layers.

#include <algorithm>

#include <fmt/core.h>

#include "build/builder.h"
#include "ref/platform.h"
#include "ref/reference.h"
#include "transport/copy.h"
#include "transport/local_sources.h"
#include "unpack/bundle_writer.h"
#include "util/strings.h"

namespace hoist::build::detail {

namespace {

using json = nlohmann::json;

// What a child keeps of its base's config beyond the modelled fields.
json inherited_raw(const json& raw) {
  json out = json::object();
  if (!raw.is_object() || !raw.contains("config") || !raw["config"].is_object()) return out;
  json c = json::object();
  for (const char* k : {"Healthcheck", "Shell", "OnBuild"})
    if (raw["config"].contains(k) && !raw["config"][k].is_null()) c[k] = raw["config"][k];
  if (!c.empty()) out["config"] = c;
  return out;
}

std::vector<std::string> shell_of(const json& raw) {
  if (raw.is_object() && raw.contains("config") && raw["config"].is_object() && raw["config"].contains("Shell") &&
      raw["config"]["Shell"].is_array()) {
    std::vector<std::string> out;
    for (const auto& v : raw["config"]["Shell"])
      if (v.is_string()) out.push_back(v.get<std::string>());
    if (!out.empty()) return out;
  }
  return {"/bin/sh", "-c"};
}

}  // namespace

Result<transport::ResolvedImage> Builder::image_for(const std::string& text) {
  if (auto it = images_.find(text); it != images_.end()) return it->second;
  auto ref = HOIST_TRY_CTX(ref::parse_reference(text), "invalid base image name '" + text + "'");
  std::string name = ref.str();
  ref::Platform host = ref::host_platform();
  std::unique_ptr<transport::LocalSource> src;
  if (o_.pull != PullPolicy::kAlways) {
    auto local = transport::open_source(name, store_dir_);
    if (local) {
      src = std::move(*local);
    } else if (local.error().code() != Errc::kNotFound) {
      return fail(std::move(local).error());
    } else if (o_.pull == PullPolicy::kNever) {
      return fail(Errc::kNotFound, "image '" + name + "' is not in the store and --pull never forbids pulling it");
    }
  }
  if (!src && remote_ && std::find(o_.push_registries.begin(), o_.push_registries.end(), ref.registry()) !=
                             o_.push_registries.end()) {
    // The image goes to the base's registry, which can mount the base's
    // layers: only the manifest and config come down now, a layer when a step
    // needs its bytes (RemoteCache::fetch).
    progress_.note("resolving " + name + " (its layers are fetched when a step needs them)");
    if (!registries_) registries_ = HOIST_TRY(transport::open_registries(o_.registry));
    auto remote = HOIST_TRY(transport::open_registry_source(*registries_, name));
    auto img = HOIST_TRY_CTX(transport::resolve_image(*remote, host), "image '" + name + "'");
    ref::Platform got = img.config.platform();
    if (!got.os.empty() && !ref::matches(host, got))
      return fail(Errc::kUnsupported, fmt::format("image '{}' is for {}, and this host builds for {} only", name,
                                                  got.str(), host.str()));
    for (const auto& l : img.manifest.layers) remote_->add_lazy(l, ref);
    images_[text] = img;
    return img;
  }
  if (!src) {
    progress_.note("pulling " + name);
    if (!registries_) registries_ = HOIST_TRY(transport::open_registries(o_.registry));
    auto remote = HOIST_TRY(transport::open_registry_source(*registries_, name));
    auto sink = HOIST_TRY(transport::open_sink("store", store_dir_));
    transport::CopyOptions co;
    co.platform = host;
    co.jobs = o_.jobs;
    co.stop = o_.stop;
    auto copied = HOIST_TRY_CTX(transport::copy(*remote, *sink, co, transfers_), "cannot pull '" + name + "'");
    src = HOIST_TRY(transport::open_source(copied.pinned(), store_dir_));
  }
  auto img = HOIST_TRY_CTX(transport::resolve_image(*src, host), "image '" + name + "'");
  ref::Platform got = img.config.platform();
  if (!got.os.empty() && !ref::matches(host, got))
    return fail(Errc::kUnsupported, fmt::format("image '{}' is for {}, and this host builds for {} only", name,
                                                got.str(), host.str()));
  images_[text] = img;
  return img;
}

Result<> Builder::init_from_base(StageState& s, const std::string& base, const std::string& platform) {
  ref::Platform host = ref::host_platform();
  if (!platform.empty()) {
    auto p = HOIST_TRY_CTX(ref::parse_platform(platform), "FROM --platform");
    if (!ref::matches(host, p))
      return fail(Errc::kUnsupported, fmt::format("--platform={}: only this host's platform ({}) can be built",
                                                  platform, host.str()));
  }
  size_t index = s.stage->index;
  if (to_lower(base) == "scratch") {
    s.config = image::ImageConfig{};
    s.config.os = host.os;
    s.config.architecture = host.architecture;
    s.config.variant = host.variant;
    return {};
  }
  if (auto j = stage_ref(base, index)) {
    const StageState& from = stages_[*j];
    if (!from.done) return fail(Errc::kInternal, "stage '" + base + "' has not been built");
    s.config = from.config;
    s.layers = from.layers;
    s.shell = shell_of(s.config.raw);
    return {};
  }
  auto img = HOIST_TRY(image_for(base));
  s.config = img.config;
  s.config.raw = inherited_raw(img.config.raw);
  s.layers = img.manifest.layers;
  s.shell = shell_of(s.config.raw);
  return {};
}

Result<std::vector<std::string>> Builder::lowers(const std::vector<image::Descriptor>& layers,
                                                 const std::vector<digest::Digest>& diff_ids) {
  // Layers found in a registry cache come down now, and only those whose
  // snapshot is missing.
  auto chain = unpack::chain_ids(diff_ids);
  std::vector<image::Descriptor> wanted;
  for (size_t i = 0; i < layers.size() && i < chain.size(); ++i)
    if (!snaps_->has(chain[i])) wanted.push_back(layers[i]);
  HOIST_CHECK(fetch_cached(wanted));
  unpack::BundleOptions bo;
  bo.max_size_hint = "free space in the store, or prune it";
  auto made = unpack::ensure_snapshots(store_->blobs(), store_dir_, layers, diff_ids, bo, transfers_);
  if (!made && made.error().code() == Errc::kDigestMismatch) {
    // A registry cache's record whose layer is not what it says (its diffID):
    // built again without it.
    bool remote = false;
    for (const auto& l : wanted)
      if (remote_layers_.contains(l.digest)) remote = bad_layers_.insert(l.digest).second || remote;
    if (remote) warnings_.push_back("a layer from the registry cache does not unpack: " + made.error().message());
  }
  return made;
}

Result<> Builder::fetch_cached(const std::vector<image::Descriptor>& layers) {
  if (!remote_) return {};
  for (const auto& l : layers) {
    if (!remote_->pending(l.digest)) continue;
    progress_.note(fmt::format("fetching cached layer {} ({:.1f} MiB)", l.digest.str(), double(l.size) / (1 << 20)));
    auto r = remote_->fetch(l);
    if (!r) {
      if (r.error().code() != Errc::kCancelled) {
        bad_layers_.insert(l.digest);
        warnings_.push_back(r.error().message());
      }
      return r;
    }
  }
  return {};
}

}  // namespace hoist::build::detail
