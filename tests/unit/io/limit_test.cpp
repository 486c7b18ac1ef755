#include "io/limit.h"

#include <doctest/doctest.h>

#include "io/memory.h"
#include "io_test_util.h"

using namespace hoist;
using namespace hoist::io;
using namespace hoist::io::test;

TEST_CASE("limited reader at the boundary") {
  std::string data = layer_like(1000);
  for (size_t chunk : {size_t{1}, size_t{100}, size_t{999}, size_t{1000}, size_t{4096}}) {
    CAPTURE(chunk);
    {  // exactly max: fine
      StringReader in(data);
      LimitedReader l(in, 1000);
      CHECK(read_all(l, chunk).value() == data);
      CHECK(l.count() == 1000);
    }
    {  // one byte over: error
      StringReader in(data);
      LimitedReader l(in, 999);
      auto r = read_all(l, chunk);
      REQUIRE(!r);
      CHECK(r.error().code() == Errc::kInvalidArgument);
      CHECK(r.error().message() == "body longer than 999 bytes");
      std::byte b[4];
      CHECK(!l.read(b));  // sticky
    }
  }
  StringReader in("");
  LimitedReader zero(in, 0);
  CHECK(read_all(zero).value().empty());
  StringReader in2("x");
  LimitedReader zero2(in2, 0);
  CHECK(!read_all(zero2));
  // No cap at all.
  StringReader in3(data);
  LimitedReader huge(in3, UINT64_MAX);
  CHECK(read_all(huge).value() == data);
}

TEST_CASE("limited writer at the boundary") {
  FailingWriter sink(1 << 20);
  LimitedWriter l(sink, 10);
  REQUIRE(l.write(bytes("12345")).has_value());
  REQUIRE(l.write(bytes("67890")).has_value());
  CHECK(l.count() == 10);
  CHECK(l.write(bytes("")).has_value());
  auto r = l.write(bytes("x"));
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kInvalidArgument);
  CHECK(r.error().message() == "body longer than 10 bytes");
  CHECK(sink.got() == "1234567890");
  REQUIRE(l.close().has_value());
  CHECK(sink.closes() == 1);

  StringWriter s2;
  LimitedWriter l2(s2, 10);
  REQUIRE(!l2.write(bytes("12345678901")));  // straddling write: nothing passes
  CHECK(s2.str().empty());
}
