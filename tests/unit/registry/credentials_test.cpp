#include "registry/credentials.h"

#include <doctest/doctest.h>
#include <fmt/core.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "util/strings.h"

using namespace hoist;
using namespace hoist::registry;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/hoist-cred-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  void write(const std::string& name, const std::string& text, int mode = 0644) {
    fs::create_directories((path / name).parent_path());
    std::ofstream(path / name) << text;
    chmod((path / name).c_str(), mode);
  }
};

// Sets an environment variable for the scope.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = getenv(name.c_str())) old = v;
    setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old)
      setenv(name.c_str(), old->c_str(), 1);
    else
      unsetenv(name.c_str());
  }
};

Credential cred(std::string u, std::string p) { return Credential{std::move(u), std::move(p), ""}; }

}  // namespace

TEST_CASE("parse_credential and normalize_registry_key") {
  CHECK(parse_credential("bob:pa:ss").value() == cred("bob", "pa:ss"));
  CHECK(parse_credential("bob:").value() == cred("bob", ""));
  CHECK(!parse_credential("bob").has_value());
  CHECK(!parse_credential(":x").has_value());

  CHECK(normalize_registry_key("https://index.docker.io/v1/") == "docker.io");
  CHECK(normalize_registry_key("index.docker.io") == "docker.io");
  CHECK(normalize_registry_key("registry-1.docker.io") == "docker.io");
  CHECK(normalize_registry_key("http://LocalHost:5000") == "localhost:5000");
  CHECK(normalize_registry_key("https://quay.io/v2/") == "quay.io");
  CHECK(normalize_registry_key("quay.io/org/repo") == "quay.io/org/repo");
  CHECK(normalize_registry_key("quay.io/") == "quay.io");
}

TEST_CASE("auths entries: base64 auth, username/password, identity token, URL keys, namespaces") {
  std::string cfg = fmt::format(R"({{
    "auths": {{
      "https://index.docker.io/v1/": {{"auth": "{}"}},
      "localhost:5000": {{"username": "u5", "password": "p5"}},
      "quay.io": {{"auth": "{}"}},
      "quay.io/org": {{"auth": "{}"}},
      "oauth.example": {{"identitytoken": "refresh-me"}},
      "empty.example": {{}}
    }}
  }})",
                                base64_encode("hubuser:hub:pass"), base64_encode("q:top"),
                                base64_encode("q:org"));
  auto store = CredentialStore::from_json(cfg).value();
  CHECK(store.lookup("docker.io").value() == cred("hubuser", "hub:pass"));
  CHECK(store.lookup("index.docker.io").value() == cred("hubuser", "hub:pass"));
  CHECK(store.lookup("localhost:5000").value() == cred("u5", "p5"));
  CHECK(!store.lookup("localhost:5001").value().has_value());
  CHECK(store.lookup("quay.io", "other/app").value() == cred("q", "top"));
  CHECK(store.lookup("quay.io", "org/app").value() == cred("q", "org"));
  CHECK(store.lookup("quay.io", "org/team/app").value() == cred("q", "org"));
  auto oauth = store.lookup("oauth.example").value();
  REQUIRE(oauth.has_value());
  CHECK(oauth->identity_token == "refresh-me");
  CHECK(!store.lookup("empty.example").value().has_value());
  CHECK(!store.lookup("nowhere.example").value().has_value());
}

TEST_CASE("malformed configs are errors naming the file") {
  auto bad = CredentialStore::from_json("{not json", "/x/config.json");
  REQUIRE(!bad.has_value());
  CHECK(bad.error().code() == Errc::kInvalidArgument);
  CHECK(bad.error().message().find("'/x/config.json'") != std::string::npos);
  CHECK(!CredentialStore::from_json(R"({"auths": []})").has_value());
  CHECK(!CredentialStore::from_json("[]").has_value());
  auto store = CredentialStore::from_json(R"({"auths": {"h": {"auth": "!!notbase64"}}})").value();
  auto r = store.lookup("h");
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == Errc::kInvalidArgument);
}

