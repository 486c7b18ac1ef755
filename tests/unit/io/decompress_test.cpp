#include "io/decompress.h"

#include <doctest/doctest.h>

#include "io/gzip.h"
#include "io/memory.h"
#include "io/peek.h"
#include "io/zstd.h"
#include "io_test_util.h"

using namespace hoist;
using namespace hoist::io;
using namespace hoist::io::test;

namespace {

std::string compress(std::string_view data, Compression c, int level = -1) {
  StringWriter sink;
  auto w = open_compressor(sink, c, level);
  REQUIRE(w.has_value());
  REQUIRE((*w)->write(bytes(data)).has_value());
  REQUIRE((*w)->close().has_value());
  return sink.take();
}

}  // namespace

TEST_CASE("sniff") {
  CHECK(sniff(bytes("\x1f\x8b\x08")) == Compression::kGzip);
  CHECK(sniff(bytes("\x28\xb5\x2f\xfd")) == Compression::kZstd);
  CHECK(sniff(bytes("\x28\xb5\x2f")) == Compression::kNone);
  CHECK(sniff(bytes("\x1f")) == Compression::kNone);
  CHECK(sniff(bytes("")) == Compression::kNone);
  CHECK(sniff(bytes("ustar")) == Compression::kNone);
  CHECK(compression_name(Compression::kZstd) == "zstd");
  // What our writers produce is what sniff recognises.
  CHECK(sniff(bytes(compress("x", Compression::kGzip))) == Compression::kGzip);
  CHECK(sniff(bytes(compress("x", Compression::kZstd))) == Compression::kZstd);
}

TEST_CASE("peek reader does not consume") {
  std::string data = layer_like(10000);
  ChunkedReader in(data, 3);  // peek must loop over short reads
  PeekReader p(in);
  auto first = p.peek(10);
  REQUIRE(first.has_value());
  CHECK(as_string_view(*first) == data.substr(0, 10));
  CHECK(as_string_view(p.peek(4).value()) == data.substr(0, 4));
  std::byte b[6];
  REQUIRE(p.read(b).value() == 6);
  CHECK(as_string_view(b) == data.substr(0, 6));
  CHECK(as_string_view(p.peek(8).value()) == data.substr(6, 8));  // peek after a partial read
  CHECK(read_all(p, 1000).value() == data.substr(6));

  StringReader small("ab");
  PeekReader p2(small);
  CHECK(as_string_view(p2.peek(10).value()) == "ab");  // shorter at EOF
  CHECK(read_all(p2).value() == "ab");

  FailingReader failing("");
  PeekReader p3(failing);
  CHECK(!p3.peek(4));
}

TEST_CASE("open_decompressed and open_decompressed_auto") {
  std::string data = layer_like(300000, 8);
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    CAPTURE(compression_name(c));
    std::string packed = compress(data, c);
    {
      StringReader in(packed);
      auto r = open_decompressed(in, c);
      REQUIRE(r.has_value());
      CHECK(read_all(**r).value() == data);
    }
    {
      ChunkedReader in(packed, 1);  // the sniff must survive one-byte reads
      Compression detected = Compression::kNone;
      auto r = open_decompressed_auto(in, &detected);
      REQUIRE(r.has_value());
      CHECK(detected == c);
      CHECK(read_all(**r).value() == data);
    }
  }
  // Short input decides "none" and passes it through.
  StringReader in("x");
  auto r = open_decompressed_auto(in);
  CHECK(read_all(**r).value() == "x");
  // Mislabelled input fails in the decompressor, clearly.
  StringReader plain(data);
  auto g = open_decompressed(plain, Compression::kGzip);
  auto out = read_all(**g);
  REQUIRE(!out);
  CHECK(out.error().code() == Errc::kInvalidArgument);
}

TEST_CASE("compressor levels pass through, kNone passes bytes and close") {
  std::string data = layer_like(200000, 9);
  CHECK(compress(data, Compression::kGzip, 9).size() < compress(data, Compression::kGzip, 1).size());
  CHECK(compress(data, Compression::kNone) == data);
  FailingWriter sink(1 << 20);
  auto w = open_compressor(sink, Compression::kNone);
  REQUIRE((*w)->close().has_value());
  CHECK(sink.closes() == 1);
}
