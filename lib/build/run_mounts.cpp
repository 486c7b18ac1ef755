// RUN --mount: planning (the key) and making (around the RUN) each mount;
// build/run_mounts.h says what every type does.

#include "build/run_mounts.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include <fmt/core.h>

#include "build/builder.h"
#include "build/run_step.h"
#include "build/tree_diff.h"
#include "dockerfile/glob.h"
#include "sys/file_io.h"
#include "sys/openat2.h"
#include "sys/overlay.h"

namespace hoist::build::detail {

namespace {

using json = nlohmann::json;

Result<> make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
    return fail(Error::from_errno(errno, "cannot create '" + path + "'"));
  return {};
}

// `source` inside the tree at `root` (symlinks followed inside it, never
// out), pinned: bound at `at` from the file it resolved to (open_tree), so
// that nothing renamed or swapped for a symlink afterwards changes what the
// RUN sees. Returns `at`.
Result<std::string> pin_in_root(const std::string& root, const std::string& source, const std::string& at,
                                HeldMounts* held) {
  auto rfd = HOIST_TRY(sys::open_file(root, O_PATH | O_DIRECTORY));
  auto fd = HOIST_TRY(sys::open_in_root(rfd, source.empty() ? "/" : source, O_PATH));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail(Error::from_errno(errno, "cannot inspect '" + source + "'"));
  if (S_ISDIR(st.st_mode)) {
    HOIST_CHECK(make_dir(at, 0755));
  } else {
    (void)HOIST_TRY(sys::open_file(at, O_WRONLY | O_CREAT | O_EXCL, 0600));
  }
  HOIST_CHECK(sys::bind_fd(fd.get(), at));
  held->mounted.push_back(at);
  return at;
}

// A cache mount's directory: instance `n` of STORE/cache-mounts/<key>, made
// (with the mount's mode and owner) when missing; the caller holds lock-create.
Result<std::string> cache_instance(const std::string& base, int n, const dockerfile::Mount& m) {
  std::string dir = base + "/" + std::to_string(n);
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) return dir;
  // Made whole under a temporary name, then renamed: a build killed half-way
  // leaves no directory with the wrong owner.
  std::string tmp = dir + ".new";
  (void)sys::remove_all(tmp);
  HOIST_CHECK(make_dir(tmp, 0700));
  if (::chown(tmp.c_str(), m.uid.value_or(0), m.gid.value_or(0)) != 0 ||
      ::chmod(tmp.c_str(), m.mode.value_or(0755) & 07777) != 0)
    return fail(Error::from_errno(errno, "cannot set the owner and mode of '" + tmp + "'"));
  if (::rename(tmp.c_str(), dir.c_str()) != 0) return fail(Error::from_errno(errno, "cannot create '" + dir + "'"));
  return dir;
}

Result<sys::Fd> lock_file(const std::string& path) {
  return sys::open_file(path, O_RDWR | O_CREAT, 0600);
}

Result<> take_lock(const sys::Fd& fd, int op, const std::string& path) {
  while (::flock(fd.get(), op) != 0) {
    if (errno == EINTR) continue;
    return fail(Error::from_errno(errno, "cannot lock '" + path + "'"));
  }
  return {};
}

}  // namespace

HeldMounts::~HeldMounts() {
  for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) (void)sys::unmount(*it);
}

