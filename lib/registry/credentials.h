#pragma once
// Registry credentials from docker's config.json and containers' auth.json,
// and from docker credential helpers.
//
// Files, first match wins (what podman/skopeo and docker read):
//   $REGISTRY_AUTH_FILE
//   $XDG_RUNTIME_DIR/containers/auth.json
//   $XDG_CONFIG_HOME/containers/auth.json (~/.config/containers/auth.json)
//   $DOCKER_CONFIG/config.json, else ~/.docker/config.json
// Within one file: credHelpers[host] names a helper; else an `auths` entry
// with credentials; else credsStore names a helper. `auths` keys are a host
// ("quay.io", "localhost:5000"), a host with a repository namespace
// ("quay.io/org", most specific wins, as containers-auth.json allows) or a
// URL ("https://index.docker.io/v1/" means docker.io). Entries hold base64
// "user:password" in `auth`, or `username`/`password`, and may hold an
// `identitytoken` (an OAuth2 refresh token).
//
// A helper runs as `docker-credential-NAME get` (found in PATH, no shell) with
// the server URL on stdin ("https://index.docker.io/v1/" for docker.io, else
// the host), and prints {"ServerURL","Username","Secret"}; Username "<token>"
// means Secret is an identity token. "credentials not found" is no match.
//
// Thread-safe after construction (lookups only read; helpers run per call).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace hoist::registry {

struct Credential {
  std::string username;
  std::string password;
  std::string identity_token;  // OAuth2 refresh token (docker login to an OAuth server)

  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
  bool operator==(const Credential&) const = default;
};

// "user:pass" (as --creds takes it; the password may contain ':'). A missing
// ':' is kInvalidArgument.
Result<Credential> parse_credential(std::string_view user_colon_pass);

// Normalises an `auths` key or registry name: scheme and a legacy "/v1/" path
// dropped, "index.docker.io" and "registry-1.docker.io" read as "docker.io".
std::string normalize_registry_key(std::string_view key);

class CredentialStore {
 public:
  CredentialStore() = default;  // empty: never finds anything

  // Reads the files listed above that exist. A file that exists but does not
  // parse is kInvalidArgument naming it.
  static Result<CredentialStore> from_environment();
  // Reads `paths` in order; missing files are skipped.
  static Result<CredentialStore> load(const std::vector<std::string>& paths);
  // One config document (tests, and callers that hold the JSON already).
  static Result<CredentialStore> from_json(std::string_view json_text, std::string source = "<memory>");

  // The default file list above, for messages and hoist-login.
  static std::vector<std::string> default_paths();

  // Credentials for `registry` ("docker.io", "host:5000"), optionally for one
  // repository ("library/busybox") so namespaced auth.json keys can match.
  // nullopt when nothing matches. Errors come from a helper that failed
  // (kNotFound when its binary is missing, kIo otherwise).
  Result<std::optional<Credential>> lookup(std::string_view registry, std::string_view repository = {}) const;

 private:
  struct File {
    std::string source;
    nlohmann::json doc;
  };
  std::vector<File> files_;
};

// Runs `docker-credential-<helper> get` for `server_url`. nullopt when the
// helper reports the credentials are not found.
Result<std::optional<Credential>> run_credential_helper(std::string_view helper, std::string_view server_url);

}  // namespace hoist::registry
