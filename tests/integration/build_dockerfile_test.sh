#!/usr/bin/env bash
# Dockerfile behaviours end to end, checked from outside (hoist-unpack'd trees and
# the image config, as skopeo reads it from the store): multi-stage builds (only the
# stages the target needs run; COPY --from a stage and an image), ARG and ENV
# scoping, heredocs, ADD of local archives (by content) and of a URL with
# --checksum, ONBUILD, SHELL and HEALTHCHECK, COPY --link/--exclude/--parents/
# --chown by name, ENTRYPOINT resetting an inherited CMD, the escape directive,
# and every --output.
. "$(dirname "$0")/lib/common.sh"
. "$HOIST_LIB_DIR/../build/lib.sh"
need_cmd docker-registry skopeo jq xz bzip2 zstd gzip tar
T=$TEST_TMP
build_base
C=$T/ctx
mkdir -p "$C"

# build NAME ARGS...: builds $C into the store as $REG_HOST/test/NAME:1 and unpacks it into $T/NAME.
build() {
  local name=$1
  shift
  hbuild_ok "$T/$name.out" "$T/$name.err" -t "$REG_HOST/test/$name:1" "$@" "$C"
  "$HOIST_BIN/hoist-unpack" -q --store "$S" "$REG_HOST/test/$name:1" "$T/$name" >/dev/null || fail "unpack of $name"
  image_config "$S" "$REG_HOST/test/$name:1" >"$T/$name.json"
}
cfg() { jq -r "$2" "$T/$1.json"; }
file_is() { assert_eq "$2" "$(cat "$T/$1/rootfs/$3")" "${4:-$3}"; }

step "multi-stage: the target's stages only, COPY --from a stage and an image, FROM a stage"
cat >"$C/Dockerfile" <<DF
FROM $BASE AS builder
RUN echo built-by-builder > /artifact
FROM $BASE AS unused
RUN echo should-not-run; exit 1
FROM builder AS middle
RUN echo middle > /middle
FROM $BASE
COPY --from=middle /artifact /middle /out/
COPY --from=0 /artifact /from-index
COPY --from=$BASE /etc/passwd /from-image
DF
build multi
file_is multi built-by-builder out/artifact
file_is multi middle out/middle
file_is multi built-by-builder from-index
assert_eq "$(cat "$T/multi/rootfs/etc/passwd")" "$(cat "$T/multi/rootfs/from-image")" "COPY --from an image"
! grep -q should-not-run "$T/multi.err" || fail "a stage the target does not need ran"
build multi-target --target builder
file_is multi-target built-by-builder artifact
assert_no_file "$T/multi-target/rootfs/out"

step "ARG and ENV: global ARGs in FROM, --build-arg over defaults, ENV over ARG, platform ARGs, unused args"
cat >"$C/Dockerfile" <<DF
ARG IMG=$BASE
ARG GLOBAL=g
FROM \$IMG
ARG GLOBAL
ARG A=default-a
ARG B=default-b
ARG SAME=from-arg
ENV SAME=from-env
ARG TARGETARCH
ARG LATE
RUN echo "\$GLOBAL \$A \$B \$SAME \$TARGETARCH [\$LATE]" > /args
ENV E1=\$A E2="two words" E3=\${B:-x}-\${UNSET:-dflt}
ENV OLD legacy form with spaces
LABEL l1=\$A "l 2"="v 2"
DF
build args --build-arg B=from-cli --build-arg NOT_USED=1
file_is args "g default-a from-cli from-env $(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/') []" args
assert_eq '["E1=default-a","E2=two words","E3=from-cli-dflt","OLD=legacy form with spaces"]' \
  "$(cfg args '[.config.Env[] | select(startswith("E") or startswith("OLD"))] | tojson')" "ENV values"
assert_eq "default-a|v 2" "$(cfg args '.config.Labels.l1 + "|" + .config.Labels["l 2"]')" "LABEL values"
grep -q "WARNING: one or more build args were not consumed: NOT_USED" "$T/args.err" || fail "no warning for an unused --build-arg"
! jq -e '.config.Env[] | select(startswith("A=") or startswith("GLOBAL="))' "$T/args.json" >/dev/null ||
  fail "ARGs leaked into the image's Env"

