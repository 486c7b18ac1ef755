#include "registry/errors.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace hoist::registry {

std::vector<RegistryErrorEntry> parse_error_body(std::string_view body) {
  std::vector<RegistryErrorEntry> out;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return out;
  auto it = j.find("errors");
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& e : *it) {
    if (!e.is_object()) continue;
    RegistryErrorEntry r;
    if (auto c = e.find("code"); c != e.end() && c->is_string()) r.code = c->get<std::string>();
    if (auto m = e.find("message"); m != e.end() && m->is_string()) r.message = m->get<std::string>();
    if (!r.code.empty() || !r.message.empty()) out.push_back(std::move(r));
  }
  return out;
}

Errc errc_for_registry_code(std::string_view code, int status) {
  if (code == "DENIED") return Errc::kDenied;
  if (code == "UNAUTHORIZED") return Errc::kUnauthorized;
  if (code == "BLOB_UNKNOWN" || code == "MANIFEST_UNKNOWN" || code == "NAME_UNKNOWN" ||
      code == "BLOB_UPLOAD_UNKNOWN" || code == "MANIFEST_BLOB_UNKNOWN")
    return status == 404 || status == 0 ? Errc::kNotFound : Errc::kInvalidArgument;
  if (code == "TOOMANYREQUESTS") return Errc::kUnavailable;
  if (code == "DIGEST_INVALID") return Errc::kDigestMismatch;
  if (code == "SIZE_INVALID" || code == "NAME_INVALID" || code == "TAG_INVALID" || code == "MANIFEST_INVALID" ||
      code == "BLOB_UPLOAD_INVALID" || code == "RANGE_INVALID")
    return Errc::kInvalidArgument;
  if (code == "UNSUPPORTED") return Errc::kUnsupported;
  return http::errc_for_status(status);
}

Error response_error(const http::Response& resp, std::string_view what) {
  auto entries = parse_error_body(resp.error_body);
  std::string msg = fmt::format("{}: HTTP {}", what, resp.status);
  if (entries.empty()) {
    std::string reason = resp.reason.empty() ? std::string(http::reason_phrase(resp.status)) : resp.reason;
    if (!reason.empty()) msg += " " + reason;
    return Error(http::errc_for_status(resp.status), std::move(msg)).with_http(resp.status, "");
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    msg += i == 0 ? " " : "; ";
    msg += e.code.empty() ? "UNKNOWN" : e.code;
    if (!e.message.empty()) msg += ": " + e.message;
  }
  const auto& first = entries.front();
  return Error(errc_for_registry_code(first.code, resp.status), std::move(msg)).with_http(resp.status, first.code);
}

}  // namespace hoist::registry
