#pragma once
// runtime::CgroupManager: a container's cgroup, on cgroup v1 (one directory per
// controller hierarchy, plus the empty v2 hierarchy of a hybrid machine) or v2
// (one unified directory). crun's manager struct; both are tested against a
// fake /sys/fs/cgroup tree in a temp directory.
//
// Paths: cgroupsPath "/a/b" is taken from each hierarchy's root; a relative
// path, or none ("/hoist/<id>" then), likewise - hoist-run does not nest under
// its own cgroup (runc's cgroupfs driver does the same).

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/spec.h"

namespace hoist::runtime {

class CgroupManager {
 public:
  virtual ~CgroupManager() = default;
  // Creates the directories (missing parents too).
  virtual Result<> create() = 0;
  // Writes the limits; kUnsupported when a controller asked for is absent.
  virtual Result<> apply(const Resources& r) = 0;
  // Moves `pid` into the container's cgroup(s).
  virtual Result<> add(pid_t pid) = 0;
  virtual Result<std::vector<pid_t>> pids() = 0;
  // Removes the directories; processes must be gone (retries while busy).
  virtual Result<> destroy() = 0;
  // Every directory this manager owns, for the state file and for reopening.
  virtual std::vector<std::string> dirs() const = 0;
};

// One line of /proc/self/mountinfo that is a cgroup mount.
struct CgroupMount {
  std::string mount_point;          // "/sys/fs/cgroup/memory"
  std::vector<std::string> controllers;  // {"memory"}; {"name=systemd"}; v2: {}
  bool v2 = false;
};

// Parses mountinfo text; pure.
std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo);

// The managers. `mounts` lists the hierarchies (from parse_cgroup_mounts).
std::unique_ptr<CgroupManager> make_cgroup_v1(std::vector<CgroupMount> mounts, std::string path);
std::unique_ptr<CgroupManager> make_cgroup_v2(std::string unified_root, std::string path);

// Picks v2 when "/" of the cgroup mounts is a cgroup2 with controllers (pure v2),
// else v1 (with the hybrid's unified tree joined too). `path` as above.
Result<std::unique_ptr<CgroupManager>> open_cgroups(std::string_view cgroups_path, std::string_view id);

// A manager over directories recorded earlier (state file): pids and destroy only.
std::unique_ptr<CgroupManager> reopen_cgroups(std::vector<std::string> dirs);

}  // namespace hoist::runtime
