// Per-instruction expansion (BuildKit's dispatch rules) and RUN --mount parsing.
#include "dockerfile/expand.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dockerfile/runmount.h"
#include "test_data.h"

using namespace hoist;
using namespace hoist::dockerfile;
using namespace hoist::dockerfile::testing;
using V = std::vector<std::string>;

namespace {

template <typename T>
T expanded(std::string_view text, const Env& env, char escape = '\\', std::set<std::string>* used = nullptr) {
  Command c = command(text, escape);
  auto r = expand_command(c, env.lookup(), escape, used);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  REQUIRE(std::holds_alternative<T>(c));
  return std::get<T>(c);
}

std::string expand_error(std::string_view text, const Env& env) {
  Command c = command(text);
  auto r = expand_command(c, env.lookup());
  REQUIRE_FALSE(r.has_value());
  return r.error().message();
}

}  // namespace

TEST_CASE("expand: ENV pairs all see the values from before the instruction") {
  Env env{{"A", "old"}};
  auto e = expanded<EnvCmd>("ENV A=new B=$A C=\"${A} x\" D='$A' E=a\\ b", env);
  CHECK(e.env == std::vector<KeyValue>{{"A", "new", false}, {"B", "old", false}, {"C", "old x", false},
                                       {"D", "$A", false}, {"E", "a b", false}});
  auto legacy = expanded<EnvCmd>("ENV P $A  and \"quoted\"", env);
  CHECK(legacy.env[0].value == "old  and quoted");
  auto keys = expanded<EnvCmd>("ENV ${A}_X=1", env);  // keys expand too
  CHECK(keys.env[0].key == "old_X");
}

TEST_CASE("expand: LABEL keys and values; the backtick escape") {
  Env env{{"V", "1.0"}};
  auto l = expanded<LabelCmd>("LABEL \"version\"=$V desc=\"a \\\"b\\\"\"", env);
  CHECK(l.labels == std::vector<KeyValue>{{"version", "1.0", false}, {"desc", "a \"b\"", false}});
  auto w = expanded<EnvCmd>("ENV P=C:\\dir\\$V Q=`$V", env, '`');
  CHECK(w.env[0].value == "C:\\dir\\1.0");
  CHECK(w.env[1].value == "$V");
}

TEST_CASE("expand: COPY and ADD") {
  Env env{{"SRC", "app"}, {"UID", "1000"}, {"SUM", "sha256:ab"}};
  auto c = expanded<CopyCmd>("COPY --chown=$UID:$UID --chmod=${MODE:-0644} --exclude=$SRC/*.md $SRC/bin /opt/$SRC/",
                             env);
  CHECK(c.chown == "1000:1000");
  CHECK(c.chmod == "0644");
  CHECK(c.sources == V{"app/bin"});
  CHECK(c.dest == "/opt/app/");
  CHECK(c.excludes == V{"$SRC/*.md"});  // BuildKit does not expand --exclude
  auto a = expanded<AddCmd>("ADD --checksum=$SUM https://x/$SRC.tgz /", env);
  CHECK(a.checksum == "sha256:ab");
  CHECK(a.sources == V{"https://x/app.tgz"});
  CHECK(expand_error("COPY --from=$SRC a b", env).find("variable expansion is not supported for --from") !=
        std::string::npos);
  CHECK(expanded<CopyCmd>("COPY --from=builder a b", env).from == "builder");
  CHECK(expand_error("COPY ${SRC a b", env).starts_with("Dockerfile:1:1: failed to process \"${SRC\""));
}

TEST_CASE("expand: COPY heredocs unless the delimiter is quoted (testHeredocVarSubstitution)") {
  Env env{{"name", "world"}};
  auto x = [&](std::string_view text) { return expanded<CopyCmd>(text, env).contents.at(0).data; };
  CHECK(x("COPY <<EOF /c1\nHello ${name}!\nEOF") == "Hello world!\n");
  CHECK(x("COPY <<'EOF' /c2\nHello ${name}!\nEOF") == "Hello ${name}!\n");
  CHECK(x("COPY <<\"EOF\" /c3\nHello ${name}!\nEOF") == "Hello ${name}!\n");
  CHECK(x("COPY <<EOF /q1\nHello '${name}'!\nEOF") == "Hello 'world'!\n");
  CHECK(x("COPY <<EOF /q2\nHello \"${name}\"!\nEOF") == "Hello \"world\"!\n");
  // testCopyHeredocSpecialSymbols: '\' escapes in expanded heredocs, not in raw ones.
  CHECK(x("COPY <<EOF /s1\n\\\nEOF") == "\n");
  CHECK(x("COPY <<EOF /s2\n\\\\\nEOF") == "\\\n");
  CHECK(x("COPY <<EOF /s3\n\\$\nEOF") == "$\n");
  CHECK(x("COPY <<\"EOF\" /r1\n\\\nEOF") == "\\\n");
  CHECK(x("COPY <<\"EOF\" /r3\n\\$\nEOF") == "\\$\n");
  // '\' stays the escape in heredoc bodies whatever the directive says.
  CHECK(expanded<CopyCmd>("COPY <<EOF /w\n\\$name `$name\nEOF", env, '`').contents.at(0).data == "$name `world\n");
  auto add = expanded<AddCmd>("ADD <<EOF /a\n$name\nEOF", env);
  CHECK(add.contents.at(0).data == "world\n");
}

