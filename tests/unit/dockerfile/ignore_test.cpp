// .dockerignore: moby/patternmatcher's patternmatcher_test.go and ignorefile_test.go.
#include "dockerfile/ignore.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace hoist;
using namespace hoist::dockerfile;
using V = std::vector<std::string>;

namespace {

IgnoreMatcher pm(const V& patterns) {
  auto r = IgnoreMatcher::from_patterns(patterns);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  return *r;
}

// The walker's way: parents first, each passing its state on.
bool walk_matches(const IgnoreMatcher& m, std::string_view path) {
  IgnoreMatcher::MatchState state;
  size_t pos = 0;
  bool result = false;
  for (;;) {
    size_t slash = path.find('/', pos);
    std::string_view prefix = path.substr(0, slash);
    IgnoreMatcher::MatchState next;
    result = m.matches(prefix, state, &next);
    state = std::move(next);
    if (slash == std::string_view::npos) return result;
    pos = slash + 1;
  }
}

}  // namespace

TEST_CASE("ignore: read_ignore_patterns (TestReadAll)") {
  CHECK(read_ignore_patterns("").empty());
  const std::string content =
      "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
  CHECK(read_ignore_patterns(content) ==
        V{"test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"});
  CHECK(read_ignore_patterns("\xEF\xBB\xBF" "a\r\n./b//c/../d/\r\n  # not a comment\n  spaced  \n/\n") ==
        V{"a", "b/d", "# not a comment", "spaced", "/"});
}

