#include "archive/path.h"

#include <limits.h>

#include <vector>

namespace hoist::archive {

Result<std::string> clean_path(std::string_view name) {
  if (name.size() >= PATH_MAX) return fail(Errc::kInvalidArgument, "path longer than PATH_MAX");
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view c = name.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (parts.empty()) return fail(Errc::kInvalidArgument, "path escapes the root");
      parts.pop_back();
      continue;
    }
    if (c.size() > NAME_MAX) return fail(Errc::kInvalidArgument, "path component longer than NAME_MAX");
    parts.push_back(c);
  }
  std::string out;
  out.reserve(name.size());
  for (auto c : parts) {
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

std::pair<std::string_view, std::string_view> split_path(std::string_view clean) {
  size_t s = clean.rfind('/');
  if (s == std::string_view::npos) return {std::string_view(), clean};
  return {clean.substr(0, s), clean.substr(s + 1)};
}

}  // namespace hoist::archive
