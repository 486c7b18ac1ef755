#pragma once
// Small string helpers shared by every module.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist {

std::vector<std::string_view> split(std::string_view s, char sep);
std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
std::optional<uint64_t> parse_u64(std::string_view s);   // decimal, no sign, no overflow
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);  // accepts with or without padding
std::string human_bytes(uint64_t n);                       // "12.3 MiB"

}  // namespace hoist
