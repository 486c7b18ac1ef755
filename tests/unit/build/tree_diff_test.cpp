// The copy snapshotter's tree work (build/tree_diff.h) on real directories:
// merge_into with overlay whiteouts and opaque directories, diff_into finding
// exactly what changed, and the hardlinks, symlinks and metadata on the way.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "build/remote_cache.h"
#include "build/tree_diff.h"
#include "sys/fd.h"
#include "sys/overlay.h"
#include "sys/userns.h"

using namespace hoist;
using namespace hoist::build;
namespace fs = std::filesystem;

namespace {

struct Tmp {
  fs::path root;
  Tmp() {
    char t[] = "/tmp/hoist-tree-diff-test.XXXXXX";
    root = ::mkdtemp(t);
  }
  ~Tmp() { fs::remove_all(root); }
  fs::path dir(const std::string& name) {
    fs::create_directories(root / name);
    return root / name;
  }
};

void put_file(const fs::path& p, const std::string& body, mode_t mode = 0644) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << body;
  ::chmod(p.c_str(), mode);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

sys::Fd open_dir(const fs::path& p) { return sys::Fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); }

// Every path under `d`, relative, with a type letter: "d a", "f a/x", "w a/gone".
std::set<std::string> listing(const fs::path& d) {
  std::set<std::string> out;
  for (auto it = fs::recursive_directory_iterator(d); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st;
    ::lstat(it->path().c_str(), &st);
    char t = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : S_ISCHR(st.st_mode) ? 'w' : 'f';
    out.insert(std::string(1, t) + " " + fs::relative(it->path(), d).string());
  }
  return out;
}

// What StepRoot does after the copy: now, once the coarse clock has passed it.
struct timespec mark() {
  struct timespec t0, t;
  ::clock_gettime(CLOCK_REALTIME, &t0);
  do {
    ::usleep(1000);
    ::clock_gettime(CLOCK_REALTIME_COARSE, &t);
  } while (t.tv_sec < t0.tv_sec || (t.tv_sec == t0.tv_sec && t.tv_nsec <= t0.tv_nsec));
  return t0;
}

uint64_t diff(const fs::path& lower, const fs::path& merged, const fs::path& upper, const struct timespec& since) {
  auto l = open_dir(lower), m = open_dir(merged), u = open_dir(upper);
  auto r = diff_into(l.get(), m.get(), u.get(), since);
  REQUIRE_MESSAGE(r, r.error().to_string());
  return *r;
}

void merge(const fs::path& src, const fs::path& dst) {
  auto s = open_dir(src), d = open_dir(dst);
  auto r = merge_into(s.get(), d.get());
  REQUIRE_MESSAGE(r, r.error().to_string());
}

}  // namespace

TEST_CASE("merge_into copies a plain tree whole, then diff_into finds nothing") {
  Tmp t;
  auto a = t.dir("a"), b = t.dir("b"), u = t.dir("u");
  put_file(a / "etc/conf", "x\n", 0600);
  put_file(a / "bin/tool", "#!/bin/sh\n", 04755);
  fs::create_symlink("../etc/conf", a / "bin/link");
  ::link((a / "etc/conf").c_str(), (a / "etc/conf2").c_str());
  ::setxattr((a / "etc/conf").c_str(), "user.note", "hi", 2, 0);
  merge(a, b);
  CHECK(listing(a) == listing(b));
  struct stat x, y, z;
  ::lstat((b / "etc/conf").c_str(), &x);
  ::lstat((b / "etc/conf2").c_str(), &y);
  CHECK(x.st_ino == y.st_ino);  // the hardlink kept
  ::lstat((b / "bin/tool").c_str(), &z);
  CHECK((z.st_mode & 07777) == 04755);
  CHECK(fs::read_symlink(b / "bin/link") == "../etc/conf");
  char v[8] = {};
  CHECK(::getxattr((b / "etc/conf").c_str(), "user.note", v, sizeof v) == 2);
  CHECK(diff(a, b, u, mark()) == 0);
  CHECK(listing(u).empty());
}

