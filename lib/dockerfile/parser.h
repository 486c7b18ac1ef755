#pragma once
// Dockerfile text -> syntax tree, as BuildKit's frontend/dockerfile/parser does it.
// No I/O: the caller hands over the text.
//
// Lines. A UTF-8 BOM on the first line is dropped; lines end at '\n' ('\r' before it
// is dropped). Parser directives ("# syntax=...", "# escape=...", "# check=...", keys
// case-insensitive, spaces around '=' allowed) are read only from the very top, in any
// order; the first line that is not one (a comment, an unknown "# key=v", a blank line,
// an instruction) ends them, and a repeated directive is an error. "# escape=`" makes
// the backtick the escape and line-continuation character everywhere (instead of '\'):
// the rest of the file, flags, ENV/LABEL/ARG words and later variable expansion.
//
// An instruction ends at a line whose last character other than spaces and tabs is not
// an unescaped escape character; the escape character and the trailing blanks are
// removed and the next line is appended (its leading whitespace kept). Comment lines
// ('#' first after whitespace) and blank lines inside a continuation are skipped (blank
// ones produce a warning). '#' elsewhere is not a comment. A continuation that runs
// into the end of the file ends the instruction there ("RUN make \" is "RUN make"),
// unless nothing but the keyword was written, which is an error.
//
// Instructions (case-insensitive keywords) split into the keyword, leading flags
// ("--name=value" / "--name", quotes and escapes removed, "--" ends them) and arguments
// per instruction, exactly as BuildKit's line parsers:
//   RUN CMD ENTRYPOINT SHELL  a JSON string array (exec form; JSON escapes such as
//                     "\u0041" decoded), else the whole text as one argument. Text that
//                     is not valid JSON ("[ \"a\", ]", "['a']") is the shell form; a
//                     valid JSON array with a non-string element is an error.
//   COPY ADD VOLUME   a JSON string array, else the text split at whitespace
//   FROM EXPOSE       split at whitespace
//   ENV LABEL         triples (key, value, "=") for "k=v k2=v2" words (quotes and escapes
//                     kept, removed later by expansion), or (key, rest of line, "") for
//                     the legacy "ENV key value words" form
//   ARG               the words as written ("a=1", "b")
//   HEALTHCHECK       the type word ("CMD", "NONE"), then as RUN
//   ONBUILD           no arguments; `sub` holds the trigger instruction (chains of
//                     ONBUILD deeper than 4 are an error here, all of them in instructions.h)
//   MAINTAINER USER WORKDIR STOPSIGNAL  the rest of the line as one argument
// Flags are checked against the instruction's set (instructions.h lists them): an
// unknown flag, a missing or malformed value or a repeated single-valued flag is an
// error, as is an unknown instruction.
//
// Heredocs (RUN, COPY, ADD, and ONBUILD of those; not in JSON form): every word of the
// form [n]<<[-]WORD on the instruction line starts one, in order ("COPY <<A <<B /d/",
// "RUN <<EOF python3"). Its content is the following lines up to a line equal to WORD
// (with leading tabs removed first for "<<-"), kept as written with line endings; any
// quoting in WORD ("<<'EOF'", "<<\"EOF\"", "<<E'O'F") marks it not to be expanded. A
// heredoc without its terminator line is an error.
//
// Structure: a file with no instructions is an error; so is an instruction other than
// ARG before the first FROM, and a file without FROM.
//
// Errors are kInvalidArgument "FILE:LINE:1: message" (FILE as given), e.g.
//   "Dockerfile:12:1: unknown instruction \"FROOB\" (did you mean \"FROM\"?)".
// Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace hoist::dockerfile {

inline constexpr char kDefaultEscape = '\\';

struct Heredoc {
  std::string name;     // the delimiter, quotes removed: "EOF"
  std::string content;  // the lines between, as written, each with its line ending
  bool expand = true;   // false when any part of the delimiter was quoted
  bool chomp = false;   // "<<-": leading tabs go from the content (chomp_heredoc) and the terminator
  unsigned fd = 0;      // "3<<EOF": 3
  bool operator==(const Heredoc&) const = default;
};

struct Node {
  std::string command;                 // keyword as written: "RUN", "run"
  std::string keyword;                 // lower case: "run"
  std::vector<std::string> flags;      // {"--mount=type=cache,target=/root"}
  std::vector<std::string> args;       // per instruction, see above
  bool json = false;                   // arguments came from a JSON array
  std::vector<Heredoc> heredocs;
  std::vector<Node> sub;               // ONBUILD: the trigger instruction (one node)
  std::string original;                // the instruction as joined: continuations removed, trimmed
  int start_line = 0;                  // 1-based, first line of the instruction
  int end_line = 0;                    // last line, heredoc bodies included
  std::vector<std::string> comments;   // comment lines directly above ("# x" -> "x")

  // BuildKit's Node.Dump form: `run ["--network=none"] "make" "all"`,
  // `onbuild (run "echo")`; strings quoted as Go's strconv.Quote.
  std::string dump() const;
};

struct Directive {
  std::string name;   // lower case: "syntax", "escape", "check"
  std::string value;  // trimmed
  int line = 0;
};

struct ParseWarning {
  std::string message;
  int line = 0;
};

struct Ast {
  std::vector<Node> children;
  char escape = kDefaultEscape;
  std::vector<Directive> directives;  // in file order
  std::vector<ParseWarning> warnings; // empty continuation lines
  const Directive* directive(std::string_view name) const;
  // Every child's dump() on its own line, each in parentheses (BuildKit's testfiles
  // "result" format, without the final newline).
  std::string dump() const;
};

// Parses a whole Dockerfile (structure rules included).
Result<Ast> parse(std::string_view text, std::string_view file_name = "Dockerfile");

// Parses text holding instructions without the structure rules (no FROM needed), with
// the given escape character unless the text sets one: ONBUILD triggers, tests.
Result<Ast> parse_fragment(std::string_view text, std::string_view file_name = "Dockerfile",
                           char escape = kDefaultEscape);

// One word as a heredoc start ("<<EOF", "<<-'EOF'", "3<<EOF"): nullopt when it is not
// one ("<<", "<<EOF sh", "EOF"); kInvalidArgument for an unbalanced quote ("<<'EOF").
// The content is left empty.
Result<std::optional<Heredoc>> parse_heredoc_word(std::string_view word);

// The content of a "<<-" heredoc: leading tabs removed from every line.
std::string chomp_heredoc(std::string_view content);

// Go's strconv.Quote (printable UTF-8 kept, \n \t \" \\ ... and \xNN for other bytes).
std::string go_quote(std::string_view s);

}  // namespace hoist::dockerfile
