#include "registry/challenge.h"

#include <doctest/doctest.h>

using namespace hoist::registry;

TEST_CASE("a docker hub bearer challenge") {
  auto c = parse_challenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].param("realm") == "https://auth.docker.io/token");
  CHECK(c[0].param("service") == "registry.docker.io");
  CHECK(c[0].param("scope") == "repository:library/busybox:pull");
  CHECK(c[0].param("missing") == "");
}

TEST_CASE("basic, case-insensitive scheme and parameter names, whitespace") {
  auto c = parse_challenges(R"(BASIC   Realm = "Registry Realm" ,  charset="UTF-8")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "basic");
  CHECK(c[0].param("realm") == "Registry Realm");
  CHECK(c[0].param("REALM") == "Registry Realm");
  CHECK(c[0].param("charset") == "UTF-8");
}

TEST_CASE("quoted strings with escapes, commas and equals signs inside") {
  auto c = parse_challenges(R"(Bearer realm="https://a/t?x=1,y=2",error="say \"hi\", \\ok\\",scope="a b")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].param("realm") == "https://a/t?x=1,y=2");
  CHECK(c[0].param("error") == R"(say "hi", \ok\)");
  CHECK(c[0].param("scope") == "a b");
}

TEST_CASE("several challenges in one header") {
  auto c = parse_challenges(
      R"(Basic realm="simple", Bearer realm="https://auth/token", service="svc" , Newauth realm="apps", type=1, title="Login to \"apps\"")");
  REQUIRE(c.size() == 3);
  CHECK(c[0].scheme == "basic");
  CHECK(c[0].param("realm") == "simple");
  CHECK(c[1].scheme == "bearer");
  CHECK(c[1].param("realm") == "https://auth/token");
  CHECK(c[1].param("service") == "svc");
  CHECK(c[2].scheme == "newauth");
  CHECK(c[2].param("type") == "1");
  CHECK(c[2].param("title") == R"(Login to "apps")");
}

TEST_CASE("schemes without parameters, token68, empty input") {
  auto c = parse_challenges("Negotiate, Basic");
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "negotiate");
  CHECK(c[1].scheme == "basic");
  CHECK(c[1].params.empty());

  c = parse_challenges("Negotiate YIIB3gYGKwYBBQUCoIIB0jCCAc6gDTAL==, Basic realm=x");
  REQUIRE(c.size() == 2);
  CHECK(c[0].token68 == "YIIB3gYGKwYBBQUCoIIB0jCCAc6gDTAL==");
  CHECK(c[1].param("realm") == "x");

  CHECK(parse_challenges("").empty());
  CHECK(parse_challenges("   ,  , ").empty());
}

TEST_CASE("unquoted values, even URLs, and malformed pieces are tolerated") {
  auto c = parse_challenges("Bearer realm=https://auth.example/token,service=reg.example");
  REQUIRE(c.size() == 1);
  CHECK(c[0].param("realm") == "https://auth.example/token");
  CHECK(c[0].param("service") == "reg.example");

  c = parse_challenges(R"(Bearer realm="unterminated)");
  REQUIRE(c.size() == 1);
  CHECK(c[0].param("realm") == "unterminated");

  c = parse_challenges(R"(Bearer realm="r", ="junk", service="s")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].param("realm") == "r");
  CHECK(c[0].param("service") == "s");
}

TEST_CASE("several header fields") {
  std::vector<std::string_view> headers = {R"(Bearer realm="a")", R"(Basic realm="b")"};
  auto c = parse_challenges(headers);
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[1].param("realm") == "b");
}
