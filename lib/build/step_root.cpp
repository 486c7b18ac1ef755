#include "build/step_root.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "build/tree_diff.h"
#include "sys/file_io.h"
#include "sys/overlay.h"
#include "sys/tree.h"

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

namespace {

std::string flat_dir(unpack::Snapshots& snaps) { return snaps.dir() + "/flat"; }

// A shared flock on a flat tree while it is read: evict_flat_trees() leaves
// it alone.
Result<sys::Fd> lock_shared(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(Error::from_errno(errno, "cannot open '" + path + "'"));
  sys::Fd f(fd);
  while (::flock(f.get(), LOCK_SH) != 0)
    if (errno != EINTR) return fail(Error::from_errno(errno, "cannot lock '" + path + "'"));
  return f;
}

bool later(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

// Now, once the coarse clock (the least the kernel stamps a ctime with) has
// passed it: every ctime set before is at most the result, every one set
// after is later.
struct timespec after_now() {
  struct timespec t0, t;
  ::clock_gettime(CLOCK_REALTIME, &t0);
  do {
    struct timespec nap = {0, 1000000};
    ::nanosleep(&nap, nullptr);
    ::clock_gettime(CLOCK_REALTIME_COARSE, &t);
  } while (!later(t, t0));
  return t0;
}

}  // namespace

Result<FlatTree> flat_tree(unpack::Snapshots& snaps, const std::vector<std::string>& lower) {
  std::string flat = flat_dir(snaps);
  HOIST_CHECK(sys::mkdir_all(flat, 0700));
  if (lower.empty()) {
    std::string empty = flat + "/empty";
    if (::mkdir(empty.c_str(), 0755) != 0 && errno != EEXIST)
      return fail(Error::from_errno(errno, "cannot create '" + empty + "'"));
    return FlatTree{empty, HOIST_TRY(lock_shared(empty))};
  }
  // Snapshots are named by their ChainID: the top one names the whole chain.
  std::string path = flat + "/" + lower.front().substr(lower.front().rfind('/') + 1);
  for (int attempt = 0; attempt < 3; ++attempt) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
      auto lock = lock_shared(path);
      if (lock && ::stat(path.c_str(), &st) == 0) return FlatTree{path, std::move(*lock)};
      continue;  // evicted in between: made again
    }
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
  }
  return fail(Errc::kUnavailable, "flat tree '" + path + "' keeps disappearing");
}

void evict_flat_trees(unpack::Snapshots& snaps) {
  std::string flat = flat_dir(snaps);
  auto names = sys::list_dir_at(AT_FDCWD, flat);
  if (!names) return;
  auto dir = sys::open_file(flat, O_RDONLY | O_DIRECTORY);
  if (!dir) return;
  for (const auto& n : *names) {
    if (n == "empty") continue;
    int fd = ::openat(dir->get(), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    sys::Fd f(fd);
    if (::flock(f.get(), LOCK_EX | LOCK_NB) != 0) continue;  // in use
    (void)sys::remove_all_at(dir->get(), n);
  }
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
    r->flat_dir_ = flat_dir(snaps);
    HOIST_CHECK(make_dir(r->upper_, 0755));
    HOIST_CHECK(make_dir(r->merged_, 0755));
    HOIST_CHECK(make_dir(r->scratch_, 0700));
    auto src = HOIST_TRY(sys::open_file(r->base_.path, O_RDONLY | O_DIRECTORY));
    auto dst = HOIST_TRY(sys::open_file(r->merged_, O_RDONLY | O_DIRECTORY));
    HOIST_CHECK_CTX(merge_into(src.get(), dst.get()), "cannot copy the step's root");
    HOIST_CHECK(copy_dir_meta(r->base_.path, r->merged_));
    r->copied_at_ = after_now();
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
  if (!base_.path.empty()) {
    auto lower = HOIST_TRY(sys::open_file(base_.path, O_RDONLY | O_DIRECTORY));
    auto merged = HOIST_TRY(sys::open_file(merged_, O_RDONLY | O_DIRECTORY));
    auto upper = HOIST_TRY(sys::open_file(upper_, O_RDONLY | O_DIRECTORY));
    (void)HOIST_TRY_CTX(diff_into(lower.get(), merged.get(), upper.get(), copied_at_),
                        "cannot find the step's changes");
    HOIST_CHECK(copy_dir_meta(merged_, upper_));
    mounted_ = false;
    return {};
  }
  HOIST_CHECK(sys::unmount(merged_));
  mounted_ = false;
  return {};
}

Result<bool> StepRoot::adopt(unpack::Snapshots& snaps, const digest::Digest& chain_id, bool whole) {
  if (mounted_) return fail(Errc::kInternal, "adopt() of a mounted step root");
  if (!flat_dir_.empty() && whole) {
    // kCopy: the tree the step left is the next step's flat tree.
    std::string flat = flat_dir_ + "/" + chain_id.hex();
    if (::rename(merged_.c_str(), flat.c_str()) != 0 && errno != EEXIST && errno != ENOTEMPTY)
      return fail(Error::from_errno(errno, "cannot create '" + flat + "'"));
  }
  return snaps.adopt(chain_id, upper_);
}

Result<std::unique_ptr<ReadOnlyRoot>> ReadOnlyRoot::open(unpack::Snapshots& snaps,
                                                         const std::vector<std::string>& lower, Snapshotter mode) {
  std::unique_ptr<ReadOnlyRoot> r(new ReadOnlyRoot());
  if (mode == Snapshotter::kCopy && lower.size() > 1) {
    r->flat_ = HOIST_TRY(flat_tree(snaps, lower));
    r->path_ = r->flat_.path;
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
