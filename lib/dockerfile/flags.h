#pragma once
// Internal to lib/dockerfile: instruction flags (BuildKit's instructions/bflag.go). The
// parser validates every instruction's flags with these; instructions.cpp reads values.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace hoist::dockerfile::detail {

enum class FlagKind : uint8_t { kBool, kString, kStrings };

struct FlagSpec {
  std::string_view name;  // without "--"
  FlagKind kind;
};

// The flags `keyword` (lower case) accepts; empty for instructions that take none.
std::vector<FlagSpec> flag_specs(std::string_view keyword);

struct FlagValues {
  std::map<std::string, std::string, std::less<>> values;                // bool ("true"/"false") and string flags
  std::map<std::string, std::vector<std::string>, std::less<>> lists;    // multi-valued flags
  std::vector<std::string> used;                                         // names given, in order, once each

  bool has(std::string_view name) const;
  std::string get(std::string_view name, std::string_view fallback = "") const;
  bool flag(std::string_view name) const { return get(name) == "true"; }
  std::vector<std::string> list(std::string_view name) const;
};

// Parses "--name[=value]" words against `specs`. Errors (messages as BuildKit's):
//   unknown flag: --x (did you mean --y?) | missing a value on flag: --x |
//   expecting boolean value for flag --x, not: v | duplicate flag specified: --x
Result<FlagValues> parse_flags(const std::vector<std::string>& flags, const std::vector<FlagSpec>& specs);

// The closest candidate within edit distance 2 (BuildKit's suggest.Search), or "".
std::string suggest(std::string_view value, const std::vector<std::string>& candidates, bool case_sensitive);

}  // namespace hoist::dockerfile::detail
