#include "registry/client.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <mutex>

#include "http/url.h"
#include "image/media_types.h"
#include "io/memory.h"
#include "ref/reference.h"
#include "registry/errors.h"
#include "util/log.h"
#include "util/strings.h"

namespace hoist::registry {
namespace {

namespace mt = image::media_type;

constexpr std::array<std::string_view, 6> kDefaultAccept = {
    mt::kOciIndex, mt::kOciManifest, mt::kDockerManifestList, mt::kDockerManifest,
    mt::kDockerSchema1Signed, mt::kDockerSchema1Manifest};
constexpr int kMaxTagPages = 10000;
constexpr uint64_t kMaxTagPageBytes = 16 << 20;

std::string host_of(std::string_view registry) {
  // "host:port" -> "host"; "[::1]:5000" -> "::1".
  if (!registry.empty() && registry.front() == '[') {
    auto close = registry.find(']');
    return std::string(registry.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  auto colon = registry.find(':');
  if (colon != std::string_view::npos && registry.find(':', colon + 1) == std::string_view::npos)
    return std::string(registry.substr(0, colon));
  return std::string(registry);  // a bare IPv6 address, or no port
}

bool dir_exists(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// Writes at most `max` bytes to `next`; the write that would exceed it fails
// with `message` and passes nothing on.
class CappedWriter final : public io::Writer {
 public:
  CappedWriter(io::Writer& next, uint64_t max, std::string message)
      : next_(next), max_(max), message_(std::move(message)) {}
  Result<> write(std::span<const std::byte> data) override {
    if (count_ + data.size() > max_) return fail(Errc::kInvalidArgument, message_);
    HOIST_CHECK(next_.write(data));
    count_ += data.size();
    return {};
  }
  uint64_t count() const { return count_; }

 private:
  io::Writer& next_;
  uint64_t max_;
  std::string message_;
  uint64_t count_ = 0;
};

bool is_digest_reference(std::string_view reference) { return reference.find(':') != std::string_view::npos; }

Result<> check_repository(std::string_view repo) {
  bool ok = !repo.empty() && repo.size() <= ref::kNameMaxLength;
  if (ok)
    for (auto c : split(repo, '/')) ok = ok && ref::valid_path_component(c);
  if (!ok) return fail(Errc::kInvalidArgument, fmt::format("invalid repository name '{}'", repo));
  return {};
}

Result<> check_reference(std::string_view reference) {
  if (is_digest_reference(reference)) {
    HOIST_CHECK(digest::parse(reference));
    return {};
  }
  if (!ref::valid_tag(reference)) return fail(Errc::kInvalidArgument, fmt::format("invalid tag '{}'", reference));
  return {};
}

std::string pull_scope(std::string_view repo) { return fmt::format("repository:{}:pull", repo); }
std::string push_scope(std::string_view repo) { return fmt::format("repository:{}:pull,push", repo); }

// Parses `Link: <url>; rel="next"` (RFC 8288), the pagination of tags/list.
std::optional<std::string> next_link(const http::Headers& headers) {
  for (auto value : headers.get_all("Link")) {
    for (auto part : split(value, ',')) {
      auto p = trim(part);
      auto lt = p.find('<'), gt = p.find('>');
      if (lt == std::string_view::npos || gt == std::string_view::npos || gt < lt) continue;
      std::string params = to_lower(p.substr(gt + 1));
      if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos)
        return std::string(p.substr(lt + 1, gt - lt - 1));
    }
  }
  return std::nullopt;
}

std::string with_query(std::string url, std::string_view param) {
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += param;
  return url;
}

}  // namespace

std::span<const std::string_view> default_manifest_accept() { return kDefaultAccept; }

std::optional<uint64_t> parse_upload_range(std::string_view value) {
  // "0-N" (distribution), tolerating a "bytes=" prefix. distribution answers
  // "0-0" for an empty upload as well as for one byte: read it as empty.
  auto v = trim(value);
  if (v.starts_with("bytes=")) v.remove_prefix(6);
  auto dash = v.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto first = parse_u64(trim(v.substr(0, dash)));
  auto last = parse_u64(trim(v.substr(dash + 1)));
  if (!first || !last || *first != 0) return std::nullopt;
  return *last == 0 ? 0 : *last + 1;
}

bool is_loopback_registry(std::string_view registry) {
  std::string host = to_lower(host_of(registry));
  if (host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1") return true;
  if (host.starts_with("127.")) {
    auto parts = split(host, '.');
    if (parts.size() != 4) return false;
    for (auto p : parts) {
      auto v = parse_u64(p);
      if (!v || *v > 255) return false;
    }
    return true;
  }
  return false;
}

struct RegistryClient::Impl {
  struct Endpoint {
    std::string base;  // scheme://host[:port][/prefix], no trailing '/'
    http::UrlParts origin;
    std::string name;  // for messages and credentials: the registry, or the mirror's host:port
    bool mirror = false;
    http::TlsOptions tls;

    std::mutex mu;
    bool probed = false;
    std::optional<Challenge> challenge;  // nullopt after a probe: no auth needed
    bool creds_loaded = false;
    std::optional<Credential> creds;
  };

  http::Transport& http;
  RegistryOptions opts;
  std::shared_ptr<TokenCache> tokens;
  std::vector<std::unique_ptr<Endpoint>> endpoints;  // mirrors first, origin last
  Endpoint* origin = nullptr;

  Impl(http::Transport& h, RegistryOptions o) : http(h), opts(std::move(o)) {
    tokens = opts.tokens ? opts.tokens : TokenCache::process();
    auto tls_for = [&](std::string_view name) {
      http::TlsOptions t = opts.tls;
      if (t.cert_dir.empty()) {
        for (const char* root : {"/etc/containers/certs.d/", "/etc/docker/certs.d/"}) {
          std::string d = root + std::string(name);
          if (dir_exists(d)) {
            t.cert_dir = d;
            break;
          }
        }
      }
      return t;
    };
    // Loopback registries speak plain HTTP, unless certificates are given for
    // them (--cert-dir, or a certs.d directory): asking for TLS means HTTPS.
    auto insecure_host = [&](std::string_view name) {
      for (const auto& r : opts.insecure_registries)
        if (r == name || r == host_of(name)) return true;
      return is_loopback_registry(name) && tls_for(name).cert_dir.empty();
    };
    for (const auto& m : opts.mirrors) {
      std::string base = m;
      if (base.find("://") == std::string::npos)
        base = (insecure_host(base.substr(0, base.find('/'))) ? "http://" : "https://") + base;
      while (!base.empty() && base.back() == '/') base.pop_back();
      auto parts = http::parse_url(base);
      if (!parts) {
        log::debug("ignoring invalid mirror '{}'", m);
        continue;
      }
      auto ep = std::make_unique<Endpoint>();
      ep->base = base;
      ep->origin = *parts;
      ep->name = http::host_port(*parts);
      ep->mirror = true;
      ep->tls = tls_for(ep->name);
      endpoints.push_back(std::move(ep));
    }
    auto ep = std::make_unique<Endpoint>();
    std::string api_host = opts.registry;
    if (api_host == ref::kDockerHub || api_host == "index.docker.io") api_host = std::string(ref::kDockerHubApiHost);
    bool insecure = opts.insecure.value_or(insecure_host(opts.registry));
    ep->base = (insecure ? "http://" : "https://") + api_host;
    if (auto parts = http::parse_url(ep->base)) ep->origin = *parts;
    ep->name = opts.registry;
    ep->tls = tls_for(opts.registry);
    origin = ep.get();
    endpoints.push_back(std::move(ep));
  }

  // Credentials for an endpoint, looked up once.
  Result<std::optional<Credential>> credentials(Endpoint& ep, std::string_view repository) {
    {
      std::lock_guard lk(ep.mu);
      if (ep.creds_loaded) return ep.creds;
    }
    std::optional<Credential> c;
    if (&ep == origin && opts.credentials) {
      c = opts.credentials;
    } else if (opts.credential_store) {
      c = HOIST_TRY(opts.credential_store->lookup(ep.name, repository));
    }
    std::lock_guard lk(ep.mu);
    ep.creds_loaded = true;
    ep.creds = c;
    return c;
  }

  static std::optional<Challenge> pick_challenge(const http::Response& resp) {
    auto all = parse_challenges(resp.headers.get_all("WWW-Authenticate"));
    for (const char* want : {"bearer", "basic"})
      for (auto& c : all)
        if (c.scheme == want) return c;
    return std::nullopt;
  }

  // Learns the endpoint's challenge from GET /v2/ (once).
  Result<std::optional<Challenge>> challenge(Endpoint& ep) {
    {
      std::lock_guard lk(ep.mu);
      if (ep.probed) return ep.challenge;
    }
    http::Request req;
    req.url = ep.base + "/v2/";
    req.tls = ep.tls;
    auto resp = http::with_retries(opts.retry, [&](int) { return http.perform(req, nullptr, 1 << 20); });
    if (!resp) return fail(std::move(resp).error());
    std::optional<Challenge> ch;
    if (resp->status == 401) ch = pick_challenge(*resp);
    else if (http::is_retryable_status(resp->status))
      return fail(http::status_error(*resp));
    std::lock_guard lk(ep.mu);
    ep.probed = true;
    ep.challenge = ch;
    return ch;
  }

  std::string token_key(const Endpoint& ep, const std::vector<std::string>& scopes) {
    return fmt::format("{}|{}", ep.base, fmt::join(scopes, " "));
  }

  // The Authorization value for `scopes` on `ep`, "" for none.
  Result<std::string> authorization(Endpoint& ep, const std::vector<std::string>& scopes,
                                    std::string_view repository, bool refresh) {
    auto ch = HOIST_TRY(challenge(ep));
    if (!ch) return std::string();
    auto creds = HOIST_TRY(credentials(ep, repository));
    if (ch->scheme == "basic") return creds ? basic_authorization(*creds) : std::string();
    std::string key = token_key(ep, scopes);
    if (!refresh) {
      if (auto t = tokens->get(key)) return "Bearer " + *t;
    }
    TokenRequest tr;
    tr.realm = ch->param("realm");
    tr.service = ch->param("service");
    tr.scopes = scopes;
    tr.credential = creds;
    tr.tls = ep.tls;
    tr.retry = opts.retry;
    auto tok = HOIST_TRY(fetch_token(http, tr));
    // Expire early so a token is never sent in its last seconds.
    auto ttl = tok.expires_in - std::min(tok.expires_in / 4, std::chrono::seconds(30));
    tokens->put(key, tok.token, TokenCache::Clock::now() + ttl);
    return "Bearer " + tok.token;
  }

  // One request with authentication: attaches Authorization (same origin
  // only) and, on a 401, refreshes the challenge and token once and retries
  // when the request can be replayed. A 401's body never reaches `sink`.
  Result<http::Response> send(Endpoint& ep, http::Request req, std::vector<std::string> scopes,
                              std::string_view repository, io::Writer* sink, std::optional<uint64_t> max_body,
                              bool replayable = true) {
    req.tls = ep.tls;
    auto url = HOIST_TRY(http::parse_url(req.url));
    bool same = http::same_origin(url, ep.origin);
    std::string auth;
    if (same) auth = HOIST_TRY(authorization(ep, scopes, repository, false));
    if (!auth.empty()) req.headers.set("Authorization", auth);
    auto resp = HOIST_TRY(http.perform(req, sink, max_body));
    if (resp.status != 401 || !same) return resp;

    auto ch = pick_challenge(resp);
    if (!ch) return resp;
    // The token was refused (expired, revoked): drop it, so the caller's next
    // request fetches a new one even when this one cannot be replayed (an
    // upload body read from a stream).
    if (auth.starts_with("Bearer ")) tokens->erase(token_key(ep, scopes), auth.substr(7));
    if (!replayable) return resp;
    if (ch->scheme == "bearer") {
      // insufficient_scope names the scope the registry wants.
      // Kept in a variable: split()'s views must not outlive the string.
      std::string wanted = std::string(ch->param("scope"));
      for (auto s : split(wanted, ' '))
        if (!s.empty() && std::find(scopes.begin(), scopes.end(), s) == scopes.end()) scopes.emplace_back(s);
    }
    {
      std::lock_guard lk(ep.mu);
      ep.probed = true;
      ep.challenge = ch;
    }
    std::string fresh = HOIST_TRY(authorization(ep, scopes, repository, true));
    if (fresh.empty() || fresh == auth) return resp;  // nothing new to offer
    req.headers.set("Authorization", fresh);
    log::debug("{} {}: HTTP 401, retrying with new credentials", req.method, http::redact_url(req.url));
    return http.perform(req, sink, max_body);
  }

  std::string blob_where(std::string_view repository) const { return fmt::format("{}/{}", opts.registry, repository); }

  Result<FetchedManifest> get_manifest_from(Endpoint& ep, std::string_view repository, std::string_view reference,
                                            std::span<const std::string_view> accept, const std::string& what,
                                            const std::string& display) {
    http::Request req;
    req.url = fmt::format("{}/v2/{}/manifests/{}", ep.base, repository, reference);
    req.headers.add("Accept", fmt::format("{}", fmt::join(accept, ", ")));
    io::StringWriter body;
    auto resp = http::with_retries(opts.retry, [&](int) {
      body = io::StringWriter();
      CappedWriter capped(body, kMaxManifestBytes, fmt::format("manifest '{}' is larger than 4 MiB", display));
      return send(ep, req, {pull_scope(repository)}, repository, &capped, std::nullopt);
    });
    if (!resp) return fail(std::move(resp).error().context(what));
    if (!resp->ok()) return fail(response_error(*resp, what));

    FetchedManifest m;
    m.bytes = body.take();
    m.content_type = std::string(mt::base_media_type(resp->headers.get("Content-Type").value_or("")));
    std::optional<digest::Digest> header;
    if (auto h = resp->headers.get("Docker-Content-Digest")) {
      if (auto d = digest::parse(trim(*h)))
        header = *d;
      else
        log::debug("{}: ignoring malformed Docker-Content-Digest '{}'", what, *h);
    }
    auto mismatch = [&](const digest::Digest& expected, const digest::Digest& actual) {
      return fail(Errc::kDigestMismatch,
                  fmt::format("manifest '{}@{}' from '{}' has digest '{}'", repository, expected.str(), ep.name,
                              actual.str()));
    };
    if (is_digest_reference(reference)) {
      auto want = HOIST_TRY(digest::parse(reference));
      auto got = digest::of(want.algorithm(), m.bytes);
      if (got != want) return mismatch(want, got);
      m.digest = want;
    } else if (header) {
      auto got = digest::of(header->algorithm(), m.bytes);
      if (got != *header) return mismatch(*header, got);
      m.digest = *header;
    } else {
      m.digest = digest::sha256_of(m.bytes);
    }
    return m;
  }

  Result<> fetch_blob_from(Endpoint& ep, std::string_view repository, const digest::Digest& d, uint64_t offset,
                           std::optional<uint64_t> expected_size, io::Writer& sink, uint64_t& written,
                           const http::RetryCallback& on_retry, const std::string& what) {
    std::string too_long = expected_size ? fmt::format("blob '{}' from '{}' is longer than its descriptor says ({} "
                                                       "bytes)",
                                                       d.str(), blob_where(repository), *expected_size)
                                         : std::string();
    // Counts what the caller's sink accepted, across attempts and endpoints:
    // the next Range starts there.
    class Counting final : public io::Writer {
     public:
      Counting(io::Writer& next, uint64_t& written, uint64_t start, std::optional<uint64_t> max,
               const std::string& msg)
          : next_(next), written_(written), start_(start), max_(max), msg_(msg) {}
      Result<> write(std::span<const std::byte> data) override {
        if (max_ && start_ + written_ + data.size() > *max_) return fail(Errc::kInvalidArgument, msg_);
        HOIST_CHECK(next_.write(data));
        written_ += data.size();
        return {};
      }

     private:
      io::Writer& next_;
      uint64_t& written_;
      uint64_t start_;
      std::optional<uint64_t> max_;
      const std::string& msg_;
    } counting(sink, written, offset, expected_size, too_long);

    http::Request req;
    req.url = fmt::format("{}/v2/{}/blobs/{}", ep.base, repository, d.str());
    auto resp = http::with_retries(
        opts.retry,
        [&](int) -> Result<http::Response> {
          uint64_t from = offset + written;
          if (from > 0) req.range_from = from;
          auto r = send(ep, req, {pull_scope(repository)}, repository, &counting, std::nullopt);
          if (r && r->ok() && expected_size && offset + written < *expected_size)
            return fail(Errc::kUnavailable, fmt::format("{}: body ended after {} of {} bytes", what,
                                                        offset + written, *expected_size));
          return r;
        },
        on_retry);
    if (!resp) return fail(std::move(resp).error());
    if (!resp->ok()) return fail(response_error(*resp, what));
    return {};
  }
};

RegistryClient::RegistryClient(http::Transport& http, RegistryOptions options)
    : impl_(std::make_unique<Impl>(http, std::move(options))) {}
RegistryClient::~RegistryClient() = default;

const std::string& RegistryClient::registry() const { return impl_->opts.registry; }
const std::string& RegistryClient::origin_url() const { return impl_->origin->base; }

Result<> RegistryClient::ping() {
  auto& ep = *impl_->origin;
  std::string what = fmt::format("cannot log in to '{}'", ep.name);
  http::Request req;
  req.url = ep.base + "/v2/";
  auto resp = http::with_retries(impl_->opts.retry,
                                 [&](int) { return impl_->send(ep, req, {}, "", nullptr, 1 << 20); });
  if (!resp) return fail(std::move(resp).error().context(what));
  if (!resp->ok()) return fail(response_error(*resp, what));
  return {};
}

Result<FetchedManifest> RegistryClient::get_manifest(std::string_view repository, std::string_view reference,
                                                     std::span<const std::string_view> accept) {
  HOIST_CHECK(check_repository(repository));
  HOIST_CHECK(check_reference(reference));
  std::string display = fmt::format("{}{}{}", repository, is_digest_reference(reference) ? "@" : ":", reference);
  std::optional<Error> last;
  for (auto& ep : impl_->endpoints) {
    std::string what = fmt::format("GET manifest '{}' from '{}'", display, ep->name);
    auto r = impl_->get_manifest_from(*ep, repository, reference, accept, what, display);
    if (r || !ep->mirror) return r;
    log::debug("mirror '{}' failed, falling back: {}", ep->name, r.error().message());
  }
  return fail(Errc::kInternal, "no registry endpoint");
}

Result<std::optional<ManifestInfo>> RegistryClient::head_manifest(std::string_view repository,
                                                                 std::string_view reference) {
  HOIST_CHECK(check_repository(repository));
  HOIST_CHECK(check_reference(reference));
  std::string display = fmt::format("{}{}{}", repository, is_digest_reference(reference) ? "@" : ":", reference);
  for (auto& ep : impl_->endpoints) {
    std::string what = fmt::format("HEAD manifest '{}' from '{}'", display, ep->name);
    http::Request req;
    req.method = "HEAD";
    req.url = fmt::format("{}/v2/{}/manifests/{}", ep->base, repository, reference);
    req.headers.add("Accept", fmt::format("{}", fmt::join(default_manifest_accept(), ", ")));
    auto resp = http::with_retries(impl_->opts.retry, [&](int) {
      return impl_->send(*ep, req, {pull_scope(repository)}, repository, nullptr, 0);
    });
    Result<std::optional<ManifestInfo>> out = std::nullopt;
    if (!resp) {
      out = fail(std::move(resp).error().context(what));
    } else if (resp->status == 404) {
      out = std::nullopt;
    } else if (!resp->ok()) {
      out = fail(response_error(*resp, what));
    } else {
      ManifestInfo info;
      info.content_type = std::string(mt::base_media_type(resp->headers.get("Content-Type").value_or("")));
      auto len = parse_u64(trim(resp->headers.get("Content-Length").value_or("")));
      auto dig = resp->headers.get("Docker-Content-Digest");
      auto parsed = dig ? digest::parse(trim(*dig)) : Result<digest::Digest>(fail(Errc::kNotFound, ""));
      if (parsed && len) {
        info.digest = *parsed;
        info.size = *len;
        out = std::optional<ManifestInfo>(std::move(info));
      } else {
        // No digest header: fetch and compute (distribution-spec makes it optional).
        auto m = impl_->get_manifest_from(*ep, repository, reference, default_manifest_accept(), what, display);
        if (m) {
          out = std::optional<ManifestInfo>(ManifestInfo{m->content_type, m->digest, m->bytes.size()});
        } else if (m.error().code() == Errc::kNotFound) {
          out = std::nullopt;
        } else {
          out = fail(std::move(m).error());
        }
      }
    }
    if ((out && *out) || !ep->mirror) return out;
    if (!out) log::debug("mirror '{}' failed, falling back: {}", ep->name, out.error().message());
  }
  return fail(Errc::kInternal, "no registry endpoint");
}

Result<std::optional<uint64_t>> RegistryClient::head_blob(std::string_view repository, const digest::Digest& d) {
  HOIST_CHECK(check_repository(repository));
  for (auto& ep : impl_->endpoints) {
    std::string what = fmt::format("HEAD blob '{}' from '{}'", d.str(), impl_->blob_where(repository));
    http::Request req;
    req.method = "HEAD";
    req.url = fmt::format("{}/v2/{}/blobs/{}", ep->base, repository, d.str());
    auto resp = http::with_retries(impl_->opts.retry, [&](int) {
      return impl_->send(*ep, req, {pull_scope(repository)}, repository, nullptr, 0);
    });
    Result<std::optional<uint64_t>> out = std::nullopt;
    if (!resp) {
      out = fail(std::move(resp).error().context(what));
    } else if (resp->status == 404) {
      out = std::nullopt;
    } else if (!resp->ok()) {
      out = fail(response_error(*resp, what));
    } else if (auto len = parse_u64(trim(resp->headers.get("Content-Length").value_or("")))) {
      out = std::optional<uint64_t>(*len);
    } else {
      out = fail(Errc::kInvalidArgument, fmt::format("{}: no Content-Length in the response", what));
    }
    // A mirror's 404 is not the origin's: only a found blob ends the search early.
    if ((out && *out) || !ep->mirror) return out;
    if (!out) log::debug("mirror '{}' failed, falling back: {}", ep->name, out.error().message());
  }
  return fail(Errc::kInternal, "no registry endpoint");
}

Result<> RegistryClient::fetch_blob(std::string_view repository, const digest::Digest& d, uint64_t offset,
                                    std::optional<uint64_t> expected_size, io::Writer& sink,
                                    const http::RetryCallback& on_retry) {
  HOIST_CHECK(check_repository(repository));
  if (expected_size && offset > *expected_size)
    return fail(Errc::kInvalidArgument, fmt::format("cannot resume blob '{}' at byte {}: it has {} bytes", d.str(),
                                                    offset, *expected_size));
  if (expected_size && offset == *expected_size) return {};
  uint64_t written = 0;
  for (auto& ep : impl_->endpoints) {
    std::string what = fmt::format("GET blob '{}' from '{}'", d.str(),
                                   ep->mirror ? fmt::format("{}/{}", ep->name, repository)
                                              : impl_->blob_where(repository));
    auto r = impl_->fetch_blob_from(*ep, repository, d, offset, expected_size, sink, written, on_retry, what);
    if (r || !ep->mirror) return r;
    // Only a failure of the mirror itself falls back; the sink's own errors
    // (disk full, too long) would recur.
    if (r.error().http_status() == 0 && r.error().code() != Errc::kUnavailable) return r;
    log::debug("mirror '{}' failed, falling back: {}", ep->name, r.error().message());
  }
  return fail(Errc::kInternal, "no registry endpoint");
}

Result<UploadSession> RegistryClient::start_upload(std::string_view repository) {
  HOIST_CHECK(check_repository(repository));
  auto& ep = *impl_->origin;
  std::string what = fmt::format("cannot start an upload to '{}'", impl_->blob_where(repository));
  http::Request req;
  req.method = "POST";
  req.url = fmt::format("{}/v2/{}/blobs/uploads/", ep.base, repository);
  auto resp = http::with_retries(impl_->opts.retry, [&](int) {
    return impl_->send(ep, req, {push_scope(repository)}, repository, nullptr, 1 << 20);
  });
  if (!resp) return fail(std::move(resp).error().context(what));
  if (resp->status != 202 && !resp->ok()) return fail(response_error(*resp, what));
  auto loc = resp->headers.get("Location");
  if (!loc) return fail(Errc::kInvalidArgument, fmt::format("{}: no Location in the response", what));
  UploadSession s;
  s.repository = std::string(repository);
  s.location = HOIST_TRY_CTX(http::resolve_url(resp->effective_url, *loc), what);
  return s;
}

Result<> RegistryClient::upload_chunk(UploadSession& session, io::Reader& data, uint64_t length) {
  auto& ep = *impl_->origin;
  std::string what = fmt::format("PATCH upload to '{}' at byte {}", impl_->blob_where(session.repository),
                                 session.offset);
  if (length == 0) return {};
  http::Request req;
  req.method = "PATCH";
  req.url = session.location;
  req.headers.add("Content-Type", "application/octet-stream");
  // distribution-spec: "Content-Range: <start>-<end>", both inclusive, no unit.
  req.headers.add("Content-Range", fmt::format("{}-{}", session.offset, session.offset + length - 1));
  req.body_reader = &data;
  req.body_length = length;
  auto resp = impl_->send(ep, req, {push_scope(session.repository)}, session.repository, nullptr, 1 << 20,
                          /*replayable=*/false);
  if (!resp) return fail(std::move(resp).error().context(what));
  if (resp->status != 202 && !resp->ok()) return fail(response_error(*resp, what));
  if (auto loc = resp->headers.get("Location"))
    session.location = HOIST_TRY_CTX(http::resolve_url(resp->effective_url, *loc), what);
  uint64_t expected = session.offset + length;
  session.offset = expected;
  // "Range: 0-N" is what the registry holds; trust it over our count.
  if (auto range = resp->headers.get("Range")) {
    if (auto end = parse_upload_range(*range)) session.offset = (*end == 0 && expected <= 1) ? expected : *end;
  }
  return {};
}

Result<UploadSession> RegistryClient::upload_status(const UploadSession& session) {
  auto& ep = *impl_->origin;
  std::string what = fmt::format("GET upload status from '{}'", impl_->blob_where(session.repository));
  http::Request req;
  req.url = session.location;
  auto resp = http::with_retries(impl_->opts.retry, [&](int) {
    return impl_->send(ep, req, {push_scope(session.repository)}, session.repository, nullptr, 1 << 20);
  });
  if (!resp) return fail(std::move(resp).error().context(what));
  if (resp->status == 404)
    return fail(Error(Errc::kNotFound, fmt::format("{}: the registry no longer knows the upload session", what))
                    .with_http(404, "BLOB_UPLOAD_UNKNOWN"));
  if (!resp->ok()) return fail(response_error(*resp, what));
  UploadSession s = session;
  s.offset = 0;
  if (auto range = resp->headers.get("Range")) {
    auto end = parse_upload_range(*range);
    if (!end) return fail(Errc::kInvalidArgument, fmt::format("{}: malformed Range '{}'", what, *range));
    s.offset = *end;
  }
  if (auto loc = resp->headers.get("Location"))
    s.location = HOIST_TRY_CTX(http::resolve_url(resp->effective_url, *loc), what);
  return s;
}

Result<> RegistryClient::cancel_upload(const UploadSession& session) {
  auto& ep = *impl_->origin;
  std::string what = fmt::format("DELETE upload from '{}'", impl_->blob_where(session.repository));
  http::Request req;
  req.method = "DELETE";
  req.url = session.location;
  auto resp = http::with_retries(impl_->opts.retry, [&](int) {
    return impl_->send(ep, req, {push_scope(session.repository)}, session.repository, nullptr, 1 << 20);
  });
  if (!resp) return fail(std::move(resp).error().context(what));
  if (resp->status == 404 || resp->ok()) return {};
  return fail(response_error(*resp, what));
}

Result<digest::Digest> RegistryClient::finish_upload(UploadSession& session, const digest::Digest& d,
                                                     io::Reader* data, uint64_t length) {
  auto& ep = *impl_->origin;
  std::string what = fmt::format("PUT blob '{}' to '{}'", d.str(), impl_->blob_where(session.repository));
  http::Request req;
  req.method = "PUT";
  req.url = with_query(session.location, "digest=" + http::url_escape(d.str()));
  req.headers.add("Content-Type", "application/octet-stream");
  Result<http::Response> resp = fail(Errc::kInternal, "unreachable");
  if (data) {
    req.body_reader = data;
    req.body_length = length;
    resp = impl_->send(ep, req, {push_scope(session.repository)}, session.repository, nullptr, 1 << 20,
                       /*replayable=*/false);
  } else {
    resp = http::with_retries(impl_->opts.retry, [&](int) {
      return impl_->send(ep, req, {push_scope(session.repository)}, session.repository, nullptr, 1 << 20);
    });
  }
  if (!resp) return fail(std::move(resp).error().context(what));
  if (!resp->ok()) return fail(response_error(*resp, what));
  if (data) session.offset += length;
  if (auto h = resp->headers.get("Docker-Content-Digest")) {
    auto got = digest::parse(trim(*h));
    if (got && *got != d)
      return fail(Errc::kDigestMismatch, fmt::format("{}: the registry stored digest '{}'", what, got->str()));
  }
  return d;
}

Result<> RegistryClient::put_blob(std::string_view repository, const digest::Digest& d, io::Reader& data,
                                  uint64_t size) {
  auto session = HOIST_TRY(start_upload(repository));
  HOIST_CHECK(finish_upload(session, d, &data, size));
  return {};
}

Result<MountResult> RegistryClient::mount_blob(std::string_view repository, const digest::Digest& d,
                                               std::string_view from_repository) {
  HOIST_CHECK(check_repository(repository));
  HOIST_CHECK(check_repository(from_repository));
  auto& ep = *impl_->origin;
  std::string what = fmt::format("cannot mount blob '{}' from '{}' into '{}'", d.str(), from_repository,
                                 impl_->blob_where(repository));
  http::Request req;
  req.method = "POST";
  req.url = fmt::format("{}/v2/{}/blobs/uploads/?mount={}&from={}", ep.base, repository, http::url_escape(d.str()),
                        http::url_escape(from_repository));
  auto resp = http::with_retries(impl_->opts.retry, [&](int) {
    return impl_->send(ep, req, {push_scope(repository), pull_scope(from_repository)}, repository, nullptr,
                       1 << 20);
  });
  if (!resp) return fail(std::move(resp).error().context(what));
  MountResult out;
  if (resp->status == 201) {
    out.mounted = true;
    return out;
  }
  if (resp->status != 202) return fail(response_error(*resp, what));
  auto loc = resp->headers.get("Location");
  if (!loc) return fail(Errc::kInvalidArgument, fmt::format("{}: no Location in the response", what));
  UploadSession s;
  s.repository = std::string(repository);
  s.location = HOIST_TRY_CTX(http::resolve_url(resp->effective_url, *loc), what);
  out.session = std::move(s);
  return out;
}

Result<digest::Digest> RegistryClient::put_manifest(std::string_view repository, std::string_view reference,
                                                    std::string_view bytes, std::string_view content_type) {
  HOIST_CHECK(check_repository(repository));
  HOIST_CHECK(check_reference(reference));
  auto& ep = *impl_->origin;
  std::string display = fmt::format("{}{}{}", repository, is_digest_reference(reference) ? "@" : ":", reference);
  std::string what = fmt::format("cannot put manifest '{}' to '{}'", display, ep.name);
  if (bytes.size() > kMaxManifestBytes)
    return fail(Errc::kInvalidArgument, fmt::format("{}: it is larger than 4 MiB", what));
  auto computed = digest::sha256_of(bytes);
  if (is_digest_reference(reference)) {
    auto want = HOIST_TRY(digest::parse(reference));
    auto got = digest::of(want.algorithm(), bytes);
    if (got != want)
      return fail(Errc::kDigestMismatch, fmt::format("{}: its bytes have digest '{}'", what, got.str()));
    computed = want;
  }
  http::Request req;
  req.method = "PUT";
  req.url = fmt::format("{}/v2/{}/manifests/{}", ep.base, repository, reference);
  req.headers.add("Content-Type", std::string(content_type));
  req.body = std::string(bytes);
  auto resp = http::with_retries(impl_->opts.retry, [&](int) {
    return impl_->send(ep, req, {push_scope(repository)}, repository, nullptr, 1 << 20);
  });
  if (!resp) return fail(std::move(resp).error().context(what));
  if (!resp->ok()) return fail(response_error(*resp, what));
  if (auto h = resp->headers.get("Docker-Content-Digest")) {
    auto got = digest::parse(trim(*h));
    if (got && got->algorithm() == computed.algorithm() && *got != computed)
      return fail(Errc::kDigestMismatch, fmt::format("{}: the registry stored digest '{}' for our '{}'", what,
                                                     got->str(), computed.str()));
  }
  return computed;
}

Result<std::vector<std::string>> RegistryClient::list_tags(std::string_view repository, size_t limit) {
  HOIST_CHECK(check_repository(repository));
  auto& ep = *impl_->origin;
  std::string what = fmt::format("cannot list tags of '{}'", impl_->blob_where(repository));
  std::vector<std::string> tags;
  std::string url = fmt::format("{}/v2/{}/tags/list", ep.base, repository);
  if (limit) url += fmt::format("?n={}", limit);
  for (int page = 0; page < kMaxTagPages; ++page) {
    http::Request req;
    req.url = url;
    io::StringWriter body;
    auto resp = http::with_retries(impl_->opts.retry, [&](int) {
      body = io::StringWriter();
      return impl_->send(ep, req, {pull_scope(repository)}, repository, &body, kMaxTagPageBytes);
    });
    if (!resp) return fail(std::move(resp).error().context(what));
    if (!resp->ok()) return fail(response_error(*resp, what));
    auto j = nlohmann::json::parse(body.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return fail(Errc::kInvalidArgument, fmt::format("{}: the answer is not a JSON object", what));
    if (auto it = j.find("tags"); it != j.end() && it->is_array()) {
      for (const auto& t : *it)
        if (t.is_string()) tags.push_back(t.get<std::string>());
    }
    auto next = next_link(resp->headers);
    if (!next || (limit && tags.size() >= limit)) return tags;
    url = HOIST_TRY_CTX(http::resolve_url(resp->effective_url, *next), what);
  }
  return fail(Errc::kInvalidArgument, fmt::format("{}: more than {} pages", what, kMaxTagPages));
}

Result<std::optional<std::string>> RegistryClient::get_referrers(std::string_view repository,
                                                                  const digest::Digest& subject,
                                                                  std::string_view artifact_type) {
  HOIST_CHECK(check_repository(repository));
  auto& ep = *impl_->origin;
  std::string what = fmt::format("GET referrers of '{}@{}' from '{}'", repository, subject.str(), ep.name);
  http::Request req;
  req.url = fmt::format("{}/v2/{}/referrers/{}", ep.base, repository, subject.str());
  if (!artifact_type.empty()) req.url = with_query(req.url, "artifactType=" + http::url_escape(artifact_type));
  req.headers.add("Accept", std::string(mt::kOciIndex));
  io::StringWriter body;
  auto resp = http::with_retries(impl_->opts.retry, [&](int) {
    body = io::StringWriter();
    CappedWriter capped(body, kMaxManifestBytes, fmt::format("{}: the index is larger than 4 MiB", what));
    return impl_->send(ep, req, {pull_scope(repository)}, repository, &capped, std::nullopt);
  });
  if (!resp) return fail(std::move(resp).error().context(what));
  if (resp->ok()) return std::optional<std::string>(body.take());
  if (resp->status != 404) return fail(response_error(*resp, what));
  // No referrers API: the tag schema.
  std::string tag = fmt::format("{}-{}", subject.algorithm_name(), subject.hex());
  auto m = get_manifest(repository, tag, std::span<const std::string_view>(&mt::kOciIndex, 1));
  if (m) return std::optional<std::string>(std::move(m->bytes));
  if (m.error().code() == Errc::kNotFound) return std::optional<std::string>();
  return fail(std::move(m).error());
}

}  // namespace hoist::registry
