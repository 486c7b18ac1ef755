#include "archive/tar_writer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "archive_test_util.h"
#include "io/memory.h"
#include "io/tar_format.h"
#include "tar_dump.h"

using namespace hoist;
using namespace hoist::archive;
using namespace hoist::archive::test;

namespace {

TarEntry entry(std::string path, EntryType type, uint32_t mode = 0644) {
  TarEntry e;
  e.path = std::move(path);
  e.type = type;
  e.mode = mode;
  e.mtime_sec = 1700000000;
  return e;
}

TarEntry file_entry(std::string path, size_t size, uint32_t mode = 0644) {
  TarEntry e = entry(std::move(path), EntryType::kFile, mode);
  e.size = size;
  return e;
}

void add_file(TarWriter& w, TarEntry e, const std::string& content) {
  e.size = content.size();
  io::StringReader r(content);
  auto res = w.add_file(e, r);
  REQUIRE_MESSAGE(res.has_value(), (res ? "" : res.error().message()));
}

void add(TarWriter& w, const TarEntry& e) {
  auto res = w.add(e);
  REQUIRE_MESSAGE(res.has_value(), (res ? "" : res.error().message()));
}

std::string dump_of(const std::string& bytes) {
  Sandbox s;
  std::string p = s.dir + "/t.tar";
  write_all(p, bytes);
  return python_dump(s.dir, p);
}

// Serves `size` bytes of 'z' and records what it was asked for.
class CountingReader : public io::Reader {
 public:
  explicit CountingReader(uint64_t size) : left_(size) {}
  Result<size_t> read(std::span<std::byte> buf) override {
    max_ask = std::max(max_ask, buf.size());
    size_t n = size_t(std::min<uint64_t>(buf.size(), left_));
    std::memset(buf.data(), 'z', n);
    left_ -= n;
    served += n;
    return n;
  }
  size_t max_ask = 0;
  uint64_t served = 0;

 private:
  uint64_t left_;
};

class BrokenWriter : public io::Writer {
 public:
  explicit BrokenWriter(size_t budget) : budget_(budget) {}
  Result<> write(std::span<const std::byte> data) override {
    if (data.size() > budget_) return fail(Errc::kIo, "disk full");
    budget_ -= data.size();
    return {};
  }

 private:
  size_t budget_;
};

}  // namespace

