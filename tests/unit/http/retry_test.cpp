#include "http/retry.h"

#include <doctest/doctest.h>
#include <fmt/core.h>

#include <filesystem>
#include <random>

#include "unit/http/subprocess.h"

using namespace hoist;
using namespace std::chrono_literals;

namespace {

struct RetryServer {
  test::Subprocess proc;
  int port = 0;
  RetryServer() : proc({test::python3(), (std::filesystem::path(__FILE__).parent_path() / "test_server.py").string()}) {
    auto line = proc.first_line();
    port = line.empty() ? 0 : std::stoi(line);
  }
  std::string url(std::string_view path) const { return fmt::format("http://127.0.0.1:{}{}", port, path); }
};

RetryServer& rserver() {
  static RetryServer s;
  REQUIRE(s.port > 0);
  return s;
}

std::string unique_key() {
  static std::mt19937 rng{std::random_device{}()};
  return fmt::format("k{}", rng());
}

}  // namespace

TEST_CASE("parse_retry_after") {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(http::parse_retry_after("120", now) == 120000ms);
  CHECK(http::parse_retry_after(" 0 ", now) == 0ms);
  CHECK(http::parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now) == 10000ms);
  CHECK(http::parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now) == 0ms);
  CHECK(!http::parse_retry_after("soon", now).has_value());
  CHECK(!http::parse_retry_after("", now).has_value());
  CHECK(!http::parse_retry_after("-5", now).has_value());
}

TEST_CASE("backoff_delay grows exponentially with jitter and is capped") {
  http::RetryPolicy p;
  p.base_delay = 200ms;
  p.max_delay = 1000ms;
  for (int i = 0; i < 50; ++i) {
    auto d1 = http::backoff_delay(p, 1);
    CHECK(d1 >= 100ms);
    CHECK(d1 <= 200ms);
    auto d3 = http::backoff_delay(p, 3);
    CHECK(d3 >= 400ms);
    CHECK(d3 <= 800ms);
    auto d10 = http::backoff_delay(p, 10);
    CHECK(d10 >= 500ms);
    CHECK(d10 <= 1000ms);
  }
  CHECK(http::backoff_delay(p, 1, 5000ms) == 1000ms);
  CHECK(http::backoff_delay(p, 1, 300ms) == 300ms);
}

TEST_CASE("classification") {
  CHECK(http::is_retryable_status(500));
  CHECK(http::is_retryable_status(502));
  CHECK(http::is_retryable_status(503));
  CHECK(http::is_retryable_status(429));
  CHECK(!http::is_retryable_status(501));
  CHECK(!http::is_retryable_status(404));
  CHECK(!http::is_retryable_status(401));
  CHECK(http::is_retryable(Error(Errc::kUnavailable, "x")));
  CHECK(!http::is_retryable(Error(Errc::kNotFound, "x")));
}

TEST_CASE("with_retries against a flaky server") {
  http::Client client;
  std::vector<std::chrono::milliseconds> slept;
  std::vector<int> retried;
  http::RetryPolicy p;
  p.max_delay = 2000ms;
  p.sleep = [&](std::chrono::milliseconds d) { slept.push_back(d); };
  auto on_retry = [&](int attempt, const Error& why, std::chrono::milliseconds) {
    retried.push_back(attempt);
    CHECK(why.code() == Errc::kUnavailable);
    CHECK(why.http_status() == 503);
  };

  // Two 503s with "Retry-After: 7" (capped at 2 s), then 200.
  std::string url = rserver().url(fmt::format("/flaky/{}?fail=2&retry_after=7", unique_key()));
  int calls = 0;
  auto r = http::with_retries(
      p,
      [&](int attempt) {
        ++calls;
        CHECK(attempt == calls);
        http::Request req;
        req.url = url;
        return client.perform(req);
      },
      on_retry);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(calls == 3);
  CHECK(retried == std::vector<int>{1, 2});
  CHECK(slept == std::vector<std::chrono::milliseconds>{2000ms, 2000ms});

  // Attempts run out: the last 503 Response comes back as is.
  slept.clear();
  retried.clear();
  p.max_attempts = 3;
  url = rserver().url(fmt::format("/flaky/{}?fail=10", unique_key()));
  r = http::with_retries(
      p,
      [&](int) {
        http::Request req;
        req.url = url;
        return client.perform(req);
      },
      on_retry);
  REQUIRE(r.has_value());
  CHECK(r->status == 503);
  CHECK(slept.size() == 2);
  CHECK(slept[0] == 0ms);  // Retry-After: 0

  // Not retryable: one call.
  calls = 0;
  r = http::with_retries(p, [&](int) {
    ++calls;
    http::Request req;
    req.url = rserver().url("/status/404");
    return client.perform(req);
  });
  REQUIRE(r.has_value());
  CHECK(r->status == 404);
  CHECK(calls == 1);

  // Connection refused: retried, then the error.
  calls = 0;
  int port = test::free_port();
  r = http::with_retries(p, [&](int) {
    ++calls;
    http::Request req;
    req.url = fmt::format("http://127.0.0.1:{}/", port);
    return client.perform(req);
  });
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == Errc::kUnavailable);
  CHECK(calls == 3);
}

TEST_CASE("retry_result for any Result") {
  http::RetryPolicy p;
  int sleeps = 0;
  p.sleep = [&](std::chrono::milliseconds) { ++sleeps; };
  auto r = http::retry_result<int>(p, [](int attempt) -> Result<int> {
    if (attempt < 3) return fail(Errc::kUnavailable, "busy");
    return 42;
  });
  REQUIRE(r.has_value());
  CHECK(*r == 42);
  CHECK(sleeps == 2);
  auto e = http::retry_result<int>(p, [](int) -> Result<int> { return fail(Errc::kDenied, "no"); });
  CHECK(!e.has_value());
  CHECK(sleeps == 2);
}
