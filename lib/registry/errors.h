#pragma once
// Distribution-spec error bodies (spec.md "Error Codes"):
//   {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": ...}]}
// turned into hoist Errors:
//   "GET manifest 'library/x:latest' from 'localhost:5000': HTTP 404 MANIFEST_UNKNOWN: manifest unknown"
// with Error::with_http(status, first code).

#include <string>
#include <string_view>
#include <vector>

#include "http/client.h"
#include "util/result.h"

namespace hoist::registry {

struct RegistryErrorEntry {
  std::string code;
  std::string message;
};

// The entries of an error body; empty when it is not the spec's JSON.
std::vector<RegistryErrorEntry> parse_error_body(std::string_view body);

// The Errc for a registry code, falling back to the HTTP status's class:
// DENIED kDenied, UNAUTHORIZED kUnauthorized, *_UNKNOWN kNotFound,
// TOOMANYREQUESTS kUnavailable, DIGEST_INVALID kDigestMismatch,
// SIZE_INVALID/NAME_INVALID/TAG_INVALID/MANIFEST_INVALID kInvalidArgument,
// UNSUPPORTED kUnsupported.
Errc errc_for_registry_code(std::string_view code, int status);

// The Error for a non-2xx response to the operation described by `what`.
Error response_error(const http::Response& resp, std::string_view what);

}  // namespace hoist::registry