step "heredocs: RUN <<EOF, RUN cmd <<EOF, COPY <<EOF with and without expansion"
cat >"$C/Dockerfile" <<DF
FROM $BASE
ARG WHO=world
RUN <<EOF
echo "hello \$WHO" > /h1
echo second >> /h1
EOF
RUN cat > /h2 <<'EOT'
literal \$WHO
EOT
COPY <<EOF /h3
expanded \$WHO
EOF
COPY <<"EOF" /h4
not \$WHO
EOF
COPY <<A <<B /multi/
file a
A
file b
B
RUN <<EOF
#!/bin/busybox sh
echo "from a script: \$0" > /h5
EOF
DF
build here
file_is here "hello world
second" h1
file_is here 'literal $WHO' h2
file_is here "expanded world" h3
file_is here 'not $WHO' h4
file_is here "file a" multi/A
file_is here "file b" multi/B
file_is here "from a script: /dev/pipes/EOF" h5
assert_no_file "$T/here/rootfs/dev/pipes"

step "ADD: local archives by content (tar, gzip, bzip2, xz, zstd) unpacked, other files copied"
mkdir -p "$T/arc/top/sub"
echo in-archive >"$T/arc/top/sub/f"
tar -C "$T/arc" -cf "$C/plain.tar" top
gzip -c "$C/plain.tar" >"$C/looks-plain.bin"
bzip2 -c "$C/plain.tar" >"$C/a.tbz"
xz -c "$C/plain.tar" >"$C/a.txz"
zstd -q -c "$C/plain.tar" >"$C/a.tzst"
echo "not an archive" >"$C/notes.tar.gz"
cat >"$C/Dockerfile" <<DF
FROM $BASE
ADD plain.tar /x/plain/
ADD looks-plain.bin /x/gz/
ADD a.tbz /x/bz/
ADD a.txz /x/xz/
ADD a.tzst /x/zst/
ADD notes.tar.gz /x/
DF
build add
for d in plain gz bz xz zst; do file_is add in-archive "x/$d/top/sub/f" "ADD of the $d archive"; done
file_is add "not an archive" x/notes.tar.gz

step "ADD of a URL with --checksum; a wrong checksum fails"
mkdir -p "$T/www"
echo "downloaded body" >"$T/www/file.txt"
port=$(free_port)
start_bg http "$T/http.log" "$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$port"
wait_http "http://127.0.0.1:$port/" "$BG_PID" || fail "http.server did not start"
sum=sha256:$(sha256_of "$T/www/file.txt")
printf 'FROM %s\nADD --checksum=%s http://127.0.0.1:%s/file.txt /dl/\nADD http://127.0.0.1:%s/file.txt /plain.txt\n' \
  "$BASE" "$sum" "$port" "$port" >"$C/Dockerfile"
build url
file_is url "downloaded body" dl/file.txt
file_is url "downloaded body" plain.txt
assert_eq 600 "$(stat -c %a "$T/url/rootfs/dl/file.txt")" "mode of a downloaded file"
printf 'FROM %s\nADD --checksum=sha256:%064d http://127.0.0.1:%s/file.txt /dl/\n' "$BASE" 0 "$port" >"$C/Dockerfile"
rc=0
hbuild "$T/o" "$T/e" "$C" || rc=$?
assert_eq 1 "$rc" "exit status of a wrong --checksum"
assert_match "has digest '$sum', --checksum says 'sha256:0{64}'" "$(cat "$T/e")" "checksum message"

step "ONBUILD triggers run in the child; SHELL, HEALTHCHECK, STOPSIGNAL kept (Docker format)"
cat >"$C/Dockerfile" <<DF
FROM $BASE
ONBUILD RUN echo triggered > /onbuild
SHELL ["/bin/sh", "-e", "-c"]
HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD wget -q localhost || exit 1
STOPSIGNAL SIGUSR1
DF
build parent --format docker
assert_eq '["RUN echo triggered > /onbuild"]' "$(cfg parent '.config.OnBuild | tojson')" "OnBuild"
assert_eq '["/bin/sh","-e","-c"]' "$(cfg parent '.config.Shell | tojson')" "Shell"
assert_eq '{"Interval":30000000000,"Retries":2,"Test":["CMD-SHELL","wget -q localhost || exit 1"],"Timeout":3000000000}' \
  "$(jq -cS .config.Healthcheck "$T/parent.json")" "Healthcheck"
