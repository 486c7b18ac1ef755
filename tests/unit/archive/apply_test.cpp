#include "archive/apply.h"

#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "archive/path.h"
#include "archive_test_util.h"
#include "sys/tree.h"

using namespace hoist;
using namespace hoist::archive;
using namespace hoist::archive::test;

namespace {

struct stat lstat_of(const std::string& p) {
  struct stat st{};
  REQUIRE_MESSAGE(::lstat(p.c_str(), &st) == 0, p);
  return st;
}

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

std::string xattr(const std::string& p, const char* key) {
  char buf[256];
  ssize_t n = ::lgetxattr(p.c_str(), key, buf, sizeof buf);
  return n < 0 ? std::string("<none>") : std::string(buf, size_t(n));
}

}  // namespace

TEST_CASE("clean_path") {
  CHECK(clean_path("./a//b/./c/").value() == "a/b/c");
  CHECK(clean_path("/etc/passwd").value() == "etc/passwd");
  CHECK(clean_path("a/../b").value() == "b");
  CHECK(clean_path("./").value() == "");
  CHECK(clean_path("/").value() == "");
  CHECK(!clean_path("../x"));
  CHECK(!clean_path("a/../../x"));
  CHECK(clean_path("a/../../x").error().message() == "path escapes the root");
  CHECK(!clean_path(std::string(300, 'n')));
  CHECK(!clean_path(std::string(5000, 'a')));
}

TEST_CASE("rootless owner xattr round trip") {
  CHECK(encode_rootless_owner(0, 0).empty());
  CHECK(encode_rootless_owner(1000, 0) == std::string("\x08\xe8\x07", 3));
  auto p = decode_rootless_owner(encode_rootless_owner(100000, 70000)).value();
  CHECK(p.first == 100000);
  CHECK(p.second == 70000);
  CHECK(!decode_rootless_owner("\x08"));
}

