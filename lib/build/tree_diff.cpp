// Copying trees in overlay form and diffing two trees into an overlay upper
// directory, for the copy snapshotter (build/tree_diff.h).

#include "build/tree_diff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sys/fd.h"
#include "sys/overlay.h"
#include "sys/tree.h"

namespace hoist::build {

namespace {

using Xattrs = std::map<std::string, std::string>;
using LinkKey = std::pair<dev_t, ino_t>;

Error errno_at(int err, const std::string& what, const std::string& rel) {
  return Error::from_errno(err, what + " '" + rel + "'");
}

std::string join(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }

// The xattrs a layer keeps (archive/tree_tar.h): user.* but overlay's, and
// security.capability.
Result<Xattrs> xattrs_of(int dirfd, const std::string& name, const std::string& rel) {
  Xattrs out;
  auto keys = HOIST_TRY_CTX(sys::list_xattrs_at(dirfd, name), "'" + rel + "'");
  for (auto& key : keys) {
    bool keep = key == "security.capability" || (key.starts_with("user.") && !key.starts_with("user.overlay."));
    if (!keep) continue;
    auto v = sys::get_xattr_at(dirfd, name, key);
    if (!v) {
      if (v.error().code() == Errc::kNotFound) continue;
      return fail(std::move(v).error());
    }
    out[key] = std::move(*v);
  }
  return out;
}

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

Result<std::vector<std::string>> sorted_names(int dirfd) {
  auto names = HOIST_TRY(sys::list_dir_at(dirfd, ""));
  std::sort(names.begin(), names.end());
  return names;
}

Result<sys::Fd> open_dir_at(int dirfd, const std::string& name, const std::string& rel) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail(errno_at(errno, "cannot open", rel));
  return sys::Fd(fd);
}

// Owner, xattrs, mode, times of dst_dirfd/name from `st` and `xattrs` (in
// that order: chown clears security.capability and setuid bits).
Result<> set_meta(int dirfd, const std::string& name, const struct stat& st, const Xattrs& xattrs,
                  const std::string& rel) {
  const char* n = name.empty() ? "." : name.c_str();
  int flags = name.empty() ? 0 : AT_SYMLINK_NOFOLLOW;
  if (::fchownat(dirfd, n, st.st_uid, st.st_gid, flags) != 0) return fail(errno_at(errno, "cannot chown", rel));
  if (!S_ISLNK(st.st_mode)) {
    for (const auto& [k, v] : xattrs) HOIST_CHECK(sys::set_xattr_at(dirfd, name, k, v));
    if (::fchmodat(dirfd, n, st.st_mode & 07777, 0) != 0) return fail(errno_at(errno, "cannot chmod", rel));
  }
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dirfd, n, ts, flags) != 0) return fail(errno_at(errno, "cannot set the times of", rel));
  return {};
}

Result<> copy_bytes(int from, int to, off_t size, const std::string& rel) {
  off_t done = 0;
  while (done < size) {
    ssize_t n = ::copy_file_range(from, nullptr, to, nullptr, size_t(size - done), 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
      char buf[1 << 16];
      ssize_t r = ::read(from, buf, sizeof buf);
      if (r < 0) return fail(errno_at(errno, "cannot read", rel));
      if (r == 0) break;
      for (ssize_t w = 0; w < r;) {
        ssize_t k = ::write(to, buf + w, size_t(r - w));
        if (k < 0) return fail(errno_at(errno, "cannot write", rel));
        w += k;
      }
      done += r;
      continue;
    }
    if (n < 0) return fail(errno_at(errno, "cannot copy", rel));
    if (n == 0) break;
    done += n;
  }
  return {};
}

// Copies entries between two directory trees, keeping hardlinks met within
// one Copier (their first copy's path, relative to the destination root).
class Copier {
 public:
  explicit Copier(int dst_root) : dst_root_(dst_root) {}

