#include "util/result.h"

#include <cerrno>
#include <cstring>

namespace hoist {

std::string_view errc_name(Errc c) {
  switch (c) {
    case Errc::kUsage: return "usage";
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kNotFound: return "not found";
    case Errc::kAlreadyExists: return "already exists";
    case Errc::kDigestMismatch: return "digest mismatch";
    case Errc::kUnauthorized: return "unauthorized";
    case Errc::kDenied: return "denied";
    case Errc::kUnavailable: return "unavailable";
    case Errc::kIo: return "i/o error";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kCancelled: return "cancelled";
    case Errc::kInternal: return "internal error";
  }
  return "unknown";
}

Error Error::from_errno(int err, std::string message) {
  Errc code = Errc::kIo;
  switch (err) {
    case ENOENT: code = Errc::kNotFound; break;
    case EEXIST: code = Errc::kAlreadyExists; break;
    case EACCES:
    case EPERM: code = Errc::kDenied; break;
    case EINVAL: code = Errc::kInvalidArgument; break;
    case ENOSYS:
    case EOPNOTSUPP: code = Errc::kUnsupported; break;
    case EINTR: code = Errc::kCancelled; break;
    case EAGAIN:
    case EBUSY: code = Errc::kUnavailable; break;
    default: break;
  }
  std::string m = std::move(message);
  m += ": ";
  char buf[256];
  m += strerror_r(err, buf, sizeof buf);
  Error e(code, std::move(m));
  e.errno_ = err;
  return e;
}

Error&& Error::context(std::string_view outer) && {
  context(outer);
  return std::move(*this);
}

Error& Error::context(std::string_view outer) & {
  std::string m(outer);
  m += ": ";
  m += message_;
  message_ = std::move(m);
  return *this;
}

}  // namespace hoist
