// The instructions that change only the image config, with BuildKit's
// history texts (dockerfile2llb/convert.go dispatch*), and the small helpers
// about a stage's variables and shell.

#include <algorithm>
#include <ctime>
#include <type_traits>

#include <fmt/core.h>

#include "build/builder.h"
#include "dockerfile/glob.h"
#include "util/strings.h"

namespace hoist::build::detail {

namespace {

using json = nlohmann::json;

// Go's %q of a []string: ["a" "b"].
std::string go_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + dockerfile::go_quote(v[i]);
  return out + "]";
}

// Go's %v of a []string: [a b].
std::string go_plain_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + v[i];
  return out + "]";
}

void set_env(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  for (auto& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      e = key + "=" + value;
      return;
    }
    if (e == key) {
      e = key + "=" + value;
      return;
    }
  }
  env.push_back(key + "=" + value);
}

json& raw_config(StageState& s) {
  if (!s.config.raw.is_object()) s.config.raw = json::object();
  json& c = s.config.raw["config"];
  if (!c.is_object()) c = json::object();
  return c;
}

// "80" -> "80/tcp"; "8000-8002/udp" -> three ports.
Result<std::vector<std::string>> expand_port(const std::string& spec) {
  std::string port = spec, proto = "tcp";
  if (auto slash = spec.find('/'); slash != std::string::npos) {
    port = spec.substr(0, slash);
    proto = to_lower(spec.substr(slash + 1));
  }
  auto bad = [&] { return fail(Errc::kInvalidArgument, "invalid containerPort: " + spec); };
  auto num = [&](std::string_view t) -> std::optional<uint64_t> {
    auto v = parse_u64(t);
    if (!v || *v > 65535) return std::nullopt;
    return v;
  };
  uint64_t lo, hi;
  if (auto dash = port.find('-'); dash != std::string::npos) {
    auto a = num(std::string_view(port).substr(0, dash)), b = num(std::string_view(port).substr(dash + 1));
    if (!a || !b || *b < *a) return bad();
    lo = *a;
    hi = *b;
  } else {
    auto a = num(port);
    if (!a) return bad();
    lo = hi = *a;
  }
  std::vector<std::string> out;
  for (uint64_t p = lo; p <= hi; ++p) out.push_back(fmt::format("{}/{}", p, proto));
  return out;
}

std::string duration_text(int64_t ns) {
  // Go's time.Duration %v, enough for history text.
  if (ns == 0) return "0s";
  if (ns % 1000000000 == 0) return fmt::format("{}s", ns / 1000000000);
  if (ns % 1000000 == 0) return fmt::format("{}ms", ns / 1000000);
  return fmt::format("{}ns", ns);
}

}  // namespace

dockerfile::Lookup stage_lookup(const StageState& s) {
  return [&s](std::string_view name) -> std::optional<std::string> {
    for (const auto& e : s.config.config.env) {
      if (e.size() >= name.size() && e.compare(0, name.size(), name) == 0) {
        if (e.size() == name.size()) return std::string();
        if (e[name.size()] == '=') return e.substr(name.size() + 1);
      }
    }
    return s.args.get(name);
  };
}

std::vector<std::string> run_env(const StageState& s) {
  std::vector<std::string> env = s.config.config.env;
  auto has = [&](const std::string& k) {
    for (const auto& e : env)
      if (e == k || (e.size() > k.size() && e.compare(0, k.size(), k) == 0 && e[k.size()] == '=')) return true;
    return false;
  };
  for (const auto& [k, v] : s.args.entries())
    if (!has(k)) env.push_back(k + "=" + v);
  return env;
}

