#include "registry/credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fmt/core.h>
#include <fstream>
#include <sstream>

#include "util/log.h"
#include "util/strings.h"

extern char** environ;

namespace hoist::registry {
namespace {

constexpr size_t kMaxConfigBytes = 4 << 20;
constexpr size_t kMaxHelperOutput = 1 << 20;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string home_dir() {
  std::string h = env("HOME");
  if (!h.empty()) return h;
  if (passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "";
}

// Reads a file; nullopt when it does not exist. Too large or unreadable is an error.
Result<std::optional<std::string>> read_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    return fail(Error::from_errno(errno, fmt::format("cannot read '{}'", path)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > kMaxConfigBytes)
    return fail(Errc::kInvalidArgument, fmt::format("'{}' is larger than 4 MiB", path));
  return std::optional<std::string>(std::move(s));
}

std::string json_string(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// Credentials from one `auths` entry; nullopt when it holds none (docker
// writes empty entries as markers when credsStore keeps the secret).
Result<std::optional<Credential>> entry_credential(const nlohmann::json& e, const std::string& key,
                                                   const std::string& source) {
  if (!e.is_object()) return std::nullopt;
  Credential c;
  std::string auth = json_string(e, "auth");
  if (!auth.empty()) {
    auto decoded = base64_decode(auth);
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (!decoded || colon == std::string::npos)
      return fail(Errc::kInvalidArgument,
                  fmt::format("invalid 'auth' for '{}' in '{}': not base64 of user:password", key, source));
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  } else {
    c.username = json_string(e, "username");
    c.password = json_string(e, "password");
  }
  c.identity_token = json_string(e, "identitytoken");
  if (c.empty()) return std::nullopt;
  return std::optional<Credential>(std::move(c));
}

// What docker-credential helpers are given for a registry.
std::string helper_server_url(std::string_view registry) {
  if (registry == "docker.io") return "https://index.docker.io/v1/";
  return std::string(registry);
}

}  // namespace

Result<Credential> parse_credential(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return fail(Errc::kInvalidArgument, "invalid credentials: expected 'username:password'");
  Credential c;
  c.username = std::string(s.substr(0, colon));
  c.password = std::string(s.substr(colon + 1));
  return c;
}

std::string normalize_registry_key(std::string_view key) {
  std::string k(trim(key));
  bool had_scheme = false;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (k.size() > scheme.size() && to_lower(k.substr(0, scheme.size())) == scheme) {
      k = k.substr(scheme.size());
      had_scheme = true;
    }
  }
  // docker's ConvertToHostname: a URL's path is not part of the key.
  if (had_scheme) k = k.substr(0, k.find('/'));
  while (!k.empty() && k.back() == '/') k.pop_back();
  auto slash = k.find('/');
  std::string host = to_lower(k.substr(0, slash));
  std::string path = slash == std::string::npos ? "" : k.substr(slash);
  if (host == "index.docker.io" || host == "registry-1.docker.io") host = "docker.io";
  return host + path;
}

std::vector<std::string> CredentialStore::default_paths() {
  std::vector<std::string> out;
  if (auto f = env("REGISTRY_AUTH_FILE"); !f.empty()) out.push_back(f);
  if (auto d = env("XDG_RUNTIME_DIR"); !d.empty()) out.push_back(d + "/containers/auth.json");
  std::string home = home_dir();
  if (auto d = env("XDG_CONFIG_HOME"); !d.empty())
    out.push_back(d + "/containers/auth.json");
  else if (!home.empty())
    out.push_back(home + "/.config/containers/auth.json");
  if (auto d = env("DOCKER_CONFIG"); !d.empty())
    out.push_back(d + "/config.json");
  else if (!home.empty())
    out.push_back(home + "/.docker/config.json");
  return out;
}

Result<CredentialStore> CredentialStore::from_environment() { return load(default_paths()); }

Result<CredentialStore> CredentialStore::load(const std::vector<std::string>& paths) {
  CredentialStore store;
  for (const auto& p : paths) {
    auto text = HOIST_TRY(read_config(p));
    if (!text) continue;
    auto one = HOIST_TRY(from_json(*text, p));
    for (auto& f : one.files_) store.files_.push_back(std::move(f));
  }
  return store;
}

Result<CredentialStore> CredentialStore::from_json(std::string_view json_text, std::string source) {
  auto doc = nlohmann::json::parse(json_text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(Errc::kInvalidArgument, fmt::format("cannot parse '{}': not a JSON object", source));
  for (const char* key : {"auths", "credHelpers"}) {
    if (doc.contains(key) && !doc[key].is_object())
      return fail(Errc::kInvalidArgument, fmt::format("cannot parse '{}': '{}' is not an object", source, key));
  }
  CredentialStore store;
  store.files_.push_back({std::move(source), std::move(doc)});
  return store;
}

Result<std::optional<Credential>> CredentialStore::lookup(std::string_view registry,
                                                         std::string_view repository) const {
  std::string host = normalize_registry_key(registry);
  // Keys to try, most specific first: host/a/b/c, host/a/b, host/a, host.
  std::vector<std::string> keys;
  if (!repository.empty()) {
    std::string full = host + "/" + std::string(repository);
    for (;;) {
      keys.push_back(full);
      auto slash = full.rfind('/');
      if (slash == std::string::npos || slash < host.size()) break;
      full.resize(slash);
      if (full == host) break;
    }
  }
  keys.push_back(host);

  for (const auto& f : files_) {
    const auto& doc = f.doc;
    if (auto it = doc.find("credHelpers"); it != doc.end()) {
      for (const auto& [k, v] : it->items()) {
        if (normalize_registry_key(k) == host && v.is_string() && !v.get<std::string>().empty())
          return run_credential_helper(v.get<std::string>(), helper_server_url(host));
      }
    }
    if (auto it = doc.find("auths"); it != doc.end()) {
      for (const auto& want : keys) {
        for (const auto& [k, v] : it->items()) {
          if (normalize_registry_key(k) != want) continue;
          auto c = HOIST_TRY(entry_credential(v, k, f.source));
          if (c) return c;
        }
      }
    }
    std::string store = json_string(doc, "credsStore");
    if (!store.empty()) {
      auto c = HOIST_TRY(run_credential_helper(store, helper_server_url(host)));
      if (c) return c;
    }
  }
  return std::nullopt;
}

Result<std::optional<Credential>> run_credential_helper(std::string_view helper, std::string_view server_url) {
  std::string prog = fmt::format("docker-credential-{}", helper);
  if (helper.find('/') != std::string_view::npos)
    return fail(Errc::kInvalidArgument, fmt::format("invalid credential helper name '{}'", helper));
  // stdin is a socket so that writing to a helper that exited early gives
  // EPIPE (MSG_NOSIGNAL) instead of killing us with SIGPIPE.
  int in[2], out[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0)
    return fail(Error::from_errno(errno, fmt::format("cannot run '{}'", prog)));
  if (pipe2(out, O_CLOEXEC) != 0) {
    int err = errno;
    close(in[0]), close(in[1]);
    return fail(Error::from_errno(err, fmt::format("cannot run '{}'", prog)));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[1], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::string arg0 = prog, arg1 = "get";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, prog.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[1]);
  close(out[1]);
  if (rc != 0) {
    close(in[0]), close(out[0]);
    return fail(Error::from_errno(rc, fmt::format("cannot run credential helper '{}'", prog)));
  }
  std::string input(server_url);
  size_t off = 0;
  while (off < input.size()) {
    ssize_t n = send(in[0], input.data() + off, input.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the helper will tell us through its exit status
    off += size_t(n);
  }
  close(in[0]);
  std::string output;
  char buf[4096];
  for (;;) {
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < kMaxHelperOutput) output.append(buf, size_t(n));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string text(trim(output));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (text.find("credentials not found") != std::string::npos) return std::nullopt;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && text.empty())
      return fail(Errc::kNotFound, fmt::format("cannot run credential helper '{}'", prog));
    return fail(Errc::kIo, fmt::format("credential helper '{}' failed for '{}': {}", prog, server_url,
                                       text.empty() ? "no output" : text));
  }
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Errc::kIo, fmt::format("credential helper '{}' printed something other than a JSON object", prog));
  Credential c;
  std::string user = json_string(j, "Username");
  std::string secret = json_string(j, "Secret");
  if (user == "<token>") {
    c.identity_token = secret;
  } else {
    c.username = user;
    c.password = secret;
  }
  if (c.empty()) return std::nullopt;
  log::debug("credentials for '{}' from '{}'", server_url, prog);
  return std::optional<Credential>(std::move(c));
}

}  // namespace hoist::registry
