#pragma once
// hoist::Error and hoist::Result<T>: every fallible library call returns Result<T>.
// No exception crosses a module boundary. Messages follow git: lower case, no full
// stop, what failed first, subjects in quotes; context() prefixes "outer: ".

#include <cstdint>
#include <expected>
#include <string>
#include <utility>

namespace hoist {

// Error classes, not types (containerd errdefs). kUnavailable means "worth retrying".
enum class Errc : uint8_t {
  kUsage,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kDigestMismatch,
  kUnauthorized,
  kDenied,
  kUnavailable,
  kIo,
  kUnsupported,
  kCancelled,
  kInternal,
};

std::string_view errc_name(Errc c);

class Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  // message + ": " + strerror(err); code derived from err (ENOENT -> kNotFound, ...).
  static Error from_errno(int err, std::string message);

  Error&& with_http(int status, std::string registry_code) && {
    http_status_ = status;
    registry_code_ = std::move(registry_code);
    return std::move(*this);
  }
  Error& with_http(int status, std::string registry_code) & {
    http_status_ = status;
    registry_code_ = std::move(registry_code);
    return *this;
  }
  Error&& context(std::string_view outer) &&;
  Error& context(std::string_view outer) &;

  Errc code() const { return code_; }
  int sys_errno() const { return errno_; }
  int http_status() const { return http_status_; }
  const std::string& registry_code() const { return registry_code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const { return message_; }

 private:
  Errc code_;
  std::string message_;
  int errno_ = 0;
  int http_status_ = 0;
  std::string registry_code_;
};

template <typename T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }
inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}

}  // namespace hoist

// Evaluates a Result expression; on error returns it from the enclosing function,
// otherwise yields the value. Do not nest two HOIST_TRY in one expression (-Wshadow).
#define HOIST_TRY(e)                                                   \
  __extension__({                                                      \
    auto _hoist_r = (e);                                               \
    if (!_hoist_r) return ::hoist::fail(std::move(_hoist_r).error());  \
    std::move(_hoist_r).value();                                       \
  })

#define HOIST_TRY_CTX(e, c)                                                        \
  __extension__({                                                                  \
    auto _hoist_r = (e);                                                           \
    if (!_hoist_r) return ::hoist::fail(std::move(_hoist_r).error().context(c));   \
    std::move(_hoist_r).value();                                                   \
  })

// For Result<void>: HOIST_CHECK(f()) returns the error or continues.
#define HOIST_CHECK(e)                                                 \
  do {                                                                 \
    auto _hoist_r = (e);                                               \
    if (!_hoist_r) return ::hoist::fail(std::move(_hoist_r).error());  \
  } while (0)

#define HOIST_CHECK_CTX(e, c)                                                      \
  do {                                                                             \
    auto _hoist_r = (e);                                                           \
    if (!_hoist_r) return ::hoist::fail(std::move(_hoist_r).error().context(c));   \
  } while (0)
