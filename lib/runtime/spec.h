#pragma once
// The OCI runtime-spec config.json (runtime-spec v1.0/v1.1, Linux only) as plain
// values. parse_spec() is strict about types and lenient about unknown fields,
// like runc. Fields hoist-run ignores (apparmor, selinux labels, windows, ...)
// are reported in Spec::warnings.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace hoist::runtime {

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Process {
  bool terminal = false;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  uint16_t console_width = 0, console_height = 0;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // join instead of create when set
};

struct IdMapping {
  uint32_t container_id = 0, host_id = 0, size = 0;
};

struct Device {
  std::string path;
  char type = 'c';  // c, b, u, p
  int64_t major = 0, minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid, gid;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0, value_two = 0;
  std::string op;  // SCMP_CMP_EQ ...
};

struct SeccompRule {
  std::vector<std::string> names;
  std::string action;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::vector<SeccompRule> syscalls;
};

struct Resources {
  std::optional<int64_t> memory_limit, memory_swap, memory_reservation;
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;
  std::optional<uint64_t> cpu_period;
  std::string cpuset_cpus, cpuset_mems;
  std::optional<int64_t> pids_limit;
};

struct LinuxConfig {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::vector<std::pair<std::string, std::string>> sysctl;
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation;
  std::vector<std::string> masked_paths, readonly_paths;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  std::string root_path = "rootfs";
  bool root_readonly = false;
  std::string hostname, domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  LinuxConfig linux_cfg;  // "linux" (a predefined macro in GNU C++)
  std::vector<std::pair<std::string, std::string>> annotations;
  std::vector<std::string> warnings;

  bool has_namespace(std::string_view type) const;
  const Namespace* find_namespace(std::string_view type) const;
};

// kInvalidArgument with the JSON path of the offending field ("process.user.uid").
Result<Spec> parse_spec(std::string_view json_text);
Result<Process> parse_process(std::string_view json_text);  // exec --process FILE

// runc's `spec` output: a busybox-ready config for `sh`; rootless adds a user
// namespace mapping the caller's uid/gid and drops the network namespace.
std::string default_spec_json(bool rootless, uint32_t uid, uint32_t gid);

}  // namespace hoist::runtime
