#pragma once
// What a build is asked to do (hoist-build's options) and what it reports.

#include <cstdint>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "image/descriptor.h"
#include "ref/platform.h"
#include "transport/open.h"

namespace hoist::build {

enum class PullPolicy : uint8_t { kMissing, kAlways, kNever };
enum class ImageFormat : uint8_t { kOci, kDocker };

// The default SOURCE_DATE_EPOCH: builds are reproducible without any flag.
// Every time the build writes (config "created", history, the mtimes of the
// files in the layers it makes, clamped) is this, 1970-01-01T00:00:00Z, unless
// SOURCE_DATE_EPOCH or --source-date-epoch says otherwise, or --timestamp now.
inline constexpr int64_t kDefaultSourceDateEpoch = 0;

struct BuildOptions {
  std::string context_dir = ".";
  std::string dockerfile;                      // the text
  std::string dockerfile_name = "Dockerfile";  // for messages: "Dockerfile:12: ..."
  std::optional<std::string> ignore_text;      // .dockerignore, when there is one
  std::string ignore_name = ".dockerignore";
  // --build-arg K=V in order; a later one for the same key wins.
  std::vector<std::pair<std::string, std::string>> build_args;
  std::string target;                          // --target; "" = the last stage
  std::map<std::string, std::string> labels;   // --label, over the Dockerfile's
  bool no_cache = false;
  PullPolicy pull = PullPolicy::kMissing;
  ImageFormat format = ImageFormat::kOci;
  bool network_none = false;
  int64_t source_date_epoch = kDefaultSourceDateEpoch;
  bool timestamp_now = false;  // --timestamp now: the wall clock, not reproducible
  std::string store_dir;       // "" = the default store
  transport::RegistryOptions registry;  // for pulling bases (FROM, COPY --from=image)
  // --secret: id -> value, for RUN --mount=type=secret (never in a layer, a
  // cache key, the history or the output).
  std::map<std::string, std::string> secrets;
  // The registry cache (build/remote_cache.h): repositories to read records
  // from when the local cache misses, and one to write every step's to.
  std::vector<std::string> cache_from;
  std::optional<std::string> cache_to;
  // Registries the image will be pushed to (--push): a layer found in a
  // registry cache on the same registry is mounted there by the push, so it
  // is not downloaded unless a step needs its bytes.
  std::vector<std::string> push_registries;
  // The ids a build in a user namespace can give files ("uid 0-65536, gid
  // 0-65536"; "" on the host: all). Part of every layer step's key: a build
  // that maps fewer ids may make other layers (owners it cannot set are 0),
  // and must not serve them to, or take them from, one that maps more.
  std::string id_map;
  // Warnings of the caller's to report as the build's own (printed with the
  // steps, in the result): an unprivileged build's limits.
  std::vector<std::string> warnings;
  int jobs = 4;                // concurrent hashing and downloads
  std::stop_token stop;
};

struct StepReport {
  int number = 0;
  std::string stage;
  std::string location;     // "Dockerfile:12"
  std::string instruction;  // as written
  bool cached = false;      // served from the cache
  std::string cache_source; // "local", or the registry cache's repository
  std::string inputs;       // the cache key's inputs, a JSON object's text ("" without a key)
  std::string cache_miss;   // why a step with a key was built: "--no-cache", "no record of this key in ..."
  bool ran = false;         // did work (ran, copied, made a layer)
  double seconds = 0;
  std::string cache_key;    // "sha256:..", "" for metadata instructions
  std::string layer;        // the layer's digest when the step made one
};

struct BuildResult {
  image::Descriptor manifest;  // in the store, recorded without a name
  image::Descriptor config;
  std::vector<StepReport> steps;
  std::vector<std::string> warnings;
  int cache_exported = 0;       // records pushed to --cache-to
  uint64_t cache_bytes_fetched = 0;  // layer bytes downloaded from --cache-from
};

}  // namespace hoist::build
