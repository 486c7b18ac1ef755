#include "runtime/cgroup.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include "sys/file_io.h"

using namespace hoist;

namespace {

constexpr const char* kMountinfo =
    "24 1 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
    "30 24 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "33 30 0:29 / /sys/fs/cgroup/systemd rw,relatime shared:9 - cgroup cgroup rw,xattr,name=systemd\n"
    "34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "35 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    // The same hierarchies again elsewhere: a stray full mount, a container's bound view.
    "36 24 0:28 / /tmp/x/memory rw,relatime - cgroup cgroup rw,memory\n"
    "37 24 0:30 /hoist/c1 /tmp/x/unified rw,relatime - cgroup2 cgroup2 rw\n";

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/hoist-cgroup-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { (void)sys::remove_all(path); }
};

std::string read(const std::string& p) { return sys::read_file(p, 1024).value_or("<missing>"); }

}  // namespace

TEST_CASE("parse_cgroup_mounts finds v1 controllers, named and v2 hierarchies") {
  auto m = runtime::parse_cgroup_mounts(kMountinfo);
  REQUIRE(m.size() == 4);  // the second cpu, memory and unified mounts are dropped
  CHECK(m[0].mount_point == "/sys/fs/cgroup/cpu");
  CHECK(m[0].controllers == std::vector<std::string>{"cpu"});
  CHECK(m[2].controllers == std::vector<std::string>{"name=systemd"});
  CHECK(m[3].v2);
  CHECK(m[3].mount_point == "/sys/fs/cgroup/unified");
}

TEST_CASE("v1 manager: directories per controller, limits, cpuset inheritance, destroy") {
  TempDir t;
  std::vector<runtime::CgroupMount> mounts = {{t.path + "/memory", {"memory"}, false},
                                              {t.path + "/cpuset", {"cpuset"}, false},
                                              {t.path + "/pids", {"pids"}, false}};
  for (const auto& m : mounts) REQUIRE(sys::mkdir_all(m.mount_point).has_value());
  REQUIRE(sys::write_file_atomic(t.path + "/cpuset/cpuset.cpus", "0-1\n").has_value());
  REQUIRE(sys::write_file_atomic(t.path + "/cpuset/cpuset.mems", "0\n").has_value());
  auto cg = runtime::make_cgroup_v1(mounts, "/a/b");
  REQUIRE(cg->create().has_value());
  CHECK(read(t.path + "/cpuset/a/cpuset.cpus") == "0-1");
  CHECK(read(t.path + "/cpuset/a/b/cpuset.mems") == "0");
  runtime::Resources r;
  r.memory_limit = 1 << 20;
  r.pids_limit = 7;
  r.cpuset_cpus = "1";
  REQUIRE(cg->apply(r).has_value());
  CHECK(read(t.path + "/memory/a/b/memory.limit_in_bytes") == "1048576");
  CHECK(read(t.path + "/pids/a/b/pids.max") == "7");
  CHECK(read(t.path + "/cpuset/a/b/cpuset.cpus") == "1");
  r = {};
  r.cpu_shares = 100;
  auto missing = cg->apply(r);
  REQUIRE(!missing);
  CHECK(missing.error().code() == Errc::kUnsupported);
  REQUIRE(cg->add(42).has_value());
  CHECK(read(t.path + "/pids/a/b/cgroup.procs") == "42");
  CHECK(cg->pids().value() == std::vector<pid_t>{42});
  CHECK(cg->dirs().size() == 3);
}

TEST_CASE("v2 manager: delegation and unified limits") {
  TempDir t;
  REQUIRE(sys::write_file_atomic(t.path + "/cgroup.controllers", "cpuset cpu io memory pids\n").has_value());
  auto cg = runtime::make_cgroup_v2(t.path, "/c1");
  REQUIRE(cg->create().has_value());
  CHECK(read(t.path + "/cgroup.subtree_control") == "+cpu +cpuset +memory +pids");
  runtime::Resources r;
  r.memory_limit = 4096;
  r.memory_swap = 8192;
  r.cpu_shares = 1024;
  r.cpu_quota = 50000;
  r.pids_limit = -1;
  REQUIRE(cg->apply(r).has_value());
  CHECK(read(t.path + "/c1/memory.max") == "4096");
  CHECK(read(t.path + "/c1/memory.swap.max") == "4096");
  CHECK(read(t.path + "/c1/cpu.weight") == "39");
  CHECK(read(t.path + "/c1/cpu.max") == "50000 100000");
  CHECK(read(t.path + "/c1/pids.max") == "max");
  CHECK(cg->dirs() == std::vector<std::string>{t.path + "/c1"});
}
