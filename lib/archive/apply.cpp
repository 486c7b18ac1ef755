#include "archive/apply.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "archive/path.h"
#include "archive/worker_pool.h"
#include "sys/openat2.h"
#include "sys/overlay.h"
#include "sys/userns.h"
#include "sys/tree.h"
#include "util/strings.h"

namespace hoist::archive {

namespace {

// Parent directory fds kept open between entries (tars list a directory's
// children together, so a handful is enough).
constexpr size_t kMaxCachedDirs = 128;

std::string join(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string s;
  s.reserve(dir.size() + 1 + name.size());
  s.append(dir).append("/").append(name);
  return s;
}

Error errno_error(int err, std::string_view what) { return Error::from_errno(err, std::string(what)); }

// The process umask, read without changing it (umask(2) would race other threads).
mode_t current_umask() {
  FILE* f = std::fopen("/proc/self/status", "re");
  if (!f) return 07777;  // unknown: always chmod
  char line[256];
  mode_t m = 07777;
  while (std::fgets(line, sizeof line, f)) {
    unsigned v;
    if (std::sscanf(line, "Umask: %o", &v) == 1) {
      m = mode_t(v);
      break;
    }
  }
  std::fclose(f);
  return m;
}

// Small regular files are created on worker threads (see Applier::queue_file).
// Why threads, and why one directory per worker: creating a file costs the
// kernel far more than its bytes do, and most of that cost is paid under the
// parent directory's inode lock (open_last_lookups takes i_rwsem for O_CREAT,
// and the inode allocator runs inside it: on an ext4 without a journal it scans
// past every inode freed in the last minutes, ~90 us a file after an rm -rf of
// a similar tree). Creations in one directory therefore never overlap, in one
// process or several; creations in different directories do.
constexpr uint64_t kMaxQueuedFile = uint64_t{1} << 20;  // larger files are written in place
constexpr size_t kMaxQueuedBytes = size_t{32} << 20;    // file data held for the workers
constexpr size_t kMaxQueuedJobs = 8192;
constexpr unsigned kMaxWorkers = 4;

// A regular file for a worker: everything the entry says but its data, which is
// read (and counted against the size budget) before the job is queued.
struct FileJob {
  enum class State : uint8_t { kQueued, kDone, kExists, kFailed, kSkipped };
  TarEntry entry;
  std::shared_ptr<const sys::Fd> dir;  // the parent, resolved inside the root
  std::string base;
  bool setgid = false;
  std::string data;
  // Set by the worker; read after WorkerPool::wait().
  State state = State::kQueued;
  std::optional<Error> error;
  std::vector<std::string> warnings;
};

struct DirMeta {
  std::string path;
  uint32_t mode;  // kTimesOnly: restore times, leave the mode
  struct timespec times[2];
};
constexpr uint32_t kTimesOnly = ~0u;

class Applier {
 public:
  Applier(const sys::Fd& root, const ApplyOptions& opts)
      : root_(root),
        opts_(opts),
        euid_(::geteuid()),
        egid_(::getegid()),
        umask_(current_umask()),
        userns_(!sys::in_initial_user_namespace()) {
    unsigned n = opts_.threads ? opts_.threads : std::min(std::thread::hardware_concurrency(), kMaxWorkers);
    if (n > 1) pool_.emplace(n, kMaxQueuedBytes, kMaxQueuedJobs);
  }

  Result<ApplyStats> run(io::Reader& in) {
    TarReader tar(in);
    for (;;) {
      auto next = tar.next();
      if (!next) {
        HOIST_CHECK(drain());  // an earlier entry's error comes first
        return fail(std::move(next).error());
      }
      if (!*next) break;
      TarEntry& e = **next;
      stats_.entries++;
      queue_next_ = false;
      if (pool_) {
        auto path = clean_path(e.path);
        if (path) queue_next_ = queueable(e, *path);
        // Whiteouts and opaque markers remove, a hardlink needs its target in,
        // the root entry and a bad name end up in no directory: all wait for the
        // queued files. Anything else meets them only at a name (settle()).
        bool wait = !path || path->empty() || e.type == EntryType::kHardlink ||
                    split_path(*path).second.starts_with(kWhiteoutPrefix) || failed_.load(std::memory_order_relaxed);
        if (wait) HOIST_CHECK(drain());
      }
      if (cache_dirty_) {
        dirs_.clear();
        cache_dirty_ = false;
      }
      auto r = apply(tar, e);
      if (!r) {
        // A queued file's error, met while applying this entry, is that file's.
        if (queued_error_) return fail(std::move(*queued_error_));
        HOIST_CHECK(drain());
        return fail(std::move(r).error().context("entry '" + e.path + "'"));
      }
    }
    HOIST_CHECK(drain());
    HOIST_CHECK(finish_dirs());
    return stats_;
  }

