#include "sys/tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

namespace hoist::sys {

namespace {

std::string proc_path(int dirfd, const std::string& name) {
  std::string p = "/proc/self/fd/" + std::to_string(dirfd);
  if (!name.empty()) p += "/" + name;
  return p;
}

Result<> remove_tree(int dirfd, const std::string& name, int depth) {
  if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR && errno != EPERM && errno != EACCES)
    return fail(Error::from_errno(errno, "cannot remove '" + name + "'"));
  if (errno == EACCES) {
    // The parent is not writable (rootless tree with a 0555 directory): make it so.
    struct stat st;
    if (::fstat(dirfd, &st) == 0) (void)::fchmod(dirfd, (st.st_mode & 07777) | S_IRWXU);
    if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return {};
    if (errno != EISDIR && errno != EPERM)
      return fail(Error::from_errno(errno, "cannot remove '" + name + "'"));
  }
  if (depth > 4096) return fail(Error::from_errno(ELOOP, "cannot remove '" + name + "'"));
  // O_NOFOLLOW: if `name` was swapped for a symlink, this fails instead of
  // descending into whatever it points at.
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES) {
    (void)::fchmodat(dirfd, name.c_str(), 0700, AT_SYMLINK_NOFOLLOW);
    fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) return fail(Error::from_errno(errno, "cannot remove '" + name + "'"));
  Fd dir(fd);
  struct stat st;
  if (::fstat(fd, &st) == 0 && (st.st_mode & S_IRWXU) != S_IRWXU) (void)::fchmod(fd, (st.st_mode & 07777) | S_IRWXU);
  auto names = list_dir_at(fd, "");
  if (!names) return fail(std::move(names).error());
  for (const auto& n : *names) {
    auto r = remove_tree(fd, n, depth + 1);
    if (!r) return fail(std::move(r).error().context("'" + name + "'"));
  }
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return fail(Error::from_errno(errno, "cannot remove directory '" + name + "'"));
  return {};
}

}  // namespace

Result<> remove_all_at(int dirfd, const std::string& name) { return remove_tree(dirfd, name, 0); }

Result<std::vector<std::string>> list_dir_at(int dirfd, const std::string& name) {
  int fd = ::openat(dirfd, name.empty() ? "." : name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail(Error::from_errno(errno, "cannot open directory '" + name + "'"));
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int e = errno;
    ::close(fd);
    return fail(Error::from_errno(e, "cannot read directory '" + name + "'"));
  }
  std::vector<std::string> out;
  errno = 0;
  while (struct dirent* de = ::readdir(d)) {
    std::string_view n(de->d_name);
    if (n != "." && n != "..") out.emplace_back(n);
    errno = 0;
  }
  int e = errno;
  ::closedir(d);
  if (e != 0) return fail(Error::from_errno(e, "cannot read directory '" + name + "'"));
  return out;
}

Result<> chmod_at(int dirfd, const std::string& name, mode_t mode) {
  if (::fchmodat(dirfd, name.empty() ? "." : name.c_str(), mode, name.empty() ? 0 : AT_SYMLINK_NOFOLLOW) != 0)
    return fail(Error::from_errno(errno, "cannot change mode of '" + name + "'"));
  return {};
}

Result<> set_xattr_at(int dirfd, const std::string& name, const std::string& key, std::string_view value) {
  std::string p = proc_path(dirfd, name);
  // With a name, the magic link /proc/self/fd/N is followed as a directory on the
  // way and the name is not; without one, the magic link itself must be followed.
  auto set = name.empty() ? ::setxattr : ::lsetxattr;
  if (set(p.c_str(), key.c_str(), value.data(), value.size(), 0) != 0)
    return fail(Error::from_errno(errno, "cannot set xattr '" + key + "' on '" + name + "'"));
  return {};
}

Result<std::string> get_xattr_at(int dirfd, const std::string& name, const std::string& key) {
  std::string p = proc_path(dirfd, name);
  auto get = name.empty() ? ::getxattr : ::lgetxattr;
  for (;;) {
    ssize_t n = get(p.c_str(), key.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENODATA) return fail(Errc::kNotFound, "no xattr '" + key + "' on '" + name + "'");
      return fail(Error::from_errno(errno, "cannot read xattr '" + key + "' of '" + name + "'"));
    }
    std::string v(size_t(n), '\0');
    ssize_t m = get(p.c_str(), key.c_str(), v.data(), v.size());
    if (m < 0 && errno == ERANGE) continue;
    if (m < 0) return fail(Error::from_errno(errno, "cannot read xattr '" + key + "' of '" + name + "'"));
    v.resize(size_t(m));
    return v;
  }
}

Result<std::vector<std::string>> list_xattrs_at(int dirfd, const std::string& name) {
  std::string p = "/proc/self/fd/" + std::to_string(dirfd) + (name.empty() ? "" : "/" + name);
  auto list = name.empty() ? ::listxattr : ::llistxattr;
  for (;;) {
    ssize_t n = list(p.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return std::vector<std::string>{};
      return fail(Error::from_errno(errno, "cannot list xattrs of '" + name + "'"));
    }
    std::string buf(size_t(n), '\0');
    ssize_t m = n ? list(p.c_str(), buf.data(), buf.size()) : 0;
    if (m < 0 && errno == ERANGE) continue;  // grew in between
    if (m < 0) return fail(Error::from_errno(errno, "cannot list xattrs of '" + name + "'"));
    std::vector<std::string> out;
    for (size_t i = 0; i < size_t(m);) {
      size_t e = buf.find('\0', i);
      if (e == std::string::npos) e = size_t(m);
      if (e > i) out.emplace_back(buf.substr(i, e - i));
      i = e + 1;
    }
    return out;
  }
}

Result<> make_whiteout_at(int dirfd, const std::string& name) {
  if (::mknodat(dirfd, name.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
    return fail(Error::from_errno(errno, "cannot create whiteout '" + name + "'"));
  return {};
}

}  // namespace hoist::sys
