// Bearer auth, retries, resumes and hostile answers, against fake_registry.py.
#include <doctest/doctest.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "io/memory.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/errors.h"
#include "unit/registry/servers.h"

using namespace hoist;
using namespace hoist::registry;

namespace {

// The bytes fake_registry.py serves as its blob (the same formula).
std::string fake_registry_bytes(size_t n, size_t start = 0) {
  std::string s;
  for (size_t i = start; i < start + n; ++i) s += char((i * 13 + 5) % 253);
  return s;
}

const std::string kBlob = fake_registry_bytes(100000);
const digest::Digest kBlobDigest = digest::sha256_of(kBlob);

RegistryOptions options_for(const test::FakeRegistry& r) {
  RegistryOptions o;
  o.registry = r.name();
  o.retry.sleep = [](std::chrono::milliseconds) {};
  o.tokens = std::make_shared<TokenCache>();
  return o;
}

nlohmann::json request_log(const test::FakeRegistry& r) {
  http::Request req;
  req.url = r.url("/admin/log");
  io::StringWriter out;
  auto resp = test::shared_http().perform(req, &out);
  REQUIRE(resp.has_value());
  return nlohmann::json::parse(out.str());
}

void revoke(const test::FakeRegistry& r) {
  http::Request req;
  req.url = r.url("/admin/revoke");
  REQUIRE(test::shared_http().perform(req).has_value());
}

}  // namespace

TEST_CASE("parse_token_response") {
  auto t = parse_token_response(R"({"token":"abc","expires_in":300})").value();
  CHECK(t.token == "abc");
  CHECK(t.expires_in == std::chrono::seconds(300));
  t = parse_token_response(R"({"access_token":"xyz"})").value();
  CHECK(t.token == "xyz");
  CHECK(t.expires_in == std::chrono::seconds(60));
  t = parse_token_response(R"({"token":"a","expires_in":5})").value();
  CHECK(t.expires_in == std::chrono::seconds(60));
  CHECK(!parse_token_response(R"({"token":""})").has_value());
  CHECK(!parse_token_response(R"({"token":5})").has_value());
  CHECK(!parse_token_response("nope").has_value());
  CHECK(basic_authorization(Credential{"Aladdin", "open sesame", ""}) == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST_CASE("error bodies") {
  auto e = parse_error_body(R"({"errors":[{"code":"DENIED","message":"no"},{"code":"X","message":"y"}]})");
  REQUIRE(e.size() == 2);
  CHECK(e[0].code == "DENIED");
  CHECK(parse_error_body("<html>").empty());
  CHECK(parse_error_body(R"({"errors":"x"})").empty());
  http::Response r;
  r.status = 403;
  r.error_body = R"({"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]})";
  auto err = response_error(r, "GET manifest 'a:b' from 'h'");
  CHECK(err.code() == Errc::kDenied);
  CHECK(err.message() == "GET manifest 'a:b' from 'h': HTTP 403 DENIED: requested access to the resource is denied");
  r.status = 502;
  r.error_body = "bad gateway";
  err = response_error(r, "x");
  CHECK(err.code() == Errc::kUnavailable);
  CHECK(err.message() == "x: HTTP 502 Bad Gateway");
  CHECK(err.registry_code().empty());
}

TEST_CASE("the bearer token flow: probe, token, cached token, refresh on 401") {
  test::FakeRegistry reg;
  REQUIRE(reg.port() > 0);
  RegistryClient c(test::shared_http(), options_for(reg));
  auto m = c.get_manifest("good", "latest");
  REQUIRE_MESSAGE(m.has_value(), m.error().message());
  auto log = request_log(reg);
  // GET /v2/ (401), GET /token, GET manifest with the token.
  REQUIRE(log.size() == 3);
  CHECK(log[0]["path"] == "/v2/");
  CHECK(log[0]["auth"].is_null());
  CHECK(log[1]["path"] == "/token");
  CHECK(log[2]["path"] == "/v2/good/manifests/latest");
  CHECK(log[2]["auth"] == "Bearer tok-1");

  // Cached: no new token.
  REQUIRE(c.get_manifest("good", m->digest.str()).has_value());
  log = request_log(reg);
  REQUIRE(log.size() == 1);
  CHECK(log[0]["auth"] == "Bearer tok-1");

  // The registry forgets its tokens: one 401, a new token, the retry.
  revoke(reg);
  io::StringWriter sink;
  REQUIRE(c.fetch_blob("good", kBlobDigest, 0, kBlob.size(), sink).has_value());
  CHECK(sink.str() == kBlob);
  log = request_log(reg);
  REQUIRE(log.size() == 3);
  CHECK(log[0]["path"] == "/v2/good/blobs/" + kBlobDigest.str());
  CHECK(log[0]["auth"] == "Bearer tok-1");
  CHECK(log[1]["path"] == "/token");
  CHECK(log[2]["auth"] == "Bearer tok-2");
}

TEST_CASE("a 401 on a cached token refetches once") {
  test::FakeRegistry reg;
  REQUIRE(reg.port() > 0);
  RegistryClient c(test::shared_http(), options_for(reg));
  REQUIRE(c.get_manifest("good", "latest").has_value());
  request_log(reg);
  revoke(reg);
  request_log(reg);
  auto m = c.get_manifest("good", "latest");
  REQUIRE(m.has_value());
  auto log = request_log(reg);
  REQUIRE(log.size() == 3);
  CHECK(log[0]["auth"] == "Bearer tok-1");  // refused
  CHECK(log[1]["path"] == "/token");
  CHECK(log[2]["auth"] == "Bearer tok-2");
}

