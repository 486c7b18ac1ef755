#include "dockerfile/expand.h"

#include <fmt/format.h>

#include "dockerfile/runmount.h"

namespace hoist::dockerfile {

namespace {

// Expands words of one command with one environment, errors located at the command.
class Expander {
 public:
  Expander(const CommandInfo& info, const Lookup& env, char escape, std::set<std::string>* referenced)
      : info_(info), env_(env), referenced_(referenced) {
    opts_.escape = escape;
  }

  Result<> word(std::string& w) const {
    auto r = process_word(w, env_, opts_, referenced_);
    if (!r) return located(r.error());
    w = std::move(*r);
    return {};
  }

  Result<> words(std::vector<std::string>& ws) const {
    for (std::string& w : ws) HOIST_CHECK(word(w));
    return {};
  }

  // ExpandRaw: heredoc bodies, '\' the escape whatever the directive, quotes literal.
  Result<> contents(std::vector<SourceContent>& cs) const {
    LexOptions raw;
    raw.skip_process_quotes = true;
    for (SourceContent& c : cs) {
      if (!c.expand) continue;
      auto r = process_word(c.data, env_, raw, referenced_);
      if (!r) return located(r.error());
      c.data = std::move(*r);
    }
    return {};
  }

  Result<> split(std::vector<std::string>& ws) const {
    std::vector<std::string> out;
    for (const std::string& w : ws) {
      auto r = process_words(w, env_, opts_, referenced_);
      if (!r) return located(r.error());
      out.insert(out.end(), r->begin(), r->end());
    }
    ws = std::move(out);
    return {};
  }

  // Each field value of each mount; "key" fields without '=' are left as they are.
  Result<> mounts(std::vector<std::string>& ms) const {
    for (std::string& m : ms) {
      auto fields = split_csv(m);
      if (!fields) return located(fields.error());
      for (std::string& f : *fields) {
        size_t eq = f.find('=');
        if (eq == std::string::npos) continue;
        std::string value = f.substr(eq + 1);
        HOIST_CHECK(word(value));
        f = f.substr(0, eq + 1) + value;
      }
      m = join_csv(*fields);
    }
    return {};
  }

  std::unexpected<Error> located(const Error& e) const {
    return fail(Errc::kInvalidArgument, fmt::format("{}:{}:1: {}", info_.file, info_.start_line, e.message()));
  }

 private:
  const CommandInfo& info_;
  const Lookup& env_;
  LexOptions opts_;
  std::set<std::string>* referenced_;
};

Result<> expand_pairs(const Expander& x, std::vector<KeyValue>& pairs) {
  for (KeyValue& kv : pairs) {
    HOIST_CHECK(x.word(kv.key));
    HOIST_CHECK(x.word(kv.value));
  }
  return {};
}

}  // namespace

Result<> expand_command(Command& cmd, const Lookup& env, char escape, std::set<std::string>* referenced) {
  const CommandInfo& ci = info(cmd);
  Expander x(ci, env, escape, referenced);
  if (auto* c = std::get_if<EnvCmd>(&cmd)) return expand_pairs(x, c->env);
  if (auto* c = std::get_if<LabelCmd>(&cmd)) return expand_pairs(x, c->labels);
  if (auto* c = std::get_if<CopyCmd>(&cmd)) {
    if (!c->from.empty()) {
      // BuildKit expands --from with an empty environment and refuses any change.
      LexOptions o;
      o.escape = escape;
      auto r = process_word(c->from, empty_lookup(), o);
      if (!r || *r != c->from) {
        return x.located(Error(Errc::kInvalidArgument,
                               "variable expansion is not supported for --from, define a new stage with FROM "
                               "using ARG from global scope as a workaround"));
      }
    }
    HOIST_CHECK(x.word(c->chown));
    HOIST_CHECK(x.word(c->chmod));
    HOIST_CHECK(x.words(c->sources));
    HOIST_CHECK(x.word(c->dest));
    return x.contents(c->contents);
  }
  if (auto* c = std::get_if<AddCmd>(&cmd)) {
    HOIST_CHECK(x.word(c->chown));
    HOIST_CHECK(x.word(c->chmod));
    HOIST_CHECK(x.word(c->checksum));
    HOIST_CHECK(x.words(c->sources));
    HOIST_CHECK(x.word(c->dest));
    return x.contents(c->contents);
  }
  if (auto* c = std::get_if<WorkdirCmd>(&cmd)) return x.word(c->path);
  if (auto* c = std::get_if<UserCmd>(&cmd)) return x.word(c->user);
  if (auto* c = std::get_if<StopsignalCmd>(&cmd)) return x.word(c->signal);
  if (auto* c = std::get_if<VolumeCmd>(&cmd)) return x.words(c->volumes);
  if (auto* c = std::get_if<ExposeCmd>(&cmd)) return x.split(c->ports);
  if (auto* c = std::get_if<RunCmd>(&cmd)) return x.mounts(c->mounts);
  if (auto* c = std::get_if<ArgCmd>(&cmd)) {
    auto resolved = HOIST_TRY(resolve_args(*c, env, empty_lookup(), empty_lookup(), escape, referenced));
    for (size_t i = 0; i < c->args.size(); ++i) c->args[i].value = resolved[i].value;
    return {};
  }
  return {};  // CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER
}

Result<> expand_stage(Stage& stage, const Lookup& global_args, char escape, std::set<std::string>* referenced) {
  Expander x(stage.info, global_args, escape, referenced);
  std::string written = stage.base_name;
  HOIST_CHECK(x.word(stage.base_name));
  if (stage.base_name.empty()) {
    return x.located(Error(Errc::kInvalidArgument, fmt::format("base name ({}) should not be blank", written)));
  }
  return x.word(stage.platform);
}

Result<std::vector<ResolvedArg>> resolve_args(const ArgCmd& arg, const Lookup& env, const Lookup& build_args,
                                              const Lookup& global_args, char escape,
                                              std::set<std::string>* referenced) {
  // Names resolved so far in this instruction shadow `env` for the later defaults.
  Env local;
  Lookup scoped = [&](std::string_view name) -> std::optional<std::string> {
    if (auto v = local.get(name)) return v;
    return env ? env(name) : std::nullopt;
  };
  Expander x(arg.info, scoped, escape, referenced);
  std::vector<ResolvedArg> out;
  for (const ArgDef& def : arg.args) {
    ResolvedArg r{def.key, std::nullopt, false};
    std::optional<std::string> given = build_args ? build_args(def.key) : std::nullopt;
    if (given) {
      r.value = std::move(given);
      r.from_build_arg = true;
    } else if (def.value) {
      std::string v = *def.value;
      HOIST_CHECK(x.word(v));
      r.value = std::move(v);
    } else if (global_args) {
      r.value = global_args(def.key);
    }
    if (r.value) local.set(r.key, *r.value);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace hoist::dockerfile
