#include "ref/reference.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace hoist;
using hoist::ref::parse_reference;

namespace {

const std::string kHex = digest::sha256_of("hoist").hex();
const std::string kDigest = "sha256:" + kHex;

struct Good {
  std::string input;
  std::string registry;
  std::string repository;
  std::string tag;     // "" when absent
  bool has_digest;
  std::string str;
  std::string familiar;
};

// Every normalisation the grammar promises, and the shapes distribution's reference
// tests exercise (deep paths, separators, IDN hosts, IPv4/IPv6 with ports).
std::vector<Good> good_cases() {
  return {
      {"busybox", "docker.io", "library/busybox", "latest", false, "docker.io/library/busybox:latest",
       "busybox:latest"},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36", false, "docker.io/library/busybox:1.36",
       "busybox:1.36"},
      {"library/busybox", "docker.io", "library/busybox", "latest", false, "docker.io/library/busybox:latest",
       "busybox:latest"},
      {"docker.io/busybox", "docker.io", "library/busybox", "latest", false,
       "docker.io/library/busybox:latest", "busybox:latest"},
      {"index.docker.io/user/app", "docker.io", "user/app", "latest", false, "docker.io/user/app:latest",
       "user/app:latest"},
      {"user/app:1", "docker.io", "user/app", "1", false, "docker.io/user/app:1", "user/app:1"},
      {"docker.io/library/foo/bar", "docker.io", "library/foo/bar", "latest", false,
       "docker.io/library/foo/bar:latest", "library/foo/bar:latest"},
      {"host:5000/a/b:tag", "host:5000", "a/b", "tag", false, "host:5000/a/b:tag", "host:5000/a/b:tag"},
      {"localhost/x", "localhost", "x", "latest", false, "localhost/x:latest", "localhost/x:latest"},
      {"localhost:5000/x:v1", "localhost:5000", "x", "v1", false, "localhost:5000/x:v1",
       "localhost:5000/x:v1"},
      {"127.0.0.1:5000/x@" + kDigest, "127.0.0.1:5000", "x", "", true, "127.0.0.1:5000/x@" + kDigest,
       "127.0.0.1:5000/x@" + kDigest},
      {"busybox@" + kDigest, "docker.io", "library/busybox", "", true, "docker.io/library/busybox@" + kDigest,
       "busybox@" + kDigest},
      {"name:tag@" + kDigest, "docker.io", "library/name", "tag", true,
       "docker.io/library/name:tag@" + kDigest, "name:tag@" + kDigest},
      {"[::1]:5000/x", "[::1]:5000", "x", "latest", false, "[::1]:5000/x:latest", "[::1]:5000/x:latest"},
      {"[2001:db8::1]/repo:t", "[2001:db8::1]", "repo", "t", false, "[2001:db8::1]/repo:t",
       "[2001:db8::1]/repo:t"},
      {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag",
       false, "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux:some-long-tag"},
      {"b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
       "test.example.com", false, "b.gcr.io/test.example.com/my-app:test.example.com",
       "b.gcr.io/test.example.com/my-app:test.example.com"},
      {"xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", false,
       "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com"},
      {"Example.COM/x", "Example.COM", "x", "latest", false, "Example.COM/x:latest", "Example.COM/x:latest"},
      {"a/b-c__d---e.f_g:V1.0-rc_1", "docker.io", "a/b-c__d---e.f_g", "V1.0-rc_1", false,
       "docker.io/a/b-c__d---e.f_g:V1.0-rc_1", "a/b-c__d---e.f_g:V1.0-rc_1"},
      {"a/a/a/a/a/a/b/b/b/b/b/b", "docker.io", "a/a/a/a/a/a/b/b/b/b/b/b", "latest", false,
       "docker.io/a/a/a/a/a/a/b/b/b/b/b/b:latest", "a/a/a/a/a/a/b/b/b/b/b/b:latest"},
      // No '/': "localhost:5000" is the repository "localhost" with tag "5000", as in docker.
      {"localhost:5000", "docker.io", "library/localhost", "5000", false, "docker.io/library/localhost:5000",
       "localhost:5000"},
      {"foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", false,
       "docker.io/library/foo_bar.com:8080", "foo_bar.com:8080"},
  };
}

}  // namespace