TEST_CASE("ignore: single patterns (TestMatches)") {
  struct Case {
    std::string pattern, text;
    bool pass;
  };
  std::vector<Case> cases = {
      {"**", "file", true},
      {"**", "file/", true},
      {"**/", "file", true},
      {"**/", "file/", true},
      {"**", "dir/file", true},
      {"**/", "dir/file", true},
      {"**", "dir/file/", true},
      {"**/", "dir/file/", true},
      {"**/**", "dir/file", true},
      {"**/**", "dir/file/", true},
      {"dir/**", "dir/file", true},
      {"dir/**", "dir/file/", true},
      {"dir/**", "dir/dir2/file", true},
      {"dir/**", "dir/dir2/file/", true},
      {"**/dir", "dir", true},
      {"**/dir", "dir/file", true},
      {"**/dir2/*", "dir/dir2/file", true},
      {"**/dir2/*", "dir/dir2/file/", true},
      {"**/dir2/**", "dir/dir2/dir3/file", true},
      {"**/dir2/**", "dir/dir2/dir3/file/", true},
      {"**file", "file", true},
      {"**file", "dir/file", true},
      {"**/file", "dir/file", true},
      {"**file", "dir/dir/file", true},
      {"**/file", "dir/dir/file", true},
      {"**/file*", "dir/dir/file", true},
      {"**/file*", "dir/dir/file.txt", true},
      {"**/file*txt", "dir/dir/file.txt", true},
      {"**/file*.txt", "dir/dir/file.txt", true},
      {"**/file*.txt*", "dir/dir/file.txt", true},
      {"**/**/*.txt", "dir/dir/file.txt", true},
      {"**/**/*.txt2", "dir/dir/file.txt", false},
      {"**/*.txt", "file.txt", true},
      {"**/**/*.txt", "file.txt", true},
      {"a**/*.txt", "a/file.txt", true},
      {"a**/*.txt", "a/dir/file.txt", true},
      {"a**/*.txt", "a/dir/dir/file.txt", true},
      {"a/*.txt", "a/dir/file.txt", false},
      {"a/*.txt", "a/file.txt", true},
      {"a/*.txt**", "a/file.txt", true},
      {"a[b-d]e", "ae", false},
      {"a[b-d]e", "ace", true},
      {"a[b-d]e", "aae", false},
      {"a[^b-d]e", "aze", true},
      {".*", ".foo", true},
      {".*", "foo", false},
      {"abc.def", "abcdef", false},
      {"abc.def", "abc.def", true},
      {"abc.def", "abcZdef", false},
      {"abc?def", "abcZdef", true},
      {"abc?def", "abcdef", false},
      {"a\\\\", "a\\", true},
      {"**/foo/bar", "foo/bar", true},
      {"**/foo/bar", "dir/foo/bar", true},
      {"**/foo/bar", "dir/dir2/foo/bar", true},
      {"abc/**", "abc", false},
      {"abc/**", "abc/def", true},
      {"abc/**", "abc/def/ghi", true},
      {"**/.foo", ".foo", true},
      {"**/.foo", "bar.foo", false},
      {"a(b)c/def", "a(b)c/def", true},
      {"a(b)c/def", "a(b)c/xyz", false},
      {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
      {"dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
       "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
      {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
      {"a\\*b", "a*b", true},
  };
  // patternmatcher's {"**", "/", true} and {"**/", "/", true} are left out: paths are
  // cleaned here and "/" is the context root, which is never excluded.
  CHECK_FALSE(pm({"**"}).matches("/"));
  for (const Case& c : cases) {
    CAPTURE(c.pattern);
    CAPTURE(c.text);
    IgnoreMatcher m = pm({c.pattern});
    CHECK(m.matches(c.text) == c.pass);
    CHECK(walk_matches(m, c.text) == c.pass);
    IgnoreMatcher::MatchState none, out;
    CHECK(m.matches(c.text, none, &out) == c.pass);  // no parent state: parents checked from scratch
  }
}

TEST_CASE("ignore: several patterns, the last match wins") {
  struct Case {
    V patterns;
    std::string text;
    bool pass;
  };
  std::vector<Case> cases = {
      {{"*"}, "fileutils.go", true},
      {{"*.go"}, "fileutils.go", true},
      {{"!fileutils.go", "*.go"}, "fileutils.go", true},
      {{"docs", "!docs/README.md"}, "docs/README.md", false},
      {{"docs/", "!docs/README.md"}, "docs/README.md", false},
      {{"docs/*", "!docs/README.md"}, "docs/README.md", false},
      {{"*.go", "!fileutils.go"}, "fileutils.go", false},
      {{"*.go"}, ".", false},
      {{}, "/any/path/there", false},
      {{"**", "!util/docker/web"}, "util/docker/web/foo", false},
      {{"**", "!util/docker/web", "util/docker/web/foo"}, "util/docker/web/foo", true},
      {{"**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"},
       "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false},
      {{"**", "!dist/*.whl"}, "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false},
      {{"docs"}, "docs/a/b/c", true},
      {{"a*"}, "ab/c", true},  // the parent "ab" matches
      {{"node_modules", "**/*.log", "!keep.log"}, "keep.log", false},
      {{"node_modules", "**/*.log", "!keep.log"}, "x/y.log", true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    IgnoreMatcher m = pm(c.patterns);
    CHECK(m.matches(c.text) == c.pass);
    if (c.text != ".") CHECK(walk_matches(m, c.text) == c.pass);
  }
}

TEST_CASE("ignore: filepath.Match cases through the matcher (matchTests)") {
  struct Case {
    std::string pattern, s;
    bool match;
    bool bad;
  };
  std::vector<Case> cases = {
      {"abc", "abc", true, false},           {"*", "abc", true, false},
      {"*c", "abc", true, false},            {"a*", "a", true, false},
      {"a*", "abc", true, false},            {"a*", "ab/c", true, false},
      {"a*/b", "abc/b", true, false},        {"a*/b", "a/c/b", false, false},
      {"a*b*c*d*e*/f", "axbxcxdxe/f", true, false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false},
      {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false},
      {"a*b?c*x", "abxbbxdbxebxczzx", true, false},
      {"a*b?c*x", "abxbbxdbxebxczzy", false, false},
      {"ab[c]", "abc", true, false},         {"ab[b-d]", "abc", true, false},
      {"ab[e-g]", "abc", false, false},      {"ab[^c]", "abc", false, false},
      {"ab[^b-d]", "abc", false, false},     {"ab[^e-g]", "abc", true, false},
      {"a\\*b", "a*b", true, false},         {"a\\*b", "ab", false, false},
      {"a?b", "a\xE2\x98\xBA" "b", true, false},
      {"a[^a]b", "a\xE2\x98\xBA" "b", true, false},
      {"a???b", "a\xE2\x98\xBA" "b", false, false},
      {"a[^a][^a][^a]b", "a\xE2\x98\xBA" "b", false, false},
      {"[a-\xCE\xB6]*", "\xCE\xB1", true, false},
      {"*[a-\xCE\xB6]", "A", false, false},
      {"a?b", "a/b", false, false},          {"a*b", "a/b", false, false},
      {"[\\]a]", "]", true, false},          {"[\\-]", "-", true, false},
      {"[x\\-]", "x", true, false},          {"[x\\-]", "-", true, false},
      {"[x\\-]", "z", false, false},         {"[\\-x]", "x", true, false},
      {"[\\-x]", "-", true, false},          {"[\\-x]", "a", false, false},
      {"[]a]", "]", false, true},            {"[-]", "-", false, true},
      {"[x-]", "x", false, true},            {"[-x]", "x", false, true},
      {"\\", "a", false, true},              {"[a-b-c]", "a", false, true},
      {"[", "a", false, true},               {"[^", "a", false, true},
      {"[^bc", "a", false, true},            {"a[", "a", false, true},
      {"a[", "ab", false, true},             {"*x", "xxx", true, false},
      {"[Local-Only]/", "x", false, true},   // an inverted range: regexp rejects it
  };
  for (const Case& c : cases) {
    CAPTURE(c.pattern);
    CAPTURE(c.s);
    auto m = IgnoreMatcher::from_patterns({c.pattern});
    if (c.bad) {
      REQUIRE_FALSE(m.has_value());
      CHECK(m.error().code() == Errc::kInvalidArgument);
      continue;
    }
    REQUIRE(m.has_value());
    CHECK(m->matches(c.s) == c.match);
  }
}

TEST_CASE("ignore: parsing a file") {
  auto m = IgnoreMatcher::parse("# comment\n*.tmp\n\n!important.tmp\n/build/\n");
  REQUIRE(m.has_value());
  CHECK(m->patterns() == V{"*.tmp", "!important.tmp", "build"});
  CHECK(m->has_exclusions());
  CHECK(m->matches("a.tmp"));
  CHECK_FALSE(m->matches("important.tmp"));
  CHECK(m->matches("build/out/x.o"));
  CHECK(m->matches("/build"));
  CHECK_FALSE(m->matches("src/a.tmp"));  // "*" does not cross '/'
  CHECK_FALSE(m->matches("."));
  CHECK_FALSE(IgnoreMatcher().matches("x"));
  CHECK(IgnoreMatcher().empty());
  auto bad = IgnoreMatcher::parse("ok\n\n!\n");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message() == ".dockerignore:3: illegal exclusion pattern \"!\"");
  auto bad2 = IgnoreMatcher::parse("a[\n", "ctx/.dockerignore");
  REQUIRE_FALSE(bad2.has_value());
  CHECK(bad2.error().message() == "ctx/.dockerignore:1: bad pattern 'a['");
  CHECK_FALSE(IgnoreMatcher::from_patterns({"  !  "}).has_value());
  CHECK(IgnoreMatcher::from_patterns({"", "  "})->empty());
}

TEST_CASE("ignore: may_reinclude_under tells the walker whether to descend") {
  auto m = pm({"*", "!src/keep", "!docs/*.md", "!**/LICENSE", "!vendor/**"});
  CHECK(m.matches("src"));
  CHECK(m.may_reinclude_under("src"));        // src/keep
  CHECK(m.may_reinclude_under("docs"));       // docs/a.md
  CHECK(m.may_reinclude_under("vendor"));     // vendor/...
  CHECK(m.may_reinclude_under("anything"));   // **/LICENSE can be anywhere
  auto plain = pm({"*", "!src/keep"});
  CHECK_FALSE(plain.may_reinclude_under("lib"));
  CHECK(plain.may_reinclude_under("src"));
  CHECK_FALSE(plain.may_reinclude_under("srcx"));
  CHECK_FALSE(plain.may_reinclude_under("src/keep"));  // exactly the exception, nothing below
  auto glob = pm({"a", "!a/*/x"});
  CHECK(glob.may_reinclude_under("a"));
  CHECK(glob.may_reinclude_under("a/b"));
  CHECK_FALSE(glob.may_reinclude_under("a/b/x"));
  CHECK_FALSE(glob.may_reinclude_under("b"));
  auto prefix = pm({"*", "!out**"});
  CHECK(prefix.may_reinclude_under("output"));
  CHECK(prefix.may_reinclude_under("out"));
  CHECK_FALSE(prefix.may_reinclude_under("in"));
  CHECK_FALSE(pm({"*"}).may_reinclude_under("src"));  // no exceptions at all
  // Whatever it answers for a directory, what is below it is what matches() says.
  CHECK_FALSE(m.matches("src/keep"));
  CHECK_FALSE(m.matches("docs/a.md"));
  CHECK(m.matches("docs/a.txt"));
  CHECK_FALSE(m.matches("x/y/LICENSE"));
}
