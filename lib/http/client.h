#pragma once
// http::Client: a blocking HTTP/1.1 + HTTP/2 client over one libcurl multi loop.
//
// Thread-safe: one Client per process; perform() may be called from many
// threads at once (e.g. four concurrent blob downloads). One background thread
// owns the curl multi handle, so connections, DNS and TLS sessions are reused
// across all requests. Each caller's body bytes are handed to that caller's
// thread: the io::Writer sink runs on the thread that called perform(), never
// on the loop thread, so a slow sink only stalls its own transfer (the loop
// pauses it, it does not buffer without bound).
//
// Redirects are followed here, not by curl, so that Authorization and Cookie
// headers are dropped when a redirect leaves the original scheme://host:port
// (blob storage redirects to S3 and the like must never see registry tokens).
//
// Proxies come from the environment as curl reads them (http_proxy,
// https_proxy, HTTPS_PROXY, no_proxy, NO_PROXY). Content-Encoding is never
// negotiated: blob bytes arrive exactly as served.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "http/headers.h"
#include "io/stream.h"
#include "util/result.h"

namespace hoist::http {

struct TlsOptions {
  bool verify = true;
  // A directory in the docker/containers certs.d layout: every *.crt is a CA
  // trusted in addition to the system store; a *.cert with a matching *.key is
  // the client certificate. Empty: none.
  std::string cert_dir;

  bool operator==(const TlsOptions&) const = default;
};

struct ClientOptions {
  TlsOptions tls;
  std::string user_agent = "hoist/0.1";
  std::chrono::milliseconds connect_timeout{30'000};
  // A transfer slower than low_speed_limit bytes/s for low_speed_time is
  // aborted as kUnavailable (retryable).
  uint32_t low_speed_limit = 1024;
  std::chrono::seconds low_speed_time{30};
  int max_redirects = 10;
  // Body bytes buffered per transfer between the loop and the caller's sink
  // before the transfer is paused.
  size_t buffer_bytes = 1 << 20;
};

// An upload body that lies in a file: `length` bytes of the open descriptor
// `fd` from byte `offset` on (the caller keeps fd open until perform()
// returns). Given to perform() as Request::body_reader, it is read with pread
// on the loop thread straight into curl's send buffer: one copy on its way to
// the socket, no hand-off between threads (Go's net/http does the like for an
// *os.File body, with sendfile). It can be rewound, so curl may resend it. A
// file that ends early fails the transfer (kInvalidArgument "upload body ended
// after N of M bytes"), a read error with its errno (kIo).
// As a plain io::Reader (a scripted transport in tests), read() preads the
// same bytes in order.
class FileBody final : public io::Reader {
 public:
  FileBody(int fd, uint64_t offset, uint64_t length) : fd_(fd), offset_(offset), length_(length) {}
  Result<size_t> read(std::span<std::byte> buf) override;
  int fd() const { return fd_; }
  uint64_t offset() const { return offset_; }
  uint64_t length() const { return length_; }

  // Called by perform(), on its caller's thread, about four times a second
  // while the body is being sent, with the bytes of it taken by curl so far.
  std::function<void(uint64_t sent)> on_progress;
  // Aborts the transfer (kCancelled) like Request::stop.
  std::stop_token stop;

 private:
  int fd_;
  uint64_t offset_;
  uint64_t length_;
  uint64_t pos_ = 0;  // read() only
};

struct Request {
  std::string method = "GET";
  std::string url;  // http:// or https://; the caller picks the scheme
  Headers headers;
  // Upload body: `body` unless body_reader is set. body_reader is read on the
  // caller's thread; body_length gives Content-Length (nullopt: chunked).
  // A reader body cannot be replayed, so a 307/308 redirect of it fails.
  // A FileBody reader is read on the loop thread (see FileBody); body_length,
  // when set, must be its length.
  std::string body;
  io::Reader* body_reader = nullptr;
  std::optional<uint64_t> body_length;
  // Sends "Range: bytes=N-". The sink always receives the resource from byte
  // N on: a 206 must start at N; a 200 (server ignored Range) has its first N
  // bytes skipped here.
  std::optional<uint64_t> range_from;
  bool follow_redirects = true;
  std::optional<TlsOptions> tls;  // overrides ClientOptions::tls
  std::stop_token stop;           // stop_requested() aborts with kCancelled
};

struct Response {
  int status = 0;
  std::string reason;  // "Not Found"; from the status line, else the standard phrase
  Headers headers;     // of the final response
  std::string method;  // of the final request (303 turns a POST into a GET)
  std::string effective_url;
  uint64_t bytes_received = 0;  // 2xx body bytes given to the sink (after any Range skip)
  std::string error_body;       // non-2xx body, first 64 KiB
  int redirects = 0;

  bool ok() const { return status >= 200 && status < 300; }
};

// What lib/registry and the layers above send requests through: Client over
// curl, or a scripted fake in tests. Implementations are thread-safe.
class Transport {
 public:
  virtual ~Transport() = default;
  // See Client::perform.
  virtual Result<Response> perform(const Request& req, io::Writer* body_sink = nullptr,
                                   std::optional<uint64_t> max_body = std::nullopt) = 0;
};

class Client final : public Transport {
 public:
  explicit Client(ClientOptions options = {});
  ~Client() override;  // joins the loop thread; no perform() may be running
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Performs `req`, following redirects unless told not to. A 2xx body goes to
  // body_sink as it arrives (discarded when null); any other status's body is
  // kept in Response::error_body. Any HTTP status is a successful Result:
  // use status_error() to turn a non-2xx Response into an Error. For small
  // bodies pass an io::StringWriter (io/memory.h) and a max_body.
  // Errors: kUnavailable (cannot connect or resolve, timeout, stall, connection
  // dropped mid-body; retryable), kInvalidArgument (bad URL, too many
  // redirects, a 2xx body longer than max_body, a 206 at the wrong offset),
  // kCancelled (req.stop), kIo (TLS and other failures), or the sink's own
  // error, which aborts the transfer.
  Result<Response> perform(const Request& req, io::Writer* body_sink = nullptr,
                           std::optional<uint64_t> max_body = std::nullopt) override;

  const ClientOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The Error for a non-2xx response: "GET https://h/v2/x/blobs/sha256:...: HTTP
// 500 Internal Server Error" (URL without query), with_http(status, "").
// Codes: 401 kUnauthorized, 403 kDenied, 404 kNotFound, 408/429/5xx except 501
// kUnavailable, 405/501 kUnsupported, 409 kAlreadyExists, other 4xx
// kInvalidArgument, 3xx kInvalidArgument (unfollowed redirect).
Error status_error(const Response& resp);
Errc errc_for_status(int status);
std::string_view reason_phrase(int status);  // standard phrase, "" when unknown

}  // namespace hoist::http
