#pragma once
// Platforms (image-spec image-index.md#platform-variants): os/arch[/variant].
// Pure values; thread-compatible.

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

  std::string str() const;  // "linux/arm64/v8", "linux/amd64"
  bool operator==(const Platform&) const = default;
};

// "linux/amd64", "linux/arm/v7", "linux/arm64" (variant "v8" implied when matching).
// Each part is [A-Za-z0-9_.-]+ and is lower-cased. Normalises aliases (containerd's
// platforms.Normalize): x86_64/x86-64 -> amd64, aarch64 -> arm64, i386 -> 386,
// armhf -> arm/v7, armel -> arm/v6, armv7l -> arm/v7, a bare variant number "7" -> "v7",
// os "macos" -> "darwin". A variant stays empty when none is given.
// kInvalidArgument: "invalid platform 'x': ..." for anything else (one or four parts,
// empty parts, bad characters).
Result<Platform> parse_platform(std::string_view text);

// Applies the alias rules above to an already split platform (e.g. one read from an
// index, whose fields are not validated). Never fails.
Platform normalize(Platform p);

// This machine's platform (uname(2)), normalised as above. On arm the variant comes
// from the machine name (armv7l -> v7); arm64 is reported without a variant.
Platform host_platform();

// True when `candidate` (from an index) satisfies `wanted` (asked for): both are
// normalised first; same os and architecture; then the variants:
//  - arm64 and arm have default variants (v8 and v7): an empty variant on either
//    side stands for the default, and the variants must then be equal;
//  - any other architecture: equal, or empty in `wanted` (which matches any).
// os_version and os_features are compared only when set in `wanted`.
bool matches(const Platform& wanted, const Platform& candidate);

}  // namespace hoist::ref
