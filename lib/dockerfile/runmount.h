#pragma once
// RUN --mount values (BuildKit's instructions/commands_runmount.go), parsed after
// expand_command has expanded them.
//
//   type=bind|cache|tmpfs|secret|ssh (default bind), from=, source|src=,
//   target|dst|destination=, readonly|ro[=bool], readwrite|rw[=bool], id=,
//   sharing=shared|private|locked (cache only), required[=bool] (secret, ssh),
//   size= (tmpfs; "64m", "1g": binary units), mode= (octal), uid=, gid= (secret, ssh,
//   cache only), env= (secret)
// Fields are CSV ("target=/a,\"source=x,y\""). Read-only defaults to true except for
// cache and tmpfs. A secret needs a source, target or id and may not have from= or
// sharing=. Errors: kInvalidArgument with BuildKit's messages ("unexpected key 'x' in
// 'x=1'", "unsupported mount type \"nfs\"", ...). Pure; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace hoist::dockerfile {

struct Mount {
  std::string type = "bind";
  std::string from;
  std::string source;
  std::string target;
  bool readonly = true;
  std::string cache_id;
  std::string sharing;  // "" (unset), "shared", "private", "locked"
  bool required = false;
  int64_t size_limit = 0;
  std::optional<uint32_t> mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<std::string> env;
  bool operator==(const Mount&) const = default;
};

Result<Mount> parse_mount(std::string_view spec);

// One CSV line (go-csvvalue): fields split at ',', a field may be "quoted" with ""
// for a quote; a bare quote in an unquoted field is an error.
Result<std::vector<std::string>> split_csv(std::string_view line);
// The inverse: fields joined with ',', quoted where needed.
std::string join_csv(const std::vector<std::string>& fields);

}  // namespace hoist::dockerfile
