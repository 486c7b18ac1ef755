// The registry cache: lookups, layer fetches and exports (build/remote_cache.h).

#include "build/remote_cache.h"

#include <algorithm>

#include <fmt/core.h>

#include "image/manifest.h"
#include "image/media_types.h"
#include "io/memory.h"
#include "registry/client.h"
#include "transport/copy.h"
#include "transport/registry_sink.h"
#include "util/log.h"
#include "util/strings.h"

namespace hoist::build {

namespace {

constexpr uint64_t kMaxRecordBytes = 4 << 20;

std::string record_tag(const digest::Digest& key) { return std::string(kCacheTagPrefix) + key.hex(); }

// What the registry may see of a key's inputs: every value a RUN's
// environment holds (ENV, build args: tokens people pass as --build-arg) as
// its sha256, the names kept. The key itself is made of the values.
nlohmann::json shareable_inputs(const nlohmann::json& inputs) {
  nlohmann::json out = inputs;
  if (out.is_object() && out.contains("env") && out["env"].is_array()) {
    for (auto& e : out["env"]) {
      if (!e.is_string()) continue;
      std::string kv = e.get<std::string>();
      auto eq = kv.find('=');
      if (eq != std::string::npos) e = kv.substr(0, eq + 1) + digest::sha256_of(kv.substr(eq + 1)).str();
    }
  }
  return out;
}

// The record's config blob: what the key was made of (shareable_inputs), and
// the layer's diff_id.
std::string record_config(const digest::Digest& key, const CacheRecord& rec) {
  return nlohmann::json{{"key", key.str()}, {"diffID", rec.diff_id.str()}, {"inputs", shareable_inputs(rec.inputs)}}.dump();
}

// A layer descriptor from a registry's record, rebuilt from what a layer
// needs (no urls, no annotations, a layer media type): nullopt otherwise.
std::optional<image::Descriptor> layer_of(const image::Descriptor& d) {
  static constexpr std::string_view kTypes[] = {image::media_type::kOciLayerGzip, image::media_type::kDockerLayer};
  if (std::find(std::begin(kTypes), std::end(kTypes), d.media_type) == std::end(kTypes) || d.size == 0)
    return std::nullopt;
  image::Descriptor out;
  out.media_type = d.media_type;
  out.digest = d.digest;
  out.size = d.size;
  return out;
}

std::string string_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string record_manifest(const image::Descriptor& config, const image::Descriptor& layer) {
  nlohmann::ordered_json m = {{"schemaVersion", 2},
                              {"mediaType", image::media_type::kOciManifest},
                              {"artifactType", kCacheArtifactType},
                              {"config", image::to_json(config)},
                              {"layers", nlohmann::ordered_json::array({image::to_json(layer)})}};
  return m.dump();
}

// A record as a Source for transport::copy: its manifest and config from
// memory, its layer from the store's file (or, not fetched yet, from the
// repository it was found in).
class RecordSource final : public transport::Source {
 public:
  RecordSource(std::string name, std::string tag, std::string manifest, std::string config, store::Store& store,
               std::shared_ptr<registry::RegistryClient> remote, std::string remote_repo)
      : name_(std::move(name)),
        tag_(std::move(tag)),
        manifest_(std::move(manifest)),
        config_(std::move(config)),
        store_(store),
        remote_(std::move(remote)),
        remote_repo_(std::move(remote_repo)) {}

