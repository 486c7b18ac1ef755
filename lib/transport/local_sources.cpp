// Local image sources: the store, OCI layouts, oci-archive files and streams,
// docker-archive files. One LocalImageSource class over a Backing that knows how
// to read a blob; the backings differ only in where the bytes are.
//
// Hazards:
// - Nothing read from a layout or archive is trusted: manifests are checked
//   against digest and size before parsing, blobs while they stream (a file
//   renamed to another blob's name would otherwise be pushed under a digest it
//   does not have, and the registry's refusal would come late and unclear).
//   The one exception is blob_file(), for a sink that checks digests itself
//   (a registry): hashing there would only repeat the registry's check, and
//   copy() explains its refusal (the blob, the source, the file).
// - Archive member names are only looked up (layout/archive_file.h), so
//   "../../etc/passwd" in a manifest.json reads nothing outside the archive.
// - A pipe (oci-archive:-) is imported before anything is resolved: its
//   index.json may come first (hoist writes it first) or last (others), and
//   the manifests may follow their blobs.

#include "transport/local_sources.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>

#include <map>
#include <mutex>

#include "image/media_types.h"
#include "io/fd_stream.h"
#include "io/memory.h"
#include "layout/archive.h"
#include "layout/archive_file.h"
#include "layout/layout.h"
#include "layout/reader.h"
#include "ref/reference.h"
#include "store/store.h"
#include "transport/open.h"