TEST_CASE("token requests carry basic credentials and the scope") {
  test::FakeRegistry reg({"--basic", "alice:s3cret"});
  REQUIRE(reg.port() > 0);
  RegistryClient anon(test::shared_http(), options_for(reg));
  auto e = anon.get_manifest("good", "latest");
  REQUIRE(!e.has_value());
  CHECK(e.error().code() == Errc::kUnauthorized);
  CHECK(e.error().message().find("cannot get a token from") != std::string::npos);
  CHECK(e.error().message().find("incorrect username or password") != std::string::npos);

  auto opts = options_for(reg);
  opts.credentials = Credential{"alice", "s3cret", ""};
  RegistryClient c(test::shared_http(), opts);
  request_log(reg);
  REQUIRE(c.get_manifest("good", "latest").has_value());
  auto log = request_log(reg);
  bool saw_token = false;
  for (auto& l : log) {
    if (l["path"] == "/token") {
      saw_token = true;
      CHECK(l["auth"] == "Basic YWxpY2U6czNjcmV0");
    }
  }
  CHECK(saw_token);
}

TEST_CASE("blob downloads: resume after a dropped connection, Range ignored, long blob") {
  test::FakeRegistry reg;
  REQUIRE(reg.port() > 0);
  RegistryClient c(test::shared_http(), options_for(reg));

  std::vector<int> retries;
  io::StringWriter flaky;
  auto r = c.fetch_blob("flaky", kBlobDigest, 0, kBlob.size(), flaky,
                        [&](int attempt, const Error& why, std::chrono::milliseconds) {
                          retries.push_back(attempt);
                          CHECK(why.code() == Errc::kUnavailable);
                        });
  REQUIRE_MESSAGE(r.has_value(), r.error().message());
  CHECK(flaky.str() == kBlob);
  CHECK(retries == std::vector<int>{1});
  auto log = request_log(reg);
  std::vector<std::string> ranges;
  for (auto& l : log)
    if (l["path"].get<std::string>().starts_with("/v2/flaky/")) ranges.push_back(l["range"].is_null() ? "" : l["range"].get<std::string>());
  CHECK(ranges == std::vector<std::string>{"", fmt::format("bytes={}-", kBlob.size() / 2)});

  io::StringWriter nr;
  REQUIRE(c.fetch_blob("norange", kBlobDigest, 40000, kBlob.size(), nr).has_value());
  CHECK(nr.str() == kBlob.substr(40000));

  io::StringWriter lng;
  auto l = c.fetch_blob("long", kBlobDigest, 0, kBlob.size(), lng);
  REQUIRE(!l.has_value());
  CHECK(l.error().message() == fmt::format("blob '{}' from '{}/long' is longer than its descriptor says ({} bytes)",
                                           kBlobDigest.str(), reg.name(), kBlob.size()));
}

TEST_CASE("a cross-origin blob redirect drops the token") {
  test::FakeRegistry reg;
  REQUIRE(reg.port() > 0);
  RegistryClient c(test::shared_http(), options_for(reg));
  io::StringWriter sink;
  auto r = c.fetch_blob("redirect", kBlobDigest, 0, kBlob.size(), sink);
  REQUIRE_MESSAGE(r.has_value(), r.error().message());
  CHECK(sink.str() == kBlob);
  auto log = request_log(reg);
  bool saw_storage = false;
  for (auto& l : log) {
    auto path = l["path"].get<std::string>();
    if (path == "/v2/redirect/blobs/" + kBlobDigest.str()) CHECK(l["auth"].is_string());
    if (path.starts_with("/storage/")) {
      saw_storage = true;
      CHECK(l["auth"].is_null());
    }
  }
  CHECK(saw_storage);
}

TEST_CASE("hostile manifests: too large, wrong digest; 503 retried") {
  test::FakeRegistry reg;
  REQUIRE(reg.port() > 0);
  RegistryClient c(test::shared_http(), options_for(reg));

  auto big = c.get_manifest("big", "latest");
  REQUIRE(!big.has_value());
  CHECK(big.error().code() == Errc::kInvalidArgument);
  CHECK(big.error().message().find("manifest 'big:latest' is larger than 4 MiB") != std::string::npos);

  auto good = c.get_manifest("good", "latest").value();
  auto liar = c.get_manifest("liar", good.digest.str());
  REQUIRE(!liar.has_value());
  CHECK(liar.error().code() == Errc::kDigestMismatch);
  CHECK(liar.error().message().find(fmt::format("manifest 'liar@{}' from '{}'", good.digest.str(), reg.name())) !=
        std::string::npos);
  auto liar_tag = c.get_manifest("liar", "latest");
  REQUIRE(!liar_tag.has_value());
  CHECK(liar_tag.error().code() == Errc::kDigestMismatch);

  auto busy = c.get_manifest("busy", "latest");
  REQUIRE_MESSAGE(busy.has_value(), busy.error().message());
  CHECK(busy->digest == good.digest);

  auto missing = c.get_manifest("nothing", "latest");
  REQUIRE(!missing.has_value());
  CHECK(missing.error().message() ==
        fmt::format("GET manifest 'nothing:latest' from '{}': HTTP 404 MANIFEST_UNKNOWN: manifest unknown", reg.name()));
}
