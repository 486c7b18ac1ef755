#!/usr/bin/env bash
# hoist-build's failures: each one exits 1 with a message that says where and what
# (file:line, the instruction as written), a parse error before anything runs, and a
# failed, interrupted or killed build leaves no mount, no process and no ref behind
# (the layers it finished stay in the cache).
. "$(dirname "$0")/lib/common.sh"
. "$HOIST_LIB_DIR/../build/lib.sh"
need_cmd docker-registry skopeo jq
T=$TEST_TMP
build_base
C=$T/ctx
mkdir -p "$C"
echo hi >"$C/present.txt"
echo secret >"$C/secret.txt"
echo secret.txt >"$C/.dockerignore"

# fails_with DOCKERFILE REGEX [ARGS...]: the build exits 1, stderr matching REGEX.
fails_with() {
  local df=$1 re=$2 rc=0
  shift 2
  printf '%s\n' "$df" >"$C/Dockerfile"
  hbuild "$T/out" "$T/err" "$@" "$C" || rc=$?
  assert_eq 1 "$rc" "exit status ($(tail -n 5 "$T/err"))"
  assert_eq "" "$(cat "$T/out")" "stdout of a failed build"
  assert_match "$re" "$(cat "$T/err")" "error message"
}

step "a parse error is reported before anything runs"
fails_with "FROM $BASE
RUN touch /ran
FROOB x" "hoist-build: error: .*Dockerfile:3:1: unknown instruction \"FROOB\""
! grep -q '^#' "$T/err" || fail "steps ran before the parse error: $(cat "$T/err")"
fails_with "FROM $BASE
RUN <<EOF
echo never ends" "Dockerfile:2.*heredoc"
fails_with "FROM $BASE
COPY --frobnicate=1 a b" "Dockerfile:2:1: .*frobnicate"

step "a failing RUN names the step, its status and its last lines of output"
fails_with "FROM $BASE
RUN echo first line; echo second line; exit 3" \
  "error: .*Dockerfile:2: RUN echo first line; echo second line; exit 3: process \"/bin/sh -c echo first line; echo second line; exit 3\" did not complete successfully: exit code: 3"
grep -q '^  | second line$' "$T/err" || fail "the last output lines are not in the error: $(cat "$T/err")"
grep -q '^#2 | first line$' "$T/err" || fail "RUN's output was not streamed with its step: $(cat "$T/err")"

step "--progress json: the failing step's events validate, the last one says failed"
rc=0
run_tool build "$T/out" "$T/err" --store "$S" --progress json "$C" || rc=$?
assert_eq 1 "$rc" "exit status with --progress json"
grep '^{' "$T/err" >"$T/events" || true
validate_schema hoist-build-progress "$T/events"
assert_eq '"failed" 2' "$(jq -s -r '[.[] | select(.step)] | last | "\(.event | tojson) \(.step)"' "$T/events")" "last step event"
assert_match '"line":"second line"' "$(cat "$T/events")" "an output event"

step "exec of a missing binary"
fails_with "FROM $BASE
RUN [\"/no/such/binary\", \"x\"]" "Dockerfile:2: RUN \[\"/no/such/binary\", \"x\"\]: .*(no such file|not found|No such file)"

step "a missing COPY source, and one .dockerignore excludes"
fails_with "FROM $BASE
COPY missing.txt /x" "Dockerfile:2: COPY missing.txt /x: 'missing.txt' not found in build context"
fails_with "FROM $BASE
COPY secret.txt /x" "Dockerfile:2: COPY secret.txt /x: 'secret.txt' is excluded by .dockerignore"

step "a base that does not exist, and --pull never"
fails_with "FROM $REG_HOST/test/nothing:1" "Dockerfile:1: FROM $REG_HOST/test/nothing:1: .*(not found|unknown|MANIFEST_UNKNOWN)"
fails_with "FROM $REG_HOST/test/other:1" "is not in the store and --pull never" --pull never

step "a context that is not a directory; a --platform of another machine"
rc=0
run_tool build "$T/out" "$T/err" --store "$S" "$C/present.txt" || rc=$?
assert_eq 1 "$rc" "exit status for a file as context"
assert_match "build context '.*present.txt' is not a directory" "$(cat "$T/err")" "message"
rc=0
run_tool build "$T/out" "$T/err" --store "$S" --platform linux/s390x "$C" || rc=$?
assert_eq 2 "$rc" "exit status for another platform"
assert_match "linux/s390x.*only for its own platform" "$(cat "$T/err")" "message"

mounts_under() { grep -c " $1" /proc/self/mountinfo || true; }
step "an interrupted build (SIGINT during a RUN) exits 130 and leaves nothing running or mounted"
# The RUN's sleep is told apart from any other on the machine by its argument.
nap=$((300000 + $$))
printf 'FROM %s\nRUN echo cached > /c\nRUN echo started-marker-%s; sleep %s\n' "$BASE" "$$" "$nap" >"$C/Dockerfile"
# Each build writes a log of its own: a wait on a shared one could see the last build's marker.
"$HOIST_BIN/hoist-build" --store "$S" --progress plain -t "$REG_HOST/test/int:1" "$C" >"$T/out" 2>"$T/err-int" &
pid=$!
on_exit "kill -KILL $pid 2>/dev/null"
wait_until "grep -q '^#3 | started-marker-$$' '$T/err-int'" || fail "the RUN never started: $(cat "$T/err-int")"
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq 130 "$rc" "exit status of an interrupted build"
wait_until "! pgrep -fx 'sleep $nap' >/dev/null" || fail "the RUN's process outlived the build"
assert_eq 0 "$(mounts_under "$S")" "mounts left under the store"
assert_eq "" "$(store_ref_digest "$S" "$REG_HOST/test/int:1")" "ref of an interrupted build"

step "kill -9 of the build during a RUN: the container dies with it, no mount remains"
"$HOIST_BIN/hoist-build" --store "$S" --progress plain -t "$REG_HOST/test/int:1" "$C" >"$T/out" 2>"$T/err-kill" &
pid=$!
on_exit "kill -KILL $pid 2>/dev/null"
wait_until "grep -q '^#3 | started-marker-$$' '$T/err-kill'" || fail "the RUN never started: $(cat "$T/err-kill")"
grep -q '^#2 CACHED$' "$T/err-kill" || fail "the step finished before the interrupt was not cached: $(cat "$T/err-kill")"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
wait_until "! pgrep -fx 'sleep $nap' >/dev/null" || fail "the RUN's process outlived a killed build"
assert_eq 0 "$(mounts_under "$S")" "mounts left under the store"

step "the next build after a kill cleans up and works"
printf 'FROM %s\nRUN echo cached > /c\nRUN echo after\n' "$BASE" >"$C/Dockerfile"
hbuild_ok "$T/out" "$T/err" "$C"
assert_eq "" "$(ls -A "$S/snapshots/tmp")" "temp directories left in snapshots/tmp"
step ok