TEST_CASE("files are read in order and missing ones are skipped") {
  TempDir t;
  t.write("a.json", R"({"auths": {"one.example": {"username": "a", "password": "1"}}})");
  t.write("b.json", R"({"auths": {"one.example": {"username": "b", "password": "2"},
                                  "two.example": {"username": "b", "password": "3"}}})");
  auto store =
      CredentialStore::load({(t.path / "missing.json").string(), (t.path / "a.json").string(),
                             (t.path / "b.json").string()})
          .value();
  CHECK(store.lookup("one.example").value() == cred("a", "1"));
  CHECK(store.lookup("two.example").value() == cred("b", "3"));

  // The environment's order: REGISTRY_AUTH_FILE before DOCKER_CONFIG.
  ScopedEnv e1("REGISTRY_AUTH_FILE", (t.path / "a.json").string());
  ScopedEnv e2("DOCKER_CONFIG", t.path.string());
  ScopedEnv e3("XDG_RUNTIME_DIR", (t.path / "run").string());
  ScopedEnv e4("XDG_CONFIG_HOME", (t.path / "cfg").string());
  t.write("config.json", R"({"auths": {"three.example": {"username": "c", "password": "4"},
                                       "one.example": {"username": "c", "password": "5"}}})");
  auto paths = CredentialStore::default_paths();
  REQUIRE(paths.size() == 4);
  CHECK(paths[0] == (t.path / "a.json").string());
  CHECK(paths[1] == (t.path / "run/containers/auth.json").string());
  CHECK(paths[2] == (t.path / "cfg/containers/auth.json").string());
  CHECK(paths[3] == (t.path / "config.json").string());
  auto env_store = CredentialStore::from_environment().value();
  CHECK(env_store.lookup("one.example").value() == cred("a", "1"));
  CHECK(env_store.lookup("three.example").value() == cred("c", "4"));
}

TEST_CASE("credential helpers: credHelpers, credsStore, not found, identity token, failures") {
  TempDir t;
  // A helper that answers for two servers and logs what it was asked.
  t.write("bin/docker-credential-test", fmt::format(R"(#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
echo "$server" >> {}/asked
case "$server" in
  https://index.docker.io/v1/) echo '{{"ServerURL":"x","Username":"hub","Secret":"hubsecret"}}' ;;
  helper.example:5000) echo '{{"ServerURL":"x","Username":"h","Secret":"s3cret"}}' ;;
  token.example) echo '{{"ServerURL":"x","Username":"<token>","Secret":"refresh"}}' ;;
  broken.example) echo 'something bad happened'; exit 1 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
)",
                                                    t.path.string()),
          0755);
  std::string path = (t.path / "bin").string() + ":" + (getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
  ScopedEnv env_path("PATH", path);

  auto direct = run_credential_helper("test", "helper.example:5000").value();
  REQUIRE(direct.has_value());
  CHECK(*direct == cred("h", "s3cret"));

  auto store = CredentialStore::from_json(R"({
    "auths": {"plain.example": {"username": "p", "password": "q"}},
    "credHelpers": {"helper.example:5000": "test", "docker.io": "test", "broken.example": "test",
                    "gone.example": "nonexistent-helper-xyz"},
    "credsStore": "test"
  })")
                   .value();
  CHECK(store.lookup("helper.example:5000").value() == cred("h", "s3cret"));
  CHECK(store.lookup("docker.io").value() == cred("hub", "hubsecret"));
  CHECK(store.lookup("plain.example").value() == cred("p", "q"));  // auths before credsStore
  auto tok = store.lookup("token.example").value();                // via credsStore
  REQUIRE(tok.has_value());
  CHECK(tok->identity_token == "refresh");
  CHECK(tok->username.empty());
  CHECK(!store.lookup("unknown.example").value().has_value());

  auto broken = store.lookup("broken.example");
  REQUIRE(!broken.has_value());
  CHECK(broken.error().code() == Errc::kIo);
  CHECK(broken.error().message().find("something bad happened") != std::string::npos);

  auto gone = store.lookup("gone.example");
  REQUIRE(!gone.has_value());
  CHECK(gone.error().code() == Errc::kNotFound);
  CHECK(gone.error().message().find("docker-credential-nonexistent-helper-xyz") != std::string::npos);

  std::ifstream asked(t.path / "asked");
  std::string all((std::istreambuf_iterator<char>(asked)), std::istreambuf_iterator<char>());
  CHECK(all.find("https://index.docker.io/v1/\n") != std::string::npos);
  CHECK(all.find("unknown.example\n") != std::string::npos);

  CHECK(!run_credential_helper("../evil", "x").has_value());
}
