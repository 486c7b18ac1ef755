#include "ref/platform.h"

#include <fmt/core.h>
#include <sys/utsname.h>

#include <algorithm>

#include "util/strings.h"

namespace hoist::ref {
namespace {

bool valid_part(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

std::string normalize_os(std::string os) {
  os = to_lower(os);
  if (os == "macos") return "darwin";
  return os;
}

// Fills arch and variant from a (lower-cased) architecture alias; the variant given
// explicitly wins over one implied by the alias (armv7l/v6 is taken as written: v6).
void normalize_arch(Platform& p) {
  std::string arch = to_lower(p.architecture);
  std::string variant = to_lower(p.variant);
  std::string implied;
  if (arch == "x86_64" || arch == "x86-64") {
    arch = "amd64";
  } else if (arch == "i386" || arch == "i686") {
    arch = "386";
  } else if (arch == "aarch64") {
    arch = "arm64";
  } else if (arch == "armhf") {
    arch = "arm";
    implied = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    implied = "v6";
  } else if (arch.starts_with("armv") && arch.size() >= 5 && arch[4] >= '5' && arch[4] <= '8' &&
             (arch.size() == 5 || arch.substr(5) == "l")) {
    // uname's armv7l, armv6l, armv5l; and armv8l (a 32-bit process on a 64-bit CPU).
    implied = fmt::format("v{}", arch[4]);
    arch = "arm";
  }
  if (variant.empty()) variant = implied;
  if (arch == "arm" || arch == "arm64") {
    // A bare number is how uname and some manifests spell the variant.
    if (variant.size() == 1 && variant[0] >= '5' && variant[0] <= '9') variant = "v" + variant;
    if (variant == "v8.0") variant = "v8";
  }
  if (arch == "amd64" && variant == "v1") variant.clear();  // v1 is the baseline
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
}

// The variant an empty one stands for, where the architecture has a default.
std::string_view default_variant(std::string_view arch) {
  if (arch == "arm64") return "v8";
  if (arch == "arm") return "v7";
  return {};
}

}  // namespace

std::string Platform::str() const {
  if (variant.empty()) return fmt::format("{}/{}", os, architecture);
  return fmt::format("{}/{}/{}", os, architecture, variant);
}

Platform normalize(Platform p) {
  p.os = normalize_os(std::move(p.os));
  normalize_arch(p);
  return p;
}

Result<Platform> parse_platform(std::string_view text) {
  auto parts = split(text, '/');
  if (parts.size() < 2 || parts.size() > 3)
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid platform '{}': expected os/arch[/variant]", text));
  for (auto part : parts) {
    if (!valid_part(part))
      return fail(Errc::kInvalidArgument,
                  fmt::format("invalid platform '{}': '{}' is not a valid os, architecture or variant",
                              text, part));
  }
  Platform p;
  p.os = std::string(parts[0]);
  p.architecture = std::string(parts[1]);
  if (parts.size() == 3) p.variant = std::string(parts[2]);
  return normalize(std::move(p));
}

Platform host_platform() {
  Platform p;
  struct utsname u {};
  if (uname(&u) == 0) {
    p.os = u.sysname;
    p.architecture = u.machine;
  } else {
    // uname cannot fail on Linux; fall back to what this binary was built for.
    p.os = "linux";
#if defined(__x86_64__)
    p.architecture = "amd64";
#elif defined(__aarch64__)
    p.architecture = "arm64";
#elif defined(__arm__)
    p.architecture = "arm";
#elif defined(__i386__)
    p.architecture = "386";
#else
    p.architecture = "unknown";
#endif
  }
  p = normalize(std::move(p));
  // The kernel of an arm64 machine says "aarch64"; images for it are published as
  // plain linux/arm64 (or arm64/v8), which matches() treats as equal.
  return p;
}

bool matches(const Platform& wanted_in, const Platform& candidate_in) {
  Platform wanted = normalize(wanted_in);
  Platform candidate = normalize(candidate_in);
  if (wanted.os != candidate.os || wanted.architecture != candidate.architecture) return false;
  if (std::string_view def = default_variant(wanted.architecture); !def.empty()) {
    std::string_view w = wanted.variant.empty() ? def : std::string_view(wanted.variant);
    std::string_view c = candidate.variant.empty() ? def : std::string_view(candidate.variant);
    if (w != c) return false;
  } else if (!wanted.variant.empty() && wanted.variant != candidate.variant) {
    return false;
  }
  if (!wanted.os_version.empty() && wanted.os_version != candidate.os_version) return false;
  for (const auto& f : wanted.os_features) {
    if (std::find(candidate.os_features.begin(), candidate.os_features.end(), f) ==
        candidate.os_features.end())
      return false;
  }
  return true;
}

}  // namespace hoist::ref
