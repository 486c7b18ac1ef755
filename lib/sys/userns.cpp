// User namespaces: detection, /etc/subuid ranges, and entering one as its
// root through newuidmap/newgidmap or a one-id map (sys/userns.h).

#include "sys/userns.h"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>

#include <fmt/core.h>

#include "sys/file_io.h"
#include "util/strings.h"

namespace hoist::sys {

namespace {

std::string ranges(const std::vector<IdRange>& rs) {
  std::string out;
  for (const auto& r : rs) {
    if (!out.empty()) out += ", ";
    out += r.count == 1 ? fmt::format("{}->{}", r.inside, r.outside)
                        : fmt::format("{}-{}->{}", r.inside, r.inside + r.count - 1, r.outside);
  }
  return out;
}

std::string find_helper(const char* name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
  for (auto dir : split(path + ":/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    std::string p = std::string(dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// Runs `argv` and waits: its exit status, or -1 when it could not run.
int run_and_wait(const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::vector<char*> av;
    for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    ::execv(av[0], av.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Result<> write_proc(const char* file, const std::string& text) {
  std::string path = std::string("/proc/self/") + file;
  auto fd = HOIST_TRY(open_file(path, O_WRONLY));
  if (::write(fd.get(), text.data(), text.size()) != ssize_t(text.size()))
    return fail(Error::from_errno(errno, "cannot write '" + text + "' to " + path));
  return {};
}

// /proc/self/{uid,gid}_map as ranges ("inside outside count" a line).
std::vector<IdRange> read_map(const char* path) {
  std::vector<IdRange> out;
  auto text = read_file(path, 1 << 16);
  if (!text) return out;
  for (auto line : split(*text, '\n')) {
    std::vector<std::string_view> f;
    for (auto x : split(trim(line), ' '))
      if (!x.empty()) f.push_back(x);
    if (f.size() != 3) continue;
    auto in = parse_u64(f[0]), at = parse_u64(f[1]), n = parse_u64(f[2]);
    if (in && at && n && *in <= 0xFFFFFFFFu && *at <= 0xFFFFFFFFu && *n <= 0xFFFFFFFFu)
      out.push_back({uint32_t(*in), uint32_t(*at), uint32_t(*n)});
  }
  return out;
}

// The ids this namespace maps, each onto itself: "0 0 4294967295" on the
// host, one line per range in a user namespace.
std::vector<IdRange> own_map(const char* path) {
  auto out = read_map(path);
  for (auto& r : out) r.outside = r.inside;
  return out;
}

// After fork, before exec: no allocation needed beyond what the strings hold.
bool write_map(const std::string& path, const std::vector<IdRange>& ranges) {
  std::string text;
  for (const auto& r : ranges) text += std::to_string(r.inside) + " " + std::to_string(r.outside) + " " + std::to_string(r.count) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  ::close(fd);
  return ok;
}

}  // namespace

bool has_effective_cap(int cap) {
  auto text = read_file("/proc/self/status", 1 << 16);
  if (!text) return false;
  auto at = text->find("\nCapEff:");
  if (at == std::string::npos) return false;
  uint64_t bits = std::strtoull(text->c_str() + at + 8, nullptr, 16);
  return cap >= 0 && cap < 64 && (bits >> cap) & 1;
}

std::string UserNamespace::describe() const {
  return fmt::format("uid {}; gid {} ({})", ranges(uids), ranges(gids), source);
}

namespace {
std::atomic<int> g_initial{-1};  // -1: not read yet
}  // namespace

bool in_initial_user_namespace() {
  int v = g_initial.load(std::memory_order_relaxed);
  if (v < 0) {
    auto text = read_file("/proc/self/uid_map", 4096);
    std::vector<std::string_view> fields;
    if (text)
      for (auto f : split(trim(*text), ' '))
        if (!f.empty()) fields.push_back(f);
    // No /proc: assume the host.
    v = !text || (fields.size() == 3 && fields[0] == "0" && fields[1] == "0" && fields[2] == "4294967295");
    g_initial.store(v, std::memory_order_relaxed);
  }
  return v == 1;
}

bool gid_mapped(uint32_t gid) {
  if (!sys::read_file("/proc/self/gid_map", 1 << 16)) return true;  // no /proc: the host
  for (const auto& r : read_map("/proc/self/gid_map"))
    if (gid >= r.inside && gid - r.inside < r.count) return true;
  return false;
}

IdRange subordinate_range(const std::string& path, const std::string& user, uint32_t id) {
  auto text = read_file(path, 1 << 20);
  if (!text) return {};
  std::string ids = std::to_string(id);
  for (auto line : split(*text, '\n')) {
    auto f = split(line, ':');
    if (f.size() != 3 || (f[0] != user && f[0] != ids)) continue;
    auto start = parse_u64(f[1]);
    auto count = parse_u64(f[2]);
    if (!start || !count || *count == 0 || *start > 0xFFFFFFFFu || *count > 0xFFFFFFFFu - *start) continue;
    return {1, uint32_t(*start), uint32_t(std::min<uint64_t>(*count, 0xFFFFFFFEu))};
  }
  return {};
}

Result<UserNamespace> enter_user_namespace() {
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  std::string name = std::to_string(uid);
  if (const passwd* pw = ::getpwuid(uid); pw && pw->pw_name) name = pw->pw_name;
  UserNamespace ns;
  // Root with CAP_SETUID/CAP_SETGID maps its namespace's ids onto themselves
  // (user_namespaces(7): a writer in the parent namespace with those
  // capabilities may map any id mapped there).
  const bool parent_had_setfcap = has_effective_cap(31 /* CAP_SETFCAP */);
  const bool root_maps = uid == 0 && has_effective_cap(6 /* CAP_SETGID */) && has_effective_cap(7 /* CAP_SETUID */);
  std::vector<IdRange> own_uids = root_maps ? own_map("/proc/self/uid_map") : std::vector<IdRange>{};
  std::vector<IdRange> own_gids = root_maps ? own_map("/proc/self/gid_map") : std::vector<IdRange>{};
  IdRange su = subordinate_range("/etc/subuid", name, uid);
  IdRange sg = subordinate_range("/etc/subgid", name, uid);
  std::string newuidmap = find_helper("newuidmap"), newgidmap = find_helper("newgidmap");
  if (!own_uids.empty() && !own_gids.empty()) ns.why_single.clear();
  else if (!su.count) ns.why_single = "no range for '" + name + "' in /etc/subuid";
  else if (!sg.count) ns.why_single = "no range for '" + name + "' in /etc/subgid";
  else if (newuidmap.empty() || newgidmap.empty()) ns.why_single = "newuidmap and newgidmap are not installed (Debian: uidmap)";

  // The helpers must run outside the new namespace (a setuid binary is not
  // privileged inside one whose map is not written yet): a child forked
  // first waits for the parent's unshare, then maps the parent.
  int go[2] = {-1, -1};
  pid_t helper = -1;
  // waitpid needs SIGCHLD not ignored (an inherited SIG_IGN reaps children
  // on their own: ECHILD).
  ::signal(SIGCHLD, SIG_DFL);
  if (ns.why_single.empty()) {
    if (::pipe2(go, O_CLOEXEC) != 0) return fail(Error::from_errno(errno, "cannot create a pipe"));
    helper = ::fork();
    if (helper < 0) return fail(Error::from_errno(errno, "cannot fork the id-mapping helper"));
    if (helper == 0) {
      ::close(go[1]);
      char c;
      ssize_t n;
      while ((n = ::read(go[0], &c, 1)) < 0 && errno == EINTR) {
      }
      if (n != 1) ::_exit(1);
      std::string parent = std::to_string(::getppid());
      if (!own_uids.empty() && !own_gids.empty()) {
        bool ok = write_map("/proc/" + parent + "/uid_map", own_uids) && write_map("/proc/" + parent + "/gid_map", own_gids);
        ::_exit(ok ? 0 : 99);
      }
      int a = run_and_wait({newuidmap, parent, "0", std::to_string(uid), "1", "1", std::to_string(su.outside),
                            std::to_string(su.count)});
      if (a != 0) ::_exit(10 + (a & 0x3f));
      int b = run_and_wait({newgidmap, parent, "0", std::to_string(gid), "1", "1", std::to_string(sg.outside),
                            std::to_string(sg.count)});
      ::_exit(b == 0 ? 0 : 80 + (b & 0x3f));
    }
    ::close(go[0]);
  }
  if (::unshare(CLONE_NEWUSER) != 0) {
    int e = errno;
    if (helper > 0) {
      ::close(go[1]);
      ::waitpid(helper, nullptr, 0);
    }
    return fail(Error::from_errno(e, "cannot create a user namespace (the host must allow unprivileged user "
                                     "namespaces: sysctl user.max_user_namespaces > 0, and inside a container a "
                                     "seccomp profile that allows unshare(CLONE_NEWUSER))"));
  }
  if (helper > 0) {
    (void)!::write(go[1], "x", 1);
    ::close(go[1]);
    int status = 0;
    pid_t got;
    while ((got = ::waitpid(helper, &status, 0)) < 0 && errno == EINTR) {
    }
    if (got < 0) return fail(Error::from_errno(errno, "cannot wait for the id-mapping helper"));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      ns.subordinate = true;
      ns.uids = own_uids.empty() ? std::vector<IdRange>{{0, uint32_t(uid), 1}, su} : own_uids;
      ns.gids = own_gids.empty() ? std::vector<IdRange>{{0, uint32_t(gid), 1}, sg} : own_gids;
      ns.source = own_uids.empty() ? "/etc/subuid, /etc/subgid" : "root's own ids";
    } else if (!own_uids.empty()) {
      ns.why_single = "cannot map root's own ids";
    } else {
      int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      ns.why_single = fmt::format("{} failed (exit {}; see its message above)", code >= 80 ? "newgidmap" : "newuidmap",
                                  code >= 80 ? code - 80 : code - 10);
    }
  }
  if (!ns.subordinate) {
    // The owner of a user namespace may map its own ids, one each, once
    // setgroups is denied (user_namespaces(7)). newuidmap may have written
    // uid_map before newgidmap failed: then only gid_map is left to write.
    auto um = read_file("/proc/self/uid_map", 4096);
    if (um && trim(*um).empty()) {
      auto w = write_proc("uid_map", fmt::format("0 {} 1\n", uid));
      if (!w && w.error().sys_errno() == EPERM && !parent_had_setfcap)
        return fail(Errc::kDenied, "cannot map root in a user namespace: since Linux 5.12 that needs CAP_SETFCAP, "
                                   "which this process lacks (a container started without capabilities: give it "
                                   "the default set, which has CAP_SETFCAP, CAP_SETUID and CAP_SETGID)");
      HOIST_CHECK(std::move(w));
    }
    HOIST_CHECK(write_proc("setgroups", "deny"));
    HOIST_CHECK(write_proc("gid_map", fmt::format("0 {} 1\n", gid)));
    ns.uids = {{0, uint32_t(uid), 1}};
    ns.gids = {{0, uint32_t(gid), 1}};
    ns.source = "one id only: " + ns.why_single;
  }
  g_initial.store(0, std::memory_order_relaxed);
  if (::geteuid() != 0) return fail(Errc::kInternal, "not root in the new user namespace");
  // What is mapped now, as the kernel says (a helper may have written one map
  // before the other failed).
  ns.uids = read_map("/proc/self/uid_map");
  ns.gids = read_map("/proc/self/gid_map");
  return ns;
}

}  // namespace hoist::sys