TEST_CASE("parse_reference: good references and their normal forms") {
  for (const auto& c : good_cases()) {
    CAPTURE(c.input);
    auto r = parse_reference(c.input);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
    CHECK(r->registry() == c.registry);
    CHECK(r->repository() == c.repository);
    CHECK(r->tag() == c.tag);
    CHECK(r->digest().has_value() == c.has_digest);
    if (c.has_digest) CHECK(r->digest()->str() == kDigest);
    CHECK(r->str() == c.str);
    CHECK(r->familiar() == c.familiar);
    CHECK(r->name() == c.registry + "/" + c.repository);
    // Both printed forms parse back to the same reference.
    auto again = parse_reference(r->str());
    REQUIRE(again.has_value());
    CHECK(*again == *r);
    auto fam = parse_reference(r->familiar());
    REQUIRE(fam.has_value());
    CHECK(*fam == *r);
  }
}

TEST_CASE("parse_reference: bad references") {
  struct Bad {
    std::string input;
    Errc code;
    std::string says;  // a fragment of the message
  };
  const std::string long_name(256, 'a');
  std::vector<Bad> cases = {
      {"", Errc::kInvalidArgument, "reference is empty"},
      {"Foo", Errc::kInvalidArgument, "repository name must be lowercase"},
      {"UPPER/lower", Errc::kInvalidArgument, "must be lowercase"},
      {"registry.example.com/Namespace/app", Errc::kInvalidArgument, "must be lowercase"},
      {"busybox:", Errc::kInvalidArgument, "invalid tag ''"},
      {"busybox:-tag", Errc::kInvalidArgument, "invalid tag '-tag'"},
      {"busybox:.tag", Errc::kInvalidArgument, "invalid tag"},
      {"busybox:ta!g", Errc::kInvalidArgument, "invalid tag"},
      {"busybox:" + std::string(129, 'a'), Errc::kInvalidArgument, "invalid tag"},
      {":tag", Errc::kInvalidArgument, "repository name is missing"},
      {"@" + kDigest, Errc::kInvalidArgument, "repository name is missing"},
      {"busybox@sha256:abc", Errc::kInvalidArgument, "invalid digest"},
      {"busybox@sha256:" + std::string(64, 'A'), Errc::kInvalidArgument, "invalid digest"},
      {"busybox@" + kDigest + "@" + kDigest, Errc::kInvalidArgument, "invalid digest"},
      {"busybox@sha384:" + std::string(96, 'a'), Errc::kUnsupported, "unsupported digest algorithm"},
      {"busybox@", Errc::kInvalidArgument, "invalid digest"},
      {"a//b", Errc::kInvalidArgument, "empty path component"},
      {"/a", Errc::kInvalidArgument, "empty path component"},
      {"a/", Errc::kInvalidArgument, "empty path component"},
      {"a..b", Errc::kInvalidArgument, "invalid repository path component 'a..b'"},
      {"a-", Errc::kInvalidArgument, "invalid repository path component"},
      {"-a", Errc::kInvalidArgument, "invalid repository path component"},
      {"a___b", Errc::kInvalidArgument, "invalid repository path component"},
      {"a._b", Errc::kInvalidArgument, "invalid repository path component"},
      {"aa/asdf$$^/aa", Errc::kInvalidArgument, "invalid repository path component 'asdf$$^'"},
      {"busy box", Errc::kInvalidArgument, "invalid repository path component"},
      {"host:port/x", Errc::kInvalidArgument, "invalid registry host 'host:port'"},
      {"host:99999/x", Errc::kInvalidArgument, "invalid registry host"},
      {"host:/x", Errc::kInvalidArgument, "invalid registry host"},
      {"foo_bar.com/x", Errc::kInvalidArgument, "invalid registry host 'foo_bar.com'"},
      {"-foo.com/x", Errc::kInvalidArgument, "invalid registry host"},
      {"[::1/x", Errc::kInvalidArgument, "invalid registry host"},
      {"[fe80::1%eth0]:5000/x", Errc::kInvalidArgument, "invalid registry host"},
      {"2001:db8::1/repo", Errc::kInvalidArgument, "invalid registry host"},
      {kHex, Errc::kInvalidArgument, "image id"},
      {long_name, Errc::kInvalidArgument, "256 characters long (at most 255)"},
      {"example.com/" + std::string(244, 'a'), Errc::kInvalidArgument, "at most 255"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    auto r = parse_reference(c.input);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == c.code);
    CHECK_MESSAGE(r.error().message().find(c.says) != std::string::npos, r.error().message());
    CHECK(r.error().message().starts_with("invalid reference '" + c.input + "': "));
  }
}

