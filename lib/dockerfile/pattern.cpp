#include "dockerfile/pattern.h"

#include <algorithm>
#include <string>

namespace hoist::dockerfile::detail {

size_t utf8_decode(std::string_view text, size_t i, char32_t* cp) {
  auto b0 = static_cast<unsigned char>(text[i]);
  auto invalid = [&] {
    *cp = 0x110000 + b0;
    return size_t{1};
  };
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len = 0;
  char32_t v = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    v = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    v = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    v = b0 & 0x07;
  } else {
    return invalid();
  }
  if (i + len > text.size()) return invalid();
  for (size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return invalid();
    v = (v << 6) | (b & 0x3F);
  }
  // Overlong forms and surrogates are invalid UTF-8: keep them byte-wise.
  if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
      (v >= 0xD800 && v <= 0xDFFF)) {
    return invalid();
  }
  *cp = v;
  return len;
}

std::string reverse_utf8(std::string_view text) {
  std::vector<std::string_view> chars;
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    size_t n = utf8_decode(text, i, &cp);
    chars.push_back(text.substr(i, n));
    i += n;
  }
  std::string out;
  out.reserve(text.size());
  for (auto it = chars.rbegin(); it != chars.rend(); ++it) out.append(*it);
  return out;
}

void TokenPattern::add_char(char32_t c) {
  PatternToken t;
  t.kind = PatternToken::Kind::kChar;
  t.ch = c;
  tokens_.push_back(std::move(t));
}

void TokenPattern::add_kind(PatternToken::Kind k) {
  PatternToken t;
  t.kind = k;
  tokens_.push_back(std::move(t));
}

// State 2*i: about to match token i. State 2*i+1: inside token i's "(.*/)?" after at
// least one character (only kAnyDirs uses it). State 2*n: the whole pattern matched.
void TokenPattern::close(States& s) const {
  // Zero-width skips only go forward, so one ascending pass reaches the fixpoint.
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (!s[2 * i]) continue;
    switch (tokens_[i].kind) {
      case PatternToken::Kind::kStar:
      case PatternToken::Kind::kAnyDirs:
      case PatternToken::Kind::kAnything:
        s[2 * (i + 1)] = 1;
        break;
      default:
        break;
    }
  }
}

bool TokenPattern::char_ok(const PatternToken& t, char32_t c) const {
  switch (t.kind) {
    case PatternToken::Kind::kChar:
      return c == t.ch;
    case PatternToken::Kind::kAnyChar:
    case PatternToken::Kind::kStar:
      return !(separator_aware_ && c == U'/');
    case PatternToken::Kind::kClass: {
      bool in = std::any_of(t.ranges.begin(), t.ranges.end(),
                            [c](const CharRange& r) { return r.lo <= c && c <= r.hi; });
      return in != t.negated;
    }
    case PatternToken::Kind::kAnyDirs:
    case PatternToken::Kind::kAnything:
      return true;
  }
  return false;
}

TokenPattern::States TokenPattern::step(const States& s, char32_t c) const {
  States next(state_count(), 0);
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const PatternToken& t = tokens_[i];
    bool at = s[2 * i] != 0;
    bool inside = s[2 * i + 1] != 0;
    if (!at && !inside) continue;
    switch (t.kind) {
      case PatternToken::Kind::kChar:
      case PatternToken::Kind::kAnyChar:
      case PatternToken::Kind::kClass:
        if (at && char_ok(t, c)) next[2 * (i + 1)] = 1;
        break;
      case PatternToken::Kind::kStar:
      case PatternToken::Kind::kAnything:
        if (at && char_ok(t, c)) next[2 * i] = 1;
        break;
      case PatternToken::Kind::kAnyDirs:
        next[2 * i + 1] = 1;
        if (c == U'/') next[2 * (i + 1)] = 1;
        break;
    }
  }
  close(next);
  return next;
}

bool TokenPattern::any_live(const States& s) const {
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    if (s[i]) return true;
  }
  return false;
}

bool TokenPattern::match(std::string_view text) const {
  States s(state_count(), 0);
  s[0] = 1;
  close(s);
  for (size_t i = 0; i < text.size();) {
    char32_t c;
    i += utf8_decode(text, i, &c);
    s = step(s, c);
    if (!any_live(s) && !accepts(s)) return false;
  }
  return accepts(s);
}

std::vector<size_t> TokenPattern::matching_prefixes(std::string_view text) const {
  std::vector<size_t> out;
  States s(state_count(), 0);
  s[0] = 1;
  close(s);
  if (accepts(s)) out.push_back(0);
  for (size_t i = 0; i < text.size();) {
    char32_t c;
    i += utf8_decode(text, i, &c);
    s = step(s, c);
    if (accepts(s)) out.push_back(i);
    if (!any_live(s)) break;
  }
  return out;
}

std::optional<size_t> TokenPattern::longest_match_at(std::string_view text, size_t start) const {
  std::optional<size_t> best;
  States s(state_count(), 0);
  s[0] = 1;
  close(s);
  if (accepts(s)) best = start;
  for (size_t i = start; i < text.size();) {
    char32_t c;
    i += utf8_decode(text, i, &c);
    s = step(s, c);
    if (accepts(s)) best = i;
    if (!any_live(s)) break;
  }
  return best;
}

bool TokenPattern::may_match_extension(std::string_view prefix) const {
  States s(state_count(), 0);
  s[0] = 1;
  close(s);
  for (size_t i = 0; i < prefix.size();) {
    char32_t c;
    i += utf8_decode(prefix, i, &c);
    s = step(s, c);
    if (!any_live(s)) return false;
  }
  // Any state short of "matched" can consume at least one more character.
  return any_live(s);
}

TokenPattern TokenPattern::reversed() const {
  TokenPattern r(separator_aware_);
  r.tokens_.assign(tokens_.rbegin(), tokens_.rend());
  return r;
}

namespace {

// One class element: c, or '\' c. Sets *cp and advances *pos; false when malformed.
bool class_char(std::string_view p, size_t* pos, char32_t* cp) {
  if (*pos >= p.size()) return false;
  char c = p[*pos];
  if (c == '-' || c == ']') return false;
  if (c == '\\') {
    ++*pos;
    if (*pos >= p.size()) return false;
  }
  *pos += utf8_decode(p, *pos, cp);
  return true;
}

}  // namespace

std::optional<size_t> parse_class(std::string_view p, size_t pos, PatternToken& out, bool reject_inverted) {
  out = PatternToken{};
  out.kind = PatternToken::Kind::kClass;
  ++pos;  // '['
  if (pos < p.size() && (p[pos] == '^' || p[pos] == '!')) {
    out.negated = true;
    ++pos;
  }
  for (;;) {
    if (pos >= p.size()) return std::nullopt;
    if (p[pos] == ']' && !out.ranges.empty()) return pos + 1;
    char32_t lo;
    if (!class_char(p, &pos, &lo)) return std::nullopt;
    char32_t hi = lo;
    if (pos < p.size() && p[pos] == '-') {
      ++pos;
      if (!class_char(p, &pos, &hi)) return std::nullopt;
      if (reject_inverted && lo > hi) return std::nullopt;
    }
    out.ranges.push_back({lo, hi});
  }
}

}  // namespace hoist::dockerfile::detail
