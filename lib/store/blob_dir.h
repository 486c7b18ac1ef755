#pragma once
// BlobDir: a content-addressed directory `ROOT/blobs/<alg>/<hex>` (the OCI
// image-layout path, image-spec image-layout.md#blobs), shared by the store and by
// OCI layout directories. BlobWriter: the one way bytes enter it, containerd's
// content.Writer: temp file -> fsync -> verify size and digest -> rename.
//
// Ingest files live in `ingest_dir` (the store: STORE/ingest; a layout: the layout
// root, names prefixed ".hoist-ingest-"):
//   <prefix><alg>-<hex>.partial                       resumable partial of one digest
//   <prefix><alg>-<hex>.<pid>-<n>.tmp                 private temp (see "two writers")
//   <prefix>new-<pid>-<n>.tmp                         blob whose digest is not yet known
// A .partial survives its writer (destructor, kill -9, a failed download) so the next
// ingest of that digest resumes from offset(); abort() and every failed commit remove
// it. Stray .tmp files are crash leftovers (fsck reports them).
//
// Two writers of one digest (threads or processes): the .partial file itself is
// flock'ed by its writer. A second writer that finds it locked does NOT wait (a
// download may take minutes, and a caller may be driving other transfers); it writes
// a private .tmp file from offset 0 instead, so both transfers finish, the first
// commit wins, and the other gets kAlreadyExists. The bytes are downloaded twice in
// that rare case; nothing is ever corrupted.
//
// Durability: commit() fsyncs the file before the rename, so a name under blobs/
// never shows unverified or unwritten bytes. The rename itself becomes durable with
// the next sync() of the blobs directory: one directory fsync per batch of blobs,
// not one per blob. Whoever records a blob's name somewhere durable (the store's
// index, a layout's index.json) calls sync() first; Store::record_image and
// LayoutWriter do.
//
// Thread-safe: BlobDir may be shared; each BlobWriter is used by one thread.

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "digest/digest.h"
#include "io/stream.h"
#include "sys/fd.h"
#include "util/result.h"

namespace hoist::store {

inline constexpr uint64_t kUnknownSize = std::numeric_limits<uint64_t>::max();
inline constexpr size_t kDefaultSmallBlobMax = size_t{4} << 20;  // manifests, configs

class BlobDir;

// An io::Writer into the ingest area; see BlobDir above. write() appends at
// offset(); large buffered writes, no fsync until commit().
class BlobWriter final : public io::Writer {
 public:
  ~BlobWriter() override;  // keeps a .partial (resumable), removes a private .tmp
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // Appends data. kDigestMismatch (and the partial removed) when the total would
  // pass the expected size. After any error the writer is broken: only abort() or
  // the destructor are useful.
  Result<> write(std::span<const std::byte> data) override;
  // Flushes buffered bytes to the file (no fsync, no commit). Idempotent.
  Result<> close() override;

  // Bytes present: those found from an earlier attempt plus those written since.
  // A download resumes with "Range: bytes=<offset()>-".
  uint64_t offset() const { return offset_; }
  // Bytes found from an earlier attempt when the writer was opened.
  uint64_t resumed_from() const { return resumed_from_; }
  // False for a private temp file and for ingest_new().
  bool resumable() const { return resumable_; }
  // Drops every byte present; offset() becomes 0 (e.g. a server that ignored Range).
  Result<> restart();

  // fsync -> check size -> check digest -> rename into blobs/<alg>/<hex>. Always
  // finishes the writer. Errors:
  //   kAlreadyExists  the blob is already present (another writer won); callers treat
  //                   it as success; the partial is removed;
  //   kDigestMismatch wrong digest, or more bytes than expected;
  //   kIo             fewer bytes than expected ("short content");
  // on every error but an I/O failure of the rename itself the partial is removed:
  // nothing half-written stays behind.
  Result<> commit();
  // For ingest_new(): commit with the digest and size computed alongside (STYLE 3.4).
  // For a writer opened with an expected digest, these must agree with it.
  Result<> commit(const digest::Digest& expected, uint64_t expected_size);
  // Removes the partial (or temp) file and finishes the writer.
  Result<> abort();

  // The digest of the bytes present so far (rehashing resumed bytes first, once);
  // after commit() the content's digest, whatever the outcome. Invalid after
  // abort() or an I/O error. expected(): what ingest() was told (invalid for
  // ingest_new()).
  digest::Digest digest();
  const digest::Digest& expected() const { return expected_; }
  uint64_t expected_size() const { return expected_size_; }

