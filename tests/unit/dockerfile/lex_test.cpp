// The shell lexer against BuildKit's shell/envVarTest, shell/wordsTest and lex_test.go.
#include "dockerfile/lex.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "test_data.h"
#include "util/strings.h"

using namespace hoist;
using namespace hoist::dockerfile;
using hoist::dockerfile::testing::data_dir;
using hoist::dockerfile::testing::read_file;

namespace {

Lookup from_map(const std::map<std::string, std::string>& m) {
  return [m](std::string_view k) -> std::optional<std::string> {
    auto it = m.find(std::string(k));
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

std::string word(std::string_view text, const Lookup& env, LexOptions o = {}) {
  auto r = process_word(text, env, o);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  return *r;
}

std::string word_error(std::string_view text, const Lookup& env, LexOptions o = {}) {
  auto r = process_word(text, env, o);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Errc::kInvalidArgument);
  return r.error().message();
}

}  // namespace

TEST_CASE("lex: BuildKit's envVarTest table") {
  Env env{{"PWD", "/home"}, {"SHELL", "bash"}, {"KOREAN", "한국어"}, {"NULL", ""}};
  int checked = 0;
  const std::string table = read_file(data_dir() / "lex" / "envVarTest");
  for (std::string_view line : split(table, '\n')) {
    if (line.starts_with('#') || trim(line).empty()) continue;
    auto parts = split(line, '|');
    REQUIRE(parts.size() == 3);
    std::string_view platform = trim(parts[0]);
    if (platform == "W") continue;  // Windows-only ($pwd == $PWD there)
    std::string source(trim(parts[1]));
    std::string expected(trim(parts[2]));
    CAPTURE(source);
    auto r = process_word(source, env.lookup());
    if (expected == "error") {
      CHECK_FALSE(r.has_value());
    } else {
      REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
      CHECK(*r == expected);
    }
    ++checked;
  }
  CHECK(checked >= 220);
}

TEST_CASE("lex: BuildKit's wordsTest table") {
  Env env;
  int checked = 0;
  const std::string table = read_file(data_dir() / "lex" / "wordsTest");
  for (std::string_view line : split(table, '\n')) {
    if (line.starts_with('#') || line.empty()) continue;
    if (line.starts_with("ENV ")) {
      std::string_view kv = line.substr(3);
      while (kv.starts_with(' ')) kv.remove_prefix(1);
      size_t eq = kv.find('=');
      env.set(kv.substr(0, eq), std::string(kv.substr(eq + 1)));
      continue;
    }
    auto parts = split(line, '|');
    REQUIRE(parts.size() == 2);
    std::string test(trim(parts[0]));
    std::string_view exp = parts[1];
    while (exp.starts_with(' ')) exp.remove_prefix(1);
    std::vector<std::string> expected;
    for (auto w : split(exp, ',')) expected.emplace_back(w);
    CAPTURE(test);
    auto r = process_words(test, env.lookup());
    std::vector<std::string> got = r ? *r : std::vector<std::string>{"error"};
    CHECK(got == expected);
    ++checked;
  }
  CHECK(checked > 20);
}

TEST_CASE("lex: ${V?m} and ${V:?m} (TestShellParserMandatoryEnvVars)") {
  Env set{{"VAR", "plain"}, {"ARG", "x"}};
  Env empty{{"VAR", ""}, {"ARG", "x"}};
  Env unset{{"ARG", "x"}};
  const std::string no_empty = "${VAR:?message here$ARG}";
  const std::string no_unset = "${VAR?message here$ARG}";
  CHECK(word(no_empty, set.lookup()) == "plain");
  CHECK(word_error(no_empty, empty.lookup()).find("VAR: message herex") != std::string::npos);
  CHECK(word_error(no_empty, unset.lookup()).find("VAR: message herex") != std::string::npos);
  CHECK(word(no_unset, set.lookup()) == "plain");
  CHECK(word(no_unset, empty.lookup()).empty());
  CHECK(word_error(no_unset, unset.lookup()).find("message herex") != std::string::npos);
  CHECK(word_error("${VAR?}", unset.lookup()).ends_with("VAR: is not allowed to be unset"));
  CHECK(word_error("${VAR:?}", empty.lookup()).ends_with("VAR: is not allowed to be empty"));
}

TEST_CASE("lex: matched and unmatched names (TestProcessWithMatches)") {
  struct Case {
    std::string input;
    std::map<std::string, std::string> env;
    std::string expected;  // "ERROR" for an error
    std::set<std::string> matched, unmatched;
  };
  const std::map<std::string, std::string> fb = {{"FOO", "xxx"}, {"BAR", ""}};
  std::vector<Case> cases = {
      {"x", {{"DUMMY", "dummy"}}, "x", {}, {}},
      {"x ${UNUSED}", {{"DUMMY", "dummy"}}, "x ", {}, {"UNUSED"}},
      {"x ${FOO}", {{"FOO", "y"}}, "x y", {"FOO"}, {}},
      {"${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", fb, "xxx  ccc", {"FOO", "BAR"}, {"BAZ"}},
      {"${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", fb, "xxx bbb ccc", {"FOO", "BAR"}, {"BAZ"}},
      {"${FOO:-}", fb, "xxx", {"FOO"}, {}},
      {"${FOO:-}", {}, "", {}, {"FOO"}},
      {"${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", fb, "aaa bbb ", {"FOO", "BAR"}, {"BAZ"}},
      {"${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", fb, "aaa  ", {"FOO", "BAR"}, {"BAZ"}},
      {"${FOO?aaa}", fb, "xxx", {"FOO"}, {}},
      {"${BAR?bbb}", fb, "", {"BAR"}, {}},
      {"${BAZ?ccc}", fb, "ERROR", {}, {}},
      {"${FOO:?aaa}", fb, "xxx", {"FOO"}, {}},
      {"${BAR:?bbb}", fb, "ERROR", {}, {}},
      {"${BAZ:?ccc}", fb, "ERROR", {}, {}},
      {"${BAZ:?}", fb, "ERROR", {}, {}},
      {"${FOO=aaa}", fb, "ERROR", {}, {}},
      {"${FOO=:aaa}", fb, "ERROR", {}, {}},
      {"${FOO=}", {}, "ERROR", {}, {}},
      {"${FOO#()[]{\\}^$.\\*\\?|\\\\}", {{"FOO", "()[]{}^$.*?|\\x"}}, "x", {"FOO"}, {}},
      {"${FOO%%\\**}", {{"FOO", "xx**"}}, "xx", {"FOO"}, {}},
      {"${FOO#*x*y}", {{"FOO", "xxyy"}}, "y", {"FOO"}, {}},
      {"${FOO#*}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
      {"${FOO#$BAR}", {{"FOO", "xxyy"}, {"BAR", "x"}}, "xyy", {"FOO", "BAR"}, {}},
      {"${FOO#$BAR}", {{"FOO", "xxyy"}, {"BAR", ""}}, "xxyy", {"FOO", "BAR"}, {}},
      {"${FOO#}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
      {"${FOO##*x}", {{"FOO", "xxyy"}}, "yy", {"FOO"}, {}},
      {"${FOO##}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
      {"${FOO#?\\?}", {{"FOO", "???y"}}, "?y", {"FOO"}, {}},
      {"${ABC:-.}${FOO%x}${ABC:-.}", {{"FOO", "xxyy"}}, ".xxyy.", {"FOO"}, {"ABC"}},
      {"${FOO%%\\**\\*}", {{"FOO", "a***yy*"}}, "a", {"FOO"}, {}},
      {"${FOO%}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
      {"${FOO%%$BAR}", {{"FOO", "xxyy"}, {"BAR", ""}}, "xxyy", {"FOO", "BAR"}, {}},
      {"${FOO:#}", {}, "ERROR", {}, {}},
      {"${FOO:##}", {}, "ERROR", {}, {}},
      {"${FOO:%}", {}, "ERROR", {}, {}},
      {"${FOO:%%}", {}, "ERROR", {}, {}},
      {"${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", {{"FOO", "/foo*/*/*.txt"}, {"NEEDLE", "\\*/"}},
       "/foo.*/*.txt - /foo..*.txt", {"FOO", "NEEDLE"}, {}},
      {"${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}", {{"FOO", "/tmp/tmp/bar.txt"}, {"NEEDLE", "/tmp"}},
       "/tmp/bar.txt - /bar.txt", {"FOO", "NEEDLE"}, {}},
      {"${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
       {{"FOO", "/a/foo/b/c.txt"}, {"NEEDLE", "/?/"}, {"REPLACEMENT", "/"}},
       "/foo/b/c.txt - /foo/c.txt", {"FOO", "NEEDLE", "REPLACEMENT"}, {}},
      {"${FOO/$NEEDLE/$REPLACEMENT}", {{"FOO", "http://google.de"}, {"NEEDLE", "http://"}, {"REPLACEMENT", "https://"}},
       "https://google.de", {"FOO", "NEEDLE", "REPLACEMENT"}, {}},
      {"${FOO//\\//\\/}", {{"FOO", "/tmp/foo.txt"}}, "\\/tmp\\/foo.txt", {"FOO"}, {}},
      {"${FOO/$BAR/ww}", {{"FOO", "xxyy"}, {"BAR", ""}}, "wwxxyy", {"FOO", "BAR"}, {}},
      {"${FOO//ww}", {{"FOO", "xxyy"}}, "ERROR", {}, {}},
      {"${FOO//}", {{"FOO", "xxyy"}}, "ERROR", {}, {}},
      {"${FOO///}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
      {"${FOO///}", {}, "", {}, {"FOO"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.input);
    auto r = process(c.input, from_map(c.env));
    if (c.expected == "ERROR") {
      CHECK_FALSE(r.has_value());
      continue;
    }
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
    CHECK(r->word == c.expected);
    CHECK(r->matched == c.matched);
    CHECK(r->unmatched == c.unmatched);
  }
}

TEST_CASE("lex: BuildKit's release-name pattern (TestProcessWithMatchesPlatform)") {
  const std::string release =
      "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz";
  CHECK(word(release, from_map({{"VERSION", "v1.2.3"}, {"TARGETOS", "linux"}, {"TARGETARCH", "arm"},
                                {"TARGETVARIANT", "v7"}})) == "something-v1.2.3.linux-arm-v7.tar.gz");
  CHECK(word(release, from_map({{"VERSION", "v1.2.3"}, {"TARGETOS", "linux"}, {"TARGETARCH", "arm64"},
                                {"TARGETVARIANT", ""}})) == "something-v1.2.3.linux-arm64.tar.gz");
  CHECK(word(release, from_map({{"VERSION", "v1.2.3"}, {"TARGETOS", "linux"}, {"TARGETARCH", "arm64"}})) ==
        "something-v1.2.3.linux-arm64.tar.gz");
}

TEST_CASE("lex: pattern operators follow the shell") {
  auto env = from_map({{"P", "/usr/local/lib/libfoo.so.1"}, {"U", "ünï/cödé"}, {"M", "a\nb"}});
  CHECK(word("${P#*/}", env) == "usr/local/lib/libfoo.so.1");
  CHECK(word("${P##*/}", env) == "libfoo.so.1");
  CHECK(word("${P%.*}", env) == "/usr/local/lib/libfoo.so");
  CHECK(word("${P%%.*}", env) == "/usr/local/lib/libfoo");
  CHECK(word("${P%/*}", env) == "/usr/local/lib");
  CHECK(word("${P/lib/LIB}", env) == "/usr/local/LIB/libfoo.so.1");
  CHECK(word("${P//lib/LIB}", env) == "/usr/local/LIB/LIBfoo.so.1");
  CHECK(word("${P/l*b/X}", env) == "/usr/Xfoo.so.1");  // longest match at the leftmost start
  CHECK(word("${P//[a-z]/X}", env) == "/usr/local/lib/libfoo.so.1");  // '[' is literal
  CHECK(word("${U#?}", env) == "nï/cödé");  // '?' is one code point, not one byte
  CHECK(word("${U%?}", env) == "ünï/cöd");
  CHECK(word("${M#*b}", env).empty());  // '*' crosses newlines, as in sh
  CHECK(word("${NONE#x}", env).empty());
  CHECK(word("${NONE/x/y}", env).empty());
  CHECK(word("${P//o/}", env) == "/usr/lcal/lib/libf.s.1");
  CHECK(word_error("${P#\\x}", env).find("invalid escape") != std::string::npos);
  CHECK(word_error("${P/a", env).find("missing '/'") != std::string::npos);
}

TEST_CASE("lex: quoting, escapes and unset versus empty") {
  auto env = from_map({{"E", ""}, {"S", "a b"}, {"Q", "it's"}});
  CHECK(word("${E-unset}", env).empty());
  CHECK(word("${E:-empty}", env) == "empty");
  CHECK(word("${N-unset}", env) == "unset");
  CHECK(word("${E+set}", env) == "set");
  CHECK(word("${E:+set}", env).empty());
  CHECK(word("'$S' \"$S\" $S", env) == "$S a b a b");
  CHECK(word("\"a\\\"b\\$S\\\\c\\d\"", env) == "a\"b$S\\c\\d");
  CHECK(word("a\\ b\\'c", env) == "a b'c");
  CHECK(word("$Q", env) == "it's");  // values are not re-lexed
  CHECK(word("${S:-'x y'}", env) == "a b");
  CHECK(word("${N:-'x  y'}", env) == "x  y");
  CHECK(word("${N:-\"$S\"}", env) == "a b");
  CHECK(word("$", env) == "$");
  CHECK(word("a$", env) == "a$");
  CHECK(word("${E}${E}", env).empty());
  CHECK(word_error("${S", env).ends_with("syntax error: missing '}'"));
  CHECK(word_error("${}", env).ends_with("syntax error: bad substitution"));
  CHECK(word_error("'abc", env).find("single-quote") != std::string::npos);
  CHECK(word_error("\"abc", env).find("double-quote") != std::string::npos);
  CHECK(word_error("${S:=x}", env).find("unsupported modifier (:=)") != std::string::npos);
  CHECK(word_error("${S", env).starts_with("failed to process \"${S\": "));
}

TEST_CASE("lex: nesting is bounded") {
  std::string ok_text, deep;
  for (int i = 0; i < 60; ++i) ok_text += "${A:-";
  ok_text += "x" + std::string(60, '}');
  CHECK(word(ok_text, empty_lookup()) == "x");
  for (int i = 0; i < 100000; ++i) deep += "${A:-";
  CHECK(word_error(deep, empty_lookup()).find("nested too deeply") != std::string::npos);
}

TEST_CASE("lex: the backtick escape") {
  LexOptions o;
  o.escape = '`';
  auto env = from_map({{"V", "v"}});
  CHECK(word("C:\\dir\\$V", env, o) == "C:\\dir\\v");
  CHECK(word("a`$V", env, o) == "a$V");
  CHECK(word("\"x`\"y\"", env, o) == "x\"y");
  CHECK(word("\"a\\\"", env, o) == "a\\");  // '\' escapes nothing here
  CHECK(word("a` b", env, o) == "a b");
}

TEST_CASE("lex: words split after expansion") {
  auto env = from_map({{"PORTS", "80/tcp  443"}, {"E", ""}});
  auto w = [&](std::string_view t) {
    auto r = process_words(t, env);
    REQUIRE(r.has_value());
    return *r;
  };
  CHECK(w("$PORTS 8080") == std::vector<std::string>{"80/tcp", "443", "8080"});
  CHECK(w("\"$PORTS\"") == std::vector<std::string>{"80/tcp  443"});
  CHECK(w("a \"\" $E b") == std::vector<std::string>{"a", "b"});
  CHECK(w("a${N:-b}c") == std::vector<std::string>{"abc"});  // lex.go loses the "a"
  CHECK(w("  lead   trail  ") == std::vector<std::string>{"lead", "trail"});
}

TEST_CASE("lex: raw modes (what heredoc detection and display use)") {
  LexOptions o;
  o.raw_quotes = true;
  o.skip_unset = true;
  auto env = from_map({{"A", "1"}});
  CHECK(word("'x' \"$A\" $B ${B} ${B:-d} ${B/x/y} ${B//x/y}", env, o) ==
        "'x' \"1\" $B ${B} ${B:-d} ${B/x/y} ${B//x/y}");
  o.raw_escapes = true;
  CHECK(word("a\\ b", env, o) == "a\\ b");
  LexOptions heredoc;
  heredoc.skip_process_quotes = true;
  CHECK(word("'$A' \"$A\" \\$A", env, heredoc) == "'1' \"1\" $A");
}

TEST_CASE("lex: referenced names for cache keys") {
  std::set<std::string> used;
  auto env = from_map({{"A", "1"}});
  auto r = process_word("$A ${B:-$C} '$D' \\$E", env, {}, &used);
  REQUIRE(r.has_value());
  CHECK(*r == "1  $D $E");
  CHECK(used == std::set<std::string>{"A", "B", "C"});
}

TEST_CASE("lex: Env keeps order and replaces in place") {
  Env e;
  e.set("B", "1");
  e.set("A", "2");
  e.set("B", "3");
  CHECK(e.to_list() == std::vector<std::string>{"B=3", "A=2"});
  CHECK(e.get("B") == std::optional<std::string>("3"));
  CHECK_FALSE(e.get("C").has_value());
  e.erase("B");
  CHECK(e.to_list() == std::vector<std::string>{"A=2"});
  CHECK_FALSE(empty_lookup()("A").has_value());
}
