#include "build/executor.h"

#include <chrono>
#include <cstdlib>

#include <fmt/core.h>

#include "build/builder.h"
#include "dockerfile/runmount.h"
#include "ref/platform.h"
#include "sys/userns.h"
#include "util/log.h"
#include "util/strings.h"

namespace hoist::build {

namespace detail {

namespace {

using json = nlohmann::json;

bool is_proxy_arg(std::string_view k) {
  for (std::string_view p : kProxyArgs)
    if (k == p) return true;
  return false;
}

}  // namespace

Builder::Builder(const BuildOptions& options, StepProgress& progress, ProgressSink& transfers)
    : o_(options), progress_(progress), transfers_(transfers), hasher_(unsigned(options.jobs > 0 ? options.jobs : 4)) {}

Builder::~Builder() = default;

std::string Builder::created() const {
  if (o_.timestamp_now) return rfc3339(int64_t(std::time(nullptr)));
  return rfc3339(o_.source_date_epoch);
}

int64_t Builder::clamp() const { return o_.timestamp_now ? int64_t(std::time(nullptr)) : o_.source_date_epoch; }

Result<size_t> Builder::stage_ref(std::string_view name, size_t before) const {
  std::string n = to_lower(name);
  for (size_t j = 0; j < before && j < df_.stages.size(); ++j)
    if (!df_.stages[j].name.empty() && df_.stages[j].name == n) return j;
  if (auto idx = parse_u64(name); idx && *idx < before) return size_t(*idx);
  return fail(Errc::kNotFound, "no stage '" + std::string(name) + "'");
}

Result<> Builder::plan() {
  df_ = HOIST_TRY(dockerfile::parse_dockerfile(o_.dockerfile, o_.dockerfile_name));
  for (const auto& w : df_.warnings) {
    std::string msg = fmt::format("{}:{}: {}", o_.dockerfile_name, w.line, w.message);
    progress_.warning(msg);
    warnings_.push_back(msg);
  }
  for (const auto& [k, v] : o_.build_args) build_args_.set(k, v);

  // The platform ARGs, in the global scope without a declaration (BuildKit).
  ref::Platform host = ref::host_platform();
  for (const char* side : {"TARGET", "BUILD"}) {
    global_args_.set(std::string(side) + "PLATFORM", host.str());
    global_args_.set(std::string(side) + "OS", host.os);
    global_args_.set(std::string(side) + "ARCH", host.architecture);
    global_args_.set(std::string(side) + "VARIANT", host.variant);
  }
  for (const auto& arg : df_.global_args) {
    auto resolved = HOIST_TRY(dockerfile::resolve_args(arg, global_args_.lookup(), build_args_.lookup(),
                                                       dockerfile::empty_lookup(), df_.escape));
    for (const auto& r : resolved) {
      used_build_args_.insert(r.key);
      if (r.value) global_args_.set(r.key, *r.value);
    }
  }

  if (df_.stages.empty()) return fail(Errc::kInvalidArgument, o_.dockerfile_name + ": no FROM instruction");
  target_ = df_.stages.size() - 1;
  if (!o_.target.empty()) {
    const dockerfile::Stage* t = df_.find_stage(o_.target);
    if (!t) return fail(Errc::kInvalidArgument, "target stage '" + o_.target + "' could not be found");
    target_ = t->index;
  }

  // The stages the target needs: its base and the stages it copies or mounts
  // from, and theirs.
  stages_.resize(df_.stages.size());
  std::vector<bool> need(df_.stages.size(), false);
  std::vector<size_t> todo{target_};
  while (!todo.empty()) {
    size_t i = todo.back();
    todo.pop_back();
    if (need[i]) continue;
    need[i] = true;
    dockerfile::Stage st = df_.stages[i];
    HOIST_CHECK(dockerfile::expand_stage(st, global_args_.lookup(), df_.escape));
    if (auto j = stage_ref(st.base_name, i)) todo.push_back(*j);
    for (const auto& c : st.commands) {
      if (const auto* cp = std::get_if<dockerfile::CopyCmd>(&c); cp && !cp->from.empty())
        if (auto j = stage_ref(cp->from, i)) todo.push_back(*j);
      if (const auto* run = std::get_if<dockerfile::RunCmd>(&c)) {
        for (const auto& text : run->mounts) {
          auto m = dockerfile::parse_mount(text);  // a bad one fails at its step
          if (m && !m->from.empty())
            if (auto j = stage_ref(m->from, i)) todo.push_back(*j);
        }
      }
    }
  }
  for (size_t i = 0; i < need.size(); ++i) {
    if (!need[i]) continue;
    needed_.push_back(i);
    total_ += 1 + int(df_.stages[i].commands.size());
  }
  return {};
}

void Builder::begin_step(StepInfo& info, const dockerfile::CommandInfo& c, const StageState& s) {
  info.number = ++step_;
  info.total = total_;
  info.stage = s.display;
  info.location = fmt::format("{}:{}", c.file.empty() ? o_.dockerfile_name : c.file, c.start_line);
  info.text = c.original;
  cur_ = StepReport{};
  cur_.number = info.number;
  cur_.stage = info.stage;
  cur_.location = info.location;
  cur_.instruction = info.text;
  progress_.step_started(info);
}

void Builder::end_step(const StepInfo& info, double seconds) {
  cur_.seconds = seconds;
  progress_.step_done(info, seconds);
  reports_.push_back(cur_);
}

Result<> Builder::dispatch(StageState& s, dockerfile::Command cmd, StepInfo& info) {
  auto t0 = std::chrono::steady_clock::now();
  begin_step(info, dockerfile::info(cmd), s);
  auto r = [&]() -> Result<> {
    if (o_.stop.stop_requested()) return fail(Errc::kCancelled, "interrupted");
    if (auto* arg = std::get_if<dockerfile::ArgCmd>(&cmd)) {
      auto resolved = HOIST_TRY(dockerfile::resolve_args(*arg, stage_lookup(s), build_args_.lookup(),
                                                         global_args_.lookup(), df_.escape));
      std::string msg = "ARG";
      for (const auto& a : resolved) {
        used_build_args_.insert(a.key);
        s.declared.insert(a.key);
        if (a.value) {
          s.args.set(a.key, *a.value);
          msg += " " + a.key + "=" + *a.value;
        } else {
          s.args.erase(a.key);
          msg += " " + a.key;
        }
      }
      s.config.history.push_back({created(), msg, "", std::string(kHistoryComment), true});
      return {};
    }
    HOIST_CHECK(dockerfile::expand_command(cmd, stage_lookup(s), df_.escape));
    if (auto* c = std::get_if<dockerfile::RunCmd>(&cmd)) return run_cmd(s, *c, info);
    if (auto* c = std::get_if<dockerfile::CopyCmd>(&cmd)) return copy_cmd(s, *c, info);
    if (auto* c = std::get_if<dockerfile::AddCmd>(&cmd)) return add_cmd(s, *c, info);
    if (auto* c = std::get_if<dockerfile::WorkdirCmd>(&cmd)) return workdir_cmd(s, *c, info);
    auto msg = HOIST_TRY(apply_metadata(s, cmd));
    if (msg) s.config.history.push_back({created(), *msg, "", std::string(kHistoryComment), true});
    return {};
  }();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r) {
    progress_.step_failed(info, r.error().to_string());
    if (r.error().code() == Errc::kCancelled) return r;
    return fail(std::move(r).error().context(info.location + ": " + info.text));
  }
  end_step(info, secs);
  return {};
}

Result<> Builder::run_stage(size_t index) {
  StageState& s = stages_[index];
  const dockerfile::Stage& st = df_.stages[index];
  s.stage = &st;
  s.display = st.name.empty() ? fmt::format("stage-{}", index) : st.name;

  StepInfo from;
  auto t0 = std::chrono::steady_clock::now();
  begin_step(from, st.info, s);
  dockerfile::Stage expanded = st;
  auto r = [&]() -> Result<> {
    HOIST_CHECK(dockerfile::expand_stage(expanded, global_args_.lookup(), df_.escape));
    return init_from_base(s, expanded.base_name, expanded.platform);
  }();
  if (!r) {
    progress_.step_failed(from, r.error().to_string());
    return fail(std::move(r).error().context(from.location + ": " + from.text));
  }
  end_step(from, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  // ONBUILD triggers of the base run first (and are not inherited).
  std::vector<std::string> triggers;
  if (s.config.raw.is_object() && s.config.raw.contains("config") && s.config.raw["config"].is_object()) {
    json& c = s.config.raw["config"];
    if (c.contains("OnBuild") && c["OnBuild"].is_array())
      for (const auto& t : c["OnBuild"])
        if (t.is_string()) triggers.push_back(t.get<std::string>());
    c.erase("OnBuild");
  }
  total_ += int(triggers.size());
  for (const auto& t : triggers) {
    auto cmd = HOIST_TRY_CTX(dockerfile::parse_instruction(t, "ONBUILD", df_.escape),
                             "cannot parse the base image's ONBUILD trigger '" + t + "'");
    StepInfo info;
    HOIST_CHECK(dispatch(s, std::move(cmd), info));
  }
  for (const auto& cmd : st.commands) {
    StepInfo info;
    HOIST_CHECK(dispatch(s, cmd, info));
  }
  s.done = true;
  return {};
}

Result<BuildResult> Builder::run() {
  started_ = std::chrono::steady_clock::now();
  for (const auto& w : o_.warnings) {
    progress_.warning(w);
    warnings_.push_back(w);
  }
  HOIST_CHECK(plan());
  store_dir_ = o_.store_dir.empty() ? store::default_store_dir() : o_.store_dir;
  store_ = HOIST_TRY(store::Store::open(store_dir_));
  snaps_ = std::make_unique<unpack::Snapshots>(store_dir_ + "/snapshots");
  snaps_->remove_stale();
  // Overlay, unless this kernel refuses it in our user namespace (< 5.11),
  // or HOIST_BUILD_SNAPSHOTTER=copy|overlay says otherwise.
  std::string want = std::getenv("HOIST_BUILD_SNAPSHOTTER") ? std::getenv("HOIST_BUILD_SNAPSHOTTER") : "";
  if (want == "copy" || (want != "overlay" && !sys::in_initial_user_namespace() && !overlay_works(*snaps_)))
    snapshotter_ = Snapshotter::kCopy;
  if (snapshotter_ == Snapshotter::kCopy) evict_flat_trees(*snaps_);  // one full tree each: last build's go
  if (snapshotter_ == Snapshotter::kCopy)
    log::info("snapshots: copies (no overlay{}): every step copies its tree",
              want == "copy" ? ": HOIST_BUILD_SNAPSHOTTER=copy" : " in this user namespace on this kernel");
  else
    log::info("snapshots: overlay{}", sys::in_initial_user_namespace() ? "" : " in the user namespace (userxattr)");
  cache_ = std::make_unique<Cache>(*store_, o_.no_cache);
  if (!o_.cache_from.empty() || o_.cache_to || !o_.push_registries.empty()) {
    auto warn = [this](const std::string& m) {
      progress_.warning(m);
      warnings_.push_back(m);
    };
    remote_ = HOIST_TRY(RemoteCache::open(o_.registry, o_.cache_from, o_.cache_to, *store_, warn));
  }
  const int planned_total = total_;
  for (;;) {
    size_t bad = bad_layers_.size();
    auto r = run_once();
    if (r || bad_layers_.size() == bad || r.error().code() == Errc::kCancelled) return r;
    // A registry cache's layer that could not be fetched or unpacked: every
    // record using it is a miss now, and the build starts again (what it
    // made so far is in the local cache).
    std::string msg = "the registry cache gave a bad layer (" + r.error().to_string() +
                      "); building again without it";
    progress_.warning(msg);
    warnings_.push_back(msg);
    stages_.assign(df_.stages.size(), StageState{});
    reports_.clear();
    exports_.clear();
    step_ = 0;
    total_ = planned_total;
  }
}

Result<BuildResult> Builder::run_once() {
  for (size_t i : needed_) HOIST_CHECK(run_stage(i));
  std::vector<std::string> unused;
  for (const auto& [k, v] : build_args_.entries())
    if (!used_build_args_.count(k) && !is_proxy_arg(k)) unused.push_back(k);
  if (!unused.empty()) {
    std::string msg = "one or more build args were not consumed:";
    for (const auto& u : unused) msg += " " + u;
    progress_.warning(msg);
    warnings_.push_back(msg);
  }
  const StageState& target = stages_[target_];
  if (remote_) {
    // The image's layers from a registry cache: into the store, unless a
    // push to that registry will mount them (build/options.h).
    std::vector<image::Descriptor> fetch;
    for (const auto& l : target.layers) {
      if (!remote_->pending(l.digest)) continue;
      bool mounted = !o_.push_registries.empty();
      for (const auto& reg : o_.push_registries)
        if (!remote_->pending_on(l.digest, reg)) mounted = false;
      if (!mounted) fetch.push_back(l);
    }
    HOIST_CHECK(fetch_cached(fetch));
  }
  if (remote_) HOIST_CHECK(remote_->record_hits(bad_layers_));
  auto res = HOIST_TRY(write_image(target));
  if (remote_ && remote_->writes()) {
    res.cache_exported = remote_->export_records(exports_, o_.jobs, transfers_);
    progress_.note(fmt::format("exported {} cache records to '{}'", res.cache_exported, *o_.cache_to));
  }
  if (remote_) res.cache_bytes_fetched = remote_->bytes_fetched();
  // The closing summary (a CI log's last line of the build).
  int cached = 0, ran = 0;
  for (const auto& r : reports_) {
    cached += r.cached;
    ran += r.ran && !r.cached;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  progress_.note(fmt::format("built {} in {:.1f}s: {} steps, {} cached, {} built{}", res.manifest.digest.str(), secs,
                             reports_.size(), cached, ran,
                             warnings_.empty() ? "" : fmt::format(", {} warnings", warnings_.size())));
  res.steps = reports_;
  res.warnings = warnings_;
  return res;
}

}  // namespace detail

Result<BuildResult> build(const BuildOptions& options, StepProgress& progress, ProgressSink& transfers) {
  detail::Builder b(options, progress, transfers);
  return b.run();
}

}  // namespace hoist::build
