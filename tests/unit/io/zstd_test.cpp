#include "io/zstd.h"

#include <doctest/doctest.h>

#include "io/memory.h"
#include "io_test_util.h"

using namespace hoist;
using namespace hoist::io;
using namespace hoist::io::test;

namespace {

std::string zstd_compress(std::string_view data, int level, size_t write_chunk = 100000, int workers = 0) {
  StringWriter sink;
  ZstdWriter zw(sink, level, workers);
  for (size_t off = 0; off < data.size(); off += write_chunk) {
    REQUIRE(zw.write(bytes(data.substr(off, write_chunk))).has_value());
  }
  REQUIRE(zw.close().has_value());
  CHECK(zw.count() == data.size());
  return sink.take();
}

Result<std::string> unzstd(std::string_view compressed, size_t in_chunk = 1 << 20, size_t out_chunk = 65536) {
  ChunkedReader in(compressed, in_chunk);
  ZstdReader zr(in);
  return read_all(zr, out_chunk);
}

}  // namespace

TEST_CASE("zstd round trip") {
  std::string data = layer_like(1 << 20, 21);
  for (int level : {1, 3, 9, 15, -5}) {
    CAPTURE(level);
    std::string z = zstd_compress(data, level);
    CHECK(z.size() < data.size());
    CHECK(unzstd(z).value() == data);
  }
  std::string z = zstd_compress(data, 3);
  CHECK(unzstd(z, 1, 65536).value() == data);
  CHECK(unzstd(z, 5000, 3).value() == data);
  CHECK(zstd_compress(data, 3, 4096) == zstd_compress(data, 3, 99999));  // chunking-independent
  CHECK(unzstd(zstd_compress(data, 3, 100000, 2)).value() == data);     // multi-threaded
  CHECK(unzstd(zstd_compress("", 3)).value() == "");
}

TEST_CASE("zstd interop with the zstd binary") {
  REQUIRE(have_tool("zstd"));
  TempDir dir;
  std::string data = layer_like(1 << 20, 22);
  write_file(dir / "ours.zst", zstd_compress(data, 3));
  CHECK(shell("zstd -q -t " + (dir / "ours.zst")) == 0);
  CHECK(shell("zstd -q -d -c " + (dir / "ours.zst") + " > " + (dir / "ours")) == 0);
  CHECK(read_file(dir / "ours") == data);

  write_file(dir / "d", data);
  REQUIRE(shell("zstd -q -9 -c " + (dir / "d") + " > " + (dir / "theirs.zst")) == 0);
  CHECK(unzstd(read_file(dir / "theirs.zst")).value() == data);
  // --long=27 uses a 128 MiB window, the largest accepted by default.
  REQUIRE(shell("zstd -q --long=27 -c " + (dir / "d") + " > " + (dir / "long.zst")) == 0);
  CHECK(unzstd(read_file(dir / "long.zst")).value() == data);
  // Concatenated frames read as one stream, like zstd -d.
  std::string two = read_file(dir / "theirs.zst") + zstd_compress("tail", 1);
  CHECK(unzstd(two).value() == data + "tail");
}

TEST_CASE("skippable frames are skipped") {
  std::string frame = zstd_compress("payload", 3);
  // Skippable frame: magic 0x184D2A50 (LE), 4-byte size, then that many bytes.
  std::string skip("\x50\x2a\x4d\x18\x03\x00\x00\x00" "abc", 11);
  CHECK(unzstd(skip + frame + skip).value() == "payload");
}

TEST_CASE("corrupt zstd input") {
  std::string data = layer_like(300000, 23);
  std::string z = zstd_compress(data, 3);
  SUBCASE("flipped byte") {
    std::string bad = z;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x40);
    auto r = unzstd(bad);
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::kInvalidArgument);
    CHECK(r.error().message().starts_with("corrupt zstd stream: "));
  }
  SUBCASE("truncated") {
    for (size_t cut : {size_t{0}, size_t{3}, size_t{10}, z.size() / 2, z.size() - 1}) {
      CAPTURE(cut);
      auto r = unzstd(z.substr(0, cut));
      REQUIRE(!r);
      CHECK(r.error().code() == Errc::kInvalidArgument);
      CHECK(r.error().message() == "unexpected end of zstd stream");
    }
  }
  SUBCASE("trailing garbage and non-zstd input") {
    auto r = unzstd(z + "garbage!");
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::kInvalidArgument);
    r = unzstd("plain text, definitely not zstd");
    REQUIRE(!r);
    CHECK(r.error().message().starts_with("corrupt zstd stream: "));
  }
  SUBCASE("window larger than the cap") {
    REQUIRE(have_tool("zstd"));
    TempDir dir;
    write_file(dir / "d", data);
    // From a pipe the size is unknown, so the frame keeps its 1 GiB window.
    REQUIRE(shell("cat " + (dir / "d") + " | zstd -q --long=30 -c > " + (dir / "big.zst")) == 0);
    REQUIRE(shell("zstd -q -d --long=30 -c " + (dir / "big.zst") + " > /dev/null") == 0);
    auto r2 = unzstd(read_file(dir / "big.zst"));
    REQUIRE(!r2);
    CHECK(r2.error().code() == Errc::kInvalidArgument);
  }
}

TEST_CASE("zstd writer: levels, close, errors") {
  StringWriter s;
  ZstdWriter bad(s, 99);
  auto r = bad.write(bytes("x"));
  REQUIRE(!r);
  CHECK(r.error().message() == "invalid zstd level 99");
  CHECK(!bad.close());

  FailingWriter sink(1 << 20);
  ZstdWriter zw(sink, 3);
  REQUIRE(zw.write(bytes("abc")).has_value());
  REQUIRE(zw.close().has_value());
  REQUIRE(zw.close().has_value());
  CHECK(sink.closes() == 1);
  CHECK(unzstd(sink.got()).value() == "abc");
  // The frame carries a checksum (frame header descriptor bit 2).
  CHECK((static_cast<unsigned char>(sink.got()[4]) & 0x04) != 0);

  FailingWriter tiny(10);
  ZstdWriter zw2(tiny, 3);
  std::string data = layer_like(1 << 20);
  auto w = zw2.write(bytes(data));
  auto c = w ? zw2.close() : Result<>(fail(w.error()));
  REQUIRE(!c);
  CHECK(c.error().message() == "disk full");
}
