#pragma once
// WWW-Authenticate challenges (RFC 9110 11.6.1, distribution-spec token auth):
//
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"
//   Basic realm="Registry Realm"
//
// One header may hold several challenges, and a response may carry several
// headers. Scheme names are case-insensitive (stored lower case), as are
// parameter names (stored lower case); values are unquoted with backslash
// escapes resolved. Pure functions, thread-safe.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::registry {

struct Challenge {
  std::string scheme;                         // "bearer", "basic"
  std::map<std::string, std::string> params;  // "realm" -> "...", keys lower case
  std::string token68;                        // "Negotiate abc==" style, rarely used

  // The parameter's value, "" when absent.
  std::string param(std::string_view name) const;
};

// Parses one header value. Malformed parts are skipped; what parses is kept.
std::vector<Challenge> parse_challenges(std::string_view header);
// Parses every value (one per header field) and concatenates the challenges.
std::vector<Challenge> parse_challenges(const std::vector<std::string_view>& headers);

}  // namespace hoist::registry
