#include "runtime/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "sys/file_io.h"
#include "sys/process.h"
#include "util/strings.h"

namespace hoist::runtime {

namespace {

Result<> write_value(const std::string& dir, std::string_view file, std::string_view value) {
  std::string path = dir + "/" + std::string(file);
  // O_CREAT is a no-op on cgroupfs (its files exist or cannot be made) and
  // lets the managers run against a fake tree in tests.
  auto fd = sys::open_file(path, O_WRONLY | O_TRUNC | O_CREAT);
  if (!fd) return fail(std::move(fd).error().context("cannot set '" + std::string(file) + "'"));
  auto w = sys::write_all(fd->get(), value);
  if (!w) return fail(std::move(w).error().context("cannot write '" + std::string(value) + "' to '" + path + "'"));
  return {};
}

std::string read_trimmed(const std::string& path) {
  auto t = sys::read_file(path, 1 << 16);
  return t ? std::string(trim(*t)) : std::string();
}

Result<> rmdir_retry(const std::string& dir) {
  // The last process may still be exiting: rmdir says EBUSY until it is gone.
  for (int i = 0; i < 100; ++i) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fail(Error::from_errno(errno, "cannot remove cgroup '" + dir + "'"));
}

std::vector<pid_t> collect_pids(const std::vector<std::string>& dirs) {
  std::vector<pid_t> out;
  for (const auto& d : dirs) {
    auto p = sys::read_pids(d + "/cgroup.procs");
    if (!p) continue;
    for (pid_t x : *p)
      if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  }
  return out;
}

class CgroupV1 final : public CgroupManager {
 public:
  CgroupV1(std::vector<CgroupMount> mounts, std::string path) : mounts_(std::move(mounts)), path_(std::move(path)) {}

  Result<> create() override {
    for (const auto& m : mounts_) {
      std::string dir = m.mount_point + path_;
      // cpuset: a new v1 cgroup starts with empty cpus/mems and refuses tasks
      // until they are set; copy them down from the parent at each new level.
      bool cpuset = has(m, "cpuset");
      std::string cur = m.mount_point;
      for (auto part : split(path_, '/')) {
        if (part.empty()) continue;
        std::string next = cur + "/" + std::string(part);
        if (::mkdir(next.c_str(), 0755) < 0 && errno != EEXIST)
          return fail(Error::from_errno(errno, "cannot create cgroup '" + next + "'"));
        if (cpuset) {
          for (const char* f : {"cpuset.cpus", "cpuset.mems"})
            if (read_trimmed(next + "/" + f).empty()) HOIST_CHECK(write_value(next, f, read_trimmed(cur + "/" + f)));
        }
        cur = next;
      }
      dirs_.push_back(dir);
    }
    return {};
  }

  Result<> apply(const Resources& r) override {
    if (r.memory_limit || r.memory_swap || r.memory_reservation) {
      std::string d = HOIST_TRY(dir_of("memory"));
      if (r.memory_limit) HOIST_CHECK(write_value(d, "memory.limit_in_bytes", std::to_string(*r.memory_limit)));
      if (r.memory_reservation)
        HOIST_CHECK(write_value(d, "memory.soft_limit_in_bytes", std::to_string(*r.memory_reservation)));
      // v1's memsw is memory + swap, like the spec's "swap"; -1 is unlimited.
      if (r.memory_swap && sys::exists(d + "/memory.memsw.limit_in_bytes"))
        HOIST_CHECK(write_value(d, "memory.memsw.limit_in_bytes", std::to_string(*r.memory_swap)));
    }
    if (r.cpu_shares || r.cpu_quota || r.cpu_period) {
      std::string d = HOIST_TRY(dir_of("cpu"));
      if (r.cpu_shares) HOIST_CHECK(write_value(d, "cpu.shares", std::to_string(*r.cpu_shares)));
      // Ordering: the period first, a quota is checked against it.
      if (r.cpu_period) HOIST_CHECK(write_value(d, "cpu.cfs_period_us", std::to_string(*r.cpu_period)));
      if (r.cpu_quota) HOIST_CHECK(write_value(d, "cpu.cfs_quota_us", std::to_string(*r.cpu_quota)));
    }
    if (!r.cpuset_cpus.empty() || !r.cpuset_mems.empty()) {
      std::string d = HOIST_TRY(dir_of("cpuset"));
      if (!r.cpuset_cpus.empty()) HOIST_CHECK(write_value(d, "cpuset.cpus", r.cpuset_cpus));
      if (!r.cpuset_mems.empty()) HOIST_CHECK(write_value(d, "cpuset.mems", r.cpuset_mems));
    }
    if (r.pids_limit) {
      std::string d = HOIST_TRY(dir_of("pids"));
      HOIST_CHECK(write_value(d, "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max"));
    }
    return {};
  }

