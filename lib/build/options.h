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
  int jobs = 4;                // concurrent hashing and downloads
  std::stop_token stop;
};

struct StepReport {
  int number = 0;
  std::string stage;
  std::string location;     // "Dockerfile:12"
  std::string instruction;  // as written
  bool cached = false;      // served from the cache
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
};

}  // namespace hoist::build
