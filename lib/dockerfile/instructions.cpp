#include "dockerfile/instructions.h"

#include <fmt/format.h>

#include <algorithm>

#include "dockerfile/flags.h"
#include "dockerfile/line_parsers.h"
#include "util/strings.h"

namespace hoist::dockerfile {

using detail::FlagValues;

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// One node's parse: the node, its file, and the message shapes.
class Req {
 public:
  Req(const Node& n, std::string_view file) : n_(n), file_(file), name_(upper(n.keyword)) {}

  const Node& node() const { return n_; }
  const std::string& name() const { return name_; }
  const std::vector<std::string>& args() const { return n_.args; }

  std::unexpected<Error> error(std::string_view msg) const {
    return fail(Errc::kInvalidArgument, fmt::format("{}:{}:1: {}", file_, n_.start_line, msg));
  }
  std::unexpected<Error> at_least_one() const { return error(fmt::format("{} requires at least one argument", name_)); }
  std::unexpected<Error> exactly_one() const { return error(fmt::format("{} requires exactly one argument", name_)); }

  Result<FlagValues> flags() const {
    auto f = detail::parse_flags(n_.flags, detail::flag_specs(n_.keyword));
    if (!f) return error(f.error().message());
    return f;
  }

  CommandInfo info() const {
    return CommandInfo{std::string(file_), n_.keyword, n_.original, n_.start_line, n_.end_line, n_.comments};
  }

  // handleJSONArgs: the exec array, or the shell text as one string.
  CommandLine cmdline(const std::vector<std::string>& args) const {
    CommandLine c;
    if (n_.json) {
      c.args = args;
    } else if (!args.empty()) {
      std::string joined;
      for (size_t i = 0; i < args.size(); ++i) joined += (i ? " " : "") + args[i];
      c.args = {joined};
    }
    c.prepend_shell = !n_.json;
    c.files = n_.heredocs;
    return c;
  }