  Result<> add(pid_t pid) override {
    for (const auto& d : dirs_) HOIST_CHECK(write_value(d, "cgroup.procs", std::to_string(pid)));
    return {};
  }

  Result<std::vector<pid_t>> pids() override { return collect_pids(dirs_); }

  Result<> destroy() override {
    Result<> first;
    for (const auto& d : dirs_) {
      auto r = rmdir_retry(d);
      if (!r && first) first = std::move(r);
    }
    return first;
  }

  std::vector<std::string> dirs() const override { return dirs_; }

 private:
  static bool has(const CgroupMount& m, std::string_view c) {
    return std::find(m.controllers.begin(), m.controllers.end(), c) != m.controllers.end();
  }
  Result<std::string> dir_of(std::string_view controller) const {
    for (const auto& m : mounts_)
      if (has(m, controller)) return m.mount_point + path_;
    return fail(Errc::kUnsupported, "cgroup controller '" + std::string(controller) + "' is not mounted");
  }

  std::vector<CgroupMount> mounts_;
  std::string path_;
  std::vector<std::string> dirs_;
};

class CgroupV2 final : public CgroupManager {
 public:
  CgroupV2(std::string root, std::string path) : root_(std::move(root)), path_(std::move(path)) {}

  Result<> create() override {
    std::string cur = root_;
    auto available = split_words(read_trimmed(root_ + "/cgroup.controllers"));
    for (auto part : split(path_, '/')) {
      if (part.empty()) continue;
      // A controller is usable in a child only once the parent delegates it.
      std::string enable;
      for (const char* c : {"cpu", "cpuset", "memory", "pids"})
        if (std::find(available.begin(), available.end(), c) != available.end()) enable += std::string(enable.empty() ? "" : " ") + "+" + c;
      if (!enable.empty()) {
        auto r = write_value(cur, "cgroup.subtree_control", enable);
        (void)r;  // a parent with processes of its own cannot delegate: limits then fail with a clear error
      }
      cur += "/" + std::string(part);
      if (::mkdir(cur.c_str(), 0755) < 0 && errno != EEXIST)
        return fail(Error::from_errno(errno, "cannot create cgroup '" + cur + "'"));
    }
    dir_ = cur;
    return {};
  }

  Result<> apply(const Resources& r) override {
    if (r.memory_limit) HOIST_CHECK(write_value(dir_, "memory.max", limit(*r.memory_limit)));
    if (r.memory_reservation) HOIST_CHECK(write_value(dir_, "memory.low", limit(*r.memory_reservation)));
    if (r.memory_swap) {
      // v2's swap.max is swap alone; the spec's swap is memory + swap (runc's conversion).
      std::string v = "max";
      if (*r.memory_swap >= 0 && r.memory_limit && *r.memory_limit >= 0)
        v = std::to_string(std::max<int64_t>(0, *r.memory_swap - *r.memory_limit));
      HOIST_CHECK(write_value(dir_, "memory.swap.max", v));
    }
    if (r.cpu_shares) {
      // runc's shares -> weight: [2, 262144] -> [1, 10000].
      uint64_t s = std::clamp<uint64_t>(*r.cpu_shares, 2, 262144);
      uint64_t w = 1 + ((s - 2) * 9999) / 262142;
      HOIST_CHECK(write_value(dir_, "cpu.weight", std::to_string(w)));
    }
    if (r.cpu_quota || r.cpu_period) {
      std::string q = r.cpu_quota && *r.cpu_quota > 0 ? std::to_string(*r.cpu_quota) : "max";
      HOIST_CHECK(write_value(dir_, "cpu.max", q + " " + std::to_string(r.cpu_period.value_or(100000))));
    }
    if (!r.cpuset_cpus.empty()) HOIST_CHECK(write_value(dir_, "cpuset.cpus", r.cpuset_cpus));
    if (!r.cpuset_mems.empty()) HOIST_CHECK(write_value(dir_, "cpuset.mems", r.cpuset_mems));
    if (r.pids_limit) HOIST_CHECK(write_value(dir_, "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max"));
    return {};
  }

  Result<> add(pid_t pid) override { return write_value(dir_, "cgroup.procs", std::to_string(pid)); }
  Result<std::vector<pid_t>> pids() override { return collect_pids({dir_}); }
  Result<> destroy() override { return rmdir_retry(dir_); }
  std::vector<std::string> dirs() const override { return {dir_}; }

 private:
  static std::string limit(int64_t v) { return v < 0 ? "max" : std::to_string(v); }
  static std::vector<std::string> split_words(const std::string& s) {
    std::vector<std::string> out;
    for (auto w : split(s, ' '))
      if (!w.empty()) out.emplace_back(w);
    return out;
  }

