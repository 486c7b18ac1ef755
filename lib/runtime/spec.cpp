#include "runtime/spec.h"

#include <nlohmann/json.hpp>

#include <fmt/core.h>

namespace hoist::runtime {

using json = nlohmann::json;

namespace {

// Thrown inside this file only, caught by parse_spec: the JSON walk reads better
// without a Result check at every field. Never leaves the module.
struct BadField {
  std::string message;
};

[[noreturn]] void bad(const std::string& where, std::string_view what) {
  throw BadField{fmt::format("'{}' {}", where, what)};
}

std::string join_path(const std::string& base, std::string_view key) {
  return base.empty() ? std::string(key) : base + "." + std::string(key);
}

const json* member(const json& j, const std::string& base, std::string_view key) {
  if (!j.is_object()) bad(base, "must be an object");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string str(const json& j, const std::string& where) {
  if (!j.is_string()) bad(where, "must be a string");
  return j.get<std::string>();
}

uint64_t u64(const json& j, const std::string& where) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0) return uint64_t(j.get<int64_t>());
  bad(where, "must be a non-negative integer");
}

int64_t i64(const json& j, const std::string& where) {
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_number_unsigned()) return int64_t(j.get<uint64_t>());
  bad(where, "must be an integer");
}

uint32_t u32(const json& j, const std::string& where) {
  uint64_t v = u64(j, where);
  if (v > UINT32_MAX) bad(where, "is out of range");
  return uint32_t(v);
}

bool boolean(const json& j, const std::string& where) {
  if (!j.is_boolean()) bad(where, "must be a boolean");
  return j.get<bool>();
}

