#include "http/client.h"

#include <curl/curl.h>
#include <dirent.h>
#include <fmt/core.h>

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/url.h"
#include "util/log.h"
#include "util/strings.h"

// How a transfer moves between threads.
//
// libcurl does not support sharing one connection cache between easy handles
// running concurrently on several threads (CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT),
// so every transfer runs on one loop thread that owns a CURLM. The caller's
// thread builds the easy handle, submits it, and then waits on the transfer's
// condition variable. Body bytes are appended to the transfer's buffer by the
// write callback (loop thread) and drained into the sink by the caller; when the
// buffer is full the callback returns CURL_WRITEFUNC_PAUSE and the caller asks
// the loop to unpause once it has drained it. Uploads from an io::Reader work
// the same way in the other direction with CURL_READFUNC_PAUSE.
//
// A FileBody upload skips the hand-off: the loop thread preads it straight
// into curl's upload buffer (the only user-space copy of the bytes), and the
// caller just waits. The pread may block the loop on a slow disk; it is a
// local file, which the page cache usually holds, against a network that is
// slower still.
//
// Commands to the loop (add, unpause, abort) carry a transfer id, never a
// pointer the loop would dereference without checking: a stale command for a
// finished transfer must not touch a new transfer that reuses its address.
// The loop alone calls curl on a submitted handle, including its cleanup.

namespace hoist::http {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr size_t kUploadChunk = 256 * 1024;
// curl's send buffer for reader and file bodies (CURLOPT_UPLOAD_BUFFERSIZE;
// curl's default is 64 KiB): fewer read callbacks and larger send() calls.
constexpr long kUploadBuffer = 512L * 1024;

std::once_flag g_curl_init;

std::string lower_first(std::string s) {
  if (s.size() > 1 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'a' && s[1] <= 'z') s[0] = char(s[0] - 'A' + 'a');
  while (!s.empty() && (s.back() == '\n' || s.back() == '.' || s.back() == ' ')) s.pop_back();
  return s;
}

bool read_whole_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// The files in `dir` ending in `suffix`, sorted.
std::vector<std::string> files_with_suffix(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n.size() > suffix.size() && n.substr(n.size() - suffix.size()) == suffix) out.emplace_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// What a cert_dir contributes to a transfer; loaded once per directory.
struct CertConfig {
  std::string ca_pem;  // system bundle + *.crt, empty when there are no *.crt
  std::string client_cert, client_key;
};

// A byte buffer that is never zeroed: upload chunks are filled by a reader.
struct UploadBuffer {
  std::unique_ptr<std::byte[]> data;
  size_t cap = 0;
  size_t size = 0;
  void reserve(size_t n) {
    if (cap >= n) return;
    data = std::make_unique_for_overwrite<std::byte[]>(n);
    cap = n;
  }
};

enum class BodyMode : uint8_t { kUndecided, kSink, kDiscard, kErrorBody };

struct Transfer {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {};

  // Set before submission, read-only afterwards.
  std::string method;
  std::string url;
  std::optional<uint64_t> range_from;
  std::optional<uint64_t> max_body;
  bool follow_redirects = true;
  const std::string* body = nullptr;  // string upload
  size_t body_pos = 0;                // loop thread
  bool reader_body = false;
  const FileBody* file = nullptr;      // file upload, read by the loop thread
  uint64_t file_pos = 0;               // loop thread
  std::atomic<uint64_t> file_sent{0};  // file_pos, for the caller's progress reports
  size_t buffer_cap = 0;
  size_t wake_bytes = 0;  // the caller is woken once this much body is buffered

  // Loop thread only while in flight; the caller reads them once done.
  Response resp;
  BodyMode mode = BodyMode::kUndecided;
  uint64_t skip = 0;       // bytes of a 200 to drop (Range ignored)
  uint64_t delivered = 0;  // 2xx body bytes accepted
  std::optional<Error> loop_error;

