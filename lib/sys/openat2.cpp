#include "sys/openat2.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hoist::sys {

namespace {

constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

// Copies `path` into `buf` (PATH_MAX) without leading slashes; false if too long.
bool copy_relative(const char* path, char* buf) {
  while (*path == '/') ++path;
  size_t n = strnlen(path, PATH_MAX);
  if (n >= PATH_MAX) return false;
  memcpy(buf, path, n + 1);
  // Strip trailing slashes so the last component is a name.
  while (n > 0 && buf[n - 1] == '/') buf[--n] = '\0';
  return true;
}

}  // namespace

int openat2_raw(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = uint64_t(flags | O_CLOEXEC);
  // The kernel rejects a mode without O_CREAT/O_TMPFILE.
  if (flags & (O_CREAT | O_TMPFILE)) how.mode = mode;
  how.resolve = resolve;
  long fd;
  do {
    fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  return int(fd);
}

int open_in_root_raw(int root_fd, const char* path, int flags, mode_t mode) {
  char rel[PATH_MAX];
  if (!copy_relative(path, rel)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return openat2_raw(root_fd, rel[0] ? rel : ".", flags, mode, kInRoot);
}

namespace {

int mkdir_all_depth(int root_fd, const char* path, mode_t mode, int depth) {
  char rel[PATH_MAX];
  if (!copy_relative(path, rel)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  // Each prefix is resolved from the root with RESOLVE_IN_ROOT, so a symlink
  // planted in the tree is followed only inside it. A missing component is made
  // with mkdirat on the already-resolved parent fd and a plain name, which
  // cannot follow anything; then the prefix is resolved again.
  int cur = openat2_raw(root_fd, ".", O_PATH | O_DIRECTORY, 0, kInRoot);
  if (cur < 0) return -1;
  char* p = rel;
  while (*p) {
    char* slash = strchr(p, '/');
    if (slash) *slash = '\0';
    if (p[0] != '\0' && strcmp(p, ".") != 0) {
      int next = openat2_raw(root_fd, rel, O_PATH | O_DIRECTORY, 0, kInRoot);
      if (next < 0 && errno == ENOENT && strcmp(p, "..") != 0) {
        if (::mkdirat(cur, p, mode) == 0) {
          next = openat2_raw(root_fd, rel, O_PATH | O_DIRECTORY, 0, kInRoot);
        } else if (errno == EEXIST) {
          // A dangling symlink: create its target, read as a path inside the
          // root (relative to this directory, or to the root if absolute),
          // followed by the rest of the path. Loops end at 40 links (ELOOP).
          char target[PATH_MAX];
          ssize_t n = ::readlinkat(cur, p, target, sizeof target - 1);
          if (n < 0 || depth >= 40) {
            if (n >= 0) errno = ELOOP;
            int e = errno;
            ::close(cur);
            errno = e;
            return -1;
          }
          target[n] = '\0';
          char joined[PATH_MAX];
          size_t len = 0;
          auto append = [&](const char* s) {
            size_t l = strlen(s);
            if (len + l + 1 >= sizeof joined) return false;
            memcpy(joined + len, s, l);
            len += l;
            joined[len] = '\0';
            return true;
          };
          bool ok = true;
          joined[0] = '\0';
          if (target[0] != '/') {
            *p = '\0';  // rel now holds the directory part, "a/b/" or ""
            ok = append("/") && append(rel);
          }
          ok = ok && append("/") && append(target);
          if (slash) ok = ok && append("/") && append(slash + 1);
          ::close(cur);
          if (!ok) {
            errno = ENAMETOOLONG;
            return -1;
          }
          return mkdir_all_depth(root_fd, joined, mode, depth + 1);
        }
      }
      if (next < 0) {
        int e = errno;
        ::close(cur);
        errno = e;
        return -1;
      }
      ::close(cur);
      cur = next;
    }
    if (!slash) break;
    *slash = '/';
    p = slash + 1;
  }
  return cur;
}

}  // namespace

int mkdir_all_in_root_raw(int root_fd, const char* path, mode_t mode) {
  return mkdir_all_depth(root_fd, path, mode, 0);
}

int touch_in_root_raw(int root_fd, const char* path, mode_t mode) {
  char rel[PATH_MAX];
  if (!copy_relative(path, rel)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = openat2_raw(root_fd, rel, O_PATH, 0, kInRoot);
  if (fd >= 0 || errno != ENOENT) return fd;
  char* slash = strrchr(rel, '/');
  int parent;
  const char* name = rel;
  if (slash) {
    *slash = '\0';
    parent = mkdir_all_in_root_raw(root_fd, rel, 0755);
    *slash = '/';
    name = slash + 1;
  } else {
    parent = openat2_raw(root_fd, ".", O_PATH | O_DIRECTORY, 0, kInRoot);
  }
  if (parent < 0) return -1;
  // O_PATH fds cannot be used with O_CREAT directly: create through the parent
  // with O_NOFOLLOW|O_EXCL so a racing symlink is refused rather than followed.
  int f = ::openat(parent, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, mode);
  if (f < 0 && errno != EEXIST) {
    int e = errno;
    ::close(parent);
    errno = e;
    return -1;
  }
  if (f >= 0) ::close(f);
  ::close(parent);
  return openat2_raw(root_fd, rel, O_PATH, 0, kInRoot);
}

Result<Fd> open_in_root(const Fd& root, std::string_view path, int flags, mode_t mode) {
  std::string p(path);
  int fd = open_in_root_raw(root.get(), p.c_str(), flags, mode);
  if (fd < 0) return fail(Error::from_errno(errno, "cannot open '" + p + "'"));
  return Fd(fd);
}

Result<Fd> mkdir_all_in_root(const Fd& root, std::string_view path, mode_t mode) {
  std::string p(path);
  int fd = mkdir_all_in_root_raw(root.get(), p.c_str(), mode);
  if (fd < 0) return fail(Error::from_errno(errno, "cannot create directory '" + p + "'"));
  return Fd(fd);
}

}  // namespace hoist::sys
