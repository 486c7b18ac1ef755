// End to end against the real CNCF registry (docker-registry).
#include <doctest/doctest.h>
#include <fmt/core.h>

#include "io/memory.h"
#include "registry/client.h"
#include "unit/registry/servers.h"

using namespace hoist;
using namespace hoist::registry;

namespace {

std::string layer_bytes(size_t n, size_t start = 0) {
  std::string s;
  for (size_t i = start; i < start + n; ++i) s += char((i * 31 + 7) % 256);
  return s;
}

RegistryOptions options_for(const test::DistributionRegistry& r) {
  RegistryOptions o;
  o.registry = r.name();
  o.retry.sleep = [](std::chrono::milliseconds) {};
  o.tokens = std::make_shared<TokenCache>();
  return o;
}

std::string manifest_for(const std::string& config, const std::string& layer) {
  return fmt::format(
      R"({{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},)"
      R"("layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}]}})",
      digest::sha256_of(config).str(), config.size(), digest::sha256_of(layer).str(), layer.size());
}

}  // namespace

TEST_CASE("push and pull blobs and manifests through docker-registry") {
  test::DistributionRegistry reg;
  REQUIRE(reg.ready());
  RegistryClient c(test::shared_http(), options_for(reg));
  CHECK(c.origin_url() == fmt::format("http://127.0.0.1:{}", reg.port()));
  REQUIRE(c.ping().has_value());

  std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
  std::string layer = layer_bytes(300000);
  auto config_d = digest::sha256_of(config);
  auto layer_d = digest::sha256_of(layer);

  CHECK(c.head_blob("test/app", layer_d).value() == std::nullopt);

  // Monolithic upload.
  io::StringReader cr(config);
  REQUIRE(c.put_blob("test/app", config_d, cr, config.size()).has_value());
  // Chunked upload: three PATCHes, then PUT ?digest=.
  auto session = c.start_upload("test/app");
  REQUIRE(session.has_value());
  for (size_t off = 0; off < layer.size(); off += 100000) {
    io::StringReader part(std::string_view(layer).substr(off, 100000));
    auto r = c.upload_chunk(*session, part, 100000);
    REQUIRE_MESSAGE(r.has_value(), r.error().message());
    CHECK(session->offset == off + 100000);
  }
  auto fin = c.finish_upload(*session, layer_d);
  REQUIRE_MESSAGE(fin.has_value(), fin.error().message());
  CHECK(*fin == layer_d);

  CHECK(c.head_blob("test/app", layer_d).value() == layer.size());
  CHECK(c.head_blob("test/app", config_d).value() == config.size());

  // Whole blob, then resumed from an offset (a real 206 from the registry).
  io::StringWriter whole;
  REQUIRE(c.fetch_blob("test/app", layer_d, 0, layer.size(), whole).has_value());
  CHECK(whole.str() == layer);
  io::StringWriter tail;
  REQUIRE(c.fetch_blob("test/app", layer_d, 123456, layer.size(), tail).has_value());
  CHECK(tail.str() == layer.substr(123456));
  io::StringWriter none;
  REQUIRE(c.fetch_blob("test/app", layer_d, layer.size(), layer.size(), none).has_value());
  CHECK(none.str().empty());
  CHECK(!c.fetch_blob("test/app", layer_d, layer.size() + 1, layer.size(), none).has_value());

  // The descriptor says fewer bytes than the registry has.
  io::StringWriter capped;
  auto too_long = c.fetch_blob("test/app", layer_d, 0, 1000, capped);
  REQUIRE(!too_long.has_value());
  CHECK(too_long.error().code() == Errc::kInvalidArgument);
  CHECK(too_long.error().message() ==
        fmt::format("blob '{}' from '{}/test/app' is longer than its descriptor says (1000 bytes)", layer_d.str(),
                    reg.name()));
  CHECK(capped.str().size() <= 1000);

  // Manifests: by tag and by digest.
  std::string manifest = manifest_for(config, layer);
  auto md = c.put_manifest("test/app", "v1", manifest, "application/vnd.oci.image.manifest.v1+json");
  REQUIRE_MESSAGE(md.has_value(), md.error().message());
  CHECK(*md == digest::sha256_of(manifest));

  auto m = c.get_manifest("test/app", "v1");
  REQUIRE(m.has_value());
  CHECK(m->bytes == manifest);
  CHECK(m->content_type == "application/vnd.oci.image.manifest.v1+json");
  CHECK(m->digest == *md);
  auto by_digest = c.get_manifest("test/app", md->str());
  REQUIRE(by_digest.has_value());
  CHECK(by_digest->bytes == manifest);

  auto info = c.head_manifest("test/app", "v1").value();
  REQUIRE(info.has_value());
  CHECK(info->digest == *md);
  CHECK(info->size == manifest.size());
  CHECK(info->content_type == "application/vnd.oci.image.manifest.v1+json");
  CHECK(c.head_manifest("test/app", "nope").value() == std::nullopt);

  // Push by digest too; a wrong digest is refused before sending.
  CHECK(c.put_manifest("test/app", md->str(), manifest, "application/vnd.oci.image.manifest.v1+json").has_value());
  auto wrong = c.put_manifest("test/app", config_d.str(), manifest, "application/vnd.oci.image.manifest.v1+json");
  REQUIRE(!wrong.has_value());
  CHECK(wrong.error().code() == Errc::kDigestMismatch);

  // Cross-repository mount, then the tag list.
  auto mounted = c.mount_blob("test/other", layer_d, "test/app");
  REQUIRE_MESSAGE(mounted.has_value(), mounted.error().message());
  CHECK(mounted->mounted);
  CHECK(c.head_blob("test/other", layer_d).value() == layer.size());
  auto not_there = c.mount_blob("test/other", digest::sha256_of("nothing"), "test/app");
  REQUIRE(not_there.has_value());
  CHECK(!not_there->mounted);
  CHECK(not_there->session.has_value());

  for (auto tag : {"v2", "v3", "alpha"})
    REQUIRE(c.put_manifest("test/app", tag, manifest, "application/vnd.oci.image.manifest.v1+json").has_value());
  auto tags = c.list_tags("test/app");
  REQUIRE(tags.has_value());
  std::sort(tags->begin(), tags->end());
  CHECK(*tags == std::vector<std::string>{"alpha", "v1", "v2", "v3"});

  // Referrers: docker-registry 2.8 has no referrers API, so the tag schema.
  CHECK(c.get_referrers("test/app", *md).value() == std::nullopt);
  std::string index = fmt::format(
      R"({{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}})");
  REQUIRE(c.put_manifest("test/app", "sha256-" + md->hex(), index, "application/vnd.oci.image.index.v1+json")
              .has_value());
  CHECK(c.get_referrers("test/app", *md).value() == index);
}