  std::string name() const override { return name_; }
  std::string tag() const override { return tag_; }
  Result<transport::RawManifest> resolve() override {
    return transport::RawManifest{image::describe(image::media_type::kOciManifest, manifest_), manifest_};
  }
  Result<transport::RawManifest> fetch_manifest(const image::Descriptor& d) override {
    auto m = HOIST_TRY(resolve());
    if (m.descriptor.digest != d.digest) return fail(Errc::kNotFound, "no manifest " + d.digest.str() + " here");
    return m;
  }
  Result<> fetch_blob(const image::Descriptor& d, uint64_t offset, io::Writer& sink,
                      const transport::RetryHook&) override {
    if (digest::sha256_of(config_) == d.digest) {
      if (offset > config_.size()) return fail(Errc::kInvalidArgument, "offset past the record's config");
      return sink.write(std::as_bytes(std::span(config_).subspan(offset)));
    }
    if (store_.has_blob(d.digest)) {
      auto r = HOIST_TRY(store_.open_blob(d.digest));
      std::vector<std::byte> buf(1 << 20);
      uint64_t skipped = 0;
      for (;;) {
        size_t n = HOIST_TRY(r->read(buf));
        if (n == 0) break;
        std::span<const std::byte> chunk(buf.data(), n);
        if (skipped < offset) {
          uint64_t skip = std::min<uint64_t>(offset - skipped, n);
          skipped += skip;
          chunk = chunk.subspan(skip);
        }
        if (!chunk.empty()) HOIST_CHECK(sink.write(chunk));
      }
      return {};
    }
    if (!remote_) return fail(Errc::kNotFound, "blob " + d.digest.str() + " is not in the store");
    return remote_->fetch_blob(remote_repo_, d.digest, offset, d.size, sink);
  }

