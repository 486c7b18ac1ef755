// The syntax tree: directives, continuations, JSON forms, flags, heredocs, errors.
// Expected values from BuildKit's parser tests (parser_test.go, directives_test.go,
// parser_heredoc_test.go, json_test.go) unless noted.
#include "dockerfile/parser.h"
#include "test_data.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace hoist;
using namespace hoist::dockerfile;
using namespace hoist::dockerfile::testing;
using V = std::vector<std::string>;

namespace {

Ast ok(std::string_view text) {
  auto r = parse(text);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  return *r;
}

// The one instruction after "FROM scratch".
Node one(std::string_view instruction) {
  Ast a = ok("FROM scratch\n" + std::string(instruction));
  REQUIRE(a.children.size() == 2);
  return a.children[1];
}

}  // namespace

TEST_CASE("parser: directives at the top, in any order, case-insensitive") {
  Ast a = ok("# Syntax = docker/dockerfile:1.7 // opts\n#check=skip=all;error=true\n# ESCAPE = `\nFROM a\n");
  REQUIRE(a.directives.size() == 3);
  CHECK(a.directives[0].name == "syntax");
  CHECK(a.directives[0].value == "docker/dockerfile:1.7 // opts");
  CHECK(a.directives[0].line == 1);
  CHECK(a.directive("check")->value == "skip=all;error=true");
  CHECK(a.escape == '`');
  CHECK(a.directive("escape")->line == 3);
  CHECK(a.directive("nope") == nullptr);
  CHECK(a.children[0].comments.empty());  // directives are not comments
}

TEST_CASE("parser: directives end at the first other line") {
  // directives_test.go: an unknown key ends them, as does a blank line.
  CHECK(ok("#escape=`\n# key = FOO bar\n# escape=\\\nFROM a\n").escape == '`');
  CHECK(ok("# key = x\n# escape=`\nFROM a\nRUN x `\n").children[1].args == V{"x `"});  // escape still '\'
  CHECK(ok("\n# escape=`\nFROM a\n").directives.empty());
  CHECK(ok("# comment\n# escape=`\nFROM a\n").escape == '\\');
  CHECK(ok("FROM a\n# escape=`\nRUN x\n").directives.empty());
  // A directive with no value is a comment, ending them.
  CHECK(ok("# escape=\n# syntax=x\nFROM a\n").directives.empty());
  CHECK(ok("  # escape=`\nFROM a\n").escape == '`');  // leading whitespace is fine
}

TEST_CASE("parser: repeated or invalid directives") {
  CHECK(parse_error("# syntax=a\n# SYNTAX=b\nFROM a\n") == "Dockerfile:2:1: only one syntax parser directive can be used");
  CHECK(parse_error("# escape=ab\nFROM a\n").starts_with("Dockerfile:1:1: invalid escape token 'ab'"));
}

TEST_CASE("parser: a BOM and CRLF line endings") {
  Ast a = ok("\xEF\xBB\xBF# escape=`\r\nFROM a\r\nRUN echo `\r\n  hi\r\n");
  CHECK(a.escape == '`');
  CHECK(a.children[1].args == V{"echo   hi"});
}

TEST_CASE("parser: the backtick escape everywhere") {
  Ast a = ok("# escape=`\nFROM a\nENV P=C:\\x `\n  Q=\"a`\"b\" R=c`$d\nLABEL k=`\"v\nCOPY x c:\\\nRUN --mount=target=a`,b dir\n");
  CHECK(a.children[1].args == V{"P", "C:\\x", "=", "Q", "\"a`\"b\"", "=", "R", "c`$d", "="});
  CHECK(a.children[2].args == V{"k", "`\"v", "="});
  CHECK(a.children[3].args == V{"x", "c:\\"});  // a trailing '\' does not continue
  CHECK(a.children[4].flags == V{"--mount=target=a,b"});
}

