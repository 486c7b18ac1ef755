#include "build/run_step.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bundle/spec.h"
#include "image/config.h"
#include "runtime/container.h"
#include "sys/file_io.h"
#include "sys/openat2.h"
#include "sys/userns.h"
#include "util/log.h"

namespace hoist::build {

namespace {

using json = nlohmann::ordered_json;

std::atomic<uint64_t> g_step_counter{0};

// Docker's default capability set for containers (and so for docker build's RUN).
constexpr const char* kDefaultCaps[] = {
    "CAP_CHOWN",       "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_MKNOD",
    "CAP_NET_RAW",     "CAP_SETGID",       "CAP_SETUID",           "CAP_SETFCAP",    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
};

// The paths in the rootfs the runtime mounts over, parents before children.
constexpr const char* kMountPoints[] = {"/proc", "/dev", "/sys", "/etc", "/etc/hosts", "/etc/resolv.conf"};

// A private copy of a host file for the step to see (and scribble on).
Result<> copy_host_file(const std::string& from, const std::string& to, std::string_view fallback) {
  auto text = sys::read_file(from, 1 << 20);
  std::string body = text ? *text : std::string(fallback);
  auto fd = HOIST_TRY(sys::open_file(to, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  HOIST_CHECK(sys::write_all(fd.get(), body));
  return fd.close();
}

// `line` with every occurrence of each secret replaced by "****". A secret
// that is only part of a line's bytes (split over two 64 KiB pieces) escapes;
// a line of that length is not a log line.
std::string redact(std::string_view line, const std::vector<std::string>& secrets) {
  std::string out(line);
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    for (size_t at = out.find(s); at != std::string::npos; at = out.find(s, at + 4)) out.replace(at, s.size(), "****");
  }
  return out;
}

// Splits what the step writes into lines for on_line, keeping the last ones.
class LineReader {
 public:
  LineReader(sys::Fd fd, const std::function<void(std::string_view)>& on_line,
             const std::vector<std::string>& redact)
      : fd_(std::move(fd)), on_line_(on_line), redact_(redact), thread_([this] { loop(); }) {}
  ~LineReader() { (void)finish(); }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  // Joins the thread: call once every writer is gone (EOF).
  std::deque<std::string> finish() {
    if (thread_.joinable()) thread_.join();
    return std::move(tail_);
  }

 private:
  void loop() {
    std::string pending;
    char buf[16384];
    for (;;) {
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buf, size_t(n));
      size_t start = 0;
      for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
        line(std::string_view(pending).substr(start, nl - start));
      pending.erase(0, start);
      // A line without an end for 64 KiB: pass it on in pieces.
      if (pending.size() > 65536) {
        line(pending);
        pending.clear();
      }
    }
    if (!pending.empty()) line(pending);
  }
  void line(std::string_view raw) {
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    std::string masked;
    std::string_view l = raw;
    if (!redact_.empty()) {
      masked = redact(raw, redact_);
      l = masked;
    }
    if (on_line_) on_line_(l);
    tail_.emplace_back(l);
    if (tail_.size() > kTailLines) tail_.pop_front();
  }

  sys::Fd fd_;
  const std::function<void(std::string_view)>& on_line_;
  const std::vector<std::string>& redact_;
  std::deque<std::string> tail_;
  std::thread thread_;
};

Result<json> make_run_spec(const std::string& rootfs, const std::string& scratch, const RunSpec& spec) {
  auto root = HOIST_TRY(sys::open_file(rootfs, O_PATH | O_DIRECTORY));
  // runc creates a missing cwd; so does docker build for WORKDIR.
  HOIST_TRY_CTX(sys::mkdir_all_in_root(root, spec.workdir, 0755),
                "cannot create the working directory '" + spec.workdir + "'");
  image::ImageConfig cfg;
  cfg.config.user = spec.user;
  cfg.config.env = spec.env;
  cfg.config.working_dir = spec.workdir;
  cfg.config.entrypoint = std::vector<std::string>{};
  cfg.config.cmd = spec.args;
  bundle::SpecOptions so;
  so.root_path = rootfs;
  so.hostname = spec.hostname;
  json doc = HOIST_TRY(bundle::make_spec_for_rootfs(cfg, root, so));

  // As docker's RUN (and `docker run -u`): the primary group is also a
  // supplementary one.
  json& user = doc["process"]["user"];
  json gids = user.contains("additionalGids") ? user["additionalGids"] : json::array();
  if (std::find(gids.begin(), gids.end(), user["gid"]) == gids.end()) gids.insert(gids.begin(), user["gid"]);
  user["additionalGids"] = gids;
  json caps = json::array();
  for (const char* c : kDefaultCaps) caps.push_back(c);
  doc["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  doc["process"]["noNewPrivileges"] = false;
  if (!sys::gid_mapped(5)) {
    // A user namespace of one id (hoist-build unprivileged, no /etc/subgid
    // range) has no group tty: devpts without gid=5.
    for (auto& m : doc["mounts"]) {
      if (m.value("type", "") != "devpts" || !m.contains("options")) continue;
      json opts = json::array();
      for (auto& o : m["options"])
        if (o != "gid=5") opts.push_back(o);
      m["options"] = opts;
    }
  }
  // The build's own limits, as docker build gives its daemon's (raising a hard
  // limit needs CAP_SYS_RESOURCE, which a CI container may lack).
  doc["process"].erase("rlimits");
  if (!spec.network_none) {
    json ns = json::array();
    for (auto& n : doc["linux"]["namespaces"])
      if (n["type"] != "network") ns.push_back(n);
    doc["linux"]["namespaces"] = ns;
  }
  for (size_t i = 0; i < spec.files.size(); ++i)
    doc["mounts"].push_back({{"destination", spec.files[i].first},
                             {"type", "bind"},
                             {"source", scratch + "/file-" + std::to_string(i)},
                             {"options", json::array({"rbind", "ro"})}});
  for (const char* f : {"hosts", "resolv.conf"})
    doc["mounts"].push_back({{"destination", std::string("/etc/") + f},
                             {"type", "bind"},
                             {"source", scratch + "/" + f},
                             {"options", json::array({"rbind", "rw", "nosuid", "nodev"})}});
  for (const auto& m : spec.mounts) {
    json one = {{"destination", m.destination}, {"type", m.type}, {"options", m.options}};
    one["source"] = m.type == "bind" ? m.source : m.type;
    doc["mounts"].push_back(std::move(one));
  }
  return doc;
}

}  // namespace

Result<RunResult> run_step(const std::string& rootfs, const std::string& scratch, const RunSpec& spec,
                           const std::function<void(std::string_view)>& on_line, std::stop_token stop) {
  if (spec.args.empty()) return fail(Errc::kInvalidArgument, "RUN has no command");
  HOIST_CHECK(copy_host_file("/etc/hosts", scratch + "/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n"));
  HOIST_CHECK(copy_host_file("/etc/resolv.conf", scratch + "/resolv.conf", ""));
  for (size_t i = 0; i < spec.files.size(); ++i) {
    std::string path = scratch + "/file-" + std::to_string(i);
    auto fd = HOIST_TRY(sys::open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 0755));
    HOIST_CHECK(sys::write_all(fd.get(), spec.files[i].second));
    HOIST_CHECK(fd.close());
  }
  json doc = HOIST_TRY(make_run_spec(rootfs, scratch, spec));
  // With secrets, the bundle (its config.json holds env= secrets) and the
  // runtime's copy of it live on the secrets' tmpfs, never on disk.
  const std::string& priv = spec.private_dir.empty() ? scratch : spec.private_dir;
  std::string bundle = priv + "/bundle";
  HOIST_CHECK(sys::mkdir_all(bundle, 0700));
  HOIST_CHECK(sys::write_file_atomic(bundle + "/config.json", doc.dump(), 0600));

  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail(Error::from_errno(errno, "cannot create a pipe"));
  sys::Fd read_end(p[0]), write_end(p[1]);
  auto null = HOIST_TRY(sys::open_file("/dev/null", O_RDONLY));
  LineReader reader(std::move(read_end), on_line, spec.redact);

