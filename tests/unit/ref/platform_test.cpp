#include "ref/platform.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace hoist;
using hoist::ref::Platform;

namespace {
Platform p(std::string_view text) {
  auto r = ref::parse_platform(text);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  return *r;
}
}  // namespace

TEST_CASE("parse_platform: canonical forms round-trip through str()") {
  for (std::string s : {"linux/amd64", "linux/arm/v7", "linux/arm64/v8", "linux/arm64", "windows/amd64",
                        "linux/s390x", "linux/ppc64le", "linux/riscv64", "linux/386"}) {
    CAPTURE(s);
    CHECK(p(s).str() == s);
  }
  Platform arm = p("linux/arm/v7");
  CHECK(arm.os == "linux");
  CHECK(arm.architecture == "arm");
  CHECK(arm.variant == "v7");
}

TEST_CASE("parse_platform: aliases are normalised") {
  struct Case {
    std::string in, out;
  };
  std::vector<Case> cases = {
      {"linux/x86_64", "linux/amd64"},   {"linux/x86-64", "linux/amd64"},   {"Linux/AARCH64", "linux/arm64"},
      {"linux/aarch64/8", "linux/arm64/v8"}, {"linux/arm64/v8.0", "linux/arm64/v8"},
      {"linux/armhf", "linux/arm/v7"},   {"linux/armel", "linux/arm/v6"},   {"linux/arm/7", "linux/arm/v7"},
      {"linux/armv7l", "linux/arm/v7"},  {"linux/armv6l", "linux/arm/v6"},  {"linux/i386", "linux/386"},
      {"macos/arm64", "darwin/arm64"},   {"linux/amd64/v1", "linux/amd64"}, {"linux/amd64/v3", "linux/amd64/v3"},
      {"linux/armhf/v6", "linux/arm/v6"},  // an explicit variant wins over the alias's
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(p(c.in).str() == c.out);
  }
}

TEST_CASE("parse_platform: malformed platforms") {
  for (std::string s : {"", "linux", "linux/", "/amd64", "linux//v7", "linux/amd64/v8/x", "linux/am d64",
                        "linux/amd64/", "linux/amd64:latest"}) {
    CAPTURE(s);
    auto r = ref::parse_platform(s);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Errc::kInvalidArgument);
    CHECK(r.error().message().starts_with("invalid platform '" + s + "'"));
  }
}

TEST_CASE("host_platform is this machine, normalised") {
  Platform h = ref::host_platform();
  CHECK(h.os == "linux");
#if defined(__x86_64__)
  CHECK(h.architecture == "amd64");
#elif defined(__aarch64__)
  CHECK(h.architecture == "arm64");
#endif
  // Normalising again changes nothing, and the host satisfies itself.
  CHECK(ref::normalize(h) == h);
  CHECK(ref::matches(h, h));
  CHECK(ref::parse_platform(h.str()).value() == h);
}

TEST_CASE("matches: os, architecture, and variants with defaults") {
  struct Case {
    std::string wanted, candidate;
    bool match;
  };
  std::vector<Case> cases = {
      {"linux/amd64", "linux/amd64", true},
      {"linux/amd64", "linux/arm64", false},
      {"linux/amd64", "windows/amd64", false},
      {"linux/amd64", "linux/amd64/v3", true},  // unset in wanted matches any
      {"linux/amd64/v3", "linux/amd64", false},
      {"linux/amd64/v3", "linux/amd64/v3", true},
      {"linux/arm64", "linux/arm64/v8", true},  // v8 is arm64's default
      {"linux/arm64/v8", "linux/arm64", true},
      {"linux/arm64", "linux/arm64/v9", false},
      {"linux/arm", "linux/arm/v7", true},      // v7 is arm's default
      {"linux/arm/v7", "linux/arm", true},
      {"linux/arm", "linux/arm/v6", false},
      {"linux/arm/v6", "linux/arm/v7", false},
      {"linux/x86_64", "linux/amd64", true},    // aliases normalised on both sides
  };
  for (const auto& c : cases) {
    CAPTURE(c.wanted);
    CAPTURE(c.candidate);
    CHECK(ref::matches(p(c.wanted), p(c.candidate)) == c.match);
  }
  // A candidate straight from an index is not validated or normalised: matches does it.
  Platform raw{"Linux", "aarch64", "", "", {}};
  CHECK(ref::matches(p("linux/arm64"), raw));
}

TEST_CASE("matches: os.version and os.features only when wanted") {
  Platform win{"windows", "amd64", "", "10.0.17763.1", {"win32k"}};
  CHECK(ref::matches(p("windows/amd64"), win));
  Platform wanted = p("windows/amd64");
  wanted.os_version = "10.0.17763.1";
  CHECK(ref::matches(wanted, win));
  wanted.os_version = "10.0.20348.1";
  CHECK_FALSE(ref::matches(wanted, win));
  wanted.os_version.clear();
  wanted.os_features = {"win32k"};
  CHECK(ref::matches(wanted, win));
  wanted.os_features = {"other"};
  CHECK_FALSE(ref::matches(wanted, win));
}