TEST_CASE("parser: continuations") {
  Ast a = ok(
      "FROM a\n"
      "RUN one \\\n"
      "# a comment inside\n"
      "\n"
      "  # an indented comment\n"
      "    two \\   \t\n"     // blanks after the escape still continue
      "three\n"
      "RUN a\\\\\n"            // an escaped escape does not continue
      "RUN b\n"
      "# not inside \\\n"
      "RUN c\n");
  REQUIRE(a.children.size() == 5);
  CHECK(a.children[1].args == V{"one     two three"});
  CHECK(a.children[1].start_line == 2);
  CHECK(a.children[1].end_line == 7);
  CHECK(a.children[2].args == V{"a\\\\"});
  CHECK(a.children[3].args == V{"b"});
  CHECK(a.children[4].args == V{"c"});
  REQUIRE(a.warnings.size() == 1);
  CHECK(a.warnings[0].message == "empty continuation line found in: RUN one     two three");
  // BuildKit's continue-at-eof: the last instruction may end in a continuation...
  CHECK(ok("FROM a\nRUN x \\").children[1].args == V{"x"});
  // ...but not one with nothing after the keyword.
  CHECK(parse_error("FROM a\nRUN \\\n\n") == "Dockerfile:2:1: unexpected end of file after line continuation");
  CHECK(parse_error("FROM a\n\\") == "Dockerfile:2:1: unexpected end of file after line continuation");
}

TEST_CASE("parser: keywords are case-insensitive and kept as written") {
  Ast a = ok("from a AS b\nrUn x\n");
  CHECK(a.children[0].command == "from");
  CHECK(a.children[1].command == "rUn");
  CHECK(a.children[1].keyword == "run");
  CHECK(a.children[1].original == "rUn x");
}

TEST_CASE("parser: JSON forms") {
  Node n = one("CMD [\"abc 123\", \"\\u0041\\u00e9\", \"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000\"]");
  CHECK(n.json);
  CHECK(n.args == V{"abc 123", "A\xC3\xA9", std::string("\" \\ / \b \f \n \r \t \0", 17)});
  CHECK(one("RUN [\"a\",\"b\"]").args == V{"a", "b"});
  CHECK(one("RUN\t[\t\"a\",\t\"b\"\t]\t").args == V{"a", "b"});
  CHECK(one("CMD []").json);
  CHECK(one("CMD []").args.empty());
  CHECK(one("CMD [\"\"]").args == V{""});
  CHECK(one("ENTRYPOINT [\"\\ud83d\\ude00\"]").args == V{"\xF0\x9F\x98\x80"});  // a surrogate pair
  // Not JSON: the shell form.
  for (std::string s : {"[ \"a\", ]", "['a']", "[\"a\"", "[\"a\" \"b\"]", "[\"a\"] b", "[a]", "\"[\\\"a\\\"]\""}) {
    CAPTURE(s);
    Node m = one("CMD " + s);
    CHECK_FALSE(m.json);
    CHECK(m.args == V{s});
  }
  // Valid JSON that is not a string array: an error (shykes-nested-json).
  CHECK(parse_error("FROM a\nCMD [1]").ends_with("arrays must be comprised of strings only"));
  CHECK(parse_error("FROM a\nRUN [\"a\", null]").ends_with("arrays must be comprised of strings only"));
  // COPY/ADD/VOLUME: JSON, else split at whitespace (quotes are not words here).
  CHECK(one("COPY [\"a b\", \"/c\"]").args == V{"a b", "/c"});
  CHECK(one("COPY \"a b\" /c").args == V{"\"a", "b\"", "/c"});
  CHECK(one("VOLUME [ \"/x\" ]").args == V{"/x"});
  CHECK(one("VOLUME /x  /y").args == V{"/x", "/y"});
}

