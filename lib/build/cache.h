#pragma once
// The build cache: one record per layer-making step (RUN, COPY, ADD,
// WORKDIR), in the store's index under v1/cache/<key> (store/index.h).
//
// A key is the sha256 of a canonical JSON document naming everything the
// step's result depends on, kept in the record as `inputs` so that a person
// (and --metadata-file) can see why a step hit or missed:
//   every step   "kind", "epoch", "format", "ids" (in a user namespace: the
//                ids it maps, BuildOptions::id_map) and "parent": the ChainID of the layers below it
//                (content, not the previous step's key: equal trees below
//                give equal keys whichever steps made them); "" for scratch
//   RUN          the argv as run (SHELL applied), the environment the
//                command sees (ENV and the build args in scope, in order),
//                USER, WORKDIR, --network and the mounts (run_mounts.h says
//                what each type adds: never a secret's value)
//   COPY, ADD    sources and destination as expanded, --from (the source
//                stage's ChainID, or the image's digest), --chown, --chmod,
//                --link, --exclude, --parents, and "content": the digest of
//                what the sources match (paths, types, modes, link targets and
//                file contents; not mtimes, not owners, which COPY resets)
//   WORKDIR      the path and USER
// A hit whose layer blob is no longer in the store is a miss.
//
// Thread-compatible.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "digest/digest.h"
#include "image/descriptor.h"
#include "store/store.h"
#include "util/result.h"

namespace hoist::build {

struct CacheRecord {
  image::Descriptor layer;    // the layer blob
  digest::Digest diff_id;
  nlohmann::json inputs;      // what the key was made of
};

// The key of `inputs` (an object; "kind" and "parent" included).
digest::Digest cache_key(const nlohmann::json& inputs);

class Cache {
 public:
  // disabled (--no-cache): lookups always miss; records are still written.
  Cache(store::Store& store, bool disabled) : store_(store), disabled_(disabled) {}

  // nullopt on a miss, or when the record is unreadable or its blob gone.
  Result<std::optional<CacheRecord>> get(const digest::Digest& key);
  Result<> put(const digest::Digest& key, const CacheRecord& rec);
  // The text put() stores for `rec` (for Index::put_cache_and_sources).
  static std::string record_text(const CacheRecord& rec);

 private:
  store::Store& store_;
  bool disabled_;
};

}  // namespace hoist::build
