#pragma once
// URL helpers over libcurl's URL API (RFC 3986). Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace hoist::http {

struct UrlParts {
  std::string scheme;  // lower case: "http", "https"
  std::string host;    // lower case; IPv6 without brackets
  uint16_t port = 0;   // explicit or the scheme's default
  std::string path;    // "/" when empty
  std::string query;   // without '?'
};

// kInvalidArgument "invalid url 'x'" for anything curl's parser refuses or a
// scheme other than http/https.
Result<UrlParts> parse_url(std::string_view url);

// Resolves `location` (absolute, or relative as in a Location header) against
// `base`. kInvalidArgument when the result is not an http(s) URL.
Result<std::string> resolve_url(std::string_view base, std::string_view location);

// True when scheme, host and port are all equal: the test for keeping
// credentials on a redirect.
bool same_origin(const UrlParts& a, const UrlParts& b);

// The URL without userinfo, query and fragment, for messages and logs: query
// strings of pre-signed blob URLs carry credentials.
std::string redact_url(std::string_view url);

// Percent-encodes everything except RFC 3986 unreserved characters.
std::string url_escape(std::string_view s);

// "host" or "host:port" (port omitted when it is the scheme's default),
// IPv6 in brackets.
std::string host_port(const UrlParts& u);

}  // namespace hoist::http
