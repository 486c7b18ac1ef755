#include <doctest/doctest.h>

#include "build/builder.h"
#include "build/cache.h"

using namespace hoist;
using namespace hoist::build;
using namespace hoist::build::detail;

namespace {

dockerfile::Command command(std::string_view text) {
  auto r = dockerfile::parse_instruction(text);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  auto e = dockerfile::expand_command(*r, dockerfile::empty_lookup());  // as the executor does first
  REQUIRE_MESSAGE(e.has_value(), (e ? "" : e.error().message()));
  return *r;
}

std::string apply(StageState& s, std::string_view text) {
  auto r = apply_metadata(s, command(text));
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  return r->value_or("<none>");
}

}  // namespace

TEST_CASE("ENV replaces in place, appends new names, and gives BuildKit's history text") {
  StageState s;
  s.config.config.env = {"PATH=/bin", "A=1"};
  CHECK(apply(s, "ENV PATH=/x:/bin B=2") == "ENV PATH=/x:/bin B=2");
  CHECK(s.config.config.env == std::vector<std::string>{"PATH=/x:/bin", "A=1", "B=2"});
  CHECK(apply(s, "ENV C some words") == "ENV C=some words");
  CHECK(s.config.config.env.back() == "C=some words");
}

TEST_CASE("ENV wins over ARG in lookups; RUN sees ARGs ENV does not set") {
  StageState s;
  s.config.config.env = {"SAME=env", "EMPTY="};
  s.args.set("SAME", "arg");
  s.args.set("ONLY", "arg-only");
  auto look = stage_lookup(s);
  CHECK(look("SAME") == std::optional<std::string>("env"));
  CHECK(look("EMPTY") == std::optional<std::string>(""));
  CHECK(look("ONLY") == std::optional<std::string>("arg-only"));
  CHECK(!look("NONE").has_value());
  CHECK(!look("SAM").has_value());
  CHECK(run_env(s) == std::vector<std::string>{"SAME=env", "EMPTY=", "ONLY=arg-only"});
  CHECK(run_command_string({"/bin/sh", "-c", "make"}, s) == "|2 SAME=env ONLY=arg-only /bin/sh -c make");
}

TEST_CASE("CMD and ENTRYPOINT: shell form through SHELL; ENTRYPOINT resets an inherited CMD") {
  StageState s;
  s.config.config.cmd = std::vector<std::string>{"inherited"};
  CHECK(apply(s, "ENTRYPOINT run me") == R"(ENTRYPOINT ["/bin/sh" "-c" "run me"])");
  CHECK(!s.config.config.cmd.has_value());
  CHECK(apply(s, "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]") == "SHELL [/bin/bash -o pipefail -c]");
  CHECK(apply(s, "CMD echo hi") == R"(CMD ["/bin/bash" "-o" "pipefail" "-c" "echo hi"])");
  CHECK(apply(s, "ENTRYPOINT [\"/e\"]") == R"(ENTRYPOINT ["/e"])");
  CHECK(s.config.config.cmd == std::vector<std::string>{"/bin/bash", "-o", "pipefail", "-c", "echo hi"});
  CHECK(s.config.raw["config"]["Shell"] == nlohmann::json({"/bin/bash", "-o", "pipefail", "-c"}));
}

TEST_CASE("EXPOSE, VOLUME, LABEL, USER, STOPSIGNAL, MAINTAINER, ONBUILD, HEALTHCHECK") {
  StageState s;
  CHECK(apply(s, "EXPOSE 80 53/udp 8000-8001") == "EXPOSE map[53/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{}]");
  CHECK(s.config.config.exposed_ports == std::vector<std::string>{"53/udp", "80/tcp", "8000/tcp", "8001/tcp"});
  CHECK_FALSE(apply_metadata(s, command("EXPOSE 99999")).has_value());
  CHECK(apply(s, "VOLUME /b /a") == "VOLUME [/b /a]");
  CHECK(s.config.config.volumes == std::vector<std::string>{"/a", "/b"});
  CHECK(apply(s, "LABEL a=1 \"b c\"=2") == "LABEL a=1 b c=2");
  CHECK(s.config.config.labels.at("b c") == "2");
  CHECK(apply(s, "USER app:grp") == "USER app:grp");
  CHECK(s.config.config.user == "app:grp");
  CHECK(apply(s, "STOPSIGNAL SIGQUIT") == "STOPSIGNAL SIGQUIT");
  CHECK(apply(s, "MAINTAINER me <me@x>") == "MAINTAINER me <me@x>");
  CHECK(s.config.author == "me <me@x>");
  CHECK(apply(s, "ONBUILD RUN make") == "<none>");
  CHECK(s.config.raw["config"]["OnBuild"] == nlohmann::json({"RUN make"}));
  apply(s, "HEALTHCHECK --interval=1m30s --retries=3 CMD true");
  CHECK(s.config.raw["config"]["Healthcheck"] ==
        nlohmann::json({{"Test", {"CMD-SHELL", "true"}}, {"Interval", 90000000000LL}, {"Retries", 3}}));
  apply(s, "HEALTHCHECK NONE");
  CHECK(s.config.raw["config"]["Healthcheck"] == nlohmann::json({{"Test", {"NONE"}}}));
}

TEST_CASE("WORKDIR and COPY destinations against the working directory") {
  CHECK(resolve_workdir("", "app") == "/app");
  CHECK(resolve_workdir("/srv", "app/../x/") == "/srv/x");
  CHECK(resolve_workdir("/srv", "/abs") == "/abs");
  CHECK(resolve_workdir("/srv", "/") == "/");
  CHECK(copy_destination("/srv", ".") == std::pair<std::string, bool>{"/srv", true});
  CHECK(copy_destination("/srv", "a/") == std::pair<std::string, bool>{"/srv/a", true});
  CHECK(copy_destination("/srv", "a") == std::pair<std::string, bool>{"/srv/a", false});
  CHECK(copy_destination("", "/x/../y") == std::pair<std::string, bool>{"/y", false});
  CHECK(copy_destination("/srv", "/") == std::pair<std::string, bool>{"/", true});
}

TEST_CASE("cache keys: canonical over key order, different for any changed input") {
  nlohmann::json a = {{"kind", "run"}, {"argv", {"sh", "-c", "x"}}, {"parent", ""}};
  nlohmann::json b = {{"parent", ""}, {"argv", {"sh", "-c", "x"}}, {"kind", "run"}};
  CHECK(cache_key(a) == cache_key(b));
  b["argv"][2] = "y";
  CHECK(cache_key(a) != cache_key(b));
  nlohmann::json c = a;
  c["parent"] = "sha256:00";
  CHECK(cache_key(a) != cache_key(c));
}

TEST_CASE("times are RFC 3339 in UTC") {
  CHECK(rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(rfc3339(1700000000) == "2023-11-14T22:13:20Z");
}
