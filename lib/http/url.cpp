#include "http/url.h"

#include <curl/curl.h>
#include <fmt/core.h>

#include <memory>

#include "util/strings.h"

namespace hoist::http {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using UrlPtr = std::unique_ptr<CURLU, UrlDeleter>;

struct CurlStr {
  char* p = nullptr;
  ~CurlStr() { curl_free(p); }
};

bool get_part(CURLU* u, CURLUPart part, std::string& out, unsigned flags = 0) {
  CurlStr s;
  CURLUcode rc = curl_url_get(u, part, &s.p, flags);
  if (rc != CURLUE_OK) return false;
  out = s.p ? s.p : "";
  return true;
}

bool scheme_ok(std::string_view s) { return s == "http" || s == "https"; }

}  // namespace

Result<UrlParts> parse_url(std::string_view url) {
  auto invalid = [&] { return fail(Errc::kInvalidArgument, fmt::format("invalid url '{}'", redact_url(url))); };
  UrlPtr u(curl_url());
  if (!u) return fail(Errc::kInternal, "out of memory");
  std::string s(url);
  if (curl_url_set(u.get(), CURLUPART_URL, s.c_str(), 0) != CURLUE_OK) return invalid();
  UrlParts p;
  std::string port;
  if (!get_part(u.get(), CURLUPART_SCHEME, p.scheme)) return invalid();
  p.scheme = to_lower(p.scheme);
  if (!scheme_ok(p.scheme)) return invalid();
  if (!get_part(u.get(), CURLUPART_HOST, p.host) || p.host.empty()) return invalid();
  p.host = to_lower(p.host);
  if (p.host.size() > 2 && p.host.front() == '[' && p.host.back() == ']') p.host = p.host.substr(1, p.host.size() - 2);
  if (!get_part(u.get(), CURLUPART_PORT, port, CURLU_DEFAULT_PORT)) return invalid();
  auto n = parse_u64(port);
  if (!n || *n == 0 || *n > 65535) return invalid();
  p.port = static_cast<uint16_t>(*n);
  if (!get_part(u.get(), CURLUPART_PATH, p.path) || p.path.empty()) p.path = "/";
  get_part(u.get(), CURLUPART_QUERY, p.query);  // absent -> stays empty
  return p;
}

Result<std::string> resolve_url(std::string_view base, std::string_view location) {
  UrlPtr u(curl_url());
  if (!u) return fail(Errc::kInternal, "out of memory");
  std::string b(base), l(location);
  if (curl_url_set(u.get(), CURLUPART_URL, b.c_str(), 0) != CURLUE_OK)
    return fail(Errc::kInvalidArgument, fmt::format("invalid url '{}'", redact_url(base)));
  // Setting a relative URL on a handle that holds one resolves it (RFC 3986 5.2).
  if (curl_url_set(u.get(), CURLUPART_URL, l.c_str(), 0) != CURLUE_OK)
    return fail(Errc::kInvalidArgument, fmt::format("invalid redirect location '{}'", redact_url(location)));
  std::string out, scheme;
  if (!get_part(u.get(), CURLUPART_SCHEME, scheme) || !scheme_ok(to_lower(scheme)) ||
      !get_part(u.get(), CURLUPART_URL, out))
    return fail(Errc::kInvalidArgument, fmt::format("invalid redirect location '{}'", redact_url(location)));
  return out;
}

bool same_origin(const UrlParts& a, const UrlParts& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port;
}

std::string redact_url(std::string_view url) {
  std::string_view s = url;
  if (auto q = s.find_first_of("?#"); q != std::string_view::npos) s = s.substr(0, q);
  std::string out(s);
  // Drop userinfo: "scheme://user:pass@host/..." -> "scheme://host/...".
  auto start = out.find("://");
  if (start != std::string::npos) {
    start += 3;
    auto end = out.find('/', start);
    auto at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at != std::string::npos && at >= start) out.erase(start, at + 1 - start);
  }
  return out;
}

std::string url_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string host_port(const UrlParts& u) {
  std::string h = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  bool dflt = (u.scheme == "http" && u.port == 80) || (u.scheme == "https" && u.port == 443);
  return dflt ? h : fmt::format("{}:{}", h, u.port);
}

}  // namespace hoist::http
