// hoist-run: an OCI runtime with runc's command line. A thin driver over
// lib/runtime: parse argv, call, print. Flags end at the first positional
// argument (urfave/cli, as runc), so `exec ID sh -c X` passes -c to sh.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "runtime/container.h"
#include "runtime/spec.h"
#include "sys/file_io.h"
#include "sys/sealed_exe.h"
#include "sys/signals.h"
#include "util/log.h"
#include "util/strings.h"

namespace {

using hoist::Errc;
using hoist::Result;
namespace rt = hoist::runtime;

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct Global {
  std::string root{rt::kDefaultStateRoot};
  std::string log_file;
  std::string log_format = "text";
  bool debug = false;
};

// Parsed flags of one command: name -> values (a bool flag has one "true").
struct Args {
  std::map<std::string, std::vector<std::string>> flags;
  std::vector<std::string> positional;
  bool has(const std::string& f) const { return flags.count(f) != 0; }
  std::string get(const std::string& f, std::string def = "") const {
    auto it = flags.find(f);
    return it == flags.end() ? def : it->second.back();
  }
};

struct FlagSpec {
  const char* name;   // long name
  char short_name;    // 0 for none
  bool takes_value;
};

class UsageError {
 public:
  std::string message;
};

Result<Args> parse_flags(const std::vector<std::string>& argv, size_t from, const std::vector<FlagSpec>& specs) {
  Args a;
  size_t i = from;
  for (; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s == "--") {
      ++i;
      break;
    }
    if (s.size() < 2 || s[0] != '-') break;
    // Go's flag package: -x, --x, -x=v, --x=v, -x v.
    std::string body = s.substr(s[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    if (auto eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    const FlagSpec* found = nullptr;
    for (const auto& f : specs)
      if (body == f.name || (body.size() == 1 && body[0] == f.short_name && f.short_name)) found = &f;
    if (!found) return hoist::fail(Errc::kUsage, "unknown flag '" + s + "'");
    if (found->takes_value) {
      if (!value) {
        if (i + 1 >= argv.size()) return hoist::fail(Errc::kUsage, "flag '" + s + "' needs a value");
        value = argv[++i];
      }
      a.flags[found->name].push_back(*value);
    } else {
      a.flags[found->name].push_back(value.value_or("true"));
    }
  }
  for (; i < argv.size(); ++i) a.positional.push_back(argv[i]);
  return a;
}

Result<std::string> one_id(const Args& a, const char* cmd) {
  if (a.positional.size() != 1)
    return hoist::fail(Errc::kUsage, fmt::format("'{}' requires exactly 1 argument: the container id", cmd));
  return a.positional[0];
}

Result<int> preserve_fds(const Args& a) {
  if (!a.has("preserve-fds")) return 0;
  auto n = hoist::parse_u64(a.get("preserve-fds"));
  if (!n || *n > 65536) return hoist::fail(Errc::kUsage, "invalid --preserve-fds '" + a.get("preserve-fds") + "'");
  return int(*n);
}

Result<int> cmd_create(const Global& g, const Args& a, bool run) {
  std::string id = HOIST_TRY(one_id(a, run ? "run" : "create"));
  rt::RunOptions o;
  o.root = g.root;
  o.id = id;
  o.bundle = a.get("bundle", ".");
  o.pid_file = a.get("pid-file");
  o.console_socket = a.get("console-socket");
  o.no_new_keyring = a.has("no-new-keyring");
  o.preserve_fds = HOIST_TRY(preserve_fds(a));
  o.detach = a.has("detach");
  o.keep = a.has("keep");
  if (!run) {
    HOIST_CHECK(rt::create(o));
    return 0;
  }
  return rt::run(o);
}

Result<int> cmd_start(const Global& g, const Args& a) {
  std::string id = HOIST_TRY(one_id(a, "start"));
  HOIST_CHECK(rt::start(g.root, id));
  return 0;
}

Result<int> cmd_state(const Global& g, const Args& a) {
  std::string id = HOIST_TRY(one_id(a, "state"));
  auto s = HOIST_TRY(rt::state(g.root, id));
  fmt::print("{}\n", rt::state_json(s, 2));
  return 0;
}

Result<int> cmd_kill(const Global& g, const Args& a) {
  if (a.positional.empty() || a.positional.size() > 2)
    return hoist::fail(Errc::kUsage, "'kill' requires 1 or 2 arguments: ID [SIGNAL]");
  int sig = SIGTERM;
  if (a.positional.size() == 2) sig = HOIST_TRY(hoist::sys::parse_signal(a.positional[1]));
  HOIST_CHECK(rt::kill(g.root, a.positional[0], sig, a.has("all")));
  return 0;
}

Result<int> cmd_delete(const Global& g, const Args& a) {
  if (a.positional.empty()) return hoist::fail(Errc::kUsage, "'delete' requires at least 1 argument: the container id");
  for (const auto& id : a.positional) HOIST_CHECK(rt::remove(g.root, id, a.has("force")));
  return 0;
}

Result<int> cmd_list(const Global& g, const Args& a) {
  auto all = HOIST_TRY(rt::list(g.root));
  std::string format = a.get("format", "table");
  if (a.has("quiet")) {
    for (const auto& s : all) fmt::print("{}\n", s.id);
    return 0;
  }
  if (format == "json") {
    auto arr = nlohmann::json::array();
    for (const auto& s : all) arr.push_back(nlohmann::json::parse(rt::state_json(s)));
    fmt::print("{}\n", arr.dump());
    return 0;
  }
  if (format != "table") return hoist::fail(Errc::kUsage, "invalid format '" + format + "'");
  fmt::print("{:<12}{:<10}{:<10}{:<40}{:<32}{}\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
  for (const auto& s : all)
    fmt::print("{:<12}{:<10}{:<10}{:<40}{:<32}{}\n", s.id, s.status == rt::Status::kStopped ? 0 : s.pid,
               rt::status_name(s.status), s.bundle, s.created, s.owner);
  return 0;
}

Result<int> cmd_ps(const Global& g, const Args& a) {
  if (a.positional.empty()) return hoist::fail(Errc::kUsage, "'ps' requires the container id");
  auto pids = HOIST_TRY(rt::pids(g.root, a.positional[0]));
  if (a.get("format", "table") == "json") {
    fmt::print("{}\n", nlohmann::json(pids).dump());
    return 0;
  }
  // Like runc: run ps(1) with the given options (default -ef) and keep the
  // header and the lines of the container's processes.
  std::string cmd = "ps";
  if (a.positional.size() == 1) cmd += " -ef";
  for (size_t i = 1; i < a.positional.size(); ++i) {
    for (char c : a.positional[i])
      if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != ',' && c != '=')
        return hoist::fail(Errc::kUsage, "invalid ps option '" + a.positional[i] + "'");
    cmd += " " + a.positional[i];
  }
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return hoist::fail(hoist::Error::from_errno(errno, "cannot run ps"));
  char line[4096];
  int pid_col = -1;
  bool header = true;
  while (fgets(line, sizeof line, f)) {
    std::string l = line;
    auto cols = hoist::split(hoist::trim(l), ' ');
    std::vector<std::string_view> words;
    for (auto c : cols)
      if (!c.empty()) words.push_back(c);
    if (header) {
      for (size_t i = 0; i < words.size(); ++i)
        if (words[i] == "PID") pid_col = int(i);
      if (pid_col < 0) {
        ::pclose(f);
        return hoist::fail(Errc::kUsage, "ps output has no PID column");
      }
      fmt::print("{}", l);
      header = false;
      continue;
    }
    if (int(words.size()) <= pid_col) continue;
    auto p = hoist::parse_u64(words[size_t(pid_col)]);
    if (p && std::find(pids.begin(), pids.end(), pid_t(*p)) != pids.end()) fmt::print("{}", l);
  }
  ::pclose(f);
  return 0;
}

Result<int> cmd_exec(const Global& g, const Args& a) {
  if (a.positional.empty()) return hoist::fail(Errc::kUsage, "'exec' requires the container id");
  rt::ExecOptions o;
  o.root = g.root;
  o.id = a.positional[0];
  o.detach = a.has("detach");
  o.pid_file = a.get("pid-file");
  o.console_socket = a.get("console-socket");
  o.preserve_fds = HOIST_TRY(preserve_fds(a));
  if (a.has("process")) {
    auto text = HOIST_TRY(hoist::sys::read_file(a.get("process"), 16 << 20));
    o.process = HOIST_TRY(rt::parse_process(text));
  } else {
    if (a.positional.size() < 2) return hoist::fail(Errc::kUsage, "'exec' requires a command");
    o.process = HOIST_TRY(rt::exec_base_process(g.root, o.id));
    o.process.args.assign(a.positional.begin() + 1, a.positional.end());
    o.process.terminal = a.has("tty");
    if (a.has("cwd")) o.process.cwd = a.get("cwd");
    if (a.has("env"))
      for (const auto& e : a.flags.at("env")) {
        auto key = e.substr(0, e.find('='));
        std::erase_if(o.process.env, [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
        o.process.env.push_back(e);
      }
    if (a.has("user")) {
      auto u = a.get("user");
      auto parts = hoist::split(u, ':');
      auto uid = hoist::parse_u64(parts[0]);
      if (!uid || parts.size() > 2) return hoist::fail(Errc::kUsage, "invalid --user '" + u + "' (want UID[:GID])");
      o.process.uid = uint32_t(*uid);
      if (parts.size() == 2) {
        auto gid = hoist::parse_u64(parts[1]);
        if (!gid) return hoist::fail(Errc::kUsage, "invalid --user '" + u + "' (want UID[:GID])");
        o.process.gid = uint32_t(*gid);
      }
    }
    if (a.has("additional-gids")) {
      o.process.additional_gids.clear();
      for (const auto& gstr : a.flags.at("additional-gids")) {
        auto gid = hoist::parse_u64(gstr);
        if (!gid) return hoist::fail(Errc::kUsage, "invalid --additional-gids '" + gstr + "'");
        o.process.additional_gids.push_back(uint32_t(*gid));
      }
    }
    if (a.has("cap")) {
      if (!o.process.capabilities) o.process.capabilities.emplace();
      auto& c = *o.process.capabilities;
      for (const auto& cap : a.flags.at("cap")) {
        c.bounding.push_back(cap);
        c.effective.push_back(cap);
        c.permitted.push_back(cap);
        c.ambient.push_back(cap);
      }
    }
    if (a.has("no-new-privs")) o.process.no_new_privileges = true;
  }
  return rt::exec(o);
}

Result<int> cmd_spec(const Args& a) {
  std::string bundle = a.get("bundle", ".");
  std::string path = bundle + "/config.json";
  if (hoist::sys::exists(path)) return hoist::fail(Errc::kAlreadyExists, "file '" + path + "' exists: remove it first");
  std::string text = rt::default_spec_json(a.has("rootless"), ::getuid(), ::getgid());
  HOIST_CHECK(hoist::sys::write_file_atomic(path, text + "\n", 0644));
  return 0;
}

const char* kUsage = R"(usage: hoist-run [global options] COMMAND [options] ID [args]

Runs OCI bundles (runtime-spec 1.0), with runc's command line.

commands:
  create   create a container (its process waits for start)
  start    start a created container
  run      create and start a container; returns its exit status
  state    print the state of a container (JSON)
  kill     send a signal (default SIGTERM) to the container's init
  delete   delete a stopped container (--force: also a running one)
  exec     run a new process in a running container
  list     list containers
  ps       list the processes of a container
  spec     write a default config.json

global options:
  --root DIR            state directory (default /run/hoist-run)
  --log FILE            write errors and warnings to FILE
  --log-format FORMAT   text or json
  --debug               log debug messages
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  Global g;
  static const std::vector<FlagSpec> kGlobal = {
      {"root", 0, true},     {"log", 0, true},           {"log-format", 0, true}, {"debug", 0, false},
      {"systemd-cgroup", 0, false}, {"rootless", 0, true}, {"criu", 0, true},     {"help", 'h', false},
      {"version", 'v', false}};
  auto ga = parse_flags(args, 1, kGlobal);
  std::vector<std::string> log_lines;
  auto usage = [&](const std::string& m) {
    fmt::print(stderr, "hoist-run: {}\n{}", m, kUsage);
    return kExitUsage;
  };
  if (!ga) return usage(ga.error().to_string());
  if (ga->has("help")) {
    fmt::print("{}", kUsage);
    return 0;
  }
  if (ga->has("version")) {
    fmt::print("hoist-run version 0.1.0\nspec: {}\n", rt::kOciVersion);
    return 0;
  }
  // Rootless: runc's default is $XDG_RUNTIME_DIR/runc; /run is root's.
  if (::geteuid() != 0)
    if (const char* x = ::getenv("XDG_RUNTIME_DIR"); x && *x) g.root = std::string(x) + "/hoist-run";
  g.root = ga->get("root", g.root);
  g.log_file = ga->get("log");
  g.log_format = ga->get("log-format", "text");
  g.debug = ga->has("debug");
  if (g.log_format != "text" && g.log_format != "json") return usage("invalid --log-format '" + g.log_format + "'");
  if (ga->has("systemd-cgroup"))
    return usage("--systemd-cgroup is not supported: use a cgroupfs path");

  // Logs: stderr always; --log FILE too, in logrus text or JSON form (what
  // containerd and podman read back after a failure).
  FILE* log_fp = nullptr;
  if (!g.log_file.empty()) log_fp = ::fopen(g.log_file.c_str(), "ae");
  std::string fmt_kind = g.log_format;
  hoist::log::set_sink(
      [log_fp, fmt_kind](hoist::log::Level lv, std::string_view msg) {
        const char* name = lv == hoist::log::Level::kDebug  ? "debug"
                           : lv == hoist::log::Level::kInfo ? "info"
                           : lv == hoist::log::Level::kWarn ? "warning"
                                                            : "error";
        fmt::print(stderr, "hoist-run: {}: {}\n", name, msg);
        if (!log_fp) return;
        std::string now = rt::rfc3339_now();
        if (fmt_kind == "json")
          fmt::print(log_fp, "{}\n", nlohmann::json{{"level", name}, {"msg", msg}, {"time", now}}.dump());
        else
          fmt::print(log_fp, "time=\"{}\" level={} msg={}\n", now, name, nlohmann::json(msg).dump());
        fflush(log_fp);
      },
      g.debug ? hoist::log::Level::kDebug : hoist::log::Level::kWarn);

  if (ga->positional.empty()) return usage("no command given");
  std::vector<std::string> rest = ga->positional;
  std::string cmd = rest[0];
  static const std::vector<FlagSpec> kCreate = {{"bundle", 'b', true},         {"pid-file", 0, true},
                                                {"console-socket", 0, true},   {"no-pivot", 0, false},
                                                {"no-new-keyring", 0, false},  {"preserve-fds", 0, true},
                                                {"detach", 'd', false},        {"keep", 0, false}};
  static const std::vector<FlagSpec> kExec = {
      {"tty", 't', false},         {"env", 'e', true},           {"cwd", 0, true},       {"user", 'u', true},
      {"process", 'p', true},      {"detach", 'd', false},       {"pid-file", 0, true},  {"console-socket", 0, true},
      {"additional-gids", 'g', true}, {"cap", 'c', true},        {"no-new-privs", 0, false},
      {"preserve-fds", 0, true},   {"process-label", 0, true},   {"apparmor", 0, true}};
  static const std::map<std::string, std::vector<FlagSpec>> kCommands = {
      {"create", kCreate},
      {"run", kCreate},
      {"start", {}},
      {"state", {}},
      {"kill", {{"all", 'a', false}}},
      {"delete", {{"force", 'f', false}}},
      {"exec", kExec},
      {"list", {{"format", 'f', true}, {"quiet", 'q', false}}},
      {"ps", {{"format", 'f', true}}},
      {"spec", {{"rootless", 0, false}, {"bundle", 'b', true}}},
  };
  auto it = kCommands.find(cmd);
  if (it == kCommands.end()) return usage("'" + cmd + "' is not a hoist-run command");
  auto ca = parse_flags(rest, 1, it->second);
  if (!ca) return usage(ca.error().to_string());
  // The commands that clone a container init run from a sealed image of this
  // binary, re-executed here once (CVE-2019-5736; sys/sealed_exe.h).
  if (cmd == "create" || cmd == "run" || cmd == "exec") {
    if (auto sealed = hoist::sys::seal_exe(argv, environ); !sealed) {
      fmt::print(stderr, "hoist-run: error: {}\n", sealed.error().to_string());
      return kExitFailed;
    }
  }

  Result<int> r = [&]() -> Result<int> {
    if (cmd == "create") return cmd_create(g, *ca, false);
    if (cmd == "run") return cmd_create(g, *ca, true);
    if (cmd == "start") return cmd_start(g, *ca);
    if (cmd == "state") return cmd_state(g, *ca);
    if (cmd == "kill") return cmd_kill(g, *ca);
    if (cmd == "delete") return cmd_delete(g, *ca);
    if (cmd == "exec") return cmd_exec(g, *ca);
    if (cmd == "list") return cmd_list(g, *ca);
    if (cmd == "ps") return cmd_ps(g, *ca);
    return cmd_spec(*ca);
  }();
  if (!r) {
    if (r.error().code() == Errc::kUsage) return usage(r.error().to_string());
    fmt::print(stderr, "hoist-run: error: {}\n", r.error().to_string());
    if (log_fp) {
      std::string now = rt::rfc3339_now();
      if (g.log_format == "json")
        fmt::print(log_fp, "{}\n", nlohmann::json{{"level", "error"}, {"msg", r.error().to_string()}, {"time", now}}.dump());
      else
        fmt::print(log_fp, "time=\"{}\" level=error msg={}\n", now, nlohmann::json(r.error().to_string()).dump());
    }
    return kExitFailed;
  }
  return *r;
}
