#!/usr/bin/env bash
# hoist-build against buildah on the same Dockerfile and context: the unpacked
# trees are equal (paths, types, modes, owners, contents), and so are the config
# fields (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels,
# StopSignal) and which history entries are empty layers. Then: the image runs
# with hoist-run, a rebuild is served from the cache with the same digest, one
# changed file re-runs only the steps from the COPY that reads it, --push lands
# it where skopeo reads it, and a build in a fresh store gives the same digest.
. "$(dirname "$0")/lib/common.sh"
. "$HOIST_LIB_DIR/../build/lib.sh"
need_cmd docker-registry skopeo buildah jq
need_hoist run
T=$TEST_TMP
build_base

step "a context with directories, globs, a symlink, .dockerignore"
C=$T/ctx
mkdir -p "$C/bin" "$C/conf" "$C/data"
printf '#!/bin/sh\necho "start $*"; id -u; cat /etc/app/app.conf; ls /srv/app/data\n' >"$C/bin/start"
chmod 644 "$C/bin/start"
echo "key=value" >"$C/conf/app.conf"
echo a >"$C/data/a.txt"
echo b >"$C/data/b.txt"
echo log >"$C/data/skip.log"
ln -s data/a.txt "$C/link"
echo no >"$C/ignored.txt"
printf 'ignored.txt\n**/*.log\n' >"$C/.dockerignore"
cat >"$C/Dockerfile" <<DF
# syntax=docker/dockerfile:1
ARG BASE=$BASE
FROM \${BASE} AS base
ARG VERSION=1.0
ENV APP_HOME=/srv/app PATH=/srv/app/bin:\$PATH
LABEL org.example.version=\$VERSION
WORKDIR \$APP_HOME
COPY --chmod=0755 bin/ bin/
COPY --chown=1000:1000 conf/app.conf /etc/app/
COPY data/*.txt data/
COPY link ./link
COPY . /ctx/
RUN mkdir -p /var/lib/app && echo "\$VERSION" > /var/lib/app/version && rm -f /bin/false && busybox chown 1000:1000 /var/lib/app
RUN rm -rf /tmp && mkdir /tmp && chmod 1777 /tmp && echo x > /tmp/x
USER 1000:1000
RUN id > /var/lib/app/id.txt
USER root
EXPOSE 8080 9090/udp
VOLUME ["/data"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/srv/app/bin/start"]
CMD ["--serve"]
DF

step "hoist-build and buildah bud build it"
hbuild_ok "$T/out" "$T/err" -t "$REG_HOST/test/app:1" --metadata-file "$T/meta1.json" "$C"
pinned=$(cat "$T/out")
assert_match "^$REG_HOST/test/app@sha256:[0-9a-f]{64}$" "$pinned" "stdout is one pinned line"
digest=${pinned#*@}
bbuild app "$C"
bexport app "$T/bl"

step "the trees are equal"
"$HOIST_BIN/hoist-unpack" -q --store "$S" "$pinned" "$T/hb" >/dev/null
"$HOIST_BIN/hoist-unpack" -q "oci:$T/bl:app" "$T/bb" >/dev/null
tree_of "$T/hb/rootfs" >"$T/h.tree"
# buildah commits the mount points it made for RUN (/dev, /proc, /etc/hosts, ...);
# BuildKit removes them (executor's MountStubsCleaner), and so does hoist.
tree_of "$T/bb/rootfs" | grep -Ev '^(dev|proc|run|sys) dir |^etc/(hosts|hostname|resolv\.conf) file ' >"$T/b.tree"
diff "$T/b.tree" "$T/h.tree" >&2 || fail "trees differ (< buildah, > hoist)"
grep -q '^var/lib/app dir 00755 1000:1000' "$T/h.tree" || fail "RUN's chown missing"
grep -q '^tmp dir 01777 0:0' "$T/h.tree" || fail "the recreated /tmp"
! grep -q 'ignored.txt\|skip.log' "$T/h.tree" || fail ".dockerignore'd files were copied"
! grep -q '^bin/false ' "$T/h.tree" || fail "a file RUN deleted is still there"
assert_eq "uid=1000(app) gid=1000(app) groups=1000(app)" "$(cat "$T/hb/rootfs/var/lib/app/id.txt")" "USER for RUN"

step "the configs agree"
cfg() { jq -S '.config | del(.Labels["io.buildah.version"]) | del(.ArgsEscaped) | .Env |= sort'; }
image_config "$S" "$REG_HOST/test/app:1" >"$T/hc.json"
image_config "$T/bl" app >"$T/bc.json"
diff <(cfg <"$T/bc.json") <(cfg <"$T/hc.json") >&2 || fail "configs differ (< buildah, > hoist)"
# buildah's WORKDIR makes no layer; BuildKit's (and hoist's) does.
empties() { jq -c '[.history[] | select(.created_by | test("WORKDIR") | not) | .empty_layer // false]'; }
assert_eq "$(empties <"$T/bc.json")" "$(empties <"$T/hc.json")" "empty_layer flags of the history"
assert_eq "1970-01-01T00:00:00Z" "$(jq -r .created "$T/hc.json")" "created (SOURCE_DATE_EPOCH default)"

step "the image runs with hoist-run"
"$HOIST_BIN/hoist-run" --root "$T/run" run -b "$T/hb" c1 >"$T/run.out" 2>&1 || { cat "$T/run.out" >&2; fail "hoist-run failed"; }
assert_eq "start --serve
0
key=value
a.txt
b.txt" "$(cat "$T/run.out")" "the container's output"

step "a rebuild is all cache hits, same digest"
hbuild_ok "$T/out2" "$T/err2" -t "$REG_HOST/test/app:1" --metadata-file "$T/meta2.json" "$C"
assert_eq "$pinned" "$(cat "$T/out2")" "pinned line of the cached build"
assert_eq 0 "$(jq '[.steps[] | select(.ran)] | length' "$T/meta2.json")" "steps that ran"
assert_eq 9 "$(jq '[.steps[] | select(.cached)] | length' "$T/meta2.json")" "steps served from the cache"
grep -q "^#11 CACHED$" "$T/err2" || fail "no CACHED line for the RUN: $(cat "$T/err2")"

step "--json, --metadata-file and --progress json validate against schemas/hoist-build-*.schema.json"
validate_schema hoist-build-metadata "$T/meta1.json"
validate_schema hoist-build-metadata "$T/meta2.json"
rc=0
run_tool build "$T/outj" "$T/errj" --store "$S" --progress json --json -t "$REG_HOST/test/app:1" "$C" || rc=$?
assert_eq 0 "$rc" "exit status with --json --progress json"
validate_schema hoist-build-result "$T/outj"
validate_schema hoist-build-progress "$T/errj"
assert_eq "${pinned#*@}" "$(jq -r .digest "$T/outj")" "digest in --json"
assert_eq 9 "$(jq -s '[.[] | select(.event == "cached")] | length' "$T/errj")" "cached events"

step "one changed file: only the steps from the first COPY that reads it run again"
echo a2 >"$C/data/a.txt"
hbuild_ok "$T/out3" "$T/err3" -t "$REG_HOST/test/app:2" --metadata-file "$T/meta3.json" "$C"
ran=$(jq -c '[.steps[] | select(.ran) | .instruction | split(" ")[0:2] | join(" ")]' "$T/meta3.json")
assert_eq '["COPY data/*.txt","COPY link","COPY .","RUN mkdir","RUN rm","RUN id"]' "$ran" "steps that ran"
[ "$(cat "$T/out3")" != "$pinned" ] || fail "a changed file gave the same image"

step "--push: skopeo reads what the registry got"
hbuild_ok "$T/out4" "$T/err4" -t "$REG_HOST/test/pushed:1" --push --format docker "$C"

want=$(cut -d@ -f2 "$T/out4")
assert_eq "$want" "$(remote_digest "$REG_HOST/test/pushed:1")" "digest in the registry"
assert_eq application/vnd.docker.distribution.manifest.v2+json \
  "$(remote_raw "$REG_HOST/test/pushed:1" | jq -r .mediaType)" "--format docker"
skopeo inspect --tls-verify=false "docker://$REG_HOST/test/pushed:1" | jq -e '.Labels["org.example.version"] == "1.0"' >/dev/null ||
  fail "skopeo inspect of the pushed image"

step "reproducible: a fresh store and --no-cache give the same digest"
echo a >"$C/data/a.txt"
S=$T/store2 hbuild_ok "$T/out5" "$T/err5" --no-cache -t "$REG_HOST/test/app:1" "$C"
S2_pinned=$(cat "$T/out5")
assert_eq "$pinned" "$S2_pinned" "digest of a build from nothing"
step ok