 private:
  friend class BlobDir;
  BlobWriter(BlobDir& dir, std::string path, sys::Fd fd, digest::Digest expected, uint64_t expected_size,
             uint64_t resumed_from, bool resumable, digest::Algorithm algo);
  Result<> flush();
  void written();
  Result<> ensure_hashed();
  void discard();
  Result<> broken(Error e);

  BlobDir& dir_;
  std::string path_;
  sys::Fd fd_;
  digest::Digest expected_;
  uint64_t expected_size_;
  uint64_t resumed_from_;
  uint64_t offset_;
  bool resumable_;
  bool hashed_;  // the hasher has seen bytes [0, resumed_from_)
  bool done_ = false;
  bool failed_ = false;
  digest::Hasher hasher_;
  digest::Digest final_;  // set when commit() has hashed everything
  std::unique_ptr<std::byte[]> buf_;
  size_t buffered_ = 0;
  uint64_t writeback_from_ = 0;  // bytes before this offset have had writeback started
};

// A reader over one blob file; size() is the file size.
class BlobReader final : public io::Reader {
 public:
  BlobReader(sys::Fd fd, uint64_t size) : fd_(std::move(fd)), size_(size) {}
  Result<size_t> read(std::span<std::byte> buf) override;
  uint64_t size() const { return size_; }
  int fd() const { return fd_.get(); }

 private:
  sys::Fd fd_;
  uint64_t size_;
};

class BlobDir {
 public:
  // `root` holds blobs/; ingest files go to `ingest_dir` with `ingest_prefix`.
  // Nothing is created until needed.
  BlobDir(std::string root, std::string ingest_dir, std::string ingest_prefix = {});

  const std::string& root() const { return root_; }
  const std::string& ingest_dir() const { return ingest_dir_; }
  std::string blob_path(const digest::Digest& d) const;  // ROOT/blobs/sha256/<hex>
  bool has_blob(const digest::Digest& d) const;
  // kNotFound "blob 'sha256:…' not found in 'ROOT'".
  Result<uint64_t> blob_size(const digest::Digest& d) const;
  Result<std::unique_ptr<BlobReader>> open_blob(const digest::Digest& d) const;
  // The whole blob, verified against its digest (kDigestMismatch: a corrupt store);
  // kInvalidArgument when larger than max_bytes.
  Result<std::string> read_small_blob(const digest::Digest& d, size_t max_bytes = kDefaultSmallBlobMax) const;
  // Writes bytes whose digest must be `expected` (manifests, configs). Success when
  // the blob was already present. kDigestMismatch when the bytes do not match.
  Result<> put_small_blob(std::string_view bytes, const digest::Digest& expected);

  // Opens a writer for the blob `expected`, resuming a .partial left by an earlier
  // attempt (expected_size may be kUnknownSize). kAlreadyExists when the blob is
  // already present (nothing to do).
  Result<std::unique_ptr<BlobWriter>> ingest(const digest::Digest& expected, uint64_t expected_size);
  // A writer for a blob whose digest is computed while writing (a new layer);
  // commit(digest, size) or commit() names it.
  Result<std::unique_ptr<BlobWriter>> ingest_new(digest::Algorithm algo = digest::Algorithm::kSha256);

  // Makes every rename into blobs/<alg>/ durable (one fsync per algorithm
  // directory that exists). Call before recording blob names anywhere durable.
  Result<> sync() const;

  // Every blob file name that parses as a digest, and the other entries under blobs/
  // (for fsck), sorted.
  struct Listing {
    std::vector<digest::Digest> blobs;
    std::vector<std::string> strays;  // paths relative to root
  };
  Result<Listing> list() const;
  // Rehashes the blob file: kDigestMismatch when its bytes do not match its name.
  Result<> verify_blob(const digest::Digest& d) const;
  // Ingest files present (names relative to ingest_dir), e.g. for fsck or cleanup.
  Result<std::vector<std::string>> list_ingest() const;

 private:
  friend class BlobWriter;
  std::string alg_dir(digest::Algorithm a) const;
  std::string temp_path(std::string_view stem) const;

  std::string root_;
  std::string ingest_dir_;
  std::string ingest_prefix_;
};

}  // namespace hoist::store
