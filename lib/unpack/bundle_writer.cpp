#include "unpack/bundle_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "sys/file_io.h"
#include "sys/overlay.h"
#include "sys/tree.h"
#include "util/strings.h"

namespace hoist::unpack {

namespace {

// Creates DIR (or accepts it empty). Returns true when it was created here.
Result<bool> prepare_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return true;
  if (errno != EEXIST) return fail(Error::from_errno(errno, "cannot create bundle directory '" + dir + "'"));
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return fail(Errc::kAlreadyExists, "'" + dir + "' is not a directory");
  if (!std::filesystem::is_empty(dir, ec))
    return fail(Errc::kAlreadyExists, "bundle directory '" + dir + "' is not empty");
  return false;
}

std::string absolute(const std::string& dir) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(dir, ec).lexically_normal().string();
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  return abs;
}

Result<> make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) return fail(Error::from_errno(errno, "cannot create '" + path + "'"));
  return {};
}

// Owner, mode and times of `from` onto `to` (both directories).
Result<> copy_dir_meta(const std::string& from, const std::string& to) {
  struct stat st;
  if (::stat(from.c_str(), &st) != 0) return fail(Error::from_errno(errno, "cannot inspect '" + from + "'"));
  if (::chown(to.c_str(), st.st_uid, st.st_gid) != 0) return fail(Error::from_errno(errno, "cannot chown '" + to + "'"));
  if (::chmod(to.c_str(), st.st_mode & 07777) != 0) return fail(Error::from_errno(errno, "cannot chmod '" + to + "'"));
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, to.c_str(), ts, 0) != 0) return fail(Error::from_errno(errno, "cannot set times of '" + to + "'"));
  return {};
}