 private:
  struct CachedDir {
    std::shared_ptr<const sys::Fd> fd;  // shared with queued files
    ino_t ino;
    bool setgid;
  };

  void warn(std::string_view msg) {
    stats_.skipped++;
    if (opts_.warn) opts_.warn(msg);
  }

  // An fd of directory `dir` (cleaned) inside the root, creating missing parents
  // (mode 0755, as docker and umoci do). Owned by the cache: valid until the next
  // entry starts.
  Result<const CachedDir*> parent(std::string_view dir) {
    auto it = dirs_.find(std::string(dir));
    if (it != dirs_.end()) return &it->second;
    if (dirs_.size() >= kMaxCachedDirs) dirs_.clear();
    sys::Fd fd;
    if (!jobs_.empty() && opts_.lower_roots.empty()) {
      // Found without making anything: no queued file is on the way (one made
      // is not a directory, one not yet made is not there).
      fd.reset(sys::open_in_root_raw(root_.get(), std::string(dir).c_str(), O_PATH | O_DIRECTORY));
    }
    if (!fd) {
      // Directories will be made, perhaps where a queued file goes.
      HOIST_CHECK(drain());
      if (!opts_.lower_roots.empty()) HOIST_CHECK(parents_from_lower(dir));
      fd = HOIST_TRY(sys::mkdir_all_in_root(root_, dir, 0755));
    }
    struct stat st;
    bool ok = ::fstat(fd.get(), &st) == 0;
    bool setgid = ok && (st.st_mode & S_ISGID);
    if (ok) save_times(dir, st);
    auto ins = dirs_.emplace(std::string(dir),
                             CachedDir{std::make_shared<const sys::Fd>(std::move(fd)), ok ? st.st_ino : 0, setgid});
    return &ins.first->second;
  }

