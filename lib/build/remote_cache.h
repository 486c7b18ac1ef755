#pragma once
// The registry cache (hoist-build --cache-to, --cache-from): the build
// cache's records (build/cache.h) kept in a registry repository that many
// machines share, such as the CI runners of one project.
//
// One record a key, as an OCI image manifest tagged
// "hoist-cache-v1-<hex of the key>" (nothing to read-modify-write: two
// runners exporting at once never lose each other's records):
//   artifactType  application/vnd.hoist.build.cache.v1
//   config        application/vnd.hoist.build.cache.v1+json: {"key", "diffID",
//                 "inputs"} (the key's inputs as the local record has them,
//                 but the values of a RUN's environment as their sha256: ENV
//                 and build args are the build's, not the registry's readers')
//   layers        [the step's layer, as the image has it]
// Any registry client reads it (skopeo inspect --raw docker://REPO:TAG);
// hoist-push and the registry's cross-repository mounts move its layer.
//
// lookup() runs when the local cache misses: the first repository holding
// the key's record wins. The layer's blob is not fetched then, only checked
// to be there (HEAD): fetch() brings it into the store when the build needs
// its bytes (a later step runs on it, a stage is copied from, the image is
// written). Anything wrong with a repository (missing, unreachable, 5xx, a
// malformed record, a record for another key, a layer that is not there) is
// a miss with one warning per repository and problem, never an error (a
// repository that fails a request is not asked again in that build); a
// layer whose bytes turn out wrong at fetch() is kDigestMismatch, and the
// build starts again without that record (build/executor.cpp).
//
// export_records() pushes the records of a finished build to --cache-to,
// skipping those that came from that repository; failures are warnings.
//
// Thread-compatible.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "build/cache.h"
#include "ref/reference.h"
#include "store/store.h"
#include "transport/open.h"
#include "util/progress.h"
#include "util/result.h"

namespace hoist::build {

inline constexpr std::string_view kCacheTagPrefix = "hoist-cache-v1-";
inline constexpr std::string_view kCacheArtifactType = "application/vnd.hoist.build.cache.v1";
inline constexpr std::string_view kCacheConfigType = "application/vnd.hoist.build.cache.v1+json";

// "REF" or buildx's "type=registry,ref=REF[,...]" -> REF (kUsage otherwise).
Result<std::string> parse_cache_ref(std::string_view text, std::string_view option);

struct RemoteHit {
  CacheRecord record;
  std::string repository;  // "host:5000/team/cache"
};

class RemoteCache {
 public:
  using Warn = std::function<void(const std::string&)>;
  // `from`, `to`: references (a tag or digest in them is ignored).
  static Result<std::unique_ptr<RemoteCache>> open(const transport::RegistryOptions& registry,
                                                   const std::vector<std::string>& from,
                                                   const std::optional<std::string>& to, store::Store& store,
                                                   Warn warn);
  ~RemoteCache();

  bool reads() const { return !from_.empty(); }
  bool writes() const { return to_.has_value(); }

  Result<std::optional<RemoteHit>> lookup(const digest::Digest& key);
  // The blob of a layer lookup() returned, into the store; a no-op when the
  // store has it.
  Result<> fetch(const image::Descriptor& layer);
  // A layer of a base image resolved without pulling it (FROM, when the
  // image is pushed to that registry): fetch() brings it like a hit's.
  void add_lazy(const image::Descriptor& layer, const ref::Reference& image);
  // Whether `layer` came from lookup() or add_lazy() and is not in the store yet.
  bool pending(const digest::Digest& layer) const;
  // pending(), and found on `registry` ("host:5000"): a push there can mount it.
  bool pending_on(const digest::Digest& layer, const std::string& registry) const;
  uint64_t bytes_fetched() const { return bytes_fetched_; }
  // Writes what the lookups learnt to the store in one go: each hit's record
  // (usable by later builds here once its blob is fetched) and which
  // repository holds each layer (a push to another repository of that
  // registry mounts it from there). Call before pushing.
  // Records whose layer is in `bad_layers` are left out.
  Result<> record_hits(const std::set<digest::Digest>& bad_layers);

  struct Export {
    digest::Digest key;
    CacheRecord record;
  };
  // Pushes each record (and its layer, mounted or sent) to --cache-to;
  // returns how many were pushed.
  int export_records(const std::vector<Export>& records, int jobs, ProgressSink& progress);

 private:
  RemoteCache(std::unique_ptr<transport::Registries> regs, std::vector<ref::Reference> from,
              std::optional<ref::Reference> to, store::Store& store, Warn warn);
  void warn_once(const std::string& repo, const std::string& what);

  std::unique_ptr<transport::Registries> regs_;
  std::vector<ref::Reference> from_;
  std::optional<ref::Reference> to_;
  store::Store& store_;
  Warn warn_;
  std::set<std::string> warned_;
  std::set<std::string> probed_;
  std::set<std::string> broken_;  // repositories that failed a lookup (not a 404)  // repositories whose existence was checked
  std::map<digest::Digest, std::pair<image::Descriptor, ref::Reference>> layers_;  // hit layers -> where
  std::set<digest::Digest> from_to_;  // keys whose record came from --cache-to's repository
  std::vector<std::pair<std::string, std::string>> hit_records_;         // key -> Cache::record_text
  std::vector<std::pair<digest::Digest, std::string>> hit_sources_;      // layer -> repository
  uint64_t bytes_fetched_ = 0;
};

}  // namespace hoist::build
