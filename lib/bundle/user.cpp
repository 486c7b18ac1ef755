#include "bundle/user.h"

#include <fcntl.h>
#include <unistd.h>

#include "sys/file_io.h"
#include "sys/openat2.h"
#include "util/strings.h"

namespace hoist::bundle {

namespace {

constexpr size_t kMaxDbFile = size_t{4} << 20;

struct PasswdEntry {
  std::string name;
  uint32_t uid;
  uint32_t gid;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid;
  std::vector<std::string> members;
};

std::optional<uint32_t> parse_id(std::string_view s) {
  auto v = parse_u64(s);
  if (!v || *v > 0xffffffffu) return std::nullopt;
  return uint32_t(*v);
}

// name:password:uid:gid:gecos:home:shell; malformed lines are skipped (as libc does).
std::vector<PasswdEntry> parse_passwd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (auto line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto f = split(line, ':');
    if (f.size() < 4) continue;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) continue;
    out.push_back({std::string(f[0]), *uid, *gid, f.size() > 5 ? std::string(f[5]) : std::string()});
  }
  return out;
}

// name:password:gid:member,member
std::vector<GroupEntry> parse_group(std::string_view text) {
  std::vector<GroupEntry> out;
  for (auto line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto f = split(line, ':');
    if (f.size() < 3) continue;
    auto gid = parse_id(f[2]);
    if (!gid) continue;
    GroupEntry g{std::string(f[0]), *gid, {}};
    if (f.size() > 3)
      for (auto m : split(f[3], ','))
        if (!trim(m).empty()) g.members.emplace_back(trim(m));
    out.push_back(std::move(g));
  }
  return out;
}

Error not_found(std::string_view spec, std::string_view why) {
  return Error(Errc::kNotFound, "cannot resolve user '" + std::string(spec) + "': " + std::string(why));
}

Result<std::optional<std::string>> read_in_root(const sys::Fd& root, const char* path) {
  int fd = sys::open_in_root_raw(root.get(), path, O_RDONLY);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return fail(Error::from_errno(errno, std::string("cannot open '/") + path + "' in the rootfs"));
  }
  sys::Fd f(fd);
  std::string out;
  char buf[65536];
  for (;;) {
    auto n = sys::read_some(f.get(), std::as_writable_bytes(std::span(buf)));
    if (!n) return fail(std::move(n).error().context(std::string("cannot read '/") + path + "'"));
    if (*n == 0) break;
    out.append(buf, *n);
    if (out.size() > kMaxDbFile)
      return fail(Errc::kInvalidArgument, std::string("'/") + path + "' in the rootfs is too large");
  }
  return std::optional<std::string>(std::move(out));
}

}  // namespace

Result<User> resolve_user(std::string_view spec, std::optional<std::string_view> passwd,
                          std::optional<std::string_view> group) {
  auto users = passwd ? parse_passwd(*passwd) : std::vector<PasswdEntry>();
  auto groups = group ? parse_group(*group) : std::vector<GroupEntry>();
  User u;
  std::string_view user_part = spec, group_part;
  bool has_group = false;
  if (auto c = spec.find(':'); c != std::string_view::npos) {
    user_part = spec.substr(0, c);
    group_part = spec.substr(c + 1);
    has_group = true;
  }
  if (user_part.empty() && has_group) return fail(not_found(spec, "empty user name"));
  if (user_part.empty()) user_part = "0";

  const PasswdEntry* pw = nullptr;
  if (auto id = parse_id(user_part)) {
    u.uid = *id;
    for (const auto& e : users)
      if (e.uid == *id) {
        pw = &e;
        break;
      }
    u.gid = pw ? pw->gid : 0;
  } else {
    if (!passwd) return fail(not_found(spec, "no /etc/passwd in the rootfs"));
    for (const auto& e : users)
      if (e.name == user_part) {
        pw = &e;
        break;
      }
    if (!pw) return fail(not_found(spec, "no such user in /etc/passwd"));
    u.uid = pw->uid;
    u.gid = pw->gid;
  }
  if (pw) u.home = pw->home;

  if (has_group) {
    if (group_part.empty()) return fail(not_found(spec, "empty group name"));
    if (auto id = parse_id(group_part)) {
      u.gid = *id;
    } else {
      if (!group) return fail(not_found(spec, "no /etc/group in the rootfs"));
      const GroupEntry* g = nullptr;
      for (const auto& e : groups)
        if (e.name == group_part) {
          g = &e;
          break;
        }
      if (!g) return fail(not_found(spec, "no such group in /etc/group"));
      u.gid = g->gid;
    }
    return u;
  }
  // A user name (not a number): its supplementary groups (conversion.md).
  if (!parse_id(user_part) && pw) {
    for (const auto& g : groups) {
      if (g.gid == u.gid) continue;
      for (const auto& m : g.members)
        if (m == pw->name) {
          u.additional_gids.push_back(g.gid);
          break;
        }
    }
  }
  return u;
}

Result<User> resolve_user_in_rootfs(std::string_view spec, const sys::Fd& rootfs) {
  auto passwd = HOIST_TRY(read_in_root(rootfs, "etc/passwd"));
  auto group = HOIST_TRY(read_in_root(rootfs, "etc/group"));
  std::optional<std::string_view> pv, gv;
  if (passwd) pv = *passwd;
  if (group) gv = *group;
  return resolve_user(spec, pv, gv);
}

}  // namespace hoist::bundle