TEST_CASE("expand: RUN keeps its command and heredocs for the shell, expands mounts") {
  Env env{{"CACHE", "/root/.cache"}, {"ID", "go"}};
  auto r = expanded<RunCmd>("RUN --mount=type=cache,target=$CACHE,id=${ID}-build,ro echo $CACHE", env);
  CHECK(r.cmd.args == V{"echo $CACHE"});
  CHECK(r.mounts == V{"type=cache,target=/root/.cache,id=go-build,ro"});
  auto h = expanded<RunCmd>("RUN <<EOF\necho $CACHE\nEOF", env);
  CHECK(h.cmd.files.at(0).content == "echo $CACHE\n");
  Env comma{{"T", "/a,b"}};
  auto q = expanded<RunCmd>("RUN --mount=type=bind,target=$T true", comma);
  CHECK(q.mounts == V{"type=bind,\"target=/a,b\""});
  auto m = parse_mount(q.mounts[0]);
  REQUIRE(m.has_value());
  CHECK(m->target == "/a,b");
}

TEST_CASE("expand: WORKDIR, USER, STOPSIGNAL, VOLUME, EXPOSE") {
  Env env{{"HOME", "/home/app"}, {"U", "app"}, {"SIG", "TERM"}, {"PORTS", "80/tcp 443"}};
  CHECK(expanded<WorkdirCmd>("WORKDIR $HOME/src", env).path == "/home/app/src");
  CHECK(expanded<UserCmd>("USER ${U}:${U}", env).user == "app:app");
  CHECK(expanded<StopsignalCmd>("STOPSIGNAL SIG$SIG", env).signal == "SIGTERM");
  CHECK(expanded<VolumeCmd>("VOLUME [\"$HOME/data\", \"/logs\"]", env).volumes == V{"/home/app/data", "/logs"});
  CHECK(expanded<ExposeCmd>("EXPOSE $PORTS 8080", env).ports == V{"80/tcp", "443", "8080"});
}

TEST_CASE("expand: CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER stay as written") {
  Env env{{"X", "1"}};
  CHECK(expanded<CmdCmd>("CMD echo $X", env).cmd.args == V{"echo $X"});
  CHECK(expanded<EntrypointCmd>("ENTRYPOINT [\"$X\"]", env).cmd.args == V{"$X"});
  CHECK(expanded<ShellCmd>("SHELL [\"$X\"]", env).shell == V{"$X"});
  CHECK(expanded<HealthcheckCmd>("HEALTHCHECK CMD $X", env).health.test == V{"CMD-SHELL", "$X"});
  CHECK(expanded<OnbuildCmd>("ONBUILD RUN $X", env).expression == "RUN $X");
  CHECK(expanded<MaintainerCmd>("MAINTAINER $X", env).maintainer == "$X");
}

TEST_CASE("expand: ARG defaults in order") {
  Env env{{"BASE", "/opt"}};
  auto a = expanded<ArgCmd>("ARG A=1 B=$A C=$BASE/x D E=\"q $A\"", env);
  CHECK(a.args == std::vector<ArgDef>{{"A", "1"}, {"B", "1"}, {"C", "/opt/x"}, {"D", std::nullopt}, {"E", "q 1"}});

  ArgCmd arg = std::get<ArgCmd>(command("ARG VERSION=1.$MINOR TAG GLOBAL OTHER=$VERSION"));
  Env build{{"TAG", "edge"}, {"OTHER", "${literal}"}};
  Env globals{{"GLOBAL", "g"}, {"VERSION", "ignored"}};
  Env stage{{"MINOR", "2"}};
  std::set<std::string> used;
  auto r = resolve_args(arg, stage.lookup(), build.lookup(), globals.lookup(), '\\', &used);
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 4);
  CHECK((*r)[0].value == std::optional<std::string>("1.2"));
  CHECK_FALSE((*r)[0].from_build_arg);
  CHECK((*r)[1].value == std::optional<std::string>("edge"));
  CHECK((*r)[1].from_build_arg);
  CHECK((*r)[2].value == std::optional<std::string>("g"));  // inherited from the global ARG
  CHECK((*r)[3].value == std::optional<std::string>("${literal}"));  // build args are not expanded
  CHECK(used == std::set<std::string>{"MINOR"});
}

