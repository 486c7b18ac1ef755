#include "http/retry.h"

#include <curl/curl.h>

#include <random>
#include <string>
#include <thread>

#include "util/strings.h"

namespace hoist::http {

using std::chrono::milliseconds;

bool is_retryable_status(int status) {
  return status == 408 || status == 429 || (status >= 500 && status != 501 && status < 600);
}

bool is_retryable(const Error& e) { return e.code() == Errc::kUnavailable; }

std::optional<milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (auto secs = parse_u64(value)) {
    // Cap before converting so a huge value cannot overflow the duration.
    return milliseconds(std::min<uint64_t>(*secs, 86400ull * 365) * 1000);
  }
  std::string s(value);
  // curl_getdate parses RFC 1123/850 and asctime dates without global state.
  time_t t = curl_getdate(s.c_str(), nullptr);
  if (t == -1) return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(t);
  if (when <= now) return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(when - now);
}

milliseconds backoff_delay(const RetryPolicy& policy, int attempt, std::optional<milliseconds> retry_after) {
  if (retry_after) return std::min(*retry_after, policy.max_delay);
  int shift = std::clamp(attempt - 1, 0, 30);
  auto base = policy.base_delay.count() > 0 ? policy.base_delay.count() : 1;
  long long d = base;
  for (int i = 0; i < shift && d < policy.max_delay.count(); ++i) d *= 2;
  d = std::min<long long>(d, policy.max_delay.count());
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<long long> dist(d / 2, d);
  return milliseconds(dist(rng));
}

Result<Response> with_retries(const RetryPolicy& policy, const std::function<Result<Response>(int)>& fn,
                              const RetryCallback& on_retry) {
  for (int attempt = 1;; ++attempt) {
    Result<Response> r = fn(attempt);
    std::optional<milliseconds> retry_after;
    std::optional<Error> why;
    if (!r) {
      if (!is_retryable(r.error())) return r;
      why = r.error();
    } else {
      if (!is_retryable_status(r->status)) return r;
      if (auto ra = r->headers.get("Retry-After")) retry_after = parse_retry_after(*ra);
      why = status_error(*r);
    }
    if (attempt >= policy.max_attempts) return r;
    auto delay = backoff_delay(policy, attempt, retry_after);
    if (on_retry) on_retry(attempt, *why, delay);
    if (policy.sleep)
      policy.sleep(delay);
    else
      std::this_thread::sleep_for(delay);
  }
}

}  // namespace hoist::http
