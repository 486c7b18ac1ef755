#include "unpack/snapshot.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <optional>

#include <fmt/core.h>

#include "sys/file_io.h"
#include "sys/userns.h"
#include "sys/tree.h"


namespace hoist::unpack {

namespace {



std::atomic<uint64_t> g_temp_counter{0};

// The root of a new snapshot starts as its parent's root (owner, mode, times),
// so that an overlay whose top layer says nothing about "./" shows what the
// plain unpack shows. The base layer's root starts as a plain rootfs does: 0755.
Result<> init_root(int fd, const std::string& parent) {
  if (parent.empty()) {
    if (::fchmod(fd, 0755) != 0) return fail(Error::from_errno(errno, "cannot chmod snapshot root"));
    return {};
  }
  struct stat st;
  if (::stat(parent.c_str(), &st) != 0) return fail(Error::from_errno(errno, "cannot inspect '" + parent + "'"));
  if (::fchown(fd, st.st_uid, st.st_gid) != 0) return fail(Error::from_errno(errno, "cannot chown snapshot root"));
  if (::fchmod(fd, st.st_mode & 07777) != 0) return fail(Error::from_errno(errno, "cannot chmod snapshot root"));
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (::futimens(fd, ts) != 0) return fail(Error::from_errno(errno, "cannot set times of snapshot root"));
  return {};
}

}  // namespace

Result<TempDir> TempDir::make(const std::string& tmp_root) {
  for (int attempt = 0;; ++attempt) {
    auto ns = std::chrono::steady_clock::now().time_since_epoch().count();
    std::string path = fmt::format("{}/{}-{}-{:x}", tmp_root, ::getpid(), g_temp_counter++, static_cast<uint64_t>(ns));
    if (::mkdir(path.c_str(), 0700) != 0) {
      if (errno == EEXIST && attempt < 16) continue;
      return fail(Error::from_errno(errno, "cannot create '" + path + "'"));
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT && attempt < 16) continue;  // a cleaner took it before we locked it
      return fail(Error::from_errno(errno, "cannot open '" + path + "'"));
    }
    sys::Fd f(fd);
    // A cleaner (remove_stale) that locked it first is removing it: start over.
    struct stat st;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &st) != 0 || st.st_nlink == 0) {
      if (attempt < 16) continue;
      return fail(Errc::kIo, "cannot claim a temp directory under '" + tmp_root + "'");
    }
    return TempDir(std::move(path), std::move(f));
  }
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)sys::remove_all(path_);
}

std::vector<digest::Digest> chain_ids(const std::vector<digest::Digest>& diff_ids) {
  std::vector<digest::Digest> out;
  out.reserve(diff_ids.size());
  for (const auto& d : diff_ids) {
    if (out.empty()) {
      out.push_back(d);
      continue;
    }
    digest::Hasher h(digest::Algorithm::kSha256);
    h.update(out.back().str() + " " + d.str());
    out.push_back(h.finish());
  }
  return out;
}

Snapshots::Snapshots(std::string dir)
    : dir_(sys::in_initial_user_namespace() ? std::move(dir) : std::move(dir) + "/userxattr") {}

std::string Snapshots::path(const digest::Digest& chain_id) const {
  return dir_ + "/" + std::string(chain_id.algorithm_name()) + "/" + chain_id.hex();
}

bool Snapshots::has(const digest::Digest& chain_id) const {
  struct stat st;
  return ::lstat(path(chain_id).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void Snapshots::remove_stale() {
  std::string tmp = dir_ + "/tmp";
  int dfd = ::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  sys::Fd d(dfd);
  auto names = sys::list_dir_at(dfd, "");
  if (!names) return;
  for (const auto& n : *names) {
    int fd = ::openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOTDIR || errno == ELOOP) (void)sys::remove_all_at(dfd, n);
      continue;
    }
    sys::Fd f(fd);
    // Held by a live builder: leave it. Ours now: its builder died.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) continue;
    (void)sys::remove_all_at(dfd, n);
  }
}

Result<bool> Snapshots::create(const digest::Digest& chain_id, const std::vector<std::string>& lower, io::Reader& blob,
                               const image::Descriptor& layer, const digest::Digest& diff_id,
                               archive::SizeBudget& budget, const archive::LayerOptions& options) {
  if (has(chain_id)) return false;
  auto tmp = HOIST_TRY(make_temp());
  HOIST_CHECK(init_root(tmp.fd(), lower.empty() ? std::string() : lower.front()));
  auto root = HOIST_TRY(sys::open_file(tmp.path(), O_PATH | O_DIRECTORY));
  archive::LayerOptions lopts = options;
  lopts.apply.whiteouts = archive::WhiteoutMode::kOverlay;
  std::vector<sys::Fd> lower_fds;
  for (const auto& l : lower) {
    lower_fds.push_back(HOIST_TRY(sys::open_file(l, O_PATH | O_DIRECTORY)));
    lopts.apply.lower_roots.push_back(lower_fds.back().get());
  }
  HOIST_CHECK(archive::apply_layer(blob, layer, diff_id, root, budget, lopts));
  bool made = HOIST_TRY(adopt(chain_id, tmp.path()));
  if (made) tmp.keep();  // else another builder won; ~TempDir drops ours
  return made;
}

