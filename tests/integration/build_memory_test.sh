#!/usr/bin/env bash
# hoist-build's memory stays bounded by what it streams, not by what it builds: a
# context holding a 2 GiB file, and one holding 100,000 small files, each COPYed
# into an image, build with a peak RSS under 100 MiB (GNU time's maximum resident
# set size of the build and everything it started).
. "$(dirname "$0")/lib/common.sh"
. "$HOIST_LIB_DIR/../build/lib.sh"
need_cmd /usr/bin/time
T=$TEST_TMP
limit_kib=$((100 * 1024))
# The contexts and the store live on a tmpfs: creating and removing 100,000 files
# (and writing the 2 GiB COPY makes) on the disk's ext4 costs minutes on a loaded
# machine, and slows every later file creation there.
mkdir -p "$T/ctx"
mount -t tmpfs -o size=4g tmpfs "$T/ctx" || skip "cannot mount a tmpfs"
on_exit "umount -l '$T/ctx'"
S=$T/ctx/store

# peak_build CTX: builds CTX (FROM scratch: no registry), prints the peak RSS in KiB.
peak_build() {
  local rc=0
  timeout -k 5 600 /usr/bin/time -f '%M' -o "$T/rss" "$HOIST_BIN/hoist-build" --store "$S" -q "$1" \
    >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "hoist-build $1 exited $rc"; }
  tail -n 1 "$T/rss"
}

# layer_listing: tar -tv of the one layer of the image just built ($T/out).
layer_listing() {
  local m l
  m=$(cut -d@ -f2 <"$T/out")
  m=${m#sha256:}
  l=$(jq -r '.layers[0].digest' "$S/blobs/sha256/$m")
  # Only the first entries: tar stops when head does (a 2 GiB file need not be inflated).
  (set +o pipefail; tar -tvzf "$S/blobs/sha256/${l#sha256:}" 2>/dev/null | head -n "$1")
}

step "a 2 GiB file (sparse: the bytes are read, compressed and hashed, not written to disk twice)"
mkdir -p "$T/ctx/big"
truncate -s 2G "$T/ctx/big/huge.bin"
printf 'FROM scratch\nCOPY huge.bin /data/\n' >"$T/ctx/big/Dockerfile"
kib=$(peak_build "$T/ctx/big")
echo "peak RSS: $((kib / 1024)) MiB" >&2
[ "$kib" -lt "$limit_kib" ] || fail "peak RSS $((kib / 1024)) MiB with a 2 GiB file (limit 100 MiB)"
assert_match "^-rw-r--r-- 0/0 +2147483648 .* data/huge.bin$" "$(layer_listing 2)" "the layer"
rm -rf "$T/ctx/big"

step "100,000 small files"
mkdir -p "$T/ctx/many/files"
"$PY" - "$T/ctx/many/files" <<'PYGEN'
import os, sys
root = sys.argv[1]
for d in range(100):
    p = os.path.join(root, "d%02d" % d)
    os.mkdir(p)
    for f in range(1000):
        with open(os.path.join(p, "f%03d" % f), "w") as fh:
            fh.write("%d/%d\n" % (d, f))
PYGEN
printf 'FROM scratch\nCOPY files/ /files/\n' >"$T/ctx/many/Dockerfile"
kib=$(peak_build "$T/ctx/many")
echo "peak RSS: $((kib / 1024)) MiB" >&2
[ "$kib" -lt "$limit_kib" ] || fail "peak RSS $((kib / 1024)) MiB with 100,000 files (limit 100 MiB)"
layer_listing 200000 >"$T/listing"
assert_eq 100000 "$(grep -c '^-' "$T/listing")" "files in the layer"
assert_match " files/d99/f999$" "$(tail -n 1 "$T/listing")" "the last entry"
step ok
