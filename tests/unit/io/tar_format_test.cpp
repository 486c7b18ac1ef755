#include "io/tar_format.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "io_test_util.h"

using namespace hoist;
using namespace hoist::io;
using namespace hoist::io::test;

namespace {

std::string field(const std::string& block, tar::Field f) { return block.substr(f.off, f.len); }

// A field's text up to its first NUL.
std::string text(const std::string& block, tar::Field f) {
  std::string s = field(block, f);
  return s.substr(0, s.find('\0'));
}

std::string encode(const tar::Header& h) {
  std::string out;
  auto r = tar::append_header(h, out);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  REQUIRE(out.size() % tar::kBlockSize == 0);
  return out;
}

bool checksum_ok(const std::string& block) {
  unsigned sum = 0;
  for (size_t i = 0; i < tar::kBlockSize; ++i)
    sum += (i >= tar::kChksum.off && i < tar::kChksum.off + tar::kChksum.len) ? ' ' : (unsigned char)block[i];
  return std::stoul(text(block, tar::kChksum), nullptr, 8) == sum;
}

// The PAX records of a 2+-block encoding (the 'x' entry's data).
std::string pax_data(const std::string& enc) {
  REQUIRE(enc[tar::kTypeflag] == 'x');
  size_t n = std::stoul(text(enc, tar::kSize), nullptr, 8);
  return enc.substr(tar::kBlockSize, n);
}

std::string last_block(const std::string& enc) { return enc.substr(enc.size() - tar::kBlockSize); }

}  // namespace

TEST_CASE("tar format: a plain ustar block, field by field as Go writes it") {
  tar::Header h;
  h.name = "etc/passwd";
  h.mode = 04755;
  h.uid = 1000;
  h.gid = 50;
  h.size = 1234;
  h.mtime = 1700000000;
  std::string b = encode(h);
  REQUIRE(b.size() == 512);
  CHECK(text(b, tar::kName) == "etc/passwd");
  CHECK(field(b, tar::kMode) == std::string("0004755\0", 8));
  CHECK(field(b, tar::kUid) == std::string("0001750\0", 8));
  CHECK(field(b, tar::kGid) == std::string("0000062\0", 8));
  CHECK(field(b, tar::kSize) == std::string("00000002322\0", 12));
  CHECK(field(b, tar::kMtime) == std::string("14524770400\0", 12));
  CHECK(b[tar::kTypeflag] == '0');
  CHECK(field(b, tar::kMagic) == std::string("ustar\0", 6));
  CHECK(field(b, tar::kVersion) == "00");
  CHECK(field(b, tar::kUname) == std::string(32, '\0'));
  CHECK(field(b, tar::kGname) == std::string(32, '\0'));
  CHECK(field(b, tar::kDevMajor) == std::string("0000000\0", 8));
  CHECK(field(b, tar::kDevMinor) == std::string("0000000\0", 8));
  CHECK(field(b, tar::kPrefix) == std::string(155, '\0'));
  CHECK(b[tar::kChksum.off + 6] == '\0');
  CHECK(b[tar::kChksum.off + 7] == ' ');
  CHECK(checksum_ok(b));
}

