#include "io/hashing.h"

#include <doctest/doctest.h>

#include "io/copy.h"
#include "io/memory.h"
#include "io/null.h"
#include "io_test_util.h"

using namespace hoist;
using namespace hoist::io;
using namespace hoist::io::test;

TEST_CASE("hashing writer digests and counts what passed") {
  std::string data = layer_like(200000);
  NullWriter null;
  HashingWriter h(null);
  CHECK(h.digest() == digest::sha256_of(""));
  for (size_t off = 0; off < data.size(); off += 333) REQUIRE(h.write(bytes(std::string_view(data).substr(off, 333))).has_value());
  CHECK(h.digest() == digest::sha256_of(data));  // mid-stream peek does not disturb
  REQUIRE(h.write(bytes("more")).has_value());
  REQUIRE(h.close().has_value());
  CHECK(h.digest() == digest::sha256_of(data + "more"));
  CHECK(h.count() == data.size() + 4);
  CHECK(null.count() == data.size() + 4);

  HashingWriter h512(null, digest::Algorithm::kSha512);
  REQUIRE(h512.write(bytes("abc")).has_value());
  CHECK(h512.digest() == digest::of(digest::Algorithm::kSha512, "abc"));
}

TEST_CASE("hashing writer: bytes the sink refused are not counted") {
  FailingWriter sink(5);
  HashingWriter h(sink);
  REQUIRE(h.write(bytes("abc")).has_value());
  CHECK(!h.write(bytes("defg")));
  CHECK(h.count() == 3);
  CHECK(h.digest() == digest::sha256_of("abc"));
}

TEST_CASE("hashing reader") {
  std::string data = layer_like(100000, 4);
  ChunkedReader in(data, 1000);
  HashingReader h(in);
  StringWriter out;
  CHECK(copy(h, out, 4096).value() == data.size());
  CHECK(out.str() == data);
  CHECK(h.digest() == digest::sha256_of(data));
  CHECK(h.count() == data.size());
}
