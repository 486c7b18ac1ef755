#include "archive/tree_tar.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "archive/apply.h"
#include "archive_test_util.h"
#include "io/memory.h"
#include "sys/overlay.h"
#include "tar_dump.h"

using namespace hoist;
using namespace hoist::archive;
using namespace hoist::archive::test;

namespace {

bool is_root() { return ::geteuid() == 0; }

void mkfile(const std::string& p, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(fs::path(p).parent_path());
  write_all(p, content);
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

void set_mtime(const std::string& p, int64_t t) {
  struct timespec ts[2] = {{t, 0}, {t, 0}};
  REQUIRE_MESSAGE(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0, p);
}

// Every path under `dir` (the root included) gets mtime `t`.
void set_all_mtimes(const std::string& dir, int64_t t) {
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it)
    set_mtime(it->path().string(), t);
  set_mtime(dir, t);
}

void make_socket(const std::string& p) {
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  struct sockaddr_un a{};
  a.sun_family = AF_UNIX;
  REQUIRE(p.size() < sizeof a.sun_path);
  std::memcpy(a.sun_path, p.c_str(), p.size() + 1);
  REQUIRE(::bind(s, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0);
  ::close(s);
}

std::string xattr_of(const std::string& p, const char* key) {
  char buf[256];
  ssize_t n = ::lgetxattr(p.c_str(), key, buf, sizeof buf);
  return n < 0 ? std::string("<none>") : std::string(buf, size_t(n));
}

// Sets security.capability on `path` from a fresh user namespace whose root is
// host uid 100000 (the file's owner): the kernel stores VFS_CAP_REVISION_3 with
// that root id. False when user namespaces are unavailable.
bool set_cap_in_userns(const std::string& path, const std::string& value) {
  int ready[2], go[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(go) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(ready[0]);
    ::close(go[1]);
    char c = ::unshare(CLONE_NEWUSER) == 0 ? 1 : 0;
    if (::write(ready[1], &c, 1) != 1 || !c || ::read(go[0], &c, 1) != 1) ::_exit(2);
    ::_exit(::lsetxattr(path.c_str(), "security.capability", value.data(), value.size(), 0) == 0 ? 0 : 3);
  }
  ::close(ready[1]);
  ::close(go[0]);
  char c = 0;
  bool ok = ::read(ready[0], &c, 1) == 1 && c == 1;
  std::string proc = "/proc/" + std::to_string(pid) + "/";
  if (ok) {
    write_all(proc + "uid_map", "0 100000 65536\n");
    write_all(proc + "setgroups", "deny");
    write_all(proc + "gid_map", "0 100000 65536\n");
  }
  ok = ::write(go[1], &c, 1) == 1 && ok;
  ::close(ready[0]);
  ::close(go[1]);
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  return ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

struct Tarred {
  std::string bytes;
  TreeTarStats stats;
};

Result<Tarred> tar_tree(const std::string& dir, const TreeTarOptions& o = {}) {
  sys::Fd fd = sys::open_file(dir, O_PATH | O_DIRECTORY).value();
  io::StringWriter out;
  auto st = HOIST_TRY(write_tree_tar(fd, out, o));
  return Tarred{out.take(), st};
}

Tarred must_tar(const std::string& dir, const TreeTarOptions& o = {}) {
  auto r = tar_tree(dir, o);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  CHECK(r->stats.tar_bytes == r->bytes.size());
  return std::move(*r);
}

std::vector<std::string> names_of(const std::string& bytes) {
  std::vector<std::string> out;
  for (auto& e : read_tar(bytes)) out.push_back(e.e.path);
  return out;
}

ApplyStats apply_bytes(Sandbox& s, const std::string& bytes, ApplyOptions opts = {}) {
  io::StringReader in(bytes);
  auto r = apply_tar(in, s.root_fd, opts);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  return *r;
}

// snapshot() without directories' link counts (overlay reports 1 for a merged
// directory).
std::map<std::string, std::string> tree_of(const std::string& dir) {
  auto snap = snapshot(dir);
  for (auto& [p, v] : snap) {
    struct stat st;
    REQUIRE(::lstat((dir + p).c_str(), &st) == 0);
    if (S_ISDIR(st.st_mode)) v = "dir " + std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" +
                                 std::to_string(st.st_gid) + " " + std::to_string(st.st_mtim.tv_sec);
  }
  return snap;
}

}  // namespace

TEST_CASE("tree tar: every kind of entry, applied back, gives the same tree") {
  Sandbox s;
  std::string src = s.dir + "/src";
  mkfile(src + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  mkfile(src + "/bin/su", "suid", 04755);
  mkfile(src + "/bin/sg", "sgid", 02711);
  mkfile(src + "/empty", "");
  std::string big;
  for (size_t i = 0; big.size() < (size_t{3} << 20) + 3; ++i) big += std::to_string(i * 7919) + "\n";
  mkfile(src + "/big", big);
  fs::create_directories(src + "/tmp");
  REQUIRE(::chmod((src + "/tmp").c_str(), 01777) == 0);
  REQUIRE(::symlink("/etc/passwd", (src + "/etc/link").c_str()) == 0);
  REQUIRE(::symlink("nowhere/at/all", (src + "/dangling").c_str()) == 0);
  REQUIRE(::link((src + "/etc/passwd").c_str(), (src + "/etc/hard").c_str()) == 0);
  REQUIRE(::link((src + "/etc/passwd").c_str(), (src + "/zz-hard").c_str()) == 0);
  fs::create_directories(src + "/run");
  REQUIRE(::mkfifo((src + "/run/fifo").c_str(), 0600) == 0);
  make_socket(src + "/run/sock");
  std::string deep = src + "/" + std::string(200, 'd') + "/" + std::string(200, 'e');
  mkfile(deep + "/" + std::string(100, 'f'), "deep");
  std::string target = "../" + std::string(150, 't') + "/" + std::string(150, 'u');
  REQUIRE(::symlink(target.c_str(), (src + "/longlink").c_str()) == 0);
  REQUIRE(::lsetxattr((src + "/etc/passwd").c_str(), "user.note", "hi", 2, 0) == 0);
  REQUIRE(::lsetxattr((src + "/tmp").c_str(), "user.dir", "d", 1, 0) == 0);
  if (is_root()) {
    fs::create_directories(src + "/dev");
    REQUIRE(::mknod((src + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    REQUIRE(::mknod((src + "/dev/loop9").c_str(), S_IFBLK | 0660, makedev(7, 9)) == 0);
    REQUIRE(::chmod((src + "/dev/null").c_str(), 0666) == 0);  // past the umask
    REQUIRE(::chmod((src + "/dev/loop9").c_str(), 0660) == 0);
    REQUIRE(::lchown((src + "/bin/su").c_str(), 1000, 1000) == 0);
    REQUIRE(::chmod((src + "/bin/su").c_str(), 04755) == 0);  // chown cleared the setuid bit
    REQUIRE(::lchown((src + "/etc/link").c_str(), 7, 8) == 0);
    mkfile(src + "/owner", "big ids");
    REQUIRE(::lchown((src + "/owner").c_str(), 3000000, 4000000) == 0);
    mkfile(src + "/bin/ping", "cap", 0755);
    std::string cap("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
    REQUIRE(::lsetxattr((src + "/bin/ping").c_str(), "security.capability", cap.data(), cap.size(), 0) == 0);
    REQUIRE(::lsetxattr((src + "/bin/su").c_str(), "trusted.private", "x", 1, 0) == 0);
  } else {
    MESSAGE("not root: devices, owners and security/trusted xattrs left out");
  }
  set_mtime(src + "/etc/passwd", 1234567890);
  set_mtime(src + "/etc/link", 1000000000);

  Tarred t = must_tar(src);
  CHECK(t.stats.hardlinks == 2);
  CHECK(t.stats.symlinks == 3);
  CHECK(t.stats.skipped == 1);  // the socket
  CHECK(t.stats.data_bytes == big.size() + 26 + 4 + 4 + 4 + (is_root() ? 7 + 3 : 0));
  CHECK(t.stats.specials == (is_root() ? 3 : 1));

  apply_bytes(s, t.bytes);
  auto want = snapshot(src);
  REQUIRE(want.erase("/run/sock") == 1);
  CHECK(snapshot(s.root) == want);
  CHECK(xattr_of(s.in("etc/passwd"), "user.note") == "hi");
  CHECK(xattr_of(s.in("tmp"), "user.dir") == "d");
  if (is_root()) {
    CHECK(xattr_of(s.in("bin/ping"), "security.capability").size() == 20);
    CHECK(xattr_of(s.in("bin/su"), "trusted.private") == "<none>");
  }

  auto entries = read_tar(t.bytes);
  CHECK(entries.size() == t.stats.entries);
  for (auto& e : entries) {
    CAPTURE(e.e.path);
    CHECK(!e.e.path.starts_with("./"));
    CHECK(e.e.path.find("sock") == std::string::npos);
    if (e.e.path == "zz-hard" || e.e.path == "etc/passwd") {  // "etc/hard" comes first
      CHECK(e.e.type == EntryType::kHardlink);
      CHECK(e.e.linkname == "etc/hard");
    }
  }

  if (!have_python()) return;
  std::string p = s.dir + "/t.tar";
  write_all(p, t.bytes);
  std::string dump = python_dump(s.dir, p);
  CHECK(size_t(std::count(dump.begin(), dump.end(), '\n')) == entries.size());
  CHECK(dump.find("etc/hard|0|644|0:0|26|1234567890||0,0|user.note=6869|sha256:037d604c1c02\n") != std::string::npos);
  CHECK(dump.find("etc/passwd|1|644|0:0|0|1234567890|etc/hard|0,0|user.note=6869|\n") != std::string::npos);
  CHECK(dump.find("longlink|2|777|") != std::string::npos);
  CHECK(dump.find("|" + target + "|") != std::string::npos);
  CHECK(dump.find(std::string(200, 'd') + "/" + std::string(200, 'e') + "/" + std::string(100, 'f') + "|0|644|") !=
        std::string::npos);
  if (is_root()) {
    CHECK(dump.find("bin/su|0|4755|1000:1000|4|") != std::string::npos);
    CHECK(dump.find("dev/null|3|666|0:0|0|") != std::string::npos);
    CHECK(dump.find("dev/loop9|4|660|0:0|0|") != std::string::npos);
    CHECK(dump.find("owner|0|644|3000000:4000000|7|") != std::string::npos);
    CHECK(dump.find("security.capability=01000002002000000000000000000000000000") != std::string::npos);
    CHECK(dump.find("trusted") == std::string::npos);
  }
}

TEST_CASE("tree tar: a namespaced file capability (revision 3) is written as revision 2, as moby does") {
  if (!is_root()) {
    MESSAGE("not root: skipped");
    return;
  }
  Sandbox s;
  std::string src = s.dir + "/src";
  mkfile(src + "/ping", "cap", 0755);
  REQUIRE(::lchown((src + "/ping").c_str(), 100000, 100000) == 0);
  std::string v2("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  if (!set_cap_in_userns(src + "/ping", v2)) {
    MESSAGE("user namespaces unavailable: skipped");
    return;
  }
  std::string on_disk = xattr_of(src + "/ping", "security.capability");
  REQUIRE(on_disk.size() == 24);
  REQUIRE(on_disk[3] == 3);
  auto es = read_tar(must_tar(src).bytes);
  REQUIRE(es.size() == 1);
  REQUIRE(es[0].e.xattrs.size() == 1);
  CHECK(es[0].e.xattrs[0].second == v2);
}

TEST_CASE("tree tar: byte order per directory, depth first, parents before children") {
  Sandbox s;
  std::string src = s.dir + "/src";
  for (const char* f : {"a.txt", "a-", "B", "_", "\xc3\xa9", "a/b", "a/A/x", "c/d/e/f"}) mkfile(src + "/" + f, "x");
  Tarred t = must_tar(src);
  CHECK(names_of(t.bytes) == std::vector<std::string>{"B", "_", "a/", "a/A/", "a/A/x", "a/b", "a-", "a.txt", "c/",
                                                      "c/d/", "c/d/e/", "c/d/e/f", "\xc3\xa9"});
  CHECK(t.stats.dirs == 5);
  CHECK(t.stats.files == 8);
  CHECK(t.stats.entries == 13);
}

TEST_CASE("tree tar: equal trees give identical bytes under a clamp, whatever their mtimes") {
  Sandbox s;
  auto make = [&](const std::string& dir, bool reverse) {
    std::vector<std::string> files = {"usr/bin/tool", "usr/lib/libx.so", "etc/conf", "data/blob"};
    if (reverse) std::reverse(files.begin(), files.end());  // other inode and dirent order
    for (auto& f : files) mkfile(dir + "/" + f, "content of " + f);
    REQUIRE(::symlink("libx.so", (dir + "/usr/lib/liby.so").c_str()) == 0);
  };
  std::string a = s.dir + "/a", b = s.dir + "/b";
  make(a, false);
  make(b, true);
  set_all_mtimes(a, 1800000000);
  set_all_mtimes(b, 1900000000);
  set_mtime(a + "/etc/conf", 500);  // older than the clamp: kept, in both
  set_mtime(b + "/etc/conf", 500);

  CHECK(must_tar(a).bytes != must_tar(b).bytes);
  TreeTarOptions o;
  o.clamp_mtime = 1700000000;
  Tarred ta = must_tar(a, o), tb = must_tar(b, o);
  CHECK(ta.bytes == tb.bytes);
  for (auto& e : read_tar(ta.bytes)) {
    CAPTURE(e.e.path);
    CHECK(e.e.mtime_sec == (e.e.path == "etc/conf" ? 500 : 1700000000));
  }
  CHECK(must_tar(a, o).bytes == ta.bytes);  // and again
}

TEST_CASE("tree tar: hard links point at the first path written") {
  Sandbox s;
  std::string src = s.dir + "/src";
  mkfile(src + "/m/first", "shared");
  REQUIRE(::link((src + "/m/first").c_str(), (src + "/a-second").c_str()) == 0);
  fs::create_directories(src + "/z");
  REQUIRE(::link((src + "/m/first").c_str(), (src + "/z/third").c_str()) == 0);
  mkfile(src + "/lonely", "one link in the tree");
  REQUIRE(::link((src + "/lonely").c_str(), (s.dir + "/outside-link").c_str()) == 0);
  REQUIRE(::symlink("m/first", (src + "/sym").c_str()) == 0);
  REQUIRE(::link((src + "/sym").c_str(), (src + "/sym2").c_str()) == 0);  // a hard link to the symlink itself

  Tarred t = must_tar(src);
  auto es = read_tar(t.bytes);
  std::map<std::string, ReadEntry> by;
  for (auto& e : es) by[e.e.path] = e;
  CHECK(by["a-second"].e.type == EntryType::kFile);  // first in walk order holds the data
  CHECK(by["a-second"].data == "shared");
  CHECK(by["m/first"].e.type == EntryType::kHardlink);
  CHECK(by["m/first"].e.linkname == "a-second");
  CHECK(by["z/third"].e.linkname == "a-second");
  CHECK(by["lonely"].e.type == EntryType::kFile);
  CHECK(by["lonely"].data == "one link in the tree");
  CHECK(by["sym"].e.type == EntryType::kSymlink);
  CHECK(by["sym2"].e.type == EntryType::kHardlink);
  CHECK(by["sym2"].e.linkname == "sym");
  CHECK(t.stats.hardlinks == 3);
  CHECK(t.stats.files == 2);

  apply_bytes(s, t.bytes);
  struct stat st;
  REQUIRE(::stat(s.in("z/third").c_str(), &st) == 0);
  CHECK(st.st_nlink == 3);
  CHECK(read_all(s.in("m/first")) == "shared");
}

TEST_CASE("tree tar: skip, progress, sockets, symlinks never followed") {
  Sandbox s;
  std::string src = s.dir + "/src";
  mkfile(src + "/keep/file", std::string(size_t{2} << 20, 'k'));
  mkfile(src + "/mnt/inside", "hidden");
  mkfile(src + "/keep/mountpoint", "");
  make_socket(src + "/sock");
  REQUIRE(::symlink(s.outside.c_str(), (src + "/out").c_str()) == 0);  // a directory outside
  REQUIRE(::symlink("../outside/victim", (src + "/out2").c_str()) == 0);

  std::vector<uint64_t> progress;
  std::vector<std::string> asked;
  TreeTarOptions o;
  o.skip = [&](std::string_view p) {
    asked.emplace_back(p);
    return p == "mnt" || p == "keep/mountpoint";
  };
  o.on_progress = [&](uint64_t n) { progress.push_back(n); };
  Tarred t = must_tar(src, o);
  CHECK(names_of(t.bytes) == std::vector<std::string>{"keep/", "keep/file", "out", "out2"});
  CHECK(asked == std::vector<std::string>{"keep", "keep/file", "keep/mountpoint", "mnt", "out", "out2", "sock"});
  CHECK(t.stats.skipped == 3);
  REQUIRE(progress.size() >= 2);
  CHECK(std::is_sorted(progress.begin(), progress.end()));
  CHECK(progress.back() == t.stats.data_bytes);
  CHECK(t.stats.data_bytes == size_t{2} << 20);
  CHECK(s.outside_unchanged());
}

TEST_CASE("tree tar: an empty tree is just the marker; a non-directory is refused") {
  Sandbox s;
  std::string src = s.dir + "/src";
  fs::create_directories(src);
  Tarred t = must_tar(src);
  CHECK(t.bytes == std::string(1024, '\0'));  // an empty tree: just the marker
  CHECK(t.stats.entries == 0);

  std::string notdir = s.dir + "/file";
  write_all(notdir, "x");
  sys::Fd fd = sys::open_file(notdir, O_RDONLY).value();
  io::StringWriter out;
  auto r = write_tree_tar(fd, out, {});
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kInvalidArgument);
}

// An overlay upper directory made by the kernel: mount, change the merged view,
// unmount, tar the upper.
TEST_CASE("tree tar: a real overlay upper directory becomes whiteouts and opaque markers") {
  if (!is_root()) {
    MESSAGE("not root: overlay cases skipped");
    return;
  }
  Sandbox s;
  std::string lower = s.dir + "/lower", upper = s.dir + "/upper", work = s.dir + "/work", merged = s.dir + "/merged";
  mkfile(lower + "/keep", "keep");
  mkfile(lower + "/del1", "gone");
  mkfile(lower + "/del2", "gone too");
  mkfile(lower + "/dir/a", "a");
  mkfile(lower + "/dir/b", "b");
  mkfile(lower + "/repl/x", "dir replaced by a file");
  mkfile(lower + "/opq/y", "y");
  mkfile(lower + "/opq/sub/z", "z");
  mkfile(lower + "/mod", "old");
  for (auto& d : {upper, work, merged}) fs::create_directories(d);
  auto m = sys::mount_overlay({{lower}, upper, work}, merged);
  if (!m) {
    MESSAGE("overlay unavailable (" << m.error().message() << "): skipped");
    return;
  }
  struct Unmounter {
    std::string path;
    bool on = true;
    void now() {
      if (on) (void)sys::unmount(path);
      on = false;
    }
    ~Unmounter() { now(); }
  } unmount{merged};
  fs::remove(merged + "/del1");
  fs::remove(merged + "/del2");
  fs::remove(merged + "/dir/a");
  fs::remove_all(merged + "/repl");
  write_all(merged + "/repl", "now a file");
  fs::remove_all(merged + "/opq");
  mkfile(merged + "/opq/new", "new");  // rm -rf and mkdir again: opaque
  write_all(merged + "/mod", "new content");
  mkfile(merged + "/fresh/f", "fresh");
  REQUIRE(::lchown((merged + "/fresh/f").c_str(), 1000, 1001) == 0);
  auto want = tree_of(merged);
  unmount.now();

  struct stat wst;
  REQUIRE(::lstat((upper + "/del1").c_str(), &wst) == 0);
  REQUIRE(S_ISCHR(wst.st_mode));
  REQUIRE(xattr_of(upper + "/opq", "trusted.overlay.opaque") == "y");

  TreeTarOptions o;
  o.overlay_upper = true;
  Tarred t = must_tar(upper, o);
  CHECK(names_of(t.bytes) == std::vector<std::string>{".wh.del1", ".wh.del2", "dir/", "dir/.wh.a", "fresh/",
                                                      "fresh/f", "mod", "opq/", "opq/.wh..wh..opq", "opq/new",
                                                      "repl"});
  CHECK(t.stats.whiteouts == 3);
  CHECK(t.stats.opaque_dirs == 1);
  CHECK(t.stats.hardlinks == 0);  // overlayfs may link its whiteouts to one inode: still whiteouts
  struct stat opq;
  REQUIRE(::lstat((upper + "/opq").c_str(), &opq) == 0);
  for (auto& e : read_tar(t.bytes)) {
    CAPTURE(e.e.path);
    for (auto& [k, v] : e.e.xattrs) CHECK(k.find("overlay") == std::string::npos);
    if (e.e.path.find(".wh.") == std::string::npos) continue;
    CHECK(e.e.type == EntryType::kFile);
    CHECK(e.e.size == 0);
    if (e.e.path == "opq/.wh..wh..opq") {
      CHECK(e.e.mode == (opq.st_mode & 0777));
      CHECK(e.e.mtime_sec == 0);
    } else {
      CHECK(e.e.mode == 0600);
      CHECK(e.e.uid == wst.st_uid);
    }
  }

  // The lower tree with this layer applied is what the merged view showed.
  REQUIRE(std::system(("cp -a '" + lower + "/.' '" + s.root + "/'").c_str()) == 0);
  apply_bytes(s, t.bytes);
  CHECK(tree_of(s.root) == want);

  if (!have_python()) return;
  std::string p = s.dir + "/t.tar";
  write_all(p, t.bytes);
  std::string dump = python_dump(s.dir, p);
  CHECK(dump.find(".wh.del1|0|600|0:0|0|") != std::string::npos);
  CHECK(dump.find("fresh/f|0|644|1000:1001|5|") != std::string::npos);
  CHECK(dump.find("trusted") == std::string::npos);
}

TEST_CASE("tree tar: overlay metadata it cannot express is refused; an opaque root gets its marker") {
  if (!is_root()) {
    MESSAGE("not root: trusted.overlay xattrs cannot be set: skipped");
    return;
  }
  Sandbox s;
  std::string up = s.dir + "/up";
  mkfile(up + "/d/f", "f");
  REQUIRE(::lsetxattr(up.c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  TreeTarOptions o;
  o.overlay_upper = true;
  Tarred t = must_tar(up, o);
  CHECK(names_of(t.bytes) == std::vector<std::string>{".wh..wh..opq", "d/", "d/f"});
  CHECK(must_tar(up).stats.opaque_dirs == 0);  // not an upper: nothing converted

  REQUIRE(::lsetxattr((up + "/d").c_str(), "trusted.overlay.redirect", "/elsewhere", 10, 0) == 0);
  auto r = tar_tree(up, o);
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kUnsupported);
  CHECK(r.error().message().find("'d'") != std::string::npos);
  REQUIRE(::lremovexattr((up + "/d").c_str(), "trusted.overlay.redirect") == 0);
  REQUIRE(::lsetxattr((up + "/d/f").c_str(), "trusted.overlay.metacopy", "", 0, 0) == 0);
  r = tar_tree(up, o);
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kUnsupported);
  CHECK(must_tar(up).stats.files == 1);  // outside overlay mode: just a private xattr, dropped
}

TEST_CASE("tree tar: an image's own user.overlay.* xattrs are neither markers nor written") {
  Sandbox s;
  std::string up = s.dir + "/up";
  mkfile(up + "/d/f", "f");
  mkfile(up + "/g", "g");
  if (::lsetxattr((up + "/d").c_str(), "user.overlay.opaque", "y", 1, 0) != 0) {
    MESSAGE("no user xattrs here: skipped");
    return;
  }
  REQUIRE(::lsetxattr((up + "/g").c_str(), "user.overlay.redirect", "/x", 2, 0) == 0);
  TreeTarOptions o;
  o.overlay_upper = true;
  Tarred t = must_tar(up, o);
  CHECK(names_of(t.bytes) == std::vector<std::string>{"d/", "d/f", "g"});
  CHECK(t.stats.opaque_dirs == 0);
  CHECK(t.bytes.find("user.overlay") == std::string::npos);
}
