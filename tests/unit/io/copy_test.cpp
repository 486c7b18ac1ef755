#include "io/copy.h"

#include <doctest/doctest.h>

#include <vector>

#include "io/counting.h"
#include "io/memory.h"
#include "io/tee.h"
#include "io_test_util.h"

using namespace hoist;
using namespace hoist::io;
using namespace hoist::io::test;

TEST_CASE("copy moves every byte and reports errors of either side") {
  std::string data = layer_like(3000000);
  ChunkedReader in(data, 70000);
  StringWriter out;
  CHECK(copy(in, out).value() == data.size());
  CHECK(out.str() == data);

  StringReader empty("");
  StringWriter out2;
  CHECK(copy(empty, out2, 1).value() == 0);

  FailingReader bad_in("abc");
  StringWriter out3;
  auto r = copy(bad_in, out3);
  REQUIRE(!r);
  CHECK(r.error().message() == "connection reset");
  CHECK(out3.str() == "abc");

  StringReader in4(data);
  FailingWriter bad_out(1000);
  auto r2 = copy(in4, bad_out, 512);
  REQUIRE(!r2);
  CHECK(r2.error().message() == "disk full");
  CHECK(bad_out.got() == data.substr(0, 512));
  CHECK(bad_out.closes() == 0);  // copy never closes
}

TEST_CASE("tee writes both and closes both") {
  FailingWriter a(1 << 20);
  FailingWriter b(1 << 20);
  TeeWriter t(a, b);
  REQUIRE(t.write(bytes("hello ")).has_value());
  REQUIRE(t.write(bytes("world")).has_value());
  REQUIRE(t.close().has_value());
  CHECK(a.got() == "hello world");
  CHECK(b.got() == "hello world");
  CHECK(a.closes() == 1);
  CHECK(b.closes() == 1);

  FailingWriter small(3);
  FailingWriter big(100);
  TeeWriter t2(big, small);
  CHECK(!t2.write(bytes("abcd")));
  CHECK(t2.close().has_value());
  CHECK(small.closes() == 1);
}

TEST_CASE("counting writer and reader report progress") {
  std::string data = layer_like(10000);
  StringWriter out;
  std::vector<uint64_t> seen;
  CountingWriter c(out, [&](uint64_t n) { seen.push_back(n); }, 1000);
  for (size_t off = 0; off < data.size(); off += 300) REQUIRE(c.write(bytes(std::string_view(data).substr(off, 300))).has_value());
  REQUIRE(c.close().has_value());
  REQUIRE(c.close().has_value());
  CHECK(c.count() == 10000);
  CHECK(out.str() == data);
  // One report per 1000-byte boundary crossed (10 of them, the last at 10000),
  // then the final one from close().
  REQUIRE(seen.size() == 11);
  CHECK(seen.front() == 1200);
  CHECK(seen[9] == 10000);
  CHECK(seen.back() == 10000);
  for (size_t i = 1; i < seen.size(); ++i) CHECK(seen[i] >= seen[i - 1]);

  ChunkedReader in(data, 2500);
  std::vector<uint64_t> seen_r;
  CountingReader cr(in, [&](uint64_t n) { seen_r.push_back(n); }, 4096);
  CHECK(read_all(cr, 2500).value() == data);
  CHECK(seen_r == std::vector<uint64_t>{5000, 10000, 10000});
  CHECK(cr.count() == 10000);
}
