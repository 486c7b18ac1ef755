#pragma once
// The store's index: a RocksDB 7.8 database in STORE/db, plus STORE/index.json
// kept equal to its refs (so the store is an OCI image layout skopeo and umoci read).
//
// Keys (containerd's buckets.go style; every key is UTF-8 text, every digest
// "sha256:<hex>"):
//
//   v1/version                              "1"; another value is kUnsupported
//   v1/ref/<name>                           root descriptor, OCI descriptor JSON
//                                           (the manifest or index the name points at)
//   v1/blob/<digest>                        {"size":N,"mediaType":"...","lastUsed":UNIX_SECONDS}
//   v1/edge/<parent>/<child>                "" : manifest -> config and layers,
//                                           index -> manifests (what gc walks)
//   v1/diffid/<diff_id>/<compressed>        "" : uncompressed digest -> each compressed form
//   v1/layer/<compressed>                   "<diff_id>"
//   v1/source/<digest>/<registry>/<repo>    {"updated":UNIX_SECONDS}: that repository of that
//                                           registry held the blob when we last looked
//                                           (a pull of it, or a push to it): where
//                                           hoist-push mounts a blob from instead of
//                                           uploading it. A hint, never trusted: a mount
//                                           the registry refuses falls back to an upload.
//                                           Written with a pull's record_image (same
//                                           WriteBatch, after the blobs) and after a
//                                           push's manifests are in (put_blob_sources).
//   v1/meta/index-json                      "stale" while index.json may lag the refs
//   v1/cache/<key>                          a build step's cache record: JSON that
//                                           lib/build/cache.h defines (the layer it
//                                           made, what its key was made of); <key> is
//                                           "sha256:<hex>" of the step's inputs
//   reserved for later modules: v1/snap/<chainid>, v1/lease/<id>
//
// Not in the database: resumable registry uploads (hoist-push), saved after every
// acknowledged chunk, as STORE/uploads/<sha256 of "registry/repo/digest">.json
// {"registry","repository","digest","url","offset","updated"}: see put_upload().
//   GC roots are the refs plus the unexpired leases. (gc itself is not written yet.)
//
// Ref names are what callers pass, by convention ref::Reference::str() of a
// normalised reference: "docker.io/library/busybox:latest". index.json lists each
// ref as its root descriptor with the annotation org.opencontainers.image.ref.name =
// that full name, so `skopeo copy oci:STORE:docker.io/library/busybox:latest ...`
// finds it (skopeo splits "oci:DIR:NAME" at the first ':' after DIR).
//
// Concurrency across processes. RocksDB admits one process per database, so no
// process keeps it open: every call opens it for the few milliseconds of one read
// or one WriteBatch, under an flock on STORE/lock (shared for reads, which open the
// database read-only; exclusive for writes). A caller that finds the lock taken
// waits, saying who holds it through log::info, up to the timeout, then fails with
// kUnavailable "store 'DIR' is locked by pid N". index.json is rewritten
// (write_file_atomic) from the database under the same exclusive lock after every
// ref change, so two processes adding refs at once never lose an entry; a crash
// between the two leaves v1/meta/index-json, and the next Index::init() repairs it.
//
// Thread-safe: every call takes its own lock and database handle.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "digest/digest.h"
#include "image/descriptor.h"
#include "store/lock.h"
#include "util/result.h"

