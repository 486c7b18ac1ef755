#pragma once
// Retries with exponential backoff and jitter (ggcr transport/retry, docker's
// distribution client). Used by lib/registry around each request; a download
// resumes with a Range request computed by the caller's attempt function.
//
// Retryable: transport errors classed kUnavailable (cannot connect or resolve,
// timeouts, stalls, a connection dropped mid-body), and responses 408, 429 and
// 5xx except 501. A Retry-After header (delta-seconds or HTTP-date) sets the
// delay, capped at max_delay.

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>
#include <thread>

#include "http/client.h"
#include "util/result.h"

namespace hoist::http {

struct RetryPolicy {
  int max_attempts = 5;  // total attempts, the first included; 1 = no retries
  std::chrono::milliseconds base_delay{200};
  std::chrono::milliseconds max_delay{10'000};
  // How to wait between attempts; tests inject a recorder. Empty: sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// Called before each retry with the attempt that failed (1-based), why, and
// the delay about to be slept.
using RetryCallback = std::function<void(int attempt, const Error& why, std::chrono::milliseconds delay)>;

bool is_retryable_status(int status);
bool is_retryable(const Error& e);  // e.code() == kUnavailable

// Parses a Retry-After value: "120" or "Fri, 31 Dec 1999 23:59:59 GMT"
// (relative to `now`; a date in the past gives 0). nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// The delay after failed attempt `attempt` (1-based): retry_after capped at
// max_delay if given, else min(max_delay, base_delay * 2^(attempt-1)) with
// jitter, uniformly in [d/2, d].
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt,
                                        std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// Calls fn(attempt) (attempt = 1, 2, ...) until it returns a non-retryable
// outcome or max_attempts is reached, sleeping backoff_delay() in between.
// A retryable Response (429, 503, ...) is retried too; when attempts run out it
// is returned as is, so the caller still sees its headers and error body.
Result<Response> with_retries(const RetryPolicy& policy, const std::function<Result<Response>(int attempt)>& fn,
                              const RetryCallback& on_retry = {});

// The same for any Result<T>, retrying kUnavailable errors only.
template <typename T>
Result<T> retry_result(const RetryPolicy& policy, const std::function<Result<T>(int attempt)>& fn,
                       const RetryCallback& on_retry = {}) {
  for (int attempt = 1;; ++attempt) {
    Result<T> r = fn(attempt);
    if (r || !is_retryable(r.error()) || attempt >= policy.max_attempts) return r;
    auto delay = backoff_delay(policy, attempt);
    if (on_retry) on_retry(attempt, r.error(), delay);
    if (policy.sleep)
      policy.sleep(delay);
    else
      std::this_thread::sleep_for(delay);
  }
}

}  // namespace hoist::http
