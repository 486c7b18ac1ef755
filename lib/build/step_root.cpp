#include "build/step_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "build/tree_diff.h"
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

Result<std::string> flat_tree(unpack::Snapshots& snaps, const std::vector<std::string>& lower) {
  std::string flat = snaps.dir() + "/flat";
  HOIST_CHECK(sys::mkdir_all(flat, 0700));
  if (lower.empty()) {
    std::string empty = flat + "/empty";
    if (::mkdir(empty.c_str(), 0755) != 0 && errno != EEXIST)
      return fail(Error::from_errno(errno, "cannot create '" + empty + "'"));
    return empty;
  }
  // Snapshots are named by their ChainID: the top one names the whole chain.
  std::string path = flat + "/" + lower.front().substr(lower.front().rfind('/') + 1);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return path;
  auto tmp = HOIST_TRY(snaps.make_temp());
  std::string t = tmp.path() + "/tree";
  HOIST_CHECK(make_dir(t, 0755));
  auto dst = HOIST_TRY(sys::open_file(t, O_RDONLY | O_DIRECTORY));
  for (auto it = lower.rbegin(); it != lower.rend(); ++it) {
    auto src = HOIST_TRY(sys::open_file(*it, O_RDONLY | O_DIRECTORY));
    HOIST_CHECK_CTX(merge_into(src.get(), dst.get()), "cannot copy snapshot '" + *it + "'");
  }
  HOIST_CHECK(copy_dir_meta(lower.front(), t));
  // Whole or not at all: renamed into place (a concurrent build's copy wins).
  if (::rename(t.c_str(), path.c_str()) != 0 && errno != EEXIST && errno != ENOTEMPTY)
    return fail(Error::from_errno(errno, "cannot create '" + path + "'"));
  return path;
}

bool overlay_works(unpack::Snapshots& snaps) {
  auto tmp = snaps.make_temp();
  if (!tmp) return false;
  const std::string& d = tmp->path();
  for (const char* sub : {"/l1", "/l2", "/m"})
    if (!make_dir(d + sub, 0755)) return false;
  if (!sys::mount_overlay({{d + "/l1", d + "/l2"}, "", ""}, d + "/m")) return false;
  (void)sys::unmount(d + "/m");
  return true;
}

Result<std::unique_ptr<StepRoot>> StepRoot::mount(unpack::Snapshots& snaps, const std::vector<std::string>& lower,
                                                  Snapshotter mode) {
  auto tmp = HOIST_TRY(snaps.make_temp());
  std::unique_ptr<StepRoot> r(new StepRoot(std::move(tmp)));
  const std::string& d = r->dir_.path();
  if (mode == Snapshotter::kCopy) {
    r->base_ = HOIST_TRY(flat_tree(snaps, lower));
    HOIST_CHECK(make_dir(r->upper_, 0755));
    HOIST_CHECK(make_dir(r->merged_, 0755));
    HOIST_CHECK(make_dir(r->scratch_, 0700));
    auto src = HOIST_TRY(sys::open_file(r->base_, O_RDONLY | O_DIRECTORY));
    auto dst = HOIST_TRY(sys::open_file(r->merged_, O_RDONLY | O_DIRECTORY));
    HOIST_CHECK_CTX(merge_into(src.get(), dst.get()), "cannot copy the step's root");
    HOIST_CHECK(copy_dir_meta(r->base_, r->merged_));
    r->mounted_ = true;
    return r;
  }
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
  if (!base_.empty()) {
    auto lower = HOIST_TRY(sys::open_file(base_, O_RDONLY | O_DIRECTORY));
    auto merged = HOIST_TRY(sys::open_file(merged_, O_RDONLY | O_DIRECTORY));
    auto upper = HOIST_TRY(sys::open_file(upper_, O_RDONLY | O_DIRECTORY));
    (void)HOIST_TRY_CTX(diff_into(lower.get(), merged.get(), upper.get()), "cannot find the step's changes");
    HOIST_CHECK(copy_dir_meta(merged_, upper_));
    mounted_ = false;
    return {};
  }
  HOIST_CHECK(sys::unmount(merged_));
  mounted_ = false;
  return {};
}

Result<bool> StepRoot::adopt(unpack::Snapshots& snaps, const digest::Digest& chain_id) {
  if (mounted_) return fail(Errc::kInternal, "adopt() of a mounted step root");
  return snaps.adopt(chain_id, upper_);
}

Result<std::unique_ptr<ReadOnlyRoot>> ReadOnlyRoot::open(unpack::Snapshots& snaps,
                                                         const std::vector<std::string>& lower, Snapshotter mode) {
  std::unique_ptr<ReadOnlyRoot> r(new ReadOnlyRoot());
  if (mode == Snapshotter::kCopy && lower.size() > 1) {
    r->path_ = HOIST_TRY(flat_tree(snaps, lower));
    return r;
  }
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
