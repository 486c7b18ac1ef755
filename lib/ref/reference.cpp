#include "ref/reference.h"

#include <fmt/core.h>

#include <algorithm>

#include "util/strings.h"

namespace hoist::ref {
namespace {

constexpr std::string_view kLegacyDockerHub = "index.docker.io";
constexpr std::string_view kOfficialPrefix = "library/";

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool valid_domain_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

bool valid_host(std::string_view host) {
  if (host.starts_with('[')) {
    // distribution's ipv6address: "[" [a-fA-F0-9:]+ "]"
    if (host.size() < 3 || !host.ends_with(']')) return false;
    auto inner = host.substr(1, host.size() - 2);
    return std::all_of(inner.begin(), inner.end(), [](char c) { return is_hex(c) || c == ':'; });
  }
  auto parts = split(host, '.');
  return std::all_of(parts.begin(), parts.end(), valid_domain_component);
}

// The official-image rule: a first component names a registry only when it looks
// like a host. "Foo/bar" therefore is a (bad, upper-case) repository, as the brief of
// this grammar wants, not a registry named "Foo".
bool looks_like_registry(std::string_view first) {
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost";
}

bool is_64_hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kTagMaxLength || !is_word(tag.front())) return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) { return is_word(c) || c == '.' || c == '-'; });
}

bool valid_path_component(std::string_view s) {
  // [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
  size_t i = 0;
  const size_t n = s.size();
  for (;;) {
    size_t start = i;
    while (i < n && is_lower_alnum(s[i])) ++i;
    if (i == start) return false;  // empty, or a separator not followed by alnum
    if (i == n) return true;
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < n && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < n && s[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

bool valid_registry_host(std::string_view host) {
  // The port is after the last ':' that follows the closing ']' of an IPv6 address.
  size_t search_from = 0;
  if (host.starts_with('[')) {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    search_from = close;
  }
  size_t colon = host.find(':', search_from);
  std::string_view h = host.substr(0, colon);
  if (!valid_host(h)) return false;
  if (colon == std::string_view::npos) return true;
  auto port = parse_u64(host.substr(colon + 1));
  return port && *port <= 65535 && host.size() - colon - 1 <= 5;
}

std::string Reference::name() const { return fmt::format("{}/{}", registry_, repository_); }

std::string Reference::str() const {
  std::string s = name();
  if (!tag_.empty()) s += ":" + tag_;
  if (digest_) s += "@" + digest_->str();
  return s;
}

std::string Reference::familiar() const {
  std::string s;
  if (registry_ == kDockerHub) {
    std::string_view repo = repository_;
    std::string_view short_name = repo.substr(std::min(repo.size(), kOfficialPrefix.size()));
    if (repo.starts_with(kOfficialPrefix) && short_name.find('/') == std::string_view::npos) repo = short_name;
    s = repo;
  } else {
    s = name();
  }
  if (!tag_.empty()) s += ":" + tag_;
  if (digest_) s += "@" + digest_->str();
  return s;
}

std::string Reference::registry_api_host() const {
  if (registry_ == kDockerHub) return std::string(kDockerHubApiHost);
  return registry_;
}

Reference Reference::with_digest(digest::Digest d) const {
  Reference r = *this;
  r.tag_.clear();
  r.digest_ = std::move(d);
  return r;
}

Result<Reference> Reference::with_tag(std::string_view tag) const {
  if (!valid_tag(tag))
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid tag '{}': a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}", tag));
  Reference r = *this;
  r.tag_ = std::string(tag);
  r.digest_.reset();
  return r;
}

Result<Reference> parse_reference(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::kInvalidArgument, fmt::format("invalid reference '{}': {}", text, why));
  };
  if (text.empty()) return bad("reference is empty");
  if (is_64_hex(text))
    return bad("a 64-character hexadecimal string is an image id, not a repository name");

  Reference r;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    auto d = digest::parse(rest.substr(at + 1));
    if (!d) {
      Error e = std::move(d).error();
      return fail(e.code(), fmt::format("invalid reference '{}': {}", text, e.message()));
    }
    r.digest_ = std::move(*d);
    rest = rest.substr(0, at);
  }
  // The tag's ':' is the last one after the last '/' ("host:5000/a" has none).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!valid_tag(tag))
      return bad(fmt::format("invalid tag '{}': a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}", tag));
    r.tag_ = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("repository name is missing");
  if (rest.size() > kNameMaxLength)
    return bad(fmt::format("repository name is {} characters long (at most {})", rest.size(),
                           kNameMaxLength));

  std::string_view path = rest;
  std::string registry(kDockerHub);
  size_t first = rest.find('/');
  if (first != std::string_view::npos && looks_like_registry(rest.substr(0, first))) {
    std::string_view host = rest.substr(0, first);
    if (!valid_registry_host(host)) return bad(fmt::format("invalid registry host '{}'", host));
    registry = host == kLegacyDockerHub ? std::string(kDockerHub) : std::string(host);
    path = rest.substr(first + 1);
  }
  for (std::string_view c : split(path, '/')) {
    if (c.empty()) return bad("repository name has an empty path component");
    std::string lower = to_lower(c);
    if (lower != c && valid_path_component(lower)) return bad("repository name must be lowercase");
    if (!valid_path_component(c))
      return bad(fmt::format("invalid repository path component '{}': components are lower-case letters and "
                             "digits, separated by '.', '_', '__' or dashes",
                             c));
  }
  r.registry_ = std::move(registry);
  r.repository_ = std::string(path);
  if (r.registry_ == kDockerHub && path.find('/') == std::string_view::npos)
    r.repository_ = std::string(kOfficialPrefix) + r.repository_;
  if (r.tag_.empty() && !r.digest_) r.tag_ = "latest";
  return r;
}

}  // namespace hoist::ref