  // Shared, under mu.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::byte> down;  // body bytes for the caller
  bool down_paused = false;
  UploadBuffer up;  // upload bytes from the caller
  size_t up_pos = 0;
  bool up_eof = false;
  bool up_paused = false;
  bool up_wanted = false;
  bool aborting = false;
  std::optional<Error> caller_error;  // sink or reader failure, cancellation
  bool done = false;
  CURLcode result = CURLE_OK;
};

int status_from_line(std::string_view line, std::string& reason) {
  // "HTTP/1.1 200 OK" or "HTTP/2 200"
  auto sp = line.find(' ');
  if (sp == std::string_view::npos) return 0;
  std::string_view rest = line.substr(sp + 1);
  auto sp2 = rest.find(' ');
  auto code = parse_u64(trim(rest.substr(0, sp2)));
  reason = sp2 == std::string_view::npos ? "" : std::string(trim(rest.substr(sp2 + 1)));
  return code && *code < 1000 ? int(*code) : 0;
}

size_t on_header(char* p, size_t size, size_t n, void* ud) {
  auto& t = *static_cast<Transfer*>(ud);
  std::string_view line(p, size * n);
  std::string_view tl = trim(line);
  if (tl.starts_with("HTTP/")) {
    // A new response (after 1xx, or after a proxy's CONNECT reply): start over.
    t.resp.headers.clear();
    t.resp.status = status_from_line(tl, t.resp.reason);
    return size * n;
  }
  auto colon = tl.find(':');
  if (colon != std::string_view::npos && colon > 0)
    t.resp.headers.add(std::string(trim(tl.substr(0, colon))), std::string(trim(tl.substr(colon + 1))));
  return size * n;
}

// Decides, at the first body byte of the final response, where the body goes.
bool decide_mode(Transfer& t) {
  int st = t.resp.status;
  if (st == 0) {
    long code = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &code);
    st = t.resp.status = int(code);
  }
  if (st >= 200 && st < 300) {
    t.mode = BodyMode::kSink;
    if (t.range_from && *t.range_from > 0) {
      if (st == 206) {
        // "bytes 100-199/200": the first byte must be the one we asked for.
        auto cr = t.resp.headers.get("Content-Range").value_or("");
        uint64_t start = 0;
        bool ok = false;
        if (cr.starts_with("bytes ")) {
          auto dash = cr.find('-');
          if (auto v = parse_u64(trim(cr.substr(6, dash == std::string_view::npos ? 0 : dash - 6)))) {
            start = *v;
            ok = true;
          }
        }
        if (!ok || start != *t.range_from) {
          t.loop_error = Error(Errc::kInvalidArgument,
                               fmt::format("{} {}: server answered range request for byte {} with '{}'", t.method,
                                           redact_url(t.url), *t.range_from, cr));
          return false;
        }
      } else {
        t.skip = *t.range_from;
      }
    }
  } else if (st >= 300 && st < 400 && t.follow_redirects) {
    t.mode = BodyMode::kDiscard;
  } else {
    t.mode = BodyMode::kErrorBody;
  }
  return true;
}

size_t on_write(char* p, size_t size, size_t n, void* ud) {
  auto& t = *static_cast<Transfer*>(ud);
  size_t len = size * n;
  if (t.mode == BodyMode::kUndecided && !decide_mode(t)) return 0;
  if (t.mode == BodyMode::kDiscard) return len;
  if (t.mode == BodyMode::kErrorBody) {
    size_t room = kMaxErrorBody - std::min(kMaxErrorBody, t.resp.error_body.size());
    t.resp.error_body.append(p, std::min(room, len));
    return len;
  }
  // Nothing may change before a CURL_WRITEFUNC_PAUSE: curl hands the same bytes
  // again after the unpause.
  size_t k = size_t(std::min<uint64_t>(t.skip, len));
  size_t rest = len - k;
  if (rest > 0 && t.max_body && t.delivered + rest > *t.max_body) {
    t.loop_error = Error(Errc::kInvalidArgument, fmt::format("{} {}: response body is larger than {} bytes", t.method,
                                                             redact_url(t.url), *t.max_body));
    return 0;
  }
  std::lock_guard lk(t.mu);
  if (t.aborting) return 0;
  if (rest > 0 && !t.down.empty() && t.down.size() + rest > t.buffer_cap) {
    t.down_paused = true;
    t.cv.notify_all();
    return CURL_WRITEFUNC_PAUSE;
  }
  t.skip -= k;
  if (rest > 0) {
    auto* b = reinterpret_cast<const std::byte*>(p + k);
    // Both buffers of the hand-off get their full size once, so an append never
    // reallocates (and copies) what is already there.
    if (t.down.capacity() < t.buffer_cap) t.down.reserve(t.buffer_cap + CURL_MAX_WRITE_SIZE);
    size_t before = t.down.size();
    t.down.insert(t.down.end(), b, b + rest);
    t.delivered += rest;
    // The caller wakes for a batch, not for every network read: fewer context
    // switches, and writes large enough to go to the file without another copy.
    if (before < t.wake_bytes && t.down.size() >= t.wake_bytes) t.cv.notify_all();
  }
  return len;
}

