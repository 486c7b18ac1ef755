// Typed commands: BuildKit's instructions/parse_test.go and parse_heredoc_test.go, plus
// each instruction's rules.
#include "dockerfile/instructions.h"
#include "test_data.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace hoist;
using namespace hoist::dockerfile;
using namespace hoist::dockerfile::testing;
using V = std::vector<std::string>;

namespace {

template <typename T>
T as(std::string_view text) {
  Command c = command(text);
  REQUIRE(std::holds_alternative<T>(c));
  return std::get<T>(c);
}

Dockerfile df(std::string_view text) {
  auto r = parse_dockerfile(text);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  return *r;
}

}  // namespace

TEST_CASE("instructions: argument counts (TestCommandsExactlyOneArgument and friends)") {
  for (std::string c : {"MAINTAINER", "WORKDIR", "USER", "STOPSIGNAL"}) {
    CHECK(instruction_error(c) == "Dockerfile:1:1: " + c + " requires exactly one argument");
  }
  for (std::string c : {"ENV", "LABEL", "ONBUILD", "HEALTHCHECK", "EXPOSE", "VOLUME", "ARG", "SHELL", "RUN"}) {
    CHECK(instruction_error(c) == "Dockerfile:1:1: " + c + " requires at least one argument");
  }
  for (std::string c : {"ADD", "COPY"}) {
    CHECK(instruction_error(c + " arg1") == "Dockerfile:1:1: " + c +
                                  " requires at least two arguments, but only one was provided. Destination could "
                                  "not be determined");
  }
  CHECK(instruction_error("COPY\t").find("COPY requires at least two arguments") != std::string::npos);  // copyEmptyWhitespace
}

TEST_CASE("instructions: malformed key/value nodes (TestCommandsTooManyArguments, TestCommandsBlankNames)") {
  for (std::string k : {"env", "label"}) {
    Node n;
    n.keyword = k;
    n.command = k;
    n.start_line = 7;
    n.args = {"arg1", "arg2", "arg3", ""};
    auto r = parse_command(n);
    REQUIRE_FALSE(r.has_value());
    std::string up = k == "env" ? "ENV" : "LABEL";
    CHECK(r.error().message() == "Dockerfile:7:1: bad input to " + up + ", too many arguments");
    n.args = {"", "arg2", "="};
    r = parse_command(n);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message() == "Dockerfile:7:1: " + up + " names can not be blank");
  }
}

TEST_CASE("instructions: ENV, LABEL, ARG") {
  auto e = as<EnvCmd>("ENV a=1 b=\"two words\" c=");
  CHECK(e.env == std::vector<KeyValue>{{"a", "1", false}, {"b", "\"two words\"", false}, {"c", "", false}});
  auto legacy = as<EnvCmd>("ENV PATH /usr/bin:/bin  x");
  CHECK(legacy.env == std::vector<KeyValue>{{"PATH", "/usr/bin:/bin  x", true}});
  auto l = as<LabelCmd>("LABEL org.opencontainers.image.title=\"hoist\" v=1");
  REQUIRE(l.labels.size() == 2);
  CHECK(l.labels[0].key == "org.opencontainers.image.title");
  auto a = as<ArgCmd>("ARG A B=2 C= D=\"x y\"");
  CHECK(a.args == std::vector<ArgDef>{{"A", std::nullopt}, {"B", "2"}, {"C", ""}, {"D", "\"x y\""}});
  CHECK(instruction_error("ARG =x") == "Dockerfile:1:1: ARG names can not be blank");
}