std::vector<std::string> strings(const json& j, const std::string& where) {
  if (!j.is_array()) bad(where, "must be an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) out.push_back(str(j[i], fmt::format("{}[{}]", where, i)));
  return out;
}

template <typename F>
void each(const json& j, const std::string& where, F f) {
  if (!j.is_array()) bad(where, "must be an array");
  for (size_t i = 0; i < j.size(); ++i) f(j[i], fmt::format("{}[{}]", where, i));
}

Process process_from(const json& j, const std::string& w) {
  Process p;
  if (auto v = member(j, w, "terminal")) p.terminal = boolean(*v, join_path(w, "terminal"));
  if (auto cs = member(j, w, "consoleSize")) {
    std::string cw = join_path(w, "consoleSize");
    if (auto h = member(*cs, cw, "height")) p.console_height = uint16_t(u32(*h, cw + ".height"));
    if (auto x = member(*cs, cw, "width")) p.console_width = uint16_t(u32(*x, cw + ".width"));
  }
  if (auto u = member(j, w, "user")) {
    std::string uw = join_path(w, "user");
    if (auto v = member(*u, uw, "uid")) p.uid = u32(*v, uw + ".uid");
    if (auto v = member(*u, uw, "gid")) p.gid = u32(*v, uw + ".gid");
    if (auto v = member(*u, uw, "umask")) p.umask = u32(*v, uw + ".umask");
    if (auto v = member(*u, uw, "additionalGids"))
      each(*v, uw + ".additionalGids", [&](const json& g, const std::string& gw) { p.additional_gids.push_back(u32(g, gw)); });
  }
  if (auto v = member(j, w, "args")) p.args = strings(*v, join_path(w, "args"));
  if (auto v = member(j, w, "env")) p.env = strings(*v, join_path(w, "env"));
  if (auto v = member(j, w, "cwd")) p.cwd = str(*v, join_path(w, "cwd"));
  if (auto c = member(j, w, "capabilities")) {
    std::string cw = join_path(w, "capabilities");
    Capabilities caps;
    if (auto v = member(*c, cw, "bounding")) caps.bounding = strings(*v, cw + ".bounding");
    if (auto v = member(*c, cw, "effective")) caps.effective = strings(*v, cw + ".effective");
    if (auto v = member(*c, cw, "inheritable")) caps.inheritable = strings(*v, cw + ".inheritable");
    if (auto v = member(*c, cw, "permitted")) caps.permitted = strings(*v, cw + ".permitted");
    if (auto v = member(*c, cw, "ambient")) caps.ambient = strings(*v, cw + ".ambient");
    p.capabilities = std::move(caps);
  }
  if (auto v = member(j, w, "rlimits"))
    each(*v, join_path(w, "rlimits"), [&](const json& r, const std::string& rw) {
      Rlimit l;
      auto t = member(r, rw, "type");
      if (!t) bad(rw + ".type", "is required");
      l.type = str(*t, rw + ".type");
      if (auto s = member(r, rw, "soft")) l.soft = u64(*s, rw + ".soft");
      if (auto h = member(r, rw, "hard")) l.hard = u64(*h, rw + ".hard");
      p.rlimits.push_back(std::move(l));
    });
  if (auto v = member(j, w, "noNewPrivileges")) p.no_new_privileges = boolean(*v, join_path(w, "noNewPrivileges"));
  if (auto v = member(j, w, "oomScoreAdj")) p.oom_score_adj = int(i64(*v, join_path(w, "oomScoreAdj")));
  return p;
}

std::vector<Hook> hooks_from(const json& j, const std::string& w) {
  std::vector<Hook> out;
  each(j, w, [&](const json& h, const std::string& hw) {
    Hook hook;
    auto p = member(h, hw, "path");
    if (!p) bad(hw + ".path", "is required");
    hook.path = str(*p, hw + ".path");
    if (auto v = member(h, hw, "args")) hook.args = strings(*v, hw + ".args");
    if (auto v = member(h, hw, "env")) hook.env = strings(*v, hw + ".env");
    if (auto v = member(h, hw, "timeout")) {
      hook.timeout = int(i64(*v, hw + ".timeout"));
      if (*hook.timeout <= 0) bad(hw + ".timeout", "must be positive");
    }
    out.push_back(std::move(hook));
  });
  return out;
}

std::vector<IdMapping> mappings_from(const json& j, const std::string& w) {
  std::vector<IdMapping> out;
  each(j, w, [&](const json& m, const std::string& mw) {
    IdMapping im;
    if (auto v = member(m, mw, "containerID")) im.container_id = u32(*v, mw + ".containerID");
    if (auto v = member(m, mw, "hostID")) im.host_id = u32(*v, mw + ".hostID");
    if (auto v = member(m, mw, "size")) im.size = u32(*v, mw + ".size");
    out.push_back(im);
  });
  return out;
}

Seccomp seccomp_from(const json& j, const std::string& w) {
  Seccomp s;
  if (auto v = member(j, w, "defaultAction")) s.default_action = str(*v, w + ".defaultAction");
  else bad(w + ".defaultAction", "is required");
  if (auto v = member(j, w, "defaultErrnoRet")) s.default_errno_ret = u32(*v, w + ".defaultErrnoRet");
  if (auto v = member(j, w, "architectures")) s.architectures = strings(*v, w + ".architectures");
  if (auto v = member(j, w, "flags")) s.flags = strings(*v, w + ".flags");
  if (auto v = member(j, w, "syscalls"))
    each(*v, w + ".syscalls", [&](const json& r, const std::string& rw) {
      SeccompRule rule;
      if (auto n = member(r, rw, "names")) rule.names = strings(*n, rw + ".names");
      if (auto a = member(r, rw, "action")) rule.action = str(*a, rw + ".action");
      else bad(rw + ".action", "is required");
      if (auto e = member(r, rw, "errnoRet")) rule.errno_ret = u32(*e, rw + ".errnoRet");
      if (auto args = member(r, rw, "args"))
        each(*args, rw + ".args", [&](const json& a, const std::string& aw) {
          SeccompArg arg;
          if (auto x = member(a, aw, "index")) arg.index = u32(*x, aw + ".index");
          if (auto x = member(a, aw, "value")) arg.value = u64(*x, aw + ".value");
          if (auto x = member(a, aw, "valueTwo")) arg.value_two = u64(*x, aw + ".valueTwo");
          if (auto x = member(a, aw, "op")) arg.op = str(*x, aw + ".op");
          else bad(aw + ".op", "is required");
          rule.args.push_back(std::move(arg));
        });
      s.syscalls.push_back(std::move(rule));
    });
  return s;
}

Resources resources_from(const json& j, const std::string& w) {
  Resources r;
  if (auto m = member(j, w, "memory")) {
    std::string mw = w + ".memory";
    if (auto v = member(*m, mw, "limit")) r.memory_limit = i64(*v, mw + ".limit");
    if (auto v = member(*m, mw, "swap")) r.memory_swap = i64(*v, mw + ".swap");
    if (auto v = member(*m, mw, "reservation")) r.memory_reservation = i64(*v, mw + ".reservation");
  }
  if (auto c = member(j, w, "cpu")) {
    std::string cw = w + ".cpu";
    if (auto v = member(*c, cw, "shares")) r.cpu_shares = u64(*v, cw + ".shares");
    if (auto v = member(*c, cw, "quota")) r.cpu_quota = i64(*v, cw + ".quota");
    if (auto v = member(*c, cw, "period")) r.cpu_period = u64(*v, cw + ".period");
    if (auto v = member(*c, cw, "cpus")) r.cpuset_cpus = str(*v, cw + ".cpus");
    if (auto v = member(*c, cw, "mems")) r.cpuset_mems = str(*v, cw + ".mems");
  }
  if (auto p = member(j, w, "pids")) {
    if (auto v = member(*p, w + ".pids", "limit")) r.pids_limit = i64(*v, w + ".pids.limit");
  }
  return r;
}

LinuxConfig linux_from(const json& j, const std::string& w, std::vector<std::string>& warnings) {
  LinuxConfig l;
  if (auto v = member(j, w, "namespaces"))
    each(*v, w + ".namespaces", [&](const json& n, const std::string& nw) {
      Namespace ns;
      auto t = member(n, nw, "type");
      if (!t) bad(nw + ".type", "is required");
      ns.type = str(*t, nw + ".type");
      static const char* const kKnown[] = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};
      bool known = false;
      for (auto k : kKnown) known = known || ns.type == k;
      if (!known) bad(nw + ".type", fmt::format("names an unknown namespace '{}'", ns.type));
      if (auto p = member(n, nw, "path")) ns.path = str(*p, nw + ".path");
      for (const auto& o : l.namespaces)
        if (o.type == ns.type) bad(nw, fmt::format("repeats the namespace '{}'", ns.type));
      l.namespaces.push_back(std::move(ns));
    });
  if (auto v = member(j, w, "uidMappings")) l.uid_mappings = mappings_from(*v, w + ".uidMappings");
  if (auto v = member(j, w, "gidMappings")) l.gid_mappings = mappings_from(*v, w + ".gidMappings");
  if (auto v = member(j, w, "devices"))
    each(*v, w + ".devices", [&](const json& d, const std::string& dw) {
      Device dev;
      auto p = member(d, dw, "path");
      if (!p) bad(dw + ".path", "is required");
      dev.path = str(*p, dw + ".path");
      auto t = member(d, dw, "type");
      if (!t) bad(dw + ".type", "is required");
      std::string ts = str(*t, dw + ".type");
      if (ts != "c" && ts != "b" && ts != "u" && ts != "p") bad(dw + ".type", "must be one of c, b, u, p");
      dev.type = ts[0];
      if (auto x = member(d, dw, "major")) dev.major = i64(*x, dw + ".major");
      if (auto x = member(d, dw, "minor")) dev.minor = i64(*x, dw + ".minor");
      if (auto x = member(d, dw, "fileMode")) dev.file_mode = u32(*x, dw + ".fileMode");
      if (auto x = member(d, dw, "uid")) dev.uid = u32(*x, dw + ".uid");
      if (auto x = member(d, dw, "gid")) dev.gid = u32(*x, dw + ".gid");
      l.devices.push_back(std::move(dev));
    });
  if (auto v = member(j, w, "cgroupsPath")) l.cgroups_path = str(*v, w + ".cgroupsPath");
  if (auto v = member(j, w, "resources")) l.resources = resources_from(*v, w + ".resources");
  if (auto v = member(j, w, "sysctl")) {
    if (!v->is_object()) bad(w + ".sysctl", "must be an object");
    for (auto it = v->begin(); it != v->end(); ++it)
      l.sysctl.emplace_back(it.key(), str(it.value(), w + ".sysctl." + it.key()));
  }
  if (auto v = member(j, w, "seccomp")) l.seccomp = seccomp_from(*v, w + ".seccomp");
  if (auto v = member(j, w, "rootfsPropagation")) l.rootfs_propagation = str(*v, w + ".rootfsPropagation");
  if (auto v = member(j, w, "maskedPaths")) l.masked_paths = strings(*v, w + ".maskedPaths");
  if (auto v = member(j, w, "readonlyPaths")) l.readonly_paths = strings(*v, w + ".readonlyPaths");
  if (auto v = member(j, w, "mountLabel"); v && v->is_string() && !v->get<std::string>().empty())
    warnings.push_back("SELinux mount label ignored");
  if (member(j, w, "intelRdt")) warnings.push_back("intelRdt ignored");
  return l;
}

}  // namespace