TEST_CASE("tar format: ustar blocks equal python tarfile's USTAR_FORMAT bytes") {
  if (!have_tool("python3")) {
    MESSAGE("python3 missing: skipped");
    return;
  }
  TempDir t;
  struct Case {
    tar::Header h;
    std::string py;  // TarInfo attributes
  };
  std::vector<Case> cases;
  tar::Header f;
  f.name = "a/file.txt";
  f.mode = 0644;
  f.uid = 1;
  f.gid = 2;
  f.size = 10;
  f.mtime = 1600000000;
  cases.push_back({f, "ti=tarfile.TarInfo('a/file.txt');ti.mode=0o644;ti.uid=1;ti.gid=2;ti.size=10;ti.mtime=1600000000"});
  tar::Header d;
  d.name = "dir/";
  d.typeflag = tar::kTypeDir;
  d.mode = 01777;
  cases.push_back({d, "ti=tarfile.TarInfo('dir/');ti.type=tarfile.DIRTYPE;ti.mode=0o1777;ti.mtime=0"});
  tar::Header l;
  l.name = "lnk";
  l.linkname = "../target";
  l.typeflag = tar::kTypeSymlink;
  l.mode = 0777;
  l.mtime = 5;
  cases.push_back({l, "ti=tarfile.TarInfo('lnk');ti.type=tarfile.SYMTYPE;ti.linkname='../target';ti.mode=0o777;ti.mtime=5"});
  tar::Header c;
  c.name = "dev/null";
  c.typeflag = tar::kTypeChar;
  c.mode = 0666;
  c.dev_major = 1;
  c.dev_minor = 3;
  cases.push_back({c, "ti=tarfile.TarInfo('dev/null');ti.type=tarfile.CHRTYPE;ti.devmajor=1;ti.devminor=3;ti.mode=0o666;ti.mtime=0"});
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(cases[i].py);
    std::string ours = encode(cases[i].h);
    std::string out = t / ("py" + std::to_string(i));
    std::string script = t / "gen.py";
    write_file(script, "import tarfile\n" + cases[i].py +
                           "\nti.uname=ti.gname=''\nopen('" + out +
                           "','wb').write(ti.tobuf(tarfile.USTAR_FORMAT, 'utf-8', 'strict'))\n");
    REQUIRE(shell("python3 " + script) == 0);
    std::string py = read_file(out);
    REQUIRE(py.size() == 512);
    if (cases[i].h.typeflag != tar::kTypeChar) {
      // Python (3.11+) leaves devmajor/devminor empty for non-devices; Go writes
      // 0 in octal. Compare everything else.
      CHECK(field(ours, tar::kDevMajor) == std::string("0000000\0", 8));
      CHECK(field(ours, tar::kDevMinor) == std::string("0000000\0", 8));
      for (auto f : {tar::kDevMajor, tar::kDevMinor, tar::kChksum}) {
        ours.replace(f.off, f.len, f.len, '\0');
        py.replace(f.off, f.len, f.len, '\0');
      }
    }
    CHECK(py == ours);
  }
}

TEST_CASE("tar format: names over 100 bytes split at the last fitting '/', as Go's splitUSTARPath") {
  auto sr = [](std::string_view s, size_t n) {
    std::string r;
    for (size_t i = 0; i < n; ++i) r += s;
    return r;
  };
  struct V {
    std::string in, prefix, rest;
    bool ok;
  };
  std::vector<V> vs = {
      {"", "", "", false},
      {"abc", "", "", false},
      {"\xe7\x94\xa8\xe6\x88\xb6\xe5\x90\x8d", "", "", false},
      {sr("a", 100), "", "", false},
      {sr("a", 100) + "/", "", "", false},
      {sr("a", 100) + "/a", sr("a", 100), "a", true},
      {sr("a", 155) + "/", "", "", false},
      {sr("a", 155) + "/a", sr("a", 155), "a", true},
      {sr("a", 101), "", "", false},
      {sr("/", 101), sr("/", 99), "/", true},
      {sr("a", 155) + "/" + sr("b", 100), sr("a", 155), sr("b", 100), true},
      {sr("a", 155) + "//" + sr("b", 100), "", "", false},
      {sr("a/", 100), sr("a/", 77) + "a", sr("a/", 22), true},
  };
  for (const auto& v : vs) {
    CAPTURE(v.in);
    std::string_view p, r;
    REQUIRE(tar::split_ustar_path(v.in, p, r) == v.ok);
    if (v.ok) {
      CHECK(p == v.prefix);
      CHECK(r == v.rest);
    }
  }

  std::string name = "usr/" + std::string(120, 'x') + "/" + std::string(50, 'y') + "/file";
  tar::Header h;
  h.name = name;
  std::string b = encode(h);
  REQUIRE(b.size() == 512);  // no PAX: the split holds it
  CHECK(text(b, tar::kPrefix) == "usr/" + std::string(120, 'x'));
  CHECK(text(b, tar::kName) == std::string(50, 'y') + "/file");
}

