#pragma once
// Image references, with docker/distribution's grammar and normalisation
// (github.com/distribution/reference, normalize.go):
//
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [ registry "/" ] path-component ( "/" path-component )*
//   registry   := host [ ":" port ]       host: domain name, IPv4, or "[" IPv6 "]"
//   component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//
// The first component is a registry when it contains '.' or ':' or is "localhost";
// otherwise the registry is docker.io ("index.docker.io" is read as docker.io), and a
// one-component docker.io repository gets "library/": busybox ->
// docker.io/library/busybox:latest. The tag defaults to "latest" only when neither a
// tag nor a digest is given; with both (name:tag@sha256:...) the digest is what to
// fetch and the tag is kept for naming. The name as written is at most 255 bytes.
// Pure values; thread-compatible.

#include <optional>
#include <string>
#include <string_view>

#include "digest/digest.h"
#include "util/result.h"

namespace hoist::ref {

inline constexpr std::string_view kDockerHub = "docker.io";
inline constexpr std::string_view kDockerHubApiHost = "registry-1.docker.io";
inline constexpr size_t kNameMaxLength = 255;
inline constexpr size_t kTagMaxLength = 128;

class Reference {
 public:
  Reference() = default;

  const std::string& registry() const { return registry_; }      // "docker.io", "host:5000"
  const std::string& repository() const { return repository_; }  // "library/busybox"
  const std::string& tag() const { return tag_; }                // "" when absent
  const std::optional<digest::Digest>& digest() const { return digest_; }

  std::string name() const;      // "docker.io/library/busybox"
  std::string str() const;       // "docker.io/library/busybox:latest", "...:1@sha256:..."
  std::string familiar() const;  // "busybox:latest", "user/app:1", "host:5000/a/b:tag"
  // The host:port the distribution API is reached at: docker.io -> registry-1.docker.io.
  std::string registry_api_host() const;

  // The digest-pinned form NAME@sha256:... (the pipe convention's line): the digest
  // replaced and the tag dropped.
  Reference with_digest(digest::Digest d) const;
  // NAME:tag, the digest dropped. kInvalidArgument when the tag is malformed.
  Result<Reference> with_tag(std::string_view tag) const;

  bool operator==(const Reference&) const = default;

  friend Result<Reference> parse_reference(std::string_view text);

 private:
  std::string registry_;
  std::string repository_;
  std::string tag_;
  std::optional<digest::Digest> digest_;
};

// kInvalidArgument with "invalid reference 'TEXT': <why>" for a malformed reference
// (e.g. "invalid reference 'Foo': repository name must be lowercase"). A digest of an
// algorithm digest::parse does not know is kUnsupported.
Result<Reference> parse_reference(std::string_view text);

// The grammar pieces, exposed for callers that validate parts on their own
// (hoist-push's destination tag, a registry host from a config file).
bool valid_tag(std::string_view tag);
bool valid_path_component(std::string_view component);
bool valid_registry_host(std::string_view host);  // host[:port]

}  // namespace hoist::ref