namespace hoist::transport {
namespace {

namespace mt = image::media_type;
constexpr size_t kMaxManifest = size_t{4} << 20;
constexpr size_t kMaxConfig = size_t{16} << 20;
constexpr size_t kMaxJson = size_t{16} << 20;

// ---------------------------------------------------------------- backings

class Backing {
 public:
  virtual ~Backing() = default;
  virtual std::string where() const = 0;
  // The blob's bytes, not yet verified; kNotFound when absent.
  virtual Result<std::string> read_small(const digest::Digest& d, size_t max) = 0;
  // A reader over the whole blob from byte 0.
  virtual Result<std::unique_ptr<io::Reader>> open(const image::Descriptor& d) = 0;
  // The file the blob lies in, with the file's (or member's) own size; nullopt
  // when the bytes are not in a file (see Source::blob_file).
  virtual Result<std::optional<BlobFile>> file(const image::Descriptor& d) = 0;
  virtual const store::BlobDir* blob_dir() const { return nullptr; }
};

class BlobDirBacking final : public Backing {
 public:
  BlobDirBacking(store::BlobDir blobs, std::string where) : blobs_(std::move(blobs)), where_(std::move(where)) {}
  std::string where() const override { return where_; }
  Result<std::string> read_small(const digest::Digest& d, size_t max) override {
    auto r = blobs_.read_small_blob(d, max);
    if (!r && r.error().code() == Errc::kNotFound)
      return fail(Errc::kNotFound, fmt::format("blob '{}' is not in {}", d.str(), where_));
    return r;
  }
  Result<std::unique_ptr<io::Reader>> open(const image::Descriptor& d) override {
    return std::unique_ptr<io::Reader>(HOIST_TRY(open_blob(d)));
  }
  Result<std::optional<BlobFile>> file(const image::Descriptor& d) override {
    // Opened as for reading, so the same checks apply to what the name leads to.
    auto r = HOIST_TRY(open_blob(d));
    int fd = fcntl(r->fd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
      return fail(Error::from_errno(errno, fmt::format("cannot read blob '{}' in {}", d.digest.str(), where_)));
    return BlobFile{std::make_shared<const sys::Fd>(fd), 0, r->size(), blobs_.blob_path(d.digest)};
  }
  const store::BlobDir* blob_dir() const override { return &blobs_; }

 private:
  Result<std::unique_ptr<store::BlobReader>> open_blob(const image::Descriptor& d) {
    auto r = blobs_.open_blob(d.digest);
    if (!r && r.error().code() == Errc::kNotFound)
      return fail(Errc::kNotFound, fmt::format("blob '{}' is not in {}", d.digest.str(), where_));
    return r;
  }

  store::BlobDir blobs_;
  std::string where_;
};

// A blob file of `size` bytes where its descriptor says d.size: the errors
// stream_verified gives for the same file.
Result<> check_size(const image::Descriptor& d, uint64_t size, const std::string& where) {
  if (size > d.size)
    return fail(Errc::kDigestMismatch, fmt::format("blob '{}' in '{}' is longer than its descriptor's {} bytes",
                                                   d.digest.str(), where, d.size));
  if (size < d.size)
    return fail(Errc::kIo, fmt::format("blob '{}' in '{}' has {} bytes; its descriptor says {}", d.digest.str(),
                                       where, size, d.size));
  return {};
}

std::string blob_member(const digest::Digest& d) { return fmt::format("blobs/{}/{}", d.algorithm_name(), d.hex()); }

// An oci-archive file read in place; also the member table of a docker-archive.
class ArchiveBacking : public Backing {
 public:
  ArchiveBacking(std::unique_ptr<layout::ArchiveFile> file, std::string where)
      : file_(std::move(file)), where_(std::move(where)) {}
  std::string where() const override { return where_; }
  Result<std::string> read_small(const digest::Digest& d, size_t max) override {
    if (auto it = extra_bytes_.find(d); it != extra_bytes_.end()) return it->second;
    std::string name = member_of(d);
    if (!file_->find(name)) return fail(Errc::kNotFound, fmt::format("blob '{}' is not in {}", d.str(), where_));
    return file_->read(name, max);
  }
  Result<std::unique_ptr<io::Reader>> open(const image::Descriptor& d) override {
    if (auto it = extra_bytes_.find(d.digest); it != extra_bytes_.end())
      return std::unique_ptr<io::Reader>(std::make_unique<io::StringReader>(it->second));
    const auto* m = file_->find(member_of(d.digest));
    if (!m) return fail(Errc::kNotFound, fmt::format("blob '{}' is not in {}", d.digest.str(), where_));
    return file_->open_member(*m);
  }
  Result<std::optional<BlobFile>> file(const image::Descriptor& d) override {
    if (extra_bytes_.contains(d.digest)) return std::nullopt;
    const auto* m = file_->find(member_of(d.digest));
    if (!m) return fail(Errc::kNotFound, fmt::format("blob '{}' is not in {}", d.digest.str(), where_));
    auto fd = HOIST_TRY(shared_fd());
    return BlobFile{std::move(fd), m->offset, m->size, file_->path()};
  }
  layout::ArchiveFile& file() { return *file_; }
  // docker-archive: blobs under other names, and manifests made here.
  void alias(const digest::Digest& d, std::string member) { aliases_[d] = std::move(member); }
  void add_bytes(const digest::Digest& d, std::string bytes) { extra_bytes_[d] = std::move(bytes); }

