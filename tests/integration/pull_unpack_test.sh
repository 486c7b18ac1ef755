#!/usr/bin/env bash
# hoist-pull --unpack DIR REF against the real registry: the bundle's tree equals
# `hoist-pull REF` then `hoist-unpack`, stdout is still the pinned line, and download
# and unpack really overlap: with the last layer throttled by the fault proxy, layers 1
# and 2 are applied (--progress=json "done" events for apply:<digest>) before the last
# layer's download is done. Refusals: several refs, --all-platforms, another output;
# a failed download removes the half-made bundle.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull unpack
need_cmd docker-registry skopeo jq
. "$HOIST_LIB_DIR/fixtures.sh"
[ "$(id -u)" = 0 ] || skip "needs root"

T=$TEST_TMP
P=$HOIST_BIN/hoist-pull
U=$HOIST_BIN/hoist-unpack
TREE=$HOIST_SRC/tests/integration/unpack/tree.py
start_registry
R=$REG_HOST
push_app "$R/test/app:v1"
want=$(remote_digest "$R/test/app:v1")
start_fault_proxy "$REG_URL"
X=$PROXY_HOST

step "pull --unpack gives the tree of pull then unpack"
pull_ok "$T/out" "$T/err" --store "$T/s1" --unpack "$T/b1" "$R/test/app:v1"
assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout: the pinned line only"
assert_file "$T/b1/config.json"
validate_schema runtime-config "$T/b1/config.json"
pull_ok "$T/out2" "$T/err2" --store "$T/s2" "$R/test/app:v1"
"$U" -q --store "$T/s2" "$R/test/app:v1" "$T/b2" >/dev/null || fail "hoist-unpack failed"
"$PY" "$TREE" "$T/b2/rootfs" >"$T/b2.tree"
diff "$T/b2.tree" <("$PY" "$TREE" "$T/b1/rootfs") >&2 || fail "trees differ (< pull then unpack, > pull --unpack)"
[ "$(wc -l <"$T/b2.tree")" -gt 10 ] || fail "suspiciously small tree"
cmp "$T/b1/config.json" "$T/b2/config.json" || fail "config.json differs"
store_check "$T/s1"

step "download and unpack overlap: layers 1 and 2 applied while layer 3 is still downloading"
layers=($(remote_raw "$R/test/app:v1" | jq -r '.layers[].digest'))
[ "${#layers[@]}" = 3 ] || fail "expected 3 layers, got ${#layers[@]}"
proxy_rule "{\"mode\": \"throttle\", \"digest\": \"${layers[2]}\", \"rate\": 524288}"   # 2 MiB at 512 KiB/s: ~4 s
pull_ok "$T/out3" "$T/ev" --store "$T/s3" --progress=json --unpack "$T/b3" "$X/test/app:v1"
line_of() { grep -n -F "$1" "$T/ev" | head -1 | cut -d: -f1; }
a1=$(line_of "{\"event\":\"done\",\"id\":\"apply:${layers[0]}\"}")
a2=$(line_of "{\"event\":\"done\",\"id\":\"apply:${layers[1]}\"}")
a3=$(line_of "{\"event\":\"done\",\"id\":\"apply:${layers[2]}\"}")
d3=$(line_of "{\"event\":\"done\",\"id\":\"${layers[2]}\"}")
[ -n "$a1" ] && [ -n "$a2" ] && [ -n "$a3" ] && [ -n "$d3" ] || { cat "$T/ev" >&2; fail "events missing"; }
[ "$a1" -lt "$d3" ] || { cat "$T/ev" >&2; fail "layer 1 applied (line $a1) after layer 3 downloaded (line $d3)"; }
[ "$a2" -lt "$d3" ] || { cat "$T/ev" >&2; fail "layer 2 applied (line $a2) after layer 3 downloaded (line $d3)"; }
[ "$a3" -gt "$d3" ] || fail "layer 3 applied (line $a3) before it was downloaded (line $d3)"
# While layer 3 trickled in, its byte events came after layer 1 was applied.
b3=$(grep -n -F "\"event\":\"bytes\",\"id\":\"${layers[2]}\"" "$T/ev" | tail -1 | cut -d: -f1)
[ -n "$b3" ] && [ "$b3" -gt "$a1" ] || fail "no progress of layer 3 after layer 1 was applied"
diff "$T/b2.tree" <("$PY" "$TREE" "$T/b3/rootfs") >&2 || fail "throttled pull --unpack tree differs"
proxy_reset

step "a failed download removes the half-made bundle"
proxy_rule "{\"mode\": \"status\", \"status\": 404, \"digest\": \"${layers[2]}\"}"
rc=0; run_pull "$T/out4" "$T/err4" --store "$T/s4" --retries 1 --unpack "$T/b4" "$X/test/app:v1" || rc=$?
assert_eq 1 "$rc" "exit code ($(cat "$T/err4"))"
assert_no_file "$T/b4"
assert_eq "" "$(cat "$T/out4")" "stdout after a failure"
proxy_reset

step "usage errors"
rc=0; run_pull "$T/o" "$T/e" --store "$T/s5" --unpack "$T/b5" "$R/test/app:v1" "$R/test/app:v1" || rc=$?
assert_eq 2 "$rc" "two refs"; assert_match "one reference" "$(cat "$T/e")" "message"
rc=0; run_pull "$T/o" "$T/e" --store "$T/s5" --all-platforms --unpack "$T/b5" "$R/test/app:v1" || rc=$?
assert_eq 2 "$rc" "--all-platforms"; assert_match "all-platforms" "$(cat "$T/e")" "message"
rc=0; run_pull "$T/o" "$T/e" --output "oci:$T/lay" --unpack "$T/b5" "$R/test/app:v1" || rc=$?
assert_eq 2 "$rc" "--output oci:"; assert_match "needs --output store" "$(cat "$T/e")" "message"
assert_no_file "$T/b5"
assert_no_file "$T/lay"
mkdir -p "$T/full" && echo keep >"$T/full/x"
rc=0; run_pull "$T/o" "$T/e" --store "$T/s6" --unpack "$T/full" "$R/test/app:v1" || rc=$?
assert_eq 1 "$rc" "a DIR that is not empty"; assert_match "is not empty" "$(cat "$T/e")" "message"
assert_eq keep "$(cat "$T/full/x")" "the DIR's file"
echo "PASS $TEST_NAME" >&2