TEST_CASE("parse_reference: exact message for an upper-case name") {
  auto r = parse_reference("Foo");
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "invalid reference 'Foo': repository name must be lowercase");
}

TEST_CASE("parse_reference: length limits are inclusive") {
  CHECK(parse_reference(std::string(255, 'a')).has_value());
  CHECK(parse_reference("x:" + std::string(128, 't')).has_value());
  // The limit is on the name as written, before docker.io/library/ is added.
  auto r = parse_reference(std::string(255, 'a'));
  REQUIRE(r);
  CHECK(r->name().size() == 255 + std::string("docker.io/library/").size());
}

TEST_CASE("with_digest gives the pinned NAME@sha256 form and drops the tag") {
  auto r = parse_reference("user/app:1");
  REQUIRE(r);
  auto d = digest::sha256_of("manifest bytes");
  auto pinned = r->with_digest(d);
  CHECK(pinned.str() == "docker.io/user/app@" + d.str());
  CHECK(pinned.tag().empty());
  CHECK(pinned.familiar() == "user/app@" + d.str());
  // The pinned line is what tools print and read back (the pipe convention).
  auto back = parse_reference(pinned.str());
  REQUIRE(back);
  CHECK(*back == pinned);
  // The original keeps its tag.
  CHECK(r->tag() == "1");
}

TEST_CASE("with_tag validates the tag and drops the digest") {
  auto r = parse_reference("localhost:5000/x@" + kDigest);
  REQUIRE(r);
  auto t = r->with_tag("v2");
  REQUIRE(t);
  CHECK(t->str() == "localhost:5000/x:v2");
  CHECK_FALSE(t->digest().has_value());
  auto bad = r->with_tag("-v2");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == Errc::kInvalidArgument);
}

TEST_CASE("registry_api_host maps docker.io to registry-1.docker.io") {
  CHECK(parse_reference("busybox")->registry_api_host() == "registry-1.docker.io");
  CHECK(parse_reference("index.docker.io/a/b")->registry_api_host() == "registry-1.docker.io");
  CHECK(parse_reference("host:5000/a")->registry_api_host() == "host:5000");
  CHECK(parse_reference("[::1]:5000/a")->registry_api_host() == "[::1]:5000");
}

TEST_CASE("grammar helpers") {
  CHECK(ref::valid_path_component("a"));
  CHECK(ref::valid_path_component("a1.b2_c3__d4-e5---f6"));
  CHECK_FALSE(ref::valid_path_component(""));
  CHECK_FALSE(ref::valid_path_component("a_"));
  CHECK_FALSE(ref::valid_path_component("a.-b"));
  CHECK(ref::valid_tag("_"));
  CHECK_FALSE(ref::valid_tag("a/b"));
  CHECK(ref::valid_registry_host("localhost"));
  CHECK(ref::valid_registry_host("10.0.0.1:65535"));
  CHECK_FALSE(ref::valid_registry_host("10.0.0.1:65536"));
  CHECK(ref::valid_registry_host("[fe80::1]:443"));
  CHECK_FALSE(ref::valid_registry_host("[fe80::1]x"));
  CHECK_FALSE(ref::valid_registry_host("a..b"));
  CHECK_FALSE(ref::valid_registry_host(""));
}
