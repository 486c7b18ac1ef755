#!/usr/bin/env bash
# hoist-unpack on hostile images (more cases, at the library level, in
# tests/unit/archive/hostile_test.cpp): an entry climbing out with .., a symlink to /
# written through in a later layer, a wrong diff_id, a decompression bomb (at --max-size
# and at the default limit, on a small filesystem), layer blobs that do not match their
# descriptors (wrong size; same size, other bytes; recompressed). Each is
# refused with an error naming the layer (and the entry), or contained; nothing
# outside the rootfs changes, and a failed bundle directory is removed.
. "$(dirname "$0")/lib/common.sh"
need_hoist unpack
[ "$(id -u)" = 0 ] || skip "needs root"

T=$TEST_TMP
MK=$HOIST_SRC/tests/integration/unpack/mklayout.py
U=$HOIST_BIN/hoist-unpack
for s in escape symesc badid bomb; do "$PY" "$MK" "$T/L-$s" "$s" >/dev/null; done
# Layer blobs that no longer match their descriptors, made from copies of one image:
#   size       the descriptor's size says 40 for a longer blob
#   samesize   the gzip header's mtime changed: same size, same tar inside, other digest
#   recompress the same tar gzip'd again at another level, the descriptor's size updated
#              to match: only the digest tells
for s in size samesize recompress; do "$PY" "$MK" "$T/L-$s" badid >/dev/null; done
tamper() {  # tamper LAYOUT HOW
  "$PY" - "$1" "$2" <<'PY'
import gzip, hashlib, json, os, sys, zlib
lay, how = sys.argv[1], sys.argv[2]
def blob(d): return os.path.join(lay, "blobs", "sha256", d.split(":", 1)[1])
idx = json.load(open(os.path.join(lay, "index.json")))
m = json.load(open(blob(idx["manifests"][0]["digest"])))
layer = m["layers"][0]
data = open(blob(layer["digest"]), "rb").read()
if how == "size":
    layer["size"] = 40
else:
    if how == "samesize":
        new = data[:4] + bytes([data[4] ^ 0xFF]) + data[5:]
    else:
        new = gzip.compress(zlib.decompress(data, 31), compresslevel=1, mtime=0)
        layer["size"] = len(new)
    assert new != data and zlib.decompress(new, 31) == zlib.decompress(data, 31)
    os.chmod(blob(layer["digest"]), 0o644)
    open(blob(layer["digest"]), "wb").write(new)
body = json.dumps(m).encode()
d = "sha256:" + hashlib.sha256(body).hexdigest()
open(blob(d), "wb").write(body)
idx["manifests"][0].update(digest=d, size=len(body))
json.dump(idx, open(os.path.join(lay, "index.json"), "w"))
print(layer["digest"])
PY
}
for s in size samesize recompress; do tamper "$T/L-$s" "$s" >"$T/L-$s.layer"; done
mkdir -p "$T/work"
before=$(find "$T" -path "$T/work" -prune -o -printf '%p %s %T@\n' | sort)
victim=/tmp/hoist-symesc-victim
rm -f "$victim"

unpack_fails() {  # unpack_fails SCENARIO REGEX [ARGS...]
  local s=$1 re=$2 rc=0
  shift 2
  local tag=$s
  case $s in size | samesize | recompress) tag=badid ;; esac
  "$U" "$@" "oci:$T/L-$s:$tag" "$T/work/b-$s" >"$T/work/out" 2>"$T/work/err" || rc=$?
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

step "a layer blob longer than its descriptor says is refused, naming blob, layout and sizes"
L1=$(cat "$T/L-size.layer")
unpack_fails size "^hoist-unpack: error: cannot unpack 'oci:$T/L-size:badid': layer 1/2 '$L1': the blob in '$T/L-size' is [0-9]+ bytes, its descriptor says 40$"

step "a layer blob with other bytes of the same size (same tar inside) is refused"
L1=$(cat "$T/L-samesize.layer")
unpack_fails samesize "^hoist-unpack: error: cannot unpack 'oci:$T/L-samesize:badid': layer 1/2 '$L1': layer blob digest mismatch: expected '$L1', got 'sha256:[0-9a-f]{64}'$"

step "a recompressed layer blob (same tar, new size in the descriptor) is refused"
L1=$(cat "$T/L-recompress.layer")
unpack_fails recompress "^hoist-unpack: error: cannot unpack 'oci:$T/L-recompress:badid': layer 1/2 '$L1': layer blob digest mismatch: expected '$L1', got 'sha256:[0-9a-f]{64}'$"
# The same tampered blobs through --snapshot (per-layer snapshots in a store).
unpack_fails samesize "layer 1/2 '$(cat "$T/L-samesize.layer")': layer blob digest mismatch" --snapshot --store "$T/work/store"
assert_eq "" "$(ls "$T/work/store/snapshots/sha256" 2>/dev/null)" "snapshots made from a tampered blob"

step "a decompression bomb stops at the default limit: 90% of the free space where the bundle goes"
mkdir -p "$T/work/small"
mount -t tmpfs -o size=64m hoist-test-small "$T/work/small"
on_exit "umount -l '$T/work/small'"
rc=0
"$U" "oci:$T/L-bomb:bomb" "$T/work/small/b" >"$T/work/out" 2>"$T/work/err" || rc=$?
assert_eq 1 "$rc" "exit code of the bomb against the default limit ($(cat "$T/work/err"))"
assert_match "unpacked size exceeds the limit of [0-9]+ bytes \\(5[0-9]\\.[0-9] MiB\\): the default, 90% of the 6[0-9]\\.[0-9] MiB free on '$T/work/small/b' when the unpack began; --max-size raises it$" \
  "$(cat "$T/work/err")" "bomb error names the limit and the flag"
assert_no_file "$T/work/small/b"
assert_eq 0 "$(df --output=used -B1 "$T/work/small" | tail -n 1 | tr -d " ")" "bytes left on the small filesystem"

step "nothing outside the bundles changed"
after=$(find "$T" -path "$T/work" -prune -o -printf '%p %s %T@\n' | sort)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") >&2; fail "files outside the bundles changed"; }
echo "PASS $TEST_NAME" >&2
