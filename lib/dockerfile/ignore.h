#pragma once
// .dockerignore, with moby/patternmatcher and moby/patternmatcher/ignorefile semantics
// (what BuildKit's context transfer uses; also COPY/ADD --exclude patterns).
//
// Reading the file (ignorefile.ReadAll):
//   - a UTF-8 BOM on the first line is dropped; lines end at '\n' (a '\r' before it goes);
//   - a line whose first character is '#' is a comment ("  # x" is the pattern "# x");
//   - blank lines are skipped; surrounding whitespace is trimmed;
//   - '!' starts an exception (whitespace after it is trimmed too);
//   - the rest is path-cleaned (clean_path: "./a//b/" -> "a/b") and a leading '/' is
//     dropped, so "/foo" and "foo" are the same pattern.
// Patterns (patternmatcher.New / Pattern.compile), matched against slash-separated
// paths relative to the context root:
//   '*' any run without '/', '?' one character but '/', '[...]' a set (glob.h syntax),
//   '\' c a literal c, "**" any number of directories ("**/x", "a/**/b", "a/**").
//   Literal-only patterns compare exactly; "x/**" is a prefix test ("x/**" matches
//   "x/y" but not "x"); a pattern starting with "**" and otherwise literal is a suffix
//   test ("**/foo" matches "foo" and "a/foo"; "**foo" also matches "afoo").
// Matching (MatchesOrParentMatches): patterns apply in order and the last one that
// matches decides; a pattern that matches a parent directory matches everything below
// it ("docs" excludes "docs/a/b"). An exception only needs evaluating while the path is
// excluded, an ordinary pattern while it is not.
// Errors: kInvalidArgument for a lone "!" and for malformed patterns ("[", "a\",
// "[z-a]"). Thread-compatible value type; matching allocates nothing per pattern.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/pattern.h"
#include "util/result.h"

namespace hoist::dockerfile {

// ignorefile.ReadAll: the patterns of a .dockerignore text, cleaned, exceptions as "!p".
std::vector<std::string> read_ignore_patterns(std::string_view text);

class IgnoreMatcher {
 public:
  IgnoreMatcher() = default;

  // Reads and compiles a .dockerignore text. Errors name the line:
  // ".dockerignore:3: illegal exclusion pattern \"!\"".
  static Result<IgnoreMatcher> parse(std::string_view text, std::string_view file_name = ".dockerignore");
  // Compiles patterns as given (patternmatcher.New: trimmed and cleaned, empty ones
  // skipped, "!p" an exception), e.g. COPY --exclude values.
  static Result<IgnoreMatcher> from_patterns(const std::vector<std::string>& patterns);

  // Whether `path` (relative to the context; cleaned first, "." never matches) is
  // excluded: MatchesOrParentMatches.
  bool matches(std::string_view path) const;

  // The walker's incremental form (MatchesUsingParentResults): `parent` is the state
  // returned for the path's parent directory (default-constructed for a top-level entry
  // or when unknown: then parents are checked from scratch); the state for `path` is
  // stored in *out, to pass for its children. Same answer as matches(path).
  struct MatchState {
    std::vector<uint8_t> pattern_matched;  // per pattern: it matched the path or a parent
  };
  bool matches(std::string_view path, const MatchState& parent, MatchState* out) const;

  // For an excluded directory: whether an exception pattern could re-include something
  // below it, i.e. whether the walker must still descend. Conservative: may say true
  // when nothing below is re-included, never false when something is. With no
  // exceptions at all it is always false (fsutil skips the directory).
  bool may_reinclude_under(std::string_view dir) const;

  bool has_exclusions() const { return exclusions_; }
  bool empty() const { return patterns_.empty(); }
  // The compiled patterns as cleaned, exceptions with their '!'.
  std::vector<std::string> patterns() const;

 private:
  enum class MatchType : uint8_t { kExact, kPrefix, kSuffix, kTokens };
  struct Pattern {
    std::string cleaned;  // without the '!'
    bool exclusion = false;
    MatchType type = MatchType::kExact;
    detail::TokenPattern tokens{/*separator_aware=*/true};
  };
  static Result<Pattern> compile(std::string_view pattern);
  static bool pattern_matches(const Pattern& p, std::string_view path);
  static bool pattern_or_parent_matches(const Pattern& p, std::string_view path);
  static bool may_match_below(const Pattern& p, std::string_view dir);

  std::vector<Pattern> patterns_;
  bool exclusions_ = false;
};

}  // namespace hoist::dockerfile
