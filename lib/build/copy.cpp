#include "build/copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>

#include "archive/any_archive.h"
#include "archive/apply.h"
#include "dockerfile/glob.h"
#include "io/fd_stream.h"
#include "sys/file_io.h"
#include "sys/openat2.h"
#include "sys/tree.h"

namespace hoist::build {

namespace {

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// Every destination path, whatever made it (a heredoc's name, a --parents
// source, a URL's file name), is cleaned as a path inside the root before any
// use: "/a/../../x" is "/x", so no ".." component ever reaches a syscall.
std::string rooted(std::string_view path) {
  std::string p = path.empty() || path[0] != '/' ? "/" + std::string(path) : std::string(path);
  p = dockerfile::clean_path(p);
  return p.empty() || p == "." ? "/" : p;
}

std::string base_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join(const std::string& dir, const std::string& name) {
  if (name.empty()) return dir;
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// The source entry's own fd: the top of a walk is an O_PATH fd of the entry
// itself (name ""), reopened through /proc; the rest are opened from their
// directory without following a symlink.
Result<sys::Fd> open_entry(const SourceTree::Entry& e, int flags) {
  int fd = e.name.empty() ? ::open(("/proc/self/fd/" + std::to_string(e.dirfd)).c_str(), flags | O_CLOEXEC)
                          : ::openat(e.dirfd, e.name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail(Error::from_errno(errno, "cannot open '" + e.rel + "'"));
  return sys::Fd(fd);
}

// Makes the missing directories of `dir` (absolute, inside the root) with mode
// 0755 owned as --chown says, and returns an fd of it.
class Dirs {
 public:
  Dirs(const sys::Fd& root, const CopyOptions& o) : root_(root), o_(o) {}
  Result<int> get(const std::string& dir_in) {
    const std::string dir = rooted(dir_in);
    if (dir == cached_ && fd_) return fd_.get();
    // Walk down from the deepest existing ancestor, creating the rest as we go,
    // so that created directories get the owner --chown gives.
    std::vector<std::string> missing;
    std::string cur = dir;
    for (;;) {
      auto fd = sys::open_in_root(root_, cur, O_PATH | O_DIRECTORY);
      if (fd) {
        fd_ = std::move(*fd);
        break;
      }
      if (fd.error().sys_errno() != ENOENT || cur == "/") {
        // Not simply missing (a symlink to a path the root lacks, ...): let
        // the containment code resolve and make it, inside the root.
        fd_ = HOIST_TRY(sys::mkdir_all_in_root(root_, dir, 0755));
        cached_ = dir;
        return fd_.get();
      }
      missing.push_back(base_of(cur));
      cur = parent_of(cur);
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      if (::mkdirat(fd_.get(), it->c_str(), 0755) != 0 && errno != EEXIST)
        return fail(Error::from_errno(errno, "cannot create '" + join(cur, *it) + "'"));
      int sub = ::openat(fd_.get(), it->c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0 && (errno == ELOOP || errno == ENOTDIR)) {
        // A symlink whose target is missing (or not a directory): make the rest
        // through it, inside the root, or fail saying what is in the way.
        fd_ = HOIST_TRY(sys::mkdir_all_in_root(root_, dir, 0755));
        cached_ = dir;
        return fd_.get();
      }
      if (sub < 0) return fail(Error::from_errno(errno, "cannot open '" + join(cur, *it) + "'"));
      sys::Fd s(sub);
      Owner own = o_.chown.value_or(Owner{});
      if (::fchownat(s.get(), "", own.uid, own.gid, AT_EMPTY_PATH) != 0)
        return fail(Error::from_errno(errno, "cannot chown '" + join(cur, *it) + "'"));
      cur = join(cur, *it);
      fd_ = std::move(s);
    }
    cached_ = dir;
    return fd_.get();
  }
  const sys::Fd& root() const { return root_; }
  void forget() {
    cached_.clear();
    fd_.reset();
  }

 private:
  const sys::Fd& root_;
  const CopyOptions& o_;
  std::string cached_;
  sys::Fd fd_;
};

Result<> copy_xattrs(int from, int to, const std::string& what) {
  char names[65536];
  ssize_t n = ::flistxattr(from, names, sizeof names);
  if (n <= 0) return {};
  std::string value(65536, '\0');
  for (ssize_t off = 0; off < n;) {
    const char* name = names + off;
    off += ssize_t(strlen(name)) + 1;
    ssize_t v = ::fgetxattr(from, name, value.data(), value.size());
    if (v < 0) continue;
    if (::fsetxattr(to, name, value.data(), size_t(v), 0) != 0 && errno != ENOTSUP && errno != EPERM)
      return fail(Error::from_errno(errno, "cannot copy xattr '" + std::string(name) + "' to '" + what + "'"));
  }
  return {};
}

Result<uint64_t> copy_data(int from, int to, uint64_t size, const std::string& what) {
  uint64_t done = 0;
  bool fallback = false;
  while (!fallback && done < size) {
    ssize_t n = ::copy_file_range(from, nullptr, to, nullptr, size - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
        fallback = true;
        break;
      }
      return fail(Error::from_errno(errno, "cannot copy '" + what + "'"));
    }
    if (n == 0) break;  // the file shrank meanwhile
    done += uint64_t(n);
  }
  if (!fallback) return done;
  std::unique_ptr<std::byte[]> buf(new std::byte[1 << 20]);
  for (;;) {
    size_t n = HOIST_TRY(sys::read_some(from, std::span(buf.get(), 1 << 20)));
    if (n == 0) return done;
    HOIST_CHECK(sys::write_all(to, std::span<const std::byte>(buf.get(), n)));
    done += n;
  }
}

// Removes whatever is at dirfd/name unless it is a directory and `keep_dir`.
Result<> clear_target(int dirfd, const std::string& name, bool keep_dir, const std::string& what) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return fail(Error::from_errno(errno, "cannot inspect '" + what + "'"));
  }
  if (keep_dir && S_ISDIR(st.st_mode)) return {};
  if (S_ISDIR(st.st_mode)) return sys::remove_all_at(dirfd, name);
  if (::unlinkat(dirfd, name.c_str(), 0) != 0) return fail(Error::from_errno(errno, "cannot replace '" + what + "'"));
  return {};
}

Result<> set_meta(int dirfd, const std::string& name, mode_t mode, const Owner& own, const struct stat& src,
                  const std::string& what) {
  if (::fchownat(dirfd, name.c_str(), own.uid, own.gid, AT_SYMLINK_NOFOLLOW) != 0)
    return fail(Error::from_errno(errno, "cannot chown '" + what + "'"));
  // After the chown, which clears setuid bits; symlinks have no mode.
  if (!S_ISLNK(src.st_mode) && ::fchmodat(dirfd, name.c_str(), mode, 0) != 0)
    return fail(Error::from_errno(errno, "cannot chmod '" + what + "'"));
  struct timespec ts[2] = {src.st_mtim, src.st_mtim};
  if (::utimensat(dirfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
    return fail(Error::from_errno(errno, "cannot set times of '" + what + "'"));
  return {};
}

// `top`: the directory a directory source's contents go into; an existing one
// keeps its own owner and mode (COPY dir /usr/ leaves /usr as it is).
Result<> copy_entry(const SourceTree::Entry& e, Dirs& dirs, const std::string& target_in, const CopyOptions& o,
                    CopyStats& stats, bool top = false) {
  const std::string target = rooted(target_in);
  const struct stat& st = e.st;
  mode_t mode = o.chmod ? *o.chmod : (st.st_mode & 07777);
  Owner own = o.chown.value_or(Owner{});
  std::string name = base_of(target);
  if (target == "/") return {};  // the root stays as it is
  int dfd = HOIST_TRY(dirs.get(parent_of(target)));
  stats.entries++;
  if (S_ISDIR(st.st_mode)) {
    // A symlink to a directory (merged-usr's /bin -> usr/bin) is followed,
    // not replaced: the entries go where it points, inside the root.
    struct stat lst;
    if (::fstatat(dfd, name.c_str(), &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode) &&
        is_dir_in_root(dirs.root(), target))
      return {};
    HOIST_CHECK(clear_target(dfd, name, true, target));
    if (::mkdirat(dfd, name.c_str(), 0700) != 0) {
      if (errno != EEXIST) return fail(Error::from_errno(errno, "cannot create '" + target + "'"));
      if (top) return {};
    }
    return set_meta(dfd, name, mode, own, st, target);
  }
  HOIST_CHECK(clear_target(dfd, name, false, target));
  if (S_ISREG(st.st_mode)) {
    auto in = HOIST_TRY(open_entry(e, O_RDONLY));
    int fd = ::openat(dfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return fail(Error::from_errno(errno, "cannot create '" + target + "'"));
    sys::Fd out(fd);
    stats.bytes += HOIST_TRY(copy_data(in.get(), out.get(), uint64_t(st.st_size), target));
    stats.files++;
    // The xattrs after the owner: a chown drops security.capability.
    HOIST_CHECK(set_meta(dfd, name, mode, own, st, target));
    return copy_xattrs(in.get(), out.get(), target);
  } else if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlinkat(e.dirfd, e.name.c_str(), buf, sizeof buf - 1);
    if (n < 0) return fail(Error::from_errno(errno, "cannot read link '" + e.rel + "'"));
    buf[n] = '\0';
    if (::symlinkat(buf, dfd, name.c_str()) != 0) return fail(Error::from_errno(errno, "cannot create '" + target + "'"));
  } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    if (::mknodat(dfd, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0)
      return fail(Error::from_errno(errno, "cannot create '" + target + "'"));
  } else {
    stats.entries--;  // a socket: docker leaves them out too
    return {};
  }
  return set_meta(dfd, name, mode, own, st, target);
}

}  // namespace

Result<> extract_archive_into(const sys::Fd& dest_root, const std::string& dest_dir, int archive_fd,
                              const CopyOptions& options) {
  Dirs dirs(dest_root, options);
  int dfd = HOIST_TRY(dirs.get(dest_dir));
  int own = ::open(("/proc/self/fd/" + std::to_string(dfd)).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (own < 0) return fail(Error::from_errno(errno, "cannot open '" + dest_dir + "'"));
  sys::Fd dir(own);
  io::FdReader raw(archive_fd);
  auto plain = HOIST_TRY(archive::open_any_decompressed(raw));
  archive::ApplyOptions ao;
  ao.threads = 1;
  ao.whiteouts = archive::WhiteoutMode::kNone;  // docker extracts ".wh." entries as files
  (void)HOIST_TRY(archive::apply_tar(*plain, dir, ao));
  return {};
}

bool is_dir_in_root(const sys::Fd& root, const std::string& dest) {
  auto fd = sys::open_in_root(root, dest, O_PATH | O_DIRECTORY);
  return fd.has_value();
}

Result<mode_t> parse_chmod(std::string_view text) {
  if (text.empty() || text.size() > 5) return fail(Errc::kInvalidArgument, "invalid --chmod '" + std::string(text) + "': want octal bits like 755");
  mode_t m = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return fail(Errc::kInvalidArgument, "invalid --chmod '" + std::string(text) + "': want octal bits like 755");
    m = m * 8 + mode_t(c - '0');
  }
  if (m > 07777) return fail(Errc::kInvalidArgument, "invalid --chmod '" + std::string(text) + "'");
  return m;
}

Result<CopyStats> copy_sources(const SourceTree& tree, const std::vector<std::string>& sources,
                               const sys::Fd& dest_root, const std::string& dest, bool dest_is_dir,
                               const CopyOptions& options) {
  CopyStats stats;
  Dirs dirs(dest_root, options);
  for (const auto& src : sources) {
    std::string base;  // where the source itself goes
    HOIST_CHECK(tree.walk(src, options.excludes, [&](const SourceTree::Entry& e) -> Result<> {
      if (e.path.empty()) {
        bool dir = S_ISDIR(e.st.st_mode);
        if (options.parents && src != ".") base = join(dest, rooted(src).substr(1));
        else if (dir) base = dest;
        else base = dest_is_dir ? join(dest, base_of(src == "." ? std::string() : src)) : dest;
        // A directory's contents go into `base`, made with the source
        // directory's metadata when it is missing.
        return copy_entry(e, dirs, base, options, stats, dir);
      }
      return copy_entry(e, dirs, join(base, e.path), options, stats);
    }));
  }
  return stats;
}

namespace {

// A new regular file at `dest` (replacing what is there), filled by `fill`,
// then given its mode, owner and mtime.
Result<> make_file(const sys::Fd& dest_root, const std::string& dest_in, mode_t mode, const CopyOptions& options,
                   int64_t mtime, const std::function<Result<>(int)>& fill) {
  const std::string dest = rooted(dest_in);
  if (dest == "/") return fail(Errc::kInvalidArgument, "cannot write a file over the root directory");
  Dirs dirs(dest_root, options);
  int dfd = HOIST_TRY(dirs.get(parent_of(dest)));
  std::string name = base_of(dest);
  HOIST_CHECK(clear_target(dfd, name, false, dest));
  int fd = ::openat(dfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Error::from_errno(errno, "cannot create '" + dest + "'"));
  sys::Fd out(fd);
  HOIST_CHECK(fill(out.get()));
  struct stat st = {};
  st.st_mode = S_IFREG | mode;
  st.st_mtim.tv_sec = mtime;
  return set_meta(dfd, name, options.chmod.value_or(mode), options.chown.value_or(Owner{}), st, dest);
}

}  // namespace

Result<> write_file_into(const sys::Fd& dest_root, const std::string& dest, std::string_view data,
                         const CopyOptions& options, int64_t mtime) {
  return make_file(dest_root, dest, 0644, options, mtime, [&](int fd) { return sys::write_all(fd, data); });
}

Result<> copy_fd_into(const sys::Fd& dest_root, const std::string& dest, int src_fd, mode_t mode,
                      const CopyOptions& options, int64_t mtime) {
  return make_file(dest_root, dest, mode, options, mtime, [&](int fd) -> Result<> {
    struct stat st;
    if (::fstat(src_fd, &st) != 0) return fail(Error::from_errno(errno, "cannot inspect the source of '" + dest + "'"));
    (void)HOIST_TRY(copy_data(src_fd, fd, uint64_t(st.st_size), dest));
    return {};
  });
}

}  // namespace hoist::build
