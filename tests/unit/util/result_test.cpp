#include "util/result.h"

#include <doctest/doctest.h>

#include <cerrno>

#include "util/strings.h"

using namespace hoist;

namespace {
Result<int> half(int x) {
  if (x % 2) return fail(Errc::kInvalidArgument, "'" + std::to_string(x) + "' is odd");
  return x / 2;
}
Result<int> quarter(int x) {
  int h = HOIST_TRY_CTX(half(x), "cannot quarter");
  return HOIST_TRY(half(h));
}
}  // namespace

TEST_CASE("HOIST_TRY propagates the error with context") {
  CHECK(quarter(8).value() == 2);
  auto r = quarter(6);
  REQUIRE(!r);
  CHECK(r.error().message() == "'3' is odd");
  auto r2 = quarter(5);
  REQUIRE(!r2);
  CHECK(r2.error().message() == "cannot quarter: '5' is odd");
  CHECK(r2.error().code() == Errc::kInvalidArgument);
}

TEST_CASE("from_errno maps errno to a class and keeps it") {
  auto e = Error::from_errno(ENOENT, "cannot open 'x'");
  CHECK(e.code() == Errc::kNotFound);
  CHECK(e.sys_errno() == ENOENT);
  CHECK(e.message() == "cannot open 'x': No such file or directory");
}

TEST_CASE("strings") {
  CHECK(split("a/b//c", '/').size() == 4);
  CHECK(trim("  x y \n") == "x y");
  CHECK(parse_u64("123") == 123u);
  CHECK(!parse_u64("12a"));
  CHECK(!parse_u64("99999999999999999999999"));
  CHECK(base64_encode("user:pass") == "dXNlcjpwYXNz");
  CHECK(base64_decode("dXNlcjpwYXNz") == "user:pass");
  CHECK(base64_decode("YQ") == "a");
  CHECK(!base64_decode("a$b"));
  CHECK(human_bytes(1536) == "1.5 KiB");
}