 private:
  std::string member_of(const digest::Digest& d) const {
    if (auto it = aliases_.find(d); it != aliases_.end()) return it->second;
    return blob_member(d);
  }
  // The archive opened once more for blob_file() (ArchiveFile keeps its own
  // descriptor to itself); a file replaced since open() is caught by the
  // sink's digest check like any other corrupt blob.
  Result<std::shared_ptr<const sys::Fd>> shared_fd() {
    std::lock_guard lk(fd_mu_);
    if (fd_) return fd_;
    int fd = ::open(file_->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(Error::from_errno(errno, fmt::format("cannot open '{}'", file_->path())));
    fd_ = std::make_shared<const sys::Fd>(fd);
    return fd_;
  }

  std::unique_ptr<layout::ArchiveFile> file_;
  std::string where_;
  std::mutex fd_mu_;
  std::shared_ptr<const sys::Fd> fd_;
  std::map<digest::Digest, std::string> aliases_;
  std::map<digest::Digest, std::string> extra_bytes_;
};

// ---------------------------------------------------------------- the source

// Reads `in` from byte 0, hashing everything, and writes bytes [offset, size)
// to `sink`. Size and digest are checked at the end.
Result<> stream_verified(io::Reader& in, const image::Descriptor& d, uint64_t offset, io::Writer& sink,
                         const std::string& where) {
  digest::Hasher h(d.digest.algorithm());
  auto buf = std::make_unique_for_overwrite<std::byte[]>(size_t{1} << 20);
  uint64_t pos = 0;
  for (;;) {
    size_t n = HOIST_TRY(in.read(std::span(buf.get(), size_t{1} << 20)));
    if (n == 0) break;
    if (pos + n > d.size)
      return fail(Errc::kDigestMismatch, fmt::format("blob '{}' in '{}' is longer than its descriptor's {} bytes",
                                                     d.digest.str(), where, d.size));
    std::span<const std::byte> chunk(buf.get(), n);
    h.update(chunk);
    if (pos + n > offset) {
      size_t skip = pos >= offset ? 0 : size_t(offset - pos);
      HOIST_CHECK(sink.write(chunk.subspan(skip)));
    }
    pos += n;
  }
  if (pos != d.size)
    return fail(Errc::kIo, fmt::format("blob '{}' in '{}' has {} bytes; its descriptor says {}", d.digest.str(), where,
                                       pos, d.size));
  auto got = h.finish();
  if (got != d.digest)
    return fail(Errc::kDigestMismatch, fmt::format("blob '{}' in '{}' does not match its digest (its bytes hash to "
                                                   "'{}')",
                                                   d.digest.str(), where, got.str()));
  return {};
}

Result<std::string> media_type_of(std::string_view bytes) {
  auto any = HOIST_TRY(image::parse_any(bytes));
  if (image::kind(any) == image::ManifestKind::kIndex) return std::get<image::Index>(any).media_type;
  return std::get<image::Manifest>(any).media_type;
}

class LocalImageSource final : public LocalSource {
 public:
  LocalImageSource(std::shared_ptr<Backing> backing, std::string name, std::string tag, image::Descriptor root,
                   std::string where)
      : backing_(std::move(backing)),
        name_(std::move(name)),
        tag_(std::move(tag)),
        root_(std::move(root)),
        where_(std::move(where)) {}

  std::string name() const override { return name_; }
  std::string tag() const override { return tag_; }
  std::string where() const override { return where_; }
  const image::Descriptor& root() const override { return root_; }
  const store::BlobDir* blob_dir() const override { return backing_->blob_dir(); }

  Result<RawManifest> resolve() override {
    auto m = HOIST_TRY(read_manifest(root_));
    if (root_.media_type.empty()) {
      m.descriptor.media_type = HOIST_TRY_CTX(media_type_of(m.bytes), fmt::format("manifest '{}' in '{}'",
                                                                                   root_.digest.str(), where_));
    }
    // The root as pushed: no layout annotations (ref.name) or platform carried over.
    m.descriptor.annotations.clear();
    m.descriptor.platform.reset();
    return m;
  }

  Result<RawManifest> fetch_manifest(const image::Descriptor& d) override {
    auto m = HOIST_TRY(read_manifest(d));
    std::string what = fmt::format("manifest '{}' in '{}'", d.digest.str(), where_);
    auto mt = HOIST_TRY_CTX(media_type_of(m.bytes), what);
    if (!d.media_type.empty() && mt::is_index(mt) != mt::is_index(d.media_type))
      return fail(Errc::kInvalidArgument,
                  fmt::format("{}: it is a '{}' but its descriptor says '{}'", what, mt, d.media_type));
    return m;
  }

  Result<> fetch_blob(const image::Descriptor& d, uint64_t offset, io::Writer& sink, const RetryHook&) override {
    auto in = HOIST_TRY(backing_->open(d));
    return stream_verified(*in, d, offset, sink, where_);
  }

  Result<std::optional<BlobFile>> blob_file(const image::Descriptor& d) override {
    auto f = HOIST_TRY(backing_->file(d));
    if (f) {
      HOIST_CHECK(check_size(d, f->size, where_));
      f->where = where_;
    }
    return f;
  }