size_t read_file_body(Transfer& t, char* buf, size_t len) {
  const FileBody& f = *t.file;
  size_t want = size_t(std::min<uint64_t>(len, f.length() - t.file_pos));
  if (want == 0) return 0;
  ssize_t k;
  do {
    k = ::pread(f.fd(), buf, want, off_t(f.offset() + t.file_pos));
  } while (k < 0 && errno == EINTR);
  if (k <= 0) {
    t.loop_error = k < 0 ? Error::from_errno(errno, fmt::format("{} {}: cannot read the upload body", t.method,
                                                                  redact_url(t.url)))
                         : Error(Errc::kInvalidArgument,
                                 fmt::format("{} {}: upload body ended after {} of {} bytes", t.method,
                                             redact_url(t.url), t.file_pos, f.length()));
    return CURL_READFUNC_ABORT;
  }
  t.file_pos += uint64_t(k);
  t.file_sent.store(t.file_pos, std::memory_order_relaxed);
  return size_t(k);
}

size_t on_read(char* buf, size_t size, size_t n, void* ud) {
  auto& t = *static_cast<Transfer*>(ud);
  size_t len = size * n;
  if (t.file) return read_file_body(t, buf, len);
  if (!t.reader_body) {
    size_t k = std::min(len, t.body->size() - t.body_pos);
    std::memcpy(buf, t.body->data() + t.body_pos, k);
    t.body_pos += k;
    return k;
  }
  std::lock_guard lk(t.mu);
  if (t.aborting) return CURL_READFUNC_ABORT;
  if (t.up_pos < t.up.size) {
    size_t k = std::min(len, t.up.size - t.up_pos);
    std::memcpy(buf, t.up.data.get() + t.up_pos, k);
    t.up_pos += k;
    if (t.up_pos == t.up.size) {
      t.up.size = 0;
      t.up_pos = 0;
      if (!t.up_eof) {
        t.up_wanted = true;  // ask for more before curl needs it
        t.cv.notify_all();
      }
    }
    return k;
  }
  if (t.up_eof) return 0;
  t.up_wanted = true;
  t.up_paused = true;
  t.cv.notify_all();
  return CURL_READFUNC_PAUSE;
}

int on_seek(void* ud, curl_off_t offset, int origin) {
  // curl rewinds a string body when it must resend it (e.g. after a 401 on a
  // reused connection); a reader body cannot be rewound.
  auto& t = *static_cast<Transfer*>(ud);
  if (t.file && origin == SEEK_SET && offset >= 0 && uint64_t(offset) <= t.file->length()) {
    t.file_pos = uint64_t(offset);
    return CURL_SEEKFUNC_OK;
  }
  if (t.file || t.reader_body || origin != SEEK_SET || offset < 0 || size_t(offset) > t.body->size())
    return CURL_SEEKFUNC_CANTSEEK;
  t.body_pos = size_t(offset);
  return CURL_SEEKFUNC_OK;
}

Errc errc_for_curl(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
      return Errc::kUnavailable;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return Errc::kInvalidArgument;
    case CURLE_ABORTED_BY_CALLBACK:
      return Errc::kCancelled;
    default:
      return Errc::kIo;
  }
}

}  // namespace

struct Client::Impl {
  ClientOptions opts;
  CURLM* multi = nullptr;
  CURLSH* share = nullptr;
  std::mutex share_mu[CURL_LOCK_DATA_LAST];

  std::mutex cmd_mu;
  struct Command {
    enum Kind : uint8_t { kAdd, kUnpause, kAbort } kind;
    uint64_t id;
    Transfer* t;  // kAdd only
  };
  std::deque<Command> commands;
  bool stopping = false;
  std::atomic<uint64_t> next_id{1};