TEST_CASE("parser: ENV, LABEL and ARG words") {
  CHECK(one("ENV a b c  d").args == V{"a", "b c  d", ""});
  CHECK(one("ENV a=b c=\"d e\" f='g h' i=j\\ k").args ==
        V{"a", "b", "=", "c", "\"d e\"", "=", "f", "'g h'", "=", "i", "j\\ k", "="});
  CHECK(one("ENV a=").args == V{"a", "", "="});
  CHECK(one("LABEL \"com.x\"=\"y\"").args == V{"\"com.x\"", "\"y\"", "="});
  CHECK(one("ARG a b=c d=\"e f\"").args == V{"a", "b=c", "d=\"e f\""});
  CHECK(parse_error("FROM a\nENV x").ends_with("ENV must have two arguments"));
  CHECK(parse_error("FROM a\nLABEL a=b c").find("can't find = in \"c\"") != std::string::npos);
  CHECK(one("ENV").args.empty());
}

TEST_CASE("parser: flags") {
  Node n = one("COPY --from=a --chown=\"1 2\" --link -- --x /y");
  CHECK(n.flags == V{"--from=a", "--chown=1 2", "--link"});
  CHECK(n.args == V{"--x", "/y"});
  CHECK(one("RUN --mount=type=cache,target=/r\\ x --network=host make").flags ==
        V{"--mount=type=cache,target=/r x", "--network=host"});
  CHECK(one("RUN -x").args == V{"-x"});  // one dash is an argument
  CHECK(one("FROM --platform=linux/arm64 b").flags == V{"--platform=linux/arm64"});
  CHECK(one("HEALTHCHECK --retries=3 CMD true").flags == V{"--retries=3"});
  CHECK(parse_error("FROM a\nWORKDIR --x /y") == "Dockerfile:2:1: unknown flag: --x");
  CHECK(parse_error("FROM a\nADD --from=x a b") == "Dockerfile:2:1: unknown flag: --from");
  CHECK(parse_error("FROM a\nCOPY --chmod a b") == "Dockerfile:2:1: missing a value on flag: --chmod");
  CHECK(parse_error("FROM a\nCOPY --link= a b") == "Dockerfile:2:1: missing a value on flag: --link");
  CHECK(parse_error("FROM a\nCOPY --lnk a b") == "Dockerfile:2:1: unknown flag: --lnk (did you mean --link?)");
  CHECK(parse_error("FROM a\nONBUILD RUN --foo x") == "Dockerfile:2:1: unknown flag: --foo");
  CHECK(one("COPY --exclude=a --exclude=b x y").flags.size() == 2);  // multi-valued
}

TEST_CASE("parser: HEALTHCHECK and ONBUILD shapes") {
  Node h = one("HEALTHCHECK --interval=5s CMD [\"a\", \"b\"]");
  CHECK(h.args == V{"CMD", "a", "b"});
  CHECK(h.json);
  CHECK(one("HEALTHCHECK   CMD   a b").args == V{"CMD", "a b"});
  CHECK(one("HEALTHCHECK NONE").args == V{"NONE"});
  Node o = one("ONBUILD run --network=none echo hi");
  REQUIRE(o.sub.size() == 1);
  CHECK(o.sub[0].keyword == "run");
  CHECK(o.sub[0].flags == V{"--network=none"});
  CHECK(o.sub[0].args == V{"echo hi"});
  CHECK(o.sub[0].start_line == 2);
  CHECK(o.dump() == "onbuild (run [\"--network=none\"] \"echo hi\")");
  CHECK(one("ONBUILD").sub.empty());
  CHECK(one("ONBUILD ONBUILD RUN x").dump() == "onbuild (onbuild (run \"x\"))");  // an error only when typed
}

TEST_CASE("parser: hostile nesting is an error, not a stack overflow") {
  std::string chain = "FROM a\n";
  for (int i = 0; i < 100000; ++i) chain += "ONBUILD ";
  chain += "RUN x\n";
  CHECK(parse_error(chain) == "Dockerfile:2:1: ONBUILD nested too deeply");
  std::string json = "FROM a\nCMD " + std::string(200000, '[') + std::string(200000, ']') + "\n";
  CHECK(parse_error(json).ends_with("arrays must be comprised of strings only"));
}