TEST_CASE("tar format: PAX only where a field does not fit") {
  SUBCASE("a name no split can hold") {
    std::string name = "d/" + std::string(300, 'n');
    tar::Header h;
    h.name = name;
    std::string enc = encode(h);
    REQUIRE(enc.size() == 3 * 512);
    CHECK(text(enc, tar::kName) == "d/PaxHeaders.0/" + std::string(85, 'n'));
    CHECK(field(enc, tar::kMode) == std::string("0000000\0", 8));
    CHECK(field(enc, tar::kDevMajor) == std::string(8, '\0'));
    CHECK(field(enc, tar::kMagic) == std::string("ustar\0", 6));
    CHECK(checksum_ok(enc));
    CHECK(pax_data(enc) == tar::pax_record("path", name));
    std::string b = last_block(enc);
    CHECK(text(b, tar::kName) == name.substr(0, 100));
    CHECK(field(b, tar::kPrefix) == std::string(155, '\0'));
    CHECK(checksum_ok(b));
  }
  SUBCASE("a directory's PAX entry is DIR/PaxHeaders.0") {
    std::string name = std::string(200, 'd') + "/";
    tar::Header h;
    h.name = name;
    h.typeflag = tar::kTypeDir;
    std::string enc = encode(h);
    CHECK(text(enc, tar::kName) == std::string(100, 'd'));  // "ddd.../PaxHeaders.0" cut to 100
    CHECK(pax_data(enc) == tar::pax_record("path", name));
  }
  SUBCASE("non-ASCII names: PAX path, the ustar name without the non-ASCII bytes") {
    tar::Header h;
    h.name = "caf\xc3\xa9/na\xc3\xafve";
    std::string enc = encode(h);
    REQUIRE(enc.size() == 3 * 512);
    CHECK(text(enc, tar::kName) == "caf/PaxHeaders.0/nave");
    CHECK(pax_data(enc) == tar::pax_record("path", h.name));
    CHECK(text(last_block(enc), tar::kName) == "caf/nave");
  }
  SUBCASE("long link names") {
    tar::Header h;
    h.name = "l";
    h.typeflag = tar::kTypeSymlink;
    std::string target(100, 't');
    h.linkname = target;
    CHECK(encode(h).size() == 512);  // exactly 100: fits without a NUL
    target += "/x";
    h.linkname = target;
    std::string enc = encode(h);
    CHECK(pax_data(enc) == tar::pax_record("linkpath", target));
    CHECK(field(last_block(enc), tar::kLinkname) == target.substr(0, 100));
  }
  SUBCASE("uid and gid beyond 8^7") {
    tar::Header h;
    h.name = "f";
    h.uid = 2097151;  // 07777777
    h.gid = 2097151;
    CHECK(encode(h).size() == 512);
    h.uid = 2097152;
    h.gid = 4000000000u;
    std::string enc = encode(h);
    CHECK(pax_data(enc) == tar::pax_record("gid", "4000000000") + tar::pax_record("uid", "2097152"));
    CHECK(field(last_block(enc), tar::kUid) == std::string("0000000\0", 8));
  }
  SUBCASE("sizes of 8 GiB and more") {
    tar::Header h;
    h.name = "big";
    h.size = (uint64_t{1} << 33) - 1;
    CHECK(encode(h).size() == 512);
    h.size = uint64_t{1} << 33;
    std::string enc = encode(h);
    CHECK(pax_data(enc) == tar::pax_record("size", "8589934592"));
    CHECK(field(last_block(enc), tar::kSize) == std::string("00000000000\0", 12));
  }
  SUBCASE("mtimes outside ustar's range") {
    tar::Header h;
    h.name = "old";
    h.mtime = -1;
    CHECK(pax_data(encode(h)) == tar::pax_record("mtime", "-1"));
    h.mtime = int64_t{1} << 33;
    CHECK(pax_data(encode(h)) == tar::pax_record("mtime", "8589934592"));
  }
  SUBCASE("xattrs, records sorted by key as Go sorts them") {
    std::vector<std::pair<std::string, std::string>> x = {{"user.b", "2"},
                                                           {"security.capability", std::string("\x01\0\0\x02", 4)}};
    tar::Header h;
    std::string name = std::string(120, 'p') + "/q";  // splittable, but PAX anyway: "path" goes in too
    h.name = name;
    h.uid = 1u << 22;
    h.xattrs = x;
    std::string enc = encode(h);
    CHECK(pax_data(enc) == tar::pax_record("SCHILY.xattr.security.capability", std::string("\x01\0\0\x02", 4)) +
                               tar::pax_record("SCHILY.xattr.user.b", "2") + tar::pax_record("path", name) +
                               tar::pax_record("uid", "4194304"));
    std::string b = last_block(enc);
    CHECK(text(b, tar::kName) == name.substr(0, 100));
    CHECK(field(b, tar::kPrefix) == std::string(155, '\0'));
  }
}

