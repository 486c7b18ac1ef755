#include "image/descriptor.h"

#include <fmt/core.h>

#include "image/json_fields.h"

namespace hoist::image {

using detail::get_string;

Result<ref::Platform> platform_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail(Errc::kInvalidArgument, "'platform' must be an object");
  ref::Platform p;
  constexpr std::string_view ctx = "'platform'";
  p.architecture = HOIST_TRY_CTX(get_string(j, "architecture", true), ctx);
  p.os = HOIST_TRY_CTX(get_string(j, "os", true), ctx);
  p.os_version = HOIST_TRY_CTX(get_string(j, "os.version"), ctx);
  p.variant = HOIST_TRY_CTX(get_string(j, "variant"), ctx);
  p.os_features =
      HOIST_TRY_CTX(detail::get_string_array(j, "os.features"), ctx).value_or(std::vector<std::string>{});
  return p;
}

nlohmann::ordered_json to_json(const ref::Platform& p) {
  nlohmann::ordered_json j;
  j["architecture"] = p.architecture;
  j["os"] = p.os;
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  if (!p.os_features.empty()) j["os.features"] = p.os_features;
  if (!p.variant.empty()) j["variant"] = p.variant;
  return j;
}

Result<Descriptor> descriptor_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail(Errc::kInvalidArgument, "descriptor must be an object");
  Descriptor d;
  d.media_type = HOIST_TRY(get_string(j, "mediaType", true));
  if (d.media_type.empty()) return fail(Errc::kInvalidArgument, "'mediaType' is empty");
  std::string digest_text = HOIST_TRY(get_string(j, "digest", true));
  d.digest = HOIST_TRY_CTX(digest::parse(digest_text), "'digest'");
  d.size = *HOIST_TRY(detail::get_u64(j, "size", true));
  d.urls = HOIST_TRY(detail::get_string_array(j, "urls")).value_or(std::vector<std::string>{});
  d.annotations = HOIST_TRY(detail::get_string_map(j, "annotations"));
  if (const nlohmann::json* p = detail::field(j, "platform")) d.platform = HOIST_TRY(platform_from_json(*p));
  d.artifact_type = HOIST_TRY(get_string(j, "artifactType"));
  // `data` (embedded content) is not kept, but a malformed one is still refused.
  HOIST_CHECK(get_string(j, "data"));
  return d;
}

nlohmann::ordered_json to_json(const Descriptor& d) {
  nlohmann::ordered_json j;
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) j["platform"] = to_json(*d.platform);
  if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
  return j;
}

}  // namespace hoist::image