  // kOverlay with lower layers: what is at `path` in the highest lower layer
  // that has anything there (a whiteout counts: nothing below it shows). Returns
  // the fd of the lower root, -1 when none; `st` filled.
  int find_in_lower(const std::string& path, struct stat& st) {
    for (int lower : opts_.lower_roots) {
      auto [d, b] = split_path(path);
      int dfd = sys::open_in_root_raw(lower, std::string(d).c_str(), O_PATH | O_DIRECTORY);
      if (dfd < 0) continue;
      sys::Fd holder(dfd);
      if (::fstatat(dfd, std::string(b).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) return -1;  // whited out
      return lower;
    }
    return -1;
  }

  // Creates the missing directories of `dir` that a lower layer has, with that
  // layer's owner, mode and times (their times are put back when the layer ends).
  Result<> parents_from_lower(std::string_view dir) {
    std::string prefix;
    for (auto comp : split(dir, '/')) {
      std::string parent_path = prefix;
      prefix = join(prefix, comp);
      int fd = sys::open_in_root_raw(root_.get(), prefix.c_str(), O_PATH | O_NOFOLLOW);
      if (fd >= 0) {
        ::close(fd);
        continue;
      }
      if (errno != ENOENT) return {};  // mkdir_all_in_root reports it
      struct stat st;
      if (find_in_lower(prefix, st) < 0 || !S_ISDIR(st.st_mode)) return {};
      sys::Fd pfd = HOIST_TRY(sys::mkdir_all_in_root(root_, parent_path, 0755));
      std::string name(comp);
      if (::mkdirat(pfd.get(), name.c_str(), 0700) != 0 && errno != EEXIST)
        return fail(errno_error(errno, "cannot create directory '" + prefix + "'"));
      if (::fchownat(pfd.get(), name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
        return fail(errno_error(errno, "cannot change owner of '" + prefix + "'"));
      if (::fchmodat(pfd.get(), name.c_str(), st.st_mode & 07777, 0) != 0)
        return fail(errno_error(errno, "cannot change mode of '" + prefix + "'"));
      DirMeta m{prefix, kTimesOnly, {st.st_atim, st.st_mtim}};
      saved_.insert_or_assign(prefix, m);
    }
    return {};
  }

  // A hardlink target that only a lower layer has: copy it into this layer
  // (content, owner, mode, xattrs, times), so both names share an inode here.
  // Returns false when no lower layer has it.
  Result<bool> copy_up(const std::string& target) {
    struct stat st;
    int lower = find_in_lower(target, st);
    if (lower < 0 || S_ISDIR(st.st_mode)) return false;
    auto [d, b] = split_path(target);
    std::string dir(d), base(b);
    const CachedDir* p = HOIST_TRY(parent(dir));
    int pfd = p->fd->get();
    int ldfd = sys::open_in_root_raw(lower, dir.c_str(), O_PATH | O_DIRECTORY);
    if (ldfd < 0) return fail(errno_error(errno, "cannot open '" + dir + "' in a lower layer"));
    sys::Fd ld(ldfd);
    if (S_ISREG(st.st_mode)) {
      int in = ::openat(ldfd, base.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (in < 0) return fail(errno_error(errno, "cannot open '" + target + "' in a lower layer"));
      sys::Fd inf(in);
      int out = ::openat(pfd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (out < 0) return fail(errno_error(errno, "cannot copy up '" + target + "'"));
      sys::Fd outf(out);
      for (off_t left = st.st_size; left > 0;) {
        ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, size_t(left), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail(errno_error(n < 0 ? errno : EIO, "cannot copy up '" + target + "'"));
        left -= n;
      }
      HOIST_CHECK(outf.close());
    } else if (S_ISLNK(st.st_mode)) {
      std::string link(size_t(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(ldfd, base.c_str(), link.data(), link.size());
      if (n < 0) return fail(errno_error(errno, "cannot read link '" + target + "' in a lower layer"));
      link.resize(size_t(n));
      if (::symlinkat(link.c_str(), pfd, base.c_str()) != 0)
        return fail(errno_error(errno, "cannot copy up '" + target + "'"));
    } else if (::mknodat(pfd, base.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
      return fail(errno_error(errno, "cannot copy up '" + target + "'"));
    }
    if (::fchownat(pfd, base.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
      return fail(errno_error(errno, "cannot change owner of '" + target + "'"));
    // xattrs after chown (chown clears security.capability), then the mode.
    if (!S_ISLNK(st.st_mode)) {
      auto names = HOIST_TRY(sys::list_xattrs_at(ldfd, base));
      for (const auto& k : names) {
        if (k.starts_with("trusted.overlay.") || k.starts_with("user.overlay.")) continue;
        auto v = HOIST_TRY(sys::get_xattr_at(ldfd, base, k));
        HOIST_CHECK(sys::set_xattr_at(pfd, base, k, v));
      }
      HOIST_CHECK(sys::chmod_at(pfd, base, st.st_mode & 07777));
    }
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(pfd, base.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
      return fail(errno_error(errno, "cannot set times of '" + target + "'"));
    return true;
  }

  // Entries added to or removed from a directory of a lower layer change its
  // mtime; like umoci, put back the time it had (a directory entry of this layer
  // sets its own time instead, later).
  void save_times(std::string_view dir, const struct stat& st) {
    std::string d(dir);
    if (saved_.contains(d) || created_.contains(d)) return;
    DirMeta m{d, kTimesOnly, {st.st_atim, st.st_mtim}};
    saved_.emplace(std::move(d), m);
  }

  // Something is at dirfd/name where a new entry goes. Keeps an existing directory
  // when the new entry is one too (returns true); otherwise removes it, whatever it
  // is, without following it (returns false: create again).
  Result<bool> make_room(int dirfd, const std::string& name, bool want_dir) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return false;
      return fail(errno_error(errno, "cannot inspect existing '" + name + "'"));
    }
    if (want_dir && S_ISDIR(st.st_mode)) return true;
    HOIST_CHECK(drain());  // what goes may hold queued files' directories
    HOIST_CHECK(sys::remove_all_at(dirfd, name));
    // A removed directory or symlink may be a cached parent (or on the way to one).
    cache_dirty_ = true;
    return false;
  }

  Result<> chown_at(int dirfd, const std::string& name, const TarEntry& e, bool parent_setgid) {
    if (opts_.rootless) {
      if (e.type == EntryType::kSymlink) return {};  // user.* xattrs are not allowed on symlinks
      if (e.uid == 0 && e.gid == 0) return {};
      auto r = sys::set_xattr_at(dirfd, name, std::string(kRootlessXattr), encode_rootless_owner(e.uid, e.gid));
      if (!r) warn(r.error().to_string());
      return {};
    }
    if (e.uid == euid_ && e.gid == egid_ && !parent_setgid) return {};
    if (::fchownat(dirfd, name.empty() ? "." : name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == EINVAL && userns_) {
        warn(unmapped_owner(e));
        return {};
      }
      return fail(errno_error(errno, "cannot change owner to " + std::to_string(e.uid) + ":" + std::to_string(e.gid)));
    }
    return {};
  }

  static std::string unmapped_owner(const TarEntry& e) {
    return "'" + e.path + "' stays owned by 0: the user namespace maps no id " + std::to_string(e.uid) + ":" +
           std::to_string(e.gid) + " (give the user more ids in /etc/subuid and /etc/subgid)";
  }

  // Code that may run on a worker collects its warnings; the calling thread
  // passes them to warn(), in entry order.
  bool skip_xattr(const std::string& key, std::vector<std::string>& warnings) const {
    // overlayfs reads trusted.overlay.* as instructions (redirects, opaque dirs,
    // metacopy), and user.overlay.* when mounted in a user namespace
    // (userxattr); a layer must not smuggle them into a snapshot.
    if (key.starts_with("trusted.overlay.") ||
        (opts_.whiteouts == WhiteoutMode::kOverlay && key.starts_with("user.overlay."))) {
      warnings.push_back("skipping xattr '" + key + "'");
      return true;
    }
    return false;
  }

  Result<> xattr_failed(int err, const std::string& key, std::vector<std::string>& warnings) const {
    if (err == ENOTSUP || ((opts_.rootless || userns_) && (err == EPERM || err == EACCES))) {
      warnings.push_back("cannot set xattr '" + key + "': " + std::string(std::strerror(err)) + " (skipped)");
      return {};
    }
    return fail(errno_error(err, "cannot set xattr '" + key + "'"));
  }

  Result<> xattrs_fd(int fd, const TarEntry& e, std::vector<std::string>& warnings) const {
    for (const auto& [k, v] : e.xattrs) {
      if (skip_xattr(k, warnings)) continue;
      if (::fsetxattr(fd, k.c_str(), v.data(), v.size(), 0) != 0) HOIST_CHECK(xattr_failed(errno, k, warnings));
    }
    return {};
  }

  Result<> xattrs_at(int dirfd, const std::string& name, const TarEntry& e) {
    std::vector<std::string> warnings;
    Result<> r;
    for (const auto& [k, v] : e.xattrs) {
      if (skip_xattr(k, warnings)) continue;
      auto set = sys::set_xattr_at(dirfd, name, k, v);
      if (!set) {
        r = xattr_failed(set.error().sys_errno(), k, warnings);
        if (!r) break;
      }
    }
    for (const auto& w : warnings) warn(w);
    return r;
  }

  static void times_of(const TarEntry& e, struct timespec ts[2]) {
    ts[1].tv_sec = e.mtime_sec;
    ts[1].tv_nsec = e.mtime_nsec;
    if (e.atime) {
      ts[0].tv_sec = e.atime->first;
      ts[0].tv_nsec = e.atime->second;
    } else {
      ts[0] = ts[1];
    }
  }

  Result<> apply(TarReader& tar, TarEntry& e) {
    std::string path = HOIST_TRY(clean_path(e.path));
    auto [dir_v, base_v] = split_path(path);
    std::string dir(dir_v), base(base_v);

    if (base.starts_with(kWhiteoutPrefix) && opts_.whiteouts != WhiteoutMode::kNone) return whiteout(dir, base);

    if (path.empty()) {
      if (e.type != EntryType::kDir) return fail(Errc::kInvalidArgument, "cannot replace the root directory");
      // "./": the root's own metadata.
      int rfd = root_.get();
      HOIST_CHECK(chown_at(rfd, "", e, false));
      HOIST_CHECK(xattrs_at(rfd, "", e));
      DirMeta m{"", e.mode, {}};
      times_of(e, m.times);
      deferred_.push_back(std::move(m));
      return {};
    }

    const CachedDir* p = HOIST_TRY(parent(dir));
    HOIST_CHECK(settle(*p, base));
    int pfd = p->fd->get();
    created_.insert(path);
    switch (e.type) {
      case EntryType::kFile: return file(tar, e, *p, base);
      case EntryType::kDir: return directory(e, path, pfd, base, p->setgid);
      case EntryType::kSymlink: return symlink(e, pfd, base, p->setgid);
      case EntryType::kHardlink: return hardlink(e, path, pfd, base);
      case EntryType::kChar:
      case EntryType::kBlock:
      case EntryType::kFifo: return special(e, pfd, base, p->setgid);
      case EntryType::kOther: break;
    }
    created_.erase(path);
    warn("skipping entry '" + e.path + "' of unsupported type");
    return {};
  }

  Result<> whiteout(const std::string& dir, const std::string& base) {
    stats_.removed++;
    if (base == kOpaqueMarker) {
      // The opaque directory itself is created when missing: the marker means
      // "this directory, with only this layer's children".
      const CachedDir* p = HOIST_TRY(parent(dir));
      if (opts_.whiteouts == WhiteoutMode::kOverlay)
        return sys::set_xattr_at(p->fd->get(), "", std::string(sys::overlay_xattr_prefix()) + "opaque", "y");
      auto names = HOIST_TRY(sys::list_dir_at(p->fd->get(), ""));
      for (const auto& n : names) {
        if (created_.contains(join(dir, n))) continue;
        HOIST_CHECK(sys::remove_all_at(p->fd->get(), n));
        cache_dirty_ = true;
      }
      return {};
    }
    std::string name = base.substr(kWhiteoutPrefix.size());
    if (name.empty() || name == "." || name == ".." || name.starts_with(kWhiteoutPrefix))
      return fail(Errc::kInvalidArgument, "invalid whiteout name");
    std::string target = join(dir, name);
    if (created_.contains(target)) return {};  // hides lower layers only
    if (opts_.whiteouts == WhiteoutMode::kOverlay) {
      const CachedDir* p = HOIST_TRY(parent(dir));
      created_.insert(target);
      HOIST_CHECK(make_room(p->fd->get(), name, false));
      return sys::make_whiteout_at(p->fd->get(), name);
    }
    // Nothing to remove when the directory is not there (or is not a directory).
    int fd = sys::open_in_root_raw(root_.get(), dir.c_str(), O_PATH | O_DIRECTORY);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return {};
      return fail(errno_error(errno, "cannot open '" + dir + "'"));
    }
    sys::Fd dfd(fd);
    struct stat st;
    if (::fstat(fd, &st) == 0) save_times(dir, st);
    HOIST_CHECK(sys::remove_all_at(dfd.get(), name));
    cache_dirty_ = true;
    return {};
  }

  // A regular file: written here, or (queue_next_, and nothing at its name yet)
  // read into memory and handed to a worker; queued files are done by drain().
  Result<> file(TarReader& tar, const TarEntry& e, const CachedDir& p, const std::string& base) {
    int pfd = p.fd->get();
    if (queue_next_) {
      struct stat st;
      if (::fstatat(pfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
        return queue_file(tar, e, p, base);
    }
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    mode_t perm = e.mode & 0777;
    int fd = ::openat(pfd, base.c_str(), flags, perm);
    if (fd < 0 && errno == EEXIST) {
      HOIST_CHECK(make_room(pfd, base, false));
      fd = ::openat(pfd, base.c_str(), flags, perm);
    }
    if (fd < 0) return fail(errno_error(errno, "cannot create file"));
    sys::Fd f(fd);
    stats_.files++;
    uint64_t end = 0;
    for (;;) {
      auto blk = HOIST_TRY(tar.read_data());
      if (!blk) break;
      auto bytes = blk->bytes;
      uint64_t off = blk->offset;
      while (!bytes.empty()) {
        ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), off_t(off));
        if (n < 0) {
          if (errno == EINTR) continue;
          return fail(errno_error(errno, "cannot write file"));
        }
        bytes = bytes.subspan(size_t(n));
        off += uint64_t(n);
        stats_.data_bytes += uint64_t(n);
      }
      if (off > end) end = off;
    }
    std::vector<std::string> warnings;
    auto r = finish_file(f, e, end, p.setgid, warnings);
    for (const auto& w : warnings) warn(w);
    return r;
  }

  // Owner, xattrs, mode and times of a file whose data (up to `end`) is written,
  // then close. Runs on workers too: touches no member but constants.
  Result<> finish_file(sys::Fd& f, const TarEntry& e, uint64_t end, bool setgid,
                       std::vector<std::string>& warnings) const {
    int fd = f.get();
    // Sparse files end in a hole, or are all hole: the size comes from the header.
    if (end < e.size && ::ftruncate(fd, off_t(e.size)) != 0) return fail(errno_error(errno, "cannot extend file"));
    if (opts_.rootless) {
      if (e.uid != 0 || e.gid != 0) {
        std::string v = encode_rootless_owner(e.uid, e.gid);
        if (::fsetxattr(fd, kRootlessXattr.data(), v.data(), v.size(), 0) != 0)
          warnings.push_back("cannot record owner of '" + e.path + "': " + std::strerror(errno));
      }
    } else if (e.uid != euid_ || e.gid != egid_ || setgid) {
      // Before chmod: chown clears setuid/setgid bits.
      if (::fchown(fd, e.uid, e.gid) != 0) {
        if (errno != EINVAL || !userns_)
          return fail(errno_error(errno, "cannot change owner to " + std::to_string(e.uid) + ":" + std::to_string(e.gid)));
        warnings.push_back(unmapped_owner(e));
      }
    }
    // After chown: chown clears security.capability.
    HOIST_CHECK(xattrs_fd(fd, e, warnings));
    // The fd stays writable whatever mode the file was created with; the umask
    // may have cut bits, and setuid/setgid/sticky need an explicit chmod.
    if (((e.mode & 0777) & ~umask_) != e.mode) {
      if (::fchmod(fd, e.mode) != 0) return fail(errno_error(errno, "cannot change mode"));
    }
    struct timespec ts[2];
    times_of(e, ts);
    if (::futimens(fd, ts) != 0) return fail(errno_error(errno, "cannot set times"));
    return f.close();
  }

  static std::string pending_key(ino_t dir, std::string_view base) {
    std::string k = std::to_string(dir);
    k += '/';
    k += base;
    return k;
  }

  // Whether `e` may go to a worker: a small plain file (its name is checked
  // again when its parent is resolved: nothing may be there yet).
  static bool queueable(const TarEntry& e, const std::string& path) {
    if (e.type != EntryType::kFile || e.sparse || e.size > kMaxQueuedFile || path.empty()) return false;
    return !split_path(path).second.starts_with(kWhiteoutPrefix);
  }

  // The calling thread's half of a queued file: the parent is resolved and the
  // name is free (checked by the caller), the data is read here (so the size
  // budget and the diffID see it in order); the rest is run_job's. Files of one
  // directory go to one worker, in entry order.
  Result<> queue_file(TarReader& tar, const TarEntry& e, const CachedDir& p, const std::string& base) {
    auto job = std::make_unique<FileJob>();
    job->data.reserve(size_t(e.size));
    for (;;) {
      auto blk = HOIST_TRY(tar.read_data());
      if (!blk) break;
      // Not sparse: the pieces come in order from offset 0.
      if (blk->offset != job->data.size()) return fail(Errc::kInvalidArgument, "invalid tar stream: unexpected data offset");
      job->data.append(reinterpret_cast<const char*>(blk->bytes.data()), blk->bytes.size());
    }
    job->entry = e;
    job->dir = p.fd;
    job->base = base;
    job->setgid = p.setgid;
    stats_.files++;
    stats_.data_bytes += job->data.size();
    pending_.insert(pending_key(p.ino, base));
    auto [it, added] = shards_.try_emplace(p.ino, next_shard_);
    if (added) next_shard_++;
    FileJob* j = job.get();
    jobs_.push_back(std::move(job));
    pool_->submit(it->second, j->data.size() + sizeof(FileJob), [this, j] { run_job(*j); });
    return {};
  }

  // On a worker. The name was free when queued; if something is there now (no
  // entry of the layer can put it there: the calling thread drains first) the
  // job is left to drain(), which replaces it in entry order.
  void run_job(FileJob& j) {
    if (failed_.load(std::memory_order_relaxed)) {
      j.state = FileJob::State::kSkipped;
      return;
    }
    int fd = ::openat(j.dir->get(), j.base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      j.entry.mode & 0777);
    if (fd < 0 && errno == EEXIST) {
      j.state = FileJob::State::kExists;
      return;
    }
    Result<> r = fd < 0 ? fail(errno_error(errno, "cannot create file")) : write_job(j, sys::Fd(fd));
    if (r) {
      j.state = FileJob::State::kDone;
      j.data = std::string();
      j.dir.reset();
    } else {
      j.error = std::move(r).error();
      j.state = FileJob::State::kFailed;
      failed_.store(true, std::memory_order_relaxed);
    }
  }

  Result<> write_job(FileJob& j, sys::Fd f) const {
    const char* p = j.data.data();
    size_t left = j.data.size();
    while (left > 0) {
      ssize_t n = ::write(f.get(), p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(errno_error(errno, "cannot write file"));
      }
      p += n;
      left -= size_t(n);
    }
    return finish_file(f, j.entry, j.data.size(), j.setgid, j.warnings);
  }

  // Waits for every queued file, then reports their warnings in entry order and
  // the first failed entry's error (named as if it had been written in place).
  // Leaves the parent cache alone (callers hold entries of it); removals mark
  // it dirty as make_room does.
  Result<> drain() {
    if (jobs_.empty()) return {};
    pool_->wait();
    // Taken out first: replacing a name below calls make_room, which drains.
    auto jobs = std::move(jobs_);
    jobs_.clear();
    pending_.clear();
    shards_.clear();
    failed_.store(false, std::memory_order_relaxed);
    std::optional<Error> err;
    for (auto& j : jobs) {
      if (j->state == FileJob::State::kExists) {
        auto room = make_room(j->dir->get(), j->base, false);
        Result<> r;
        if (!room) {
          r = fail(std::move(room).error());
        } else {
          int fd = ::openat(j->dir->get(), j->base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                            j->entry.mode & 0777);
          r = fd < 0 ? fail(errno_error(errno, "cannot create file")) : write_job(*j, sys::Fd(fd));
        }
        if (!r) j->error = std::move(r).error();
      }
      for (const auto& w : j->warnings) warn(w);
      if (j->error) {
        err = std::move(*j->error).context("entry '" + j->entry.path + "'");
        break;
      }
    }
    if (err) {
      queued_error_ = *err;
      return fail(std::move(*err));
    }
    return {};
  }

  // Before the calling thread makes or removes anything at dirfd/name (`ino` of
  // the directory): a queued file there must be in first.
  Result<> settle(const CachedDir& p, std::string_view base) {
    if (!jobs_.empty() && pending_.contains(pending_key(p.ino, base))) return drain();
    return {};
  }

  Result<> directory(const TarEntry& e, const std::string& path, int pfd, const std::string& base, bool setgid) {
    // 0700 until the layer ends: a rootless user must be able to write children
    // into a directory whose final mode is 0555.
    if (::mkdirat(pfd, base.c_str(), 0700) != 0) {
      if (errno != EEXIST) return fail(errno_error(errno, "cannot create directory"));
      bool keep = HOIST_TRY(make_room(pfd, base, true));
      if (!keep && ::mkdirat(pfd, base.c_str(), 0700) != 0) return fail(errno_error(errno, "cannot create directory"));
    }
    HOIST_CHECK(chown_at(pfd, base, e, setgid));
    HOIST_CHECK(xattrs_at(pfd, base, e));
    DirMeta m{path, e.mode, {}};
    times_of(e, m.times);
    deferred_.push_back(std::move(m));
    return {};
  }

  Result<> symlink(const TarEntry& e, int pfd, const std::string& base, bool setgid) {
    // The target is stored as written; it is never followed here.
    if (::symlinkat(e.linkname.c_str(), pfd, base.c_str()) != 0) {
      if (errno != EEXIST) return fail(errno_error(errno, "cannot create symlink"));
      HOIST_CHECK(make_room(pfd, base, false));
      if (::symlinkat(e.linkname.c_str(), pfd, base.c_str()) != 0) return fail(errno_error(errno, "cannot create symlink"));
    }
    HOIST_CHECK(chown_at(pfd, base, e, setgid));
    if (!opts_.rootless) HOIST_CHECK(xattrs_at(pfd, base, e));
    struct timespec ts[2];
    times_of(e, ts);
    if (::utimensat(pfd, base.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) return fail(errno_error(errno, "cannot set times"));
    return {};
  }

  Result<> hardlink(const TarEntry& e, const std::string& path, int pfd, const std::string& base) {
    auto target = clean_path(e.linkname);
    if (!target) return fail(std::move(target).error().context("hardlink target '" + e.linkname + "'"));
    if (target->empty()) return fail(Errc::kInvalidArgument, "hardlink to the root directory");
    if (*target == path) return {};
    auto [tdir, tbase] = split_path(*target);
    // The target's directory is resolved inside the root; its last component is
    // not followed (linkat without AT_SYMLINK_FOLLOW links a symlink itself).
    if (!opts_.lower_roots.empty()) {
      int probe = sys::open_in_root_raw(root_.get(), target->c_str(), O_PATH | O_NOFOLLOW);
      if (probe >= 0) {
        ::close(probe);
      } else if (errno == ENOENT) {
        HOIST_CHECK(copy_up(*target));
      }
    }
    int tfd = sys::open_in_root_raw(root_.get(), std::string(tdir).c_str(), O_PATH | O_DIRECTORY);
    if (tfd < 0) {
      if (errno == ENOENT || errno == ENOTDIR)
        return fail(Errc::kInvalidArgument, "hardlink target '" + e.linkname + "' not found");
      return fail(errno_error(errno, "cannot open hardlink target '" + e.linkname + "'"));
    }
    sys::Fd t(tfd);
    std::string tb(tbase);
    for (int attempt = 0;; ++attempt) {
      if (::linkat(tfd, tb.c_str(), pfd, base.c_str(), 0) == 0) return {};
      int err = errno;
      if (err == ENOENT) return fail(Errc::kInvalidArgument, "hardlink target '" + e.linkname + "' not found");
      if (err == EPERM) {
        struct stat st;
        if (::fstatat(tfd, tb.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
          return fail(Errc::kInvalidArgument, "hardlink target '" + e.linkname + "' is a directory");
      }
      if (err != EEXIST || attempt > 0) return fail(errno_error(err, "cannot link to '" + e.linkname + "'"));
      struct stat a, b;
      if (::fstatat(tfd, tb.c_str(), &a, AT_SYMLINK_NOFOLLOW) == 0 &&
          ::fstatat(pfd, base.c_str(), &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return {};  // already that file
      HOIST_CHECK(make_room(pfd, base, false));
    }
  }

  Result<> special(const TarEntry& e, int pfd, const std::string& base, bool setgid) {
    mode_t type = e.type == EntryType::kChar ? S_IFCHR : e.type == EntryType::kBlock ? S_IFBLK : S_IFIFO;
    if (type != S_IFIFO && (opts_.rootless || userns_)) {
      warn("skipping device node '" + e.path + "' (" + (opts_.rootless ? "rootless" : "user namespace") + ")");
      return {};
    }
    dev_t dev = type == S_IFIFO ? 0 : makedev(e.dev_major, e.dev_minor);
    if (::mknodat(pfd, base.c_str(), type | 0600, dev) != 0) {
      if (errno != EEXIST) return fail(errno_error(errno, "cannot create device node"));
      HOIST_CHECK(make_room(pfd, base, false));
      if (::mknodat(pfd, base.c_str(), type | 0600, dev) != 0) return fail(errno_error(errno, "cannot create device node"));
    }
    HOIST_CHECK(chown_at(pfd, base, e, setgid));
    HOIST_CHECK(xattrs_at(pfd, base, e));
    HOIST_CHECK(sys::chmod_at(pfd, base, e.mode));
    struct timespec ts[2];
    times_of(e, ts);
    if (::utimensat(pfd, base.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) return fail(errno_error(errno, "cannot set times"));
    return {};
  }

  // Directory modes and times, after every child of the layer is in. Each path is
  // resolved again inside the root; one that is no longer a directory (replaced
  // later in the layer) is skipped.
  Result<> finish_dirs() {
    dirs_.clear();
    std::vector<DirMeta> all;
    all.reserve(saved_.size() + deferred_.size());
    for (auto& [k, v] : saved_) all.push_back(v);
    // Restored times first, then the layer's own directory entries (in order: a
    // directory listed twice gets its last entry's metadata).
    for (auto& d : deferred_) all.push_back(d);
    for (auto it = all.begin(); it != all.end(); ++it) {
      auto [dir_v, base_v] = split_path(it->path);
      std::string dir(dir_v), base(base_v);
      int pfd;
      sys::Fd holder;
      if (it->path.empty()) {
        pfd = root_.get();
        base = ".";
      } else {
        int fd = sys::open_in_root_raw(root_.get(), dir.c_str(), O_PATH | O_DIRECTORY);
        if (fd < 0) continue;
        holder.reset(fd);
        pfd = fd;
      }
      struct stat st;
      if (::fstatat(pfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) continue;
      if (it->mode != kTimesOnly && (st.st_mode & 07777) != it->mode &&
          ::fchmodat(pfd, base.c_str(), it->mode, 0) != 0)
        return fail(errno_error(errno, "cannot change mode of '" + it->path + "'"));
      if (::utimensat(pfd, base.c_str(), it->times, AT_SYMLINK_NOFOLLOW) != 0)
        return fail(errno_error(errno, "cannot set times of '" + it->path + "'"));
    }
    deferred_.clear();
    saved_.clear();
    return {};
  }

  const sys::Fd& root_;
  const ApplyOptions& opts_;
  uid_t euid_;
  gid_t egid_;
  mode_t umask_;
  // In a user namespace (hoist-build unprivileged): device nodes are skipped,
  // ids it does not map are an owner change refused (EINVAL), kept as 0.
  bool userns_;
  std::unordered_map<std::string, CachedDir> dirs_;
  bool cache_dirty_ = false;
  std::unordered_set<std::string> created_;
  std::vector<DirMeta> deferred_;
  std::unordered_map<std::string, DirMeta> saved_;
  ApplyStats stats_;
  // Queued files in entry order, the names they take (pending_key), and which
  // worker each directory's files go to.
  std::deque<std::unique_ptr<FileJob>> jobs_;
  std::unordered_set<std::string> pending_;
  std::unordered_map<ino_t, unsigned> shards_;
  unsigned next_shard_ = 0;
  std::atomic<bool> failed_{false};  // a queued file failed: queue no more
  std::optional<Error> queued_error_;  // the error drain() reported
  bool queue_next_ = false;          // the current entry may go to a worker
  std::optional<WorkerPool> pool_;   // last: its threads are joined before the rest goes
};

void put_varint(std::string& out, uint32_t v) {
  while (v >= 0x80) {
    out += char((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += char(v);
}

}  // namespace

Result<ApplyStats> apply_tar(io::Reader& tar, const sys::Fd& root, const ApplyOptions& options) {
  Applier a(root, options);
  return a.run(tar);
}

std::string encode_rootless_owner(uint32_t uid, uint32_t gid) {
  std::string out;
  if (uid != 0) {
    out += char(0x08);
    put_varint(out, uid);
  }
  if (gid != 0) {
    out += char(0x10);
    put_varint(out, gid);
  }
  return out;
}

Result<std::pair<uint32_t, uint32_t>> decode_rootless_owner(std::string_view v) {
  uint32_t ids[2] = {0, 0};
  size_t i = 0;
  while (i < v.size()) {
    uint8_t key = uint8_t(v[i++]);
    if ((key & 7) != 0) return fail(Errc::kInvalidArgument, "invalid rootless owner xattr: unexpected wire type");
    uint64_t val = 0;
    int shift = 0;
    for (;;) {
      if (i >= v.size() || shift > 35) return fail(Errc::kInvalidArgument, "invalid rootless owner xattr: bad varint");
      uint8_t b = uint8_t(v[i++]);
      val |= uint64_t(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    uint32_t field = key >> 3;
    if (field == 1 || field == 2) ids[field - 1] = uint32_t(val);
  }
  return std::pair<uint32_t, uint32_t>(ids[0], ids[1]);
}

}  // namespace hoist::archive