 private:
  const Node& n_;
  std::string_view file_;
  std::string name_;
};

Result<std::vector<KeyValue>> parse_kvps(const Req& r) {
  const auto& a = r.args();
  if (a.empty()) return r.at_least_one();
  if (a.size() % 3 != 0) return r.error(fmt::format("bad input to {}, too many arguments", r.name()));
  std::vector<KeyValue> out;
  for (size_t j = 0; j < a.size(); j += 3) {
    if (a[j].empty()) return r.error(fmt::format("{} names can not be blank", r.name()));
    out.push_back({a[j], a[j + 1], a[j + 2].empty()});
  }
  return out;
}

std::unexpected<Error> no_destination(const Req& r) {
  return r.error(fmt::format(
      "{} requires at least two arguments, but only one was provided. Destination could not be determined",
      r.name()));
}

// parseSourcesAndDest (after the argument count is checked): heredoc words become inline contents.
template <typename T>
Result<> sources_and_dest(const Req& r, T& cmd) {
  const auto& a = r.args();
  auto dest_doc = parse_heredoc_word(a.back());
  if (dest_doc && *dest_doc) return r.error(fmt::format("{} cannot accept a heredoc as a destination", r.name()));
  cmd.dest = a.back();
  for (size_t i = 0; i + 1 < a.size(); ++i) {
    auto doc = parse_heredoc_word(a[i]);
    if (doc && *doc) {
      std::string data;
      bool expand = (*doc)->expand;
      for (const Heredoc& h : r.node().heredocs) {
        if (h.name == (*doc)->name) data = h.content;
      }
      if ((*doc)->chomp) data = chomp_heredoc(data);
      cmd.contents.push_back({(*doc)->name, std::move(data), expand});
    } else {
      cmd.sources.push_back(a[i]);
    }
  }
  return {};
}

Result<int64_t> interval(const Req& r, const FlagValues& f, std::string_view name) {
  std::string v = f.get(name);
  if (v.empty()) return int64_t{0};
  auto d = parse_go_duration(v);
  if (!d) return r.error(fmt::format("--{}: {}", name, d.error().message()));
  if (*d == 0) return int64_t{0};
  if (*d < 1000 * 1000) return r.error(fmt::format("--{} cannot be less than 1ms", name));
  return *d;
}

Result<Command> parse_healthcheck(const Req& r) {
  const auto& a = r.args();
  if (a.empty()) return r.at_least_one();
  HealthcheckCmd cmd{r.info(), {}};
  std::string typ = upper(a[0]);
  std::vector<std::string> rest(a.begin() + 1, a.end());
  auto f = HOIST_TRY(r.flags());
  if (typ == "NONE") {
    if (!rest.empty()) return r.error("HEALTHCHECK NONE takes no arguments");
    cmd.health.test = {typ};
    return cmd;
  }
  if (typ != "CMD") return r.error(fmt::format("unknown type \"{}\" in HEALTHCHECK (try CMD)", typ));
  CommandLine line = r.cmdline(rest);
  if (line.args.empty()) return r.error("missing command after HEALTHCHECK CMD");
  cmd.health.test.push_back(r.node().json ? "CMD" : "CMD-SHELL");
  cmd.health.test.insert(cmd.health.test.end(), line.args.begin(), line.args.end());
  cmd.health.interval_ns = HOIST_TRY(interval(r, f, "interval"));
  cmd.health.timeout_ns = HOIST_TRY(interval(r, f, "timeout"));
  cmd.health.start_period_ns = HOIST_TRY(interval(r, f, "start-period"));
  cmd.health.start_interval_ns = HOIST_TRY(interval(r, f, "start-interval"));
  if (std::string v = f.get("retries"); !v.empty()) {
    std::string_view digits = v;
    bool neg = digits.starts_with('-');
    if (neg || digits.starts_with('+')) digits.remove_prefix(1);
    auto n = parse_u64(digits);
    if (!n || *n > 0x7FFFFFFF) return r.error(fmt::format("invalid value \"{}\" for --retries", v));
    if (neg && *n > 0) return r.error(fmt::format("--retries cannot be negative (-{})", *n));
    cmd.health.retries = static_cast<int>(*n);
  }
  return cmd;
}

Result<Command> parse_onbuild(const Req& r) {
  const Node& n = r.node();
  if (n.sub.empty()) return r.at_least_one();
  HOIST_TRY(r.flags());
  std::string trigger = upper(n.sub.front().command);
  if (trigger == "ONBUILD") return r.error("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger == "MAINTAINER" || trigger == "FROM") {
    return r.error(fmt::format("{} isn't allowed as an ONBUILD trigger", trigger));
  }
  // The original without its leading "ONBUILD" and blanks ((?i)^\s*ONBUILD\s*).
  std::string_view expr = detail::trim_space(n.original);
  if (expr.size() >= 7 && upper(expr.substr(0, 7)) == "ONBUILD") expr.remove_prefix(7);
  while (!expr.empty() && detail::is_space(expr.front())) expr.remove_prefix(1);
  OnbuildCmd cmd{r.info(), std::string(expr)};
  for (const Heredoc& h : n.heredocs) cmd.expression += "\n" + h.content + h.name;
  return cmd;
}

Result<Command> parse_run(const Req& r) {
  auto f = HOIST_TRY(r.flags());
  RunCmd cmd;
  cmd.info = r.info();
  cmd.cmd = r.cmdline(r.args());
  if (cmd.cmd.args.empty()) return r.at_least_one();
  cmd.mounts = f.list("mount");
  cmd.devices = f.list("device");
  cmd.network = f.get("network", "default");
  cmd.security = f.get("security", "sandbox");
  cmd.flags_used = f.used;
  if (cmd.network != "default" && cmd.network != "none" && cmd.network != "host") {
    return r.error(fmt::format("invalid network mode \"{}\"", cmd.network));
  }
  if (cmd.security != "sandbox" && cmd.security != "insecure") {
    return r.error(fmt::format("security \"{}\" is not valid", cmd.security));
  }
  return cmd;
}

Result<Command> parse_copy(const Req& r) {
  if (r.args().size() < 2) return no_destination(r);
  auto f = HOIST_TRY(r.flags());
  CopyCmd cmd;
  cmd.info = r.info();
  HOIST_CHECK(sources_and_dest(r, cmd));
  cmd.from = f.get("from");
  cmd.chown = f.get("chown");
  cmd.chmod = f.get("chmod");
  cmd.link = f.flag("link");
  cmd.parents = f.flag("parents");
  cmd.excludes = f.list("exclude");
  return cmd;
}

Result<Command> parse_add(const Req& r) {
  if (r.args().size() < 2) return no_destination(r);
  auto f = HOIST_TRY(r.flags());
  AddCmd cmd;
  cmd.info = r.info();
  HOIST_CHECK(sources_and_dest(r, cmd));
  cmd.chown = f.get("chown");
  cmd.chmod = f.get("chmod");
  cmd.link = f.flag("link");
  cmd.checksum = f.get("checksum");
  cmd.excludes = f.list("exclude");
  if (f.has("keep-git-dir")) cmd.keep_git_dir = f.flag("keep-git-dir");
  if (f.has("unpack")) cmd.unpack = f.flag("unpack");
  return cmd;
}

Result<Command> parse_arg(const Req& r) {
  if (r.args().empty()) return r.at_least_one();
  HOIST_TRY(r.flags());
  ArgCmd cmd{r.info(), {}};
  for (const std::string& a : r.args()) {
    size_t eq = a.find('=');
    if (eq == std::string::npos) {
      cmd.args.push_back({a, std::nullopt});
      continue;
    }
    if (eq == 0) return r.error("ARG names can not be blank");
    cmd.args.push_back({a.substr(0, eq), a.substr(eq + 1)});
  }
  return cmd;
}

// The single-argument instructions (BuildKit: exactly one argument).
Result<std::string> one_arg(const Req& r) {
  if (r.args().size() != 1) return r.exactly_one();
  HOIST_TRY(r.flags());
  return r.args()[0];
}

Result<Stage> parse_from(const Req& r) {
  const auto& a = r.args();
  Stage st;
  if (a.size() == 3 && to_lower(a[1]) == "as") {
    st.name = to_lower(a[2]);
    bool ok = !st.name.empty() && st.name[0] >= 'a' && st.name[0] <= 'z';
    for (char c : st.name) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
    }
    if (!ok) {
      return r.error(fmt::format(
          "invalid name for build stage: \"{}\", name can't start with a number or contain symbols", a[2]));
    }
  } else if (a.size() != 1) {
    return r.error("FROM requires either one or three arguments");
  }
  auto f = HOIST_TRY(r.flags());
  st.base_name = a[0];
  st.platform = f.get("platform");
  st.info = r.info();
  return st;
}

}  // namespace