Result<std::vector<PlannedMount>> Builder::plan_mounts(const StageState& s, const dockerfile::RunCmd& c,
                                                       json* key) {
  std::vector<PlannedMount> out;
  *key = json::array();
  std::string workdir = s.config.config.working_dir.empty() ? "/" : s.config.config.working_dir;
  for (const auto& text : c.mounts) {
    PlannedMount p;
    p.m = HOIST_TRY_CTX(dockerfile::parse_mount(text), "--mount=" + text);
    dockerfile::Mount& m = p.m;
    auto where = [&](std::string msg) { return fail(Errc::kInvalidArgument, "--mount=" + text + ": " + msg); };
    if (m.type == "ssh")
      return fail(Errc::kUnsupported, "--mount=" + text + ": ssh mounts are not supported (hoist-build forwards "
                                      "no SSH agent); pass a key with --secret and RUN --mount=type=secret");
    if (m.type == "secret") {
      p.id = !m.cache_id.empty() ? m.cache_id : !m.source.empty() ? m.source : m.target.substr(m.target.rfind('/') + 1);
      if (m.target.empty() && !m.env) m.target = "/run/secrets/" + p.id;
    }
    std::string raw_target = dockerfile::clean_path(m.target);  // BuildKit's default cache id
    if (!m.target.empty()) {
      std::string t = m.target[0] == '/' ? m.target : workdir + "/" + m.target;
      m.target = dockerfile::clean_path(t);
      if (m.target.empty() || m.target == "/" || m.target == ".") return where("the target cannot be /");
    } else if (m.type != "secret") {
      return where("a mount needs a target");
    }
    json k = {{"type", m.type}, {"target", m.target}};
    if (m.type == "secret") {
      auto it = o_.secrets.find(p.id);
      if (it != o_.secrets.end()) p.secret = &it->second;  // a required one missing fails when the RUN runs
      k["id"] = p.id;
      k["env"] = m.env.value_or("");
      k["required"] = m.required;
      k["mode"] = m.mode.value_or(0400);
      k["uid"] = m.uid.value_or(0);
      k["gid"] = m.gid.value_or(0);
    } else if (m.type == "cache") {
      if (!m.from.empty())
        return fail(Errc::kUnsupported, "--mount=" + text + ": a cache mount with from= is not supported");
      p.id = m.cache_id.empty() ? raw_target : m.cache_id;
      k["id"] = p.id;
      k["sharing"] = m.sharing.empty() ? "shared" : m.sharing;
      k["readonly"] = m.readonly;
    } else if (m.type == "tmpfs") {
      k["size"] = m.size_limit;
    } else {  // bind
      k["rw"] = !m.readonly;
      k["source"] = m.source;
      if (m.from.empty()) {
        SourceTree* tree = HOIST_TRY(context());
        auto matched = HOIST_TRY_CTX(tree->match(m.source.empty() ? "." : m.source), "--mount=" + text);
        if (matched.size() != 1) return where("source '" + m.source + "' names " + std::to_string(matched.size()) +
                                              " paths; a bind mount takes one");
        p.context_rel = matched[0];
        auto content = HOIST_TRY(hasher_.digest(*tree, matched, {}));
        k["content"] = content.str();
      } else {
        // The tree itself is opened when the RUN runs (a cached step needs
        // none of its layers).
        k["from"] = HOIST_TRY_CTX(from_key(m.from, s.stage->index), "--mount=" + text);
        p.stage_index = s.stage->index;
      }
    }
    key->push_back(std::move(k));
    out.push_back(std::move(p));
  }
  return out;
}

