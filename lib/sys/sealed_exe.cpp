#include "sys/sealed_exe.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sys/fd.h"
#include "sys/file_io.h"
#include "util/strings.h"

namespace hoist::sys {

namespace {

constexpr const char* kMarker = "_HOIST_SEALED_EXE";

// The mount id of an open file, from /proc/self/fdinfo ("mnt_id:\t42").
std::string mount_id(int fd) {
  auto text = read_file("/proc/self/fdinfo/" + std::to_string(fd), 4096);
  if (!text) return {};
  for (auto line : split(*text, '\n'))
    if (line.starts_with("mnt_id:")) return std::string(trim(line.substr(7)));
  return {};
}

bool in_mount_table(const std::string& id) {
  auto text = read_file("/proc/self/mountinfo", 16 << 20);
  if (!text) return true;  // cannot tell: assume attached (not sealed)
  for (auto line : split(*text, '\n'))
    if (line.substr(0, line.find(' ')) == id) return true;
  return false;
}

// Overlay splits lowerdir at ':' and honours '\' escapes.
std::string escape_lowerdir(std::string_view p) {
  std::string out;
  for (char c : p) {
    if (c == ':' || c == '\\' || c == ',') out += '\\';
    out += c;
  }
  return out;
}

Fd fs_mount(const char* fstype, const std::string& lowerdir, unsigned attrs) {
  Fd fs(int(::syscall(SYS_fsopen, fstype, FSOPEN_CLOEXEC)));
  if (!fs) return Fd();
  if (!lowerdir.empty() &&
      ::syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_STRING, "lowerdir", lowerdir.c_str(), 0) < 0)
    return Fd();
  if (::syscall(SYS_fsconfig, fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) return Fd();
  return Fd(int(::syscall(SYS_fsmount, fs.get(), FSMOUNT_CLOEXEC, attrs)));
}

// The running binary, opened from a read-only overlay of its directory (and
// an empty tmpfs: an overlay without upperdir needs two lower layers) that is
// never attached anywhere. Invalid when this cannot be done (not root, an
// exe on a filesystem overlay cannot stack on, ...).
Fd overlay_view() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return Fd();
  std::string path(buf, size_t(n));
  if (path[0] != '/' || path.ends_with(" (deleted)")) return Fd();
  size_t slash = path.rfind('/');
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string name = path.substr(slash + 1);
  Fd empty = fs_mount("tmpfs", "", MOUNT_ATTR_RDONLY);
  if (!empty) return Fd();
  std::string lower = escape_lowerdir(dir) + ":/proc/self/fd/" + std::to_string(empty.get());
  Fd ovl = fs_mount("overlay", lower, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  if (!ovl) return Fd();
  Fd file(::openat(ovl.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  // The file must be the one we run (the directory could have changed).
  struct stat a, b;
  if (!file || ::fstat(file.get(), &a) < 0 || ::stat("/proc/self/exe", &b) < 0 || a.st_ino != b.st_ino ||
      a.st_size != b.st_size || !S_ISREG(a.st_mode))
    return Fd();
  return file;
}

Result<Fd> memfd_view() {
  Fd src = HOIST_TRY(open_file("/proc/self/exe", O_RDONLY));
  Fd mem(int(::syscall(SYS_memfd_create, "hoist-run", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!mem) return fail(Error::from_errno(errno, "cannot create a memfd for the sealed executable"));
  struct stat st;
  if (::fstat(src.get(), &st) < 0) return fail(Error::from_errno(errno, "cannot stat /proc/self/exe"));
  for (off_t left = st.st_size; left > 0;) {
    ssize_t w = ::sendfile(mem.get(), src.get(), nullptr, size_t(left));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return fail(Error::from_errno(w < 0 ? errno : EIO, "cannot copy /proc/self/exe"));
    left -= w;
  }
  if (::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    return fail(Error::from_errno(errno, "cannot seal the executable's copy"));
  return mem;
}

}  // namespace

bool exe_is_sealed() {
  auto fd = open_file("/proc/self/exe", O_RDONLY);
  if (!fd) return false;
  int seals = ::fcntl(fd->get(), F_GET_SEALS);
  if (seals >= 0) return (seals & F_SEAL_WRITE) != 0;
  struct statvfs vfs;
  if (::fstatvfs(fd->get(), &vfs) < 0 || !(vfs.f_flag & ST_RDONLY)) return false;
  std::string id = mount_id(fd->get());
  return !id.empty() && !in_mount_table(id);
}

Result<> seal_exe(char* const argv[], char* const envp[]) {
  if (exe_is_sealed()) {
    ::unsetenv(kMarker);  // not for the processes we start
    return {};
  }
  if (::getenv(kMarker))
    return fail(Errc::kUnsupported, "cannot seal the executable: the re-executed image is not sealed");
  std::vector<char*> env;
  for (char* const* e = envp; e && *e; ++e) env.push_back(*e);
  std::string marker = std::string(kMarker) + "=1";
  env.push_back(marker.data());
  env.push_back(nullptr);
  Fd view = overlay_view();
  if (view) {
    ::syscall(SYS_execveat, view.get(), "", argv, env.data(), AT_EMPTY_PATH);
    view.reset();
  }
  Fd mem = HOIST_TRY(memfd_view());
  ::syscall(SYS_execveat, mem.get(), "", argv, env.data(), AT_EMPTY_PATH);
  return fail(Error::from_errno(errno, "cannot execute the sealed executable"));
}

}  // namespace hoist::sys
