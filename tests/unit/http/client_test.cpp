#include "http/client.h"

#include <doctest/doctest.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <filesystem>
#include <stop_token>
#include <thread>

#include "http/retry.h"
#include "http/url.h"
#include "digest/digest.h"
#include "io/memory.h"
#include "unit/http/subprocess.h"

using namespace hoist;
using namespace std::chrono_literals;

namespace {

std::string pattern(size_t n, size_t start = 0) {
  std::string s;
  s.reserve(n);
  for (size_t i = start; i < start + n; ++i) s += char((i * 7 + 3) % 251);
  return s;
}

// One python server for the whole binary; killed at exit (or by PDEATHSIG).
struct Server {
  test::Subprocess proc;
  int port = 0;
  Server()
      : proc({test::python3(), (std::filesystem::path(__FILE__).parent_path() / "test_server.py").string()}) {
    auto line = proc.first_line();
    port = line.empty() ? 0 : std::stoi(line);
  }
  std::string url(std::string_view path, std::string_view host = "127.0.0.1") const {
    return fmt::format("http://{}:{}{}", host, port, path);
  }
};

Server& server() {
  static Server s;
  REQUIRE(s.port > 0);
  return s;
}

http::Client& client() {
  static http::Client c;
  return c;
}

http::Request get(std::string url) {
  http::Request r;
  r.url = std::move(url);
  return r;
}

// Fails after accepting `limit` bytes.
class FailingWriter : public io::Writer {
 public:
  explicit FailingWriter(size_t limit) : limit_(limit) {}
  Result<> write(std::span<const std::byte> d) override {
    if (seen_ + d.size() > limit_) return fail(Errc::kIo, "disk full");
    seen_ += d.size();
    return {};
  }
  size_t seen_ = 0;

 private:
  size_t limit_;
};

// Sleeps on each write so the loop must pause the transfer.
class SlowWriter : public io::Writer {
 public:
  Result<> write(std::span<const std::byte> d) override {
    std::this_thread::sleep_for(2ms);
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
    return {};
  }
  std::string out;
};

}  // namespace

TEST_CASE("GET streams the body to the sink") {
  io::StringWriter sink;
  auto r = client().perform(get(server().url("/bytes?n=300000")), &sink);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->ok());
  CHECK(r->bytes_received == 300000);
  CHECK(r->headers.get("content-length") == "300000");
  CHECK(r->headers.get("CONTENT-TYPE") == "application/octet-stream");
  CHECK(sink.str() == pattern(300000));
  CHECK(r->effective_url == server().url("/bytes?n=300000"));
}

TEST_CASE("HEAD returns headers and no body") {
  io::StringWriter sink;
  auto req = get(server().url("/bytes?n=1234"));
  req.method = "HEAD";
  auto r = client().perform(req, &sink);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->headers.get("Content-Length") == "1234");
  CHECK(sink.str().empty());
}

TEST_CASE("Range: 206 resumes, a server ignoring Range has the prefix skipped, a wrong 206 fails") {
  auto req = get(server().url("/bytes?n=50000"));
  req.range_from = 12345;
  io::StringWriter a;
  auto r = client().perform(req, &a);
  REQUIRE(r.has_value());
  CHECK(r->status == 206);
  CHECK(a.str() == pattern(50000 - 12345, 12345));
  CHECK(r->bytes_received == 50000 - 12345);

  req.url = server().url("/norange?n=50000");
  io::StringWriter b;
  r = client().perform(req, &b);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(b.str() == pattern(50000 - 12345, 12345));

  req.url = server().url("/badrange?n=50000");
  io::StringWriter c;
  r = client().perform(req, &c);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == Errc::kInvalidArgument);
  CHECK(c.str().empty());
}

TEST_CASE("max_body aborts a long body") {
  io::StringWriter sink;
  auto r = client().perform(get(server().url("/bytes?n=500000")), &sink, 100000);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == Errc::kInvalidArgument);
  CHECK(r.error().message().find("larger than 100000 bytes") != std::string::npos);
  CHECK(sink.str().size() <= 100000);
  // Exactly at the cap is fine.
  io::StringWriter ok;
  CHECK(client().perform(get(server().url("/bytes?n=1000")), &ok, 1000).has_value());
}

