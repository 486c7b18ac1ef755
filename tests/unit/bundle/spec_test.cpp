#include "bundle/spec.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bundle/user.h"
#include "sys/file_io.h"

using namespace hoist;
using namespace hoist::bundle;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# comment\n"
    "broken line\n"
    "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
    "app:x:1000:1001:App:/home/app:/bin/sh\n";
constexpr std::string_view kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,app\n"
    "appgrp:x:1001:\n"
    "audio:x:29:daemon, app\n"
    "staff:x:50:\n";

std::string src_dir() { return (fs::path(__FILE__).parent_path() / ".." / ".." / "..").lexically_normal().string(); }

image::ImageConfig config_with(const std::string& json) { return image::parse_config(json).value(); }

// Runs tests/tools/validate_json.py against schemas/runtime-config.schema.json.
int validate(const nlohmann::ordered_json& j) {
  char tmpl[] = "/tmp/hoist-spec-XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  std::string s = j.dump(2);
  REQUIRE(::write(fd, s.data(), s.size()) == ssize_t(s.size()));
  ::close(fd);
  std::string cmd = "/usr/bin/python3 " + src_dir() + "/tests/tools/validate_json.py " + src_dir() +
                    "/schemas/runtime-config.schema.json " + tmpl + " >/dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  ::unlink(tmpl);
  return WEXITSTATUS(rc);
}

}  // namespace

TEST_CASE("resolve_user: names, numbers, groups") {
  auto u = resolve_user("app", kPasswd, kGroup).value();
  CHECK(u.uid == 1000);
  CHECK(u.gid == 1001);
  CHECK(u.home == "/home/app");
  CHECK(u.additional_gids == std::vector<uint32_t>{10, 29});

  u = resolve_user("", kPasswd, kGroup).value();
  CHECK(u.uid == 0);
  CHECK(u.gid == 0);
  CHECK(u.home == "/root");

  u = resolve_user("1000", kPasswd, kGroup).value();
  CHECK(u.uid == 1000);
  CHECK(u.gid == 1001);
  CHECK(u.additional_gids.empty());  // numeric user: no lookup of memberships

  u = resolve_user("4242", kPasswd, kGroup).value();
  CHECK(u.uid == 4242);
  CHECK(u.gid == 0);

  u = resolve_user("app:staff", kPasswd, kGroup).value();
  CHECK(u.uid == 1000);
  CHECK(u.gid == 50);
  CHECK(u.additional_gids.empty());

  u = resolve_user("7:8", std::nullopt, std::nullopt).value();
  CHECK(u.uid == 7);
  CHECK(u.gid == 8);

  auto e = resolve_user("nobody", kPasswd, kGroup);
  REQUIRE(!e);
  CHECK(e.error().to_string() == "cannot resolve user 'nobody': no such user in /etc/passwd");
  CHECK(e.error().code() == Errc::kNotFound);
  CHECK(!resolve_user("app:nogroup", kPasswd, kGroup));
  CHECK(resolve_user("app", std::nullopt, kGroup).error().to_string().find("no /etc/passwd") != std::string::npos);
  CHECK(!resolve_user(":0", kPasswd, kGroup));
}

TEST_CASE("resolve_user_in_rootfs reads the files inside the rootfs, following symlinks there") {
  char tmpl[] = "/tmp/hoist-user-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  fs::create_directories(dir + "/rootfs/etc");
  fs::create_directories(dir + "/rootfs/real");
  std::ofstream(dir + "/rootfs/real/passwd") << kPasswd;
  std::ofstream(dir + "/rootfs/etc/group") << kGroup;
  fs::create_symlink("/real/passwd", dir + "/rootfs/etc/passwd");
  auto root = sys::open_file(dir + "/rootfs", O_PATH | O_DIRECTORY).value();
  auto u = resolve_user_in_rootfs("app", root).value();
  CHECK(u.uid == 1000);
  // A passwd symlink pointing at the host's /etc/passwd resolves inside the rootfs.
  fs::remove(dir + "/rootfs/etc/passwd");
  fs::create_symlink("../../../../../../etc/passwd", dir + "/rootfs/etc/passwd");
  CHECK(!resolve_user_in_rootfs("root", root));
  (void)sys::remove_all(dir);
}

