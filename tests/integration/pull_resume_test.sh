#!/usr/bin/env bash
# hoist-pull resumes: a large random layer served slowly through lib/fault_proxy.py, the
# first hoist-pull killed with SIGKILL mid-blob, the second finishes with a Range request
# and fetches far less than the whole blob again.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull
need_cmd docker-registry skopeo jq curl
. "$HOIST_LIB_DIR/fixtures.sh"

T=$TEST_TMP
MiB=1048576
big_layout=$(fixture_layout --tag big --layer busybox --layer random:96M:resume)
start_registry
push_layout "$big_layout" big "$REG_HOST/test/big:v1"
start_fault_proxy "$REG_URL"
X=$PROXY_HOST
want=$(remote_digest "$X/test/big:v1")
remote_raw "$X/test/big:v1" >"$T/m.json"
big=$(jq -r '.layers[1].digest' "$T/m.json")
size=$(jq -r '.layers[1].size' "$T/m.json")
S=$T/store

step "first run: full speed for 48 MiB, then 256 KiB/s; SIGKILL once ingest/ holds 40 MiB"
proxy_rule "{\"mode\": \"throttle\", \"digest\": \"$big\", \"after\": $((48 * MiB)), \"rate\": 262144}"
"$HOIST_BIN/hoist-pull" --store "$S" "$X/test/big:v1" >"$T/out1" 2>"$T/err1" &
pid=$!
on_exit "kill -KILL $pid"
partial=0
for ((i = 0; i < 1200; i++)); do   # up to 120 s: a loaded machine
  partial=$(ingest_bytes "$S")
  [ "$partial" -ge $((40 * MiB)) ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$T/err1" >&2; fail "hoist-pull ended before the kill (partial: $partial bytes)"; }
  sleep 0.1
done
[ "$partial" -ge $((40 * MiB)) ] || fail "ingest/ never reached 40 MiB (has $partial bytes)"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
partial=$(ingest_bytes "$S")
step "killed with $partial bytes under ingest/"
[ "$partial" -ge $((40 * MiB)) ] || fail "the partial download did not survive SIGKILL ($partial bytes)"
assert_no_file "$S/blobs/sha256/${big#sha256:}" "blob committed before it was complete"

step "second run at full speed: resumes"
proxy_reset
mark=$(proxy_mark)
pull_ok "$T/out" "$T/err" --store "$S" "$X/test/big:v1"
assert_eq "$X/test/big@$want" "$(cat "$T/out")" "stdout of the resumed pull"
assert_file "$S/blobs/sha256/${big#sha256:}"
assert_eq "${big#sha256:}" "$(sha256_of "$S/blobs/sha256/${big#sha256:}")" "digest of the resumed blob"
store_check "$S"
proxy_log "$mark" | jq -s --arg d "$big" '[.[] | select(.method == "GET" and (.path | endswith($d)))]' >"$T/gets"
jq -e '[.[] | select(.range != null and (.range | test("^bytes=[1-9][0-9]*-")))] | length > 0' "$T/gets" >/dev/null ||
  fail "the second run sent no Range request starting past 0: $(jq -c '.[] | {range, status, bytes}' "$T/gets")"
served=$(jq '[.[].bytes] | add // 0' "$T/gets")
step "second run fetched $served of $size bytes"
[ "$served" -le $((size - partial / 2)) ] || fail "the second run fetched $served of $size bytes though $partial were kept"
[ "$(ingest_bytes "$S")" -lt "$MiB" ] || fail "ingest/ still holds $(ingest_bytes "$S") bytes after the blob was committed"

step ok