TEST_CASE("a non-2xx body goes to error_body, not the sink") {
  io::StringWriter sink;
  auto r = client().perform(get(server().url("/status/404?x=secret")), &sink);
  REQUIRE(r.has_value());
  CHECK(r->status == 404);
  CHECK(sink.str().empty());
  CHECK(r->error_body.find("\"TEST\"") != std::string::npos);
  auto e = http::status_error(*r);
  CHECK(e.code() == Errc::kNotFound);
  CHECK(e.http_status() == 404);
  CHECK(e.message() == fmt::format("GET http://127.0.0.1:{}/status/404: HTTP 404 Not Found", server().port));
  CHECK(http::errc_for_status(500) == Errc::kUnavailable);
  CHECK(http::errc_for_status(501) == Errc::kUnsupported);
  CHECK(http::errc_for_status(429) == Errc::kUnavailable);
  CHECK(http::errc_for_status(401) == Errc::kUnauthorized);
  CHECK(http::errc_for_status(403) == Errc::kDenied);
}

TEST_CASE("a sink error aborts the transfer and is returned") {
  FailingWriter sink(100000);
  auto r = client().perform(get(server().url("/bytes?n=2000000")), &sink);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == Errc::kIo);
  CHECK(r.error().message() == "disk full");
  // The client still works afterwards.
  io::StringWriter ok;
  CHECK(client().perform(get(server().url("/bytes?n=10")), &ok).has_value());
}

TEST_CASE("a slow sink pauses the transfer without losing bytes") {
  http::ClientOptions o;
  o.buffer_bytes = 64 * 1024;
  http::Client c(o);
  SlowWriter sink;
  auto r = c.perform(get(server().url("/bytes?n=2000000")), &sink);
  REQUIRE(r.has_value());
  CHECK(sink.out.size() == 2000000);
  CHECK(sink.out == pattern(2000000));
}

TEST_CASE("concurrent requests from several threads") {
  std::atomic<int> good{0};
  std::mutex mu;
  std::vector<std::string> errors;
  std::string base = server().url("/bytes");
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        size_t n = 100000 + size_t(t) * 1000 + size_t(i);
        io::StringWriter sink;
        auto r = client().perform(get(fmt::format("{}?n={}", base, n)), &sink);
        if (r && r->status == 200 && sink.str() == pattern(n)) {
          ++good;
        } else {
          std::lock_guard lk(mu);
          errors.push_back(r ? fmt::format("status {} size {}", r->status, sink.str().size()) : r.error().message());
        }
      }
    });
  }
  threads.clear();
  for (auto& e : errors) MESSAGE(e);
  CHECK(good == 20);
}

TEST_CASE("redirects keep credentials on the same origin and drop them across origins") {
  auto echo_same = server().url("/headers");
  auto req = get(server().url("/redirect?to=" + http::url_escape(echo_same)));
  req.headers.add("Authorization", "Bearer sekrit");
  req.headers.add("X-Other", "kept");
  io::StringWriter a;
  auto r = client().perform(req, &a);
  REQUIRE(r.has_value());
  CHECK(r->redirects == 1);
  auto j = nlohmann::json::parse(a.str());
  CHECK(j.value("authorization", "") == "Bearer sekrit");

  // 127.0.0.1 -> localhost: another host, so another origin.
  auto echo_other = server().url("/headers", "localhost");
  req.url = server().url("/redirect?code=307&to=" + http::url_escape(echo_other));
  io::StringWriter b;
  r = client().perform(req, &b);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->effective_url == echo_other);
  j = nlohmann::json::parse(b.str());
  CHECK(!j.contains("authorization"));
  CHECK(j.value("x-other", "") == "kept");

  // Relative Location, not followed when told so.
  req.url = server().url("/redirect?to=/headers");
  req.follow_redirects = false;
  io::StringWriter c;
  r = client().perform(req, &c);
  REQUIRE(r.has_value());
  CHECK(r->status == 302);
  CHECK(c.str().empty());
  CHECK(r->headers.get("Location") == "/headers");
}

