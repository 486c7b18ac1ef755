#include "image/manifest.h"

#include <fmt/core.h>

#include "image/json_fields.h"
#include "image/media_types.h"

namespace hoist::image {
namespace {

namespace mt = media_type;

constexpr std::string_view kManifestCtx = "invalid image manifest";
constexpr std::string_view kIndexCtx = "invalid image index";
constexpr std::string_view kAnyCtx = "invalid manifest";

std::unexpected<Error> invalid(std::string_view ctx, std::string_view why) {
  return fail(Errc::kInvalidArgument, fmt::format("{}: {}", ctx, why));
}

std::string_view kind_name(ManifestKind k) {
  return k == ManifestKind::kIndex ? "an image index" : "an image manifest";
}

bool is_kind(std::string_view type, ManifestKind k) {
  return k == ManifestKind::kIndex ? mt::is_index(type) : mt::is_manifest(type);
}

Result<std::vector<Descriptor>> descriptor_list(const nlohmann::json& obj, std::string_view key) {
  const nlohmann::json* v = detail::field(obj, key);
  if (!v) return fail(Errc::kInvalidArgument, fmt::format("'{}' is missing", key));
  if (!v->is_array()) return fail(Errc::kInvalidArgument, fmt::format("'{}' must be an array", key));
  std::vector<Descriptor> out;
  out.reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    auto d = descriptor_from_json((*v)[i]);
    if (!d) return fail(std::move(d).error().context(fmt::format("{}[{}]", key, i)));
    out.push_back(std::move(*d));
  }
  return out;
}

Result<std::optional<Descriptor>> optional_descriptor(const nlohmann::json& obj, std::string_view key) {
  const nlohmann::json* v = detail::field(obj, key);
  if (!v) return std::optional<Descriptor>();
  Descriptor d = HOIST_TRY_CTX(descriptor_from_json(*v), fmt::format("'{}'", key));
  return std::optional<Descriptor>(std::move(d));
}

// The checks shared by both kinds; returns the body's kind and effective mediaType.
struct Header {
  ManifestKind kind;
  std::string media_type;
};

Result<Header> check_header(const nlohmann::json& j, std::string_view content_type) {
  std::string_view ct = mt::base_media_type(content_type);
  // Schema 1 first: its body has neither "manifests" nor "config", and the user
  // deserves the real reason rather than a structural complaint.
  if (mt::is_schema1(ct)) return fail(Errc::kUnsupported, std::string(kSchema1Message));
  const nlohmann::json* body_type = detail::field(j, "mediaType");
  if (body_type && body_type->is_string() && mt::is_schema1(body_type->get_ref<const std::string&>()))
    return fail(Errc::kUnsupported, std::string(kSchema1Message));
  const nlohmann::json* version = detail::field(j, "schemaVersion");
  if (!version) return invalid(kAnyCtx, "'schemaVersion' is missing");
  if (!version->is_number_unsigned()) return invalid(kAnyCtx, "'schemaVersion' must be 2");
  uint64_t v = version->get<uint64_t>();
  if (v == 1) return fail(Errc::kUnsupported, std::string(kSchema1Message));
  if (v != 2)
    return fail(Errc::kUnsupported, fmt::format("{}: schemaVersion {} is not supported (must be 2)", kAnyCtx, v));

  bool has_manifests = detail::field(j, "manifests") != nullptr;
  bool has_image_parts = detail::field(j, "config") != nullptr || detail::field(j, "layers") != nullptr;
  if (has_manifests && has_image_parts)
    return invalid(kAnyCtx,
                   "it has both 'manifests' (an image index) and 'config' or 'layers' (an image manifest)");
  if (!has_manifests && !has_image_parts)
    return invalid(kAnyCtx,
                   "it has neither 'manifests' (an image index) nor 'config' and 'layers' (an image manifest)");
  Header h{has_manifests ? ManifestKind::kIndex : ManifestKind::kManifest, {}};
  std::string_view ctx = h.kind == ManifestKind::kIndex ? kIndexCtx : kManifestCtx;

  std::string body = HOIST_TRY_CTX(detail::get_string(j, "mediaType"), ctx);
  bool known_ct = mt::is_manifest(ct) || mt::is_index(ct);
  if (body_type) {
    if (!is_kind(body, h.kind)) {
      if (is_kind(body, h.kind == ManifestKind::kIndex ? ManifestKind::kManifest : ManifestKind::kIndex))
        return invalid(ctx, fmt::format("mediaType '{}' names {} but the body is {}", body,
                                        kind_name(h.kind == ManifestKind::kIndex ? ManifestKind::kManifest
                                                                                 : ManifestKind::kIndex),
                                        kind_name(h.kind)));
      return invalid(ctx, fmt::format("mediaType '{}' is not {} media type", body, kind_name(h.kind)));
    }
    if (known_ct && body != ct)
      return invalid(ctx, fmt::format("mediaType '{}' does not match the Content-Type '{}'", body, ct));
    h.media_type = std::move(body);
  } else if (known_ct) {
    if (!is_kind(ct, h.kind))
      return invalid(ctx, fmt::format("Content-Type '{}' does not name {}", ct, kind_name(h.kind)));
    // Docker's schema 2 requires the field (distribution refuses a body without it);
    // only OCI made it optional.
    if (mt::is_docker(ct))
      return invalid(ctx, fmt::format("'mediaType' is missing (Docker's '{}' requires it)", ct));
    h.media_type = std::string(ct);
  } else {
    h.media_type = std::string(h.kind == ManifestKind::kIndex ? mt::kOciIndex : mt::kOciManifest);
  }
  return h;
}

Result<Manifest> manifest_body(const nlohmann::json& j, Header h) {
  Manifest m;
  m.media_type = std::move(h.media_type);
  m.artifact_type = HOIST_TRY(detail::get_string(j, "artifactType"));
  const nlohmann::json* config = detail::field(j, "config");
  if (!config) return fail(Errc::kInvalidArgument, "'config' is missing");
  m.config = HOIST_TRY_CTX(descriptor_from_json(*config), "'config'");
  m.layers = HOIST_TRY(descriptor_list(j, "layers"));
  m.subject = HOIST_TRY(optional_descriptor(j, "subject"));
  m.annotations = HOIST_TRY(detail::get_string_map(j, "annotations"));
  return m;
}

Result<Index> index_body(const nlohmann::json& j, Header h) {
  Index i;
  i.media_type = std::move(h.media_type);
  i.artifact_type = HOIST_TRY(detail::get_string(j, "artifactType"));
  i.manifests = HOIST_TRY(descriptor_list(j, "manifests"));
  i.subject = HOIST_TRY(optional_descriptor(j, "subject"));
  i.annotations = HOIST_TRY(detail::get_string_map(j, "annotations"));
  return i;
}

}  // namespace

