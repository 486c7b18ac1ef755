#!/usr/bin/env bash
# hoist-unpack on hostile images (more cases, at the library level, in
# tests/unit/archive/hostile_test.cpp): an entry climbing out with .., a symlink to /
# written through in a later layer, a wrong diff_id, a decompression bomb. Each is
# refused with an error naming the layer (and the entry), or contained; nothing
# outside the rootfs changes, and a failed bundle directory is removed.
. "$(dirname "$0")/lib/common.sh"
need_hoist unpack
[ "$(id -u)" = 0 ] || skip "needs root"

T=$TEST_TMP
MK=$HOIST_SRC/tests/integration/unpack/mklayout.py
U=$HOIST_BIN/hoist-unpack
for s in escape symesc badid bomb; do "$PY" "$MK" "$T/L-$s" "$s" >/dev/null; done
mkdir -p "$T/work"
before=$(find "$T" -path "$T/work" -prune -o -printf '%p %s %T@\n' | sort)
victim=/tmp/hoist-symesc-victim
rm -f "$victim"

unpack_fails() {  # unpack_fails SCENARIO REGEX [ARGS...]
  local s=$1 re=$2 rc=0
  shift 2
  "$U" "$@" "oci:$T/L-$s:$s" "$T/work/b-$s" >"$T/work/out" 2>"$T/work/err" || rc=$?
  assert_eq 1 "$rc" "$s: exit code ($(cat "$T/work/err"))"
  assert_match "$re" "$(cat "$T/work/err")" "$s: error message"
  assert_eq "" "$(cat "$T/work/out")" "$s: stdout"
  assert_no_file "$T/work/b-$s"
}

step "an entry climbing out with .. is refused, naming it"
unpack_fails escape "^hoist-unpack: error: cannot unpack 'oci:.*': layer 2/2 'sha256:[0-9a-f]{64}': entry '../../escaped-by-hoist-test': path escapes the root$"
assert_no_file "$T/escaped-by-hoist-test"
assert_no_file "$T/work/escaped-by-hoist-test"

step "a symlink to / written through in a later layer stays inside"
"$U" -q "oci:$T/L-symesc:symesc" "$T/work/b-symesc" >/dev/null || fail "symesc unpack failed"
assert_no_file "$victim" "file written through the symlink on the host"
assert_eq pwned "$(cat "$T/work/b-symesc/rootfs/tmp/hoist-symesc-victim")" "where the write landed"

step "a wrong diff_id is an error"
unpack_fails badid "layer 2/2 'sha256:[0-9a-f]{64}': layer diffID mismatch: expected 'sha256:[0-9a-f]{64}', got"

step "a decompression bomb stops at --max-size"
unpack_fails bomb "unpacked size exceeds the limit of 67108864 bytes" --max-size 64M

step "nothing outside the bundles changed"
after=$(find "$T" -path "$T/work" -prune -o -printf '%p %s %T@\n' | sort)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") >&2; fail "files outside the bundles changed"; }
echo "PASS $TEST_NAME" >&2
