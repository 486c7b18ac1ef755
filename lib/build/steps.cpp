// The instructions that make layers: RUN, COPY, ADD and WORKDIR, all through
// Builder::layer_step (cache lookup, then the work on a StepRoot, commit,
// snapshot, cache record).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include "build/builder.h"
#include "build/copy.h"
#include "build/layer.h"
#include "build/run_step.h"
#include "bundle/user.h"
#include "dockerfile/glob.h"
#include "sys/file_io.h"
#include "sys/openat2.h"
#include "util/strings.h"

namespace hoist::build::detail {

namespace {
using json = nlohmann::json;
}  // namespace

// COPY/ADD destination against WORKDIR (BuildKit's pathRelativeToWorkingDir):
// absolute and cleaned; a trailing '/' (or "." / "") says "a directory".
std::pair<std::string, bool> copy_destination(const std::string& workdir, const std::string& dest) {
  bool dir = dest.empty() || dest == "." || dest.back() == '/' || (dest.size() >= 2 && dest.ends_with("/."));
  std::string p = dest;
  if (p.empty() || p[0] != '/') p = (workdir.empty() ? std::string("/") : workdir) + "/" + p;
  std::string clean = dockerfile::clean_path(p);
  if (clean.empty() || clean == ".") clean = "/";
  return {clean, dir || clean == "/"};
}

// --chown=user[:group] through the stage's /etc/passwd and /etc/group; a user
// without a group gets the gid equal to its uid (the Dockerfile reference).
Result<Owner> resolve_chown(const std::string& spec, const std::string& rootfs) {
  auto root = HOIST_TRY(sys::open_file(rootfs, O_PATH | O_DIRECTORY));
  bool has_group = spec.find(':') != std::string::npos;
  auto u = HOIST_TRY_CTX(bundle::resolve_user_in_rootfs(spec, root), "--chown=" + spec);
  return Owner{u.uid, has_group ? u.gid : u.uid};
}

std::string copy_message(const char* kw, bool parents, const std::string& chown, const std::string& chmod,
                         const std::vector<std::string>& sources, const std::vector<dockerfile::SourceContent>& contents,
                         const std::string& dest) {
  std::string m = kw;
  if (parents) m += " --parents";
  if (!chown.empty()) m += " --chown=" + chown;
  if (!chmod.empty()) m += " --chmod=" + chmod;
  for (const auto& s : sources) m += " " + s;
  for (const auto& c : contents) m += " <<" + c.path;
  return m + " " + dest;
}

Result<SourceTree*> Builder::context() {
  if (!context_) {
    dockerfile::IgnoreMatcher ignore;
    if (o_.ignore_text) ignore = HOIST_TRY(dockerfile::IgnoreMatcher::parse(*o_.ignore_text, o_.ignore_name));
    context_ = HOIST_TRY(SourceTree::open(o_.context_dir, "build context", std::move(ignore)));
  }
  return &*context_;
}

Result<std::string> Builder::from_key(const std::string& from, size_t stage_index) {
  if (auto j = stage_ref(from, stage_index)) {
    const StageState& st = stages_[*j];
    if (!st.done) return fail(Errc::kInvalidArgument, "stage '" + from + "' is not built before this one");
    auto chain = unpack::chain_ids(st.config.rootfs.diff_ids);
    return "stage " + (chain.empty() ? std::string("scratch") : chain.back().str());
  }
  auto img = HOIST_TRY(image_for(from));
  return "image " + img.manifest_desc.digest.str();
}

Result<std::unique_ptr<ReadOnlyRoot>> Builder::from_root(const std::string& from, size_t stage_index,
                                                         std::string* key_part) {
  if (auto j = stage_ref(from, stage_index)) {
    const StageState& st = stages_[*j];
    if (!st.done) return fail(Errc::kInvalidArgument, "stage '" + from + "' is not built before this one");
    auto chain = unpack::chain_ids(st.config.rootfs.diff_ids);
    *key_part = "stage " + (chain.empty() ? std::string("scratch") : chain.back().str());
    auto l = HOIST_TRY(lowers(st.layers, st.config.rootfs.diff_ids));
    return ReadOnlyRoot::open(*snaps_, l, snapshotter_);
  }
  auto img = HOIST_TRY(image_for(from));
  *key_part = "image " + img.manifest_desc.digest.str();
  auto l = HOIST_TRY(lowers(img.manifest.layers, img.config.rootfs.diff_ids));
  return ReadOnlyRoot::open(*snaps_, l, snapshotter_);
}

Result<> Builder::layer_step(StageState& s, StepInfo& info, json inputs, const std::string& created_by,
                             const std::function<Result<>(StepRoot&)>& work, bool link) {
  auto chain = unpack::chain_ids(s.config.rootfs.diff_ids);
  inputs["parent"] = link || chain.empty() ? std::string() : chain.back().str();
  // The layer's bytes depend on these too: file mtimes are clamped to the
  // epoch (heredocs and downloads get it), and the format names its media type.
  inputs["epoch"] = o_.timestamp_now ? json("now") : json(o_.source_date_epoch);
  inputs["format"] = o_.format == ImageFormat::kDocker ? "docker" : "oci";
  if (!o_.id_map.empty()) inputs["ids"] = o_.id_map;
  digest::Digest key = cache_key(inputs);
  cur_.cache_key = key.str();
  image::Descriptor layer;
  digest::Digest diff_id;
  cur_.inputs = inputs.dump();
  auto hit = HOIST_TRY(cache_->get(key));
  if (hit) cur_.cache_source = "local";
  if (!hit && remote_ && remote_->reads() && !o_.no_cache) {
    if (auto r = HOIST_TRY(remote_->lookup(key)); r && !bad_layers_.contains(r->record.layer.digest)) {
      hit = r->record;
      cur_.cache_source = r->repository;
      remote_layers_.insert(r->record.layer.digest);  // recorded locally at the end (RemoteCache::record_hits)
    }
  }
  if (hit && bad_layers_.contains(hit->layer.digest)) hit.reset();
  if (hit) {
    layer = hit->layer;
    diff_id = hit->diff_id;
    cur_.cached = true;
    progress_.step_cached(info);
    exports_.push_back({key, *hit});
  } else {
    cur_.cache_source.clear();
    if (o_.no_cache) {
      cur_.cache_miss = "--no-cache";
    } else {
      cur_.cache_miss = "no record of this key in the store";
      for (const auto& r : o_.cache_from) cur_.cache_miss += ", nor in " + r;
      cur_.cache_miss += " (cacheInputs: what it is made of)";
    }
    std::vector<std::string> lower;
    if (!link) lower = HOIST_TRY(lowers(s.layers, s.config.rootfs.diff_ids));
    auto root = HOIST_TRY(StepRoot::mount(*snaps_, lower, snapshotter_));
    HOIST_CHECK(work(*root));
    HOIST_CHECK(root->unmount());
    LayerOptions lo;
    lo.clamp_mtime = clamp();
    lo.format = o_.format;
    auto made = HOIST_TRY(commit_layer(*store_, root->upper(), lo));
    std::vector<digest::Digest> ids = s.config.rootfs.diff_ids;
    ids.push_back(made.diff_id);
    // link: the layer stands on its own, but its snapshot is the same tree.
    (void)HOIST_TRY(root->adopt(*snaps_, unpack::chain_ids(ids).back(), !link));
    CacheRecord rec{made.blob, made.diff_id, inputs};
    HOIST_CHECK(cache_->put(key, rec));
    exports_.push_back({key, rec});
    layer = made.blob;
    diff_id = made.diff_id;
    cur_.ran = true;
  }
  cur_.layer = layer.digest.str();
  s.layers.push_back(layer);
  s.config.rootfs.diff_ids.push_back(diff_id);
  s.config.history.push_back({created(), created_by, "", std::string(kHistoryComment), false});
  return {};
}

Result<> Builder::run_cmd(StageState& s, const dockerfile::RunCmd& c, StepInfo& info) {
  json mounts_key;
  auto mounts = HOIST_TRY(plan_mounts(s, c, &mounts_key));
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> heredoc_files;
  const auto& files = c.cmd.files;
  if (!files.empty() && c.cmd.prepend_shell) {
    std::string first = c.cmd.args.empty() ? std::string() : std::string(trim(c.cmd.args[0]));
    bool only_heredoc = files.size() == 1 && first.starts_with("<<") && first.find(' ') == std::string::npos;
    if (only_heredoc) {
      std::string body = files[0].chomp ? dockerfile::chomp_heredoc(files[0].content) : files[0].content;
      if (body.starts_with("#!")) {
        // A script with its own interpreter: run as a file, as BuildKit does.
        // The kernel's own reading of "#!": the interpreter, then everything
        // after it as one argument, then the script (the runtime looks the
        // executable up in the rootfs, where /dev/pipes is not yet mounted).
        std::string path = "/dev/pipes/" + files[0].name;
        heredoc_files.emplace_back(path, body);
        std::string line(trim(std::string_view(body).substr(2, body.find('\n') - 2)));
        auto sp = line.find_first_of(" \t");
        argv = {line.substr(0, sp)};
        if (sp != std::string::npos && !trim(line.substr(sp)).empty()) argv.emplace_back(trim(line.substr(sp)));
        argv.push_back(path);
      } else {
        argv = s.shell;
        argv.push_back(body);
      }
    } else {
      // The shell reads the heredocs itself: the line, then each body and its delimiter.
      std::string script = c.cmd.args.empty() ? std::string() : c.cmd.args[0];
      for (const auto& f : files) {
        script += "\n" + f.content;
        if (!script.ends_with("\n")) script += "\n";
        script += f.name;
      }
      argv = s.shell;
      argv.push_back(script);
    }
  } else {
    argv = with_shell(s, c.cmd);
  }
  RunSpec spec;
  spec.args = argv;
  spec.files = heredoc_files;
  spec.env = run_env(s);
  for (std::string_view p : kProxyArgs)
    if (auto v = build_args_.get(p)) spec.env.push_back(std::string(p) + "=" + *v);
  spec.user = s.config.config.user;
  spec.workdir = s.config.config.working_dir.empty() ? "/" : s.config.config.working_dir;
  spec.network_none = c.network == "none" || (c.network == "default" && o_.network_none);
  json scripts = json::array();
  for (const auto& [path, body] : heredoc_files) scripts.push_back({path, digest::sha256_of(body).str()});
  json inputs = {{"kind", "run"},      {"argv", argv},  {"scripts", scripts},          {"env", run_env(s)}, {"user", spec.user},
                 {"workdir", spec.workdir}, {"network", spec.network_none ? "none" : "host"}};
  if (!mounts.empty()) inputs["mounts"] = mounts_key;
  std::string created_by = "RUN " + run_command_string(argv, s);
  return layer_step(s, info, inputs, created_by, [&](StepRoot& root) -> Result<> {
    HeldMounts held;
    RunSpec run = spec;  // a cache hit never sees the secrets
    HOIST_CHECK(make_mounts(mounts, root.scratch(), &run, &held));
    std::vector<std::string> targets;
    for (const auto& m : run.mounts) targets.push_back(m.destination);
    auto missing = missing_mount_points(root.merged(), targets);
    auto on_line = [&](std::string_view line) { progress_.step_output(info, line); };
    auto res = HOIST_TRY(run_step(root.merged(), root.scratch(), run, on_line, o_.stop));
    if (res.exit_code != 0) {
      std::string argv_text;
      for (const auto& a : argv) argv_text += (argv_text.empty() ? "" : " ") + a;
      std::string msg = fmt::format("process \"{}\" did not complete successfully: exit code: {}", argv_text,
                                    res.exit_code);
      if (!res.tail.empty()) {
        msg += "\nlast lines of its output:";
        for (const auto& l : res.tail) msg += "\n  | " + l;
      }
      return fail(Errc::kInternal, msg);
    }
    HOIST_CHECK(root.unmount());
    // The copy snapshotter keeps merged as the next flat tree: without them too.
    HOIST_CHECK(clean_mount_points(root.merged(), missing));
    return clean_mount_points(root.upper(), missing);
  });
}

Result<> Builder::copy_cmd(StageState& s, const dockerfile::CopyCmd& c, StepInfo& info) {
  size_t nsrc = c.sources.size() + c.contents.size();
  auto [dest, dest_dir] = copy_destination(s.config.config.working_dir, c.dest);
  if (nsrc > 1 && !dest_dir)
    return fail(Errc::kInvalidArgument,
                "when using COPY with more than one source file, the destination must be a directory and end with a /");
  std::unique_ptr<ReadOnlyRoot> from;
  std::optional<SourceTree> from_tree;
  SourceTree* tree;
  std::string from_key;
  if (!c.from.empty()) {
    from = HOIST_TRY(from_root(c.from, s.stage->index, &from_key));
    from_tree = HOIST_TRY(SourceTree::open(from->path(), "'--from=" + c.from + "'"));
    tree = &*from_tree;
  } else {
    tree = HOIST_TRY(context());
  }
  CopyOptions copts;
  if (!c.chmod.empty()) copts.chmod = HOIST_TRY(parse_chmod(c.chmod));
  copts.parents = c.parents;
  copts.excludes = HOIST_TRY(dockerfile::IgnoreMatcher::from_patterns(c.excludes));
  std::vector<std::string> matched;
  for (const auto& src : c.sources) {
    if (dockerfile::has_glob_meta(src)) {
      auto m = tree->match(src);
      if (!m) {
        if (m.error().code() == Errc::kNotFound) continue;  // BuildKit: an empty wildcard is no error
        return fail(std::move(m).error());
      }
      for (auto& x : *m) matched.push_back(std::move(x));
    } else {
      for (auto& x : HOIST_TRY(tree->match(src))) matched.push_back(std::move(x));
    }
  }
  if (matched.size() > 1) dest_dir = true;
  auto content = HOIST_TRY(hasher_.digest(*tree, matched, copts.excludes));
  json heredocs = json::array();
  for (const auto& h : c.contents) heredocs.push_back({h.path, digest::sha256_of(h.data).str()});
  json inputs = {{"kind", "copy"},   {"sources", c.sources},   {"dest", dest},         {"destIsDir", dest_dir},
                 {"from", from_key}, {"chown", c.chown},       {"chmod", c.chmod},     {"link", c.link},
                 {"excludes", c.excludes}, {"parents", c.parents}, {"content", content.str()}, {"heredocs", heredocs}};
  std::string created_by = copy_message("COPY", c.parents, c.chown, c.chmod, c.sources, c.contents, c.dest);
  return layer_step(s, info, inputs, created_by, [&](StepRoot& root) -> Result<> {
    if (!c.chown.empty()) copts.chown = HOIST_TRY(resolve_chown(c.chown, root.merged()));
    auto droot = HOIST_TRY(sys::open_file(root.merged(), O_PATH | O_DIRECTORY));
    bool into_dir = dest_dir || is_dir_in_root(droot, dest);
    (void)HOIST_TRY(copy_sources(*tree, matched, droot, dest, into_dir, copts));
    for (const auto& h : c.contents) {
      std::string target = into_dir ? (dest == "/" ? "/" + h.path : dest + "/" + h.path) : dest;
      HOIST_CHECK(write_file_into(droot, target, h.data, copts, clamp()));
    }
    return {};
  }, c.link);
}

Result<> Builder::workdir_cmd(StageState& s, const dockerfile::WorkdirCmd& c, StepInfo& info) {
  std::string wd = resolve_workdir(s.config.config.working_dir, c.path);
  s.config.config.working_dir = wd;
  if (wd == "/") {
    s.config.history.push_back({created(), "WORKDIR /", "", std::string(kHistoryComment), true});
    return {};
  }
  std::string user = s.config.config.user;
  json inputs = {{"kind", "workdir"}, {"path", wd}, {"user", user}};
  return layer_step(s, info, inputs, "WORKDIR " + wd, [&](StepRoot& root) -> Result<> {
    auto rfd = HOIST_TRY(sys::open_file(root.merged(), O_PATH | O_DIRECTORY));
    if (sys::open_in_root(rfd, wd, O_PATH | O_DIRECTORY)) return {};  // there already
    Owner own;
    if (!user.empty()) {
      auto u = HOIST_TRY_CTX(bundle::resolve_user_in_rootfs(user, rfd), "WORKDIR");
      own = {u.uid, u.gid};
    }
    // mkdir -p, each directory made here owned by USER (BuildKit's WithUser).
    std::string cur = "/";
    std::string rest = wd.substr(1);  // split() points into it
    for (auto part : split(rest, '/')) {
      std::string next = cur == "/" ? "/" + std::string(part) : cur + "/" + std::string(part);
      if (!sys::open_in_root(rfd, next, O_PATH | O_DIRECTORY)) {
        auto parent = HOIST_TRY(sys::open_in_root(rfd, cur, O_PATH | O_DIRECTORY));
        std::string name(part);
        if (::mkdirat(parent.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
          return fail(Error::from_errno(errno, "cannot create '" + next + "'"));
        if (::fchownat(parent.get(), name.c_str(), own.uid, own.gid, AT_SYMLINK_NOFOLLOW) != 0)
          return fail(Error::from_errno(errno, "cannot chown '" + next + "'"));
      }
      cur = next;
    }
    return {};
  });
}

}  // namespace hoist::build::detail
