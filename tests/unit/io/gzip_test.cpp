#include "io/gzip.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include "io/copy.h"
#include "io/memory.h"
#include "io_test_util.h"

using namespace hoist;
using namespace hoist::io;
using namespace hoist::io::test;

namespace {

std::string gzip_compress(std::string_view data, int level, size_t write_chunk = 100000) {
  StringWriter sink;
  GzipWriter gz(sink, level);
  for (size_t off = 0; off < data.size(); off += write_chunk) {
    REQUIRE(gz.write(bytes(data.substr(off, write_chunk))).has_value());
  }
  REQUIRE(gz.close().has_value());
  CHECK(gz.count() == data.size());
  return sink.take();
}

Result<std::string> gunzip(std::string_view compressed, size_t in_chunk = 1 << 20, size_t out_chunk = 65536) {
  ChunkedReader in(compressed, in_chunk);
  GzipReader gz(in);
  return read_all(gz, out_chunk);
}

}  // namespace

TEST_CASE("gzip round trip at every level") {
  std::string data = layer_like(1 << 20);
  for (int level = 0; level <= 9; ++level) {
    CAPTURE(level);
    std::string z = gzip_compress(data, level);
    if (level > 0) CHECK(z.size() < data.size() / 2);
    auto back = gunzip(z);
    REQUIRE(back.has_value());
    CHECK(back.value() == data);
  }
}

TEST_CASE("gzip writer output is deterministic and has a fixed header") {
  // Several of the writer's 1 MiB igzip segments plus a partial one.
  std::string data = layer_like((5 << 20) / 2, 7);
  for (int level : {1, 2, 3, 6}) {
    CAPTURE(level);
    std::string a = gzip_compress(data, level, 4096);
    std::string b = gzip_compress(data, level, 777777);
    CHECK(a == b);  // independent of how the input was chunked
    // 1f 8b, deflate, no flags, mtime 0
    REQUIRE(a.size() > 10);
    CHECK(a.substr(0, 8) == std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8));
  }
}

TEST_CASE("empty and tiny inputs") {
  for (int level : {1, 6}) {
    std::string z = gzip_compress("", level);
    CHECK(gunzip(z).value() == "");
    z = gzip_compress("x", level);
    CHECK(gunzip(z).value() == "x");
  }
}

TEST_CASE("short reads and short buffers on both sides") {
  std::string data = layer_like(300000, 3);
  std::string z = gzip_compress(data, 2);
  CHECK(gunzip(z, 1, 65536).value() == data);    // one compressed byte per read
  CHECK(gunzip(z, 4096, 1).value().size() == data.size());  // one output byte per read
  CHECK(gunzip(z, 7, 13).value() == data);
}

TEST_CASE("interop: what we write, gzip reads") {
  REQUIRE(have_tool("gzip"));
  TempDir dir;
  std::string data = layer_like(1 << 20, 11);
  for (int level : {0, 1, 2, 3, 6, 9}) {
    CAPTURE(level);
    write_file(dir / "a.gz", gzip_compress(data, level));
    CHECK(shell("gzip -t " + (dir / "a.gz")) == 0);
    CHECK(shell("gzip -dc " + (dir / "a.gz") + " > " + (dir / "a")) == 0);
    CHECK(read_file(dir / "a") == data);
  }
}

TEST_CASE("interop: what gzip writes, we read, names and multi-member included") {
  REQUIRE(have_tool("gzip"));
  TempDir dir;
  std::string a = layer_like(1 << 20, 5);
  std::string b = layer_like(70000, 6);
  write_file(dir / "a", a);
  write_file(dir / "b", b);
  // -N stores the file name and mtime in the header (FNAME flag).
  REQUIRE(shell("gzip -N -9 -c " + (dir / "a") + " > " + (dir / "a.gz")) == 0);
  REQUIRE(shell("gzip -1 -c < " + (dir / "b") + " > " + (dir / "b.gz")) == 0);
  REQUIRE(shell("cat " + (dir / "a.gz") + " " + (dir / "b.gz") + " " + (dir / "a.gz") + " > " +
                (dir / "multi.gz")) == 0);
  CHECK(gunzip(read_file(dir / "a.gz")).value() == a);
  std::string multi = read_file(dir / "multi.gz");
  for (size_t chunk : {size_t{1} << 20, size_t{1}, size_t{3}, size_t{1000}}) {
    CAPTURE(chunk);
    ChunkedReader in(multi, chunk);
    GzipReader gz(in);
    auto out = read_all(gz, chunk == 1 ? 7 : 65536);
    REQUIRE(out.has_value());
    CHECK(out.value() == a + b + a);
    CHECK(gz.members() == 3);
    CHECK(gz.compressed_count() == multi.size());
  }
  // An empty member in the middle (gzip of an empty file) is still a member.
  REQUIRE(shell("gzip -c < /dev/null > " + (dir / "e.gz")) == 0);
  std::string with_empty = read_file(dir / "b.gz") + read_file(dir / "e.gz") + read_file(dir / "b.gz");
  CHECK(gunzip(with_empty).value() == b + b);
}