TEST_CASE("registry errors are parsed from docker-registry's JSON") {
  test::DistributionRegistry reg;
  REQUIRE(reg.ready());
  RegistryClient c(test::shared_http(), options_for(reg));

  auto m = c.get_manifest("library/x", "latest");
  REQUIRE(!m.has_value());
  CHECK(m.error().code() == Errc::kNotFound);
  CHECK(m.error().http_status() == 404);
  CHECK(m.error().registry_code() == "MANIFEST_UNKNOWN");
  CHECK(m.error().message() == fmt::format("GET manifest 'library/x:latest' from '{}': HTTP 404 MANIFEST_UNKNOWN: "
                                           "manifest unknown",
                                           reg.name()));

  io::StringWriter sink;
  auto d = digest::sha256_of("absent");
  auto b = c.fetch_blob("library/x", d, 0, std::nullopt, sink);
  REQUIRE(!b.has_value());
  CHECK(b.error().code() == Errc::kNotFound);
  CHECK(b.error().registry_code() == "BLOB_UNKNOWN");
  CHECK(b.error().message().starts_with(fmt::format("GET blob '{}' from '{}/library/x': HTTP 404 BLOB_UNKNOWN",
                                                    d.str(), reg.name())));
  CHECK(sink.str().empty());

  auto t = c.list_tags("library/x");
  REQUIRE(!t.has_value());
  CHECK(t.error().registry_code() == "NAME_UNKNOWN");

  // Bad input never reaches the network.
  CHECK(c.get_manifest("Bad/Name", "latest").error().code() == Errc::kInvalidArgument);
  CHECK(c.get_manifest("../x", "latest").error().code() == Errc::kInvalidArgument);
  CHECK(c.get_manifest("x", "bad tag").error().code() == Errc::kInvalidArgument);

  // A broken upload: PUT with the wrong digest.
  auto s = c.start_upload("library/x");
  REQUIRE(s.has_value());
  io::StringReader r("hello");
  REQUIRE(c.upload_chunk(*s, r, 5).has_value());
  auto fin = c.finish_upload(*s, digest::sha256_of("other"));
  REQUIRE(!fin.has_value());
  CHECK(fin.error().registry_code() == "DIGEST_INVALID");
  CHECK(fin.error().code() == Errc::kDigestMismatch);
}

