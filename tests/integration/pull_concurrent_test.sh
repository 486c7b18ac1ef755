#!/usr/bin/env bash
# Two hoist-pull processes on one store at once: different images (sharing a layer), then
# the same image. Both finish, both refs land in index.json, every blob is whole.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull
need_cmd docker-registry skopeo jq curl
. "$HOIST_LIB_DIR/fixtures.sh"

T=$TEST_TMP
start_registry
push_app "$REG_HOST/test/app:v1"
other=$(fixture_layout --tag other --layer busybox --layer files:other --layer random:8M:other)
push_layout "$other" other "$REG_HOST/test/other:v1"
start_fault_proxy "$REG_URL"
X=$PROXY_HOST
a=$(remote_digest "$X/test/app:v1")
b=$(remote_digest "$X/test/other:v1")
# Slow the random layers down (4 MiB/s) so the two runs overlap for a second or two.
for ref in test/app:v1 test/other:v1; do
  d=$(remote_raw "$X/$ref" | jq -r '.layers[2].digest')
  proxy_rule "{\"mode\": \"throttle\", \"digest\": \"$d\", \"rate\": 4194304}"
done

# both REF1 REF2 STORE: run two pulls at once; fail unless both exit 0.
both() {
  local s=$3 rc1=0 rc2=0
  timeout -k 5 "$PULL_TIMEOUT" "$HOIST_BIN/hoist-pull" --store "$s" "$1" >"$T/out1" 2>"$T/err1" &
  local p1=$!
  timeout -k 5 "$PULL_TIMEOUT" "$HOIST_BIN/hoist-pull" --store "$s" "$2" >"$T/out2" 2>"$T/err2" &
  local p2=$!
  wait "$p1" || rc1=$?
  wait "$p2" || rc2=$?
  [ "$rc1" -eq 0 ] || { cat "$T/err1" >&2; fail "first hoist-pull exited $rc1"; }
  [ "$rc2" -eq 0 ] || { cat "$T/err2" >&2; fail "second hoist-pull exited $rc2"; }
}

step "two images at once"
both "$X/test/app:v1" "$X/test/other:v1" "$T/s1"
assert_eq "$X/test/app@$a" "$(cat "$T/out1")" "stdout of the first"
assert_eq "$X/test/other@$b" "$(cat "$T/out2")" "stdout of the second"
assert_eq "$a" "$(store_ref_digest "$T/s1" "$X/test/app:v1")" "index.json entry for app"
assert_eq "$b" "$(store_ref_digest "$T/s1" "$X/test/other:v1")" "index.json entry for other"
store_check "$T/s1"

step "the same image at once"
both "$X/test/other:v1" "$X/test/other:v1" "$T/s2"
assert_eq "$X/test/other@$b" "$(cat "$T/out1")" "stdout of the first"
assert_eq "$X/test/other@$b" "$(cat "$T/out2")" "stdout of the second"
assert_eq 1 "$(jq --arg n "$X/test/other:v1" '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n)] | length' "$T/s2/index.json")" \
  "index.json entries for the ref"
assert_eq "$b" "$(store_ref_digest "$T/s2" "$X/test/other:v1")" "index.json entry"
store_check "$T/s2"

step ok