TEST_CASE("parser: heredocs (TestParseExtractsHeredoc)") {
  struct Case {
    std::string instruction;
    std::vector<Heredoc> docs;
  };
  auto h = [](std::string name, std::string content, bool expand = true, bool chomp = false, unsigned fd = 0) {
    return Heredoc{std::move(name), std::move(content), expand, chomp, fd};
  };
  std::vector<Case> cases = {
      {"RUN ls", {}},
      {"USER <<INVALID", {}},
      {"RUN <<EMPTY\nEMPTY", {h("EMPTY", "")}},
      {"RUN 3<<EMPTY2\nEMPTY2", {h("EMPTY2", "", true, false, 3)}},
      {"RUN \"<<NOHEREDOC\"", {}},
      {"RUN <<INDENT\n\tfoo\n\tbar\nINDENT", {h("INDENT", "\tfoo\n\tbar\n")}},
      {"RUN <<-UNINDENT\n\tbaz\n\tquux\nUNINDENT", {h("UNINDENT", "\tbaz\n\tquux\n", true, true)}},
      {"RUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2", {h("UNINDENT2", "\tbaz\n\tquux\n", true, true)}},
      {"RUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND", {h("NOEXPAND", "\tdon't expand $NAME\n", false, true)}},
      {"RUN <<COMMENT\n# internal comment\necho hello # trailing\nCOMMENT",
       {h("COMMENT", "# internal comment\necho hello # trailing\n")}},
      {"RUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT", {h("MOUNT", "echo hello\n")}},
      {"COPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2",
       {h("FILE1", "content 1\n"), h("FILE2", "content 2\n")}},
      {"COPY <<EOF /quotes\n\"foo\"\n'bar'\nEOF", {h("EOF", "\"foo\"\n'bar'\n")}},
      {"COPY <<X <<Y /dest\nY\nX\nX\nY", {h("X", "Y\n"), h("Y", "X\n")}},
      {"RUN <<COMPLEX python3\nprint('hello world')\nCOMPLEX", {h("COMPLEX", "print('hello world')\n")}},
      {"COPY <<file.txt /dest\nhello world\nfile.txt", {h("file.txt", "hello world\n")}},
      {"RUN <<eo'f'\necho foo\neof", {h("eof", "echo foo\n", false)}},
      {"RUN <<eo\\'f\necho foo\neo'f", {h("eo'f", "echo foo\n")}},
      {"RUN <<'e'o\\'f\necho foo\neo'f", {h("eo'f", "echo foo\n", false)}},
      {"RUN <<'one two'\necho bar\none two", {h("one two", "echo bar\n", false)}},
      {"RUN <<$EOF\n$EOF", {h("$EOF", "")}},
      {"RUN <<  EOF\nEOF", {h("EOF", "")}},
      {"RUN <<  EOF  > foo\nEOF", {h("EOF", "")}},
      {"RUN <<\"EOF\"\n$X\nEOF", {h("EOF", "$X\n", false)}},
      {"ADD <<EOF /a\nx\nEOF", {h("EOF", "x\n")}},
      {"ONBUILD RUN <<EOF\nx\nEOF", {h("EOF", "x\n")}},
      {"RUN [\"<<EOF\"]", {}},            // TestParseJSONHeredoc
      {"RUN [\"<<'EOF'\"]", {}},
      {"RUN <<- EOF", {}},        // "<<-" and "EOF" are two words: no heredoc
  };
  for (const Case& c : cases) {
    CAPTURE(c.instruction);
    Ast a = ok("FROM alpine\n" + c.instruction + "\n");
    REQUIRE(a.children.size() >= 2);
    CHECK(a.children[1].heredocs == c.docs);
  }
  Ast a = ok("FROM a\nCOPY <<A <<B /d\n1\nA\n2\nB\nRUN x\n");
  CHECK(a.children[1].start_line == 2);
  CHECK(a.children[1].end_line == 6);
  CHECK(a.children[2].start_line == 7);
  CHECK(parse_error("FROM a\nRUN <<EOF\nx\n") == "Dockerfile:2:1: unterminated heredoc \"EOF\"");
  CHECK(ok("FROM a\nRUN <<EOF\r\nx\r\nEOF\r\n").children[1].heredocs[0].content == "x\r\n");
}

