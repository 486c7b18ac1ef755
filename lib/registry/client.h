#pragma once
// registry::RegistryClient: the OCI distribution API (distribution-spec
// spec.md) for one registry: manifests, blobs, uploads, cross-repository
// mounts, tags.
//
// Thread-safe: one client per registry, shared by concurrent downloads. It
// borrows the process's http::Transport (an http::Client), which must outlive it.
//
// Endpoints: the registry's origin ("docker.io" is reached at
// registry-1.docker.io) over HTTPS, or plain HTTP when insecure: by default for
// localhost, 127.0.0.0/8 and ::1 (unless a cert dir applies to them: tls.cert_dir,
// or certs.d/<registry>), and for the hosts in insecure_registries.
// Mirrors are tried before the origin for manifest and blob reads; any error
// from a mirror falls back to the origin (logged with log::debug). Writes go
// to the origin only.
//
// Authentication (registry/auth.h): the first request to an endpoint probes
// GET /v2/ for its challenge. Bearer: a token per (endpoint, scopes) from the
// realm, cached process-wide; a 401 on a cached token fetches a new one once
// and retries. Basic: the credentials on every request. Credentials come from
// options.credentials (the origin only) or the CredentialStore. Authorization
// is sent only to the endpoint's own scheme://host:port, never to a redirect
// target elsewhere (blob storage).
//
// Retries: transport failures, 408, 429 and 5xx (not 501) are retried per
// options.retry with backoff, honouring Retry-After; a blob download resumes
// with a Range request from the bytes the sink already accepted. Uploads from
// an io::Reader are not retried (the reader cannot rewind).
//
// Errors name the operation, the repository and the registry, and carry the
// registry's error code: "GET manifest 'library/x:latest' from
// 'localhost:5000': HTTP 404 MANIFEST_UNKNOWN: manifest unknown" with
// with_http(404, "MANIFEST_UNKNOWN") and Errc kNotFound (registry/errors.h).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "digest/digest.h"
#include "http/client.h"
#include "http/retry.h"
#include "io/stream.h"
#include "registry/auth.h"
#include "registry/credentials.h"
#include "util/result.h"

namespace hoist::registry {

inline constexpr uint64_t kMaxManifestBytes = 4 << 20;

struct RegistryOptions {
  std::string registry;            // as in a reference: "docker.io", "localhost:5000", "[::1]:5000"
  std::optional<bool> insecure;    // plain HTTP; unset: the default described above
  std::vector<std::string> insecure_registries;  // "host" or "host:port"
  // TLS for the origin and HTTPS mirrors. An empty cert_dir means
  // /etc/containers/certs.d/<registry> or /etc/docker/certs.d/<registry>,
  // whichever exists.
  http::TlsOptions tls;
  std::optional<Credential> credentials;  // --creds; the origin only
  std::shared_ptr<const CredentialStore> credential_store;  // null: no stored credentials
  // Base URLs ("http://127.0.0.1:5000", "https://mirror.example/prefix") or
  // hosts ("mirror:5000", scheme by the insecure rule).
  std::vector<std::string> mirrors;
  http::RetryPolicy retry;
  std::shared_ptr<TokenCache> tokens;  // null: TokenCache::process()
};

// The Accept list for manifests: OCI index and manifest, Docker manifest list
// and schema 2, then Docker schema 1 (so the caller can refuse it clearly).
std::span<const std::string_view> default_manifest_accept();

struct FetchedManifest {
  std::string bytes;
  std::string content_type;  // base media type, parameters cut
  digest::Digest digest;     // verified: of `bytes`
};

struct ManifestInfo {
  std::string content_type;
  digest::Digest digest;
  uint64_t size = 0;
};

struct UploadSession {
  std::string repository;
  std::string location;  // absolute URL of the upload, as the registry last gave it
  uint64_t offset = 0;   // bytes the registry has
};

struct MountResult {
  bool mounted = false;                  // 201: the blob is now in the repository
  std::optional<UploadSession> session;  // 202: the registry opened an upload instead
};

class RegistryClient {
 public:
  RegistryClient(http::Transport& http, RegistryOptions options);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  const std::string& registry() const;
  const std::string& origin_url() const;  // "https://registry-1.docker.io"

  // GET /v2/ with authentication (what `login` checks). kUnauthorized when the
  // credentials are refused.
  Result<> ping();

  // GET /v2/<repo>/manifests/<reference> (a tag or a digest). The body is
  // capped at 4 MiB (kInvalidArgument "manifest 'r:t' is larger than 4 MiB").
  // The digest is the Docker-Content-Digest header's when present, checked
  // against the bytes; when `reference` is a digest the bytes must match it
  // (kDigestMismatch naming the registry, repository and digest).
  Result<FetchedManifest> get_manifest(std::string_view repository, std::string_view reference,
                                       std::span<const std::string_view> accept = default_manifest_accept());

