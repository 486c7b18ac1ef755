#include "sys/openat2.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "sys/file_io.h"

using namespace hoist;

namespace {

struct TempRoot {
  std::string path;
  sys::Fd fd;
  TempRoot() {
    char tmpl[] = "/tmp/hoist-openat2-XXXXXX";
    path = mkdtemp(tmpl);
    ::mkdir((path + "/root").c_str(), 0755);
    fd = sys::open_file(path + "/root", O_PATH | O_DIRECTORY).value();
  }
  ~TempRoot() { (void)sys::remove_all(path); }
};

}  // namespace

TEST_CASE("open_in_root keeps absolute symlinks and .. inside the root") {
  TempRoot t;
  REQUIRE(sys::write_file_atomic(t.path + "/secret", "host").has_value());
  REQUIRE(sys::mkdir_all(t.path + "/root/etc").has_value());
  REQUIRE(sys::write_file_atomic(t.path + "/root/etc/secret", "inside").has_value());
  REQUIRE(::symlink("/../../secret", (t.path + "/root/link").c_str()) == 0);
  auto fd = sys::open_in_root(t.fd, "/link", O_RDONLY);
  CHECK(!fd);  // resolves to <root>/secret, which does not exist
  REQUIRE(::symlink("/etc/secret", (t.path + "/root/good").c_str()) == 0);
  auto g = sys::open_in_root(t.fd, "good", O_RDONLY);
  REQUIRE(g.has_value());
  char buf[16] = {};
  CHECK(::read(g->get(), buf, sizeof buf) == 6);
  CHECK(std::string(buf) == "inside");
  auto dots = sys::open_in_root(t.fd, "../../../secret", O_RDONLY);
  CHECK(!dots);
  CHECK(dots.error().code() == Errc::kNotFound);
}

TEST_CASE("open_in_root refuses magic links") {
  TempRoot t;
  REQUIRE(::symlink("/proc/self/root/etc/passwd", (t.path + "/root/p").c_str()) == 0);
  // Inside the root, /proc/self/root is just a missing path; never the host's.
  CHECK(!sys::open_in_root(t.fd, "p", O_RDONLY));
}

TEST_CASE("mkdir_all_in_root creates through dangling symlinks inside the root") {
  TempRoot t;
  REQUIRE(::symlink("/../../../outside", (t.path + "/root/abs").c_str()) == 0);
  REQUIRE(::symlink("x/y", (t.path + "/root/rel").c_str()) == 0);
  auto a = sys::mkdir_all_in_root(t.fd, "/abs/m");
  REQUIRE(a.has_value());
  CHECK(sys::exists(t.path + "/root/outside/m"));
  CHECK(!sys::exists(t.path + "/outside"));
  auto r = sys::mkdir_all_in_root(t.fd, "rel/z");
  REQUIRE(r.has_value());
  CHECK(sys::exists(t.path + "/root/x/y/z"));
  REQUIRE(::symlink("loop", (t.path + "/root/loop").c_str()) == 0);
  auto l = sys::mkdir_all_in_root(t.fd, "loop/a");
  CHECK(!l);
}

TEST_CASE("mkdir_all_in_root fails on a file component") {
  TempRoot t;
  REQUIRE(sys::write_file_atomic(t.path + "/root/f", "x").has_value());
  auto r = sys::mkdir_all_in_root(t.fd, "f/sub");
  REQUIRE(!r);
  CHECK(r.error().sys_errno() == ENOTDIR);
}

TEST_CASE("touch_in_root_raw makes a file and its parents inside the root") {
  TempRoot t;
  REQUIRE(::symlink("/", (t.path + "/root/up").c_str()) == 0);
  int fd = sys::touch_in_root_raw(t.fd.get(), "/up/a/b/file", 0644);
  REQUIRE(fd >= 0);
  ::close(fd);
  struct stat st;
  REQUIRE(::stat((t.path + "/root/a/b/file").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
}