TEST_CASE("diff_into writes changes, new entries and whiteouts, with their parents") {
  Tmp t;
  auto lower = t.dir("lower"), merged = t.dir("merged"), upper = t.dir("upper");
  put_file(lower / "keep/same", "same\n");
  put_file(lower / "keep/deep/edit", "old\n");
  put_file(lower / "gone", "bye\n");
  put_file(lower / "olddir/f", "f\n");
  put_file(lower / "mode", "m\n", 0644);
  put_file(lower / "touched", "aaa\n");
  fs::create_symlink("a", lower / "sym");
  merge(lower, merged);
  auto since = mark();
  {
    // Same size and, after the write, the same mtime again (cp -p, tar x):
    // the ctime still tells.
    struct stat before;
    ::stat((merged / "touched").c_str(), &before);
    std::ofstream(merged / "touched") << "bbb\n";
    struct timespec ts[2] = {before.st_atim, before.st_mtim};
    ::utimensat(AT_FDCWD, (merged / "touched").c_str(), ts, 0);
  }
  put_file(merged / "keep/deep/edit", "new and longer\n");
  fs::remove(merged / "gone");
  fs::remove_all(merged / "olddir");
  ::chmod((merged / "mode").c_str(), 0600);
  fs::remove(merged / "sym");
  fs::create_symlink("b", merged / "sym");
  put_file(merged / "new/x", "x\n");
  ::link((merged / "new/x").c_str(), (merged / "new/y").c_str());

  CHECK(diff(lower, merged, upper, since) > 0);
  CHECK(listing(upper) == std::set<std::string>{"d keep", "d keep/deep", "f keep/deep/edit", "w gone", "w olddir",
                                                 "f mode", "f touched", "l sym", "d new", "f new/x", "f new/y"});
  CHECK(slurp(upper / "keep/deep/edit") == "new and longer\n");
  struct stat wh, x, y;
  ::lstat((upper / "gone").c_str(), &wh);
  CHECK(wh.st_rdev == makedev(0, 0));
  ::lstat((upper / "new/x").c_str(), &x);
  ::lstat((upper / "new/y").c_str(), &y);
  CHECK(x.st_ino == y.st_ino);  // a new hardlink pair stays one inode
  CHECK(fs::read_symlink(upper / "sym") == "b");
}

TEST_CASE("merge_into applies overlay whiteouts and opaque directories") {
  if (::geteuid() != 0) return;  // whiteout devices and trusted.* xattrs need root here
  Tmp t;
  auto base = t.dir("base"), top = t.dir("top"), out = t.dir("out");
  put_file(base / "a/old", "1\n");
  put_file(base / "a/kept", "1\n");
  put_file(base / "b/hidden", "1\n");
  put_file(base / "c", "1\n");
  merge(base, out);
  fs::create_directories(top / "a");
  REQUIRE(::mknod((top / "a/old").c_str(), S_IFCHR, makedev(0, 0)) == 0);
  fs::create_directories(top / "b");
  put_file(top / "b/fresh", "2\n");
  std::string opaque = std::string(sys::overlay_xattr_prefix()) + "opaque";
  REQUIRE(::setxattr((top / "b").c_str(), opaque.c_str(), "y", 1, 0) == 0);
  put_file(top / "c", "2\n");
  merge(top, out);
  CHECK(listing(out) == std::set<std::string>{"d a", "f a/kept", "d b", "f b/fresh", "f c"});
  CHECK(slurp(out / "c") == "2\n");
}

TEST_CASE("parse_cache_ref takes REF and buildx's type=registry,ref=REF") {
  CHECK(*parse_cache_ref("127.0.0.1:5000/team/cache", "--cache-from") == "127.0.0.1:5000/team/cache");
  CHECK(*parse_cache_ref("type=registry,ref=host/c,mode=max", "--cache-to") == "host/c");
  auto bad = parse_cache_ref("type=local,dest=/tmp/x", "--cache-to");
  REQUIRE(!bad);
  CHECK(bad.error().code() == Errc::kUsage);
  CHECK(!parse_cache_ref("type=registry,mode=max", "--cache-to"));
}

TEST_CASE("subordinate_range reads /etc/subuid lines by name or id") {
  Tmp t;
  put_file(t.root / "subuid", "other:100000:65536\nbob:200000:65536\n1234:300000:1000\nbad:x:1\n");
  auto p = (t.root / "subuid").string();
  auto bob = sys::subordinate_range(p, "bob", 1001);
  CHECK(bob.outside == 200000);
  CHECK(bob.count == 65536);
  CHECK(bob.inside == 1);
  auto by_id = sys::subordinate_range(p, "nobody-here", 1234);
  CHECK(by_id.outside == 300000);
  CHECK(sys::subordinate_range(p, "bad", 9).count == 0);
  CHECK(sys::subordinate_range(p, "nobody", 9).count == 0);
}
