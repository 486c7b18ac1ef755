#pragma once
// Config.User -> process.user (image-spec conversion.md "Config.User"), resolved
// through the rootfs's /etc/passwd and /etc/group.
//
//   ""            uid 0, gid 0 (and root's passwd entry for HOME when present)
//   "name"        passwd entry: uid, gid; additionalGids from /etc/group membership
//   "1000"        uid 1000; gid from the passwd entry with that uid, else 0
//   "u:g"         each side numeric verbatim or a name resolved; no additionalGids
// A name that does not resolve is an error (conversion.md: MUST), kNotFound
// "cannot resolve user 'app': no such user in /etc/passwd".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sys/fd.h"
#include "util/result.h"

namespace hoist::bundle {

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string home;  // from passwd, "" when unknown
};

// Pure: `passwd` / `group` are the files' contents, nullopt when absent.
Result<User> resolve_user(std::string_view spec, std::optional<std::string_view> passwd,
                          std::optional<std::string_view> group);

// Reads etc/passwd and etc/group inside `rootfs` (resolved in it, sys/openat2.h).
Result<User> resolve_user_in_rootfs(std::string_view spec, const sys::Fd& rootfs);

}  // namespace hoist::bundle
