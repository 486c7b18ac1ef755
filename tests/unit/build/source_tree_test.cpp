#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "build/content_hash.h"
#include "build/copy.h"
#include "build/source_tree.h"
#include "sys/file_io.h"

using namespace hoist;
using namespace hoist::build;
namespace fs = std::filesystem;

namespace {

struct Dir {
  fs::path root;
  Dir() {
    char t[] = "/tmp/hoist-build-test.XXXXXX";
    root = ::mkdtemp(t);
  }
  ~Dir() { fs::remove_all(root); }
  std::string put(const std::string& rel, const std::string& body, mode_t mode = 0644) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << body;
    ::chmod((root / rel).c_str(), mode);
    return (root / rel).string();
  }
};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

SourceTree tree(const Dir& d, std::string_view ignore = "") {
  auto m = dockerfile::IgnoreMatcher::parse(ignore);
  REQUIRE(m.has_value());
  auto t = SourceTree::open(d.root.string(), "build context", std::move(*m));
  REQUIRE_MESSAGE(t.has_value(), (t ? "" : t.error().message()));
  return std::move(*t);
}

}  // namespace

TEST_CASE("sources: literal paths, globs in any component, .dockerignore") {
  Dir d;
  d.put("a.txt", "a");
  d.put("b.txt", "b");
  d.put("logs/x.log", "x");
  d.put("src/one/main.go", "1");
  d.put("src/two/main.go", "2");
  auto t = tree(d, "logs\n");
  CHECK(t.match("/a.txt").value() == std::vector<std::string>{"a.txt"});
  CHECK(t.match("*.txt").value() == std::vector<std::string>{"a.txt", "b.txt"});
  CHECK(t.match("src/*/main.go").value() == std::vector<std::string>{"src/one/main.go", "src/two/main.go"});
  CHECK(t.match(".").value() == std::vector<std::string>{"."});
  auto miss = t.match("nope.txt");
  REQUIRE(!miss);
  CHECK(miss.error().code() == Errc::kNotFound);
  CHECK(miss.error().message().find("'nope.txt' not found in build context") == 0);
  auto ign = t.match("logs/x.log");
  REQUIRE(!ign);
  CHECK(ign.error().message().find("'logs/x.log' is excluded by .dockerignore") == 0);
  CHECK(!t.match("*.none"));
}

TEST_CASE("the content digest follows contents, modes and names; not mtimes") {
  Dir d;
  std::string f = d.put("dir/f", "one");
  d.put("dir/g", "two");
  ContentHasher h(2);
  auto t = tree(d);
  dockerfile::IgnoreMatcher none;
  auto d1 = h.digest(t, {"dir"}, none).value();
  struct timespec ts[2] = {{1, 0}, {1, 0}};
  ::utimensat(AT_FDCWD, f.c_str(), ts, 0);
  CHECK(ContentHasher(1).digest(t, {"dir"}, none).value() == d1);
  d.put("dir/f", "ONE");
  auto d2 = ContentHasher(1).digest(t, {"dir"}, none).value();
  CHECK(d2 != d1);
  ::chmod(f.c_str(), 0600);
  CHECK(ContentHasher(1).digest(t, {"dir"}, none).value() != d2);
  auto ex = dockerfile::IgnoreMatcher::from_patterns({"g"}).value();
  CHECK(ContentHasher(1).digest(t, {"dir"}, ex).value() != ContentHasher(1).digest(t, {"dir"}, none).value());
}