  runtime::RunOptions ro;
  ro.root = priv + "/state";
  ro.id = fmt::format("hoist-build-{}-{}", ::getpid(), g_step_counter++);
  ro.bundle = bundle;
  ro.stdio = {null.get(), write_end.get(), write_end.get()};
  ro.die_with_parent = true;
  ro.stop = stop;
  std::vector<std::string> warnings;
  ro.warnings = &warnings;
  auto code = runtime::run(ro);
  // Every writer is gone with the container (its pid namespace died with its
  // init): once ours is closed, the reader sees the end.
  write_end.reset();
  RunResult res;
  res.tail = reader.finish();
  for (const auto& w : warnings) log::debug("RUN: {}", w);
  if (!code) return fail(std::move(code).error());
  res.exit_code = *code;
  return res;
}

namespace {

// The parent directory of `path` ("/etc/hosts": "etc") under `top`, each
// component opened without following a symlink (a RUN may have made /etc one,
// pointing anywhere on the host); none when one is missing or not a directory.
std::optional<sys::Fd> parent_no_follow(const std::string& top, std::string_view path) {
  int fd = ::open(top.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  sys::Fd dir(fd);
  path.remove_prefix(1);
  for (auto slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/')) {
    std::string name(path.substr(0, slash));
    int sub = ::openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return std::nullopt;
    dir = sys::Fd(sub);
    path.remove_prefix(slash + 1);
  }
  return dir;
}

std::string base_name(std::string_view path) { return std::string(path.substr(path.rfind('/') + 1)); }

}  // namespace

std::vector<std::string> missing_mount_points(const std::string& rootfs, const std::vector<std::string>& extra) {
  std::vector<std::string> paths(std::begin(kMountPoints), std::end(kMountPoints));
  for (const auto& t : extra) {
    // "/a/b/c": "/a", "/a/b", "/a/b/c", each once, parents first.
    for (size_t slash = t.find('/', 1);; slash = t.find('/', slash + 1)) {
      std::string p = t.substr(0, slash);
      if (p.size() > 1 && std::find(paths.begin(), paths.end(), p) == paths.end()) paths.push_back(p);
      if (slash == std::string::npos) break;
    }
  }
  std::vector<std::string> out;
  for (const auto& p : paths) {
    auto dir = parent_no_follow(rootfs, p);
    struct stat st;
    if (!dir || (::fstatat(dir->get(), base_name(p).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT))
      out.emplace_back(p);
  }
  return out;
}

Result<> clean_mount_points(const std::string& upper, const std::vector<std::string>& missing) {
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    auto dir = parent_no_follow(upper, *it);
    std::string name = base_name(*it), path = upper + *it;
    struct stat st;
    if (!dir || ::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
      if (::unlinkat(dir->get(), name.c_str(), 0) != 0) return fail(Error::from_errno(errno, "cannot remove '" + path + "'"));
    } else if (S_ISDIR(st.st_mode)) {
      if (::unlinkat(dir->get(), name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOTEMPTY && errno != EEXIST)
        return fail(Error::from_errno(errno, "cannot remove '" + path + "'"));
    }
  }
  return {};
}

}  // namespace hoist::build
