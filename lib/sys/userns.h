#pragma once
// User namespaces for unprivileged builds: whether this process is in the
// initial one, and entering a new one as its root (user_namespaces(7)).
//
// enter_user_namespace() maps the caller's uid and gid to 0 and, when
// /etc/subuid and /etc/subgid give the user ranges and newuidmap/newgidmap
// (the setuid helpers of Debian's uidmap) are installed, those ranges to
// 1..N, written by the helpers (what podman and buildah do). Otherwise one
// id is mapped (0 -> the caller), written by the process itself after
// denying setgroups: then only id 0 exists inside. Not thread-safe: call it
// while the process has one thread (unshare(CLONE_NEWUSER) refuses others).

#include <cstdint>
#include <string>
#include <vector>

#include "util/result.h"

namespace hoist::sys {

struct IdRange {
  uint32_t inside = 0;
  uint32_t outside = 0;
  uint32_t count = 0;
};

struct UserNamespace {
  std::vector<IdRange> uids, gids;
  bool subordinate = false;  // the /etc/subuid ranges are mapped
  std::string why_single;    // when not: why ("no entry for 'u' in /etc/subuid", ...)
  std::string describe() const;  // "uid 0->1000, 1-65536->100000; gid ..."
};

// False inside any user namespace but the first (uid_map is not the
// identity "0 0 4294967295"). Cached after the first call.
bool in_initial_user_namespace();

// The first range /etc/subuid (or /etc/subgid) gives `user` (by name or by
// id); nullopt-like empty range (count 0) when none. `path` for tests.
IdRange subordinate_range(const std::string& path, const std::string& user, uint32_t id);

Result<UserNamespace> enter_user_namespace();

// Whether this process's user namespace maps group id `gid` (/proc/self/gid_map).
bool gid_mapped(uint32_t gid);

}  // namespace hoist::sys