const CommandInfo& info(const Command& c) {
  return std::visit([](const auto& x) -> const CommandInfo& { return x.info; }, c);
}

CommandInfo& info(Command& c) {
  return std::visit([](auto& x) -> CommandInfo& { return x.info; }, c);
}

Result<Command> parse_command(const Node& node, std::string_view file_name) {
  Req r(node, file_name);
  const std::string& k = node.keyword;
  if (k == "run") return parse_run(r);
  if (k == "copy") return parse_copy(r);
  if (k == "add") return parse_add(r);
  if (k == "env") {
    HOIST_TRY(r.flags());
    return Command(EnvCmd{r.info(), HOIST_TRY(parse_kvps(r))});
  }
  if (k == "label") {
    HOIST_TRY(r.flags());
    return Command(LabelCmd{r.info(), HOIST_TRY(parse_kvps(r))});
  }
  if (k == "arg") return parse_arg(r);
  if (k == "workdir") return Command(WorkdirCmd{r.info(), HOIST_TRY(one_arg(r))});
  if (k == "user") return Command(UserCmd{r.info(), HOIST_TRY(one_arg(r))});
  if (k == "stopsignal") return Command(StopsignalCmd{r.info(), HOIST_TRY(one_arg(r))});
  if (k == "maintainer") return Command(MaintainerCmd{r.info(), HOIST_TRY(one_arg(r))});
  if (k == "cmd" || k == "entrypoint") {
    HOIST_TRY(r.flags());
    if (k == "cmd") return Command(CmdCmd{r.info(), r.cmdline(node.args)});
    return Command(EntrypointCmd{r.info(), r.cmdline(node.args)});
  }
  if (k == "shell") {
    HOIST_TRY(r.flags());
    if (node.args.empty()) return r.at_least_one();
    if (!node.json) return r.error("SHELL requires the arguments to be in JSON form");
    return Command(ShellCmd{r.info(), node.args});
  }
  if (k == "expose") {
    if (node.args.empty()) return r.at_least_one();
    HOIST_TRY(r.flags());
    ExposeCmd cmd{r.info(), node.args};
    std::sort(cmd.ports.begin(), cmd.ports.end());
    return Command(std::move(cmd));
  }
  if (k == "volume") {
    if (node.args.empty()) return r.at_least_one();
    HOIST_TRY(r.flags());
    VolumeCmd cmd{r.info(), {}};
    for (const std::string& v : node.args) {
      std::string_view t = detail::trim_space(v);
      if (t.empty()) return r.error("VOLUME specified can not be an empty string");
      cmd.volumes.emplace_back(t);
    }
    return Command(std::move(cmd));
  }
  if (k == "healthcheck") return parse_healthcheck(r);
  if (k == "onbuild") return parse_onbuild(r);
  if (k == "from") return r.error("FROM starts a stage: it is not a command");
  return r.error(fmt::format("unknown instruction \"{}\"", node.command));
}