TEST_CASE("parser: parse_heredoc_word (TestParseHeredocHelpers)") {
  for (std::string w : {"<<EOF", "<<'EOF'", "<<\"EOF\"", "<<-EOF", "<<-'EOF'", "<<-\"EOF\"", "<<EO\"F\"", "<< EOF",
                        "<<- EOF"}) {
    CAPTURE(w);
    auto r = parse_heredoc_word(w);
    REQUIRE(r.has_value());
    REQUIRE(r->has_value());
    CHECK((*r)->name == "EOF");
  }
  for (std::string w : {"", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"}) {
    CAPTURE(w);
    auto r = parse_heredoc_word(w);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->has_value());
  }
  for (std::string w : {"<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""}) {
    CAPTURE(w);
    CHECK_FALSE(parse_heredoc_word(w).has_value());
  }
  CHECK((*parse_heredoc_word("<<-EOF"))->chomp);
  CHECK_FALSE((*parse_heredoc_word("<<'EOF'"))->expand);
  CHECK((*parse_heredoc_word("12<<EOF"))->fd == 12);
  CHECK(chomp_heredoc("\thello\n\t\tworld\n  x\t\n") == "hello\nworld\n  x\t\n");
}

TEST_CASE("parser: comments") {
  Ast a = ok("# one\n#\n# two\n\n# three\nFROM a\nRUN x # not a comment\n   # x\nRUN y\n");
  CHECK(a.children[0].comments == V{"two", "three"});  // "#" alone resets them
  CHECK(a.children[1].args == V{"x # not a comment"});
  CHECK(a.children[2].comments == V{"x"});
}

TEST_CASE("parser: structure errors") {
  CHECK(parse_error("") == "Dockerfile: file with no instructions");
  CHECK(parse_error("\n  \n# x\n") == "Dockerfile: file with no instructions");
  CHECK(parse_error("ARG a\nENV b=c\nFROM x").starts_with("Dockerfile:2:1: instruction \"ENV\" before the first FROM"));
  CHECK(parse_error("ARG a\n") == "Dockerfile: no FROM instruction");
  auto r = parse("FROM a\nFOO x", "build/app.Dockerfile");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message() == "build/app.Dockerfile:2:1: unknown instruction \"FOO\" (did you mean \"FROM\"?)");
  CHECK(parse_error("FROM a\nfroob x") == "Dockerfile:2:1: unknown instruction \"froob\" (did you mean \"from\"?)");
  CHECK(parse_error("FROM a\nXYZZY x") == "Dockerfile:2:1: unknown instruction \"XYZZY\"");
  CHECK(ok("ARG a\nARG b\nFROM x").children.size() == 3);
}

TEST_CASE("parser: parse_fragment needs no FROM and takes an escape") {
  auto r = parse_fragment("RUN a `\n b", "Dockerfile", '`');
  REQUIRE(r.has_value());
  CHECK(r->children[0].args == V{"a  b"});
  CHECK(parse_fragment("").has_value());
}

TEST_CASE("parser: dump quotes as Go's strconv.Quote") {
  CHECK(go_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(go_quote(std::string("\x01\x7f\n\t\0", 5)) == "\"\\x01\\x7f\\n\\t\\x00\"");
  CHECK(go_quote("\xE2\x99\xA5 \xFF") == "\"\xE2\x99\xA5 \\xff\"");
  CHECK(go_quote("\xC2\x85") == "\"\\u0085\"");
  Ast a = ok("FROM a\nENV x=1\nCOPY --link a b");
  CHECK(a.dump() == "(from \"a\")\n(env \"x\" \"1\" \"=\")\n(copy [\"--link\"] \"a\" \"b\")");
}
