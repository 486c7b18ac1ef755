#pragma once
// Internal to lib/build: the state of one build, shared by executor.cpp (the
// plan and the stages), base.cpp (FROM), steps.cpp (RUN, COPY, ADD, WORKDIR),
// metadata.cpp (the instructions that change only the config) and
// image_writer.cpp (config and manifest). Not thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "build/cache.h"
#include "build/content_hash.h"
#include "build/copy.h"
#include "build/options.h"
#include "build/remote_cache.h"
#include "build/run_mounts.h"
#include "build/run_step.h"
#include "util/step_progress.h"
#include "build/source_tree.h"
#include "build/step_root.h"
#include "dockerfile/expand.h"
#include "dockerfile/instructions.h"
#include "image/config.h"
#include "store/store.h"
#include "transport/open.h"
#include "unpack/snapshot.h"
#include "util/progress.h"

namespace hoist::build::detail {

inline constexpr std::string_view kHistoryComment = "hoist.dockerfile.v0";

// Build args any build may pass without an ARG for them (BuildKit's
// defaultArgs): the proxies reach RUN's environment, not the cache key or the
// history.
inline constexpr std::string_view kProxyArgs[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                                  "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                                  "ALL_PROXY",  "all_proxy"};

struct StageState {
  const dockerfile::Stage* stage = nullptr;
  std::string display;            // "builder", or "stage-0"
  image::ImageConfig config;      // the image being made
  std::vector<image::Descriptor> layers;
  dockerfile::Env args;           // ARGs in scope that have a value
  std::set<std::string> declared; // every ARG name in scope
  std::vector<std::string> shell = {"/bin/sh", "-c"};
  bool cmd_set = false;           // CMD seen in this stage (ENTRYPOINT keeps it)
  bool done = false;
};

// The variables an instruction sees: ENV first, then the ARGs in scope.
dockerfile::Lookup stage_lookup(const StageState& s);
// The environment a RUN gets: ENV, then the ARGs in scope ENV does not set.
std::vector<std::string> run_env(const StageState& s);
// BuildKit's history text for a RUN: "|2 A=1 B=2 /bin/sh -c make".
std::string run_command_string(const std::vector<std::string>& argv, const StageState& s);
// CMD/ENTRYPOINT/RUN argv: shell form through the stage's SHELL.
std::vector<std::string> with_shell(const StageState& s, const dockerfile::CommandLine& c);

// Applies an instruction that changes only the config (ENV, LABEL, USER, CMD,
// ENTRYPOINT, EXPOSE, VOLUME, STOPSIGNAL, SHELL, HEALTHCHECK, ONBUILD,
// MAINTAINER) and returns its history text (nullopt: none, as for ONBUILD);
// kInternal for any other instruction. `cmd` is expanded already.
Result<std::optional<std::string>> apply_metadata(StageState& s, const dockerfile::Command& cmd);

// COPY/ADD's destination against WORKDIR (BuildKit's pathRelativeToWorkingDir):
// absolute and cleaned, and whether it names a directory (a trailing '/', ".").
std::pair<std::string, bool> copy_destination(const std::string& workdir, const std::string& dest);
// --chown=user[:group] through the stage's /etc/passwd and /etc/group; a user
// without a group gets the gid equal to its uid (the Dockerfile reference).
Result<Owner> resolve_chown(const std::string& spec, const std::string& rootfs);
// The history text of a COPY or ADD: "COPY --chown=1:1 a b /dst/".
std::string copy_message(const char* keyword, bool parents, const std::string& chown, const std::string& chmod,
                         const std::vector<std::string>& sources,
                         const std::vector<dockerfile::SourceContent>& contents, const std::string& dest);

// WORKDIR's new working directory: `path` against the current one, cleaned.
std::string resolve_workdir(const std::string& current, const std::string& path);

// RFC 3339 of a unix time: "1970-01-01T00:00:00Z".
std::string rfc3339(int64_t unix_seconds);

class Builder {
 public:
  Builder(const BuildOptions& options, StepProgress& progress, ProgressSink& transfers);
  ~Builder();
  Result<BuildResult> run();

 private:
  Result<BuildResult> run_once();
  // A registry cache's layer into the store when a step needs its bytes; a
  // failure marks it bad (the build then starts again without it).
  Result<> fetch_cached(const std::vector<image::Descriptor>& layers);
  // executor.cpp
  Result<> plan();
  Result<> run_stage(size_t index);
  Result<> dispatch(StageState& s, dockerfile::Command cmd, StepInfo& info);
  Result<size_t> stage_ref(std::string_view name, size_t before) const;  // FROM/COPY --from a stage
  void begin_step(StepInfo& info, const dockerfile::CommandInfo& c, const StageState& s);
  void end_step(const StepInfo& info, double seconds);

  // base.cpp: FROM.
  Result<> init_from_base(StageState& s, const std::string& base, const std::string& platform);
  // An image reference, from the store or pulled (per --pull).
  Result<transport::ResolvedImage> image_for(const std::string& ref_text);
  // The snapshots (top first) of `layers` with `diff_ids`, made when missing.
  Result<std::vector<std::string>> lowers(const std::vector<image::Descriptor>& layers,
                                          const std::vector<digest::Digest>& diff_ids);

  // steps.cpp
  Result<> run_cmd(StageState& s, const dockerfile::RunCmd& c, StepInfo& info);
  Result<> copy_cmd(StageState& s, const dockerfile::CopyCmd& c, StepInfo& info);
  Result<> add_cmd(StageState& s, const dockerfile::AddCmd& c, StepInfo& info);
  Result<> workdir_cmd(StageState& s, const dockerfile::WorkdirCmd& c, StepInfo& info);
  // The shared path of every layer-making step: cache lookup by `inputs`
  // ("parent" added here), else `work` on a fresh StepRoot, commit, adopt,
  // cache record; then the layer and its history entry join the stage.
  // `link`: the step's root starts empty (COPY --link).
  Result<> layer_step(StageState& s, StepInfo& info, nlohmann::json inputs, const std::string& created_by,
                      const std::function<Result<>(StepRoot&)>& work, bool link = false);
  Result<SourceTree*> context();
  // run_mounts.cpp: RUN --mount. plan_mounts() parses and resolves c's
  // mounts and sets *key to what they add to the step's cache key;
  // make_mounts() makes them for the RUN on its root (in `scratch`), adding
  // them (and secrets' variables and masks) to *spec.
  Result<std::vector<PlannedMount>> plan_mounts(const StageState& s, const dockerfile::RunCmd& c,
                                                nlohmann::json* key);
  Result<> make_mounts(std::vector<PlannedMount>& plans, const std::string& scratch, RunSpec* spec,
                       HeldMounts* held);
  // What COPY --from or RUN --mount from= names, for a cache key: "stage
  // <ChainID>" or "image <digest>" (an image is pulled or resolved for it).
  Result<std::string> from_key(const std::string& from, size_t stage_index);
  // The tree COPY --from names: a stage's root or an image's.
  Result<std::unique_ptr<ReadOnlyRoot>> from_root(const std::string& from, size_t stage_index,
                                                  std::string* key_part);

  // image_writer.cpp
  Result<BuildResult> write_image(const StageState& s);

  std::string created() const;
  int64_t clamp() const;

  const BuildOptions& o_;
  StepProgress& progress_;
  ProgressSink& transfers_;
  std::unique_ptr<store::Store> store_;
  std::string store_dir_;
  std::unique_ptr<unpack::Snapshots> snaps_;
  Snapshotter snapshotter_ = Snapshotter::kOverlay;
  std::unique_ptr<Cache> cache_;
  std::unique_ptr<RemoteCache> remote_;
  std::vector<RemoteCache::Export> exports_;  // every layer step's record, for --cache-to
  std::set<digest::Digest> remote_layers_;    // layers of registry cache hits
  std::set<digest::Digest> bad_layers_;       // those of them that failed to fetch or unpack
  ContentHasher hasher_;
  std::optional<SourceTree> context_;
  std::unique_ptr<transport::Registries> registries_;
  std::map<std::string, transport::ResolvedImage> images_;  // by the text FROM named

  dockerfile::Dockerfile df_;
  dockerfile::Env global_args_;        // global ARGs with values, and the platform ARGs
  dockerfile::Env build_args_;         // --build-arg, the last of each key
  std::set<std::string> used_build_args_;
  size_t target_ = 0;
  std::vector<size_t> needed_;         // stage indexes, in order
  std::vector<StageState> stages_;     // by index
  int step_ = 0;
  int total_ = 0;
  StepReport cur_;                     // the step under way
  std::chrono::steady_clock::time_point started_;
  std::vector<StepReport> reports_;
  std::vector<std::string> warnings_;
};

}  // namespace hoist::build::detail
