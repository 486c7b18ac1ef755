#include "registry/auth.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "http/url.h"
#include "io/memory.h"
#include "util/log.h"
#include "util/strings.h"

namespace hoist::registry {
namespace {
constexpr uint64_t kMaxTokenBody = 1 << 20;
}

std::shared_ptr<TokenCache> TokenCache::process() {
  static auto cache = std::make_shared<TokenCache>();
  return cache;
}

std::optional<std::string> TokenCache::get(const std::string& key) const {
  std::lock_guard lk(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires <= Clock::now()) return std::nullopt;
  return it->second.token;
}

void TokenCache::put(const std::string& key, std::string token, Clock::time_point expires) {
  std::lock_guard lk(mu_);
  entries_[key] = Entry{std::move(token), expires};
}

void TokenCache::erase(const std::string& key, const std::string& token) {
  std::lock_guard lk(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.token == token) entries_.erase(it);
}

Result<Token> parse_token_response(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Errc::kInvalidArgument, "token response is not a JSON object");
  Token t;
  for (const char* key : {"token", "access_token"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      t.token = it->get<std::string>();
      break;
    }
  }
  if (t.token.empty()) return fail(Errc::kInvalidArgument, "token response has no 'token' or 'access_token'");
  if (auto it = j.find("expires_in"); it != j.end() && it->is_number_integer()) {
    auto secs = it->get<int64_t>();
    if (secs > 60) t.expires_in = std::chrono::seconds(std::min<int64_t>(secs, 86400 * 7));
  }
  return t;
}

std::string basic_authorization(const Credential& c) {
  return "Basic " + base64_encode(c.username + ":" + c.password);
}

Result<Token> fetch_token(http::Transport& client, const TokenRequest& tr) {
  auto realm = http::parse_url(tr.realm);
  std::string scopes_text = fmt::format("{}", fmt::join(tr.scopes, " "));
  auto what = [&] {
    return fmt::format("cannot get a token from '{}' for '{}'", http::redact_url(tr.realm),
                       scopes_text.empty() ? tr.service : scopes_text);
  };
  if (!realm) return fail(Errc::kInvalidArgument, fmt::format("{}: invalid realm", what()));

  http::Request req;
  req.tls = tr.tls;
  const bool oauth = tr.credential && !tr.credential->identity_token.empty();
  std::string params;
  auto add = [&](std::string_view k, std::string_view v) {
    if (!params.empty()) params += '&';
    params += k;
    params += '=';
    params += http::url_escape(v);
  };
  if (oauth) {
    // docker's oauth.md: refresh token grant.
    add("grant_type", "refresh_token");
    add("refresh_token", tr.credential->identity_token);
    add("client_id", "hoist");
    if (!tr.service.empty()) add("service", tr.service);
    if (!scopes_text.empty()) add("scope", scopes_text);
    req.method = "POST";
    req.url = tr.realm;
    req.body = params;
    req.headers.add("Content-Type", "application/x-www-form-urlencoded");
  } else {
    if (!tr.service.empty()) add("service", tr.service);
    for (const auto& s : tr.scopes) add("scope", s);
    if (tr.credential && !tr.credential->username.empty()) {
      add("account", tr.credential->username);
      req.headers.add("Authorization", basic_authorization(*tr.credential));
    }
    req.url = tr.realm;
    if (!params.empty()) req.url += (realm->query.empty() ? "?" : "&") + params;
  }

  io::StringWriter body;
  auto resp = http::with_retries(tr.retry, [&](int) {
    body = io::StringWriter();
    return client.perform(req, &body, kMaxTokenBody);
  });
  if (!resp) return fail(std::move(resp).error().context(what()));
  if (!resp->ok()) {
    auto e = http::status_error(*resp);
    std::string msg = fmt::format("{}: HTTP {}", what(), resp->status);
    if (!resp->reason.empty()) msg += " " + resp->reason;
    // Token servers answer {"details": "..."} or {"errors": [...]}; show a short hint.
    auto j = nlohmann::json::parse(resp->error_body, nullptr, false);
    if (j.is_object()) {
      if (auto it = j.find("details"); it != j.end() && it->is_string()) msg += ": " + it->get<std::string>();
    }
    return fail(Error(e.code(), std::move(msg)).with_http(resp->status, ""));
  }
  auto tok = parse_token_response(body.str());
  if (!tok) return fail(std::move(tok).error().context(what()));
  log::debug("got a token from {} for {}", http::redact_url(tr.realm), scopes_text);
  return tok;
}

}  // namespace hoist::registry
