#pragma once
// Word processing and variable expansion as BuildKit's shell lexer does it
// (frontend/dockerfile/shell/lex.go): what the builder applies to ENV, LABEL, COPY,
// WORKDIR, ... arguments. RUN, CMD and ENTRYPOINT are left to the container's shell.
//
//   $V ${V}        the value; unset is ""
//   ${V:-w} ${V-w} w when V is unset or empty (':' form) / unset (plain form)
//   ${V:+w} ${V+w} w when V is set and non-empty / set, else ""
//   ${V:?m} ${V?m} an error "V: m" when unset or empty / unset ("is not allowed to be
//                  unset", "... empty" when m is "")
//   ${V#p} ${V##p} V without its shortest / longest prefix matching p
//   ${V%p} ${V%%p} V without its shortest / longest suffix matching p
//   ${V/p/r}       the first (leftmost, longest) match of p replaced by r
//   ${V//p/r}      every match replaced
// Patterns: '*' any text, '?' one character, '\*' '\?' '\\' literals, '\}' and '\/'
// for '}' and '/'; any other escape is an error. '[' is literal (as in BuildKit).
// Words nest: ${A:-${B:-x}}, up to 64 levels (deeper is an error, not a stack overflow). $1..$9, $001 and the special parameters $@ $* $# $? $- $$
// $! $0 are names that are never set. "$" not followed by a name stays "$".
// Quotes: '...' is literal; "..." expands $ and lets the escape character escape
// '"', '$' and itself (other escapes stay as written). Outside quotes the escape
// character (backslash, or the backtick of "# escape=`") takes the next character
// literally; a trailing one is dropped. Unbalanced quotes, "${" without "}", "${}",
// "${:x}", "${V:=x}", "${V:#p}" and unknown modifiers are errors:
//   kInvalidArgument "failed to process \"TEXT\": syntax error: missing '}'".
//
// Deviations from BuildKit, each where lex.go's behaviour is an accident:
//  - ${V#p} etc. use shell semantics (shortest/longest match, '?' and '*' match any
//    character including '\n') rather than Go regexp's leftmost-first, no-newline '.'.
//  - process_words keeps the text before a nested ${V:-...} (lex.go shares one buffer
//    between nesting levels and loses it: "a${X:-b}c" splits to "bc" there, "abc" here).
//  - Variable names may contain any non-ASCII characters (Go: Unicode letters/digits).
// Pure functions; thread-safe.

#include <functional>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace hoist::dockerfile {

// Looks a variable up: its value, or nullopt when unset ("" is set and empty).
using Lookup = std::function<std::optional<std::string>(std::string_view name)>;

// A small ordered environment (the ENV/ARG state of a stage, "K=V" order kept).
// Setting an existing name replaces its value in place.
class Env {
 public:
  Env() = default;
  Env(std::initializer_list<std::pair<std::string, std::string>> init);

  void set(std::string_view name, std::string value);
  void erase(std::string_view name);
  std::optional<std::string> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  std::vector<std::string> to_list() const;  // {"K=V", ...}
  // A Lookup reading this Env by reference: it must outlive the Lookup.
  Lookup lookup() const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// A Lookup that finds nothing.
Lookup empty_lookup();

struct LexOptions {
  char escape = '\\';              // '\\' or '`' (the escape directive)
  bool raw_quotes = false;         // keep quote characters in the result
  bool raw_escapes = false;        // keep escape characters in the result
  bool skip_process_quotes = false;  // quotes are ordinary characters (heredoc bodies)
  bool skip_unset = false;         // leave references to unset variables as written
};

struct WordExpansion {
  std::string word;                 // the expanded text, spaces kept (ProcessWord)
  std::vector<std::string> words;   // split as the shell would (ProcessWords)
  std::set<std::string> matched;    // names looked up that were set
  std::set<std::string> unmatched;  // names looked up that were not set
};

// Processes `text` once, giving both the single word and the split words.
Result<WordExpansion> process(std::string_view text, const Lookup& env, const LexOptions& opts = {});

// ProcessWord: one word, quotes removed, expansion done, inner spaces kept. When
// `referenced` is given, every variable name looked up (set or not) is added to it.
Result<std::string> process_word(std::string_view text, const Lookup& env, const LexOptions& opts = {},
                                 std::set<std::string>* referenced = nullptr);

// ProcessWords: expanded and split at unquoted, unescaped whitespace; text produced by
// an unquoted expansion is split too ("${V}" with V="a b" gives two words, "\"${V}\""
// one). Empty words are dropped.
Result<std::vector<std::string>> process_words(std::string_view text, const Lookup& env,
                                               const LexOptions& opts = {},
                                               std::set<std::string>* referenced = nullptr);

}  // namespace hoist::dockerfile
