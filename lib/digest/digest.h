#pragma once
// Content digests (image-spec descriptor.md#digests): "algorithm:encoded".
// Parsing is strict: sha256 (64 lower-case hex) and sha512 (128 lower-case hex)
// are accepted; any other algorithm is kUnsupported, any malformed text
// kInvalidArgument.

#include <compare>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "util/result.h"

namespace hoist::digest {

enum class Algorithm : uint8_t { kSha256, kSha512 };

std::string_view algorithm_name(Algorithm a);   // "sha256", "sha512"
size_t hex_length(Algorithm a);                 // 64, 128
// "sha256" / "sha512"; any other well-formed algorithm is kUnsupported, anything
// else kInvalidArgument.
Result<Algorithm> parse_algorithm(std::string_view name);

class Digest {
 public:
  Digest() = default;  // empty; valid() is false
  Algorithm algorithm() const { return algo_; }
  std::string_view algorithm_name() const;   // "sha256"
  const std::string& hex() const { return hex_; }
  std::string str() const;                    // "sha256:abc..."
  std::string short_hex() const { return hex_.substr(0, 12); }
  bool valid() const { return !hex_.empty(); }
  auto operator<=>(const Digest&) const = default;

  friend Result<Digest> parse(std::string_view text);
  static Digest from_hex_unchecked(Algorithm a, std::string hex) {
    Digest d;
    d.algo_ = a;
    d.hex_ = std::move(hex);
    return d;
  }

 private:
  Algorithm algo_ = Algorithm::kSha256;
  std::string hex_;
};

Result<Digest> parse(std::string_view text);

// Streaming hasher (OpenSSL EVP; SHA-NI/AVX2 where the CPU has them). Move-only;
// clone() copies the running state (e.g. to resume a download). A moved-from
// Hasher may only be destroyed or assigned to. Thread-compatible.
class Hasher {
 public:
  explicit Hasher(Algorithm a = Algorithm::kSha256);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher clone() const;
  void update(std::span<const std::byte> data);
  void update(std::string_view data);
  // Finishes and returns the digest; the hasher must not be used afterwards
  // except through reset(). Should OpenSSL fail (allocation), the result is an
  // invalid Digest (valid() false), which verify() never accepts.
  Digest finish();
  void reset();
  Algorithm algorithm() const { return algo_; }

 private:
  Algorithm algo_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Digest sha256_of(std::string_view data);
Digest of(Algorithm a, std::string_view data);

// kDigestMismatch naming both digests when `actual != expected`, or when
// either is invalid (empty).
Result<> verify(const Digest& expected, const Digest& actual);

}  // namespace hoist::digest

// Digests key std::unordered_map / std::unordered_set.
template <>
struct std::hash<hoist::digest::Digest> {
  size_t operator()(const hoist::digest::Digest& d) const noexcept {
    return std::hash<std::string>{}(d.hex()) ^ static_cast<size_t>(d.algorithm());
  }
};