  std::string root_, path_, dir_;
};

class CgroupDirs final : public CgroupManager {
 public:
  explicit CgroupDirs(std::vector<std::string> dirs) : dirs_(std::move(dirs)) {}
  Result<> create() override { return {}; }
  Result<> apply(const Resources&) override { return fail(Errc::kUnsupported, "cannot apply limits to a reopened cgroup"); }
  Result<> add(pid_t pid) override {
    for (const auto& d : dirs_) HOIST_CHECK(write_value(d, "cgroup.procs", std::to_string(pid)));
    return {};
  }
  Result<std::vector<pid_t>> pids() override { return collect_pids(dirs_); }
  Result<> destroy() override {
    Result<> first;
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      auto r = rmdir_retry(*it);
      if (!r && first) first = std::move(r);
    }
    return first;
  }
  std::vector<std::string> dirs() const override { return dirs_; }

 private:
  std::vector<std::string> dirs_;
};

std::string unescape_mountinfo(std::string_view s) {
  // mountinfo escapes space, tab, newline and backslash as \ooo.
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out += char(v);
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo) {
  std::vector<CgroupMount> out;
  for (auto line : split(mountinfo, '\n')) {
    // id parent maj:min root mount-point options [optional...] - fstype source super-options
    auto fields = split(line, ' ');
    size_t dash = 0;
    for (size_t i = 6; i < fields.size(); ++i)
      if (fields[i] == "-") {
        dash = i;
        break;
      }
    if (dash == 0 || dash + 2 >= fields.size()) continue;
    std::string_view fstype = fields[dash + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    // A hierarchy bound from one of its subdirectories (a container's view,
    // a stray bind) is not where its cgroups are made.
    if (fields[3] != "/") continue;
    CgroupMount m;
    m.mount_point = unescape_mountinfo(fields[4]);
    m.v2 = fstype == "cgroup2";
    if (!m.v2 && dash + 3 < fields.size()) {
      for (auto opt : split(fields[dash + 3], ',')) {
        static constexpr std::string_view kNotControllers[] = {"rw", "ro", "nosuid", "nodev", "noexec", "relatime",
                                                               "noatime", "clone_children", "xattr", "noprefix"};
        bool skip = std::find(std::begin(kNotControllers), std::end(kNotControllers), opt) != std::end(kNotControllers);
        if (!skip && !opt.starts_with("release_agent=")) m.controllers.emplace_back(opt);
      }
    }
    // The first mount of each hierarchy wins (the same one mounted twice, or
    // bound elsewhere, is one hierarchy).
    bool seen = false;
    for (const auto& o : out)
      seen = seen || o.mount_point == m.mount_point || (o.v2 == m.v2 && o.controllers == m.controllers);
    if (seen) continue;
    out.push_back(std::move(m));
  }
  return out;
}

std::unique_ptr<CgroupManager> make_cgroup_v1(std::vector<CgroupMount> mounts, std::string path) {
  return std::make_unique<CgroupV1>(std::move(mounts), std::move(path));
}

std::unique_ptr<CgroupManager> make_cgroup_v2(std::string unified_root, std::string path) {
  return std::make_unique<CgroupV2>(std::move(unified_root), std::move(path));
}

std::unique_ptr<CgroupManager> reopen_cgroups(std::vector<std::string> dirs) {
  return std::make_unique<CgroupDirs>(std::move(dirs));
}

Result<std::unique_ptr<CgroupManager>> open_cgroups(std::string_view cgroups_path, std::string_view id) {
  std::string path = cgroups_path.empty() ? "/hoist/" + std::string(id) : std::string(cgroups_path);
  if (path.find(':') != std::string::npos)
    return fail(Errc::kUnsupported, "systemd cgroupsPath '" + path + "' is not supported (use a path)");
  if (path[0] != '/') path = "/" + path;
  for (auto part : split(path, '/'))
    if (part == "..") return fail(Errc::kInvalidArgument, "cgroupsPath '" + path + "' may not contain '..'");
  auto mi = HOIST_TRY(sys::read_file("/proc/self/mountinfo", 16 << 20));
  auto mounts = parse_cgroup_mounts(mi);
  std::vector<CgroupMount> v1;
  for (auto& m : mounts) {
    if (m.v2 && m.mount_point == "/sys/fs/cgroup") return make_cgroup_v2(m.mount_point, path);
    // Hybrid: the v2 tree has no controllers but systemd-style tools track
    // membership there too; join it like runc does (named "unified").
    if (m.v2) m.controllers = {"unified"};
    v1.push_back(std::move(m));
  }
  if (v1.empty()) return fail(Errc::kUnsupported, "no cgroup hierarchy is mounted");
  return make_cgroup_v1(std::move(v1), path);
}

}  // namespace hoist::runtime
