#include "io/memory.h"

#include <doctest/doctest.h>

#include "io_test_util.h"

using namespace hoist;
using namespace hoist::io;
using namespace hoist::io::test;

TEST_CASE("string reader") {
  StringReader r("hello world");
  std::byte buf[4];
  CHECK(r.read(buf).value() == 4);
  CHECK(as_string_view(buf) == "hell");
  CHECK(r.remaining() == 7);
  CHECK(read_all(r, 3).value() == "o world");
  CHECK(r.read(buf).value() == 0);
  CHECK(r.read({}).value() == 0);
}

TEST_CASE("string writer with and without a cap") {
  StringWriter w;
  REQUIRE(w.write(bytes("abc")).has_value());
  REQUIRE(w.write(bytes("")).has_value());
  REQUIRE(w.write(bytes("def")).has_value());
  CHECK(w.str() == "abcdef");
  CHECK(w.take() == "abcdef");

  StringWriter capped(5);
  REQUIRE(capped.write(bytes("12345")).has_value());
  auto r = capped.write(bytes("6"));
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kInvalidArgument);
  CHECK(r.error().message() == "content exceeds 5 bytes");
  CHECK(capped.str() == "12345");
}
