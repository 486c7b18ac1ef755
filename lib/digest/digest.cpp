#include "digest/digest.h"

#include <fmt/core.h>
#include <openssl/evp.h>

#include <utility>

namespace hoist::digest {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_component_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_separator(char c) { return c == '+' || c == '.' || c == '_' || c == '-'; }
bool is_encoded_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '=' ||
         c == '_' || c == '-';
}

// image-spec grammar: algorithm-component ([+._-] algorithm-component)*,
// algorithm-component = [a-z0-9]+. Empty components (leading, trailing or
// doubled separators) are malformed.
bool well_formed_algorithm(std::string_view a) {
  if (a.empty()) return false;
  bool need_component = true;
  for (char c : a) {
    if (is_component_char(c)) {
      need_component = false;
    } else if (is_separator(c) && !need_component) {
      need_component = true;
    } else {
      return false;
    }
  }
  return !need_component;
}

// EVP_MD_fetch once: EVP_sha256() in OpenSSL 3 re-fetches the implementation
// on every EVP_DigestInit_ex, which costs a provider lookup and a lock per blob.
// The fetched objects live for the process (still reachable, not a leak).
const EVP_MD* md_for(Algorithm a) {
  static const EVP_MD* sha256 = [] {
    const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md != nullptr ? md : EVP_sha256();
  }();
  static const EVP_MD* sha512 = [] {
    const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA512", nullptr);
    return md != nullptr ? md : EVP_sha512();
  }();
  return a == Algorithm::kSha512 ? sha512 : sha256;
}

}  // namespace

std::string_view algorithm_name(Algorithm a) {
  switch (a) {
    case Algorithm::kSha256: return "sha256";
    case Algorithm::kSha512: return "sha512";
  }
  return "sha256";
}

size_t hex_length(Algorithm a) { return a == Algorithm::kSha512 ? 128 : 64; }

Result<Algorithm> parse_algorithm(std::string_view name) {
  if (name == "sha256") return Algorithm::kSha256;
  if (name == "sha512") return Algorithm::kSha512;
  if (well_formed_algorithm(name)) {
    return fail(Errc::kUnsupported, fmt::format("unsupported digest algorithm '{}'", name));
  }
  return fail(Errc::kInvalidArgument, fmt::format("invalid digest algorithm '{}'", name));
}

std::string_view Digest::algorithm_name() const { return digest::algorithm_name(algo_); }

std::string Digest::str() const {
  if (hex_.empty()) return {};
  std::string_view name = digest::algorithm_name(algo_);
  std::string s;
  s.reserve(name.size() + 1 + hex_.size());
  s.append(name).append(1, ':').append(hex_);
  return s;
}

Result<Digest> parse(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return fail(Errc::kInvalidArgument, fmt::format("invalid digest '{}': {}", text, why));
  };
  if (text.empty()) return invalid("empty");
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return invalid("missing ':'");
  std::string_view algo = text.substr(0, colon);
  std::string_view encoded = text.substr(colon + 1);
  if (!well_formed_algorithm(algo)) return invalid("malformed algorithm");
  if (encoded.empty()) return invalid("empty encoded part");
  for (char c : encoded) {
    if (!is_encoded_char(c)) return invalid("invalid character in encoded part");
  }
  Algorithm a;
  if (algo == "sha256") {
    a = Algorithm::kSha256;
  } else if (algo == "sha512") {
    a = Algorithm::kSha512;
  } else {
    return fail(Errc::kUnsupported, fmt::format("unsupported digest algorithm '{}'", algo));
  }
  if (encoded.size() != hex_length(a)) {
    return invalid(fmt::format("{} needs {} hex digits, got {}", algo, hex_length(a), encoded.size()));
  }
  for (char c : encoded) {
    if (!is_lower_hex(c)) return invalid("hex digits must be lower case 0-9a-f");
  }
  Digest d;
  d.algo_ = a;
  d.hex_ = std::string(encoded);
  return d;
}

// OpenSSL fails these calls only when it cannot allocate or a provider is
// broken. update() cannot report that, and the library never aborts, so the
// hasher remembers it and finish() returns an invalid Digest, which never
// verifies against a real one: the failure surfaces as a digest mismatch
// instead of a silently wrong digest.
struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  bool failed = false;
  ~Impl() { EVP_MD_CTX_free(ctx); }
  void check(int ok) {
    if (ok != 1) failed = true;
  }
};

Hasher::Hasher(Algorithm a) : algo_(a), impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr) {
    impl_->failed = true;
    return;
  }
  impl_->check(EVP_DigestInit_ex(impl_->ctx, md_for(a), nullptr));
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

Hasher Hasher::clone() const {
  Hasher h(algo_);
  if (impl_->failed || h.impl_->failed) {
    h.impl_->failed = true;
    return h;
  }
  h.impl_->check(EVP_MD_CTX_copy_ex(h.impl_->ctx, impl_->ctx));
  return h;
}

void Hasher::update(std::span<const std::byte> data) {
  if (data.empty() || impl_->failed) return;
  impl_->check(EVP_DigestUpdate(impl_->ctx, data.data(), data.size()));
}

void Hasher::update(std::string_view data) {
  if (data.empty() || impl_->failed) return;
  impl_->check(EVP_DigestUpdate(impl_->ctx, data.data(), data.size()));
}

Digest Hasher::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!impl_->failed) impl_->check(EVP_DigestFinal_ex(impl_->ctx, md, &len));
  if (impl_->failed) return Digest();
  std::string hex(size_t{len} * 2, '\0');
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = kHexDigits[md[i] >> 4];
    hex[2 * i + 1] = kHexDigits[md[i] & 0xf];
  }
  return Digest::from_hex_unchecked(algo_, std::move(hex));
}

void Hasher::reset() {
  if (impl_->ctx == nullptr) return;
  impl_->failed = false;
  impl_->check(EVP_DigestInit_ex(impl_->ctx, md_for(algo_), nullptr));
}

Digest of(Algorithm a, std::string_view data) {
  Hasher h(a);
  h.update(data);
  return h.finish();
}

Digest sha256_of(std::string_view data) { return of(Algorithm::kSha256, data); }

Result<> verify(const Digest& expected, const Digest& actual) {
  // An invalid digest (a failed Hasher, a default Digest) never verifies.
  if (expected == actual && expected.valid()) return {};
  return fail(Errc::kDigestMismatch,
              fmt::format("digest mismatch: expected '{}', got '{}'", expected.str(), actual.str()));
}

}  // namespace hoist::digest