TEST_CASE("basic auth with docker-registry's htpasswd") {
  test::DistributionRegistry reg(/*basic_auth=*/true);
  REQUIRE(reg.ready());

  RegistryClient anon(test::shared_http(), options_for(reg));
  auto denied = anon.get_manifest("a/b", "latest");
  REQUIRE(!denied.has_value());
  CHECK(denied.error().code() == Errc::kUnauthorized);
  CHECK(denied.error().http_status() == 401);
  CHECK(denied.error().registry_code() == "UNAUTHORIZED");
  CHECK(anon.ping().error().code() == Errc::kUnauthorized);

  auto wrong_opts = options_for(reg);
  wrong_opts.credentials = Credential{"tester", "wrong", ""};
  RegistryClient wrong(test::shared_http(), wrong_opts);
  CHECK(wrong.ping().error().code() == Errc::kUnauthorized);

  // From a config file, as docker login would have written it.
  auto opts = options_for(reg);
  opts.credential_store = std::make_shared<CredentialStore>(
      CredentialStore::from_json(fmt::format(R"({{"auths":{{"{}":{{"auth":"dGVzdGVyOnRlc3RwYXNz"}}}}}})", reg.name()))
          .value());
  RegistryClient c(test::shared_http(), opts);
  REQUIRE(c.ping().has_value());
  io::StringReader data("some bytes");
  auto d = digest::sha256_of("some bytes");
  auto put = c.put_blob("a/b", d, data, 10);
  REQUIRE_MESSAGE(put.has_value(), put.error().message());
  io::StringWriter out;
  REQUIRE(c.fetch_blob("a/b", d, 0, 10, out).has_value());
  CHECK(out.str() == "some bytes");
}

TEST_CASE("mirrors are tried first and fall back to the origin") {
  test::DistributionRegistry origin;
  test::DistributionRegistry mirror;
  REQUIRE(origin.ready());
  REQUIRE(mirror.ready());
  std::string only_origin = "only in the origin", only_mirror = "only in the mirror";
  {
    RegistryClient o(test::shared_http(), options_for(origin));
    io::StringReader r(only_origin);
    REQUIRE(o.put_blob("lib/m", digest::sha256_of(only_origin), r, only_origin.size()).has_value());
    RegistryClient m(test::shared_http(), options_for(mirror));
    io::StringReader r2(only_mirror);
    REQUIRE(m.put_blob("lib/m", digest::sha256_of(only_mirror), r2, only_mirror.size()).has_value());
  }
  int dead = test::free_port();
  auto opts = options_for(origin);
  opts.retry.max_attempts = 2;
  opts.mirrors = {fmt::format("127.0.0.1:{}", dead), fmt::format("http://127.0.0.1:{}/", mirror.port())};
  RegistryClient c(test::shared_http(), opts);

  io::StringWriter a;
  REQUIRE(c.fetch_blob("lib/m", digest::sha256_of(only_mirror), 0, only_mirror.size(), a).has_value());
  CHECK(a.str() == only_mirror);
  io::StringWriter b;
  REQUIRE(c.fetch_blob("lib/m", digest::sha256_of(only_origin), 0, only_origin.size(), b).has_value());
  CHECK(b.str() == only_origin);
  CHECK(c.head_blob("lib/m", digest::sha256_of(only_origin)).value() == only_origin.size());
  CHECK(c.head_blob("lib/m", digest::sha256_of(only_mirror)).value() == only_mirror.size());
  // The origin's answer is final.
  auto missing = c.get_manifest("lib/m", "latest");
  REQUIRE(!missing.has_value());
  CHECK(missing.error().message().find(fmt::format("from '{}'", origin.name())) != std::string::npos);
}

TEST_CASE("default endpoints") {
  CHECK(is_loopback_registry("localhost"));
  CHECK(is_loopback_registry("localhost:5000"));
  CHECK(is_loopback_registry("127.0.0.1:5000"));
  CHECK(is_loopback_registry("127.1.2.3"));
  CHECK(is_loopback_registry("[::1]:5000"));
  CHECK(!is_loopback_registry("127.example.com"));
  CHECK(!is_loopback_registry("10.0.0.1:5000"));
  CHECK(!is_loopback_registry("docker.io"));

  RegistryOptions hub;
  hub.registry = "docker.io";
  CHECK(RegistryClient(test::shared_http(), hub).origin_url() == "https://registry-1.docker.io");
  RegistryOptions local;
  local.registry = "localhost:5000";
  CHECK(RegistryClient(test::shared_http(), local).origin_url() == "http://localhost:5000");
  RegistryOptions listed;
  listed.registry = "reg.internal:5000";
  listed.insecure_registries = {"reg.internal"};
  CHECK(RegistryClient(test::shared_http(), listed).origin_url() == "http://reg.internal:5000");
  listed.insecure = false;
  CHECK(RegistryClient(test::shared_http(), listed).origin_url() == "https://reg.internal:5000");
}