  std::mutex cert_mu;
  std::map<std::string, std::shared_ptr<const CertConfig>> certs;
  std::string system_ca_path;

  std::unordered_map<uint64_t, Transfer*> active;  // loop thread only
  std::thread loop;

  explicit Impl(ClientOptions o) : opts(std::move(o)) {
    std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_ALL); });
    multi = curl_multi_init();
    share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, +[](CURL*, curl_lock_data d, curl_lock_access, void* u) {
      static_cast<Impl*>(u)->share_mu[d].lock();
    });
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, +[](CURL*, curl_lock_data d, void* u) {
      static_cast<Impl*>(u)->share_mu[d].unlock();
    });
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    {
      // Where curl's own CA bundle lives, to combine it with a cert_dir's *.crt.
      CURL* e = curl_easy_init();
      char* path = nullptr;
      if (e && curl_easy_getinfo(e, CURLINFO_CAINFO, &path) == CURLE_OK && path) system_ca_path = path;
      if (e) curl_easy_cleanup(e);
    }
    loop = std::thread([this] { run(); });
  }

  ~Impl() {
    {
      std::lock_guard lk(cmd_mu);
      stopping = true;
    }
    curl_multi_wakeup(multi);
    loop.join();
    curl_multi_cleanup(multi);
    curl_share_cleanup(share);
  }

  void post(Command c) {
    {
      std::lock_guard lk(cmd_mu);
      commands.push_back(c);
    }
    curl_multi_wakeup(multi);
  }

  // Loop thread: removes the handle, records the outcome, frees curl state and
  // wakes the caller. The transfer may be destroyed as soon as mu is released.
  void finish(Transfer* t, CURLcode rc) {
    curl_multi_remove_handle(multi, t->easy);
    active.erase(t->id);
    char* eff = nullptr;
    if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff) t->resp.effective_url = eff;
    if (t->resp.status == 0) {
      long code = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
      t->resp.status = int(code);
    }
    curl_easy_cleanup(t->easy);
    t->easy = nullptr;
    curl_slist_free_all(t->header_list);
    t->header_list = nullptr;
    std::lock_guard lk(t->mu);
    t->result = rc;
    t->done = true;
    t->cv.notify_all();  // under the lock: the waiter cannot free t before we let go
  }

  void run() {
    for (;;) {
      std::deque<Command> cmds;
      {
        std::lock_guard lk(cmd_mu);
        if (stopping && active.empty() && commands.empty()) return;
        cmds.swap(commands);
      }
      for (auto& c : cmds) {
        if (c.kind == Command::kAdd) {
          active[c.id] = c.t;
          if (CURLMcode mc = curl_multi_add_handle(multi, c.t->easy); mc != CURLM_OK) {
            active.erase(c.id);
            std::snprintf(c.t->errbuf, sizeof c.t->errbuf, "%s", curl_multi_strerror(mc));
            // Not added: finish() would remove a handle the multi never had; harmless.
            finish(c.t, CURLE_FAILED_INIT);
          }
          continue;
        }
        auto it = active.find(c.id);
        if (it == active.end()) continue;  // already finished
        if (c.kind == Command::kUnpause)
          curl_easy_pause(it->second->easy, CURLPAUSE_CONT);
        else
          finish(it->second, CURLE_ABORTED_BY_CALLBACK);
      }
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        Transfer* t = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
        CURLcode rc = m->data.result;
        if (t) finish(t, rc);
      }
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }

  std::shared_ptr<const CertConfig> cert_config(const std::string& dir) {
    std::lock_guard lk(cert_mu);
    if (auto it = certs.find(dir); it != certs.end()) return it->second;
    auto c = std::make_shared<CertConfig>();
    auto crts = files_with_suffix(dir, ".crt");
    if (!crts.empty()) {
      std::string pem;
      if (!system_ca_path.empty() && !read_whole_file(system_ca_path, pem))
        log::debug("cannot read the system CA bundle '{}'", system_ca_path);
      for (const auto& f : crts) {
        std::string one;
        if (read_whole_file(dir + "/" + f, one)) {
          pem += "\n";
          pem += one;
        }
      }
      c->ca_pem = std::move(pem);
    }
    for (const auto& f : files_with_suffix(dir, ".cert")) {
      std::string key = dir + "/" + f.substr(0, f.size() - 5) + ".key";
      if (access(key.c_str(), R_OK) == 0) {
        c->client_cert = dir + "/" + f;
        c->client_key = key;
        break;
      }
    }
    certs.emplace(dir, c);
    return c;
  }

  struct Hop {
    std::string method;
    std::string url;
    const Headers* headers;
    bool send_body;
  };

  Result<Response> perform_once(const Request& req, const Hop& hop, io::Writer* sink, std::optional<uint64_t> max_body);
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;
const ClientOptions& Client::options() const { return impl_->opts; }

