#pragma once
// Shell globs with Go's filepath.Match semantics (what BuildKit uses for COPY/ADD
// source wildcards), and the path cleaning both globs and .dockerignore rely on.
//
//   '*'         any run of characters except '/'
//   '?'         one character except '/'
//   '[...]'     one character in the set: c, lo-hi, '\'c; '[^...]' or '[!...]' negates.
//               A bare '-' or ']' inside must be escaped; a set may match '/'.
//   '\' c       c literally ('\' is always the escape: Linux paths)
//
// The whole name must match. Characters are UTF-8 code points. A malformed pattern
// ("[", "[a-", "a\", "[]a]") is kInvalidArgument when compiled; unlike Go, which only
// notices some malformations while matching, it is never silently "no match".
// Deviation: Go reads "[!a]" as the set {'!', 'a'}; here, as in sh and gitignore, it
// is a negation. Thread-compatible value type.

#include <string>
#include <string_view>

#include "dockerfile/pattern.h"
#include "util/result.h"

namespace hoist::dockerfile {

class Glob {
 public:
  // kInvalidArgument "bad glob pattern 'P'" when malformed.
  static Result<Glob> compile(std::string_view pattern);

  bool matches(std::string_view name) const { return tokens_.match(name); }
  const std::string& pattern() const { return pattern_; }

 private:
  Glob(std::string pattern, detail::TokenPattern tokens) : pattern_(std::move(pattern)), tokens_(std::move(tokens)) {}
  std::string pattern_;
  detail::TokenPattern tokens_;
};

// filepath.Match(pattern, name): compile and match in one call.
Result<bool> glob_match(std::string_view pattern, std::string_view name);

// True when `pattern` contains an unescaped '*', '?' or '[' (it needs a directory walk
// rather than a plain lookup).
bool has_glob_meta(std::string_view pattern);

// path.Clean: the shortest equivalent slash path, purely lexically. Repeated '/' become
// one, "." elements go, "x/.." pairs go, a leading "/.." becomes "/", a trailing '/' is
// dropped, and "" becomes ".". ("./a//b/../c/" -> "a/c", "/../x" -> "/x").
std::string clean_path(std::string_view path);

}  // namespace hoist::dockerfile
