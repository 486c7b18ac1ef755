#!/usr/bin/env bash
# hoist-unpack against umoci: for images with many layers, whiteouts, opaque dirs,
# file/dir swaps, hardlinks, symlinks, devices, fifos, xattrs, setuid/setgid and
# sparse files, the rootfs hoist makes (paths, types, modes, owners, sizes, content
# hashes, link targets, xattrs, mtimes) equals umoci's; gzip, zstd and plain layers
# give the same tree; config.json validates; the bundles run under runc.
. "$(dirname "$0")/lib/common.sh"
need_hoist unpack
need_cmd umoci runc zstd tar
[ "$(id -u)" = 0 ] || skip "needs root (devices, owners)"

T=$TEST_TMP
MK=$HOIST_SRC/tests/integration/unpack/mklayout.py
TREE=$HOIST_SRC/tests/integration/unpack/tree.py
U=$HOIST_BIN/hoist-unpack

for s in rich many user; do
  step "$s: hoist-unpack and umoci unpack give the same tree"
  "$PY" "$MK" "$T/L-$s" "$s" >/dev/null
  out=$("$U" "oci:$T/L-$s:$s" "$T/h-$s") || fail "hoist-unpack $s failed"
  assert_eq "$T/h-$s" "$out" "stdout of hoist-unpack"
  umoci unpack --image "$T/L-$s:$s" "$T/u-$s" >"$T/umoci.log" 2>&1 || { cat "$T/umoci.log" >&2; fail "umoci failed"; }
  flags=()
  [ "$s" = many ] && flags=(--dir-mtime)   # every directory is in the layers: their times must match too
  "$PY" "$TREE" "${flags[@]}" "$T/h-$s/rootfs" >"$T/h-$s.tree"
  "$PY" "$TREE" "${flags[@]}" "$T/u-$s/rootfs" >"$T/u-$s.tree"
  diff "$T/u-$s.tree" "$T/h-$s.tree" >&2 || fail "$s: trees differ (< umoci, > hoist)"
  [ "$(wc -l <"$T/h-$s.tree")" -gt 10 ] || fail "$s: suspiciously small tree"
  validate_schema runtime-config "$T/h-$s/config.json"
done

step "the rich tree really has what it is meant to test"
for want in 'srv/a/new file' 'dev/null char 00666 0:0 1:3' 'usr/bin/su file 04755' 'inode=srv/su-link' \
  'xattr:security.capability=01000002' 'srv/fifo fifo 00620' 'srv/todir file' 'srv/tofile dir 00750' \
  'odd/file file 00600 4242:4343' 'sparse/holes file 00644 0:0 4194308' 'sgiddir dir 02775 0:100'; do
  grep -qF -- "$want" "$T/h-rich.tree" || fail "rich tree lacks '$want'"
done
for gone in 'srv/a/one' 'srv/a/deep' 'srv/b/kept.wh' 'dev/zero' 'srv/data ' '.wh.'; do
  ! grep -qF -- "$gone" "$T/h-rich.tree" || fail "rich tree still has '$gone'"
done
blocks=$(stat -c %b "$T/h-rich/rootfs/sparse/holes")
[ "$blocks" -lt 1024 ] || fail "sparse file takes $blocks blocks"

step "zstd and uncompressed layers give the same tree"
for c in zstd none; do
  "$PY" "$MK" "$T/L-rich-$c" rich --compression "$c" >/dev/null
  "$U" -q "oci:$T/L-rich-$c:rich" "$T/h-rich-$c" >/dev/null || fail "hoist-unpack ($c) failed"
  diff "$T/h-rich.tree" <("$PY" "$TREE" "$T/h-rich-$c/rootfs") >&2 || fail "$c tree differs from gzip's"
done

step "the bundles run under runc"
RUNC=(runc --root "$T/runc-state")
out=$(timeout 60 "${RUNC[@]}" run -b "$T/h-user" hoist-unpack-user-$$ 2>&1) || fail "runc run failed: $out"
assert_eq "1000
1000
/work
hi /home/app" "$out" "user, cwd and env in the container"
"$U" -q --cmd '["/bin/sh","-c","cat /srv/b/gone; echo; test -u /usr/bin/su && echo suid; ls /srv/a"]' \
  "oci:$T/L-rich:rich" "$T/h-rich-run" >/dev/null
out=$(timeout 60 "${RUNC[@]}" run -b "$T/h-rich-run" hoist-unpack-rich-$$ 2>&1) || fail "runc run failed: $out"
assert_eq "back again
suid
new" "$out" "rich image in runc"
echo "PASS $TEST_NAME" >&2