Result<TempDir> Snapshots::make_temp() {
  HOIST_CHECK(sys::mkdir_all(dir_ + "/tmp", 0700));
  return TempDir::make(dir_ + "/tmp");
}

Result<bool> Snapshots::adopt(const digest::Digest& chain_id, const std::string& dir) {
  std::string final_dir = dir_ + "/" + std::string(chain_id.algorithm_name());
  HOIST_CHECK(sys::mkdir_all(final_dir, 0700));
  // Whole on disk before its name says it is whole.
  {
    auto fd = HOIST_TRY(sys::open_file(dir, O_RDONLY | O_DIRECTORY));
    if (::syncfs(fd.get()) != 0) return fail(Error::from_errno(errno, "cannot sync snapshot '" + dir + "'"));
  }
  std::string dest = path(chain_id);
  if (::rename(dir.c_str(), dest.c_str()) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) return false;
    return fail(Error::from_errno(errno, "cannot rename snapshot into '" + dest + "'"));
  }
  HOIST_CHECK(sys::fsync_dir(final_dir));
  return true;
}

Result<std::vector<std::string>> ensure_snapshots(const store::BlobDir& blobs, const std::string& store_dir,
                                                  const std::vector<image::Descriptor>& layers,
                                                  const std::vector<digest::Digest>& diff_ids,
                                                  const BundleOptions& options, ProgressSink& progress,
                                                  SnapshotStats* stats) {
  size_t n = layers.size();
  if (diff_ids.size() != n)
    return fail(Errc::kInvalidArgument,
                fmt::format("the manifest lists {} layers but the config {} diff_ids", n, diff_ids.size()));
  auto chain = chain_ids(diff_ids);
  Snapshots snaps(store_dir + "/snapshots");
  SnapshotStats st;
  st.layers = n;
  std::optional<archive::SizeBudget> budget;
  for (size_t i = 0; i < n; ++i) {
    if (snaps.has(chain[i])) continue;
    if (!budget) {
      snaps.remove_stale();
      HOIST_CHECK(sys::mkdir_all(store_dir + "/snapshots", 0700));
      budget = unpack_budget(options, store_dir + "/snapshots");
    }
    const auto& layer = layers[i];
    std::string what = fmt::format("layer {}/{} '{}'", i + 1, n, layer.digest.str());
    std::string id = "snapshot:" + layer.digest.str();
    auto blob = HOIST_TRY(open_layer_blob(blobs, layer, i, n));
    archive::LayerOptions lopts;
    lopts.apply.warn = options.warn;
    lopts.on_progress = [&](uint64_t done) { progress.advanced(id, done); };
    progress.started({id, fmt::format("{} snapshot {}/{}", layer.digest.short_hex(), i + 1, n), 0}, 0);
    std::vector<std::string> below;
    for (size_t k = i; k-- > 0;) below.push_back(snaps.path(chain[k]));
    auto made = snaps.create(chain[i], below, *blob, layer, diff_ids[i], *budget, lopts);
    if (!made) {
      progress.failed(id, made.error().to_string());
      return fail(std::move(made).error().context(what));
    }
    progress.verified(id);
    progress.finished(id);
    if (*made) st.created++;
  }
  std::vector<std::string> lower;
  lower.reserve(n);
  for (size_t i = n; i-- > 0;) lower.push_back(snaps.path(chain[i]));
  if (stats) *stats = st;
  return lower;
}

Result<std::string> unpack_snapshot(const store::BlobDir& blobs, const std::string& store_dir,
                                    const image::Manifest& manifest, const image::ImageConfig& config,
                                    const std::string& dir, const BundleOptions& options, ProgressSink& progress,
                                    SnapshotStats* stats) {
  if (options.spec.rootless)
    return fail(Errc::kUnsupported, "--snapshot needs root (overlay mounts and whiteout device nodes); "
                                    "unpack without --snapshot as a non-root user");
  size_t n = manifest.layers.size();
  if (n == 0) return fail(Errc::kUnsupported, "an image without layers cannot be unpacked with --snapshot");
  SnapshotStats st;
  auto lower = HOIST_TRY(ensure_snapshots(blobs, store_dir, manifest.layers, config.rootfs.diff_ids, options,
                                          progress, &st));
  auto w = HOIST_TRY(BundleWriter::create(dir, RootfsKind::kOverlay, options));
  HOIST_CHECK(w->mount_lower(lower));
  auto out = HOIST_TRY(w->finish(config));
  if (stats) *stats = st;
  return out;
}

}  // namespace hoist::unpack
