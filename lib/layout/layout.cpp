#include "layout/layout.h"

#include <fmt/core.h>

namespace hoist::layout {
namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// component := alphanum+ ( separator alphanum+ )*, separator := [-._:@+] | "--"
bool valid_component(std::string_view c) {
  size_t i = 0;
  auto alnum_run = [&] {
    size_t start = i;
    while (i < c.size() && is_alnum(c[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < c.size()) {
    if (c.substr(i, 2) == "--")
      i += 2;
    else if (std::string_view("-._:@+").find(c[i]) != std::string_view::npos)
      i += 1;
    else
      return false;
    if (!alnum_run()) return false;
  }
  return true;
}

}  // namespace

bool valid_ref_name(std::string_view name) {
  if (name.empty()) return false;
  size_t start = 0;
  for (;;) {
    size_t slash = name.find('/', start);
    if (!valid_component(name.substr(start, slash == std::string_view::npos ? slash : slash - start))) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

Result<LayoutRef> parse_layout_ref(std::string_view text) {
  LayoutRef r;
  size_t colon = text.find(':');
  r.dir = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) r.name = std::string(text.substr(colon + 1));
  if (r.dir.empty()) return fail(Errc::kInvalidArgument, fmt::format("invalid layout reference '{}': no directory", text));
  if (colon != std::string_view::npos && !valid_ref_name(r.name))
    return fail(Errc::kInvalidArgument, fmt::format("invalid layout reference '{}': invalid image name '{}'", text, r.name));
  return r;
}

}  // namespace hoist::layout