TEST_CASE("copy: a directory's contents, files into directories, symlinks kept, modes kept, owners reset") {
  Dir src, dst;
  src.put("d/a", "a", 0751);
  src.put("d/sub/b", "b");
  ::symlink("a", (src.root / "d/link").c_str());
  src.put("single", "s");
  fs::create_directories(dst.root / "existing");
  ::chmod((dst.root / "existing").c_str(), 0700);
  auto t = tree(src);
  auto root = sys::open_file(dst.root.string(), O_PATH | O_DIRECTORY).value();
  CopyOptions o;
  REQUIRE(copy_sources(t, {"d"}, root, "/existing", true, o));
  CHECK(read(dst.root / "existing/a") == "a");
  CHECK(read(dst.root / "existing/sub/b") == "b");
  CHECK(fs::is_symlink(dst.root / "existing/link"));
  CHECK(fs::read_symlink(dst.root / "existing/link") == "a");
  struct stat st;
  REQUIRE(::stat((dst.root / "existing/a").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0751);
  CHECK(st.st_uid == 0);
  REQUIRE(::stat((dst.root / "existing").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);  // an existing target keeps its own mode
  REQUIRE(copy_sources(t, {"single"}, root, "/new/dir", true, o));
  CHECK(read(dst.root / "new/dir/single") == "s");
  REQUIRE(copy_sources(t, {"single"}, root, "/renamed", false, o));
  CHECK(read(dst.root / "renamed") == "s");
  o.chmod = 0600;
  o.chown = Owner{1000, 1001};
  REQUIRE(copy_sources(t, {"single"}, root, "/owned", false, o));
  REQUIRE(::stat((dst.root / "owned").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == 1000);
  CHECK(st.st_gid == 1001);
}

TEST_CASE("copy never writes outside the destination root through a symlink there") {
  Dir src, dst, outside;
  src.put("f", "payload");
  ::symlink(outside.root.c_str(), (dst.root / "escape").c_str());
  auto t = tree(src);
  auto root = sys::open_file(dst.root.string(), O_PATH | O_DIRECTORY).value();
  auto r = copy_sources(t, {"f"}, root, "/escape/f", false, CopyOptions{});
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  CHECK(!fs::exists(outside.root / "f"));
  CHECK(read(dst.root / outside.root.relative_path() / "f") == "payload");
}

TEST_CASE("chmod values are octal") {
  CHECK(parse_chmod("755").value() == 0755);
  CHECK(parse_chmod("0644").value() == 0644);
  CHECK(!parse_chmod("u+x"));
  CHECK(!parse_chmod("99"));
}

TEST_CASE("a destination climbing with .. stays inside the root, even through missing directories") {
  Dir dst, outside;
  auto root = sys::open_file(dst.root.string(), O_PATH | O_DIRECTORY).value();
  // COPY <<../../NAME /missing/ : the heredoc's name joined to a missing directory.
  std::string climb = "/missing";
  for (int i = 0; i < 16; ++i) climb += "/..";
  auto r = write_file_into(root, climb + outside.root.string() + "/pwned", "x", CopyOptions{}, 0);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  CHECK(!fs::exists(outside.root / "pwned"));
  CHECK(read(dst.root / outside.root.relative_path() / "pwned") == "x");
  // A name that cleans to the root itself is refused, not written over it.
  CHECK(!write_file_into(root, "/missing/..", "x", CopyOptions{}, 0));
}

TEST_CASE("COPY --parents of a source with .. keeps its path below the destination") {
  Dir src, dst;
  src.put("a/f", "payload");
  auto t = tree(src);
  auto root = sys::open_file(dst.root.string(), O_PATH | O_DIRECTORY).value();
  CopyOptions o;
  o.parents = true;
  auto r = copy_sources(t, {"../../a/f"}, root, "/missing/deeper", true, o);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  CHECK(read(dst.root / "missing/deeper/a/f") == "payload");
}

TEST_CASE("a directory copied onto a symlink to a directory goes through it (merged /usr)") {
  Dir src, dst;
  src.put("bin/tool", "t");
  fs::create_directories(dst.root / "usr/bin");
  fs::create_symlink("usr/bin", dst.root / "bin");
  auto t = tree(src);
  auto root = sys::open_file(dst.root.string(), O_PATH | O_DIRECTORY).value();
  auto r = copy_sources(t, {"bin"}, root, "/bin", true, CopyOptions{});
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  CHECK(fs::is_symlink(dst.root / "bin"));
  CHECK(read(dst.root / "usr/bin/tool") == "t");
}

TEST_CASE("a copied file keeps its file capabilities through --chown (a chown drops security.capability)") {
  Dir src, dst;
  auto f = src.put("f", "x");
  // vfs_cap_data, revision 2: cap_net_bind_service (10) permitted and effective.
  struct {
    uint32_t magic_etc;
    struct { uint32_t permitted, inheritable; } data[2];
  } cap = {0x02000000 | 0x1, {{1u << 10, 0}, {0, 0}}};
  if (::setxattr(f.c_str(), "security.capability", &cap, sizeof cap, 0) != 0) return;  // not root, or no xattrs
  auto t = tree(src);
  auto root = sys::open_file(dst.root.string(), O_PATH | O_DIRECTORY).value();
  CopyOptions o;
  o.chown = Owner{1000, 1000};
  REQUIRE(copy_sources(t, {"f"}, root, "/f", false, o));
  decltype(cap) got = {};
  CHECK(::getxattr((dst.root / "f").c_str(), "security.capability", &got, sizeof got) == ssize_t(sizeof got));
  CHECK(got.data[0].permitted == 1u << 10);
  struct stat st;
  REQUIRE(::stat((dst.root / "f").c_str(), &st) == 0);
  CHECK(st.st_uid == 1000);
}
