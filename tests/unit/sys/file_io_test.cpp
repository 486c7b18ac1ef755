#include "sys/file_io.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>

using namespace hoist;

TEST_CASE("write_file_atomic, read_file, mkdir_all, remove_all") {
  char tmpl[] = "/tmp/hoist-sys-XXXXXX";
  std::string root = mkdtemp(tmpl);
  REQUIRE(sys::mkdir_all(root + "/a/b/c").has_value());
  REQUIRE(sys::write_file_atomic(root + "/a/b/c/f", "hello").has_value());
  CHECK(sys::read_file(root + "/a/b/c/f", 100).value() == "hello");
  auto big = sys::read_file(root + "/a/b/c/f", 3);
  REQUIRE(!big);
  CHECK(big.error().code() == Errc::kInvalidArgument);
  auto missing = sys::open_file(root + "/nope", O_RDONLY);
  REQUIRE(!missing);
  CHECK(missing.error().code() == Errc::kNotFound);
  REQUIRE(sys::remove_all(root).has_value());
  CHECK(!sys::exists(root));
}