assert_eq SIGUSR1 "$(cfg parent .config.StopSignal)" "StopSignal"
assert_eq application/vnd.docker.distribution.manifest.v2+json \
  "$(jq -r --arg n "$REG_HOST/test/parent:1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .mediaType' "$S/index.json")" \
  "--format docker manifest"
printf 'FROM %s\nRUN echo child > /child\n' "$REG_HOST/test/parent:1" >"$C/Dockerfile"
build child --pull never
file_is child triggered onbuild "the ONBUILD trigger ran"
assert_eq null "$(cfg child .config.OnBuild)" "OnBuild is not inherited"
assert_eq '["/bin/sh","-e","-c"]' "$(cfg child '.config.Shell | tojson')" "Shell inherited"

step "COPY --link, --exclude, --parents, --chown by name; ENTRYPOINT and an inherited CMD"
mkdir -p "$C/src/a/deep" "$C/src/b"
echo 1 >"$C/src/a/deep/one.go"
echo 2 >"$C/src/a/two.md"
echo 3 >"$C/src/b/three.go"
cat >"$C/Dockerfile" <<DF
FROM $BASE AS flags
COPY --link src/ /linked/
COPY --exclude=*.md src/a/ /excl/
COPY --parents src/a/deep/one.go src/b/three.go /par/
COPY --chown=app:app src/b/three.go /owned
CMD ["inherited"]
FROM $REG_HOST/test/parent:1
CMD ["kept-in-stage"]
ENTRYPOINT ["/bin/echo"]
DF
build flags --target flags
file_is flags 1 linked/a/deep/one.go
assert_no_file "$T/flags/rootfs/excl/two.md"
file_is flags 1 excl/deep/one.go
file_is flags 3 par/src/b/three.go
assert_eq "1000:1000" "$(stat -c %u:%g "$T/flags/rootfs/owned")" "--chown=app:app"
build entry
assert_eq '["/bin/echo"]|["kept-in-stage"]' "$(cfg entry '(.config.Entrypoint|tojson) + "|" + (.config.Cmd|tojson)')" \
  "a CMD set in the stage survives ENTRYPOINT"
printf 'FROM %s\nENTRYPOINT ["/bin/echo"]\n' "$REG_HOST/test/flags:1" >"$C/Dockerfile"
build entry2
assert_eq null "$(cfg entry2 .config.Cmd)" "an inherited CMD is reset by ENTRYPOINT"

step "the escape directive: a backtick continues lines, also in ENV values"
{
  echo '# escape=`'
  echo "FROM $BASE"
  echo 'ENV P=C:\dir\sub `'
  echo '    Q=two'
  echo 'RUN echo one `'
  echo '    two > /esc'
} >"$C/Dockerfile"
build esc
assert_eq '["P=C:\\dir\\sub","Q=two"]' "$(cfg esc '[.config.Env[] | select(startswith("P=") or startswith("Q="))] | tojson')" \
  "ENV with backslashes"
file_is esc "one two" esc

step "every --output: oci:DIR:TAG, oci-archive:FILE, docker-archive:FILE; --iidfile and --digest-file"
printf 'FROM %s\nRUN echo out > /out\n' "$BASE" >"$C/Dockerfile"
hbuild_ok "$T/o1" "$T/e1" -t "$REG_HOST/test/out:1" --output "oci:$T/layout:v1" --iidfile "$T/iid" --digest-file "$T/dig" "$C"
d=$(cut -d@ -f2 "$T/o1")
assert_eq "$d" "$(cat "$T/dig")" "--digest-file"
assert_eq "$(skopeo inspect --raw "oci:$T/layout:v1" | jq -r .config.digest)" "$(cat "$T/iid")" "--iidfile holds the config digest"
assert_eq "$d" "$(skopeo inspect "oci:$T/layout:v1" | jq -r .Digest)" "oci: output"
hbuild_ok "$T/o2" "$T/e2" -t "$REG_HOST/test/out:1" --output "oci-archive:$T/out.tar" "$C"
assert_eq "$d" "$(skopeo inspect "oci-archive:$T/out.tar" | jq -r .Digest)" "oci-archive: output"
hbuild_ok "$T/o3" "$T/e3" -t "$REG_HOST/test/out:1" --output "docker-archive:$T/docker.tar" "$C"
skopeo inspect "docker-archive:$T/docker.tar" | jq -e '.Layers | length == 2' >/dev/null || fail "docker-archive: output"
step ok