TEST_CASE("corrupt input fails with a clear error") {
  std::string data = layer_like(200000, 9);
  std::string z = gzip_compress(data, 6);

  SUBCASE("flipped byte in the deflate data") {
    std::string bad = z;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x55);
    auto r = gunzip(bad);
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::kInvalidArgument);
    CHECK(r.error().message().starts_with("corrupt gzip stream: "));
  }
  SUBCASE("wrong CRC in the trailer") {
    std::string bad = z;
    bad[bad.size() - 6] = static_cast<char>(bad[bad.size() - 6] ^ 1);
    auto r = gunzip(bad);
    REQUIRE(!r);
    CHECK(r.error().message() == "corrupt gzip stream: incorrect checksum");
  }
  SUBCASE("wrong length in the trailer") {
    std::string bad = z;
    bad[bad.size() - 1] = static_cast<char>(bad[bad.size() - 1] ^ 1);
    auto r = gunzip(bad);
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::kInvalidArgument);
  }
  SUBCASE("truncated, at every kind of place") {
    for (size_t cut : {size_t{0}, size_t{1}, size_t{5}, size_t{10}, z.size() / 2, z.size() - 8, z.size() - 1}) {
      CAPTURE(cut);
      auto r = gunzip(z.substr(0, cut));
      REQUIRE(!r);
      CHECK(r.error().code() == Errc::kInvalidArgument);
      CHECK(r.error().message() == "unexpected end of gzip stream");
    }
  }
  SUBCASE("not gzip at all") {
    auto r = gunzip("this is plain text, not gzip");
    REQUIRE(!r);
    CHECK(r.error().message() == "corrupt gzip stream: invalid gzip header");
  }
  SUBCASE("trailing garbage after the last member") {
    for (std::string tail : {std::string("garbage"), std::string(512, '\0'), std::string("\x1f")}) {
      auto r = gunzip(z + tail);
      REQUIRE(!r);
      CHECK(r.error().code() == Errc::kInvalidArgument);
      CHECK(r.error().message() != "");
    }
    auto r = gunzip(z + "garbage", 1);
    REQUIRE(!r);
    CHECK(r.error().message() == "trailing garbage after gzip stream");
  }
  SUBCASE("errors are sticky") {
    std::string bad = z.substr(0, 100);
    StringReader in(bad);
    GzipReader gz(in);
    auto first = read_all(gz);
    REQUIRE(!first);
    std::byte b[16];
    auto again = gz.read(b);
    REQUIRE(!again);
    CHECK(again.error().message() == first.error().message());
  }
}

TEST_CASE("underlying errors pass through") {
  std::string z = gzip_compress(layer_like(100000), 1);
  FailingReader in(std::string_view(z).substr(0, z.size() / 2));
  GzipReader gz(in);
  auto r = read_all(gz);
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kIo);
  CHECK(r.error().message() == "connection reset");

  FailingWriter sink(100);
  GzipWriter w(sink, 6);
  std::string data = layer_like(1 << 20);
  auto wr = w.write(bytes(data));
  auto cr = wr ? w.close() : Result<>(fail(wr.error()));
  REQUIRE(!cr);
  CHECK(cr.error().message() == "disk full");
  CHECK(!w.write(bytes("more")));  // broken stays broken
}

TEST_CASE("writer closes next once, rejects bad levels") {
  FailingWriter sink(1 << 20);
  GzipWriter w(sink);
  REQUIRE(w.write(bytes("hello")).has_value());
  REQUIRE(w.close().has_value());
  REQUIRE(w.close().has_value());
  CHECK(sink.closes() == 1);
  CHECK(gunzip(sink.got()).value() == "hello");
  CHECK(!w.write(bytes("late")));

  StringWriter s2;
  GzipWriter bad(s2, 10);
  auto r = bad.write(bytes("x"));
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kInvalidArgument);
  CHECK(r.error().message() == "invalid gzip level 10");
}

TEST_CASE("optional header fields: extra, name, comment, header CRC") {
  // RFC 1952 2.3: FHCRC 0x02, FEXTRA 0x04, FNAME 0x08, FCOMMENT 0x10.
  std::string data = layer_like(50000, 12);
  std::string member = gzip_compress(data, 6);
  std::string body = member.substr(10);  // deflate data + CRC-32 + ISIZE
  std::string hdr("\x1f\x8b\x08\x1e\x00\x00\x00\x00\x00\x03", 10);
  hdr += std::string("\x06\x00" "BC\x02\x00\x00\x00", 8);  // XLEN 6: one bgzip-style subfield
  hdr += std::string("layer.tar\0", 10);
  hdr += std::string("a comment\0", 10);
  uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(hdr.data()), static_cast<uInt>(hdr.size())));
  hdr.push_back(static_cast<char>(crc & 0xff));
  hdr.push_back(static_cast<char>((crc >> 8) & 0xff));
  // The header split between input buffers at every possible point.
  for (size_t chunk : {1, 2, 3, 5, 8, 13, 100}) {
    CAPTURE(chunk);
    CHECK(gunzip(hdr + body, chunk).value() == data);
  }
  std::string two = hdr + body + hdr + body;
  for (size_t chunk = body.size() + 30; chunk < body.size() + 60; ++chunk) {
    CAPTURE(chunk);
    CHECK(gunzip(two, chunk).value() == data + data);
  }

  std::string bad_hcrc = hdr;
  bad_hcrc.back() = static_cast<char>(bad_hcrc.back() ^ 1);
  auto r = gunzip(bad_hcrc + body);
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kInvalidArgument);

  std::string not_deflate = member;
  not_deflate[2] = 7;  // CM must be 8
  r = gunzip(not_deflate);
  REQUIRE(!r);
  CHECK(r.error().message() == "corrupt gzip stream: unsupported compression method");
}