TEST_CASE("a redirect loop stops after max_redirects") {
  http::ClientOptions o;
  o.max_redirects = 3;
  http::Client c(o);
  // Redirects to itself forever.
  std::string self = server().url("/redirect?to=");
  std::string url = self + http::url_escape(self + http::url_escape(self + http::url_escape(self + "x")));
  auto r = c.perform(get(server().url("/redirect?to=/redirect%3Fto%3D/redirect%253Fto%253D/headers")));
  REQUIRE(r.has_value());  // three hops: allowed
  CHECK(r->redirects == 3);
  r = c.perform(get(url));
  REQUIRE(!r.has_value());
  CHECK(r.error().message().find("too many redirects (3)") != std::string::npos);
}

TEST_CASE("uploads: string body, reader body with length, chunked reader, empty POST") {
  std::string data = pattern(700000);
  auto sha = [&](std::string_view s) { return digest::sha256_of(s).hex(); };

  http::Request put = get(server().url("/upload"));
  put.method = "PUT";
  put.body = data;
  io::StringWriter a;
  auto r = client().perform(put, &a);
  REQUIRE(r.has_value());
  CHECK(r->status == 201);
  auto j = nlohmann::json::parse(a.str());
  CHECK(j["method"] == "PUT");
  CHECK(j["length"] == 700000);
  CHECK(j["sha256"] == sha(data));

  io::StringReader reader(data);
  http::Request patch = get(server().url("/upload"));
  patch.method = "PATCH";
  patch.body_reader = &reader;
  patch.body_length = data.size();
  io::StringWriter b;
  r = client().perform(patch, &b);
  REQUIRE(r.has_value());
  j = nlohmann::json::parse(b.str());
  CHECK(j["method"] == "PATCH");
  CHECK(j["sha256"] == sha(data));
  CHECK(j["content_length"] == "700000");

  io::StringReader reader2(data);
  patch.body_reader = &reader2;
  patch.body_length.reset();
  io::StringWriter c;
  r = client().perform(patch, &c);
  REQUIRE(r.has_value());
  j = nlohmann::json::parse(c.str());
  CHECK(j["chunked"] == true);
  CHECK(j["sha256"] == sha(data));

  // Declared longer than the reader: refused.
  io::StringReader short_reader("abc");
  patch.body_reader = &short_reader;
  patch.body_length = 10;
  auto bad = client().perform(patch);
  REQUIRE(!bad.has_value());
  CHECK(bad.error().code() == Errc::kInvalidArgument);

  http::Request post = get(server().url("/upload"));
  post.method = "POST";
  io::StringWriter d;
  r = client().perform(post, &d);
  REQUIRE(r.has_value());
  j = nlohmann::json::parse(d.str());
  CHECK(j["method"] == "POST");
  CHECK(j["length"] == 0);
  CHECK(j["content_length"] == "0");
}

TEST_CASE("uploads: a file body is sent from its offset, as a reader too; a short file fails") {
  std::string data = pattern(1500000);
  char path[] = "/tmp/hoist-filebody-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  ::unlink(path);
  REQUIRE(::write(fd, data.data(), data.size()) == ssize_t(data.size()));
  auto sha = [&](std::string_view s) { return digest::sha256_of(s).hex(); };

  http::FileBody body(fd, 1000, 1200000);
  http::Request put = get(server().url("/upload"));
  put.method = "PUT";
  put.body_reader = &body;
  io::StringWriter a;
  auto r = client().perform(put, &a);
  REQUIRE_MESSAGE(r.has_value(), r.error().message());
  auto j = nlohmann::json::parse(a.str());
  CHECK(j["length"] == 1200000);
  CHECK(j["content_length"] == "1200000");
  CHECK(j["sha256"] == sha(std::string_view(data).substr(1000, 1200000)));

  // As a plain reader: the same bytes.
  http::FileBody plain(fd, 1000, 1200000);
  std::string got;
  std::string buf(100000, '\0');
  for (;;) {
    auto n = plain.read(std::as_writable_bytes(std::span(buf.data(), buf.size())));
    REQUIRE(n.has_value());
    if (*n == 0) break;
    got.append(buf.data(), *n);
  }
  CHECK(got == data.substr(1000, 1200000));

  // A file shorter than the body: the transfer fails, saying so.
  http::FileBody past(fd, 1000000, 600000);
  put.body_reader = &past;
  auto bad = client().perform(put);
  REQUIRE(!bad.has_value());
  CHECK(bad.error().code() == Errc::kInvalidArgument);
  CHECK(bad.error().message().find("ended after 500000 of 600000 bytes") != std::string::npos);

  // Stopped: kCancelled.
  std::stop_source stop;
  stop.request_stop();
  http::FileBody stopped(fd, 0, data.size());
  stopped.stop = stop.get_token();
  put.body_reader = &stopped;
  auto cancelled = client().perform(put);
  REQUIRE(!cancelled.has_value());
  CHECK(cancelled.error().code() == Errc::kCancelled);
  ::close(fd);
}

