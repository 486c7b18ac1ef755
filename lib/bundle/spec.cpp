#include "bundle/spec.h"

#include <map>

namespace hoist::bundle {

namespace {

using json = nlohmann::ordered_json;

bool has_var(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env) {
    auto eq = e.find('=');
    if (std::string_view(e).substr(0, eq) == name) return true;
  }
  return false;
}

json mount(std::string_view dest, std::string_view type, std::string_view source, std::vector<std::string> opts) {
  json m = {{"destination", dest}, {"type", type}, {"source", source}};
  if (!opts.empty()) m["options"] = opts;
  return m;
}

json default_mounts(bool rootless) {
  json ms = json::array();
  ms.push_back(mount("/proc", "proc", "proc", {}));
  ms.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  std::vector<std::string> pts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
  if (!rootless) pts.push_back("gid=5");  // a rootless namespace has no group 5 mapped
  ms.push_back(mount("/dev/pts", "devpts", "devpts", pts));
  ms.push_back(mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  ms.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (rootless)  // sysfs cannot be mounted without a network namespace of one's own
    ms.push_back(mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  else
    ms.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  ms.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  return ms;
}

}  // namespace

Result<nlohmann::ordered_json> make_spec(const image::ImageConfig& config, const User& user,
                                         const SpecOptions& options) {
  const auto& c = config.config;
  std::vector<std::string> args;
  const auto& ep = options.entrypoint ? options.entrypoint : c.entrypoint;
  const auto& cmd = options.cmd ? options.cmd : c.cmd;
  if (ep) args = *ep;
  if (cmd) args.insert(args.end(), cmd->begin(), cmd->end());
  if (args.empty())
    return fail(Errc::kInvalidArgument, "no command to run: the image has neither Entrypoint nor Cmd");

  std::vector<std::string> env = c.env;
  if (!has_var(env, "PATH")) env.insert(env.begin(), std::string(kDefaultPath));
  if (!has_var(env, "HOME")) env.push_back("HOME=" + (user.home.empty() ? std::string("/") : user.home));
  if (options.terminal && !has_var(env, "TERM")) env.push_back("TERM=xterm");

  json juser = {{"uid", user.uid}, {"gid", user.gid}};
  if (!user.additional_gids.empty()) juser["additionalGids"] = user.additional_gids;

  std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  json process = {
      {"terminal", options.terminal},
      {"user", juser},
      {"args", args},
      {"env", env},
      {"cwd", c.working_dir.empty() ? std::string("/") : c.working_dir},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true},
  };

  json lnx = json::object();
  if (options.rootless) {
    lnx["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", options.host_uid}, {"size", 1}}});
    lnx["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", options.host_gid}, {"size", 1}}});
  } else {
    lnx["resources"] = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  }
  json ns = json::array();
  for (const char* n : {"pid", "network", "ipc", "uts", "mount"}) {
    if (options.rootless && std::string_view(n) == "network") continue;
    ns.push_back({{"type", n}});
  }
  if (options.rootless) ns.push_back({{"type", "user"}});
  lnx["namespaces"] = ns;
  lnx["maskedPaths"] = {"/proc/acpi",           "/proc/asound",      "/proc/kcore",       "/proc/keys",
                          "/proc/latency_stats",  "/proc/timer_list",  "/proc/timer_stats", "/proc/sched_debug",
                          "/sys/firmware",        "/proc/scsi"};
  lnx["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

  // Annotations: the implicit ones first, then Labels over them (conversion.md).
  std::map<std::string, std::string> ann;
  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) ann[std::string("org.opencontainers.image.") + key] = v;
  };
  put("os", config.os);
  put("architecture", config.architecture);
  put("variant", config.variant);
  put("os.version", config.os_version);
  if (!config.os_features.empty()) {
    std::string f;
    for (const auto& x : config.os_features) f += (f.empty() ? "" : ",") + x;
    put("os.features", f);
  }
  put("author", config.author);
  put("created", config.created);
  put("stopSignal", c.stop_signal);
  if (!c.exposed_ports.empty()) {
    std::string p;
    for (const auto& x : c.exposed_ports) p += (p.empty() ? "" : ",") + x;
    put("exposedPorts", p);
  }
  for (const auto& [k, v] : c.labels) ann[k] = v;

  json spec = {
      {"ociVersion", kOciVersion},
      {"process", process},
      {"root", {{"path", options.root_path}, {"readonly", options.readonly_root}}},
      {"hostname", options.hostname},
      {"mounts", default_mounts(options.rootless)},
  };
  if (!ann.empty()) spec["annotations"] = ann;
  spec["linux"] = lnx;
  return spec;
}

Result<nlohmann::ordered_json> make_spec_for_rootfs(const image::ImageConfig& config, const sys::Fd& rootfs,
                                                    const SpecOptions& options) {
  User u = HOIST_TRY_CTX(resolve_user_in_rootfs(config.config.user, rootfs), "cannot build config.json");
  return make_spec(config, u, options);
}

}  // namespace hoist::bundle