std::string run_command_string(const std::vector<std::string>& argv, const StageState& s) {
  std::vector<std::string> parts;
  auto lookup = stage_lookup(s);
  for (const auto& [k, v] : s.args.entries()) parts.push_back(k + "=" + lookup(k).value_or(v));
  std::string out;
  if (!parts.empty()) out = fmt::format("|{}", parts.size());
  for (const auto& p : parts) out += " " + p;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::vector<std::string> with_shell(const StageState& s, const dockerfile::CommandLine& c) {
  if (!c.prepend_shell) return c.args;
  std::vector<std::string> out = s.shell;
  std::string joined;
  for (size_t i = 0; i < c.args.size(); ++i) joined += (i ? " " : "") + c.args[i];
  out.push_back(joined);
  return out;
}

std::string resolve_workdir(const std::string& current, const std::string& path) {
  std::string p = path;
  if (p.empty() || p[0] != '/') p = (current.empty() ? std::string("/") : current) + "/" + p;
  std::string clean = dockerfile::clean_path(p);
  return clean.empty() || clean == "." ? "/" : clean;
}

std::string rfc3339(int64_t t) {
  time_t tt = time_t(t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::optional<std::string>> apply_metadata(StageState& s, const dockerfile::Command& cmd) {
  auto& c = s.config.config;
  return std::visit(
      [&](const auto& x) -> Result<std::optional<std::string>> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, dockerfile::EnvCmd>) {
          std::string msg = "ENV";
          for (const auto& kv : x.env) {
            set_env(c.env, kv.key, kv.value);
            msg += " " + kv.key + "=" + kv.value;
          }
          return msg;
        } else if constexpr (std::is_same_v<T, dockerfile::LabelCmd>) {
          std::string msg = "LABEL";
          for (const auto& kv : x.labels) {
            c.labels[kv.key] = kv.value;
            msg += " " + kv.key + "=" + kv.value;
          }
          return msg;
        } else if constexpr (std::is_same_v<T, dockerfile::UserCmd>) {
          c.user = x.user;
          return "USER " + x.user;
        } else if constexpr (std::is_same_v<T, dockerfile::CmdCmd>) {
          c.cmd = with_shell(s, x.cmd);
          c.args_escaped = true;
          s.cmd_set = true;
          return "CMD " + go_list(*c.cmd);
        } else if constexpr (std::is_same_v<T, dockerfile::EntrypointCmd>) {
          c.entrypoint = with_shell(s, x.cmd);
          // An inherited CMD does not survive a new ENTRYPOINT; one set in this stage does.
          if (!s.cmd_set) c.cmd.reset();
          c.args_escaped = true;
          return "ENTRYPOINT " + go_list(*c.entrypoint);
        } else if constexpr (std::is_same_v<T, dockerfile::ExposeCmd>) {
          std::vector<std::string> all;
          for (const auto& p : x.ports) {
            for (auto& q : HOIST_TRY(expand_port(p))) {
              all.push_back(q);
              if (std::find(c.exposed_ports.begin(), c.exposed_ports.end(), q) == c.exposed_ports.end())
                c.exposed_ports.push_back(q);
            }
          }
          std::sort(c.exposed_ports.begin(), c.exposed_ports.end());
          std::string msg = "EXPOSE";
          std::sort(all.begin(), all.end());
          msg += " map[";
          for (size_t i = 0; i < all.size(); ++i) msg += (i ? " " : "") + all[i] + ":{}";
          return msg + "]";
        } else if constexpr (std::is_same_v<T, dockerfile::VolumeCmd>) {
          for (const auto& v : x.volumes) {
            if (v.empty()) return fail(Errc::kInvalidArgument, "VOLUME specified can not be an empty string");
            if (std::find(c.volumes.begin(), c.volumes.end(), v) == c.volumes.end()) c.volumes.push_back(v);
          }
          std::sort(c.volumes.begin(), c.volumes.end());
          return "VOLUME " + go_plain_list(x.volumes);
        } else if constexpr (std::is_same_v<T, dockerfile::StopsignalCmd>) {
          c.stop_signal = x.signal;
          return "STOPSIGNAL " + x.signal;
        } else if constexpr (std::is_same_v<T, dockerfile::ShellCmd>) {
          s.shell = x.shell;
          raw_config(s)["Shell"] = x.shell;
          return "SHELL " + go_plain_list(x.shell);
        } else if constexpr (std::is_same_v<T, dockerfile::HealthcheckCmd>) {
          const auto& h = x.health;
          json j = {{"Test", h.test}};
          if (h.interval_ns) j["Interval"] = h.interval_ns;
          if (h.timeout_ns) j["Timeout"] = h.timeout_ns;
          if (h.start_period_ns) j["StartPeriod"] = h.start_period_ns;
          if (h.start_interval_ns) j["StartInterval"] = h.start_interval_ns;
          if (h.retries) j["Retries"] = h.retries;
          raw_config(s)["Healthcheck"] = j;
          return fmt::format("HEALTHCHECK &{{{} {} {} {} {} {}}}", go_plain_list(h.test), duration_text(h.interval_ns),
                             duration_text(h.timeout_ns), duration_text(h.start_period_ns),
                             duration_text(h.start_interval_ns), h.retries);
        } else if constexpr (std::is_same_v<T, dockerfile::OnbuildCmd>) {
          json& on = raw_config(s)["OnBuild"];
          if (!on.is_array()) on = json::array();
          on.push_back(x.expression);
          return std::optional<std::string>{};  // BuildKit records no history for ONBUILD
        } else if constexpr (std::is_same_v<T, dockerfile::MaintainerCmd>) {
          s.config.author = x.maintainer;
          return "MAINTAINER " + x.maintainer;
        } else {
          return fail(Errc::kInternal, "not a metadata instruction");
        }
      },
      cmd);
}

}  // namespace hoist::build::detail