bool Spec::has_namespace(std::string_view type) const { return find_namespace(type) != nullptr; }

const Namespace* Spec::find_namespace(std::string_view type) const {
  for (const auto& n : linux_cfg.namespaces)
    if (n.type == type) return &n;
  return nullptr;
}

Result<Spec> parse_spec(std::string_view json_text) {
  json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded()) return fail(Errc::kInvalidArgument, "config is not valid JSON");
  if (!j.is_object()) return fail(Errc::kInvalidArgument, "config must be a JSON object");
  Spec s;
  try {
    if (auto v = member(j, "", "ociVersion")) s.oci_version = str(*v, "ociVersion");
    else bad("ociVersion", "is required");
    if (auto p = member(j, "", "process")) {
      s.process = process_from(*p, "process");
      if (auto a = member(*p, "process", "apparmorProfile"); a && a->is_string() && !a->get<std::string>().empty())
        s.warnings.push_back("AppArmor profile ignored");
      if (auto l = member(*p, "process", "selinuxLabel"); l && l->is_string() && !l->get<std::string>().empty())
        s.warnings.push_back("SELinux label ignored");
    }
    if (auto r = member(j, "", "root")) {
      if (auto v = member(*r, "root", "path")) s.root_path = str(*v, "root.path");
      if (auto v = member(*r, "root", "readonly")) s.root_readonly = boolean(*v, "root.readonly");
    }
    if (auto v = member(j, "", "hostname")) s.hostname = str(*v, "hostname");
    if (auto v = member(j, "", "domainname")) s.domainname = str(*v, "domainname");
    if (auto v = member(j, "", "mounts"))
      each(*v, "mounts", [&](const json& m, const std::string& mw) {
        Mount mount;
        auto d = member(m, mw, "destination");
        if (!d) bad(mw + ".destination", "is required");
        mount.destination = str(*d, mw + ".destination");
        if (auto x = member(m, mw, "type")) mount.type = str(*x, mw + ".type");
        if (auto x = member(m, mw, "source")) mount.source = str(*x, mw + ".source");
        if (auto x = member(m, mw, "options")) mount.options = strings(*x, mw + ".options");
        s.mounts.push_back(std::move(mount));
      });
    if (auto h = member(j, "", "hooks")) {
      if (auto v = member(*h, "hooks", "prestart")) s.hooks.prestart = hooks_from(*v, "hooks.prestart");
      if (auto v = member(*h, "hooks", "createRuntime")) s.hooks.create_runtime = hooks_from(*v, "hooks.createRuntime");
      if (auto v = member(*h, "hooks", "createContainer"))
        s.hooks.create_container = hooks_from(*v, "hooks.createContainer");
      if (auto v = member(*h, "hooks", "startContainer"))
        s.hooks.start_container = hooks_from(*v, "hooks.startContainer");
      if (auto v = member(*h, "hooks", "poststart")) s.hooks.poststart = hooks_from(*v, "hooks.poststart");
      if (auto v = member(*h, "hooks", "poststop")) s.hooks.poststop = hooks_from(*v, "hooks.poststop");
    }
    if (auto l = member(j, "", "linux")) s.linux_cfg = linux_from(*l, "linux", s.warnings);
    if (auto a = member(j, "", "annotations")) {
      if (!a->is_object()) bad("annotations", "must be an object");
      for (auto it = a->begin(); it != a->end(); ++it) s.annotations.emplace_back(it.key(), str(it.value(), "annotations." + it.key()));
    }
  } catch (const BadField& e) {
    return fail(Errc::kInvalidArgument, "invalid config: " + e.message);
  }
  return s;
}