 private:
  std::string name_, tag_, manifest_, config_;
  store::Store& store_;
  std::shared_ptr<registry::RegistryClient> remote_;
  std::string remote_repo_;
};

}  // namespace

Result<std::string> parse_cache_ref(std::string_view text, std::string_view option) {
  if (text.find('=') == std::string_view::npos) return std::string(text);
  std::string ref;
  for (auto field : split(text, ',')) {
    auto eq = field.find('=');
    std::string_view k = field.substr(0, eq), v = eq == std::string_view::npos ? "" : field.substr(eq + 1);
    if (k == "type" && v != "registry")
      return fail(Errc::kUsage, fmt::format("{} '{}': only type=registry is supported", option, text));
    if (k == "ref") ref = v;
    // mode=, oci-mediatypes=, image-manifest=, ignore-error=: every step is
    // exported, as OCI manifests, and an export error is a warning.
  }
  if (ref.empty()) return fail(Errc::kUsage, fmt::format("{} '{}': want REF or type=registry,ref=REF", option, text));
  return ref;
}

RemoteCache::RemoteCache(std::unique_ptr<transport::Registries> regs, std::vector<ref::Reference> from,
                         std::optional<ref::Reference> to, store::Store& store, Warn warn)
    : regs_(std::move(regs)), from_(std::move(from)), to_(std::move(to)), store_(store), warn_(std::move(warn)) {}

RemoteCache::~RemoteCache() = default;

Result<std::unique_ptr<RemoteCache>> RemoteCache::open(const transport::RegistryOptions& registry,
                                                       const std::vector<std::string>& from,
                                                       const std::optional<std::string>& to, store::Store& store,
                                                       Warn warn) {
  auto repo = [](const std::string& text, const char* opt) -> Result<ref::Reference> {
    auto r = HOIST_TRY_CTX(ref::parse_reference(text), std::string(opt) + " '" + text + "'");
    return HOIST_TRY(ref::parse_reference(r.name()));  // the repository: tag and digest dropped
  };
  std::vector<ref::Reference> f;
  for (const auto& t : from) f.push_back(HOIST_TRY(repo(t, "--cache-from")));
  std::optional<ref::Reference> t;
  if (to) t = HOIST_TRY(repo(*to, "--cache-to"));
  // A cache lookup is one request a step: a registry in trouble costs a
  // retry, not five.
  transport::RegistryOptions o = registry;
  o.attempts = std::min(o.attempts, 2);
  auto regs = HOIST_TRY(transport::open_registries(o));
  return std::unique_ptr<RemoteCache>(new RemoteCache(std::move(regs), std::move(f), std::move(t), store,
                                                      std::move(warn)));
}

void RemoteCache::warn_once(const std::string& repo, const std::string& what) {
  if (!warned_.insert(repo + "\n" + what).second) return;
  warn_(fmt::format("cache '{}': {}; the step is built instead", repo, what));
}

Result<std::optional<RemoteHit>> RemoteCache::lookup(const digest::Digest& key) {
  for (const auto& r : from_) {
    std::string repo = r.name();
    if (broken_.contains(repo)) continue;
    auto client = transport::registry_client(*regs_, r.registry());
    auto fm = client->get_manifest(r.repository(), record_tag(key));
    if (!fm) {
      if (fm.error().code() == Errc::kCancelled) return fail(std::move(fm).error());
      if (fm.error().code() != Errc::kNotFound) {
        // Unreachable, refusing, failing: asked no more in this build.
        warn_(fmt::format("cache '{}': {}; it is not used for the rest of this build", repo, fm.error().message()));
        broken_.insert(repo);
      } else if (probed_.insert(repo).second) {
        // The first miss there: say so when the repository is not there at all.
        auto tags = client->list_tags(r.repository(), 1);
        if (!tags && tags.error().code() == Errc::kNotFound) warn_once(repo, "the repository does not exist (yet)");
      }
      continue;
    }
    auto m = image::parse_manifest(fm->bytes, fm->content_type);
    if (!m || m->config.media_type != kCacheConfigType || m->layers.size() != 1 ||
        m->config.size > kMaxRecordBytes) {
      warn_once(repo, "a cache record that is not hoist's (" + record_tag(key) + ")");
      continue;
    }
    io::StringWriter w(kMaxRecordBytes);
    if (auto got = client->fetch_blob(r.repository(), m->config.digest, 0, m->config.size, w); !got) {
      if (got.error().code() == Errc::kCancelled) return fail(std::move(got).error());
      warn_once(repo, "cannot read a cache record: " + got.error().message());
      continue;
    }
    nlohmann::json j = nlohmann::json::parse(w.str(), nullptr, false);
    if (!j.is_object()) j = nlohmann::json::object();
    auto rec_key = digest::parse(string_field(j, "key"));
    auto diff_id = digest::parse(string_field(j, "diffID"));
    if (digest::sha256_of(w.str()) != m->config.digest || !rec_key || *rec_key != key || !diff_id) {
      warn_once(repo, "a cache record that does not match its digest or key (" + record_tag(key) + ")");
      continue;
    }
    auto sane = layer_of(m->layers[0]);
    if (!sane) {
      warn_once(repo, "a cache record whose layer is not a layer (" + record_tag(key) + ")");
      continue;
    }
    const image::Descriptor& layer = *sane;
    if (!store_.has_blob(layer.digest)) {
      auto size = client->head_blob(r.repository(), layer.digest);
      if (!size || !*size || **size != layer.size) {
        if (!size && size.error().code() == Errc::kCancelled) return fail(std::move(size).error());
        warn_once(repo, "the layer " + layer.digest.str() + " of a cache record is missing");
        continue;
      }
      layers_[layer.digest] = {layer, r};
      hit_sources_.emplace_back(layer.digest, repo);
    }
    if (to_ && to_->name() == repo) from_to_.insert(key);
    RemoteHit hit;
    hit.repository = repo;
    hit.record.layer = layer;
    hit.record.diff_id = *diff_id;
    auto in = j.find("inputs");
    hit.record.inputs = in != j.end() && in->is_object() ? *in : nlohmann::json::object();
    hit_records_.emplace_back(key.str(), Cache::record_text(hit.record));
    return hit;
  }
  return std::nullopt;
}

Result<> RemoteCache::record_hits(const std::set<digest::Digest>& bad_layers) {
  // A record whose layer failed to fetch or unpack is not kept: a later
  // build here would trust it.
  std::vector<std::pair<std::string, std::string>> records;
  for (auto& [key, text] : hit_records_) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    auto layer = j.is_object() && j.contains("layer") ? image::descriptor_from_json(j["layer"]) : fail(Errc::kInvalidArgument, "");
    if (layer && !bad_layers.contains(layer->digest)) records.emplace_back(key, text);
  }
  auto r = store_.index().put_cache_and_sources(records, hit_sources_);
  hit_records_.clear();
  hit_sources_.clear();
  return r;
}

