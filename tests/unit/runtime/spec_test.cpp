#include "runtime/spec.h"

#include <doctest/doctest.h>

using namespace hoist;

TEST_CASE("parse_spec reads a runc default spec back") {
  auto s = runtime::parse_spec(runtime::default_spec_json(false, 0, 0));
  REQUIRE(s.has_value());
  CHECK(s->oci_version == "1.0.2-dev");
  REQUIRE(s->process);
  CHECK(s->process->args == std::vector<std::string>{"sh"});
  CHECK(s->process->terminal);
  CHECK(s->process->no_new_privileges);
  REQUIRE(s->process->capabilities);
  CHECK(s->process->capabilities->bounding.size() == 3);
  REQUIRE(s->process->rlimits.size() == 1);
  CHECK(s->process->rlimits[0].soft == 1024);
  CHECK(s->root_readonly);
  CHECK(s->hostname == "runc");
  CHECK(s->mounts.size() == 7);
  CHECK(s->has_namespace("pid"));
  CHECK(s->has_namespace("network"));
  CHECK(!s->has_namespace("user"));
  CHECK(s->linux_cfg.masked_paths.size() == 10);
  CHECK(s->linux_cfg.readonly_paths.size() == 5);
}

TEST_CASE("rootless spec maps the caller and has no network namespace") {
  auto s = runtime::parse_spec(runtime::default_spec_json(true, 1000, 1001));
  REQUIRE(s.has_value());
  CHECK(s->has_namespace("user"));
  CHECK(!s->has_namespace("network"));
  REQUIRE(s->linux_cfg.uid_mappings.size() == 1);
  CHECK(s->linux_cfg.uid_mappings[0].host_id == 1000);
  CHECK(s->linux_cfg.gid_mappings[0].host_id == 1001);
  for (const auto& m : s->mounts) CHECK(m.destination != "/sys/fs/cgroup");
}

TEST_CASE("parse_spec names the offending field") {
  auto bad = [](const char* json) {
    auto r = runtime::parse_spec(json);
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::kInvalidArgument);
    return r.error().to_string();
  };
  CHECK(bad("{}") == "invalid config: 'ociVersion' is required");
  CHECK(bad(R"({"ociVersion":"1.0.2","process":{"user":{"uid":-1}}})") ==
        "invalid config: 'process.user.uid' must be a non-negative integer");
  CHECK(bad(R"({"ociVersion":"1.0.2","mounts":[{"type":"tmpfs"}]})") ==
        "invalid config: 'mounts[0].destination' is required");
  CHECK(bad(R"({"ociVersion":"1.0.2","linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}})") ==
        "invalid config: 'linux.namespaces[1]' repeats the namespace 'pid'");
  CHECK(bad(R"({"ociVersion":"1.0.2","linux":{"namespaces":[{"type":"bogus"}]}})").find("unknown namespace") !=
        std::string::npos);
  CHECK(bad("not json") == "config is not valid JSON");
}

TEST_CASE("parse_spec reads resources, seccomp, hooks and warns about labels") {
  auto s = runtime::parse_spec(R"({"ociVersion":"1.0.2",
    "process":{"args":["true"],"cwd":"/","apparmorProfile":"x","user":{"uid":1,"gid":2,"additionalGids":[3]}},
    "hooks":{"prestart":[{"path":"/bin/true","timeout":3}]},
    "linux":{"resources":{"memory":{"limit":1048576},"pids":{"limit":10},"cpu":{"shares":512,"quota":1000,"period":2000}},
             "seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]},
             "sysctl":{"net.ipv4.ip_forward":"1"}}})");
  REQUIRE(s.has_value());
  CHECK(s->process->additional_gids == std::vector<uint32_t>{3});
  CHECK(s->hooks.prestart.at(0).timeout == 3);
  CHECK(s->linux_cfg.resources->memory_limit == 1048576);
  CHECK(s->linux_cfg.resources->pids_limit == 10);
  CHECK(s->linux_cfg.resources->cpu_period == 2000u);
  CHECK(s->linux_cfg.seccomp->syscalls.at(0).errno_ret == 1u);
  CHECK(s->linux_cfg.sysctl.at(0).first == "net.ipv4.ip_forward");
  CHECK(s->warnings == std::vector<std::string>{"AppArmor profile ignored"});
}
