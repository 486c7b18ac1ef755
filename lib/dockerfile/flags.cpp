#include "dockerfile/flags.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/strings.h"

namespace hoist::dockerfile::detail {

std::vector<FlagSpec> flag_specs(std::string_view keyword) {
  using K = FlagKind;
  if (keyword == "run") {
    return {{"mount", K::kStrings}, {"network", K::kString}, {"security", K::kString}, {"device", K::kStrings}};
  }
  if (keyword == "copy") {
    return {{"chown", K::kString}, {"from", K::kString},      {"chmod", K::kString},
            {"link", K::kBool},    {"exclude", K::kStrings}, {"parents", K::kBool}};
  }
  if (keyword == "add") {
    return {{"chown", K::kString},       {"chmod", K::kString},    {"link", K::kBool},     {"keep-git-dir", K::kBool},
            {"checksum", K::kString},    {"unpack", K::kBool},     {"exclude", K::kStrings}};
  }
  if (keyword == "from") return {{"platform", K::kString}};
  if (keyword == "healthcheck") {
    return {{"interval", K::kString},       {"timeout", K::kString}, {"start-period", K::kString},
            {"start-interval", K::kString}, {"retries", K::kString}};
  }
  return {};
}

bool FlagValues::has(std::string_view name) const {
  return std::find(used.begin(), used.end(), name) != used.end();
}

std::string FlagValues::get(std::string_view name, std::string_view fallback) const {
  auto it = values.find(name);
  return it == values.end() ? std::string(fallback) : it->second;
}

std::vector<std::string> FlagValues::list(std::string_view name) const {
  auto it = lists.find(name);
  return it == lists.end() ? std::vector<std::string>{} : it->second;
}

namespace {

size_t levenshtein(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace

std::string suggest(std::string_view value, const std::vector<std::string>& candidates, bool case_sensitive) {
  std::string v = case_sensitive ? std::string(value) : to_lower(value);
  std::string match;
  size_t best = 3;
  for (const std::string& c : candidates) {
    std::string o = case_sensitive ? c : to_lower(c);
    if (o == v) return "";  // an exact match: the error is about something else
    size_t d = levenshtein(v, o);
    if (d < best) {
      best = d;
      match = o;
    }
  }
  if (!match.empty() && !case_sensitive) {
    // Answer in the user's case: "FROOB" -> "FROM", "froob" -> "from".
    if (std::string(value) == to_upper(value) && std::string(value) != to_lower(value)) match = to_upper(match);
  }
  return match;
}

Result<FlagValues> parse_flags(const std::vector<std::string>& flags, const std::vector<FlagSpec>& specs) {
  FlagValues out;
  for (const FlagSpec& s : specs) {
    if (s.kind == FlagKind::kBool) out.values.emplace(std::string(s.name), "false");
  }
  for (const std::string& a : flags) {
    if (a == "--") break;
    if (!a.starts_with("--")) return fail(Errc::kInvalidArgument, fmt::format("arg should start with -- : {}", a));
    size_t eq = a.find('=');
    bool has_value = eq != std::string::npos;
    std::string flag_name = a.substr(0, has_value ? eq : a.size());
    std::string value = has_value ? a.substr(eq + 1) : std::string();
    std::string name = flag_name.substr(2);
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.name == name; });
    if (spec == specs.end()) {
      std::vector<std::string> names;
      for (const FlagSpec& s : specs) names.emplace_back(s.name);
      std::string hint = suggest(name, names, true);
      return fail(Errc::kInvalidArgument, fmt::format("unknown flag: {}{}", flag_name,
                                                      hint.empty() ? "" : fmt::format(" (did you mean --{}?)", hint)));
    }
    bool seen = out.has(name);
    if (seen && spec->kind != FlagKind::kStrings) {
      return fail(Errc::kInvalidArgument, fmt::format("duplicate flag specified: {}", flag_name));
    }
    if (!seen) out.used.push_back(name);
    switch (spec->kind) {
      case FlagKind::kBool: {
        if (has_value && value.empty()) {
          return fail(Errc::kInvalidArgument, fmt::format("missing a value on flag: {}", flag_name));
        }
        std::string v = to_lower(value);
        if (v == "true" || v.empty()) {
          out.values[name] = "true";
        } else if (v == "false") {
          out.values[name] = "false";
        } else {
          return fail(Errc::kInvalidArgument,
                      fmt::format("expecting boolean value for flag {}, not: {}", flag_name, value));
        }
        break;
      }
      case FlagKind::kString:
        if (!has_value) return fail(Errc::kInvalidArgument, fmt::format("missing a value on flag: {}", flag_name));
        out.values[name] = value;
        break;
      case FlagKind::kStrings:
        if (!has_value) return fail(Errc::kInvalidArgument, fmt::format("missing a value on flag: {}", flag_name));
        out.lists[name].push_back(value);
        break;
    }
  }
  return out;
}

}  // namespace hoist::dockerfile::detail
