#include "runtime/mounts.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <fmt/core.h>

namespace hoist::runtime {

namespace {

struct FlagOpt {
  const char* name;
  bool clear;
  unsigned long flag;
};

// runc's mountPropagationMapping and mountFlags table (libcontainer/specconv).
constexpr FlagOpt kFlags[] = {
    {"async", true, MS_SYNCHRONOUS},     {"atime", true, MS_NOATIME},       {"bind", false, MS_BIND},
    {"defaults", false, 0},              {"dev", true, MS_NODEV},           {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},      {"exec", true, MS_NOEXEC},         {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},      {"nodev", false, MS_NODEV},        {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},        {"nomand", true, MS_MANDLOCK},     {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"nosuid", false, MS_NOSUID}, {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},    {"remount", false, MS_REMOUNT},    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},             {"strictatime", false, MS_STRICTATIME}, {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

struct PropOpt {
  const char* name;
  unsigned long flag;
};

constexpr PropOpt kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},   {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC}, {"slave", MS_SLAVE},               {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Options runc accepts and ignores (copy-up is a crun/cri-o extension).
constexpr const char* kIgnored[] = {"tmpcopyup", "notmpcopyup", "copy-symlink", "src-nofollow", "dest-nofollow"};

void add_device(std::vector<MountOp>& ops, const Device& d) {
  MountOp op;
  op.kind = OpKind::kDevice;
  op.target = clean_path(d.path);
  mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
  op.mode = type | (d.file_mode ? (*d.file_mode & 07777) : 0666);
  op.major = uint32_t(d.major);
  op.minor = uint32_t(d.minor);
  op.uid = d.uid.value_or(0);
  op.gid = d.gid.value_or(0);
  op.source = op.target;  // the host node bound in when mknod is not allowed
  for (auto& o : ops)
    if (o.kind == OpKind::kDevice && o.target == op.target) {
      o = op;
      return;
    }
  ops.push_back(std::move(op));
}

void add_symlink(std::vector<MountOp>& ops, std::string target, std::string link) {
  MountOp op;
  op.kind = OpKind::kSymlink;
  op.target = std::move(target);
  op.link_target = std::move(link);
  ops.push_back(std::move(op));
}

}  // namespace

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions out;
  for (const auto& o : options) {
    bool known = false;
    for (const auto& f : kFlags) {
      if (o != f.name) continue;
      known = true;
      if (f.clear) out.flags &= ~f.flag;
      else out.flags |= f.flag;
      if (o == "bind") out.bind = true;
      if (o == "rbind") out.bind = out.recursive = true;
    }
    for (const auto& p : kPropagation)
      if (o == p.name) {
        known = true;
        out.propagation = p.flag;
      }
    for (const char* i : kIgnored) known = known || o == i;
    if (!known) {
      if (!out.data.empty()) out.data += ',';
      out.data += o;
    }
  }
  out.flags &= ~(MS_BIND | MS_REC);
  return out;
}

std::string clean_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    i = j + 1;
  }
  std::string out;
  for (auto p : parts) {
    out += '/';
    out += p;
  }
  return out.empty() ? "/" : out;
}

std::vector<Device> default_devices() {
  auto dev = [](const char* path, int64_t major, int64_t minor) {
    Device d;
    d.path = path;
    d.type = 'c';
    d.major = major;
    d.minor = minor;
    d.file_mode = 0666;
    return d;
  };
  return {dev("/dev/null", 1, 3), dev("/dev/zero", 1, 5),    dev("/dev/full", 1, 7),
          dev("/dev/random", 1, 8), dev("/dev/urandom", 1, 9), dev("/dev/tty", 5, 0)};
}

