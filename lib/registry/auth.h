#pragma once
// Registry authentication: bearer tokens (distribution token spec, docker's
// auth/token.md and oauth.md) and basic auth.
//
// A token is fetched from the challenge's realm with its service and the
// scopes the operation needs ("repository:library/busybox:pull"): GET
// realm?service=S&scope=A&scope=B, sending basic credentials when we have
// them (anonymous otherwise); with an identity token, POST the OAuth2 form
// grant_type=refresh_token instead. Tokens are cached per (registry, scopes)
// until shortly before they expire.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/client.h"
#include "http/retry.h"
#include "registry/challenge.h"
#include "registry/credentials.h"
#include "util/result.h"

namespace hoist::registry {

// Thread-safe. Keys are opaque strings built by the caller (registry + scopes).
class TokenCache {
 public:
  using Clock = std::chrono::steady_clock;

  // The process-wide cache RegistryClient uses unless given another.
  static std::shared_ptr<TokenCache> process();

  std::optional<std::string> get(const std::string& key) const;
  void put(const std::string& key, std::string token, Clock::time_point expires);
  // Drops `key` only while it still maps to `token` (another thread may have
  // refreshed it already).
  void erase(const std::string& key, const std::string& token);

 private:
  struct Entry {
    std::string token;
    Clock::time_point expires;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

struct Token {
  std::string token;
  std::chrono::seconds expires_in{60};
};

// Parses a token endpoint's JSON: "token" or "access_token"; "expires_in"
// (seconds, default and minimum 60). kInvalidArgument when neither token is there.
Result<Token> parse_token_response(std::string_view body);

// "Basic base64(user:password)".
std::string basic_authorization(const Credential& c);

struct TokenRequest {
  std::string realm;    // from the challenge; must be http(s)
  std::string service;  // may be empty
  std::vector<std::string> scopes;
  std::optional<Credential> credential;
  http::TlsOptions tls;
  http::RetryPolicy retry;
};

// Fetches a token. Errors: kUnauthorized/kDenied when the realm refuses
// ("cannot get a token from 'https://auth.docker.io/token' for
// 'repository:x:pull': HTTP 401 Unauthorized"), kUnavailable after retries,
// kInvalidArgument for a malformed answer.
Result<Token> fetch_token(http::Transport& client, const TokenRequest& req);

}  // namespace hoist::registry