Result<Dockerfile> build_dockerfile(const Ast& ast, std::string_view file_name) {
  Dockerfile df;
  df.escape = ast.escape;
  df.directives = ast.directives;
  df.warnings = ast.warnings;
  for (const Node& n : ast.children) {
    if (n.keyword == "from") {
      Stage st = HOIST_TRY(parse_from(Req(n, file_name)));
      st.index = df.stages.size();
      df.stages.push_back(std::move(st));
      continue;
    }
    Command c = HOIST_TRY(parse_command(n, file_name));
    if (df.stages.empty()) {
      if (auto* a = std::get_if<ArgCmd>(&c)) {
        df.global_args.push_back(std::move(*a));
        continue;
      }
      return Req(n, file_name).error(
          fmt::format("instruction \"{}\" before the first FROM (only ARG may precede FROM)", n.command));
    }
    df.stages.back().commands.push_back(std::move(c));
  }
  if (df.stages.empty()) return fail(Errc::kInvalidArgument, fmt::format("{}: no FROM instruction", file_name));
  return df;
}

Result<Dockerfile> parse_dockerfile(std::string_view text, std::string_view file_name) {
  Ast ast = HOIST_TRY(parse(text, file_name));
  return build_dockerfile(ast, file_name);
}

Result<Command> parse_instruction(std::string_view text, std::string_view file_name, char escape) {
  Ast ast = HOIST_TRY(parse_fragment(text, file_name, escape));
  if (ast.children.size() != 1) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{}: expected one instruction, found {}", file_name, ast.children.size()));
  }
  return parse_command(ast.children.front(), file_name);
}

const Stage* Dockerfile::find_stage(std::string_view name) const {
  std::string want = to_lower(name);
  for (const Stage& s : stages) {
    if (!s.name.empty() && s.name == want) return &s;
  }
  return nullptr;
}

}  // namespace hoist::dockerfile
