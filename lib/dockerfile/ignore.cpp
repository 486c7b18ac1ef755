#include "dockerfile/ignore.h"

#include <fmt/format.h>

#include <optional>

#include "dockerfile/glob.h"
#include "util/strings.h"

namespace hoist::dockerfile {

using detail::PatternToken;

namespace {

// The context-relative form of a path to test: cleaned, without a leading '/'.
std::string relative_clean(std::string_view path) {
  std::string p = clean_path(path);
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (p.empty()) p = ".";
  return p;
}

// filepath.Dir for a clean relative path: "a/b/c" -> "a/b", "a" -> ".".
std::string_view parent_of(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

namespace {

// One line of a .dockerignore as ignorefile.ReadAll reads it; nullopt for comments and
// blank lines.
std::optional<std::string> read_ignore_line(std::string_view line, bool first) {
  if (first && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.starts_with('#')) return std::nullopt;
  std::string_view pattern = trim(line);
  if (pattern.empty()) return std::nullopt;
  bool invert = pattern.front() == '!';
  if (invert) pattern = trim(pattern.substr(1));
  std::string cleaned;
  if (!pattern.empty()) {
    cleaned = clean_path(pattern);
    if (cleaned.size() > 1 && cleaned.front() == '/') cleaned.erase(0, 1);
  }
  return invert ? "!" + cleaned : cleaned;
}

}  // namespace

std::vector<std::string> read_ignore_patterns(std::string_view text) {
  std::vector<std::string> out;
  bool first = true;
  for (std::string_view line : split(text, '\n')) {
    if (auto p = read_ignore_line(line, first)) out.push_back(std::move(*p));
    first = false;
  }
  return out;
}

// Mirrors patternmatcher's Pattern.compile: the same four match types, with tokens in
// place of its regular expression.
Result<IgnoreMatcher::Pattern> IgnoreMatcher::compile(std::string_view text) {
  Pattern p;
  std::string cleaned = clean_path(text);
  std::string_view body = cleaned;
  if (body.front() == '!') {
    if (body.size() == 1) return fail(Errc::kInvalidArgument, "illegal exclusion pattern \"!\"");
    p.exclusion = true;
    body.remove_prefix(1);
  }
  p.cleaned = std::string(body);
  auto bad = [&] { return fail(Errc::kInvalidArgument, fmt::format("bad pattern '{}'", text)); };

  MatchType type = MatchType::kExact;
  size_t pos = 0;
  for (int iter = 0; pos < body.size(); ++iter) {
    char c = body[pos];
    if (c == '*') {
      if (pos + 1 < body.size() && body[pos + 1] == '*') {
        pos += 2;
        if (pos < body.size() && body[pos] == '/') ++pos;  // "**/" is "**"
        if (pos == body.size()) {
          // A trailing "**" accepts everything below, as in .gitignore.
          if (type == MatchType::kExact) {
            type = MatchType::kPrefix;
          } else {
            type = MatchType::kTokens;
          }
          p.tokens.add_kind(PatternToken::Kind::kAnything);
        } else {
          p.tokens.add_kind(PatternToken::Kind::kAnyDirs);
          type = MatchType::kTokens;
        }
        if (iter == 0) type = MatchType::kSuffix;
      } else {
        p.tokens.add_kind(PatternToken::Kind::kStar);
        type = MatchType::kTokens;
        ++pos;
      }
    } else if (c == '?') {
      p.tokens.add_kind(PatternToken::Kind::kAnyChar);
      type = MatchType::kTokens;
      ++pos;
    } else if (c == '[') {
      PatternToken t;
      auto end = detail::parse_class(body, pos, t, /*reject_inverted=*/true);
      if (!end) return bad();
      p.tokens.add(std::move(t));
      type = MatchType::kTokens;
      pos = *end;
    } else {
      if (c == '\\') {
        // filepath.Match (which patternmatcher.New consults) rejects a trailing '\'.
        if (pos + 1 >= body.size()) return bad();
        ++pos;
        type = MatchType::kTokens;
      }
      char32_t cp;
      pos += detail::utf8_decode(body, pos, &cp);
      p.tokens.add_char(cp);
    }
  }
  p.type = type;
  return p;
}

bool IgnoreMatcher::pattern_matches(const Pattern& p, std::string_view path) {
  switch (p.type) {
    case MatchType::kExact:
      return path == p.cleaned;
    case MatchType::kPrefix:
      return path.starts_with(std::string_view(p.cleaned).substr(0, p.cleaned.size() - 2));
    case MatchType::kSuffix: {
      std::string_view suffix = std::string_view(p.cleaned).substr(2);
      if (path.ends_with(suffix)) return true;
      return !suffix.empty() && suffix.front() == '/' && path == suffix.substr(1);  // "**/foo" matches "foo"
    }
    case MatchType::kTokens:
      return p.tokens.match(path);
  }
  return false;
}

bool IgnoreMatcher::pattern_or_parent_matches(const Pattern& p, std::string_view path) {
  if (pattern_matches(p, path)) return true;
  std::string_view parent = parent_of(path);
  if (parent == ".") return false;
  // Every ancestor, shortest first: "a", "a/b", ...
  for (size_t i = 0; i <= parent.size(); ++i) {
    if (i == parent.size() || parent[i] == '/') {
      if (pattern_matches(p, parent.substr(0, i))) return true;
    }
  }
  return false;
}

Result<IgnoreMatcher> IgnoreMatcher::from_patterns(const std::vector<std::string>& patterns) {
  IgnoreMatcher m;
  for (const std::string& raw : patterns) {
    std::string_view t = trim(raw);
    if (t.empty()) continue;
    Pattern p = HOIST_TRY(compile(t));
    m.exclusions_ = m.exclusions_ || p.exclusion;
    m.patterns_.push_back(std::move(p));
  }
  return m;
}

Result<IgnoreMatcher> IgnoreMatcher::parse(std::string_view text, std::string_view file_name) {
  // Compiled line by line so that an error can name its line.
  IgnoreMatcher m;
  int line_no = 0;
  for (std::string_view line : split(text, '\n')) {
    ++line_no;
    auto pat = read_ignore_line(line, line_no == 1);
    if (!pat) continue;
    auto p = compile(*pat);
    if (!p) return fail(Errc::kInvalidArgument, fmt::format("{}:{}: {}", file_name, line_no, p.error().message()));
    m.exclusions_ = m.exclusions_ || p->exclusion;
    m.patterns_.push_back(std::move(*p));
  }
  return m;
}

bool IgnoreMatcher::matches(std::string_view path) const {
  std::string p = relative_clean(path);
  if (p == ".") return false;  // the context root itself is never excluded
  bool matched = false;
  for (const Pattern& pat : patterns_) {
    if (pat.exclusion != matched) continue;  // nothing this pattern could change
    if (pattern_or_parent_matches(pat, p)) matched = !pat.exclusion;
  }
  return matched;
}

bool IgnoreMatcher::matches(std::string_view path, const MatchState& parent, MatchState* out) const {
  std::string p = relative_clean(path);
  MatchState state;
  state.pattern_matched.assign(patterns_.size(), 0);
  bool have_parent = parent.pattern_matched.size() == patterns_.size() && !patterns_.empty();
  bool matched = false;
  for (size_t i = 0; i < patterns_.size(); ++i) {
    const Pattern& pat = patterns_[i];
    bool m = have_parent && parent.pattern_matched[i];
    if (!m) {
      if (pat.exclusion != matched) continue;
      m = p != "." && (have_parent ? pattern_matches(pat, p) : pattern_or_parent_matches(pat, p));
    }
    state.pattern_matched[i] = m ? 1 : 0;
    if (m) matched = !pat.exclusion;
  }
  if (out) *out = std::move(state);
  return p != "." && matched;
}

bool IgnoreMatcher::may_match_below(const Pattern& p, std::string_view dir) {
  std::string prefix = std::string(dir) + "/";
  switch (p.type) {
    case MatchType::kExact:
      return p.cleaned.size() > prefix.size() && p.cleaned.starts_with(prefix);
    case MatchType::kPrefix: {
      std::string_view head = std::string_view(p.cleaned).substr(0, p.cleaned.size() - 2);
      return head.starts_with(prefix) || std::string_view(prefix).starts_with(head);
    }
    case MatchType::kSuffix:
      return true;  // dir + "/" + suffix always exists
    case MatchType::kTokens:
      return p.tokens.may_match_extension(prefix);
  }
  return true;
}

bool IgnoreMatcher::may_reinclude_under(std::string_view dir) const {
  if (!exclusions_) return false;
  std::string d = relative_clean(dir);
  if (d == ".") return true;
  for (const Pattern& p : patterns_) {
    if (p.exclusion && may_match_below(p, d)) return true;
  }
  return false;
}

std::vector<std::string> IgnoreMatcher::patterns() const {
  std::vector<std::string> out;
  out.reserve(patterns_.size());
  for (const Pattern& p : patterns_) out.push_back(p.exclusion ? "!" + p.cleaned : p.cleaned);
  return out;
}

}  // namespace hoist::dockerfile
