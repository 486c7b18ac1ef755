#include "build/step_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "sys/file_io.h"
#include "sys/overlay.h"

namespace hoist::build {

namespace {

Result<> make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) return fail(Error::from_errno(errno, "cannot create '" + path + "'"));
  return {};
}

// Owner, mode and times of directory `from` onto directory `to`.
Result<> copy_dir_meta(const std::string& from, const std::string& to) {
  struct stat st;
  if (::stat(from.c_str(), &st) != 0) return fail(Error::from_errno(errno, "cannot inspect '" + from + "'"));
  if (::chown(to.c_str(), st.st_uid, st.st_gid) != 0) return fail(Error::from_errno(errno, "cannot chown '" + to + "'"));
  if (::chmod(to.c_str(), st.st_mode & 07777) != 0) return fail(Error::from_errno(errno, "cannot chmod '" + to + "'"));
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, to.c_str(), ts, 0) != 0)
    return fail(Error::from_errno(errno, "cannot set times of '" + to + "'"));
  return {};
}

}  // namespace

StepRoot::StepRoot(unpack::TempDir dir)
    : dir_(std::move(dir)),
      upper_(dir_.path() + "/upper"),
      work_(dir_.path() + "/work"),
      merged_(dir_.path() + "/merged"),
      scratch_(dir_.path() + "/scratch") {}

Result<std::unique_ptr<StepRoot>> StepRoot::mount(unpack::Snapshots& snaps, const std::vector<std::string>& lower) {
  auto tmp = HOIST_TRY(snaps.make_temp());
  std::unique_ptr<StepRoot> r(new StepRoot(std::move(tmp)));
  const std::string& d = r->dir_.path();
  std::vector<std::string> lowers = lower;
  if (lowers.empty()) {
    // FROM scratch: overlay needs a lower directory; an empty one, 0755 as a rootfs.
    HOIST_CHECK(make_dir(d + "/empty", 0755));
    lowers.push_back(d + "/empty");
  }
  HOIST_CHECK(make_dir(r->upper_, 0755));
  HOIST_CHECK(make_dir(r->work_, 0700));
  HOIST_CHECK(make_dir(r->merged_, 0755));
  HOIST_CHECK(make_dir(r->scratch_, 0700));
  HOIST_CHECK(copy_dir_meta(lowers.front(), r->upper_));
  HOIST_CHECK(sys::mount_overlay({lowers, r->upper_, r->work_}, r->merged_));
  r->mounted_ = true;
  return r;
}

StepRoot::~StepRoot() { (void)unmount(); }

Result<> StepRoot::unmount() {
  if (!mounted_) return {};
  HOIST_CHECK(sys::unmount(merged_));
  mounted_ = false;
  return {};
}

Result<bool> StepRoot::adopt(unpack::Snapshots& snaps, const digest::Digest& chain_id) {
  if (mounted_) return fail(Errc::kInternal, "adopt() of a mounted step root");
  return snaps.adopt(chain_id, upper_);
}

Result<std::unique_ptr<ReadOnlyRoot>> ReadOnlyRoot::open(unpack::Snapshots& snaps,
                                                         const std::vector<std::string>& lower) {
  std::unique_ptr<ReadOnlyRoot> r(new ReadOnlyRoot());
  if (lower.size() <= 1) {
    if (!lower.empty()) {
      r->path_ = lower.front();
      return r;
    }
    r->dir_ = std::make_unique<unpack::TempDir>(HOIST_TRY(snaps.make_temp()));
    r->path_ = r->dir_->path() + "/empty";
    HOIST_CHECK(make_dir(r->path_, 0755));
    return r;
  }
  r->dir_ = std::make_unique<unpack::TempDir>(HOIST_TRY(snaps.make_temp()));
  r->path_ = r->dir_->path() + "/merged";
  HOIST_CHECK(make_dir(r->path_, 0755));
  HOIST_CHECK(sys::mount_overlay({lower, "", ""}, r->path_));
  r->mounted_ = true;
  return r;
}

ReadOnlyRoot::~ReadOnlyRoot() {
  if (mounted_) (void)sys::unmount(path_);
}

}  // namespace hoist::build