TEST_CASE("instructions: RUN") {
  auto r = as<RunCmd>("RUN --mount=type=tmpfs,target=/foo/ echo hello");
  CHECK(r.flags_used == V{"mount"});  // TestRunCmdFlagsUsed
  CHECK(r.mounts == V{"type=tmpfs,target=/foo/"});
  CHECK(r.cmd.args == V{"echo hello"});
  CHECK(r.cmd.prepend_shell);
  CHECK(r.network == "default");
  CHECK(r.security == "sandbox");
  auto x = as<RunCmd>("RUN --network=none --security=insecure --mount=a=1 --mount=b=2 --device=gpu [\"ls\", \"/\"]");
  CHECK(x.cmd.args == V{"ls", "/"});
  CHECK_FALSE(x.cmd.prepend_shell);
  CHECK(x.network == "none");
  CHECK(x.security == "insecure");
  CHECK(x.mounts == V{"a=1", "b=2"});
  CHECK(x.devices == V{"gpu"});
  CHECK(instruction_error("RUN --network=bridge x") == "Dockerfile:1:1: invalid network mode \"bridge\"");
  CHECK(instruction_error("RUN --security=x y") == "Dockerfile:1:1: security \"x\" is not valid");
}

TEST_CASE("instructions: RUN heredocs (TestRunHeredoc)") {
  auto a = as<RunCmd>("RUN [\"<<EOF\"]");
  CHECK(a.cmd.args == V{"<<EOF"});
  CHECK(a.cmd.files.empty());
  auto b = as<RunCmd>("RUN <<EOF\nls /\nwhoami\nEOF");
  CHECK(b.cmd.args == V{"<<EOF"});
  REQUIRE(b.cmd.files.size() == 1);
  CHECK(b.cmd.files[0].name == "EOF");
  CHECK(b.cmd.files[0].content == "ls /\nwhoami\n");
  auto c = as<RunCmd>("RUN <<'EOF' | python\nprint(\"hello\")\nprint(\"world\")\nEOF");
  CHECK(c.cmd.args == V{"<<'EOF' | python"});
  CHECK(c.cmd.files[0].content == "print(\"hello\")\nprint(\"world\")\n");
  auto d = as<RunCmd>("RUN <<-EOF\n\techo test\nEOF");
  CHECK(d.cmd.args == V{"<<-EOF"});
  CHECK(d.cmd.files[0].content == "\techo test\n");  // RUN keeps the tabs; chomp says what to do
  CHECK(d.cmd.files[0].chomp);
}

TEST_CASE("instructions: COPY and ADD (TestCopyHeredoc)") {
  auto a = as<CopyCmd>("COPY /foo /bar");
  CHECK(a.sources == V{"/foo"});
  CHECK(a.dest == "/bar");
  CHECK(a.contents.empty());
  CHECK(as<CopyCmd>("COPY <<EOF /bar\nEOF").contents == std::vector<SourceContent>{{"EOF", "", true}});
  CHECK(as<CopyCmd>("COPY <<EOF /bar\nTESTING\nEOF").contents == std::vector<SourceContent>{{"EOF", "TESTING\n", true}});
  CHECK(as<CopyCmd>("COPY <<-EOF /bar\n\tTESTING\nEOF").contents ==
        std::vector<SourceContent>{{"EOF", "TESTING\n", true}});
  CHECK(as<CopyCmd>("COPY <<'EOF' /bar\nTESTING\nEOF").contents ==
        std::vector<SourceContent>{{"EOF", "TESTING\n", false}});
  auto two = as<CopyCmd>("COPY <<EOF1 <<EOF2 /bar\nthis is the first file\nEOF1\nthis is the second file\nEOF2");
  CHECK(two.contents == std::vector<SourceContent>{{"EOF1", "this is the first file\n", true},
                                                   {"EOF2", "this is the second file\n", true}});
  auto mixed = as<CopyCmd>("COPY <<EOF foo.txt /bar\nthis is inline\nEOF");
  CHECK(mixed.sources == V{"foo.txt"});
  CHECK(mixed.contents == std::vector<SourceContent>{{"EOF", "this is inline\n", true}});
  CHECK(as<CopyCmd>("COPY <<EOF /quotes\n\"quotes\"\nEOF").contents ==
        std::vector<SourceContent>{{"EOF", "\"quotes\"\n", true}});
  CHECK(instruction_error("COPY /foo <<EOF\nEOF") == "Dockerfile:1:1: COPY cannot accept a heredoc as a destination");

  auto f = as<CopyCmd>("COPY --from=build --chown=1:2 --chmod=755 --link --parents --exclude=*.md --exclude=x a b /d/");
  CHECK(f.from == "build");
  CHECK(f.chown == "1:2");
  CHECK(f.chmod == "755");
  CHECK(f.link);
  CHECK(f.parents);
  CHECK(f.excludes == V{"*.md", "x"});
  CHECK(f.sources == V{"a", "b"});
  CHECK(as<CopyCmd>("COPY --link=false [\"a b\", \"/c d\"]").dest == "/c d");
  CHECK_FALSE(as<CopyCmd>("COPY --link=false a b").link);

  auto add = as<AddCmd>("ADD --checksum=sha256:00 --keep-git-dir --unpack=false https://x/y.tgz /");
  CHECK(add.checksum == "sha256:00");
  CHECK(add.keep_git_dir == std::optional<bool>(true));
  CHECK(add.unpack == std::optional<bool>(false));
  auto plain = as<AddCmd>("ADD a /b");
  CHECK_FALSE(plain.keep_git_dir.has_value());
  CHECK_FALSE(plain.unpack.has_value());
}

