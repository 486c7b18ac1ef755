#include "store/blob_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "store/lock.h"
#include "sys/file_io.h"

namespace hoist::store {
namespace {

constexpr size_t kBufferSize = size_t{1} << 20;
// Writes at least this large go to the file as they are, without a copy.
constexpr size_t kDirectWrite = size_t{128} << 10;

// Process-wide, so that two BlobDir objects over one ingest directory never pick
// the same temp name; O_EXCL catches anything else (another process reusing a pid).
std::atomic<uint64_t> g_temp_counter{0};

Result<> pwrite_all(int fd, const std::byte* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, off_t(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail(Error::from_errno(errno, fmt::format("cannot write '{}'", path)));
    }
    p += w;
    n -= size_t(w);
    off += uint64_t(w);
  }
  return {};
}

Result<std::vector<std::string>> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return fail(Error::from_errno(errno, fmt::format("cannot open directory '{}'", dir)));
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") out.emplace_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

// ---------------------------------------------------------------- BlobReader

Result<size_t> BlobReader::read(std::span<std::byte> buf) { return sys::read_some(fd_.get(), buf); }

// ---------------------------------------------------------------- BlobWriter

BlobWriter::BlobWriter(BlobDir& dir, std::string path, sys::Fd fd, digest::Digest expected, uint64_t expected_size,
                       uint64_t resumed_from, bool resumable, digest::Algorithm algo)
    : dir_(dir),
      path_(std::move(path)),
      fd_(std::move(fd)),
      expected_(std::move(expected)),
      expected_size_(expected_size),
      resumed_from_(resumed_from),
      offset_(resumed_from),
      resumable_(resumable),
      hashed_(resumed_from == 0),
      hasher_(algo) {}

BlobWriter::~BlobWriter() {
  if (done_) return;
  if (resumable_) {
    // Keep the partial for the next attempt; buffered bytes are good bytes.
    (void)flush();
  } else {
    discard();
  }
}

Result<> BlobWriter::broken(Error e) {
  failed_ = true;
  return fail(std::move(e));
}

void BlobWriter::discard() {
  ::unlink(path_.c_str());
  fd_.reset();  // releases the flock only after the unlink: see BlobDir::ingest
  buffered_ = 0;
  done_ = true;
}

Result<> BlobWriter::ensure_hashed() {
  if (hashed_) return {};
  // Resuming: the digest must cover the bytes of the earlier attempt, so read
  // them once, now, before anything is appended. Done lazily so a caller that
  // restart()s (server ignored Range) never pays for it.
  if (!buf_) buf_ = std::make_unique_for_overwrite<std::byte[]>(kBufferSize);
  uint64_t pos = 0;
  while (pos < resumed_from_) {
    size_t want = size_t(std::min<uint64_t>(kBufferSize, resumed_from_ - pos));
    ssize_t n = ::pread(fd_.get(), buf_.get(), want, off_t(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return broken(Error::from_errno(errno, fmt::format("cannot read '{}'", path_)));
    if (n == 0) return broken(Error(Errc::kIo, fmt::format("'{}' shrank while resuming", path_)));
    hasher_.update(std::span<const std::byte>(buf_.get(), size_t(n)));
    pos += uint64_t(n);
  }
  hashed_ = true;
  return {};
}

Result<> BlobWriter::flush() {
  if (buffered_ == 0) return {};
  uint64_t at = offset_ - buffered_;
  auto r = pwrite_all(fd_.get(), buf_.get(), buffered_, at, path_);
  if (!r) return broken(std::move(r).error());
  buffered_ = 0;
  written();
  return {};
}

// A large blob's fsync at commit would otherwise wait for every dirty page at
// once (~0.5 s for 512 MiB here); starting writeback every few MiB overlaps
// the disk writes with the download, so the fsync finds little left to do.
void BlobWriter::written() {
  constexpr uint64_t kWritebackChunk = uint64_t{8} << 20;
  uint64_t on_disk = offset_ - buffered_;
  if (on_disk - writeback_from_ < kWritebackChunk) return;
  sys::start_writeback(fd_.get(), writeback_from_, on_disk - writeback_from_);
  writeback_from_ = on_disk;
}

Result<> BlobWriter::write(std::span<const std::byte> data) {
  if (done_ || failed_) return fail(Errc::kInvalidArgument, fmt::format("write to a finished blob writer '{}'", path_));
  if (expected_size_ != kUnknownSize && data.size() > expected_size_ - offset_) {
    discard();
    failed_ = true;
    return fail(Errc::kDigestMismatch,
                fmt::format("size exceeds descriptor: more than {} bytes for '{}'", expected_size_, expected_.str()));
  }
  if (data.empty()) return {};
  HOIST_CHECK(ensure_hashed());
  hasher_.update(data);
  if (data.size() >= kDirectWrite && buffered_ == 0) {
    auto r = pwrite_all(fd_.get(), data.data(), data.size(), offset_, path_);
    if (!r) return broken(std::move(r).error());
    offset_ += data.size();
    written();
    return {};
  }
  if (!buf_) buf_ = std::make_unique_for_overwrite<std::byte[]>(kBufferSize);
  if (buffered_ + data.size() <= kBufferSize) {
    std::memcpy(buf_.get() + buffered_, data.data(), data.size());
    buffered_ += data.size();
    offset_ += data.size();
    if (buffered_ == kBufferSize) HOIST_CHECK(flush());
    return {};
  }
  HOIST_CHECK(flush());
  if (data.size() >= kDirectWrite) {
    // Large writes go straight to the file: no copy.
    auto r = pwrite_all(fd_.get(), data.data(), data.size(), offset_, path_);
    if (!r) return broken(std::move(r).error());
    offset_ += data.size();
    written();
    return {};
  }
  std::memcpy(buf_.get(), data.data(), data.size());
  buffered_ = data.size();
  offset_ += data.size();
  return {};
}

Result<> BlobWriter::close() {
  if (done_ || failed_) return {};
  return flush();
}

Result<> BlobWriter::restart() {
  if (done_ || failed_) return fail(Errc::kInvalidArgument, fmt::format("restart of a finished blob writer '{}'", path_));
  buffered_ = 0;
  if (::ftruncate(fd_.get(), 0) < 0) return broken(Error::from_errno(errno, fmt::format("cannot truncate '{}'", path_)));
  hasher_.reset();
  offset_ = 0;
  writeback_from_ = 0;
  resumed_from_ = 0;
  hashed_ = true;
  return {};
}

digest::Digest BlobWriter::digest() {
  if (final_.valid()) return final_;
  if (done_ || !ensure_hashed()) return {};
  return hasher_.clone().finish();
}

Result<> BlobWriter::commit(const digest::Digest& expected, uint64_t expected_size) {
  if (expected_.valid() && expected_ != expected) {
    discard();
    return fail(Errc::kInvalidArgument, fmt::format("blob writer for '{}' committed as '{}'", expected_.str(), expected.str()));
  }
  expected_ = expected;
  expected_size_ = expected_size;
  return commit();
}

Result<> BlobWriter::commit() {
  if (done_ || failed_) {
    if (!done_) discard();
    return fail(Errc::kInvalidArgument, fmt::format("commit of a finished or failed blob writer '{}'", path_));
  }
  // containerd's Commit order: everything that can reject the content runs before
  // the rename, and every rejection removes the file (nothing half-written stays).
  auto hashed = ensure_hashed();
  if (hashed) hashed = flush();
  if (!hashed) {
    discard();
    return hashed;
  }
  if (expected_size_ != kUnknownSize && offset_ != expected_size_) {
    discard();
    if (offset_ < expected_size_)
      return fail(Errc::kIo, fmt::format("short content for '{}': got {} of {} bytes", expected_.str(), offset_,
                                         expected_size_));
    return fail(Errc::kDigestMismatch,
                fmt::format("size exceeds descriptor: more than {} bytes for '{}'", expected_size_, expected_.str()));
  }
  digest::Digest actual = hasher_.finish();
  final_ = actual;
  if (expected_.valid()) {
    auto v = digest::verify(expected_, actual);
    if (!v) {
      discard();
      return v;
    }
  }
  // The data must be on disk before the name is: otherwise a crash after the
  // rename could leave blobs/<alg>/<hex> naming zeros or a short file.
  if (::fsync(fd_.get()) < 0) {
    Error e = Error::from_errno(errno, fmt::format("cannot fsync '{}'", path_));
    discard();
    return fail(std::move(e));
  }
  std::string final_path = dir_.blob_path(actual);
  if (sys::exists(final_path)) {
    discard();
    return fail(Errc::kAlreadyExists, fmt::format("blob '{}' already exists", actual.str()));
  }
  // Two writers that both verified the same digest may race here; rename over an
  // identical verified file is harmless, so no lock is needed.
  if (::rename(path_.c_str(), final_path.c_str()) < 0) {
    Error e = Error::from_errno(errno, fmt::format("cannot rename '{}' to '{}'", path_, final_path));
    if (!resumable_) discard();
    done_ = true;
    fd_.reset();
    return fail(std::move(e));
  }
  // Write-once: blobs are read-only (containerd does the same). Through the fd,
  // so a failed chmod never makes a partial unwritable for its next attempt.
  (void)::fchmod(fd_.get(), 0444);
  fd_.reset();  // releases the flock; waiters see the .partial gone and re-check
  done_ = true;
  return {};
}

Result<> BlobWriter::abort() {
  if (done_) return {};
  discard();
  return {};
}

// ---------------------------------------------------------------- BlobDir

BlobDir::BlobDir(std::string root, std::string ingest_dir, std::string ingest_prefix)
    : root_(std::move(root)), ingest_dir_(std::move(ingest_dir)), ingest_prefix_(std::move(ingest_prefix)) {}

std::string BlobDir::alg_dir(digest::Algorithm a) const {
  return fmt::format("{}/blobs/{}", root_, digest::algorithm_name(a));
}

std::string BlobDir::blob_path(const digest::Digest& d) const {
  return fmt::format("{}/{}", alg_dir(d.algorithm()), d.hex());
}

bool BlobDir::has_blob(const digest::Digest& d) const {
  if (!d.valid()) return false;
  struct stat st;
  return ::stat(blob_path(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::unique_ptr<BlobReader>> BlobDir::open_blob(const digest::Digest& d) const {
  auto fd = sys::open_file(blob_path(d), O_RDONLY);
  if (!fd) {
    if (fd.error().code() == Errc::kNotFound)
      return fail(Errc::kNotFound, fmt::format("blob '{}' not found in '{}'", d.str(), root_));
    return fail(std::move(fd).error());
  }
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return fail(Error::from_errno(errno, fmt::format("cannot stat blob '{}'", d.str())));
  return std::make_unique<BlobReader>(std::move(*fd), uint64_t(st.st_size));
}

Result<uint64_t> BlobDir::blob_size(const digest::Digest& d) const {
  struct stat st;
  if (::stat(blob_path(d).c_str(), &st) < 0) {
    if (errno == ENOENT) return fail(Errc::kNotFound, fmt::format("blob '{}' not found in '{}'", d.str(), root_));
    return fail(Error::from_errno(errno, fmt::format("cannot stat blob '{}'", d.str())));
  }
  return uint64_t(st.st_size);
}

Result<std::string> BlobDir::read_small_blob(const digest::Digest& d, size_t max_bytes) const {
  auto r = open_blob(d);
  if (!r) return fail(std::move(r).error());
  auto& blob = **r;
  if (blob.size() > max_bytes)
    return fail(Errc::kInvalidArgument, fmt::format("blob '{}' is larger than {} bytes", d.str(), max_bytes));
  std::string out(size_t(blob.size()), '\0');
  size_t got = 0;
  while (got < out.size()) {
    auto n = blob.read(std::as_writable_bytes(std::span(out.data() + got, out.size() - got)));
    if (!n) return fail(std::move(n).error().context(fmt::format("cannot read blob '{}'", d.str())));
    if (*n == 0) break;
    got += *n;
  }
  out.resize(got);
  auto v = digest::verify(d, digest::of(d.algorithm(), out));
  if (!v) return fail(std::move(v).error().context(fmt::format("blob '{}' in '{}' is corrupt", d.str(), root_)));
  return out;
}

Result<> BlobDir::put_small_blob(std::string_view bytes, const digest::Digest& expected) {
  HOIST_CHECK(digest::verify(expected, digest::of(expected.algorithm(), bytes)));
  if (has_blob(expected)) return {};
  auto w = ingest(expected, bytes.size());
  if (!w) {
    if (w.error().code() == Errc::kAlreadyExists) return {};
    return fail(std::move(w).error());
  }
  auto& writer = **w;
  if (writer.offset() != 0) HOIST_CHECK(writer.restart());
  HOIST_CHECK(writer.write(std::as_bytes(std::span(bytes.data(), bytes.size()))));
  auto c = writer.commit();
  if (!c && c.error().code() != Errc::kAlreadyExists) return c;
  return {};
}

std::string BlobDir::temp_path(std::string_view stem) const {
  return fmt::format("{}/{}{}.{}-{}.tmp", ingest_dir_, ingest_prefix_, stem, ::getpid(), g_temp_counter.fetch_add(1));
}

Result<std::unique_ptr<BlobWriter>> BlobDir::ingest(const digest::Digest& expected, uint64_t expected_size) {
  if (!expected.valid()) return fail(Errc::kInvalidArgument, "cannot ingest a blob without a digest");
  if (has_blob(expected)) return fail(Errc::kAlreadyExists, fmt::format("blob '{}' already exists", expected.str()));
  HOIST_CHECK(sys::mkdir_all(ingest_dir_));
  HOIST_CHECK(sys::mkdir_all(alg_dir(expected.algorithm())));
  std::string stem = fmt::format("{}-{}", expected.algorithm_name(), expected.hex());
  std::string path = fmt::format("{}/{}{}.partial", ingest_dir_, ingest_prefix_, stem);
  // The .partial is its own lock. The classic lock-file race: between our open and
  // our flock, the holder may commit (rename the file into blobs/) or abort (unlink
  // it). Our descriptor then names a file that is no longer the .partial, possibly
  // the committed blob itself, which must never be written. So after locking, check
  // that the path still names the inode we locked, and start over when it does not.
  for (int attempt = 0; attempt < 16; ++attempt) {
    sys::Fd fd = HOIST_TRY(sys::open_file(path, O_RDWR | O_CREAT, 0644));
    if (flock_fd(fd.get(), LOCK_EX | LOCK_NB) < 0) {
      if (errno != EWOULDBLOCK) return fail(Error::from_errno(errno, fmt::format("cannot lock '{}'", path)));
      // Another writer is on this digest: write privately (see the header).
      for (int t = 0; t < 16; ++t) {
        std::string tmp = temp_path(stem);
        auto tfd = sys::open_file(tmp, O_RDWR | O_CREAT | O_EXCL, 0644);
        if (!tfd && tfd.error().code() == Errc::kAlreadyExists) continue;
        if (!tfd) return fail(std::move(tfd).error());
        return std::unique_ptr<BlobWriter>(new BlobWriter(*this, std::move(tmp), std::move(*tfd), expected,
                                                          expected_size, 0, false, expected.algorithm()));
      }
      return fail(Errc::kInternal, fmt::format("cannot create a temp file in '{}'", ingest_dir_));
    }
    struct stat locked, named;
    if (::fstat(fd.get(), &locked) < 0) return fail(Error::from_errno(errno, fmt::format("cannot stat '{}'", path)));
    if (::stat(path.c_str(), &named) < 0) {
      if (errno == ENOENT) continue;
      return fail(Error::from_errno(errno, fmt::format("cannot stat '{}'", path)));
    }
    if (locked.st_ino != named.st_ino || locked.st_dev != named.st_dev) continue;
    // We own the entry. A writer that committed while we waited leaves the blob:
    // our fresh .partial is then useless.
    if (has_blob(expected)) {
      ::unlink(path.c_str());
      return fail(Errc::kAlreadyExists, fmt::format("blob '{}' already exists", expected.str()));
    }
    uint64_t have = uint64_t(locked.st_size);
    if (expected_size != kUnknownSize && have > expected_size) {
      // Longer than the blob can be: not a prefix of it. Start over.
      if (::ftruncate(fd.get(), 0) < 0) return fail(Error::from_errno(errno, fmt::format("cannot truncate '{}'", path)));
      have = 0;
    }
    return std::unique_ptr<BlobWriter>(new BlobWriter(*this, std::move(path), std::move(fd), expected, expected_size,
                                                      have, true, expected.algorithm()));
  }
  return fail(Errc::kUnavailable, fmt::format("cannot take '{}': it keeps changing", path));
}

Result<std::unique_ptr<BlobWriter>> BlobDir::ingest_new(digest::Algorithm algo) {
  HOIST_CHECK(sys::mkdir_all(ingest_dir_));
  HOIST_CHECK(sys::mkdir_all(alg_dir(algo)));
  for (int t = 0; t < 16; ++t) {
    std::string tmp = temp_path("new");
    auto fd = sys::open_file(tmp, O_RDWR | O_CREAT | O_EXCL, 0644);
    if (!fd && fd.error().code() == Errc::kAlreadyExists) continue;
    if (!fd) return fail(std::move(fd).error());
    return std::unique_ptr<BlobWriter>(
        new BlobWriter(*this, std::move(tmp), std::move(*fd), digest::Digest(), kUnknownSize, 0, false, algo));
  }
  return fail(Errc::kInternal, fmt::format("cannot create a temp file in '{}'", ingest_dir_));
}

Result<> BlobDir::sync() const {
  std::string blobs = root_ + "/blobs";
  for (auto a : {digest::Algorithm::kSha256, digest::Algorithm::kSha512}) {
    std::string dir = alg_dir(a);
    if (is_dir(dir)) HOIST_CHECK(sys::fsync_dir(dir));
  }
  // The algorithm directories themselves may be new.
  if (is_dir(blobs)) HOIST_CHECK(sys::fsync_dir(blobs));
  return {};
}

Result<BlobDir::Listing> BlobDir::list() const {
  Listing out;
  auto algs = HOIST_TRY(list_dir(root_ + "/blobs"));
  for (const auto& alg : algs) {
    std::string dir = root_ + "/blobs/" + alg;
    auto a = digest::parse_algorithm(alg);
    if (!a || !is_dir(dir)) {
      out.strays.push_back("blobs/" + alg);
      continue;
    }
    auto names = HOIST_TRY(list_dir(dir));
    for (const auto& n : names) {
      auto d = digest::parse(alg + ":" + n);
      struct stat st;
      if (d && ::lstat((dir + "/" + n).c_str(), &st) == 0 && S_ISREG(st.st_mode))
        out.blobs.push_back(std::move(*d));
      else
        out.strays.push_back("blobs/" + alg + "/" + n);
    }
  }
  return out;
}

Result<> BlobDir::verify_blob(const digest::Digest& d) const {
  auto r = open_blob(d);
  if (!r) return fail(std::move(r).error());
  digest::Hasher h(d.algorithm());
  auto buf = std::make_unique<std::byte[]>(kBufferSize);
  for (;;) {
    auto n = (*r)->read(std::span(buf.get(), kBufferSize));
    if (!n) return fail(std::move(n).error().context(fmt::format("cannot read blob '{}'", d.str())));
    if (*n == 0) break;
    h.update(std::span<const std::byte>(buf.get(), *n));
  }
  return digest::verify(d, h.finish());
}

Result<std::vector<std::string>> BlobDir::list_ingest() const {
  auto names = HOIST_TRY(list_dir(ingest_dir_));
  std::vector<std::string> out;
  for (auto& n : names) {
    if (n.starts_with(ingest_prefix_) && (n.ends_with(".partial") || n.ends_with(".tmp"))) out.push_back(std::move(n));
  }
  return out;
}

}  // namespace hoist::store