 private:
  Result<RawManifest> read_manifest(const image::Descriptor& d) {
    auto bytes = HOIST_TRY(backing_->read_small(d.digest, kMaxManifest));
    auto got = digest::of(d.digest.algorithm(), bytes);
    if (got != d.digest)
      return fail(Errc::kDigestMismatch, fmt::format("manifest '{}' in '{}' does not match its digest (its bytes hash "
                                                     "to '{}')",
                                                     d.digest.str(), where_, got.str()));
    if (d.size != 0 && bytes.size() != d.size)
      return fail(Errc::kDigestMismatch, fmt::format("manifest '{}' in '{}' has {} bytes; its descriptor says {}",
                                                     d.digest.str(), where_, bytes.size(), d.size));
    RawManifest m;
    m.descriptor = d;
    m.descriptor.size = bytes.size();
    m.bytes = std::move(bytes);
    return m;
  }

  std::shared_ptr<Backing> backing_;
  std::string name_;
  std::string tag_;
  image::Descriptor root_;
  std::string where_;
};

using Sources = std::vector<std::unique_ptr<LocalSource>>;

std::unique_ptr<LocalSource> make_source(std::shared_ptr<Backing> b, std::string_view ref_name,
                                         const image::Descriptor& root, std::string where) {
  auto [name, tag] = split_ref_name(ref_name);
  return std::make_unique<LocalImageSource>(std::move(b), std::move(name), std::move(tag), root, std::move(where));
}

std::string ref_name_of(const image::Descriptor& d) {
  auto it = d.annotations.find(std::string(layout::kRefNameAnnotation));
  return it == d.annotations.end() ? std::string() : it->second;
}

// Every index.json entry (all) or the one named `name` / the only one.
Result<Sources> from_index(std::shared_ptr<Backing> b, const std::vector<image::Descriptor>& manifests,
                           const std::string& locator, const std::string& name, bool all) {
  Sources out;
  if (!name.empty()) {
    for (const auto& m : manifests)
      if (ref_name_of(m) == name) {
        out.push_back(make_source(b, name, m, fmt::format("{}:{}", locator, name)));
        return out;
      }
    std::string have;
    for (const auto& m : manifests) {
      std::string n = ref_name_of(m);
      if (n.empty()) continue;
      if (!have.empty()) have += ", ";
      have += n;
    }
    return fail(Errc::kNotFound,
                fmt::format("no image named '{}' in '{}' (it has: {})", name, locator, have.empty() ? "none" : have));
  }
  if (manifests.empty()) return fail(Errc::kNotFound, fmt::format("'{}' holds no image", locator));
  if (!all && manifests.size() > 1)
    return fail(Errc::kInvalidArgument, fmt::format("'{}' holds {} images; name one as {}:NAME", locator,
                                                    manifests.size(), locator));
  for (const auto& m : manifests) {
    std::string n = ref_name_of(m);
    std::string where = n.empty() ? locator : fmt::format("{}:{}", locator, n);
    out.push_back(make_source(b, n, m, where));
  }
  return out;
}

// ---------------------------------------------------------------- store

Result<Sources> open_store(std::string_view text, const std::string& store_dir, bool all) {
  std::string dir = store_dir.empty() ? store::default_store_dir() : store_dir;
  auto st = HOIST_TRY(store::Store::open(dir));
  auto b = std::make_shared<BlobDirBacking>(store::BlobDir(dir, dir + "/ingest"), fmt::format("store '{}'", dir));
  Sources out;
  if (text == "store") {
    if (!all) return fail(Errc::kUsage, "'store' names every image in the store: name one");
    for (const auto& r : HOIST_TRY(st->list_refs())) out.push_back(make_source(b, r.name, r.target, r.name));
    if (out.empty()) return fail(Errc::kNotFound, fmt::format("store '{}' holds no image", dir));
    return out;
  }
  auto bare_digest = [&](const digest::Digest& d, std::string name) -> Result<Sources> {
    if (!st->has_blob(d)) return fail(Errc::kNotFound, fmt::format("image '{}' is not in the store '{}'", text, dir));
    // NAME@sha256 (hoist-pull's line): the tag the store recorded NAME under
    // with that digest, when there is exactly one, so a pipe keeps the tag.
    std::string tag;
    image::Descriptor root{.digest = d};
    if (!name.empty()) {
      int found = 0;
      for (const auto& r : HOIST_TRY(st->list_refs())) {
        if (r.target.digest != d) continue;
        auto [n, t] = split_ref_name(r.name);
        if (n != name || t.empty()) continue;
        if (++found == 1) {
          tag = t;
          root = r.target;
          root.annotations.clear();
        }
      }
      if (found > 1) tag.clear();
    }
    out.push_back(std::make_unique<LocalImageSource>(b, std::move(name), std::move(tag), root, std::string(text)));
    return std::move(out);
  };
  if (text.starts_with("sha256:")) return bare_digest(HOIST_TRY(digest::parse(text)), "");
  // The name as recorded first (a pull records exactly what it prints), then normalised.
  if (auto r = HOIST_TRY(st->resolve(text))) {
    out.push_back(make_source(b, text, *r, std::string(text)));
    return out;
  }
  auto ref = ref::parse_reference(text);
  if (!ref)
    return fail(Errc::kUsage, fmt::format("'{}' is neither an image in the store nor a source hoist knows ({}); use "
                                          "a reference, NAME@sha256:..., oci:DIR[:NAME], oci-archive:FILE|-, "
                                          "docker-archive:FILE or docker://REF",
                                          text, ref.error().message()));
  if (ref->digest()) {
    // NAME[:TAG]@sha256: the digest decides; NAME and TAG only name it.
    auto r = HOIST_TRY(bare_digest(*ref->digest(), ref->name()));
    return r;
  }
  if (auto r = HOIST_TRY(st->resolve(ref->str()))) {
    out.push_back(make_source(b, ref->str(), *r, ref->str()));
    return out;
  }
  return fail(Errc::kNotFound, fmt::format("image '{}' is not in the store '{}' (pull it first, or name a layout "
                                           "or archive with oci:, oci-archive: or docker-archive:)",
                                           text, dir));
}

// ---------------------------------------------------------------- layouts and OCI archives

Result<Sources> open_layout(std::string_view rest, bool all) {
  auto [dir, name] = split_locator(rest);
  if (dir.empty()) return fail(Errc::kUsage, fmt::format("invalid source 'oci:{}': no directory", rest));
  auto lr = HOIST_TRY(layout::LayoutReader::open(dir));
  auto b = std::make_shared<BlobDirBacking>(lr->blobs(), fmt::format("layout '{}'", lr->dir()));
  return from_index(b, lr->manifests(), "oci:" + lr->dir(), name, all);
}

Result<Sources> open_oci_archive(std::string_view rest, const std::string& store_dir, bool all) {
  auto [path, name] = split_locator(rest);
  if (path.empty()) return fail(Errc::kUsage, fmt::format("invalid source 'oci-archive:{}': no file", rest));
  std::string locator = "oci-archive:" + path;
  if (path == "-") {
    std::string dir = store_dir.empty() ? store::default_store_dir() : store_dir;
    auto st = HOIST_TRY(store::Store::open(dir));  // creates the store when missing
    store::BlobDir blobs(dir, dir + "/ingest");
    io::FdReader in(0);
    auto imported = HOIST_TRY_CTX(layout::import_oci_archive(in, blobs), "cannot read oci-archive from stdin");
    auto manifests = HOIST_TRY(layout::parse_layout_index(imported.index_json, "index.json in oci-archive:-"));
    auto b = std::make_shared<BlobDirBacking>(blobs, "'oci-archive:-'");
    return from_index(b, manifests, locator, name, all);
  }
  auto file = HOIST_TRY(layout::ArchiveFile::open(path));
  std::string layout_bytes = HOIST_TRY_CTX(file->read(layout::kOciLayoutFile, 4096),
                                           fmt::format("'{}' is not an oci-archive", path));
  HOIST_CHECK(layout::check_oci_layout(layout_bytes, fmt::format("oci-layout in '{}'", path)));
  std::string index = HOIST_TRY_CTX(file->read(layout::kIndexFile, kMaxJson),
                                    fmt::format("'{}' is not an oci-archive", path));
  auto manifests = HOIST_TRY(layout::parse_layout_index(index, fmt::format("index.json in '{}'", path)));
  auto b = std::make_shared<ArchiveBacking>(std::move(file), fmt::format("'{}'", locator));
  return from_index(b, manifests, locator, name, all);
}

// ---------------------------------------------------------------- docker-archive

enum class Compression : uint8_t { kNone, kGzip, kZstd };

Result<Compression> sniff(layout::ArchiveFile& file, const layout::ArchiveFile::Member& m) {
  auto r = file.open_member(m);
  std::array<std::byte, 4> head{};
  size_t got = 0;
  while (got < head.size()) {
    size_t n = HOIST_TRY(r->read(std::span(head).subspan(got)));
    if (n == 0) break;
    got += n;
  }
  auto u = [&](size_t i) { return static_cast<unsigned char>(head[i]); };
  if (got >= 2 && u(0) == 0x1f && u(1) == 0x8b) return Compression::kGzip;
  if (got >= 4 && u(0) == 0x28 && u(1) == 0xb5 && u(2) == 0x2f && u(3) == 0xfd) return Compression::kZstd;
  return Compression::kNone;
}

// The digest a member's name promises ("blobs/sha256/<hex>", docker 25+ and hoist).
std::optional<digest::Digest> digest_from_name(std::string_view name) {
  if (!name.starts_with("blobs/")) return std::nullopt;
  auto rest = name.substr(6);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto d = digest::parse(fmt::format("{}:{}", rest.substr(0, slash), rest.substr(slash + 1)));
  if (!d) return std::nullopt;
  return *d;
}

Result<digest::Digest> hash_member(layout::ArchiveFile& file, const layout::ArchiveFile::Member& m) {
  auto r = file.open_member(m);
  digest::Hasher h(digest::Algorithm::kSha256);
  auto buf = std::make_unique_for_overwrite<std::byte[]>(size_t{1} << 20);
  for (;;) {
    size_t n = HOIST_TRY(r->read(std::span(buf.get(), size_t{1} << 20)));
    if (n == 0) break;
    h.update(std::span<const std::byte>(buf.get(), n));
  }
  return h.finish();
}

Result<std::string> json_string(const nlohmann::json& j, const char* key, std::string_view where) {
  if (!j.contains(key) || !j[key].is_string())
    return fail(Errc::kInvalidArgument, fmt::format("invalid manifest.json in {}: '{}' is not a string", where, key));
  return j[key].get<std::string>();
}

Result<Sources> open_docker_archive(std::string_view rest, bool all) {
  auto [path, select] = split_locator(rest);
  if (path.empty()) return fail(Errc::kUsage, fmt::format("invalid source 'docker-archive:{}': no file", rest));
  if (path == "-")
    return fail(Errc::kUnsupported, "docker-archive:- is not supported: a docker-archive names its layers at its "
                                    "end, so it needs a file (or use oci-archive:-)");
  std::string locator = "docker-archive:" + path;
  std::string where = fmt::format("'{}'", locator);
  auto file = HOIST_TRY(layout::ArchiveFile::open(path));
  auto mj_bytes =
      HOIST_TRY_CTX(file->read("manifest.json", kMaxJson), fmt::format("'{}' is not a docker-archive", path));
  auto mj = nlohmann::json::parse(mj_bytes, nullptr, false);
  if (!mj.is_array())
    return fail(Errc::kInvalidArgument, fmt::format("invalid manifest.json in {}: not a JSON array", where));
  auto b = std::make_shared<ArchiveBacking>(std::move(file), where);
  auto& af = b->file();

  struct Entry {
    image::Descriptor root;
    std::vector<std::string> tags;
  };
  std::vector<Entry> entries;
  for (size_t i = 0; i < mj.size(); ++i) {
    const auto& e = mj[i];
    std::string ew = fmt::format("image {} of {}", i, where);
    if (!e.is_object()) return fail(Errc::kInvalidArgument, fmt::format("invalid manifest.json in {}: entry {} is "
                                                                         "not an object", where, i));
    std::string cfg_name = HOIST_TRY(json_string(e, "Config", where));
    auto cfg_clean = HOIST_TRY_CTX(layout::clean_member_name(cfg_name), fmt::format("{}: Config", ew));
    std::string cfg_bytes = HOIST_TRY_CTX(af.read(cfg_clean, kMaxConfig), ew);
    auto cfg = HOIST_TRY_CTX(image::parse_config(cfg_bytes), fmt::format("{}: config '{}'", ew, cfg_name));
    if (!e.contains("Layers") || !e["Layers"].is_array())
      return fail(Errc::kInvalidArgument, fmt::format("invalid manifest.json in {}: no Layers array", where));
    const auto& layers = e["Layers"];
    if (layers.size() != cfg.rootfs.diff_ids.size())
      return fail(Errc::kInvalidArgument, fmt::format("{}: manifest.json lists {} layers but the config {} diff_ids",
                                                      ew, layers.size(), cfg.rootfs.diff_ids.size()));
    image::Manifest m;
    m.media_type = mt::kDockerManifest;
    m.config = image::describe(mt::kDockerConfig, cfg_bytes);
    b->alias(m.config.digest, cfg_clean);
    for (size_t l = 0; l < layers.size(); ++l) {
      if (!layers[l].is_string())
        return fail(Errc::kInvalidArgument, fmt::format("invalid manifest.json in {}: Layers[{}] is not a string",
                                                        where, l));
      std::string lname = layers[l].get<std::string>();
      auto clean = HOIST_TRY_CTX(layout::clean_member_name(lname), fmt::format("{}: layer {}", ew, l + 1));
      const auto* mem = af.find(clean);
      if (!mem)
        return fail(Errc::kNotFound, fmt::format("{}: layer '{}' named in manifest.json is not in the archive", ew,
                                                 lname));
      image::Descriptor d;
      d.size = mem->size;
      switch (HOIST_TRY(sniff(af, *mem))) {
        case Compression::kNone:
          // A plain tar's digest is its diff_id; checked as it streams.
          d.media_type = mt::kDockerLayerUncompressed;
          d.digest = cfg.rootfs.diff_ids[l];
          break;
        case Compression::kGzip:
          d.media_type = mt::kDockerLayer;
          if (auto named = digest_from_name(clean))
            d.digest = *named;
          else
            d.digest = HOIST_TRY(hash_member(af, *mem));
          break;
        case Compression::kZstd:
          return fail(Errc::kUnsupported,
                      fmt::format("{}: layer '{}' is zstd-compressed, which Docker schema 2 has no media type for",
                                  ew, lname));
      }
      b->alias(d.digest, clean);
      m.layers.push_back(std::move(d));
    }
    std::string bytes = image::serialize(m);
    Entry en;
    en.root = image::describe(mt::kDockerManifest, bytes);
    b->add_bytes(en.root.digest, std::move(bytes));
    if (e.contains("RepoTags") && e["RepoTags"].is_array())
      for (const auto& t : e["RepoTags"])
        if (t.is_string()) en.tags.push_back(t.get<std::string>());
    entries.push_back(std::move(en));
  }

  Sources out;
  auto add = [&](const Entry& en, const std::string& tag) {
    std::string w = tag.empty() ? locator : fmt::format("{}:{}", locator, tag);
    out.push_back(make_source(b, tag, en.root, w));
  };
  if (!select.empty()) {
    if (select.starts_with("@")) {
      size_t idx = 0;
      bool ok = select.size() > 1 && select.size() < 8;
      for (char c : select.substr(1)) {
        if (c < '0' || c > '9') ok = false;
        idx = idx * 10 + size_t(c - '0');
      }
      if (!ok || idx >= entries.size())
        return fail(Errc::kNotFound, fmt::format("no image '{}' in {}: it holds {}", select, where, entries.size()));
      add(entries[idx], entries[idx].tags.empty() ? "" : entries[idx].tags[0]);
      return out;
    }
    auto want = HOIST_TRY(ref::parse_reference(select));
    for (const auto& en : entries)
      for (const auto& t : en.tags) {
        auto r = ref::parse_reference(t);
        if (r && r->str() == want.str()) {
          add(en, t);
          return out;
        }
      }
    return fail(Errc::kNotFound, fmt::format("no image tagged '{}' in {}", select, where));
  }
  if (entries.empty()) return fail(Errc::kNotFound, fmt::format("{} holds no image", where));
  size_t count = 0;
  for (const auto& en : entries) count += std::max<size_t>(1, en.tags.size());
  if (!all && count > 1)
    return fail(Errc::kInvalidArgument, fmt::format("{} holds {} images; name one as {}:REF or {}:@N", where, count,
                                                    locator, locator));
  for (const auto& en : entries) {
    if (en.tags.empty()) add(en, "");
    for (const auto& t : en.tags) add(en, t);
  }
  return out;
}

Result<Sources> open_any(std::string_view text, const std::string& store_dir, bool all) {
  if (text.empty() || text == "-")
    return fail(Errc::kUsage, "no source: give a reference, oci:DIR, oci-archive:FILE|- or docker-archive:FILE");
  if (text.starts_with("oci:")) return open_layout(text.substr(4), all);
  if (text.starts_with("oci-archive:")) return open_oci_archive(text.substr(12), store_dir, all);
  if (text.starts_with("docker-archive:")) return open_docker_archive(text.substr(15), all);
  if (text.starts_with("docker://"))
    return fail(Errc::kUsage, fmt::format("'{}' is a registry: open it with open_registry_source", text));
  if (text.starts_with("store:")) text.remove_prefix(6);
  return open_store(text, store_dir, all);
}

}  // namespace

std::pair<std::string, std::string> split_locator(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return {std::string(text), {}};
  return {std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

std::pair<std::string, std::string> split_ref_name(std::string_view ref_name) {
  if (ref_name.empty()) return {};
  if (ref_name.find('/') == std::string_view::npos && ref_name.find(':') == std::string_view::npos &&
      ref_name.find('@') == std::string_view::npos)
    return {"", std::string(ref_name)};  // a bare tag, as skopeo writes it
  auto r = ref::parse_reference(ref_name);
  if (!r) return {};
  return {r->name(), r->tag()};
}

Result<ResolvedImage> resolve_image(Source& src, const std::optional<ref::Platform>& platform) {
  ResolvedImage out;
  std::string label = src.name().empty() ? std::string("image") : fmt::format("image '{}'", src.name());
  auto root = HOIST_TRY(src.resolve());
  auto any = HOIST_TRY_CTX(image::parse_any(root.bytes, root.descriptor.media_type), label);
  if (auto* idx = std::get_if<image::Index>(&any)) {
    ref::Platform want = platform ? *platform : ref::host_platform();
    const image::Descriptor* pick = nullptr;
    for (const auto& d : idx->manifests)
      if (d.platform && ref::matches(want, *d.platform) && mt::is_manifest(d.media_type)) {
        pick = &d;
        break;
      }
    if (!pick) return fail(Errc::kNotFound, fmt::format("{} has no manifest for {}", label, want.str()));
    root = HOIST_TRY(src.fetch_manifest(*pick));
    out.manifest = HOIST_TRY_CTX(image::parse_manifest(root.bytes, root.descriptor.media_type), label);
  } else {
    out.manifest = std::get<image::Manifest>(std::move(any));
  }
  out.manifest_desc = root.descriptor;
  io::StringWriter cfg;
  HOIST_CHECK_CTX(src.fetch_blob(out.manifest.config, 0, cfg, {}), label);
  out.config_bytes = cfg.str();
  out.config = HOIST_TRY_CTX(image::parse_config(out.config_bytes), label);
  if (out.config.rootfs.diff_ids.size() != out.manifest.layers.size())
    return fail(Errc::kInvalidArgument, fmt::format("{}: the manifest lists {} layers but the config {} diff_ids",
                                                    label, out.manifest.layers.size(),
                                                    out.config.rootfs.diff_ids.size()));
  return out;
}

Result<std::unique_ptr<LocalSource>> open_source(std::string_view text, const std::string& store_dir) {
  auto all = HOIST_TRY(open_any(text, store_dir, false));
  return std::move(all.front());
}

Result<std::vector<std::unique_ptr<LocalSource>>> open_sources(std::string_view text, const std::string& store_dir) {
  return open_any(text, store_dir, true);
}

}  // namespace hoist::transport
