#include "layout/tar.h"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <string>
#include <vector>

#include "io/fd_stream.h"
#include "io/memory.h"
#include "unit/store/fixture.h"

using namespace hoist;
using hoist::testing::TempDir;

namespace {

struct Item {
  std::string name;
  char type;
  std::string data;
};

std::vector<Item> read_all_entries(io::Reader& in) {
  layout::tar::TarReader tr(in);
  std::vector<Item> out;
  for (;;) {
    auto e = tr.next();
    REQUIRE_MESSAGE(e.has_value(), hoist::testing::err(e));
    if (!*e) break;
    Item it{(*e)->name, (*e)->type, {}};
    io::StringWriter sw;
    std::array<std::byte, 777> buf;  // odd size: entries span several reads
    for (;;) {
      auto n = tr.read(buf);
      REQUIRE(n.has_value());
      if (*n == 0) break;
      REQUIRE(sw.write(std::span<const std::byte>(buf.data(), *n)).has_value());
    }
    it.data = sw.take();
    out.push_back(std::move(it));
  }
  return out;
}

}  // namespace

TEST_CASE("tar: our archives round-trip and GNU tar reads them") {
  std::string long_name = "blobs/" + std::string(120, 'a') + "/" + std::string(90, 'b');  // needs prefix split
  std::string huge_name = std::string(300, 'c');                                          // needs pax
  std::string big(100000, 'x');
  io::StringWriter sw;
  layout::tar::TarWriter tw(sw);
  REQUIRE(tw.add_directory("blobs").has_value());
  REQUIRE(tw.add_file("index.json", "{}").has_value());
  REQUIRE(tw.add_file("empty", "").has_value());
  REQUIRE(tw.add_file(long_name, "long").has_value());
  REQUIRE(tw.add_file(huge_name, "huge").has_value());
  io::StringReader br(big);
  REQUIRE(tw.add_file_from("big", br, big.size()).has_value());
  REQUIRE(tw.finish().has_value());
  CHECK(sw.str().size() % 512 == 0);

  io::StringReader in(sw.str());
  auto items = read_all_entries(in);
  REQUIRE(items.size() == 6);
  CHECK(items[0].name == "blobs/");
  CHECK(items[0].type == '5');
  CHECK(items[1].name == "index.json");
  CHECK(items[1].data == "{}");
  CHECK(items[2].data.empty());
  CHECK(items[3].name == long_name);
  CHECK(items[3].data == "long");
  CHECK(items[4].name == huge_name);
  CHECK(items[4].data == "huge");
  CHECK(items[5].data == big);

  TempDir t;
  REQUIRE(sys::write_file_atomic(t / "a.tar", sw.str()).has_value());
  auto res = hoist::testing::run(fmt::format("tar -tf '{}'", t / "a.tar"));
  REQUIRE_MESSAGE(res.rc == 0, res.out);
  CHECK(res.out == "blobs/\nindex.json\nempty\n" + long_name + "\n" + huge_name + "\nbig\n");
}

TEST_CASE("tar: reads GNU tar's pax and gnu formats, skipping what it does not model") {
  TempDir t;
  std::string deep = "d/" + std::string(150, 'x') + "/" + std::string(120, 'y');
  REQUIRE(sys::mkdir_all(t / ("src/" + deep.substr(0, deep.rfind('/')))).has_value());
  REQUIRE(sys::write_file_atomic(t / ("src/" + deep), "deep").has_value());
  REQUIRE(sys::write_file_atomic(t / "src/f", std::string(1500, 'f')).has_value());
  REQUIRE(hoist::testing::run(fmt::format("ln -s f '{}'", t / "src/link")).rc == 0);
  for (const char* format : {"pax", "gnu", "ustar"}) {
    CAPTURE(format);
    auto res = hoist::testing::run(
        fmt::format("cd '{}' && tar --format={} --sort=name -cf ../a.tar f link d", t / "src", format));
    if (std::string(format) == "ustar") {
      // ustar cannot hold the 120-byte last component: GNU tar refuses that member.
      REQUIRE(hoist::testing::run(fmt::format("cd '{}' && tar --format=ustar -cf ../a.tar f link", t / "src")).rc == 0);
    } else {
      REQUIRE_MESSAGE(res.rc == 0, res.out);
    }
    sys::Fd fd = sys::open_file(t / "a.tar", O_RDONLY).value();
    io::FdReader in(fd.get());
    auto items = read_all_entries(in);
    std::map<std::string, Item> by_name;
    for (auto& it : items) by_name[it.name] = it;
    CHECK(by_name["f"].data == std::string(1500, 'f'));
    CHECK(by_name["link"].type == '2');
    CHECK(by_name["link"].data.empty());
    if (std::string(format) != "ustar") CHECK(by_name[deep].data == "deep");
  }
}

TEST_CASE("tar: corrupt and truncated input") {
  io::StringWriter sw;
  layout::tar::TarWriter tw(sw);
  REQUIRE(tw.add_file("a", std::string(2000, 'a')).has_value());
  REQUIRE(tw.finish().has_value());
  SUBCASE("bad checksum") {
    std::string s = sw.str();
    s[0] = 'b';
    io::StringReader in(s);
    layout::tar::TarReader tr(in);
    auto e = tr.next();
    REQUIRE(!e);
    CHECK(e.error().code() == Errc::kInvalidArgument);
  }
  SUBCASE("truncated data") {
    std::string s = sw.str().substr(0, 512 + 1000);
    io::StringReader in(s);
    layout::tar::TarReader tr(in);
    auto e = tr.next();
    REQUIRE(e.has_value());
    std::array<std::byte, 4096> buf;
    Result<size_t> n = size_t{1};
    while (n && *n > 0) n = tr.read(buf);
    REQUIRE(!n);
    CHECK(n.error().code() == Errc::kIo);
  }
  SUBCASE("writer refuses a short entry") {
    io::StringWriter out;
    layout::tar::TarWriter w(out);
    REQUIRE(w.begin_file("x", 10).has_value());
    REQUIRE(w.write_data(std::as_bytes(std::span("abc", 3))).has_value());
    CHECK(!w.end_file());
    CHECK(!w.write_data(std::as_bytes(std::span("0123456789", 10))));
  }
}