void RemoteCache::add_lazy(const image::Descriptor& layer, const ref::Reference& image) {
  if (store_.has_blob(layer.digest) || layers_.contains(layer.digest)) return;
  auto repo = ref::parse_reference(image.name());
  if (!repo) return;
  layers_[layer.digest] = {layer, *repo};
  hit_sources_.emplace_back(layer.digest, image.name());
}

bool RemoteCache::pending(const digest::Digest& layer) const {
  return layers_.contains(layer) && !store_.has_blob(layer);
}

bool RemoteCache::pending_on(const digest::Digest& layer, const std::string& registry) const {
  auto it = layers_.find(layer);
  return pending(layer) && it->second.second.registry() == registry;
}

Result<> RemoteCache::fetch(const image::Descriptor& layer) {
  if (store_.has_blob(layer.digest)) return {};
  auto it = layers_.find(layer.digest);
  if (it == layers_.end()) return fail(Errc::kNotFound, "layer " + layer.digest.str() + " is not in the store");
  const auto& [desc, r] = it->second;
  auto client = transport::registry_client(*regs_, r.registry());
  auto w = HOIST_TRY(store_.ingest(desc.digest, desc.size));
  for (int attempt = 0;; ++attempt) {
    auto got = client->fetch_blob(r.repository(), desc.digest, w->offset(), desc.size, *w);
    if (got) break;
    if (attempt >= 2 || got.error().code() == Errc::kCancelled) {
      return fail(std::move(got).error().context("cannot fetch cached layer " + desc.digest.str() + " from '" +
                                                 r.name() + "'"));
    }
  }
  auto c = w->commit();
  if (!c && c.error().code() != Errc::kAlreadyExists)
    return fail(std::move(c).error().context("cached layer " + desc.digest.str() + " from '" + r.name() + "'"));
  bytes_fetched_ += desc.size;
  return {};
}

int RemoteCache::export_records(const std::vector<Export>& records, int jobs, ProgressSink& progress) {
  if (!to_) return 0;
  int pushed = 0;
  std::string repo = to_->name();
  transport::RegistrySinkOptions so;
  so.store_dir = store_.dir();
  for (const auto& e : records) {
    if (from_to_.contains(e.key)) continue;  // found there: already there
    std::string config = record_config(e.key, e.record);
    auto config_desc = image::describe(kCacheConfigType, config);
    std::string manifest = record_manifest(config_desc, e.record.layer);
    std::shared_ptr<registry::RegistryClient> remote;
    std::string remote_repo;
    if (auto it = layers_.find(e.record.layer.digest); it != layers_.end() && !store_.has_blob(e.record.layer.digest)) {
      remote = transport::registry_client(*regs_, it->second.second.registry());
      remote_repo = it->second.second.repository();
    }
    RecordSource src(repo, record_tag(e.key), manifest, config, store_, remote, remote_repo);
    std::string dest = repo + ":" + record_tag(e.key);
    auto sink = transport::open_registry_sink(*regs_, dest, so);
    transport::CopyOptions co;
    co.jobs = jobs;
    co.platform = std::nullopt;
    Result<> r = sink ? Result<>{} : Result<>(fail(std::move(sink).error()));
    if (r) {
      auto copied = transport::copy(src, **sink, co, progress);
      r = copied ? (*sink)->finish() : Result<>(fail(std::move(copied).error()));
    }
    if (!r) {
      warn_(fmt::format("cannot export the build cache to '{}': {}", repo, r.error().message()));
      return pushed;  // one warning: the next records would fail alike
    }
    ++pushed;
  }
  return pushed;
}

}  // namespace hoist::build