Result<std::vector<MountOp>> plan_mounts(const Spec& spec, std::string_view bundle) {
  std::vector<MountOp> ops;
  bool dev_from_host = false;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const Mount& m = spec.mounts[i];
    if (m.destination.empty()) return fail(Errc::kInvalidArgument, fmt::format("mounts[{}] has no destination", i));
    MountOptions mo = parse_mount_options(m.options);
    MountOp op;
    op.target = clean_path(m.destination);
    op.flags = mo.flags;
    op.propagation = mo.propagation;
    op.data = mo.data;
    op.fstype = m.type;
    if (mo.bind || m.type == "bind") {
      op.kind = OpKind::kBind;
      op.recursive = mo.recursive;
      if (m.source.empty()) return fail(Errc::kInvalidArgument, fmt::format("bind mount on '{}' has no source", op.target));
      op.source = m.source[0] == '/' ? m.source : clean_path(std::string(bundle) + "/" + m.source);
      if (op.target == "/dev") dev_from_host = true;
    } else if (m.type == "cgroup" || m.type == "cgroup2") {
      op.kind = OpKind::kCgroup;
      op.source = m.source;
    } else {
      if (m.type.empty()) return fail(Errc::kInvalidArgument, fmt::format("mount on '{}' has no type", op.target));
      op.kind = OpKind::kMount;
      op.source = m.source.empty() ? m.type : m.source;
    }
    ops.push_back(std::move(op));
  }
  if (!dev_from_host) {
    std::vector<MountOp> devs;
    for (const auto& d : default_devices()) add_device(devs, d);
    for (const auto& d : spec.linux_cfg.devices) add_device(devs, d);
    for (auto& d : devs) ops.push_back(std::move(d));
    add_symlink(ops, "/dev/fd", "/proc/self/fd");
    add_symlink(ops, "/dev/stdin", "/proc/self/fd/0");
    add_symlink(ops, "/dev/stdout", "/proc/self/fd/1");
    add_symlink(ops, "/dev/stderr", "/proc/self/fd/2");
    add_symlink(ops, "/dev/ptmx", "pts/ptmx");
  }
  return ops;
}

ParentMount parent_mount(std::string_view mountinfo, std::string_view path) {
  ParentMount best;
  size_t best_len = 0;
  size_t pos = 0;
  while (pos < mountinfo.size()) {
    size_t end = mountinfo.find('\n', pos);
    if (end == std::string_view::npos) end = mountinfo.size();
    std::string_view line = mountinfo.substr(pos, end - pos);
    pos = end + 1;
    // id parent maj:min root mount-point options [optional...] - fstype ...
    std::vector<std::string_view> f;
    for (size_t i = 0; i <= line.size();) {
      size_t j = line.find(' ', i);
      if (j == std::string_view::npos) j = line.size();
      f.push_back(line.substr(i, j - i));
      i = j + 1;
    }
    if (f.size() < 7) continue;
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    std::string mp;
    for (size_t i = 0; i < f[4].size(); ++i) {
      if (f[4][i] == '\\' && i + 3 < f[4].size()) {
        mp += char((f[4][i + 1] - '0') * 64 + (f[4][i + 2] - '0') * 8 + (f[4][i + 3] - '0'));
        i += 3;
      } else {
        mp += f[4][i];
      }
    }
    bool under = mp == "/" || path == mp || (path.starts_with(mp) && path.size() > mp.size() && path[mp.size()] == '/');
    if (!under || mp.size() < best_len) continue;
    best_len = mp.size();
    best.mount_point = mp;
    best.shared = false;
    for (size_t i = 6; i < f.size() && f[i] != "-"; ++i)
      if (f[i].starts_with("shared:")) best.shared = true;
  }
  return best;
}

bool parent_stays_shared(const ParentMount& parent, unsigned long prop) {
  if (prop & MS_REC) return (prop & MS_SHARED) != 0;   // applied to every mount
  if (parent.mount_point == "/") return (prop & MS_SHARED) != 0;  // applied to "/" only
  return parent.shared;
}

Result<unsigned long> plan_root_propagation(const Spec& spec) {
  const std::string& p = spec.linux_cfg.rootfs_propagation;
  if (p.empty()) return MS_SLAVE | MS_REC;
  for (const auto& o : kPropagation)
    if (p == o.name) return o.flag;
  return fail(Errc::kInvalidArgument, "invalid rootfsPropagation '" + p + "'");
}

}  // namespace hoist::runtime
