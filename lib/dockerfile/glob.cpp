#include "dockerfile/glob.h"

#include <fmt/format.h>

#include <vector>

namespace hoist::dockerfile {

using detail::PatternToken;

Result<Glob> Glob::compile(std::string_view pattern) {
  auto bad = [&] { return fail(Errc::kInvalidArgument, fmt::format("bad glob pattern '{}'", pattern)); };
  detail::TokenPattern tokens(/*separator_aware=*/true);
  for (size_t i = 0; i < pattern.size();) {
    char c = pattern[i];
    if (c == '*') {
      // "**" is two stars here (filepath.Match has no "any depth").
      if (tokens.tokens().empty() || tokens.tokens().back().kind != PatternToken::Kind::kStar) {
        tokens.add_kind(PatternToken::Kind::kStar);
      }
      ++i;
    } else if (c == '?') {
      tokens.add_kind(PatternToken::Kind::kAnyChar);
      ++i;
    } else if (c == '[') {
      PatternToken t;
      auto end = detail::parse_class(pattern, i, t, /*reject_inverted=*/false);
      if (!end) return bad();
      tokens.add(std::move(t));
      i = *end;
    } else {
      if (c == '\\') {
        ++i;
        if (i >= pattern.size()) return bad();
      }
      char32_t cp;
      i += detail::utf8_decode(pattern, i, &cp);
      tokens.add_char(cp);
    }
  }
  return Glob(std::string(pattern), std::move(tokens));
}

Result<bool> glob_match(std::string_view pattern, std::string_view name) {
  auto g = HOIST_TRY(Glob::compile(pattern));
  return g.matches(name);
}

bool has_glob_meta(std::string_view pattern) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '*' || c == '?' || c == '[') return true;
  }
  return false;
}

std::string clean_path(std::string_view path) {
  if (path.empty()) return ".";
  bool rooted = path.front() == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view elem = path.substr(i, j - i);
    i = j + 1;
    if (elem.empty() || elem == ".") continue;
    if (elem == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(elem);  // a relative path may climb out: keep it
      }
      continue;
    }
    parts.push_back(elem);
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out.append(parts[k]);
  }
  if (out.empty()) return ".";
  return out;
}

}  // namespace hoist::dockerfile
