#pragma once
// The content store (DESIGN.md "The store"). One directory:
//
//   blobs/sha256/<hex>   content, write-once (mode 0444), verified before it appears
//   oci-layout           {"imageLayoutVersion":"1.0.0"}
//   index.json           one descriptor per ref, annotated org.opencontainers.image.ref.name
//                        = the full ref name: the store is an OCI image layout, so
//                        `skopeo copy oci:STORE:docker.io/library/busybox:latest ...`
//                        and umoci read it directly
//   ingest/              resumable partial blobs (store/blob_dir.h)
//   snapshots/           unpacked layers (written by later modules)
//   db/                  the RocksDB index (store/index.h: keys, locking)
//   lock                 flock'ed around every index access; holds the holder's pid
//
// Order of writes: a blob's file is fsynced, renamed into blobs/ and its directory
// fsynced before any index entry names it (record_image enforces it). A crash leaves
// at worst an unreferenced blob or a partial in ingest/, never an index entry
// without its verified blob.
//
// Several processes may use one store at once: blobs need no lock (atomic rename,
// per-digest flock on the partial), and the index is opened only for one read or
// one WriteBatch at a time (index.h).
//
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "digest/digest.h"
#include "image/descriptor.h"
#include "store/blob_dir.h"
#include "store/index.h"
#include "store/walk.h"
#include "util/result.h"

namespace hoist::store {

// $HOIST_STORE when set and not empty; else /var/lib/hoist for root (euid 0); else
// $XDG_DATA_HOME/hoist, else $HOME/.local/share/hoist (home from passwd without $HOME).
std::string default_store_dir();

struct StoreOptions {
  // How long an index access waits for another process's lock.
  std::chrono::milliseconds lock_timeout = kDefaultLockTimeout;
  // A new store's index is created in the background (Index::init()).
  bool create_in_background = false;
};

struct FsckProblem {
  enum class Kind : uint8_t {
    kCorruptBlob,     // the file's bytes do not match its name
    kUnreadableBlob,  // I/O error reading it
    kStrayFile,       // a file under blobs/ that is not a blob
    kMissingBlob,     // the index names a blob that is not there
    kLeftoverTemp,    // a private .tmp file in ingest/ (a crashed writer's)
  };
  Kind kind;
  std::string subject;  // digest or path
  std::string message;
};

struct FsckReport {
  uint64_t blobs_checked = 0;
  uint64_t bytes_checked = 0;
  std::vector<FsckProblem> problems;
  bool ok() const { return problems.empty(); }
};

class Store {
 public:
  // Opens the store at `dir`, creating the layout when missing (and repairing a
  // stale index.json). kUnsupported for an index of another version; kUnavailable
  // when the store stays locked for the whole timeout.
  static Result<std::unique_ptr<Store>> open(const std::string& dir, StoreOptions options = {});

  const std::string& dir() const { return dir_; }
  BlobDir& blobs() { return blobs_; }
  const BlobDir& blobs() const { return blobs_; }
  Index& index() { return index_; }

  // ---- blobs (see BlobDir for the contracts)
  Result<std::unique_ptr<BlobWriter>> ingest(const digest::Digest& expected, uint64_t expected_size) {
    return blobs_.ingest(expected, expected_size);
  }
  Result<std::unique_ptr<BlobWriter>> ingest_new() { return blobs_.ingest_new(); }
  bool has_blob(const digest::Digest& d) const { return blobs_.has_blob(d); }
  std::string blob_path(const digest::Digest& d) const { return blobs_.blob_path(d); }
  Result<std::unique_ptr<BlobReader>> open_blob(const digest::Digest& d) const { return blobs_.open_blob(d); }
  Result<uint64_t> blob_size(const digest::Digest& d) const { return blobs_.blob_size(d); }
  Result<std::string> read_small_blob(const digest::Digest& d, size_t max_bytes = kDefaultSmallBlobMax) const {
    return blobs_.read_small_blob(d, max_bytes);
  }
  Result<> put_small_blob(std::string_view bytes, const digest::Digest& expected) {
    return blobs_.put_small_blob(bytes, expected);
  }

  // ---- index
  // Checks that every blob of `rec` (and its root) is present (kNotFound otherwise),
  // makes their renames durable (one directory fsync), then writes the ref, blob
  // records, edges and diffID pairs in one WriteBatch and rewrites index.json.
  Result<> record_image(const ImageRecord& rec);
  // walk_image + record_image: records every present blob of the image under `name`
  // (empty: no ref). The image's manifests must be in the store; absent layers or
  // platform manifests are left out of the blob records (edges still name them).
  Result<ImageGraph> add_image(std::string name, const image::Descriptor& root);
  Result<std::optional<image::Descriptor>> resolve(std::string_view name) { return index_.resolve(name); }
  Result<std::vector<RefEntry>> list_refs() { return index_.list_refs(); }
  Result<> remove_ref(std::string_view name) { return index_.remove_ref(name); }
  Result<std::vector<digest::Digest>> children(const digest::Digest& d) { return index_.children(d); }
  Result<std::optional<BlobRecord>> blob_record(const digest::Digest& d) { return index_.blob_record(d); }

  // Verifies every blob file's digest and checks that the index names only present
  // blobs. Reports problems, changes nothing. (gc, which removes unreferenced blobs
  // and leftovers, is a later issue.)
  Result<FsckReport> fsck();

 private:
  Store(std::string dir, StoreOptions options);
  std::string dir_;
  BlobDir blobs_;
  Index index_;
};

}  // namespace hoist::store
