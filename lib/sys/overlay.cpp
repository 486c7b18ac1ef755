#include "sys/overlay.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/fd.h"
#include "sys/userns.h"

namespace hoist::sys {

namespace {

constexpr long kOverlayMagic = 0x794c7630;  // OVERLAYFS_SUPER_MAGIC

std::string fd_path(const Fd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

// The messages the kernel queued on an fs context ("e overlayfs: ..."), joined.
std::string context_log(int fsfd) {
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fsfd, buf, sizeof buf - 1);
    if (n <= 0) break;
    std::string line(buf, size_t(n));
    if (line.size() > 2 && line[1] == ' ') line = line.substr(2);
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

Error mount_error(int err, int fsfd, const std::string& what) {
  std::string log = fsfd >= 0 ? context_log(fsfd) : "";
  auto e = Error::from_errno(err, what);
  if (!log.empty()) e = Error::from_errno(err, what + " (" + log + ")");
  return e;
}

// The new mount API, one lower directory per fsconfig call. Returns ENOSYS or
// EINVAL (no "lowerdir+": Linux < 6.8) for the caller to fall back.
Result<> mount_new_api(const std::vector<Fd>& lowers, const Fd& upper, const Fd& work, const std::string& target,
                       int& fallback_errno) {
  fallback_errno = 0;
  int fsfd = ::fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) {
    if (errno == ENODEV) return fail(Errc::kUnsupported, "the kernel has no overlay file system");
    fallback_errno = errno;
    return fail(Error::from_errno(errno, "fsopen overlay"));
  }
  Fd fs(fsfd);
  for (size_t i = 0; i < lowers.size(); ++i) {
    if (::fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", fd_path(lowers[i]).c_str(), 0) != 0) {
      if (i == 0 && errno == EINVAL) fallback_errno = errno;
      return fail(mount_error(errno, fsfd, "cannot add overlay lower directory"));
    }
  }
  // In a user namespace overlay keeps (and reads) its xattrs under user.*.
  if (!in_initial_user_namespace() && ::fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", nullptr, 0) != 0)
    return fail(mount_error(errno, fsfd, "cannot set overlay option userxattr"));
  if (upper && ::fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", fd_path(upper).c_str(), 0) != 0)
    return fail(mount_error(errno, fsfd, "cannot set overlay upper directory"));
  if (upper && ::fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", fd_path(work).c_str(), 0) != 0)
    return fail(mount_error(errno, fsfd, "cannot set overlay work directory"));
  // Every change lands in the upper directory as plain files: no directory
  // renames recorded as redirects, no metadata-only copies pointing below;
  // and a redirect met in a lower directory is never followed ("off" follows
  // them when the module's redirect_always_follow is on, and userxattr
  // refuses that).
  for (auto [opt, value] : {std::pair{"redirect_dir", "nofollow"}, std::pair{"metacopy", "off"}})
    if (::fsconfig(fsfd, FSCONFIG_SET_STRING, opt, value, 0) != 0)
      return fail(mount_error(errno, fsfd, std::string("cannot set overlay option ") + opt));
  if (::fsconfig(fsfd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return fail(mount_error(errno, fsfd, "cannot create overlay"));
  int mfd = ::fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
  if (mfd < 0) return fail(mount_error(errno, fsfd, "cannot create overlay mount"));
  Fd m(mfd);
  if (::move_mount(mfd, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return fail(Error::from_errno(errno, "cannot attach overlay at '" + target + "'"));
  return {};
}

Result<> mount_legacy(const std::vector<Fd>& lowers, const Fd& upper, const Fd& work, const std::string& target) {
  std::string data = "lowerdir=";
  for (size_t i = 0; i < lowers.size(); ++i) {
    if (i) data += ':';
    data += fd_path(lowers[i]);
  }
  if (upper) data += ",upperdir=" + fd_path(upper) + ",workdir=" + fd_path(work);
  data += ",redirect_dir=nofollow,metacopy=off";
  if (!in_initial_user_namespace()) data += ",userxattr";
  long page = ::sysconf(_SC_PAGESIZE);
  if (page > 0 && data.size() >= size_t(page))
    return fail(Errc::kUnsupported, "too many layers (" + std::to_string(lowers.size()) +
                                        ") for one overlay mount on this kernel (Linux >= 6.8 has no such limit)");
  if (::mount("overlay", target.c_str(), "overlay", 0, data.c_str()) != 0) {
    if (errno == ENODEV) return fail(Errc::kUnsupported, "the kernel has no overlay file system");
    return fail(Error::from_errno(errno, "cannot mount overlay at '" + target + "'"));
  }
  return {};
}

Result<Fd> open_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(Error::from_errno(errno, "cannot open '" + path + "'"));
  return Fd(fd);
}

}  // namespace

Result<> mount_overlay(const OverlaySpec& spec, const std::string& target) {
  if (spec.lower.empty()) return fail(Errc::kInvalidArgument, "an overlay needs at least one lower directory");
  // The fds stay open until the mount exists: /proc/self/fd/N names them.
  std::vector<Fd> lowers;
  lowers.reserve(spec.lower.size());
  for (const auto& l : spec.lower) lowers.push_back(HOIST_TRY(open_dir(l)));
  if (spec.upper.empty() && spec.lower.size() < 2)
    return fail(Errc::kInvalidArgument, "a read-only overlay needs at least two lower directories");
  Fd upper, work;
  if (!spec.upper.empty()) {
    upper = HOIST_TRY(open_dir(spec.upper));
    work = HOIST_TRY(open_dir(spec.work));
  }
  int fallback = 0;
  auto r = mount_new_api(lowers, upper, work, target, fallback);
  if (r || fallback == 0) return r;
  return mount_legacy(lowers, upper, work, target);
}

Result<bool> is_mount_root(const std::string& path) {
  struct statx sx;
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) != 0)
    return fail(Error::from_errno(errno, "cannot inspect '" + path + "'"));
  if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  struct stat self, parent;
  if (::lstat(path.c_str(), &self) != 0 || ::stat((path + "/..").c_str(), &parent) != 0)
    return fail(Error::from_errno(errno, "cannot inspect '" + path + "'"));
  return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

Result<bool> is_overlay_mount_root(const std::string& path) {
  if (!HOIST_TRY(is_mount_root(path))) return false;
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0) return fail(Error::from_errno(errno, "cannot inspect '" + path + "'"));
  return static_cast<long>(fs.f_type) == kOverlayMagic;
}

Result<> unmount(const std::string& path) {
  if (::umount2(path.c_str(), UMOUNT_NOFOLLOW) != 0)
    return fail(Error::from_errno(errno, "cannot unmount '" + path + "'"));
  return {};
}

Result<> bind_fd(int fd, const std::string& target) {
  int tree = ::open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  if (tree < 0) return fail(Error::from_errno(errno, "cannot clone the mount of '" + target + "'s source"));
  Fd t(tree);
  if (::move_mount(tree, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return fail(Error::from_errno(errno, "cannot bind at '" + target + "'"));
  return {};
}

std::string_view overlay_xattr_prefix() {
  return in_initial_user_namespace() ? "trusted.overlay." : "user.overlay.";
}

Result<> mount_tmpfs(const std::string& target, const std::string& data) {
  if (::mount("tmpfs", target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data.c_str()) != 0)
    return fail(Error::from_errno(errno, "cannot mount a tmpfs at '" + target + "'"));
  return {};
}

Result<> enter_private_mount_namespace() {
  if (::unshare(CLONE_NEWNS) != 0) return fail(Error::from_errno(errno, "cannot create a mount namespace"));
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    return fail(Error::from_errno(errno, "cannot make the mount namespace a slave of the host's"));
  return {};
}

}  // namespace hoist::sys
