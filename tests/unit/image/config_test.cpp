#include "image/config.h"

#include <doctest/doctest.h>
#include <fmt/core.h>

#include <string>

#include "fixtures.h"

using namespace hoist;
using namespace hoist::image;

namespace {

constexpr std::string_view kMinimal =
    R"({"architecture":"arm64","os":"linux","variant":"v8","rootfs":{"type":"layers","diff_ids":[]}})";

}  // namespace

TEST_CASE("parse_config: a Docker-built config") {
  auto c = parse_config(test::kDockerConfig);
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().message()));
  CHECK(c->architecture == "amd64");
  CHECK(c->os == "linux");
  CHECK(c->created == "2023-05-19T20:19:22.751398522Z");
  CHECK(c->config.user == "app");
  CHECK(c->config.env.size() == 2);
  CHECK(c->config.env[1] == "LANG=C.UTF-8");
  CHECK_FALSE(c->config.entrypoint.has_value());  // null
  REQUIRE(c->config.cmd.has_value());
  CHECK(*c->config.cmd == std::vector<std::string>{"sh"});
  CHECK(c->config.working_dir == "/srv");
  CHECK(c->config.labels.at("org.opencontainers.image.title") == "demo");
  CHECK(c->config.exposed_ports == std::vector<std::string>{"53/udp", "8080/tcp"});
  CHECK(c->config.volumes == std::vector<std::string>{"/data"});
  CHECK(c->config.stop_signal == "SIGTERM");
  REQUIRE(c->rootfs.diff_ids.size() == 1);
  CHECK(c->rootfs.diff_ids[0].str() == "sha256:9547b4c33213e630a0ca602a989ecc094e042146ae8afa502e1e65af6473db03");
  REQUIRE(c->history.size() == 2);
  CHECK_FALSE(c->history[0].empty_layer);
  CHECK(c->history[1].empty_layer);
  CHECK(c->history[0].created_by.starts_with("/bin/sh -c #(nop) ADD"));
  // The raw document is kept, unmodelled fields included.
  CHECK(c->raw["docker_version"] == "20.10.23");
  CHECK(c->platform().str() == "linux/amd64");
}

TEST_CASE("parse_config: minimal OCI config, and the platform it names") {
  auto c = parse_config(kMinimal);
  REQUIRE(c);
  CHECK(c->platform().str() == "linux/arm64/v8");
  CHECK(c->rootfs.diff_ids.empty());
  CHECK(c->config == ContainerConfig{});
  CHECK(c->history.empty());
}

TEST_CASE("parse_config: strictness") {
  struct Case {
    std::string_view from, to, says;
    Errc code = Errc::kInvalidArgument;
  };
  const Case cases[] = {
      {"\"diff_ids\": [\"sha256:9547", "\"diff_ids\": [\"sha256:X547", "'rootfs.diff_ids[0]': invalid digest"},
      {"\"diff_ids\": [\"sha256:9547", "\"diff_ids\": [\"sha999:9547", "unsupported digest algorithm",
       Errc::kUnsupported},
      {"\"diff_ids\": [\"sha256:9547", "\"diff_ids\": [7, \"sha256:9547", "'rootfs.diff_ids[0]' must be a string"},
      {"\"type\": \"layers\"", "\"type\": \"tarballs\"", "'rootfs.type' is 'tarballs', not 'layers'"},
      {"\"rootfs\": {", "\"rootfs_\": {", "'rootfs' is missing"},
      {"\"os\": \"linux\"", "\"os\": \"\"", "'os' is empty"},
      {"\"os\": \"linux\"", "\"os_\": \"linux\"", "'os' is missing"},
      {"\"architecture\": \"amd64\"", "\"architecture\": 64", "'architecture' must be a string"},
      {"\"Env\": [", "\"Env\": [1, ", "'Env' must be an array of strings"},
      {"\"Cmd\": [\"sh\"]", "\"Cmd\": \"sh\"", "'Cmd' must be an array of strings"},
      {"\"demo\"", "true", "'Labels.org.opencontainers.image.title' must be a string"},
      {"\"/data\": {}", "\"/data\": 1", "'Volumes./data' must be an object"},
      {"\"8080/tcp\": {}", "\"8080/tcp\": []", "'ExposedPorts.8080/tcp' must be an object"},
      {"\"empty_layer\": true", "\"empty_layer\": \"yes\"", "'history[1]': 'empty_layer' must be true or false"},
      {"\"history\": [", "\"history\": 1, \"x\": [", "'history' must be an array"},
      {"\"config\": {", "\"config\": [], \"x\": {", "'config' must be an object"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.to);
    auto r = parse_config(test::edit(test::kDockerConfig, c.from, c.to));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == c.code);
    CHECK_MESSAGE(r.error().message().starts_with("invalid image config: "), r.error().message());
    CHECK_MESSAGE(r.error().message().find(c.says) != std::string::npos, r.error().message());
  }
  CHECK_FALSE(parse_config("not json"));
  CHECK_FALSE(parse_config("[1]"));
}

TEST_CASE("to_json keeps what hoist does not model, and Entrypoint [] apart from unset") {
  auto c = parse_config(test::kDockerConfig).value();
  c.config.entrypoint = std::vector<std::string>{};  // ENTRYPOINT [] clears
  c.config.labels["added"] = "yes";
  std::string bytes = serialize(c);
  CHECK(bytes.starts_with("{\"created\":\"2023-05-19T20:19:22.751398522Z\",\"architecture\":\"amd64\",\"os\":\"linux\","
                          "\"config\":{\"User\":\"app\",\"ExposedPorts\":"));
  auto back = parse_config(bytes);
  REQUIRE(back);
  CHECK(back->config == c.config);
  CHECK(back->rootfs == c.rootfs);
  CHECK(back->history == c.history);
  REQUIRE(back->config.entrypoint.has_value());
  CHECK(back->config.entrypoint->empty());
  // Unmodelled fields survive, inside config and at the top level.
  CHECK(back->raw["config"]["Healthcheck"]["Interval"] == 30000000000LL);
  CHECK(back->raw["config"]["Hostname"] == "");
  CHECK(back->raw["container_config"]["Cmd"].size() == 3);
  CHECK(back->raw["docker_version"] == "20.10.23");
  // A modelled field cleared in the struct is not resurrected from raw.
  c.config.cmd.reset();
  c.config.labels.clear();
  auto cleared = parse_config(serialize(c)).value();
  CHECK_FALSE(cleared.config.cmd.has_value());
  CHECK(cleared.config.labels.empty());
}

TEST_CASE("to_json of a config built in memory") {
  ImageConfig c;
  c.architecture = "amd64";
  c.os = "linux";
  c.rootfs.diff_ids.push_back(digest::sha256_of("layer"));
  c.history.push_back(History{"", "COPY . /app", "", "", false});
  c.config.cmd = std::vector<std::string>{"/app/run"};
  std::string bytes = serialize(c);
  CHECK(bytes == fmt::format("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Cmd\":[\"/app/run\"]}},"
                             "\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{}\"]}},"
                             "\"history\":[{{\"created_by\":\"COPY . /app\"}}]}}",
                             digest::sha256_of("layer").str()));
  auto back = parse_config(bytes);
  REQUIRE(back);
  CHECK(back->rootfs == c.rootfs);
  CHECK(back->config == c.config);
}