TEST_CASE("make_spec: process, annotations, runc defaults") {
  auto cfg = config_with(R"({
    "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z", "author": "me",
    "config": {"User": "app", "Env": ["FOO=bar", "PATH=/bin"], "Entrypoint": ["/bin/ep"], "Cmd": ["a", "b"],
               "WorkingDir": "/work", "StopSignal": "SIGTERM", "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
               "Labels": {"org.opencontainers.image.author": "label wins", "x": "y"}},
    "rootfs": {"type": "layers", "diff_ids": []}})");
  User u = resolve_user("app", kPasswd, kGroup).value();
  auto j = make_spec(cfg, u, {}).value();
  CHECK(j["ociVersion"] == "1.0.2");
  CHECK(j["process"]["args"] == nlohmann::json({"/bin/ep", "a", "b"}));
  CHECK(j["process"]["env"] == nlohmann::json({"FOO=bar", "PATH=/bin", "HOME=/home/app"}));
  CHECK(j["process"]["cwd"] == "/work");
  CHECK(j["process"]["terminal"] == false);
  CHECK(j["process"]["user"]["uid"] == 1000);
  CHECK(j["process"]["user"]["gid"] == 1001);
  CHECK(j["process"]["user"]["additionalGids"] == nlohmann::json({10, 29}));
  CHECK(j["root"]["path"] == "rootfs");
  auto& a = j["annotations"];
  CHECK(a["org.opencontainers.image.os"] == "linux");
  CHECK(a["org.opencontainers.image.architecture"] == "amd64");
  CHECK(a["org.opencontainers.image.created"] == "2024-01-01T00:00:00Z");
  CHECK(a["org.opencontainers.image.author"] == "label wins");
  CHECK(a["org.opencontainers.image.stopSignal"] == "SIGTERM");
  CHECK(a["org.opencontainers.image.exposedPorts"] == "53/udp,80/tcp");
  CHECK(a["x"] == "y");
  CHECK(j["linux"]["namespaces"].size() == 5);
  CHECK(j["linux"]["maskedPaths"].size() == 10);
  CHECK(j["mounts"].size() == 7);
  CHECK(validate(j) == 0);

  SpecOptions o;
  o.entrypoint = std::vector<std::string>{};
  o.cmd = std::vector<std::string>{"/bin/sh", "-c", "true"};
  o.terminal = true;
  j = make_spec(cfg, u, o).value();
  CHECK(j["process"]["args"] == nlohmann::json({"/bin/sh", "-c", "true"}));
  CHECK(j["process"]["terminal"] == true);
  CHECK(j["process"]["env"].back() == "TERM=xterm");
}

TEST_CASE("make_spec: defaults, rootless, no command") {
  auto cfg = config_with(R"({"architecture": "arm64", "os": "linux", "config": {"Cmd": ["sh"]},
                             "rootfs": {"type": "layers", "diff_ids": []}})");
  auto j = make_spec(cfg, User{}, {}).value();
  CHECK(j["process"]["env"][0] == std::string(kDefaultPath));
  CHECK(j["process"]["cwd"] == "/");
  CHECK(j["process"]["user"].find("additionalGids") == j["process"]["user"].end());
  SpecOptions o;
  o.rootless = true;
  o.host_uid = 1234;
  o.host_gid = 5678;
  j = make_spec(cfg, User{}, o).value();
  CHECK(j["linux"]["uidMappings"][0]["hostID"] == 1234);
  CHECK(j["linux"]["gidMappings"][0]["hostID"] == 5678);
  bool has_user = false, has_net = false;
  for (auto& n : j["linux"]["namespaces"]) {
    has_user |= n["type"] == "user";
    has_net |= n["type"] == "network";
  }
  CHECK(has_user);
  CHECK(!has_net);
  CHECK(validate(j) == 0);

  auto none = config_with(R"({"architecture": "arm64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})");
  auto e = make_spec(none, User{}, {});
  REQUIRE(!e);
  CHECK(e.error().to_string().find("no command to run") == 0);
}

TEST_CASE("the schema rejects what the runtime-spec forbids") {
  auto cfg = config_with(R"({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                             "rootfs": {"type": "layers", "diff_ids": []}})");
  auto j = make_spec(cfg, User{}, {}).value();
  auto bad = j;
  bad.erase("ociVersion");
  CHECK(validate(bad) == 1);
  bad = j;
  bad["process"]["cwd"] = "relative";
  CHECK(validate(bad) == 1);
  bad = j;
  bad["linux"]["namespaces"][0]["type"] = "bogus";
  CHECK(validate(bad) == 1);
  bad = j;
  bad["process"]["user"]["uid"] = -1;
  CHECK(validate(bad) == 1);
}
