#!/usr/bin/env bash
# RUN --mount and --secret, on real builds: a secret is seen by its RUN (as a
# file and as a variable) and nowhere else (not in a layer, the store, the
# cache key, the history, the metadata or the output, where it shows as ****);
# a cache mount persists across builds and never reaches a layer; a bind
# mount shows the context as .dockerignore leaves it (its content in the key)
# or a stage's tree, and drops what a rw RUN writes; a tmpfs leaves nothing;
# ssh and a missing required secret fail with a message.
. "$(dirname "$0")/lib/common.sh"
. "$HOIST_LIB_DIR/../build/lib.sh"
need_cmd docker-registry jq
T=$TEST_TMP
build_base
VALUE=s3cr3t-$RANDOM-value
printf '%s\n' "$VALUE" >"$T/tok"
# The Dockerfile names the secret by its hash: the value itself must appear nowhere.
SUM=$(printf '%s\n' "$VALUE" | md5sum | cut -d' ' -f1)

C=$T/ctx
mkdir -p "$C/src"
echo data-1 >"$C/src/data.txt"
echo no >"$C/src/ignored.txt"
echo src/ignored.txt >"$C/.dockerignore"
cat >"$C/Dockerfile" <<DF
FROM $BASE AS tools
RUN echo tool-output > /tool.txt

FROM $BASE
RUN --mount=type=secret,id=tok test "\$(md5sum < /run/secrets/tok)" = "$SUM  -" && echo "file \$(cat /run/secrets/tok)" && stat -c '%a %u' /run/secrets/tok > /secret-stat
RUN --mount=type=secret,id=tok,env=TOK,target=/etc/tok.txt,mode=0440,uid=7 test "\$(printf %s "\$TOK" | md5sum)" = "$SUM  -" && echo "env \$TOK" && stat -c '%a %u' /etc/tok.txt > /secret-stat2
RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && echo absent-ok
RUN --mount=type=cache,target=/var/cache/app,uid=1000,mode=0700 echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /cache-count && stat -c '%u %a' /var/cache/app > /cache-stat
RUN --mount=source=src,target=/src ls /src > /src-list && cat /src/data.txt > /copied
RUN --mount=source=src,target=/src,rw echo scribble > /src/data.txt && touch /src/new && cat /src/data.txt > /rw-saw
RUN --mount=from=tools,source=/tool.txt,target=/mnt/tool.txt cat /mnt/tool.txt > /from-stage
RUN --mount=type=tmpfs,target=/scratchpad,size=1m echo x > /scratchpad/f && grep ' /scratchpad tmpfs ' /proc/mounts > /tmpfs-line
DF

unpacked() { rm -rf "$T/b"; "$HOIST_BIN/hoist-unpack" -q --store "$S" "$(cat "$T/out")" "$T/b" >/dev/null; }
R=$T/b/rootfs

step "a build with every mount type"
hbuild_ok "$T/out" "$T/err" --secret "id=tok,src=$T/tok" --metadata-file "$T/meta.json" "$C"
grep -Fx '#4 | file ****' "$T/err" >/dev/null || fail "the secret file's value is not masked in the output: $(cat "$T/err")"
grep -Fx '#5 | env ****' "$T/err" >/dev/null || fail "the secret variable is not masked in the output: $(cat "$T/err")"
grep -F 'absent-ok' "$T/err" >/dev/null || fail "a secret not given is not left out"
unpacked
assert_eq "400 0" "$(cat "$R/secret-stat")" "secret file mode and owner (defaults)"
assert_eq "440 7" "$(cat "$R/secret-stat2")" "secret file mode and owner (mode=, uid=)"
assert_eq "1" "$(tr -d ' ' <"$R/cache-count")" "lines in the cache mount after one build"
assert_eq "1000 700" "$(cat "$R/cache-stat")" "cache mount owner and mode"
assert_eq "data.txt" "$(cat "$R/src-list")" "the bind mount of the context without what .dockerignore leaves out"
assert_eq "data-1" "$(cat "$R/copied")" "a file read through the bind mount"
assert_eq "scribble" "$(cat "$R/rw-saw")" "a rw bind mount is writable"
assert_eq "data-1" "$(cat "$C/src/data.txt")" "the context after a rw bind mount"
assert_no_file "$C/src/new" "a rw bind mount's new file in the context"
assert_eq "tool-output" "$(cat "$R/from-stage")" "a file bound from another stage"
assert_match "^tmpfs /scratchpad tmpfs " "$(cat "$R/tmpfs-line")" "the tmpfs mount"
for p in run etc/tok.txt var/cache/app src mnt scratchpad; do assert_no_file "$R/$p" "a mount point in the image"; done

step "the secret is nowhere but in its RUN"
hits=$(grep -rlF "$VALUE" "$S" "$T/meta.json" "$T/out" "$T/err" "$T/b" 2>/dev/null || true)
assert_eq "" "$hits" "files holding the secret's value"

