#pragma once
// Internal to lib/dockerfile: the one wildcard engine behind glob.h (filepath.Match),
// ignore.h (.dockerignore, moby/patternmatcher) and lex.h (${V#p}, ${V/p/r}).
//
// A pattern is a list of tokens, one per code point for literals. Matching simulates
// the pattern as an NFA over the text (a set of token positions, never backtracking),
// so a hostile pattern such as "*a*a*a*a*a*b" costs O(tokens x text), not exponential
// time. Text is UTF-8: '?' and classes consume one code point; an invalid byte counts
// as one character of its own. Thread-compatible value type.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::dockerfile::detail {

struct CharRange {
  char32_t lo;
  char32_t hi;
};

struct PatternToken {
  enum class Kind : uint8_t {
    kChar,      // one literal code point
    kAnyChar,   // '?': one code point ('/' excluded when separator-aware)
    kStar,      // '*': any run of code points ('/' excluded when separator-aware)
    kClass,     // '[...]': one code point in (or, negated, not in) the ranges; may be '/'
    kAnyDirs,   // patternmatcher's "**/": nothing, or any text ending in '/'
    kAnything,  // patternmatcher's trailing "**": any text, '/' included
  };
  Kind kind = Kind::kChar;
  char32_t ch = 0;
  bool negated = false;
  std::vector<CharRange> ranges;
};

class TokenPattern {
 public:
  // separator_aware: '?' and '*' do not match '/' (paths); false for ${V#p} patterns.
  explicit TokenPattern(bool separator_aware) : separator_aware_(separator_aware) {}

  void add(PatternToken t) { tokens_.push_back(std::move(t)); }
  void add_char(char32_t c);
  void add_kind(PatternToken::Kind k);
  const std::vector<PatternToken>& tokens() const { return tokens_; }

  // The whole of `text` matches.
  bool match(std::string_view text) const;
  // Every prefix length (in bytes, ascending) whose prefix matches the whole pattern.
  std::vector<size_t> matching_prefixes(std::string_view text) const;
  // The longest match starting at byte `start`, as its end; nullopt when none.
  std::optional<size_t> longest_match_at(std::string_view text, size_t start) const;
  // True when some text `prefix + r` with r non-empty could match: the context walker's
  // "can anything below this directory match" question.
  bool may_match_extension(std::string_view prefix) const;
  // The pattern that matches reversed texts (for suffix searches). kAnyDirs is never
  // reversed (only ${V%p} patterns, which have none, use this).
  TokenPattern reversed() const;

 private:
  using States = std::vector<uint8_t>;
  size_t state_count() const { return 2 * tokens_.size() + 2; }
  void close(States& s) const;
  States step(const States& s, char32_t c) const;
  bool accepts(const States& s) const { return s[2 * tokens_.size()] != 0; }
  bool any_live(const States& s) const;
  bool char_ok(const PatternToken& t, char32_t c) const;

  std::vector<PatternToken> tokens_;
  bool separator_aware_;
};

// Parses the bracket expression starting at pattern[pos] == '['. Syntax is
// filepath.Match's: '[' ['^'] { c | '\' c | lo '-' hi } ']', where a bare '-' or ']'
// inside must be escaped and the set may not be empty; '!' is accepted for '^' as in
// POSIX shells and gitignore. Returns the index after ']', or nullopt when malformed.
// reject_inverted: a range with lo > hi is malformed (regexp-based matchers reject it).
std::optional<size_t> parse_class(std::string_view pattern, size_t pos, PatternToken& out,
                                  bool reject_inverted);

// Decodes the UTF-8 sequence at text[i] into *cp and returns its length; an invalid or
// truncated sequence is one byte, decoded to 0x110000 + byte so it still compares.
size_t utf8_decode(std::string_view text, size_t i, char32_t* cp);

// Reverses `text` code point by code point (invalid bytes stay single).
std::string reverse_utf8(std::string_view text);

}  // namespace hoist::dockerfile::detail
