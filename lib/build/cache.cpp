#include "build/cache.h"

namespace hoist::build {

using json = nlohmann::json;

digest::Digest cache_key(const json& inputs) {
  // nlohmann's json (not ordered_json) sorts object keys: one canonical text.
  return digest::sha256_of(json{{"v", 1}, {"inputs", inputs}}.dump());
}

Result<std::optional<CacheRecord>> Cache::get(const digest::Digest& key) {
  if (disabled_) return std::nullopt;
  auto text = HOIST_TRY(store_.index().get_cache(key.str()));
  if (!text) return std::nullopt;
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("layer")) return std::nullopt;
  auto layer = image::descriptor_from_json(j["layer"]);
  auto diff_id = digest::parse(j.value("diffID", ""));
  if (!layer || !diff_id) return std::nullopt;
  if (!store_.has_blob(layer->digest)) return std::nullopt;
  CacheRecord rec;
  rec.layer = std::move(*layer);
  rec.diff_id = std::move(*diff_id);
  rec.inputs = j.value("inputs", json::object());
  return rec;
}

std::string Cache::record_text(const CacheRecord& rec) {
  return json{{"layer", image::to_json(rec.layer)}, {"diffID", rec.diff_id.str()}, {"inputs", rec.inputs}}.dump();
}

Result<> Cache::put(const digest::Digest& key, const CacheRecord& rec) {
  return store_.index().put_cache(key.str(), record_text(rec));
}

}  // namespace hoist::build