step "a changed secret keeps the step cached; the cache mount persists; a changed bound file re-runs its RUN"
printf 'other-%s\n' "$VALUE" >"$T/tok"
echo data-2 >"$C/src/data.txt"
hbuild_ok "$T/out" "$T/err2" --secret "id=tok,src=$T/tok" "$C"
grep -Fx '#4 CACHED' "$T/err2" >/dev/null || fail "the secret RUN was not cached with another value: $(cat "$T/err2")"
grep -Fx '#7 CACHED' "$T/err2" >/dev/null || fail "the cache-mount RUN was not cached: $(cat "$T/err2")"
if grep -Fx '#8 CACHED' "$T/err2" >/dev/null; then fail "the bind RUN was cached after its source changed"; fi
unpacked
assert_eq "data-2" "$(cat "$R/copied")" "a changed file read through the bind mount"
printf '%s\n' "$VALUE" >"$T/tok"
hbuild_ok "$T/out" "$T/err3" --no-cache --secret "id=tok,src=$T/tok" "$C"
unpacked
assert_eq "2" "$(tr -d ' ' <"$R/cache-count")" "lines in the cache mount after a second run"

step "--secret from the environment, --build-arg with a comma; a required secret missing; ssh"
cat >"$C/Dockerfile.env" <<DF
FROM $BASE
ARG LIST
RUN --mount=type=secret,id=API_TOKEN,env=API_TOKEN test "\$(printf %s "\$API_TOKEN" | md5sum)" = "$SUM  -" && test "\$LIST" = a,b
DF
# (a repeatable option's value is not split at its commas)
API_TOKEN=$VALUE$'\n' hbuild_ok "$T/out" "$T/err4" -f "$C/Dockerfile.env" --secret id=API_TOKEN --build-arg LIST=a,b "$C"
cat >"$C/Dockerfile.req" <<DF
FROM $BASE
RUN --mount=type=secret,id=needed,required true
DF
rc=0
hbuild "$T/out" "$T/err5" -f "$C/Dockerfile.req" "$C" || rc=$?
assert_eq 1 "$rc" "exit status without a required secret"
grep -F "secret 'needed' is required; pass it with --secret id=needed,src=FILE" "$T/err5" >/dev/null ||
  fail "no clear message for a missing secret: $(cat "$T/err5")"
cat >"$C/Dockerfile.ssh" <<DF
FROM $BASE
RUN --mount=type=ssh true
DF
rc=0
hbuild "$T/out" "$T/err6" -f "$C/Dockerfile.ssh" "$C" || rc=$?
assert_eq 1 "$rc" "exit status with an ssh mount"
grep -F "ssh mounts are not supported" "$T/err6" >/dev/null || fail "no clear message for ssh: $(cat "$T/err6")"
rc=0
hbuild "$T/out" "$T/err7" --secret "id=x,src=$T/missing-file" "$C" || rc=$?
assert_eq 1 "$rc" "exit status with an unreadable --secret file"
grep -F -- "--secret id=x: cannot read '$T/missing-file'" "$T/err7" >/dev/null || fail "no clear message: $(cat "$T/err7")"

step "cache mount sharing: locked waits for the holder, private takes an instance of its own"
L=$T/lctx
mkdir -p "$L"
# The holder: marks the cache, then waits (in its RUN) for the test to let it go.
cat >"$L/Dockerfile.hold" <<DF
FROM $BASE
RUN --mount=type=cache,target=/c,sharing=locked echo held > /c/holder && while [ ! -e /c/release ]; do sleep 0.05; done && echo done > /c/holder-done
DF
cat >"$L/Dockerfile.locked" <<DF
FROM $BASE
RUN --mount=type=cache,target=/c,sharing=locked test -e /c/holder-done && echo after-holder > /c/second
DF
cat >"$L/Dockerfile.private" <<DF
FROM $BASE
RUN --mount=type=cache,target=/c,sharing=private test ! -e /c/holder && echo own > /c/private
DF
base_dir=$S/cache-mounts/$(printf %s /c | sha256sum | cut -d' ' -f1)
rm -rf "$base_dir"
hbuild "$T/hold.out" "$T/hold.err" --no-cache -f "$L/Dockerfile.hold" "$L" &
hold_pid=$!
on_exit "kill $hold_pid 2>/dev/null; true"
wait_until "[ -e '$base_dir/0/holder' ]" || fail "the holding build never started its RUN: $(cat "$T/hold.err")"
hbuild_ok "$T/priv.out" "$T/priv.err" --no-cache -f "$L/Dockerfile.private" "$L"
assert_file "$base_dir/1/private" "the private mount's own instance"
hbuild "$T/lock.out" "$T/lock.err" --no-cache -f "$L/Dockerfile.locked" "$L" &
lock_pid=$!
on_exit "kill $lock_pid 2>/dev/null; true"
# The second locked build waits on the cache's lock: /proc/locks lists it as a waiter.
ino=$(stat -c %i "$base_dir/lock-0")
wait_until "grep -E -- '-> FLOCK +ADVISORY +WRITE +[0-9]+ +[0-9a-f]+:[0-9a-f]+:$ino ' /proc/locks >/dev/null" ||
  fail "the second locked build does not wait for the lock: $(cat /proc/locks)"
assert_no_file "$base_dir/0/second" "the second locked RUN's file while the first holds the lock"
touch "$base_dir/0/release"
wait "$hold_pid" || fail "the holding build failed: $(cat "$T/hold.err")"
wait "$lock_pid" || fail "the second locked build failed: $(cat "$T/lock.err")"
assert_eq after-holder "$(cat "$base_dir/0/second")" "what the second locked RUN saw"