TEST_CASE("tar writer: every entry type, read back by libarchive and python") {
  io::StringWriter out;
  TarWriter w(out);
  add(w, entry("etc", EntryType::kDir, 0755));
  add_file(w, entry("etc/passwd", EntryType::kFile), "root:x:0:0::/root:/bin/sh\n");
  TarEntry su = entry("bin/su", EntryType::kFile, 04755);
  su.uid = 1000;
  su.gid = 1001;
  add_file(w, su, "suid");
  add(w, entry("tmp/", EntryType::kDir, 01777));
  add(w, entry("sgid", EntryType::kDir, 02775));
  TarEntry ln = entry("etc/link", EntryType::kSymlink, 0777);
  ln.linkname = "/etc/passwd";
  add(w, ln);
  TarEntry hl = entry("etc/hard", EntryType::kHardlink);
  hl.linkname = "etc/passwd";
  add(w, hl);
  TarEntry null = entry("dev/null", EntryType::kChar, 0666);
  null.dev_major = 1;
  null.dev_minor = 3;
  add(w, null);
  TarEntry loop = entry("dev/loop9", EntryType::kBlock, 0660);
  loop.dev_major = 7;
  loop.dev_minor = 9;
  add(w, loop);
  add(w, entry("run/fifo", EntryType::kFifo, 0600));
  TarEntry ping = entry("bin/ping", EntryType::kFile, 0755);
  std::string cap("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  ping.xattrs = {{"user.note", "hi"}, {"security.capability", cap}};
  add_file(w, ping, "cap");
  add(w, entry("empty", EntryType::kFile));
  REQUIRE(w.finish().has_value());
  CHECK(w.bytes_written() == out.str().size());
  CHECK(out.str().size() % 512 == 0);

  auto got = read_tar(out.str());
  REQUIRE(got.size() == 12);
  CHECK(got[0].e.path == "etc/");
  CHECK(got[0].e.type == EntryType::kDir);
  CHECK(got[1].data == "root:x:0:0::/root:/bin/sh\n");
  CHECK(got[1].e.mtime_sec == 1700000000);
  CHECK(got[2].e.mode == 04755);
  CHECK(got[2].e.uid == 1000);
  CHECK(got[2].e.gid == 1001);
  CHECK(got[3].e.path == "tmp/");
  CHECK(got[3].e.mode == 01777);
  CHECK(got[4].e.mode == 02775);
  CHECK(got[5].e.type == EntryType::kSymlink);
  CHECK(got[5].e.linkname == "/etc/passwd");
  CHECK(got[6].e.type == EntryType::kHardlink);
  CHECK(got[6].e.linkname == "etc/passwd");
  CHECK(got[7].e.type == EntryType::kChar);
  CHECK(got[7].e.dev_major == 1);
  CHECK(got[7].e.dev_minor == 3);
  CHECK(got[8].e.type == EntryType::kBlock);
  CHECK(got[8].e.dev_minor == 9);
  CHECK(got[9].e.type == EntryType::kFifo);
  CHECK(got[10].data == "cap");
  auto xs = got[10].e.xattrs;
  std::sort(xs.begin(), xs.end());
  REQUIRE(xs.size() == 2);
  CHECK(xs[0].first == "security.capability");
  CHECK(xs[0].second == cap);
  CHECK(xs[1] == std::pair<std::string, std::string>("user.note", "hi"));
  CHECK(got[11].data.empty());

  // Only the entry with xattrs has a PAX header: 12 headers + 1 PAX header and
  // its data, 3 data blocks, the marker.
  CHECK(out.str().size() == (12 + 2 + 3 + 2) * 512);

  if (!have_python()) return;
  CHECK(dump_of(out.str()) ==
        "etc|5|755|0:0|0|1700000000||0,0||\n"
        "etc/passwd|0|644|0:0|26|1700000000||0,0||sha256:037d604c1c02\n"
        "bin/su|0|4755|1000:1001|4|1700000000||0,0||suid\n"
        "tmp|5|1777|0:0|0|1700000000||0,0||\n"
        "sgid|5|2775|0:0|0|1700000000||0,0||\n"
        "etc/link|2|777|0:0|0|1700000000|/etc/passwd|0,0||\n"
        "etc/hard|1|644|0:0|0|1700000000|etc/passwd|0,0||\n"
        "dev/null|3|666|0:0|0|1700000000||1,3||\n"
        "dev/loop9|4|660|0:0|0|1700000000||7,9||\n"
        "run/fifo|6|600|0:0|0|1700000000||0,0||\n"
        "bin/ping|0|755|0:0|3|1700000000||0,0|security.capability=0100000200200000000000000000000000000000,"
        "user.note=6869|cap\n"
        "empty|0|644|0:0|0|1700000000||0,0||\n");
}

TEST_CASE("tar writer: long and non-ASCII names, long link targets, big owners") {
  std::string split = std::string(80, 'a') + "/" + std::string(60, 'b');                   // 141: prefix split
  std::string deep = std::string(200, 'x') + "/" + std::string(90, 'y') + "/z.txt";       // 297: PAX path
  std::string target = "../" + std::string(120, 't') + "/" + std::string(150, 'u');       // 274: PAX linkpath
  std::string utf8 = "donn\xc3\xa9" "es/caf\xc3\xa9";
  io::StringWriter out;
  TarWriter w(out);
  add_file(w, entry(split, EntryType::kFile), "split");
  uint64_t after_split = w.bytes_written();
  CHECK(after_split == 2 * 512);  // no PAX header
  add_file(w, entry(deep, EntryType::kFile), "deep");
  TarEntry sl = entry("sl", EntryType::kSymlink, 0777);
  sl.linkname = target;
  add(w, sl);
  TarEntry hl = entry("hl", EntryType::kHardlink);
  hl.linkname = deep;
  add(w, hl);
  add_file(w, entry(utf8, EntryType::kFile), "utf8");
  TarEntry owner = entry("owner", EntryType::kFile);
  owner.uid = 3000000;
  owner.gid = 4000000000u;
  add(w, owner);
  TarEntry dir = entry(std::string(110, 'd') + "/" + std::string(150, 'e'), EntryType::kDir, 0700);
  add(w, dir);
  REQUIRE(w.finish().has_value());

  auto got = read_tar(out.str());
  REQUIRE(got.size() == 7);
  CHECK(got[0].e.path == split);
  CHECK(got[0].data == "split");
  CHECK(got[1].e.path == deep);
  CHECK(got[1].data == "deep");
  CHECK(got[2].e.linkname == target);
  CHECK(got[3].e.linkname == deep);
  CHECK(got[4].e.path == utf8);
  CHECK(got[5].e.uid == 3000000);
  CHECK(got[5].e.gid == 4000000000u);
  CHECK(got[6].e.path == dir.path + "/");

  if (!have_python()) return;
  CHECK(dump_of(out.str()) ==
        split + "|0|644|0:0|5|1700000000||0,0||split\n" +
        deep + "|0|644|0:0|4|1700000000||0,0||deep\n" +
        "sl|2|777|0:0|0|1700000000|" + target + "|0,0||\n" +
        "hl|1|644|0:0|0|1700000000|" + deep + "|0,0||\n" +
        utf8 + "|0|644|0:0|4|1700000000||0,0||utf8\n" +
        "owner|0|644|3000000:4000000000|0|1700000000||0,0||\n" +
        dir.path + "|5|700|0:0|0|1700000000||0,0||\n");
}

TEST_CASE("tar writer: sizes of 8 GiB and more go in a PAX record") {
  io::StringWriter out;
  TarWriter w(out);
  REQUIRE(w.begin(file_entry("huge", size_t{1} << 33)).has_value());
  const std::string& s = out.str();
  REQUIRE(s.size() == 3 * 512);
  CHECK(s[io::tar::kTypeflag] == 'x');
  CHECK(s.substr(512, 19) == io::tar::pax_record("size", "8589934592"));
  CHECK(w.write_data(io::as_bytes("abc")).has_value());
  CHECK(!w.end());  // short
}

TEST_CASE("tar writer: mtimes in whole seconds, atime never written") {
  io::StringWriter a, b;
  TarWriter wa(a), wb(b);
  TarEntry e = entry("f", EntryType::kFile);
  e.mtime_nsec = 999999999;
  e.atime = std::pair<int64_t, long>(5, 6);
  add(wa, e);
  e.mtime_nsec = 0;
  e.atime.reset();
  add(wb, e);
  CHECK(a.str() == b.str());
  CHECK(a.str().size() == 512);
}

TEST_CASE("tar writer: data streamed in 1 MiB chunks, never read past the size") {
  io::StringWriter out;
  TarWriter w(out);
  uint64_t size = (uint64_t{3} << 20) + 7;
  CountingReader r(size + 5000);  // more than the entry's size
  REQUIRE(w.add_file(file_entry("big", size), r).has_value());
  CHECK(r.served == size);
  CHECK(r.max_ask == size_t{1} << 20);
  CHECK(out.str().size() == 512 + size + io::tar::padding(size));
  auto got = read_tar(out.str() + std::string(1024, '\0'));
  REQUIRE(got.size() == 1);
  CHECK(got[0].data == std::string(size, 'z'));
}

TEST_CASE("tar writer: a directory's name gets its '/'") {
  io::StringWriter out;
  TarWriter w(out);
  add(w, entry("d", EntryType::kDir, 0755));
  REQUIRE(w.finish().has_value());
  CHECK(out.str().substr(0, 3) == std::string("d/\0", 3));
}

TEST_CASE("tar writer: misuse and failures") {
  SUBCASE("refused entries leave the writer usable") {
    io::StringWriter out;
    TarWriter w(out);
    CHECK(w.add(file_entry("f", 3)).error().code() == Errc::kInvalidArgument);  // data missing
    io::StringReader r("abc");
    CHECK(w.add_file(entry("d", EntryType::kDir), r).error().code() == Errc::kInvalidArgument);
    CHECK(w.add(entry("o", EntryType::kOther)).error().code() == Errc::kInvalidArgument);
    TarEntry sp = entry("sparse", EntryType::kFile);
    sp.sparse = true;
    CHECK(w.add(sp).error().code() == Errc::kUnsupported);
    CHECK(w.add(entry("f/", EntryType::kFile)).error().code() == Errc::kInvalidArgument);
    TarEntry badx = entry("x", EntryType::kFile);
    badx.xattrs = {{"user.a=b", "1"}};
    CHECK(w.add(badx).error().code() == Errc::kInvalidArgument);
    CHECK(out.str().empty());
    add(w, entry("ok", EntryType::kFile));
    REQUIRE(w.finish().has_value());
    CHECK(read_tar(out.str()).size() == 1);
    CHECK(w.finish().error().code() == Errc::kInvalidArgument);
    CHECK(!w.add(entry("late", EntryType::kFile)));
  }
  SUBCASE("data beyond or short of the size") {
    io::StringWriter out;
    TarWriter w(out);
    REQUIRE(w.begin(file_entry("f", 4)).has_value());
    CHECK(!w.write_data(io::as_bytes("12345")));
    CHECK(!w.begin(file_entry("g", 0)));  // inside f's data
    CHECK(!w.finish());
    REQUIRE(w.write_data(io::as_bytes("123")).has_value());
    CHECK(!w.end());
    REQUIRE(w.write_data(io::as_bytes("4")).has_value());
    REQUIRE(w.end().has_value());
    REQUIRE(w.finish().has_value());
  }
  SUBCASE("a source that ends early breaks the archive for good") {
    io::StringWriter out;
    TarWriter w(out);
    io::StringReader r("abc");
    auto res = w.add_file(file_entry("f", 10), r);
    REQUIRE(!res);
    CHECK(res.error().code() == Errc::kIo);
    CHECK(res.error().message() == "short content for 'f': got 3 of 10 bytes");
    CHECK(w.add(entry("g", EntryType::kFile)).error().message() == "tar writer failed earlier");
    CHECK(!w.finish());
  }
  SUBCASE("the sink's error passes through, then the writer stays broken") {
    BrokenWriter sink(600);
    TarWriter w(sink);
    add(w, entry("a", EntryType::kFile));
    auto res = w.add(entry("b", EntryType::kFile));
    REQUIRE(!res);
    CHECK(res.error().message() == "disk full");
    CHECK(w.add(entry("c", EntryType::kFile)).error().message() == "tar writer failed earlier");
  }
}
