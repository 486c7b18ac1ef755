// filepath.Match semantics (Go's path/filepath match_test.go cases) and path cleaning.
#include "dockerfile/glob.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace hoist;
using namespace hoist::dockerfile;

TEST_CASE("glob: Go's filepath.Match table") {
  struct Case {
    std::string pattern, s;
    bool match;
    bool bad;
  };
  std::vector<Case> cases = {
      {"abc", "abc", true, false},
      {"*", "abc", true, false},
      {"*c", "abc", true, false},
      {"a*", "a", true, false},
      {"a*", "abc", true, false},
      {"a*", "ab/c", false, false},  // unlike .dockerignore, no parent matching
      {"a*/b", "abc/b", true, false},
      {"a*/b", "a/c/b", false, false},
      {"a*b*c*d*e*/f", "axbxcxdxe/f", true, false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false},
      {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false},
      {"a*b?c*x", "abxbbxdbxebxczzx", true, false},
      {"a*b?c*x", "abxbbxdbxebxczzy", false, false},
      {"ab[c]", "abc", true, false},
      {"ab[b-d]", "abc", true, false},
      {"ab[e-g]", "abc", false, false},
      {"ab[^c]", "abc", false, false},
      {"ab[^b-d]", "abc", false, false},
      {"ab[^e-g]", "abc", true, false},
      {"ab[!e-g]", "abc", true, false},  // hoist: '!' negates too
      {"ab[!c]", "abc", false, false},
      {"a\\*b", "a*b", true, false},
      {"a\\*b", "ab", false, false},
      {"a?b", "a\xE2\x98\xBA" "b", true, false},
      {"a[^a]b", "a\xE2\x98\xBA" "b", true, false},
      {"a???b", "a\xE2\x98\xBA" "b", false, false},
      {"a[^a][^a][^a]b", "a\xE2\x98\xBA" "b", false, false},
      {"[a-\xCE\xB6]*", "\xCE\xB1", true, false},
      {"*[a-\xCE\xB6]", "A", false, false},
      {"a?b", "a/b", false, false},
      {"a*b", "a/b", false, false},
      {"[\\]a]", "]", true, false},
      {"[\\-]", "-", true, false},
      {"[x\\-]", "x", true, false},
      {"[x\\-]", "-", true, false},
      {"[x\\-]", "z", false, false},
      {"[\\-x]", "x", true, false},
      {"[\\-x]", "-", true, false},
      {"[\\-x]", "a", false, false},
      {"[]a]", "]", false, true},
      {"[-]", "-", false, true},
      {"[x-]", "x", false, true},
      {"[x-]", "-", false, true},
      {"[x-]", "z", false, true},
      {"[-x]", "x", false, true},
      {"[-x]", "-", false, true},
      {"[-x]", "a", false, true},
      {"\\", "a", false, true},
      {"[a-b-c]", "a", false, true},
      {"[", "a", false, true},
      {"[^", "a", false, true},
      {"[^bc", "a", false, true},
      {"a[", "a", false, true},
      {"a[", "ab", false, true},
      {"a[", "x", false, true},
      {"a/b[", "x", false, true},
      {"*x", "xxx", true, false},
      {"[z-a]", "m", false, false},  // an inverted range matches nothing, as in Go
      {"", "", true, false},
      {"", "a", false, false},
      {"**", "a/b", false, false},
      {"*/*", "a/b", true, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.pattern);
    CAPTURE(c.s);
    auto r = glob_match(c.pattern, c.s);
    if (c.bad) {
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().message() == "bad glob pattern '" + c.pattern + "'");
      continue;
    }
    REQUIRE(r.has_value());
    CHECK(*r == c.match);
  }
}

TEST_CASE("glob: compiled once, matched many times; hostile patterns stay fast") {
  auto g = Glob::compile("*.go");
  REQUIRE(g.has_value());
  CHECK(g->pattern() == "*.go");
  CHECK(g->matches("main.go"));
  CHECK_FALSE(g->matches("main.c"));
  CHECK_FALSE(g->matches("cmd/main.go"));
  // Exponential for a backtracking matcher; linear-ish here.
  auto evil = Glob::compile("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
  REQUIRE(evil.has_value());
  CHECK_FALSE(evil->matches(std::string(5000, 'a')));
}

TEST_CASE("glob: has_glob_meta") {
  CHECK(has_glob_meta("*.txt"));
  CHECK(has_glob_meta("a?"));
  CHECK(has_glob_meta("[ab]"));
  CHECK_FALSE(has_glob_meta("plain/file.txt"));
  CHECK_FALSE(has_glob_meta("escaped\\*star"));
}

TEST_CASE("glob: clean_path (Go's path.Clean)") {
  struct Case {
    std::string in, out;
  };
  std::vector<Case> cases = {
      {"", "."},           {"abc", "abc"},         {"abc/def", "abc/def"}, {"a/b/c", "a/b/c"},
      {".", "."},          {"..", ".."},           {"../..", "../.."},     {"../../abc", "../../abc"},
      {"/abc", "/abc"},    {"/", "/"},             {"abc/", "abc"},        {"abc/def/", "abc/def"},
      {"//abc", "/abc"},   {"///abc", "/abc"},     {"abc//def//ghi", "abc/def/ghi"},
      {"abc/./def", "abc/def"}, {"/./abc/def", "/abc/def"}, {"abc/.", "abc"},
      {"abc/def/ghi/../jkl", "abc/def/jkl"}, {"abc/def/../ghi/../jkl", "abc/jkl"},
      {"abc/def/..", "abc"}, {"abc/def/../..", "."}, {"/abc/def/../..", "/"},
      {"abc/def/../../..", ".."}, {"/abc/def/../../..", "/"}, {"abc/def/../../../ghi/jkl/../../../mno", "../../mno"},
      {"abc/./../def", "def"}, {"abc//./../def", "def"}, {"abc/../../././../def", "../../def"},
      {"./a//b/../c/", "a/c"}, {"/../x", "/x"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    CHECK(clean_path(c.in) == c.out);
  }
}