Result<AnyManifest> parse_any(std::string_view bytes, std::string_view content_type) {
  // parse(..., nullptr, false): no exceptions; a syntax error gives a discarded value.
  nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded()) return invalid(kAnyCtx, "not valid JSON");
  if (!j.is_object()) return invalid(kAnyCtx, "not a JSON object");
  Header h = HOIST_TRY(check_header(j, content_type));
  if (h.kind == ManifestKind::kIndex) {
    Index i = HOIST_TRY_CTX(index_body(j, std::move(h)), kIndexCtx);
    return AnyManifest(std::move(i));
  }
  Manifest m = HOIST_TRY_CTX(manifest_body(j, std::move(h)), kManifestCtx);
  return AnyManifest(std::move(m));
}

Result<Manifest> parse_manifest(std::string_view bytes, std::string_view content_type) {
  AnyManifest any = HOIST_TRY(parse_any(bytes, content_type));
  if (auto* m = std::get_if<Manifest>(&any)) return std::move(*m);
  return invalid(kManifestCtx, fmt::format("expected an image manifest, got an image index ('{}')",
                                           std::get<Index>(any).media_type));
}

Result<Index> parse_index(std::string_view bytes, std::string_view content_type) {
  AnyManifest any = HOIST_TRY(parse_any(bytes, content_type));
  if (auto* i = std::get_if<Index>(&any)) return std::move(*i);
  return invalid(kIndexCtx, fmt::format("expected an image index, got an image manifest ('{}')",
                                        std::get<Manifest>(any).media_type));
}

nlohmann::ordered_json to_json(const Manifest& m) {
  nlohmann::ordered_json j;
  j["schemaVersion"] = m.schema_version;
  if (!m.media_type.empty()) j["mediaType"] = m.media_type;
  if (!m.artifact_type.empty()) j["artifactType"] = m.artifact_type;
  j["config"] = to_json(m.config);
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : m.layers) j["layers"].push_back(to_json(l));
  if (m.subject) j["subject"] = to_json(*m.subject);
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j;
}

nlohmann::ordered_json to_json(const Index& i) {
  nlohmann::ordered_json j;
  j["schemaVersion"] = i.schema_version;
  if (!i.media_type.empty()) j["mediaType"] = i.media_type;
  if (!i.artifact_type.empty()) j["artifactType"] = i.artifact_type;
  j["manifests"] = nlohmann::ordered_json::array();
  for (const auto& d : i.manifests) j["manifests"].push_back(to_json(d));
  if (i.subject) j["subject"] = to_json(*i.subject);
  if (!i.annotations.empty()) j["annotations"] = i.annotations;
  return j;
}

std::string serialize(const Manifest& m) { return detail::dump(to_json(m)); }
std::string serialize(const Index& i) { return detail::dump(to_json(i)); }

Descriptor describe(std::string_view media_type, std::string_view bytes) {
  Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = digest::sha256_of(bytes);
  d.size = bytes.size();
  return d;
}

}  // namespace hoist::image
