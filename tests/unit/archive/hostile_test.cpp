// Hostile layers: each is refused with an error naming the entry, or contained
// inside the rootfs; in every case nothing outside the rootfs changes.

#include "archive/apply.h"

#include "archive_test_util.h"

using namespace hoist;
using namespace hoist::archive;
using namespace hoist::archive::test;

namespace {

void check_refused(Sandbox& s, const std::string& tar, const std::string& entry, const std::string& why) {
  auto r = s.apply(tar);
  REQUIRE_MESSAGE(!r, "layer was accepted");
  INFO(r.error().to_string());
  CHECK(r.error().to_string().find("entry '" + entry + "'") == 0);
  CHECK(r.error().to_string().find(why) != std::string::npos);
  CHECK(s.outside_unchanged());
}

void check_contained(Sandbox& s, const std::string& tar) {
  auto r = s.apply(tar);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  CHECK(s.outside_unchanged());
}

}  // namespace

TEST_CASE("path traversal with .. is refused") {
  Sandbox s;
  check_refused(s, s.tar(R"(t.file("../outside/victim", "pwned"))"), "../outside/victim", "path escapes the root");
  check_refused(s, s.tar(R"(t.file("a/../../outside/victim", "pwned"))"), "a/../../outside/victim",
                "path escapes the root");
  check_refused(s, s.tar(R"(t.symlink("../../outside/link", "x"))"), "../../outside/link", "escapes");
  check_refused(s, s.tar(R"(t.whiteout("../outside/victim"))"), "../outside/.wh.victim", "escapes");
  check_refused(s, s.tar(R"(t.file(".wh..", ""))"), ".wh..", "invalid whiteout name");
}

TEST_CASE("absolute paths land inside the root") {
  Sandbox s;
  check_contained(s, s.tar(R"(t.file(OUTSIDE + "/victim", "pwned"); t.dir("/abs"); t.file("/abs/f", "ok"))"));
  CHECK(read_all(s.in(s.outside.substr(1) + "/victim")) == "pwned");
  CHECK(read_all(s.in("abs/f")) == "ok");
}

TEST_CASE("symlink escapes in the same layer are contained") {
  Sandbox s;
  // Absolute and relative symlinks to outside/, then writes, hardlinks, mkdirs
  // and whiteouts through them.
  check_contained(s, s.tar(R"(
t.symlink("abs", OUTSIDE)
t.symlink("rel", "../outside")
t.symlink("up", "../../../../../../..")
t.file("abs/victim", "pwned-abs")
t.file("rel/victim", "pwned-rel")
t.file("up" + OUTSIDE + "/sub/victim2", "pwned-up")
t.dir("rel/newdir")
t.whiteout("abs/link")
t.whiteout("rel/sub")
)"));
  CHECK(read_all(s.in(s.outside.substr(1) + "/victim")) == "pwned-abs");
  CHECK(read_all(s.in("outside/victim")) == "pwned-rel");
  CHECK(read_all(s.in(s.outside.substr(1) + "/sub/victim2")) == "pwned-up");
}

TEST_CASE("symlink escapes set up in an earlier layer are contained") {
  Sandbox s;
  check_contained(s, s.tar(R"(t.symlink("esc", OUTSIDE); t.symlink("dir", "../outside/sub"))"));
  check_contained(s, s.tar(R"(
t.file("esc/victim", "pwned")
t.file("dir/victim2", "pwned2")
t.whiteout("esc/sub")
t.opaque("dir")
)"));
  CHECK(read_all(s.in(s.outside.substr(1) + "/victim")) == "pwned");
}

TEST_CASE("chains of symlinks are contained") {
  Sandbox s;
  check_contained(s, s.tar(R"(
t.symlink("a", "b")
t.symlink("b", "c/d")
t.dir("c")
t.symlink("c/d", "../../e")
t.symlink("e", ".." + OUTSIDE)
t.file("a/victim", "pwned")
)"));
  CHECK(read_all(s.in(s.outside.substr(1) + "/victim")) == "pwned");
  // A loop ends with an error, not a hang.
  auto r = s.apply(s.tar(R"(t.symlink("l1", "l2"); t.symlink("l2", "l1"); t.file("l1/x", "y"))"));
  REQUIRE(!r);
  CHECK(r.error().to_string().find("entry 'l1/x'") == 0);
  CHECK(s.outside_unchanged());
}

TEST_CASE("a file entry over a symlink replaces the symlink") {
  Sandbox s;
  check_contained(s, s.tar(R"(t.symlink("evil", "../outside/victim"))"));
  check_contained(s, s.tar(R"(t.file("evil", "pwned"))"));
  CHECK(read_all(s.in("evil")) == "pwned");
  check_contained(s, s.tar(R"(t.symlink("evil2", OUTSIDE + "/victim"); t.file("evil2", "x", mode=0o4777))"));
  check_contained(s, s.tar(R"(t.symlink("d", OUTSIDE); t.dir("d", mode=0o700))"));
  CHECK(fs::symlink_status(s.in("d")).type() == fs::file_type::directory);
}

TEST_CASE("hardlinks cannot reach outside") {
  Sandbox s;
  check_refused(s, s.tar(R"(t.hardlink("h", "../outside/victim"))"), "h", "escapes the root");
  check_refused(s, s.tar(R"(t.symlink("esc", OUTSIDE); t.hardlink("h", "esc/victim"))"), "h", "not found");
  // Linking to a symlink that points outside links the symlink itself.
  check_contained(s, s.tar(R"(t.symlink("sl", OUTSIDE + "/victim"); t.hardlink("h2", "sl"))"));
  CHECK(fs::is_symlink(s.in("h2")));
  struct stat st;
  REQUIRE(::lstat((s.outside + "/victim").c_str(), &st) == 0);
  CHECK(st.st_nlink == 1);
  check_refused(s, s.tar(R"(t.hardlink("h3", "missing"))"), "h3", "not found");
  check_refused(s, s.tar(R"(t.dir("dd"); t.hardlink("h4", "dd"))"), "h4", "is a directory");
}

TEST_CASE("very long names are refused cleanly") {
  Sandbox s;
  check_refused(s, s.tar("t.file('" + std::string(300, 'n') + "', 'x')"), std::string(300, 'n'), "NAME_MAX");
  std::string deep;
  for (int i = 0; i < 60; ++i) deep += std::string(100, 'a' + i % 26) + "/";
  check_refused(s, s.tar("t.file('" + deep + "f', 'x')"), deep + "f", "PATH_MAX");
}

TEST_CASE("tars that are not tars") {
  Sandbox s;
  std::string p = s.dir + "/junk.tar";
  write_all(p, std::string(2048, 'x'));
  auto r = s.apply(p);
  REQUIRE(!r);
  CHECK(r.error().to_string().find("invalid tar stream") == 0);
  // Truncated in the middle of a file's data.
  auto t = s.tar(R"(t.file("big", "y" * 100000))");
  std::string bytes = read_all(t);
  write_all(t, bytes.substr(0, 5000));
  r = s.apply(t);
  REQUIRE(!r);
  CHECK(r.error().to_string().find("entry 'big'") == 0);
  CHECK(s.outside_unchanged());
}
