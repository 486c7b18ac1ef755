#pragma once
// Platforms (image-spec image-index.md#platform-variants): os/arch[/variant].

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace hoist::ref {

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // "amd64", "arm64", ...
  std::string variant;       // "v8", "" when absent
  std::string os_version;    // optional, Windows
  std::vector<std::string> os_features;

  std::string str() const;  // "linux/arm64/v8"
  bool operator==(const Platform&) const = default;
};

// "linux/amd64", "linux/arm/v7", "linux/arm64" (variant "v8" implied when matching).
// Normalises aliases: x86_64 -> amd64, aarch64 -> arm64, armhf -> arm/v7.
Result<Platform> parse_platform(std::string_view text);
// This machine's platform (uname), normalised as above.
Platform host_platform();
// True when `candidate` (from an index) satisfies `wanted` (asked for):
// same os and architecture; variant equal, or unset in `wanted`, with arm64's
// default variant v8 and arm's v7 treated as equal to an empty variant.
bool matches(const Platform& wanted, const Platform& candidate);

}  // namespace hoist::ref
