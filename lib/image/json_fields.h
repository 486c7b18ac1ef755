#pragma once
// Internal to lib/image: strict, exception-free readers for fields of a parsed
// nlohmann::json object. nlohmann's get<>() and at() throw on a type mismatch; these
// check the type first and report "'field' must be ..." as kInvalidArgument.
// A field that is absent or null reads as "not there" (Go's encoding/json does the
// same), so `required` decides whether that is an error.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace hoist::image::detail {

// The field's value, or nullptr when absent or null. `obj` must be an object.
const nlohmann::json* field(const nlohmann::json& obj, std::string_view key);

// "" when absent and not required. (A Result<optional<string>> would trip GCC 12's
// -Wmaybe-uninitialized false positive, hence the empty-string convention.)
Result<std::string> get_string(const nlohmann::json& obj, std::string_view key, bool required = false);
Result<std::optional<uint64_t>> get_u64(const nlohmann::json& obj, std::string_view key,
                                        bool required = false);
Result<std::optional<bool>> get_bool(const nlohmann::json& obj, std::string_view key);
// An array of strings; nullopt when absent or null.
Result<std::optional<std::vector<std::string>>> get_string_array(const nlohmann::json& obj,
                                                                 std::string_view key);
// An object whose values are strings (annotations, Labels).
Result<std::map<std::string, std::string>> get_string_map(const nlohmann::json& obj, std::string_view key);
// The keys of an object whose values are ignored (ExposedPorts, Volumes: {"80/tcp": {}}).
Result<std::vector<std::string>> get_key_set(const nlohmann::json& obj, std::string_view key);

// Serialises without throwing: invalid UTF-8 (which parsed JSON never holds, but a
// caller-built string may) is replaced by U+FFFD rather than raising type_error.316.
std::string dump(const nlohmann::ordered_json& j);

}  // namespace hoist::image::detail