TEST_CASE("instructions: CMD, ENTRYPOINT, SHELL") {
  CHECK(as<CmdCmd>("CMD echo hi there").cmd.args == V{"echo hi there"});
  auto exec = as<CmdCmd>("CMD [\"a\", \"b\"]");
  CHECK(exec.cmd.args == V{"a", "b"});
  CHECK_FALSE(exec.cmd.prepend_shell);
  auto empty = as<EntrypointCmd>("ENTRYPOINT []");
  CHECK(empty.cmd.args.empty());
  CHECK_FALSE(empty.cmd.prepend_shell);
  CHECK(as<ShellCmd>("SHELL [\"powershell\", \"-command\"]").shell == V{"powershell", "-command"});
  CHECK(instruction_error("SHELL powershell -command") == "Dockerfile:1:1: SHELL requires the arguments to be in JSON form");
  CHECK(instruction_error("SHELL []") == "Dockerfile:1:1: SHELL requires at least one argument");
}

TEST_CASE("instructions: HEALTHCHECK") {
  auto h = as<HealthcheckCmd>("HEALTHCHECK --interval=5s --timeout=1m30s --start-period=250ms "
                              "--start-interval=2s --retries=3 CMD curl -f http://x/ || exit 1");
  CHECK(h.health.test == V{"CMD-SHELL", "curl -f http://x/ || exit 1"});
  CHECK(h.health.interval_ns == 5'000'000'000);
  CHECK(h.health.timeout_ns == 90'000'000'000);
  CHECK(h.health.start_period_ns == 250'000'000);
  CHECK(h.health.start_interval_ns == 2'000'000'000);
  CHECK(h.health.retries == 3);
  CHECK(as<HealthcheckCmd>("HEALTHCHECK CMD [\"/bin/check\", \"-q\"]").health.test == V{"CMD", "/bin/check", "-q"});
  CHECK(as<HealthcheckCmd>("HEALTHCHECK cmd hello world").health.test == V{"CMD-SHELL", "hello world"});
  CHECK(as<HealthcheckCmd>("HEALTHCHECK none").health.test == V{"NONE"});
  auto zero = as<HealthcheckCmd>("HEALTHCHECK --interval=0s --retries=0 CMD true");
  CHECK(zero.health.interval_ns == 0);
  CHECK(instruction_error("HEALTHCHECK NONE x") == "Dockerfile:1:1: HEALTHCHECK NONE takes no arguments");
  CHECK(instruction_error("HEALTHCHECK CMD") == "Dockerfile:1:1: missing command after HEALTHCHECK CMD");
  CHECK(instruction_error("HEALTHCHECK CONNECT TCP 7000") == "Dockerfile:1:1: unknown type \"CONNECT\" in HEALTHCHECK (try CMD)");
  CHECK(instruction_error("HEALTHCHECK --interval=50ns CMD x") == "Dockerfile:1:1: --interval cannot be less than 1ms");
  CHECK(instruction_error("HEALTHCHECK --timeout=-1s CMD x").find("cannot be less than 1ms") != std::string::npos);
  CHECK(instruction_error("HEALTHCHECK --interval=5 CMD x").find("missing unit") != std::string::npos);
  CHECK(instruction_error("HEALTHCHECK --retries=-1 CMD x") == "Dockerfile:1:1: --retries cannot be negative (-1)");
  CHECK(instruction_error("HEALTHCHECK --retries=x CMD x") == "Dockerfile:1:1: invalid value \"x\" for --retries");
  CHECK(as<HealthcheckCmd>("HEALTHCHECK --interval=1ms CMD x").health.interval_ns == 1'000'000);
}

TEST_CASE("instructions: Go durations") {
  auto d = [](std::string_view s) {
    auto r = parse_go_duration(s);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
    return *r;
  };
  CHECK(d("0") == 0);
  CHECK(d("-0") == 0);
  CHECK(d("1h2m3s") == 3'723'000'000'000);
  CHECK(d("1.5s") == 1'500'000'000);
  CHECK(d(".5ms") == 500'000);
  CHECK(d("1.s") == 1'000'000'000);
  CHECK(d("10us") == 10'000);
  CHECK(d("10\xC2\xB5s") == 10'000);
  CHECK(d("10\xCE\xBCs") == 10'000);
  CHECK(d("-2h") == -7'200'000'000'000);
  CHECK(d("+3ns") == 3);
  CHECK(d("9223372036854775807ns") == INT64_MAX);
  CHECK(d("-9223372036854775808ns") == INT64_MIN);
  for (std::string bad : {"", "s", ".s", "1", "1x", "1.2.3s", "--1s", "9223372036854775808ns", "3000000h"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_go_duration(bad).has_value());
  }
}

TEST_CASE("instructions: the one-argument instructions, EXPOSE, VOLUME") {
  CHECK(as<WorkdirCmd>("WORKDIR /a b").path == "/a b");
  CHECK(as<UserCmd>("USER app:app").user == "app:app");
  CHECK(as<StopsignalCmd>("STOPSIGNAL SIGKILL").signal == "SIGKILL");
  CHECK(as<MaintainerCmd>("MAINTAINER Jane Doe <j@x>").maintainer == "Jane Doe <j@x>");
  CHECK(as<ExposeCmd>("EXPOSE 9000 5000/udp 6000").ports == V{"5000/udp", "6000", "9000"});  // sorted
  CHECK(as<VolumeCmd>("VOLUME [\"/a\", \" /b \"]").volumes == V{"/a", "/b"});
  CHECK(instruction_error("VOLUME [\"/a\", \" \"]") == "Dockerfile:1:1: VOLUME specified can not be an empty string");
  CHECK(instruction_error("MAINTAINER --boo joe@example.com") == "Dockerfile:1:1: unknown flag: --boo");
}

TEST_CASE("instructions: ONBUILD") {
  auto o = as<OnbuildCmd>("onbuild   RUN --network=none make all");
  CHECK(o.expression == "RUN --network=none make all");
  auto h = as<OnbuildCmd>("ONBUILD COPY <<EOF /x\nhello\nEOF");
  CHECK(h.expression == "COPY <<EOF /x\nhello\nEOF");
  // The stored expression parses again, as the child build does.
  auto again = parse_instruction(h.expression);
  REQUIRE(again.has_value());
  CHECK(std::get<CopyCmd>(*again).contents == std::vector<SourceContent>{{"EOF", "hello\n", true}});
  CHECK(instruction_error("ONBUILD ONBUILD RUN touch foobar") ==
        "Dockerfile:1:1: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  CHECK(instruction_error("ONBUILD FROM scratch") == "Dockerfile:1:1: FROM isn't allowed as an ONBUILD trigger");
  CHECK(instruction_error("ONBUILD maintainer x") == "Dockerfile:1:1: MAINTAINER isn't allowed as an ONBUILD trigger");
}

TEST_CASE("instructions: parse_instruction takes exactly one command") {
  CHECK(instruction_error("RUN a\nRUN b") == "Dockerfile: expected one instruction, found 2");
  CHECK(instruction_error("") == "Dockerfile: expected one instruction, found 0");
  CHECK(instruction_error("FROM x") == "Dockerfile:1:1: FROM starts a stage: it is not a command");
  auto bt = parse_instruction("RUN a `\n b", "Dockerfile", '`');
  REQUIRE(bt.has_value());
  CHECK(std::get<RunCmd>(*bt).cmd.args == V{"a  b"});
}

TEST_CASE("instructions: stages and global ARGs") {
  Dockerfile d = df(
      "# syntax=docker/dockerfile:1\n"
      "ARG BASE=alpine\n"
      "ARG V\n"
      "FROM --platform=$BUILDPLATFORM ${BASE}:3 AS Build-1.x\n"
      "RUN make\n"
      "# the final stage\n"
      "from scratch\n"
      "COPY --from=build-1.x /out /\n");
  REQUIRE(d.global_args.size() == 2);
  CHECK(d.global_args[0].args == std::vector<ArgDef>{{"BASE", "alpine"}});
  REQUIRE(d.stages.size() == 2);
  CHECK(d.stages[0].base_name == "${BASE}:3");
  CHECK(d.stages[0].name == "build-1.x");
  CHECK(d.stages[0].platform == "$BUILDPLATFORM");
  CHECK(d.stages[0].index == 0);
  CHECK(d.stages[0].info.start_line == 4);
  CHECK(d.stages[0].commands.size() == 1);
  CHECK(d.stages[1].name.empty());
  CHECK(d.stages[1].index == 1);
  CHECK(d.stages[1].info.comments == V{"the final stage"});
  CHECK(d.find_stage("BUILD-1.X") == &d.stages[0]);
  CHECK(d.find_stage("nope") == nullptr);
  CHECK(d.directives.size() == 1);

  const CommandInfo& ci = info(d.stages[1].commands[0]);
  CHECK(ci.file == "Dockerfile");
  CHECK(ci.keyword == "copy");
  CHECK(ci.original == "COPY --from=build-1.x /out /");
  CHECK(ci.start_line == 8);

  auto bad = parse_dockerfile("FROM a AS 1st\n");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message() ==
        "Dockerfile:1:1: invalid name for build stage: \"1st\", name can't start with a number or contain symbols");
  CHECK(parse_dockerfile("FROM a b\n").error().message() ==
        "Dockerfile:1:1: FROM requires either one or three arguments");
  CHECK(parse_dockerfile("FROM\n").error().message() == "Dockerfile:1:1: FROM requires either one or three arguments");
  CHECK(parse_dockerfile("FROM a AS x$y\n").error().message().find("invalid name for build stage") !=
        std::string::npos);
  CHECK(parse_dockerfile("FROM a\nWORKDIR\n", "ci/Dockerfile").error().message() ==
        "ci/Dockerfile:2:1: WORKDIR requires exactly one argument");
}

TEST_CASE("instructions: build_dockerfile keeps the structure rules for fragments") {
  auto ast = parse_fragment("RUN x\nFROM a\n");
  REQUIRE(ast.has_value());
  auto d = build_dockerfile(*ast);
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().message().starts_with("Dockerfile:1:1: instruction \"RUN\" before the first FROM"));
  auto only_args = parse_fragment("ARG a\n");
  REQUIRE(only_args.has_value());
  CHECK(build_dockerfile(*only_args).error().message() == "Dockerfile: no FROM instruction");
}