TEST_CASE("expand: FROM with the global ARGs") {
  auto d = parse_dockerfile("ARG TAG=3.19\nFROM --platform=${P:-linux/amd64} alpine:$TAG AS b\n");
  REQUIRE(d.has_value());
  Stage st = d->stages[0];
  Env globals{{"TAG", "3.20"}};
  std::set<std::string> used;
  REQUIRE(expand_stage(st, globals.lookup(), '\\', &used).has_value());
  CHECK(st.base_name == "alpine:3.20");
  CHECK(st.platform == "linux/amd64");
  CHECK(used == std::set<std::string>{"P", "TAG"});
  Stage blank = d->stages[0];
  blank.base_name = "${NONE}";
  auto r = expand_stage(blank, Env{}.lookup());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message() == "Dockerfile:2:1: base name (${NONE}) should not be blank");
}

TEST_CASE("expand: referenced names across a command") {
  std::set<std::string> used;
  Env env{{"A", "1"}};
  expanded<CopyCmd>("COPY --chown=$OWNER $A ${B:-x} /d\n", env, '\\', &used);
  CHECK(used == std::set<std::string>{"A", "B", "OWNER"});
}

TEST_CASE("runmount: parse_mount") {
  auto m = [](std::string_view s) {
    auto r = parse_mount(s);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
    return *r;
  };
  Mount bind = m("target=/src,source=.,from=build");
  CHECK(bind.type == "bind");
  CHECK(bind.readonly);
  CHECK(bind.target == "/src");
  CHECK(bind.from == "build");
  Mount cache = m("type=cache,dst=/root/.cache,id=go,sharing=locked,mode=0755,uid=1000,gid=1000");
  CHECK_FALSE(cache.readonly);
  CHECK(cache.sharing == "locked");
  CHECK(cache.mode == std::optional<uint32_t>(0755));
  CHECK(cache.uid == std::optional<uint32_t>(1000));
  CHECK(m("type=tmpfs,target=/t,size=64m").size_limit == 64 * 1024 * 1024);
  CHECK(m("type=tmpfs,target=/t,rw=false").readonly);
  Mount secret = m("type=secret,id=tok,required,env=TOKEN");
  CHECK(secret.required);
  CHECK(secret.env == std::optional<std::string>("TOKEN"));
  CHECK(m("type=ssh").readonly);
  CHECK(m("TYPE=Cache,target=/x,readwrite").type == "cache");

  auto e = [](std::string_view s) {
    auto r = parse_mount(s);
    REQUIRE_FALSE(r.has_value());
    return r.error().message();
  };
  CHECK(e("type=nfs") == "unsupported mount type \"nfs\"");
  CHECK(e("type=bind,foo=1") == "unexpected key 'foo' in 'foo=1'");
  CHECK(e("type=bind,weird") == "invalid field 'weird' must be a key=value pair");
  CHECK(e("type=bind,mode=0644") == "mode not allowed for \"bind\" type mounts");
  CHECK(e("type=secret") == "invalid secret mount: one of source, target required");
  CHECK(e("type=secret,id=a,from=b") == "secret mount should not have a from");
  CHECK(e("type=secret,id=a,source=b") == "both source and id can't be set");
  CHECK(e("type=bind,sharing=shared") == "invalid cache sharing set for bind mount");
  CHECK(e("type=cache,sharing=x") == "unsupported sharing value \"x\"");
  CHECK(e("type=bind,size=1m") == "unexpected key 'size' for mount type 'bind'");
  CHECK(e("type=bind,required") == "unexpected key 'required' for mount type 'bind'");
  CHECK(e("type=cache,uid=x").find("invalid value x for uid") != std::string::npos);
  CHECK(e("type=bind,target=a\"b").starts_with("failed to parse csv mounts"));
}

TEST_CASE("runmount: CSV fields") {
  auto s = split_csv("a,\"b,c\",\"d\"\"e\",");
  REQUIRE(s.has_value());
  CHECK(*s == V{"a", "b,c", "d\"e", ""});
  CHECK(join_csv(*s) == "a,\"b,c\",\"d\"\"e\",");
  CHECK_FALSE(split_csv("\"a\"b").has_value());
  CHECK_FALSE(split_csv("\"a").has_value());
  CHECK(split_csv("")->empty());
}
