#include "archive/tar_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

namespace hoist::archive {

struct TarReader::State {
  io::Reader& in;
  std::unique_ptr<std::byte[]> buf;
  size_t chunk;
  struct archive* a = nullptr;
  // An error of `in`, kept so it reaches the caller as it was (libarchive only
  // knows "read callback failed").
  std::optional<Error> in_error;
  bool opened = false;
  bool failed = false;

  State(io::Reader& r, size_t c) : in(r), buf(new std::byte[c]), chunk(c) {}
  ~State() {
    if (a) archive_read_free(a);
  }

  static la_ssize_t read_cb(struct archive* a, void* self, const void** out) {
    auto* s = static_cast<State*>(self);
    auto n = s->in.read(std::span(s->buf.get(), s->chunk));
    if (!n) {
      s->in_error = std::move(n).error();
      archive_set_error(a, EIO, "read failed");
      return -1;
    }
    *out = s->buf.get();
    return la_ssize_t(*n);
  }

  Error error(std::string_view what) {
    failed = true;
    if (in_error) return *in_error;
    const char* msg = a ? archive_error_string(a) : nullptr;
    return Error(Errc::kInvalidArgument, std::string("invalid tar stream: ") +
                                             (msg ? msg : std::string(what)));
  }

  Result<> open() {
    a = archive_read_new();
    if (!a) return fail(Errc::kInternal, "cannot allocate a tar reader");
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_format_empty(a);
    if (archive_read_open(a, this, nullptr, &State::read_cb, nullptr) != ARCHIVE_OK)
      return fail(error("cannot open"));
    opened = true;
    return {};
  }
};

TarReader::TarReader(io::Reader& in, size_t chunk) : st_(std::make_unique<State>(in, chunk)) {}
TarReader::~TarReader() = default;

namespace {

EntryType type_of(struct archive_entry* e) {
  if (archive_entry_hardlink(e)) return EntryType::kHardlink;
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: return EntryType::kFile;
    case AE_IFDIR: return EntryType::kDir;
    case AE_IFLNK: return EntryType::kSymlink;
    case AE_IFCHR: return EntryType::kChar;
    case AE_IFBLK: return EntryType::kBlock;
    case AE_IFIFO: return EntryType::kFifo;
    default: return EntryType::kOther;
  }
}

// libarchive keeps names in several forms; the multibyte one can be missing when
// the locale cannot represent a UTF-8 PAX name, so fall back to the UTF-8 one.
const char* name_of(const char* mbs, const char* utf8) { return mbs ? mbs : utf8; }

}  // namespace

Result<std::optional<TarEntry>> TarReader::next() {
  if (st_->failed) return fail(st_->error("reader failed earlier"));
  if (!st_->opened) HOIST_CHECK(st_->open());
  struct archive_entry* e = nullptr;
  int r = archive_read_next_header(st_->a, &e);
  if (r == ARCHIVE_EOF) return std::optional<TarEntry>();
  if (r < ARCHIVE_WARN) return fail(st_->error("bad header"));
  TarEntry t;
  const char* p = name_of(archive_entry_pathname(e), archive_entry_pathname_utf8(e));
  if (!p) return fail(Errc::kInvalidArgument, "invalid tar stream: entry without a name");
  t.path = p;
  t.type = type_of(e);
  t.mode = uint32_t(archive_entry_mode(e)) & 07777;
  t.uid = uint32_t(archive_entry_uid(e));
  t.gid = uint32_t(archive_entry_gid(e));
  t.mtime_sec = archive_entry_mtime(e);
  t.mtime_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) t.atime = std::pair<int64_t, long>(archive_entry_atime(e), archive_entry_atime_nsec(e));
  t.size = archive_entry_size_is_set(e) ? uint64_t(archive_entry_size(e)) : 0;
  if (t.type == EntryType::kHardlink) {
    const char* l = name_of(archive_entry_hardlink(e), archive_entry_hardlink_utf8(e));
    t.linkname = l ? l : "";
  } else if (t.type == EntryType::kSymlink) {
    const char* l = name_of(archive_entry_symlink(e), archive_entry_symlink_utf8(e));
    t.linkname = l ? l : "";
  }
  if (t.type == EntryType::kChar || t.type == EntryType::kBlock) {
    t.dev_major = uint32_t(archive_entry_rdevmajor(e));
    t.dev_minor = uint32_t(archive_entry_rdevminor(e));
  }
  t.sparse = archive_entry_sparse_count(e) > 0;
  if (archive_entry_xattr_reset(e) > 0) {
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
      t.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), size));
  }
  return std::optional<TarEntry>(std::move(t));
}

Result<std::optional<DataBlock>> TarReader::read_data() {
  if (st_->failed) return fail(st_->error("reader failed earlier"));
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int r = archive_read_data_block(st_->a, &buf, &size, &offset);
  if (r == ARCHIVE_EOF) return std::optional<DataBlock>();
  if (r < ARCHIVE_WARN) return fail(st_->error("bad data"));
  DataBlock b{std::span(static_cast<const std::byte*>(buf), size), uint64_t(offset)};
  return std::optional<DataBlock>(b);
}

}  // namespace hoist::archive