Result<Response> Client::Impl::perform_once(const Request& req, const Hop& hop, io::Writer* sink,
                                             std::optional<uint64_t> max_body) {
  Transfer t;
  t.id = next_id++;
  t.method = hop.method;
  t.url = hop.url;
  t.range_from = req.range_from;
  t.max_body = max_body;
  t.follow_redirects = req.follow_redirects;
  t.buffer_cap = std::max<size_t>(opts.buffer_bytes, 64 * 1024);
  t.wake_bytes = std::min<size_t>(t.buffer_cap / 4, 256 * 1024);
  t.resp.method = hop.method;
  t.easy = curl_easy_init();
  if (!t.easy) return fail(Errc::kInternal, "cannot create a curl handle");
  CURL* e = t.easy;
  auto cleanup_unsubmitted = [&] {
    curl_easy_cleanup(t.easy);
    curl_slist_free_all(t.header_list);
  };

  const TlsOptions& tls = req.tls ? *req.tls : opts.tls;
  curl_easy_setopt(e, CURLOPT_URL, hop.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_SHARE, share);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, opts.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, long(opts.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, long(opts.low_speed_limit));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, long(opts.low_speed_time.count()));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 128L * 1024);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  if (!tls.cert_dir.empty()) {
    auto cc = cert_config(tls.cert_dir);
    if (!cc->ca_pem.empty()) {
      curl_blob blob{const_cast<char*>(cc->ca_pem.data()), cc->ca_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (!cc->client_cert.empty()) {
      curl_easy_setopt(e, CURLOPT_SSLCERT, cc->client_cert.c_str());
      curl_easy_setopt(e, CURLOPT_SSLKEY, cc->client_key.c_str());
    }
  }

  // Method and body.
  bool upload = false;
  if (hop.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (hop.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, hop.method.c_str());
    upload = hop.send_body && (req.body_reader || !req.body.empty() || hop.method == "POST" ||
                               hop.method == "PUT" || hop.method == "PATCH");
  }
  if (upload) {
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, &t);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, &t);
    if (const auto* f = dynamic_cast<const FileBody*>(req.body_reader)) {
      if (req.body_length && *req.body_length != f->length()) {
        cleanup_unsubmitted();
        return fail(Errc::kInternal, fmt::format("{} {}: body_length {} but the file body has {} bytes", hop.method,
                                                 redact_url(hop.url), *req.body_length, f->length()));
      }
      t.file = f;
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, curl_off_t(f->length()));
      curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBuffer);
    } else if (req.body_reader) {
      t.reader_body = true;
      if (req.body_length) curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, curl_off_t(*req.body_length));
      curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBuffer);
    } else {
      t.body = &req.body;
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, curl_off_t(req.body.size()));
    }
  }

  for (const auto& [name, value] : hop.headers->fields())
    t.header_list = curl_slist_append(t.header_list, fmt::format("{}: {}", name, value).c_str());
  if (req.range_from && *req.range_from > 0)
    t.header_list = curl_slist_append(t.header_list, fmt::format("Range: bytes={}-", *req.range_from).c_str());
  // No "Expect: 100-continue" round trip before uploads.
  if (upload) t.header_list = curl_slist_append(t.header_list, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.header_list);

  // Upload state: pre-fill the first chunk so curl need not pause at once.
  uint64_t up_total = 0;
  UploadBuffer chunk;
  auto fill_upload = [&]() -> Result<> {
    size_t want = kUploadChunk;
    if (req.body_length) want = size_t(std::min<uint64_t>(want, *req.body_length - up_total));
    chunk.reserve(kUploadChunk);
    size_t got = 0;
    while (got < want) {
      size_t k = HOIST_TRY(req.body_reader->read(std::span(chunk.data.get() + got, want - got)));
      if (k == 0) break;
      got += k;
    }
    up_total += got;
    bool eof = got < want || (req.body_length && up_total == *req.body_length);
    if (got < want && req.body_length && up_total < *req.body_length)
      return fail(Errc::kInvalidArgument, fmt::format("{} {}: upload body ended after {} of {} bytes", hop.method,
                                                      redact_url(hop.url), up_total, *req.body_length));
    std::lock_guard lk(t.mu);
    // The loop asks for more only once it has taken everything: hand it the
    // filled buffer instead of copying it, and keep its drained one.
    if (t.up.size != 0)
      return fail(Errc::kInternal, fmt::format("{} {}: upload chunk read before the last was sent", hop.method,
                                               redact_url(hop.url)));
    chunk.size = got;
    std::swap(t.up, chunk);
    t.up_pos = 0;
    t.up_eof = eof;
    t.up_wanted = false;
    return {};
  };
  if (upload && t.reader_body) {
    if (auto r = fill_upload(); !r) {
      cleanup_unsubmitted();
      return fail(std::move(r).error());
    }
  }

  post({Command::kAdd, t.id, &t});
  auto abort_with = [&](Error err) {
    {
      std::lock_guard lk(t.mu);
      if (t.caller_error) return;
      t.caller_error = std::move(err);
      t.aborting = true;
    }
    post({Command::kAbort, t.id, nullptr});
  };
  auto cancel = [&] {
    abort_with(Error(Errc::kCancelled, fmt::format("{} {}: cancelled", hop.method, redact_url(hop.url))));
  };
  std::optional<std::stop_callback<std::function<void()>>> on_stop, on_file_stop;
  if (req.stop.stop_possible()) on_stop.emplace(req.stop, std::function<void()>(cancel));
  if (t.file && t.file->stop.stop_possible()) on_file_stop.emplace(t.file->stop, std::function<void()>(cancel));
  bool file_progress = t.file && t.file->on_progress;

  std::vector<std::byte> local;
  for (;;) {
    std::unique_lock lk(t.mu);
    auto ready = [&] {
      return t.done || t.down.size() >= t.wake_bytes || t.down_paused || (t.up_wanted && !t.aborting);
    };
    if (file_progress) {
      if (!t.cv.wait_for(lk, std::chrono::milliseconds(250), ready)) {
        lk.unlock();
        t.file->on_progress(t.file_sent.load(std::memory_order_relaxed));
        continue;
      }
    } else {
      t.cv.wait(lk, ready);
    }
    if (!t.down.empty()) {
      if (local.capacity() < t.buffer_cap) local.reserve(t.buffer_cap + CURL_MAX_WRITE_SIZE);
      local.clear();
      local.swap(t.down);
      bool unpause = std::exchange(t.down_paused, false);
      bool failed = t.aborting;
      lk.unlock();
      if (unpause) post({Command::kUnpause, t.id, nullptr});
      if (!failed && sink) {
        if (auto r = sink->write(local); !r) abort_with(std::move(r).error());
      }
      continue;
    }
    if (t.up_wanted && !t.aborting && !t.done) {
      lk.unlock();
      if (auto r = fill_upload(); !r) {
        abort_with(std::move(r).error());
        continue;
      }
      bool unpause = false;
      {
        std::lock_guard lk2(t.mu);
        unpause = std::exchange(t.up_paused, false);
      }
      if (unpause) post({Command::kUnpause, t.id, nullptr});
      continue;
    }
    if (t.done) break;
  }
  on_stop.reset();
  on_file_stop.reset();

  // The loop is done with t; everything below is this thread's.
  if (t.caller_error) return fail(std::move(*t.caller_error));
  if (t.loop_error) return fail(std::move(*t.loop_error));
  if (t.result != CURLE_OK) {
    std::string detail = t.errbuf[0] ? t.errbuf : curl_easy_strerror(t.result);
    return fail(errc_for_curl(t.result),
                fmt::format("{} {}: {}", hop.method, redact_url(hop.url), lower_first(detail)));
  }
  // A 2xx with an empty body never reaches on_write; still check the range.
  if (t.mode == BodyMode::kUndecided && req.range_from && *req.range_from > 0 && t.resp.status == 200 &&
      hop.method != "HEAD")
    return fail(Errc::kInvalidArgument, fmt::format("{} {}: server ignored the range request for byte {} and sent "
                                                    "an empty body",
                                                    hop.method, redact_url(hop.url), *req.range_from));
  if (t.skip > 0 && t.mode == BodyMode::kSink)
    return fail(Errc::kUnavailable, fmt::format("{} {}: body ended before byte {}", hop.method, redact_url(hop.url),
                                                *req.range_from));
  if (t.resp.reason.empty()) t.resp.reason = std::string(reason_phrase(t.resp.status));
  t.resp.bytes_received = t.delivered;
  if (t.resp.effective_url.empty()) t.resp.effective_url = hop.url;
  return std::move(t.resp);
}