TEST_CASE("files, directories, links, devices and metadata") {
  Sandbox s;
  auto t = s.tar(R"(
t.dir("etc", mode=0o755, mtime=1000)
t.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", mode=0o644, mtime=2000)
t.file("bin/su", "suid", mode=0o4755, uid=1000, gid=1000)
t.file("bin/ping", "cap", mode=0o755, xattrs={"security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "user.note": "hi"})
t.dir("tmp", mode=0o1777)
t.dir("sgid", mode=0o2755, gid=50)
t.symlink("etc/link", "/etc/passwd", uid=7, gid=8)
t.hardlink("etc/hard", "etc/passwd")
t.char("dev/null", 1, 3, mode=0o666)
t.block("dev/loop9", 7, 9)
t.fifo("run/fifo", mode=0o600)
t.file("ro", "readonly", mode=0o444)
)");
  auto st = s.apply(t);
  REQUIRE_MESSAGE(st, (st ? "" : st.error().to_string()));
  CHECK(read_all(s.in("etc/passwd")) == "root:x:0:0::/root:/bin/sh\n");
  CHECK(lstat_of(s.in("etc/passwd")).st_mtim.tv_sec == 2000);
  CHECK(lstat_of(s.in("etc")).st_mtim.tv_sec == 1000);  // set after its children
  auto su = lstat_of(s.in("bin/su"));
  CHECK((su.st_mode & 07777) == 04755);
  CHECK(su.st_uid == 1000);
  CHECK(su.st_gid == 1000);
  CHECK(xattr(s.in("bin/ping"), "security.capability").size() == 20);
  CHECK(xattr(s.in("bin/ping"), "user.note") == "hi");
  CHECK((lstat_of(s.in("tmp")).st_mode & 07777) == 01777);
  CHECK((lstat_of(s.in("sgid")).st_mode & 07777) == 02755);
  CHECK(lstat_of(s.in("sgid")).st_gid == 50);
  auto l = lstat_of(s.in("etc/link"));
  CHECK(S_ISLNK(l.st_mode));
  CHECK(l.st_uid == 7);
  CHECK(fs::read_symlink(s.in("etc/link")) == "/etc/passwd");
  CHECK(lstat_of(s.in("etc/hard")).st_ino == lstat_of(s.in("etc/passwd")).st_ino);
  CHECK(lstat_of(s.in("etc/passwd")).st_nlink == 2);
  auto dn = lstat_of(s.in("dev/null"));
  CHECK(S_ISCHR(dn.st_mode));
  CHECK(major(dn.st_rdev) == 1);
  CHECK(minor(dn.st_rdev) == 3);
  CHECK((dn.st_mode & 07777) == 0666);
  CHECK(S_ISBLK(lstat_of(s.in("dev/loop9")).st_mode));
  CHECK(S_ISFIFO(lstat_of(s.in("run/fifo")).st_mode));
  CHECK((lstat_of(s.in("ro")).st_mode & 07777) == 0444);
  CHECK(read_all(s.in("ro")) == "readonly");
  CHECK(st->files == 4);
  CHECK(s.outside_unchanged());
}

TEST_CASE("GNU long names and a sparse file made by GNU tar") {
  Sandbox s;
  std::string long_dir = std::string(200, 'd') + "/" + std::string(200, 'e') + "/" + std::string(200, 'f');
  auto t = s.tar("t = Tar(OUT, fmt=tarfile.GNU_FORMAT)\nt.file('" + long_dir + "/x', 'deep')\nt.symlink('l', '" +
                 std::string(300, 'z') + "'[:250])\n");
  REQUIRE(s.apply(t));
  CHECK(read_all(s.in(long_dir + "/x")) == "deep");

  // A sparse file: 8 MiB apparent, two small extents.
  std::string src = s.dir + "/sparse-src";
  fs::create_directories(src);
  {
    sys::Fd f = sys::open_file(src + "/holes", O_WRONLY | O_CREAT, 0640).value();
    REQUIRE(::pwrite(f.get(), "head", 4, 0) == 4);
    REQUIRE(::pwrite(f.get(), "tail", 4, (8 << 20) - 4) == 4);
  }
  std::string tarp = s.dir + "/sparse.tar";
  REQUIRE(std::system(("tar --sparse --format=pax -C " + src + " -cf " + tarp + " holes").c_str()) == 0);
  REQUIRE(s.apply(tarp));
  auto st = lstat_of(s.in("holes"));
  CHECK(st.st_size == (8 << 20));
  CHECK(st.st_blocks * 512 < (1 << 20));
  std::string c = read_all(s.in("holes"));
  CHECK(c.substr(0, 4) == "head");
  CHECK(c.substr(c.size() - 4) == "tail");
  CHECK(c[4096] == '\0');
}

TEST_CASE("whiteouts and opaque directories remove lower entries only") {
  Sandbox s;
  REQUIRE(s.apply(s.tar(R"(
t.dir("a"); t.file("a/old", "1"); t.dir("a/sub"); t.file("a/sub/deep", "2")
t.dir("b"); t.file("b/gone", "3"); t.file("b/stays", "4")
t.dir("c"); t.file("c/x", "5")
)")));
  REQUIRE(s.apply(s.tar(R"(
t.file("a/new-before", "n")
t.opaque("a")
t.file("a/new-after", "m")
t.whiteout("b/gone")
t.whiteout("c")
t.file("d/fresh", "f")
t.whiteout("d/fresh")
t.whiteout("nothing/here")
)")));
  CHECK(!exists(s.in("a/old")));
  CHECK(!exists(s.in("a/sub")));
  CHECK(read_all(s.in("a/new-before")) == "n");
  CHECK(read_all(s.in("a/new-after")) == "m");
  CHECK(!exists(s.in("b/gone")));
  CHECK(exists(s.in("b/stays")));
  CHECK(!exists(s.in("c")));
  CHECK(exists(s.in("d/fresh")));  // same-layer whiteout does not hide it
  CHECK(!exists(s.in("nothing")));
  CHECK(!exists(s.in("b/.wh.gone")));
  CHECK(!exists(s.in("a/.wh..wh..opq")));
}

TEST_CASE("overlay whiteout mode writes overlayfs markers") {
  Sandbox s;
  ApplyOptions o;
  o.whiteouts = WhiteoutMode::kOverlay;
  REQUIRE(s.apply(s.tar(R"(
t.dir("a"); t.opaque("a"); t.file("a/keep", "k")
t.whiteout("b/gone")
)"), o));
  CHECK(xattr(s.in("a"), "trusted.overlay.opaque") == "y");
  auto w = lstat_of(s.in("b/gone"));
  CHECK(S_ISCHR(w.st_mode));
  CHECK(w.st_rdev == makedev(0, 0));
  CHECK(exists(s.in("a/keep")));
}

TEST_CASE("a file replaces a directory and the reverse, across and within layers") {
  Sandbox s;
  REQUIRE(s.apply(s.tar(R"(
t.dir("x"); t.file("x/inner", "i")
t.file("y", "file")
t.symlink("z", "x")
)")));
  REQUIRE(s.apply(s.tar(R"(
t.file("x", "now a file")
t.dir("y"); t.file("y/child", "c")
t.dir("z"); t.file("z/own", "o")
)")));
  CHECK(read_all(s.in("x")) == "now a file");
  CHECK(S_ISDIR(lstat_of(s.in("y")).st_mode));
  CHECK(read_all(s.in("y/child")) == "c");
  CHECK(S_ISDIR(lstat_of(s.in("z")).st_mode));  // the symlink was replaced, not followed
  CHECK(read_all(s.in("z/own")) == "o");
  REQUIRE(s.apply(s.tar(R"(
t.dir("w"); t.file("w/f", "1"); t.file("w", "file now"); t.dir("w"); t.file("w/g", "2")
)")));
  CHECK(S_ISDIR(lstat_of(s.in("w")).st_mode));
  CHECK(!exists(s.in("w/f")));
  CHECK(read_all(s.in("w/g")) == "2");
}

TEST_CASE("rootless: owners kept in an xattr, devices skipped") {
  Sandbox s;
  ApplyOptions o;
  o.rootless = true;
  std::vector<std::string> warnings;
  o.warn = [&](std::string_view w) { warnings.emplace_back(w); };
  auto r = s.apply(s.tar(R"(
t.file("f", "x", uid=1000, gid=100)
t.file("root-owned", "y")
t.dir("d", uid=5, gid=6, mode=0o555)
t.file("d/in-ro-dir", "z")
t.char("dev/null", 1, 3)
t.fifo("p")
)"), o);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  auto v = decode_rootless_owner(xattr(s.in("f"), "user.rootlesscontainers")).value();
  CHECK(v.first == 1000);
  CHECK(v.second == 100);
  CHECK(lstat_of(s.in("f")).st_uid == ::geteuid());
  CHECK(xattr(s.in("root-owned"), "user.rootlesscontainers") == "<none>");
  CHECK(decode_rootless_owner(xattr(s.in("d"), "user.rootlesscontainers")).value().first == 5);
  CHECK((lstat_of(s.in("d")).st_mode & 07777) == 0555);
  CHECK(read_all(s.in("d/in-ro-dir")) == "z");
  CHECK(!exists(s.in("dev/null")));
  CHECK(S_ISFIFO(lstat_of(s.in("p")).st_mode));
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("dev/null") != std::string::npos);
  CHECK(r->skipped == 1);
}

TEST_CASE("overlay mode with lower layers: parents and hardlink targets taken from below") {
  if (::geteuid() != 0) return;  // owners and trusted.* need root
  Sandbox lower, upper;
  REQUIRE(lower.apply(lower.tar(R"(
t.dir("d", mode=0o710, uid=7, gid=8, mtime=1234)
t.file("d/f", "from below", mode=0o640, uid=5, gid=6, mtime=99, xattrs={"user.k": "v"})
t.file("gone", "g")
)")));
  ApplyOptions o;
  o.whiteouts = WhiteoutMode::kOverlay;
  o.lower_roots = {lower.root_fd.get()};
  REQUIRE(upper.apply(upper.tar(R"(
t.file("d/new", "n")
t.hardlink("d/link", "d/f")
t.file("e/x", "no parent below")
)"), o));
  auto d = lstat_of(upper.in("d"));
  CHECK(S_ISDIR(d.st_mode));
  CHECK((d.st_mode & 07777) == 0710);
  CHECK(d.st_uid == 7);
  CHECK(d.st_gid == 8);
  CHECK(d.st_mtim.tv_sec == 1234);  // put back after d/new was added
  auto f = lstat_of(upper.in("d/f"));
  auto l = lstat_of(upper.in("d/link"));
  CHECK(f.st_ino == l.st_ino);
  CHECK((f.st_mode & 07777) == 0640);
  CHECK(f.st_uid == 5);
  CHECK(f.st_mtim.tv_sec == 99);
  CHECK(read_all(upper.in("d/link")) == "from below");
  CHECK(xattr(upper.in("d/f"), "user.k") == "v");
  CHECK((lstat_of(upper.in("e")).st_mode & 07777) == 0755);

  // A target a layer in between whited out is gone, as in the plain unpack.
  Sandbox mid, top;
  REQUIRE(mid.apply(mid.tar(R"(t.whiteout("gone"))"), o));
  ApplyOptions o2 = o;
  o2.lower_roots = {mid.root_fd.get(), lower.root_fd.get()};
  auto r = top.apply(top.tar(R"(t.hardlink("again", "gone"))"), o2);
  REQUIRE(!r);
  CHECK(r.error().to_string().find("hardlink target 'gone' not found") != std::string::npos);
  CHECK(lower.outside_unchanged());
  CHECK(upper.outside_unchanged());
}

// Small plain files go to worker threads; anything that could observe or change
// a queued file waits for it, whether it names the file by the same path or
// through a symlink to its directory. The same layers applied on one thread and
// on four give the same tree.
TEST_CASE("parallel file creation keeps entry order") {
  const std::string lower = R"(
for d in range(8):
    t.dir("lower%d" % d)
    for i in range(50):
        t.file("lower%d/f%d" % (d, i), "lower %d %d" % (d, i))
t.dir("gone"); t.file("gone/x", "x")
t.dir("was-dir"); t.file("was-dir/inner", "i")
t.dir("d1"); t.dir("d2")
t.symlink("alias1", "d1")
t.symlink("alias2", "/d2")
)";
  const std::string upper = R"(
for d in range(6):
    for i in range(200):
        t.file("d%d/f%d" % (d, i), ("%d-%d " % (d, i)) * (i % 7 + 1), mode=0o640 + (i % 2), mtime=1000 + i)
    # just-queued files: hardlinked, replaced, whited out, turned into dirs
    t.hardlink("d%d/link" % d, "d%d/f199" % d)
    t.file("d%d/f198" % d, "replaced %d" % d)
    t.whiteout("lower%d/f7" % d)
    t.symlink("d%d/f197" % d, "f0")
    t.dir("d%d/f196" % d); t.file("d%d/f196/under" % d, "under")
    t.file("d%d/fresh/then-file" % d, "p")
    t.file("d%d/fresh" % d, "file again")
# the same names through symlinks to their directories
t.file("d1/ax", "first")
t.file("alias1/ax", "second")
t.file("d2/bx", "a file first")
t.dir("alias2/bx", mode=0o711)
t.file("alias2/bx/in", "in")
t.file("lower5/f9", "over a lower file")
t.file("was-dir", "file now")
t.whiteout("gone")
t.file("gone/new", "back")
t.opaque("lower7")
t.file("lower7/only", "only")
t.hardlink("lower7/only-link", "lower7/only")
t.dir("d0", mode=0o750, mtime=4242)
)";
  std::map<std::string, std::string> trees[2];
  unsigned threads[2] = {1, 4};
  for (int k = 0; k < 2; ++k) {
    Sandbox s;
    ApplyOptions o;
    o.threads = threads[k];
    auto r1 = s.apply(s.tar(lower), o);
    REQUIRE_MESSAGE(r1, (r1 ? "" : r1.error().to_string()));
    auto r2 = s.apply(s.tar(upper), o);
    REQUIRE_MESSAGE(r2, (r2 ? "" : r2.error().to_string()));
    CHECK(r2->files == 6 * 204 + 8);
    for (int d = 0; d < 6; ++d) {
      std::string p = "d" + std::to_string(d) + "/";
      CHECK(lstat_of(s.in(p + "link")).st_ino == lstat_of(s.in(p + "f199")).st_ino);
      CHECK(lstat_of(s.in(p + "f199")).st_nlink == 2);
      CHECK(read_all(s.in(p + "f198")) == "replaced " + std::to_string(d));
      CHECK(S_ISLNK(lstat_of(s.in(p + "f197")).st_mode));
      CHECK(read_all(s.in(p + "f196/under")) == "under");
      CHECK(read_all(s.in(p + "fresh")) == "file again");
      CHECK(!exists(s.in("lower" + std::to_string(d) + "/f7")));
      CHECK((lstat_of(s.in(p + "f3")).st_mode & 07777) == 0641);
      CHECK(lstat_of(s.in(p + "f3")).st_mtim.tv_sec == 1003);
    }
    CHECK(read_all(s.in("d1/ax")) == "second");
    CHECK(S_ISDIR(lstat_of(s.in("d2/bx")).st_mode));
    CHECK((lstat_of(s.in("d2/bx")).st_mode & 07777) == 0711);
    CHECK(read_all(s.in("d2/bx/in")) == "in");
    CHECK(read_all(s.in("lower5/f9")) == "over a lower file");
    CHECK(read_all(s.in("was-dir")) == "file now");
    CHECK(!exists(s.in("gone/x")));
    CHECK(read_all(s.in("gone/new")) == "back");
    CHECK(!exists(s.in("lower7/f0")));
    CHECK(lstat_of(s.in("lower7/only-link")).st_ino == lstat_of(s.in("lower7/only")).st_ino);
    CHECK(exists(s.in("lower6/f0")));
    auto d0 = lstat_of(s.in("d0"));
    CHECK((d0.st_mode & 07777) == 0750);
    CHECK(d0.st_mtim.tv_sec == 4242);
    CHECK(s.outside_unchanged());
    trees[k] = snapshot(s.root);
    // Directories made on the way (not listed) keep the time they were made.
    for (auto& [path, v] : trees[k])
      if (S_ISDIR(lstat_of(s.root + path).st_mode) && path != "/d0") v = std::to_string(lstat_of(s.root + path).st_mode);
  }
  CHECK(trees[0].size() > 1500);
  CHECK(trees[0] == trees[1]);
}

TEST_CASE("parallel file creation: a path through a queued file is refused as it is on one thread") {
  for (unsigned threads : {1u, 4u}) {
    CAPTURE(threads);
    Sandbox s;
    ApplyOptions o;
    o.threads = threads;
    auto r1 = s.apply(s.tar(R"(t.dir("d"); t.symlink("alias", "d"))"), o);
    REQUIRE(r1);
    auto r = s.apply(s.tar(R"(
for i in range(300):
    t.file("d/f%d" % i, "x")
t.file("alias/f7/under", "u")
)"), o);
    REQUIRE(!r);
    CHECK(r.error().to_string().starts_with("entry 'alias/f7/under': cannot create directory 'alias/f7'"));
    CHECK(read_all(s.in("d/f7")) == "x");
    CHECK(s.outside_unchanged());
  }
}

TEST_CASE("parallel file creation: a worker's error names its entry and stops the layer") {
  Sandbox s;
  ApplyOptions o;
  o.threads = 4;
  std::vector<std::string> warnings;
  o.warn = [&](std::string_view w) { warnings.emplace_back(w); };
  auto r = s.apply(s.tar(R"(
for i in range(100):
    t.file("a/f%d" % i, "x", xattrs={"trusted.overlay.redirect": "/x"} if i == 3 else {})
t.file("a/bad", "x", xattrs={"user." + "k" * 300: "v"})
for i in range(2000):
    t.file("b/f%d" % i, "y")
t.dir("c")
)"), o);
  REQUIRE(!r);
  CHECK_MESSAGE(r.error().to_string().starts_with("entry 'a/bad': cannot set xattr"), r.error().to_string());
  CHECK(exists(s.in("a/f99")));
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == "skipping xattr 'trusted.overlay.redirect'");
  CHECK(s.outside_unchanged());
}