Result<> Builder::make_mounts(std::vector<PlannedMount>& plans, const std::string& scratch, RunSpec* spec,
                              HeldMounts* held) {
  // Cache mounts first, their locks taken in the order of their directories
  // (two builds locking the same ids never wait for each other in a circle),
  // each id once (a RUN naming one twice gets one instance, one lock).
  std::map<std::string, std::vector<size_t>> by_base;
  for (size_t i = 0; i < plans.size(); ++i)
    if (plans[i].m.type == "cache")
      by_base[store_dir_ + "/cache-mounts/" + digest::sha256_of(plans[i].id).hex()].push_back(i);
  std::map<size_t, std::string> cache_dirs;
  for (const auto& [base, uses] : by_base) {
    const dockerfile::Mount& m = plans[uses.front()].m;
    HOIST_CHECK(sys::mkdir_all(base, 0700));
    std::string sharing = m.sharing.empty() ? "shared" : m.sharing;
    // Instances are made under lock-create, held only for that; lock-N
    // guards instance N: shared RUNs hold it shared, a locked one alone, a
    // private one takes the first instance nobody holds.
    std::string cp = base + "/lock-create";
    auto create = HOIST_TRY(lock_file(cp));
    int n = 0;
    sys::Fd lock;
    if (sharing == "private") {
      for (;; ++n) {
        std::string lp = base + "/lock-" + std::to_string(n);
        lock = HOIST_TRY(lock_file(lp));
        if (::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) break;
        if (errno != EWOULDBLOCK && errno != EINTR) return fail(Error::from_errno(errno, "cannot lock '" + lp + "'"));
      }
    } else {
      std::string lp = base + "/lock-0";
      lock = HOIST_TRY(lock_file(lp));
      HOIST_CHECK(take_lock(lock, sharing == "locked" ? LOCK_EX : LOCK_SH, lp));
    }
    HOIST_CHECK(take_lock(create, LOCK_EX, cp));
    std::string dir = HOIST_TRY(cache_instance(base, n, m));
    create.reset();
    held->locks.push_back(std::move(lock));
    for (size_t i : uses) cache_dirs[i] = dir;
  }
  std::string secrets_dir;
  for (size_t i = 0; i < plans.size(); ++i) {
    PlannedMount& p = plans[i];
    const dockerfile::Mount& m = p.m;
    RunMount rm;
    rm.destination = m.target;
    if (m.type == "secret") {
      if (!p.secret && m.required)
        return fail(Errc::kNotFound, "secret '" + p.id + "' is required; pass it with --secret id=" + p.id +
                                         ",src=FILE (or env=VAR)");
      if (!p.secret) continue;  // not required, not given: left out (BuildKit)
      std::string value = *p.secret;
      std::string shown = value;
      while (!shown.empty() && (shown.back() == '\n' || shown.back() == '\r')) shown.pop_back();
      if (!shown.empty()) spec->redact.push_back(shown);
      if (m.env) {
        // Over an ENV or build arg of that name: the secret's value.
        std::string prefix = *m.env + "=";
        std::erase_if(spec->env, [&](const std::string& e) { return e.starts_with(prefix); });
        spec->env.push_back(prefix + value);
      }
      if (secrets_dir.empty()) {
        secrets_dir = scratch + "/secrets";
        HOIST_CHECK(make_dir(secrets_dir, 0700));
        HOIST_CHECK(sys::mount_tmpfs(secrets_dir, "mode=0700,size=64m"));
        held->mounted.push_back(secrets_dir);
        spec->private_dir = secrets_dir;  // the bundle's config.json holds env= secrets
      }
      if (m.target.empty()) continue;
      std::string file = secrets_dir + "/" + std::to_string(i);
      auto fd = HOIST_TRY(sys::open_file(file, O_WRONLY | O_CREAT | O_EXCL, 0600));
      HOIST_CHECK(sys::write_all(fd.get(), value));
      if (::fchown(fd.get(), m.uid.value_or(0), m.gid.value_or(0)) != 0 ||
          ::fchmod(fd.get(), m.mode.value_or(0400) & 07777) != 0)
        return fail(Error::from_errno(errno, "cannot set the owner and mode of secret '" + p.id + "'"));
      HOIST_CHECK(fd.close());
      rm.source = file;
      rm.options = {"rbind", "ro", "nosuid", "nodev", "noexec"};
    } else if (m.type == "tmpfs") {
      rm.type = "tmpfs";
      rm.options = {"nosuid", "nodev"};
      if (m.size_limit > 0) rm.options.push_back("size=" + std::to_string(m.size_limit));
    } else if (m.type == "cache") {
      rm.source = cache_dirs.at(i);
      rm.options = {"rbind", m.readonly ? "ro" : "rw"};
    } else {  // bind
      std::string src;
      std::string dir = scratch + "/bind-" + std::to_string(i);
      if (!m.from.empty()) {
        std::string unused;
        p.from = HOIST_TRY_CTX(from_root(m.from, p.stage_index, &unused), "--mount from=" + m.from);
        src = HOIST_TRY_CTX(pin_in_root(p.from->path(), m.source, dir + "-src", held), "--mount from=" + m.from);
      } else {
        SourceTree* tree = HOIST_TRY(context());
        if (tree->ignore().empty()) {
          src = HOIST_TRY(pin_in_root(tree->dir(), p.context_rel, dir + "-src", held));
        } else {
          // .dockerignore applies: the step sees a copy without what it leaves out.
          std::string copy = dir + "-context";
          HOIST_CHECK(make_dir(copy, 0755));
          auto croot = HOIST_TRY(sys::open_file(copy, O_PATH | O_DIRECTORY));
          (void)HOIST_TRY(copy_sources(*tree, {p.context_rel}, croot, "/", true, CopyOptions{}));
          auto at = HOIST_TRY(sys::open_in_root(tree->root(), p.context_rel, O_PATH));
          struct stat st;
          bool is_dir = ::fstat(at.get(), &st) == 0 && S_ISDIR(st.st_mode);
          src = is_dir ? copy : copy + "/" + p.context_rel.substr(p.context_rel.rfind('/') + 1);
        }
      }
      struct stat st;
      if (::stat(src.c_str(), &st) != 0) return fail(Error::from_errno(errno, "cannot inspect '" + src + "'"));
      if (!m.readonly) {
        // Writable, and what is written is dropped: an overlay over the source
        // (a file: a copy of it).
        if (S_ISDIR(st.st_mode) && snapshotter_ == Snapshotter::kCopy) {
          // No overlay here: a copy.
          HOIST_CHECK(make_dir(dir, 0755));
          auto from = HOIST_TRY(sys::open_file(src, O_RDONLY | O_DIRECTORY));
          auto to = HOIST_TRY(sys::open_file(dir, O_RDONLY | O_DIRECTORY));
          HOIST_CHECK(merge_into(from.get(), to.get()));
          src = dir;
        } else if (S_ISDIR(st.st_mode)) {
          HOIST_CHECK(make_dir(dir, 0700));
          for (const char* sub : {"/upper", "/work", "/merged"}) HOIST_CHECK(make_dir(dir + sub, 0755));
          HOIST_CHECK(sys::mount_overlay({{src}, dir + "/upper", dir + "/work"}, dir + "/merged"));
          held->mounted.push_back(dir + "/merged");
          src = dir + "/merged";
        } else {
          auto in = HOIST_TRY(sys::open_file(src, O_RDONLY));
          auto out = HOIST_TRY(sys::open_file(dir, O_WRONLY | O_CREAT | O_EXCL, st.st_mode & 07777));
          char buf[65536];
          for (;;) {
            ssize_t r = ::read(in.get(), buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return fail(Error::from_errno(errno, "cannot read '" + src + "'"));
            if (r == 0) break;
            HOIST_CHECK(sys::write_all(out.get(), std::string_view(buf, size_t(r))));
          }
          HOIST_CHECK(out.close());
          src = dir;
        }
      }
      rm.source = src;
      rm.options = {"rbind", m.readonly ? "ro" : "rw"};
    }
    spec->mounts.push_back(std::move(rm));
  }
  return {};
}

}  // namespace hoist::build::detail