Result<Response> Client::perform(const Request& req, io::Writer* body_sink, std::optional<uint64_t> max_body) {
  auto origin = HOIST_TRY(parse_url(req.url));
  Headers headers = req.headers;
  Impl::Hop hop{req.method, req.url, &headers, true};
  bool dropped_credentials = false;
  for (int redirects = 0;; ++redirects) {
    Response resp = HOIST_TRY(impl_->perform_once(req, hop, body_sink, max_body));
    resp.redirects = redirects;
    int st = resp.status;
    bool is_redirect = st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
    auto location = resp.headers.get("Location");
    if (!req.follow_redirects || !is_redirect || !location) return resp;
    if (redirects >= impl_->opts.max_redirects)
      return fail(Errc::kInvalidArgument, fmt::format("{} {}: too many redirects ({})", req.method,
                                                      redact_url(req.url), impl_->opts.max_redirects));
    std::string next = HOIST_TRY(resolve_url(hop.url, *location));
    auto next_parts = HOIST_TRY(parse_url(next));
    if (!dropped_credentials && !same_origin(origin, next_parts)) {
      // Security: the registry's credentials are for the registry only.
      headers.remove("Authorization");
      headers.remove("Cookie");
      dropped_credentials = true;
    }
    if (st == 303 || ((st == 301 || st == 302) && hop.method == "POST")) {
      hop.method = hop.method == "HEAD" ? "HEAD" : "GET";
      hop.send_body = false;
      headers.remove("Content-Type");
    } else if (hop.send_body && req.body_reader) {
      return fail(Errc::kUnsupported, fmt::format("{} {}: cannot resend the upload body to the {} redirect to '{}'",
                                                  hop.method, redact_url(hop.url), st, redact_url(next)));
    }
    log::debug("{} {}: HTTP {} redirect to {}", hop.method, redact_url(hop.url), st, redact_url(next));
    hop.url = std::move(next);
  }
}

