#include "digest/digest.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <unordered_map>
#include <unordered_set>

using namespace hoist;
using digest::Algorithm;

namespace {

// Runs `cmd` (a coreutils *sum over stdin) and returns its hex column.
std::string run_sum(const std::string& cmd, const std::string& input) {
  char path[] = "/tmp/hoist-digest-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  FILE* f = fdopen(fd, "w");
  REQUIRE(f != nullptr);
  REQUIRE(fwrite(input.data(), 1, input.size(), f) == input.size());
  fclose(f);
  FILE* p = popen((cmd + " < " + path).c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  CHECK(pclose(p) == 0);
  unlink(path);
  return out.substr(0, out.find(' '));
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

}  // namespace

TEST_CASE("FIPS 180-2 vectors") {
  CHECK(digest::sha256_of("abc").str() ==
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest::sha256_of("").str() ==
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(digest::of(Algorithm::kSha512, "abc").hex() ==
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST_CASE("hasher agrees with sha256sum and sha512sum") {
  for (size_t n : {size_t{0}, size_t{1}, size_t{55}, size_t{64}, size_t{1000}, size_t{1 << 20}}) {
    std::string data = pattern(n);
    CHECK(digest::sha256_of(data).hex() == run_sum("sha256sum", data));
    CHECK(digest::of(Algorithm::kSha512, data).hex() == run_sum("sha512sum", data));
  }
}

TEST_CASE("streaming equals one-shot, clone and reset") {
  std::string data = pattern(300000);
  digest::Digest whole = digest::sha256_of(data);
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{64}, size_t{4096}, size_t{65537}}) {
    digest::Hasher h;
    for (size_t off = 0; off < data.size(); off += chunk) {
      h.update(std::string_view(data).substr(off, chunk));
    }
    CHECK(h.finish() == whole);
  }
  digest::Hasher h;
  h.update(std::string_view(data).substr(0, 1000));
  digest::Hasher copy = h.clone();
  h.update(std::string_view(data).substr(1000));
  copy.update(std::span(reinterpret_cast<const std::byte*>(data.data()) + 1000, data.size() - 1000));
  CHECK(h.finish() == whole);
  CHECK(copy.finish() == whole);
  h.reset();
  h.update("abc");
  CHECK(h.finish() == digest::sha256_of("abc"));
  digest::Hasher moved = std::move(h);
  moved.reset();
  CHECK(moved.finish() == digest::sha256_of(""));
}

TEST_CASE("parse accepts canonical digests and round-trips") {
  std::string s256 = digest::sha256_of("x").str();
  auto d = digest::parse(s256);
  REQUIRE(d.has_value());
  CHECK(d->algorithm() == Algorithm::kSha256);
  CHECK(d->algorithm_name() == "sha256");
  CHECK(d->str() == s256);
  CHECK(d->short_hex() == s256.substr(7, 12));
  CHECK(d->valid());
  std::string s512 = digest::of(Algorithm::kSha512, "x").str();
  auto d512 = digest::parse(s512);
  REQUIRE(d512.has_value());
  CHECK(d512->algorithm() == Algorithm::kSha512);
  CHECK(d512->str() == s512);
  CHECK(!digest::Digest().valid());
  CHECK(digest::Digest().str().empty());
}

TEST_CASE("parse is strict") {
  std::string hex = digest::sha256_of("x").hex();
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(toupper(c));
  struct Case {
    std::string text;
    Errc code;
  };
  const Case cases[] = {
      {"", Errc::kInvalidArgument},
      {hex, Errc::kInvalidArgument},                          // missing colon
      {"sha256:" + upper, Errc::kInvalidArgument},            // upper-case hex
      {"sha256:" + hex.substr(1), Errc::kInvalidArgument},    // 63 digits
      {"sha256:" + hex + "0", Errc::kInvalidArgument},        // 65 digits
      {"sha256:" + hex.substr(1) + "g", Errc::kInvalidArgument},
      {"sha512:" + hex, Errc::kInvalidArgument},              // wrong length for sha512
      {"sha256:", Errc::kInvalidArgument},
      {":" + hex, Errc::kInvalidArgument},
      {"SHA256:" + hex, Errc::kInvalidArgument},              // algorithm is lower case
      {"sha256 :" + hex, Errc::kInvalidArgument},
      {"sha256:" + hex + " ", Errc::kInvalidArgument},
      {"sha256::" + hex, Errc::kInvalidArgument},
      {"-sha256:" + hex, Errc::kInvalidArgument},
      {"sha256+:" + hex, Errc::kInvalidArgument},
      {"blake3:" + hex, Errc::kUnsupported},
      {"sha384:abc", Errc::kUnsupported},
      {"multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", Errc::kUnsupported},
      {"sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", Errc::kUnsupported},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto r = digest::parse(c.text);
    REQUIRE(!r.has_value());
    CHECK(r.error().code() == c.code);
  }
  CHECK(digest::parse("blake3:" + hex).error().message() == "unsupported digest algorithm 'blake3'");
  CHECK(digest::parse("sha256:" + upper).error().message().starts_with("invalid digest 'sha256:"));
  CHECK(digest::parse_algorithm("sha512").value() == Algorithm::kSha512);
  CHECK(digest::parse_algorithm("blake3").error().code() == Errc::kUnsupported);
  CHECK(digest::parse_algorithm("Blake3").error().code() == Errc::kInvalidArgument);
}

TEST_CASE("verify names both digests") {
  auto a = digest::sha256_of("a");
  auto b = digest::sha256_of("b");
  CHECK(digest::verify(a, a).has_value());
  auto r = digest::verify(a, b);
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kDigestMismatch);
  CHECK(r.error().message() == "digest mismatch: expected '" + a.str() + "', got '" + b.str() + "'");
  // Same hex under another algorithm is a different digest.
  auto fake512 = digest::Digest::from_hex_unchecked(Algorithm::kSha512, a.hex());
  CHECK(!digest::verify(a, fake512));
  CHECK(!digest::verify(digest::Digest(), digest::Digest()));  // empty never verifies
  CHECK(!digest::verify(a, digest::Digest()));
}

TEST_CASE("digest as hash key") {
  std::unordered_map<digest::Digest, int> m;
  for (int i = 0; i < 100; ++i) m[digest::sha256_of(std::to_string(i))] = i;
  CHECK(m.size() == 100);
  CHECK(m.at(digest::parse(digest::sha256_of("42").str()).value()) == 42);
  std::unordered_set<digest::Digest> s{digest::sha256_of("a"), digest::sha256_of("a")};
  CHECK(s.size() == 1);
}
