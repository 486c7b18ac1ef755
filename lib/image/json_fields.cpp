#include "image/json_fields.h"

#include <fmt/core.h>

#include <cstdint>
#include <limits>

namespace hoist::image::detail {
namespace {

std::unexpected<Error> wrong_type(std::string_view key, std::string_view what) {
  return fail(Errc::kInvalidArgument, fmt::format("'{}' must be {}", key, what));
}

std::unexpected<Error> missing(std::string_view key) {
  return fail(Errc::kInvalidArgument, fmt::format("'{}' is missing", key));
}

}  // namespace

const nlohmann::json* field(const nlohmann::json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> get_string(const nlohmann::json& obj, std::string_view key, bool required) {
  const nlohmann::json* v = field(obj, key);
  if (!v) {
    if (required) return missing(key);
    return std::string();
  }
  if (!v->is_string()) return wrong_type(key, "a string");
  return v->get_ref<const std::string&>();
}

Result<std::optional<uint64_t>> get_u64(const nlohmann::json& obj, std::string_view key, bool required) {
  const nlohmann::json* v = field(obj, key);
  if (!v) {
    if (required) return missing(key);
    return std::optional<uint64_t>();
  }
  // The parser reads 7 as number_unsigned, -1 as number_integer, and 1.5, 1e3 and
  // anything past uint64 as number_float (refused: JSON writers never emit sizes so).
  // A json built in memory from an int is number_integer: accept it when >= 0. The
  // spec's sizes are int64, so the top half of uint64 is refused too.
  if (!v->is_number_integer()) return wrong_type(key, "a non-negative integer");
  if (!v->is_number_unsigned() && v->get<int64_t>() < 0) return wrong_type(key, "a non-negative integer");
  uint64_t n = v->get<uint64_t>();
  if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return fail(Errc::kInvalidArgument, fmt::format("'{}' is too large", key));
  return std::optional<uint64_t>(n);
}

Result<std::optional<bool>> get_bool(const nlohmann::json& obj, std::string_view key) {
  const nlohmann::json* v = field(obj, key);
  if (!v) return std::optional<bool>();
  if (!v->is_boolean()) return wrong_type(key, "true or false");
  return std::optional<bool>(v->get<bool>());
}

Result<std::optional<std::vector<std::string>>> get_string_array(const nlohmann::json& obj,
                                                                 std::string_view key) {
  const nlohmann::json* v = field(obj, key);
  if (!v) return std::optional<std::vector<std::string>>();
  if (!v->is_array()) return wrong_type(key, "an array of strings");
  std::vector<std::string> out;
  out.reserve(v->size());
  for (const auto& e : *v) {
    if (!e.is_string()) return wrong_type(key, "an array of strings");
    out.push_back(e.get_ref<const std::string&>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::map<std::string, std::string>> get_string_map(const nlohmann::json& obj, std::string_view key) {
  std::map<std::string, std::string> out;
  const nlohmann::json* v = field(obj, key);
  if (!v) return out;
  if (!v->is_object()) return wrong_type(key, "an object of strings");
  for (const auto& [k, e] : v->items()) {
    if (!e.is_string()) return wrong_type(fmt::format("{}.{}", key, k), "a string");
    out.emplace(k, e.get_ref<const std::string&>());
  }
  return out;
}

Result<std::vector<std::string>> get_key_set(const nlohmann::json& obj, std::string_view key) {
  std::vector<std::string> out;
  const nlohmann::json* v = field(obj, key);
  if (!v) return out;
  if (!v->is_object()) return wrong_type(key, "an object");
  for (const auto& [k, e] : v->items()) {
    if (!e.is_object() && !e.is_null()) return wrong_type(fmt::format("{}.{}", key, k), "an object");
    out.push_back(k);
  }
  return out;
}

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace hoist::image::detail