namespace hoist::store {

inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kIndexVersion = "1";

struct BlobRecord {
  uint64_t size = 0;
  std::string media_type;
  int64_t last_used = 0;  // unix seconds
  bool operator==(const BlobRecord&) const = default;
};

struct RefEntry {
  std::string name;
  image::Descriptor target;
};

struct Edge {
  digest::Digest parent;
  digest::Digest child;
  bool operator==(const Edge&) const = default;
};

struct DiffIdPair {
  digest::Digest diff_id;     // sha256 of the uncompressed layer tar (config rootfs.diff_ids)
  digest::Digest compressed;  // the layer blob
  bool operator==(const DiffIdPair&) const = default;
};

// Everything one image adds to the index, written in ONE WriteBatch.
struct ImageRecord {
  std::string name;           // ref name; empty: record blobs and edges only
  image::Descriptor root;     // what the ref points at (a manifest or an index)
  std::vector<image::Descriptor> blobs;  // every blob of the image present in the store (root included)
  std::vector<Edge> edges;
  std::vector<DiffIdPair> diff_ids;
  // "registry/repo" the image came from ("127.0.0.1:5000/team/app"): every blob
  // gets a v1/source record naming it. Empty: none.
  std::string source;
};

struct UploadSession {
  std::string registry;    // "registry.example:5000"
  std::string repository;  // "team/app"
  digest::Digest digest;
  std::string url;         // the upload's Location
  uint64_t offset = 0;     // bytes the registry has acknowledged
  int64_t updated = 0;     // unix seconds; set by put_upload
};

class Index {
 public:
  // `store_dir` holds db/, lock and index.json.
  Index(std::string store_dir, std::chrono::milliseconds lock_timeout = kDefaultLockTimeout);

  // Creates the database (v1/version) and index.json when missing; rebuilds a
  // stale index.json. kUnsupported for an index of another version.
  // create_in_background: a missing database is created by a thread of its own
  // (joined by the destructor) while the caller goes on; until it is done the
  // index reads as empty and writers wait for it. Not for a process that forks
  // meanwhile: the child would inherit the creator's store lock.
  Result<> init(bool create_in_background = false);

  // One WriteBatch: the ref (when name is set), a blob record per blob (lastUsed =
  // now), the edges and diffID pairs; then index.json. Does NOT check that the
  // blobs exist: Store::record_image does, and syncs them, first.
  Result<> record_image(const ImageRecord& rec);
  Result<std::optional<image::Descriptor>> resolve(std::string_view name);
  Result<std::vector<RefEntry>> list_refs();  // sorted by name
  // kNotFound "ref 'NAME' not found in store 'DIR'". Blobs stay (gc's job).
  Result<> remove_ref(std::string_view name);

  Result<std::vector<digest::Digest>> children(const digest::Digest& parent);
  Result<std::optional<BlobRecord>> blob_record(const digest::Digest& d);
  Result<std::vector<std::pair<digest::Digest, BlobRecord>>> list_blob_records();
  Result<std::optional<digest::Digest>> diff_id_of(const digest::Digest& compressed);
  Result<std::vector<digest::Digest>> compressed_of(const digest::Digest& diff_id);

  // v1/source records: `name` ("registry/repo") holds each of `digests`. One WriteBatch.
  Result<> put_blob_sources(const std::vector<digest::Digest>& digests, std::string_view name);
  // The "registry/repo" names recorded for a blob, most recently updated first.
  Result<std::vector<std::string>> blob_sources(const digest::Digest& d);

  // v1/cache records (hoist-build). get_cache: nullopt when absent.
  Result<std::optional<std::string>> get_cache(std::string_view key);
  Result<> put_cache(std::string_view key, std::string_view record);
  // Every v1/cache record: key -> record text, by key.
  Result<std::vector<std::pair<std::string, std::string>>> list_cache();
  // Several cache records and blob sources in one write (a build's registry
  // cache hits: one database session instead of two a step).
  Result<> put_cache_and_sources(const std::vector<std::pair<std::string, std::string>>& records,
                                 const std::vector<std::pair<digest::Digest, std::string>>& sources);

  Result<> put_upload(const UploadSession& s);
  Result<std::optional<UploadSession>> get_upload(std::string_view registry, std::string_view repository,
                                                  const digest::Digest& d);
  Result<> remove_upload(std::string_view registry, std::string_view repository, const digest::Digest& d);

  const std::string& store_dir() const { return dir_; }

 private:
  std::string dir_;
  std::chrono::milliseconds timeout_;
  // Creates the database of a fresh store while the caller goes on (init()).
  std::jthread creator_;
};

}  // namespace hoist::store