Result<size_t> FileBody::read(std::span<std::byte> buf) {
  size_t want = size_t(std::min<uint64_t>(buf.size(), length_ - pos_));
  if (want == 0) return size_t(0);
  ssize_t k;
  do {
    k = ::pread(fd_, buf.data(), want, off_t(offset_ + pos_));
  } while (k < 0 && errno == EINTR);
  if (k < 0) return fail(Error::from_errno(errno, "cannot read the upload body"));
  if (k == 0)
    return fail(Errc::kInvalidArgument, fmt::format("upload body ended after {} of {} bytes", pos_, length_));
  pos_ += uint64_t(k);
  return size_t(k);
}

Errc errc_for_status(int status) {
  switch (status) {
    case 401: return Errc::kUnauthorized;
    case 403: return Errc::kDenied;
    case 404: return Errc::kNotFound;
    case 405:
    case 501: return Errc::kUnsupported;
    case 408:
    case 429: return Errc::kUnavailable;
    case 409: return Errc::kAlreadyExists;
    default: break;
  }
  if (status >= 500) return Errc::kUnavailable;
  return Errc::kInvalidArgument;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

Error status_error(const Response& resp) {
  std::string reason = resp.reason.empty() ? std::string(reason_phrase(resp.status)) : resp.reason;
  std::string msg = fmt::format("{} {}: HTTP {}", resp.method.empty() ? "GET" : resp.method,
                                redact_url(resp.effective_url), resp.status);
  if (!reason.empty()) msg += " " + reason;
  return Error(errc_for_status(resp.status), std::move(msg)).with_http(resp.status, "");
}

}  // namespace hoist::http