TEST_CASE("transport failures are kUnavailable") {
  int port = test::free_port();
  auto r = client().perform(get(fmt::format("http://127.0.0.1:{}/x?token=abc", port)));
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == Errc::kUnavailable);
  CHECK(r.error().message().starts_with(fmt::format("GET http://127.0.0.1:{}/x: ", port)));

  io::StringWriter sink;
  r = client().perform(get(server().url("/truncate?n=1000&send=300")), &sink);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == Errc::kUnavailable);
  CHECK(sink.str() == pattern(300));

  auto bad = client().perform(get("ftp://example.com/x"));
  REQUIRE(!bad.has_value());
  CHECK(bad.error().code() == Errc::kInvalidArgument);
}

TEST_CASE("a stalled transfer is cut by the low-speed timeout, and stop_token cancels") {
  http::ClientOptions o;
  o.low_speed_time = 1s;
  http::Client c(o);
  io::StringWriter sink;
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.perform(get(server().url("/stall?n=100")), &sink);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == Errc::kUnavailable);
  CHECK(sink.str() == pattern(100));
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);

  std::stop_source stop;
  auto req = get(server().url("/stall?n=100"));
  req.stop = stop.get_token();
  std::jthread canceller([&] {
    std::this_thread::sleep_for(200ms);
    stop.request_stop();
  });
  t0 = std::chrono::steady_clock::now();
  r = client().perform(req);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == Errc::kCancelled);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
}

TEST_CASE("url helpers") {
  auto u = http::parse_url("HTTPS://User:pw@Registry.Example.com/v2/?q=1").value();
  CHECK(u.scheme == "https");
  CHECK(u.host == "registry.example.com");
  CHECK(u.port == 443);
  CHECK(u.path == "/v2/");
  CHECK(u.query == "q=1");
  CHECK(http::host_port(u) == "registry.example.com");
  auto v6 = http::parse_url("http://[::1]:5000/v2/").value();
  CHECK(v6.host == "::1");
  CHECK(http::host_port(v6) == "[::1]:5000");
  CHECK(!http::parse_url("ftp://x/").has_value());
  CHECK(!http::parse_url("not a url").has_value());

  CHECK(http::resolve_url("http://a:5000/v2/x/blobs/y", "/other?z=1").value() == "http://a:5000/other?z=1");
  CHECK(http::resolve_url("http://a/v2/x/", "uploads/1").value() == "http://a/v2/x/uploads/1");
  CHECK(http::resolve_url("http://a/v2/", "https://s3.example/b?sig=1").value() == "https://s3.example/b?sig=1");

  CHECK(http::redact_url("https://u:p@h:1/a/b?X-Amz-Signature=s#f") == "https://h:1/a/b");
  CHECK(http::same_origin(http::parse_url("http://a/x").value(), http::parse_url("http://A:80/y").value()));
  CHECK(!http::same_origin(http::parse_url("http://a/x").value(), http::parse_url("https://a/x").value()));
  CHECK(!http::same_origin(http::parse_url("http://a:1/x").value(), http::parse_url("http://a:2/x").value()));
  CHECK(http::url_escape("repository:a/b:pull,push") == "repository%3Aa%2Fb%3Apull%2Cpush");
}

TEST_CASE("headers are case-insensitive and multi-valued") {
  http::Headers h;
  h.add("WWW-Authenticate", "Bearer realm=\"x\"");
  h.add("www-authenticate", "Basic realm=\"y\"");
  h.add("Content-Type", "a");
  CHECK(h.get("Www-Authenticate") == "Bearer realm=\"x\"");
  CHECK(h.get_all("WWW-AUTHENTICATE").size() == 2);
  h.set("content-type", "b");
  CHECK(h.get_all("Content-Type").size() == 1);
  CHECK(h.get("CONTENT-TYPE") == "b");
  h.remove("www-authenticate");
  CHECK(!h.contains("WWW-Authenticate"));
}
