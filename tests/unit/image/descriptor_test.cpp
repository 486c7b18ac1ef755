#include "image/descriptor.h"

#include <doctest/doctest.h>

#include "image/json_fields.h"

using namespace hoist;
using namespace hoist::image;
using nlohmann::json;

namespace {
const std::string kDigest = digest::sha256_of("blob").str();

json base() { return json{{"mediaType", "application/vnd.oci.image.layer.v1.tar"}, {"digest", kDigest}, {"size", 4}}; }
}  // namespace

TEST_CASE("descriptor_from_json: required fields and their types") {
  auto d = descriptor_from_json(base());
  REQUIRE(d);
  CHECK(d->digest.str() == kDigest);
  CHECK(d->size == 4);
  CHECK(d->urls.empty());
  CHECK_FALSE(d->platform.has_value());

  struct Case {
    const char* key;
    json value;  // null erases the key
    std::string says;
  };
  const Case cases[] = {
      {"mediaType", nullptr, "'mediaType' is missing"},
      {"mediaType", "", "'mediaType' is empty"},
      {"mediaType", 1, "'mediaType' must be a string"},
      {"digest", nullptr, "'digest' is missing"},
      {"digest", "sha256:abc", "'digest': invalid digest 'sha256:abc'"},
      {"size", nullptr, "'size' is missing"},
      {"size", -4, "'size' must be a non-negative integer"},
      {"size", 4.5, "'size' must be a non-negative integer"},
      {"size", true, "'size' must be a non-negative integer"},
      {"urls", "https://x", "'urls' must be an array of strings"},
      {"urls", json::array({1}), "'urls' must be an array of strings"},
      {"annotations", json::array(), "'annotations' must be an object of strings"},
      {"platform", "linux/amd64", "'platform' must be an object"},
      {"platform", json{{"os", "linux"}}, "'platform': 'architecture' is missing"},
      {"artifactType", 3, "'artifactType' must be a string"},
      {"data", 3, "'data' must be a string"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.key);
    CAPTURE(c.value.dump());
    json j = base();
    if (c.value.is_null())
      j.erase(c.key);
    else
      j[c.key] = c.value;
    auto r = descriptor_from_json(j);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::kInvalidArgument);
    CHECK_MESSAGE(r.error().message().find(c.says) != std::string::npos, r.error().message());
  }
  CHECK_FALSE(descriptor_from_json(json::array()));
}

TEST_CASE("descriptor JSON round trip and field order") {
  Descriptor d;
  d.media_type = "application/vnd.oci.image.manifest.v1+json";
  d.digest = digest::sha256_of("m");
  d.size = 12;
  d.urls = {"https://example.com/m"};
  d.annotations = {{"org.opencontainers.image.ref.name", "v1"}};
  d.platform = ref::Platform{"linux", "arm", "v7", "", {}};
  d.artifact_type = "application/vnd.example";
  std::string s = detail::dump(to_json(d));
  CHECK(s == "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + d.digest.str() +
                 "\",\"size\":12,\"urls\":[\"https://example.com/m\"],\"annotations\":{\"org.opencontainers.image."
                 "ref.name\":\"v1\"},\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"},"
                 "\"artifactType\":\"application/vnd.example\"}");
  auto back = descriptor_from_json(json::parse(s));
  REQUIRE(back);
  CHECK(*back == d);
}

TEST_CASE("dump never throws on invalid UTF-8") {
  nlohmann::ordered_json j;
  j["k"] = std::string("a\xff" "b");
  std::string s = detail::dump(j);
  CHECK(s == "{\"k\":\"a\xEF\xBF\xBD" "b\"}");
}