Result<Process> parse_process(std::string_view json_text) {
  json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::kInvalidArgument, "process is not a JSON object");
  try {
    return process_from(j, "process");
  } catch (const BadField& e) {
    return fail(Errc::kInvalidArgument, "invalid process: " + e.message);
  }
}

std::string default_spec_json(bool rootless, uint32_t uid, uint32_t gid) {
  json caps = json::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  json spec = {
      {"ociVersion", "1.0.2-dev"},
      {"process",
       {{"terminal", true},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"sh"}},
        {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "runc"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
        {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"},
         {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
         {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
         {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}}}},
      {"linux",
       {{"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
        {"namespaces",
         {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}}},
        {"maskedPaths",
         {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
        {"readonlyPaths",
         {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}},
  };
  if (rootless) {
    auto& l = spec["linux"];
    l["uidMappings"] = {{{"containerID", 0}, {"hostID", uid}, {"size", 1}}};
    l["gidMappings"] = {{{"containerID", 0}, {"hostID", gid}, {"size", 1}}};
    l["namespaces"] = {{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}, {{"type", "user"}}};
    l.erase("resources");
    // Without a network namespace sysfs cannot be mounted: bind the host's, as runc does.
    auto& mounts = spec["mounts"];
    for (auto& m : mounts) {
      if (m["destination"] == "/sys") {
        m = {{"destination", "/sys"}, {"type", "none"}, {"source", "/sys"},
             {"options", {"rbind", "nosuid", "noexec", "nodev", "ro"}}};
      }
      if (m["destination"] == "/dev/pts") m["options"] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
    }
    mounts.erase(std::remove_if(mounts.begin(), mounts.end(),
                                [](const json& m) { return m["destination"] == "/sys/fs/cgroup"; }),
                 mounts.end());
  }
  return spec.dump(1, '\t');
}

}  // namespace hoist::runtime