TEST_CASE("tar format: a cut name that ends in '/' loses the slash run, as Go's formatString") {
  std::string name = std::string(98, 'a') + "//" + "\xc3\xa9" + std::string(10, 'b');  // not ASCII: PAX
  tar::Header h;
  h.name = name;
  std::string b = last_block(encode(h));
  CHECK(field(b, tar::kName) == std::string(98, 'a') + std::string("\0/", 2));
}

TEST_CASE("tar format: pax_record counts its own length") {
  for (size_t n = 85; n < 100; ++n) {
    std::string r = tar::pax_record("a", std::string(n, 'x'));
    CAPTURE(n);
    CHECK(std::to_string(r.size()) == r.substr(0, r.find(' ')));
    CHECK(r.back() == '\n');
  }
  CHECK(tar::pax_record("path", "x") == "9 path=x\n");
  CHECK(tar::pax_record("path", std::string(2, 'y')) == "11 path=yy\n");
}

TEST_CASE("tar format: what cannot be encoded is refused") {
  std::string out;
  auto bad = [&](const tar::Header& h) {
    out.clear();
    auto r = tar::append_header(h, out);
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::kInvalidArgument);
    CHECK(out.empty());
    return r.error().message();
  };
  tar::Header h;
  CHECK(bad(h) == "invalid tar header: empty name");
  h.name = std::string_view("a\0b", 3);
  bad(h);
  h.name = "file/";
  CHECK(bad(h) == "invalid tar header for 'file/': a trailing '/' on a non-directory");
  h.typeflag = tar::kTypeDir;
  out.clear();
  CHECK(tar::append_header(h, out).has_value());
  h.name = "f";
  h.typeflag = tar::kTypeFile;
  h.mode = 010644;
  bad(h);
  h.mode = 0644;
  h.typeflag = tar::kTypeChar;
  h.dev_major = 1u << 21;
  bad(h);
  h.dev_major = 0;
  h.typeflag = tar::kTypeFile;
  std::vector<std::pair<std::string, std::string>> x = {{"user.a=b", "v"}};
  h.xattrs = x;
  bad(h);
  x = {{"user.a", "1"}, {"user.a", "2"}};
  h.xattrs = x;
  CHECK(bad(h) == "invalid tar header for 'f': duplicate xattr 'SCHILY.xattr.user.a'");
  x = {{"user.big", std::string(tar::kMaxPaxSize, 'v')}};
  h.xattrs = x;
  bad(h);
}

TEST_CASE("tar format: zeros") {
  CHECK(tar::zeros(0).empty());
  auto z = tar::zeros(tar::kEndOfArchiveSize);
  CHECK(z.size() == 1024);
  CHECK(std::all_of(z.begin(), z.end(), [](std::byte b) { return b == std::byte{0}; }));
  CHECK(tar::padding(0) == 0);
  CHECK(tar::padding(1) == 511);
  CHECK(tar::padding(512) == 0);
}