  // HEAD /v2/<repo>/manifests/<reference>: nullopt on 404. Falls back to a GET
  // when the registry sends no Docker-Content-Digest.
  Result<std::optional<ManifestInfo>> head_manifest(std::string_view repository, std::string_view reference);

  // HEAD /v2/<repo>/blobs/<digest>: its size, nullopt on 404.
  Result<std::optional<uint64_t>> head_blob(std::string_view repository, const digest::Digest& d);

  // GET /v2/<repo>/blobs/<digest> into `sink`, from byte `offset` on (Range;
  // a server that ignores Range has the first `offset` bytes skipped, not
  // written twice). With expected_size, a longer body is refused
  // (kInvalidArgument "blob 'sha256:..' from 'host/repo' is longer than its
  // descriptor says (N bytes)") and a shorter one is resumed like a dropped
  // connection. Redirects are followed, credentials dropped across hosts.
  // Digest verification is the caller's (wrap the sink in io::VerifyingWriter).
  Result<> fetch_blob(std::string_view repository, const digest::Digest& d, uint64_t offset,
                      std::optional<uint64_t> expected_size, io::Writer& sink,
                      const http::RetryCallback& on_retry = {});

  // Uploads (spec.md "Pushing blobs"), with push scope (repository:NAME:pull,push).
  // start_upload POSTs a new session (retried).
  // upload_chunk PATCHes `length` bytes at session.offset (Content-Range
  // "start-end", Content-Length) and moves session.offset to what the
  // registry's Range answer says it holds (and session.location to its new
  // Location). The body is read from `data` and cannot be replayed, so the
  // request is not retried; errors carry the HTTP status: 416 (the registry
  // holds another offset: ask upload_status), 404 (the session is gone), 401
  // (the cached token is dropped, so the next request fetches a new one).
  // finish_upload PUTs ?digest= with no body (retried, 5xx included), or with
  // `length` bytes from `data` (a monolithic upload: not retried), and returns
  // the digest. kDigestMismatch when the registry refuses the digest.
  Result<UploadSession> start_upload(std::string_view repository);
  Result<> upload_chunk(UploadSession& session, io::Reader& data, uint64_t length);
  Result<digest::Digest> finish_upload(UploadSession& session, const digest::Digest& d, io::Reader* data = nullptr,
                                       uint64_t length = 0);
  // GET on the session's URL: the registry's offset (its Range header) and
  // current Location. kNotFound when the registry no longer knows the
  // session (BLOB_UPLOAD_UNKNOWN).
  Result<UploadSession> upload_status(const UploadSession& session);
  // DELETE on the session's URL; a session already gone is not an error.
  Result<> cancel_upload(const UploadSession& session);
  // POST then one PUT with the whole blob.
  Result<> put_blob(std::string_view repository, const digest::Digest& d, io::Reader& data, uint64_t size);
  // POST ?mount=<digest>&from=<from_repository>.
  Result<MountResult> mount_blob(std::string_view repository, const digest::Digest& d,
                                 std::string_view from_repository);
  // PUT /v2/<repo>/manifests/<reference>; returns the manifest's digest.
  Result<digest::Digest> put_manifest(std::string_view repository, std::string_view reference,
                                      std::string_view bytes, std::string_view content_type);
  // GET /v2/<repo>/tags/list, following Link rel="next" pages; with `limit`,
  // one page of at most that many (?n=: "does the repository exist").
  Result<std::vector<std::string>> list_tags(std::string_view repository, size_t limit = 0);

  // The referrers of manifest `subject` as an OCI image index (JSON bytes):
  // GET /v2/<repo>/referrers/<digest>[?artifactType=], or where the registry
  // lacks that API (404), the fallback tag "<alg>-<hex>" (spec.md "Referrers
  // Tag Schema"). nullopt when neither exists. artifact_type filters only
  // through the API (the caller filters a fallback index itself).
  Result<std::optional<std::string>> get_referrers(std::string_view repository, const digest::Digest& subject,
                                                   std::string_view artifact_type = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The byte count an upload's "Range: 0-N" header reports: N + 1, or 0 for
// "0-0" (distribution's answer for an empty upload; a one-byte upload looks
// the same). nullopt when malformed.
std::optional<uint64_t> parse_upload_range(std::string_view value);

// True when `registry` ("host", "host:port", "[v6]:port") is served over
// plain HTTP by default: localhost, 127.0.0.0/8, ::1.
bool is_loopback_registry(std::string_view registry);

}  // namespace hoist::registry