  // One non-directory entry src_dirfd/name -> dst_dirfd/name (nothing there).
  Result<> copy_leaf(int sfd, const std::string& name, const struct stat& st, int dfd, const std::string& rel) {
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      if (auto it = links_.find({st.st_dev, st.st_ino}); it != links_.end()) {
        if (::linkat(dst_root_, it->second.c_str(), dfd, name.c_str(), 0) != 0)
          return fail(errno_at(errno, "cannot link", rel));
        return {};
      }
    }
    auto xattrs = S_ISLNK(st.st_mode) ? Xattrs{} : HOIST_TRY(xattrs_of(sfd, name, rel));
    if (S_ISREG(st.st_mode)) {
      int in = ::openat(sfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (in < 0) return fail(errno_at(errno, "cannot open", rel));
      sys::Fd src(in);
      int out = ::openat(dfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (out < 0) return fail(errno_at(errno, "cannot create", rel));
      sys::Fd dst(out);
      HOIST_CHECK(copy_bytes(src.get(), dst.get(), st.st_size, rel));
      if (st.st_nlink > 1) links_[{st.st_dev, st.st_ino}] = rel;
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(size_t(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(sfd, name.c_str(), target.data(), target.size());
      if (n < 0) return fail(errno_at(errno, "cannot read the link", rel));
      target.resize(size_t(n));
      if (::symlinkat(target.c_str(), dfd, name.c_str()) != 0) return fail(errno_at(errno, "cannot create", rel));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      if (::mknodat(dfd, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0)
        return fail(errno_at(errno, "cannot create", rel));
    } else {
      return {};  // a socket: not part of a layer
    }
    return set_meta(dfd, name, st, xattrs, rel);
  }

  // src_dirfd/name (a directory) over dst_dirfd/name; `overlay`: src is in
  // overlay form (whiteouts remove, opaque directories replace).
  Result<> copy_dir(int sfd, const std::string& name, const struct stat& st, int dfd, const std::string& rel,
                    bool overlay) {
    struct stat dst;
    bool exists = ::fstatat(dfd, name.c_str(), &dst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(dst.st_mode);
    if (!exists && ::mkdirat(dfd, name.c_str(), 0700) != 0) return fail(errno_at(errno, "cannot create", rel));
    auto s = HOIST_TRY(open_dir_at(sfd, name, rel));
    auto d = HOIST_TRY(open_dir_at(dfd, name, rel));
    auto xattrs = HOIST_TRY(xattrs_of(sfd, name, rel));
    if (exists && overlay) {
      auto opq = sys::get_xattr_at(sfd, name, std::string(sys::overlay_xattr_prefix()) + "opaque");
      if (opq && *opq == "y")
        for (const auto& n : HOIST_TRY(sorted_names(d.get()))) HOIST_CHECK(sys::remove_all_at(d.get(), n));
    }
    HOIST_CHECK(copy_children(s.get(), d.get(), rel, overlay));
    return set_meta(dfd, name, st, xattrs, rel);
  }

  Result<> copy_children(int sfd, int dfd, const std::string& rel, bool overlay) {
    for (const auto& n : HOIST_TRY(sorted_names(sfd))) {
      std::string r = join(rel, n);
      struct stat st;
      if (::fstatat(sfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return fail(errno_at(errno, "cannot stat", r));
      struct stat there;
      bool present = ::fstatat(dfd, n.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0;
      if (overlay && is_whiteout(st)) {
        if (present) HOIST_CHECK(sys::remove_all_at(dfd, n));
        continue;
      }
      if (present && !(S_ISDIR(st.st_mode) && S_ISDIR(there.st_mode))) HOIST_CHECK(sys::remove_all_at(dfd, n));
      if (S_ISDIR(st.st_mode)) HOIST_CHECK(copy_dir(sfd, n, st, dfd, r, overlay));
      else HOIST_CHECK(copy_leaf(sfd, n, st, dfd, r));
    }
    return {};
  }

 private:
  int dst_root_;
  std::map<LinkKey, std::string> links_;
};

Result<bool> same_bytes(int lfd, int mfd, const std::string& name, off_t size, const std::string& rel) {
  int a = ::openat(lfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (a < 0) return fail(errno_at(errno, "cannot open", rel));
  sys::Fd fa(a);
  int b = ::openat(mfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (b < 0) return fail(errno_at(errno, "cannot open", rel));
  sys::Fd fb(b);
  std::vector<char> x(1 << 16), y(1 << 16);
  for (off_t done = 0; done < size;) {
    ssize_t n = ::read(a, x.data(), x.size());
    if (n < 0) return fail(errno_at(errno, "cannot read", rel));
    if (n == 0) return false;
    for (ssize_t got = 0; got < n;) {
      ssize_t k = ::read(b, y.data() + got, size_t(n - got));
      if (k < 0) return fail(errno_at(errno, "cannot read", rel));
      if (k == 0) return false;
      got += k;
    }
    if (std::memcmp(x.data(), y.data(), size_t(n)) != 0) return false;
    done += n;
  }
  return true;
}

class Differ {
 public:
  Differ(int upper_root, const struct timespec& since) : since_(since), copier_(upper_root) {}

  // One directory level. `ensure` makes (once) and returns the upper
  // directory of this level.
  Result<uint64_t> dir(int lfd, int mfd, const std::string& rel, const std::function<Result<int>()>& ensure) {
    uint64_t changes = 0;
    auto mnames = HOIST_TRY(sorted_names(mfd));
    std::set<std::string> in_merged(mnames.begin(), mnames.end());
    if (lfd >= 0) {
      for (const auto& n : HOIST_TRY(sorted_names(lfd))) {
        if (in_merged.contains(n)) continue;
        int ufd = HOIST_TRY(ensure());
        HOIST_CHECK(sys::make_whiteout_at(ufd, n));
        ++changes;
      }
    }
    for (const auto& n : mnames) {
      std::string r = join(rel, n);
      struct stat sm, sl;
      if (::fstatat(mfd, n.c_str(), &sm, AT_SYMLINK_NOFOLLOW) != 0) return fail(errno_at(errno, "cannot stat", r));
      bool have = lfd >= 0 && ::fstatat(lfd, n.c_str(), &sl, AT_SYMLINK_NOFOLLOW) == 0;
      if (have && S_ISDIR(sm.st_mode) && S_ISDIR(sl.st_mode)) {
        auto child_m = HOIST_TRY(open_dir_at(mfd, n, r));
        auto child_l = HOIST_TRY(open_dir_at(lfd, n, r));
        std::optional<sys::Fd> child_u;
        auto child_ensure = [&]() -> Result<int> {
          if (!child_u) {
            int ufd = HOIST_TRY(ensure());
            if (::mkdirat(ufd, n.c_str(), 0700) != 0) return fail(errno_at(errno, "cannot create", r));
            child_u = HOIST_TRY(open_dir_at(ufd, n, r));
          }
          return child_u->get();
        };
        uint64_t sub = HOIST_TRY(dir(child_l.get(), child_m.get(), r, child_ensure));
        bool meta = HOIST_TRY(differs(lfd, mfd, n, sl, sm, r));
        if (meta || sub) {
          (void)HOIST_TRY(child_ensure());
          auto xattrs = HOIST_TRY(xattrs_of(mfd, n, r));
          HOIST_CHECK(set_meta(HOIST_TRY(ensure()), n, sm, xattrs, r));
          changes += sub + (meta ? 1 : 0);
        }
        continue;
      }
      if (have && (sm.st_mode & S_IFMT) == (sl.st_mode & S_IFMT) && !HOIST_TRY(differs(lfd, mfd, n, sl, sm, r)))
        continue;
      int ufd = HOIST_TRY(ensure());
      if (S_ISDIR(sm.st_mode)) HOIST_CHECK(copier_.copy_dir(mfd, n, sm, ufd, r, false));
      else HOIST_CHECK(copier_.copy_leaf(mfd, n, sm, ufd, r));
      ++changes;
    }
    return changes;
  }

 private:
  // Whether merged's entry (of lower's type) changed since the copy: its
  // ctime says something happened to it, and then what a layer records
  // differs (a link count alone, as when a hardlinked twin is removed, is
  // not a change: overlay copies nothing up for it).
  Result<bool> differs(int lfd, int mfd, const std::string& n, const struct stat& l, const struct stat& m,
                       const std::string& rel) {
    bool touched = m.st_ctim.tv_sec > since_.tv_sec ||
                   (m.st_ctim.tv_sec == since_.tv_sec && m.st_ctim.tv_nsec > since_.tv_nsec);
    if (!touched) return false;
    if ((l.st_mode & 07777) != (m.st_mode & 07777) || l.st_uid != m.st_uid || l.st_gid != m.st_gid) return true;
    if (l.st_mtim.tv_sec != m.st_mtim.tv_sec || l.st_mtim.tv_nsec != m.st_mtim.tv_nsec) return true;
    if (S_ISREG(m.st_mode)) {
      if (l.st_size != m.st_size || !HOIST_TRY(same_bytes(lfd, mfd, n, m.st_size, rel))) return true;
    } else if (S_ISLNK(m.st_mode)) {
      return true;  // only a new link makes a symlink's ctime move
    } else if (S_ISCHR(m.st_mode) || S_ISBLK(m.st_mode)) {
      if (l.st_rdev != m.st_rdev) return true;
    }
    return HOIST_TRY(xattrs_of(lfd, n, rel)) != HOIST_TRY(xattrs_of(mfd, n, rel));
  }

  struct timespec since_;
  Copier copier_;
};

}  // namespace

Result<> merge_into(int src_dirfd, int dst_dirfd) {
  Copier c(dst_dirfd);
  return c.copy_children(src_dirfd, dst_dirfd, "", true);
}

Result<uint64_t> diff_into(int lower_dirfd, int merged_dirfd, int upper_dirfd, const struct timespec& since) {
  Differ d(upper_dirfd, since);
  return d.dir(lower_dirfd, merged_dirfd, "", [&]() -> Result<int> { return upper_dirfd; });
}

}  // namespace hoist::build