// Temp file and rename, without fsync: readers never see a half-written file,
// but a bundle is scratch that can be made again, so it does not pay for
// durability (runc and umoci do not fsync bundles either). Two fsyncs cost more
// than the whole of a repeated --snapshot unpack otherwise.
Result<> write_file_visible(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  {
    auto fd = HOIST_TRY(sys::open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    HOIST_CHECK(sys::write_all(fd.get(), data));
    HOIST_CHECK(fd.close());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(Error::from_errno(errno, "cannot write '" + path + "'"));
  return {};
}

}  // namespace

archive::SizeBudget unpack_budget(const BundleOptions& options, const std::string& target) {
  archive::SizeBudget b;
  if (options.max_size != 0) {
    b.max = options.max_size;
    return b;
  }
  auto free = sys::free_space(target);
  if (!free) return b;
  b.max = *free / 100 * kDefaultMaxSizePercentOfFree;
  b.why = fmt::format("the default, {}% of the {} free on '{}' when the unpack began; {}", kDefaultMaxSizePercentOfFree,
                      human_bytes(*free), target, options.max_size_hint);
  return b;
}

Result<std::unique_ptr<store::BlobReader>> open_layer_blob(const store::BlobDir& blobs,
                                                           const image::Descriptor& layer, size_t index,
                                                           size_t count) {
  std::string what = fmt::format("layer {}/{} '{}'", index + 1, count, layer.digest.str());
  auto blob = HOIST_TRY_CTX(blobs.open_blob(layer.digest), what);
  if (blob->size() != layer.size)
    return fail(Errc::kDigestMismatch, fmt::format("{}: the blob in '{}' is {} bytes, its descriptor says {}", what,
                                                   blobs.root(), blob->size(), layer.size));
  return blob;
}

BundleWriter::BundleWriter(std::string dir, bool created, RootfsKind kind, const BundleOptions& options)
    : dir_(std::move(dir)), created_(created), kind_(kind), options_(options) {
  budget_ = unpack_budget(options, dir_);
}

Result<std::unique_ptr<BundleWriter>> BundleWriter::create(const std::string& dir, RootfsKind kind,
                                                           const BundleOptions& options) {
  bool created = HOIST_TRY(prepare_dir(dir));
  std::unique_ptr<BundleWriter> w(new BundleWriter(absolute(dir), created, kind, options));
  // The marker first: whatever happens next, --remove recognises the directory.
  nlohmann::ordered_json marker = {{"bundle", "hoist"}, {"version", 1},
                                   {"rootfs", kind == RootfsKind::kOverlay ? "overlay" : "plain"}};
  HOIST_CHECK(write_file_visible(w->dir_ + "/" + std::string(kMarkerFile), marker.dump() + "\n"));
  HOIST_CHECK(make_dir(w->dir_ + "/rootfs", 0755));
  if (kind == RootfsKind::kOverlay) {
    HOIST_CHECK(make_dir(w->dir_ + "/upper", 0755));
    HOIST_CHECK(make_dir(w->dir_ + "/work", 0700));
  } else {
    w->root_ = HOIST_TRY(sys::open_file(w->dir_ + "/rootfs", O_PATH | O_DIRECTORY));
  }
  return w;
}

BundleWriter::~BundleWriter() {
  if (!done_) discard();
}

void BundleWriter::discard() {
  root_.reset();
  if (mounted_) {
    (void)sys::unmount(dir_ + "/rootfs");
    mounted_ = false;
  }
  std::filesystem::path p(dir_);
  if (created_) {
    auto parent = sys::open_file(p.parent_path().string(), O_PATH | O_DIRECTORY);
    if (parent) (void)sys::remove_all_at(parent->get(), p.filename().string());
    return;
  }
  auto fd = sys::open_file(dir_, O_PATH | O_DIRECTORY);
  if (!fd) return;
  if (auto names = sys::list_dir_at(fd->get(), ""))
    for (const auto& n : *names) (void)sys::remove_all_at(fd->get(), n);
}

Result<> BundleWriter::apply_layer(io::Reader& blob, const image::Descriptor& layer, const digest::Digest& diff_id,
                                   size_t index, size_t count, ProgressSink& progress) {
  if (kind_ != RootfsKind::kPlain) return fail(Errc::kInternal, "apply_layer on an overlay bundle");
  std::string id = "apply:" + layer.digest.str();
  std::string what = fmt::format("layer {}/{} '{}'", index + 1, count, layer.digest.str());
  archive::LayerOptions lopts;
  lopts.apply.rootless = options_.spec.rootless;
  lopts.apply.warn = options_.warn;
  lopts.on_progress = [&](uint64_t done) { progress.advanced(id, done); };
  progress.started({id, fmt::format("{} apply {}/{}", layer.digest.short_hex(), index + 1, count), 0}, 0);
  auto r = archive::apply_layer(blob, layer, diff_id, root_, budget_, lopts);
  if (!r) {
    progress.failed(id, r.error().to_string());
    return fail(std::move(r).error().context(what));
  }
  progress.verified(id);
  progress.finished(id);
  return {};
}

Result<> BundleWriter::mount_lower(const std::vector<std::string>& lower) {
  if (kind_ != RootfsKind::kOverlay || mounted_) return fail(Errc::kInternal, "mount_lower on a plain bundle");
  if (lower.empty()) return fail(Errc::kInvalidArgument, "an image without layers cannot be an overlay");
  HOIST_CHECK(copy_dir_meta(lower.front(), dir_ + "/upper"));
  sys::OverlaySpec spec{lower, dir_ + "/upper", dir_ + "/work"};
  HOIST_CHECK(sys::mount_overlay(spec, dir_ + "/rootfs"));
  mounted_ = true;
  return {};
}

Result<std::string> BundleWriter::finish(const image::ImageConfig& config) {
  if (!root_) root_ = HOIST_TRY(sys::open_file(dir_ + "/rootfs", O_PATH | O_DIRECTORY));
  bundle::SpecOptions sopts = options_.spec;
  auto spec = HOIST_TRY(bundle::make_spec_for_rootfs(config, root_, sopts));
  HOIST_CHECK(write_file_visible(dir_ + "/config.json", spec.dump(2) + "\n"));
  root_.reset();
  done_ = true;
  return dir_;
}

Result<> remove_bundle(const std::string& dir) {
  std::string d = absolute(dir);
  struct stat st;
  if (::lstat(d.c_str(), &st) != 0) return fail(Error::from_errno(errno, "cannot remove bundle '" + dir + "'"));
  if (!S_ISDIR(st.st_mode)) return fail(Errc::kInvalidArgument, "'" + dir + "' is not a bundle directory");
  std::string marker = d + "/" + std::string(kMarkerFile);
  auto text = sys::read_file(marker, 4096);
  auto j = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
  if (!text || j.is_discarded() || !j.is_object() || j.value("bundle", "") != "hoist")
    return fail(Errc::kInvalidArgument, "'" + dir + "' is not a bundle made by hoist-unpack (no " +
                                            std::string(kMarkerFile) + "); not removing it");
  std::string rootfs = d + "/rootfs";
  if (sys::exists(rootfs) && HOIST_TRY(sys::is_mount_root(rootfs))) {
    if (!HOIST_TRY(sys::is_overlay_mount_root(rootfs)))
      return fail(Errc::kInvalidArgument, "'" + rootfs + "' is a mount point but not an overlay made by hoist-unpack; "
                                          "not removing it");
    auto r = sys::unmount(rootfs);
    if (!r) {
      if (r.error().sys_errno() == EBUSY)
        return fail(std::move(r).error().context("bundle '" + dir + "' is in use (a container still running?)"));
      return r;
    }
    // Something mounted over the overlay (stacked mounts): do not delete through it.
    if (HOIST_TRY(sys::is_mount_root(rootfs)))
      return fail(Errc::kInvalidArgument, "'" + rootfs + "' is still a mount point after unmounting; not removing it");
  }
  std::filesystem::path p(d);
  auto parent = HOIST_TRY(sys::open_file(p.parent_path().string(), O_PATH | O_DIRECTORY));
  HOIST_CHECK_CTX(sys::remove_all_at(parent.get(), p.filename().string()), "cannot remove bundle '" + dir + "'");
  return {};
}

Result<std::string> unpack_image(const store::BlobDir& blobs, const image::Manifest& manifest,
                                 const image::ImageConfig& config, const std::string& dir,
                                 const BundleOptions& options, ProgressSink& progress) {
  if (config.rootfs.diff_ids.size() != manifest.layers.size())
    return fail(Errc::kInvalidArgument, fmt::format("the manifest lists {} layers but the config {} diff_ids",
                                                    manifest.layers.size(), config.rootfs.diff_ids.size()));
  auto w = HOIST_TRY(BundleWriter::create(dir, RootfsKind::kPlain, options));
  size_t n = manifest.layers.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& layer = manifest.layers[i];
    auto blob = HOIST_TRY(open_layer_blob(blobs, layer, i, n));
    HOIST_CHECK(w->apply_layer(*blob, layer, config.rootfs.diff_ids[i], i, n, progress));
  }
  return w->finish(config);
}

}  // namespace hoist::unpack
