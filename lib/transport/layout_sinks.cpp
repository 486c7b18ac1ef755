#include "transport/layout_sinks.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include "image/media_types.h"
#include "io/fd_stream.h"
#include "layout/archive.h"
#include "layout/layout.h"
#include "layout/writer.h"
#include "store/store.h"
#include "sys/file_io.h"
#include "transport/store_sink.h"

namespace hoist::transport {
namespace {

// The name an image gets inside a layout or an archive: the TAG given after
// the path when there is one, else the full NAME:TAG (so one layout can hold
// many images and hoist-push can send each back where it came from).
std::string entry_name(const std::string& given, const CopiedImage& image) {
  if (!given.empty()) return given;
  if (!image.tag.empty()) return image.name + ":" + image.tag;
  return image.name;
}

class LayoutSink final : public Sink {
 public:
  LayoutSink(std::unique_ptr<layout::LayoutWriter> w, std::string name) : w_(std::move(w)), name_(std::move(name)) {}
  Result<bool> has_blob(const image::Descriptor& d) override { return w_->blobs().has_blob(d.digest); }
  Result<std::unique_ptr<BlobWriter>> put_blob(const image::Descriptor& d) override {
    return open_store_blob(w_->blobs(), d);
  }
  Result<> put_manifest(const RawManifest& m) override {
    return w_->blobs().put_small_blob(m.bytes, m.descriptor.digest);
  }
  Result<> commit_image(const CopiedImage& image) override {
    return w_->add_image(image.root, entry_name(name_, image));
  }

 private:
  std::unique_ptr<layout::LayoutWriter> w_;
  std::string name_;
};

// Stages the images' blobs in the store (no refs recorded) and writes the
// archive in finish(): to a temp file renamed into place, or to stdout.
class ArchiveSink final : public Sink {
 public:
  enum class Format : uint8_t { kOci, kDocker };
  ArchiveSink(Format format, std::string path, std::string name, std::unique_ptr<store::Store> st)
      : format_(format), path_(std::move(path)), name_(std::move(name)), staging_(std::move(st), false) {}

  Result<bool> has_blob(const image::Descriptor& d) override { return staging_.has_blob(d); }
  Result<std::unique_ptr<BlobWriter>> put_blob(const image::Descriptor& d) override { return staging_.put_blob(d); }
  Result<> put_manifest(const RawManifest& m) override { return staging_.put_manifest(m); }
  Result<> commit_image(const CopiedImage& image) override {
    if (format_ == Format::kDocker && image::media_type::is_index(image.root.media_type))
      return fail(Errc::kInvalidArgument,
                  fmt::format("docker-archive holds single-platform images: '{}' is an index (drop "
                              "--all-platforms, or use oci-archive:)",
                              image.name));
    HOIST_CHECK(staging_.commit_image(image));
    images_.push_back({image.root, entry_name(name_, image)});
    return {};
  }
  bool writes_stdout() const override { return path_ == "-"; }

  Result<> finish() override {
    const auto& blobs = staging_.store().blobs();
    auto write = [&](io::Writer& out) -> Result<> {
      if (format_ == Format::kOci) return layout::write_oci_archive(blobs, images_, out);
      return layout::write_docker_archive(blobs, images_, out);
    };
    if (path_ == "-") {
      io::FdWriter out(1);
      return write(out);
    }
    std::string tmp = fmt::format("{}.hoist-tmp-{}", path_, ::getpid());
    auto fd = HOIST_TRY(sys::open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    io::FdWriter out(fd.get());
    auto r = write(out);
    if (r && ::fsync(fd.get()) < 0) r = fail(Error::from_errno(errno, fmt::format("cannot fsync '{}'", tmp)));
    if (r) r = fd.close();
    if (r && ::rename(tmp.c_str(), path_.c_str()) < 0)
      r = fail(Error::from_errno(errno, fmt::format("cannot rename into '{}'", path_)));
    if (!r) {
      ::unlink(tmp.c_str());
      return fail(std::move(r).error().context(fmt::format("cannot write '{}'", path_)));
    }
    return {};
  }

 private:
  Format format_;
  std::string path_;
  std::string name_;
  StoreSink staging_;
  std::vector<layout::ArchiveImage> images_;
};

// "FILE" or "FILE:NAME", split at the first ':' as skopeo does.
std::pair<std::string, std::string> split_path_name(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return {std::string(text), {}};
  return {std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

Result<std::unique_ptr<Sink>> open_archive(ArchiveSink::Format format, std::string_view text,
                                           const std::string& store_dir) {
  auto [path, name] = split_path_name(text);
  if (path.empty()) return fail(Errc::kUsage, fmt::format("invalid archive '{}': no file name", text));
  if (!name.empty() && format == ArchiveSink::Format::kOci && !layout::valid_ref_name(name))
    return fail(Errc::kUsage, fmt::format("invalid image name '{}' for an oci-archive", name));
  std::string dir = store_dir.empty() ? store::default_store_dir() : store_dir;
  auto st = HOIST_TRY(store::Store::open(dir));
  return std::make_unique<ArchiveSink>(format, std::move(path), std::move(name), std::move(st));
}

}  // namespace

Result<std::unique_ptr<Sink>> open_layout_sink(std::string_view dir_and_tag) {
  auto lr = HOIST_TRY(layout::parse_layout_ref(dir_and_tag));
  auto w = HOIST_TRY(layout::LayoutWriter::open(lr.dir));
  return std::make_unique<LayoutSink>(std::move(w), lr.name);
}

Result<std::unique_ptr<Sink>> open_oci_archive_sink(std::string_view path, const std::string& store_dir) {
  return open_archive(ArchiveSink::Format::kOci, path, store_dir);
}

Result<std::unique_ptr<Sink>> open_docker_archive_sink(std::string_view path, const std::string& store_dir) {
  return open_archive(ArchiveSink::Format::kDocker, path, store_dir);
}

}  // namespace hoist::transport
