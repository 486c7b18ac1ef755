#!/usr/bin/env bash
# hoist-unpack from the store: `hoist-pull REF | hoist-unpack - DIR`, by name, by
# NAME@sha256 and by digest; the tree equals what umoci unpacks from the same store
# (the store is an OCI layout); usage and lookup errors; runc runs the bundle.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull unpack
need_cmd docker-registry skopeo umoci runc
. "$HOIST_LIB_DIR/fixtures.sh"
[ "$(id -u)" = 0 ] || skip "needs root"

T=$TEST_TMP
S=$T/store
U=$HOIST_BIN/hoist-unpack
TREE=$HOIST_SRC/tests/integration/unpack/tree.py
start_registry
R=$REG_HOST
push_app "$R/test/app:v1"
want=$(remote_digest "$R/test/app:v1")

step "hoist-pull REF | hoist-unpack - DIR"
"$HOIST_BIN/hoist-pull" -q --store "$S" "$R/test/app:v1" | "$U" -q --store "$S" - "$T/b1" >"$T/out" ||
  fail "pipeline failed"
assert_eq "$T/b1" "$(cat "$T/out")" "stdout: the bundle path"
assert_file "$T/b1/config.json"
assert_file "$T/b1/rootfs/bin/busybox"
validate_schema runtime-config "$T/b1/config.json"

step "the same tree as umoci unpacking the store"
umoci unpack --image "$S:$R/test/app:v1" "$T/u" >"$T/umoci.log" 2>&1 || { cat "$T/umoci.log" >&2; fail "umoci failed"; }
diff <("$PY" "$TREE" "$T/u/rootfs") <("$PY" "$TREE" "$T/b1/rootfs") >&2 || fail "trees differ (< umoci, > hoist)"

step "by name, NAME@sha256 and bare digest"
for img in "$R/test/app:v1" "$R/test/app@$want" "$want"; do
  d=$T/b-$(echo "$img" | tr -c 'a-z0-9\n' _)
  "$U" -q --store "$S" "$img" "$d" >/dev/null || fail "unpack '$img' failed"
  diff <("$PY" "$TREE" "$T/b1/rootfs") <("$PY" "$TREE" "$d/rootfs") >&2 || fail "tree of '$img' differs"
done

step "runc runs the bundle"
"$U" -q --store "$S" --cmd 'echo hi  there' "$R/test/app:v1" "$T/brun" >/dev/null
out=$(timeout 60 runc --root "$T/runc" run -b "$T/brun" hoist-unpack-store-$$ 2>&1) || fail "runc: $out"
assert_eq 'hi there' "$out" "--cmd split on spaces"
"$U" -q --store "$S" --entrypoint '["/bin/sh","-c"]' --cmd '["echo $((6*7))"]' "$R/test/app:v1" "$T/brun2" >/dev/null
out=$(timeout 60 runc --root "$T/runc" run -b "$T/brun2" hoist-unpack-store2-$$ 2>&1) || fail "runc: $out"
assert_eq 42 "$out" "--entrypoint and --cmd as JSON"

step "errors"
rc=0; "$U" --store "$S" "$R/test/nope:v1" "$T/bx" 2>"$T/err" || rc=$?
assert_eq 1 "$rc" "exit code for a missing image"
assert_match "^hoist-unpack: error: image '$R/test/nope:v1' is not in the store" "$(cat "$T/err")" "message"
assert_no_file "$T/bx"
rc=0; "$U" --store "$S" "$R/test/app:v1" "$T/b1" 2>"$T/err" || rc=$?
assert_eq 1 "$rc" "exit code for a non-empty DIR"
assert_match "is not empty" "$(cat "$T/err")" "message"
rc=0; "$U" --store "$S" "$R/test/app:v1" 2>"$T/err" || rc=$?
assert_eq 2 "$rc" "exit code without DIR"
rc=0; "$U" --store "$S" --max-size 12Q "$R/test/app:v1" "$T/by" 2>"$T/err" || rc=$?
assert_eq 2 "$rc" "exit code for a bad --max-size"
echo "PASS $TEST_NAME" >&2
