#pragma once
// User namespaces for unprivileged builds: whether this process is in the
// initial one, and entering a new one as its root (user_namespaces(7)).
//
// enter_user_namespace() maps the caller's uid and gid to 0 and, when the
// caller is root with CAP_SETUID and CAP_SETGID (a CI job container without
// CAP_SYS_ADMIN), every id of its own namespace to itself; else, when
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
  bool subordinate = false;  // more than one id is mapped (/etc/subuid ranges, or a root's own ids)
  std::string source;        // "/etc/subuid, /etc/subgid", "root's own ids", "one id only: WHY"
  std::string why_single;    // with one id: why ("no range for 'u' in /etc/subuid", ...)
  std::string describe() const;  // "uid 0->1000, 1-65536->100000; gid ..."
};

// False inside any user namespace but the first (uid_map is not the
// identity "0 0 4294967295"). Cached after the first call.
bool in_initial_user_namespace();

// The first range /etc/subuid (or /etc/subgid) gives `user` (by name or by
// id); nullopt-like empty range (count 0) when none. `path` for tests.
IdRange subordinate_range(const std::string& path, const std::string& user, uint32_t id);

Result<UserNamespace> enter_user_namespace();

// Whether the process has capability `cap` (CAP_SYS_ADMIN, ...) in its
// effective set (/proc/self/status CapEff).
bool has_effective_cap(int cap);

// Whether this process's user namespace maps group id `gid` (/proc/self/gid_map).
bool gid_mapped(uint32_t gid);

}  // namespace hoist::sys
