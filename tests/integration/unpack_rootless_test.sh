#!/usr/bin/env bash
# hoist-unpack --rootless run by an unprivileged user (uid 65534 through setpriv) on a
# directory that user owns, for an image with files of other owners, setuid/setgid
# files, file capabilities and device nodes: every file belongs to the invoking user;
# the intended owners are in the user.rootlesscontainers xattr (the tree read through
# it equals the root unpack's tree, devices aside); devices are skipped with a
# warning; config.json maps the user to root in a user namespace; hoist-run runs the
# bundle as that user, and the container sees the image's files.
. "$(dirname "$0")/lib/common.sh"
need_hoist unpack run
need_cmd setpriv jq
[ "$(id -u)" = 0 ] || skip "needs root to become the unprivileged user (setpriv)"

T=$TEST_TMP
ID=65534
MK=$HOIST_SRC/tests/integration/unpack/mklayout.py
TREE=$HOIST_SRC/tests/integration/unpack/tree.py
# Copies the user can reach (made below, once $T is 0755): the build tree may sit
# under a 0700 directory (a CI checkout in a mktemp -d).
U=$TEST_TMP/bin/hoist-unpack
RUN=$TEST_TMP/bin/hoist-run
AS=(setpriv --reuid=$ID --regid=$ID --clear-groups env "HOME=$T/home" "XDG_RUNTIME_DIR=$T/xdg" "HOIST_STORE=$T/home/store")
"${AS[@]}" true 2>/dev/null || skip "setpriv cannot switch to uid $ID here"

# The xattr's bytes in hex ("" when absent).
xattr_hex() { "$PY" -c 'import os,sys
try: print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).hex())
except OSError: print("")' "$1" "$2"; }
chmod 755 "$T"
install -m 755 -D "$HOIST_BIN/hoist-unpack" "$U"
install -m 755 -D "$HOIST_BIN/hoist-run" "$RUN"
mkdir -p "$T/home" "$T/xdg" "$T/work"
"$PY" "$MK" "$T/L-rich" rich >/dev/null
"$PY" "$MK" "$T/L-user" user >/dev/null
chmod -R a+rX "$T/L-rich" "$T/L-user"
chown $ID:$ID "$T/home" "$T/xdg" "$T/work"
"${AS[@]}" test -w "$T/work" || skip "uid $ID cannot write its own directory under $T"

step "as root, for reference"
"$U" -q "oci:$T/L-rich:rich" "$T/root-b" >/dev/null || fail "root unpack failed"

step "uid $ID: hoist-unpack --rootless"
rc=0; "${AS[@]}" "$U" --rootless "oci:$T/L-rich:rich" "$T/work/b" >"$T/out" 2>"$T/err" || rc=$?
assert_eq 0 "$rc" "exit code ($(cat "$T/err"))"
assert_eq "$T/work/b" "$(cat "$T/out")" "stdout: the bundle path"
rootfs=$T/work/b/rootfs

step "every file belongs to the invoking user"
others=$(find "$T/work/b" \( ! -uid $ID -o ! -gid $ID \) -printf '%P %u:%g\n')
assert_eq "" "$others" "files not owned by $ID:$ID"
[ "$(find "$rootfs" | wc -l)" -gt 20 ] || fail "suspiciously small rootfs"

step "the intended owners are in user.rootlesscontainers"
# The protobuf of rootlesscontainers.io: field 1 uid, field 2 gid, varints; 0 left out.
assert_eq 08922110f721 "$(xattr_hex "$rootfs/odd/file" user.rootlesscontainers)" "odd/file (4242:4343)"
assert_eq 08e80710e807 "$(xattr_hex "$rootfs/srv/data-link" user.rootlesscontainers)" "srv/data-link (1000:1000)"
assert_eq "" "$(xattr_hex "$rootfs/etc/passwd" user.rootlesscontainers)" "a root-owned file has no owner xattr (0:0 is left out)"
# The whole tree read through the xattr is the root unpack's, without the devices and
# the xattrs an unprivileged user may not set (security.capability).
norm() { grep -v -E '^dev/(null|loop7) ' | sed -E 's/ xattr:security\.capability=[0-9a-f]+//'; }
"$PY" "$TREE" "$T/root-b/rootfs" | norm >"$T/root.tree"
"$PY" "$TREE" --rootless "$rootfs" | norm >"$T/rootless.tree"
diff "$T/root.tree" "$T/rootless.tree" >&2 || fail "trees differ (< root, > rootless through the xattr)"
grep -qF 'usr/bin/su file 04755' "$T/rootless.tree" || fail "setuid bit lost"
grep -qF 'usr/bin/wall file 02755 0:5' "$T/rootless.tree" || fail "setgid bit or group lost"
grep -qF 'odd/file file 00600 4242:4343' "$T/rootless.tree" || fail "odd/file owner not kept"

step "device nodes are skipped with a warning"
assert_no_file "$rootfs/dev/null"
assert_no_file "$rootfs/dev/loop7"
assert_match "warning: .*skipping device node 'dev/null' \(rootless\)" "$(cat "$T/err")" "warning for dev/null"
assert_match "skipping device node 'dev/loop7'" "$(cat "$T/err")" "warning for dev/loop7"
[ -p "$rootfs/srv/fifo" ] || fail "the fifo (no privilege needed) was not made"

step "config.json has user-namespace mappings for the invoking user"
C=$T/work/b/config.json
assert_eq '[{"containerID":0,"hostID":65534,"size":1}]' "$(jq -c .linux.uidMappings "$C")" "uidMappings"
assert_eq '[{"containerID":0,"hostID":65534,"size":1}]' "$(jq -c .linux.gidMappings "$C")" "gidMappings"
jq -e '[.linux.namespaces[].type] | index("user")' "$C" >/dev/null || fail "no user namespace"
! jq -e '[.linux.namespaces[].type] | index("network")' "$C" >/dev/null || fail "network namespace in a rootless spec"
validate_schema runtime-config "$C"

step "without --rootless the unprivileged user gets a usage error"
rc=0; "${AS[@]}" "$U" "oci:$T/L-rich:rich" "$T/work/b2" 2>"$T/err2" >/dev/null || rc=$?
assert_eq 2 "$rc" "exit code"
assert_match "pass --rootless" "$(cat "$T/err2")" "message"
assert_no_file "$T/work/b2"
rc=0; "${AS[@]}" "$U" --snapshot "oci:$T/L-rich:rich" "$T/work/b3" 2>"$T/err3" >/dev/null || rc=$?
assert_eq 2 "$rc" "--snapshot as non-root"
assert_match "needs root" "$(cat "$T/err3")" "message"

step "hoist-run runs the rootless bundle as uid $ID"
"${AS[@]}" unshare -U true 2>/dev/null || skip "no unprivileged user namespaces here (the unpack checks above passed)"
rc=0; "${AS[@]}" "$U" -q --rootless --entrypoint '["/bin/sh","-c"]' --cmd '["id -u; head -1 /etc/group; touch /work/made && echo made"]' \
  "oci:$T/L-user:user" "$T/work/ub" >/dev/null 2>"$T/err4" || rc=$?
assert_eq 0 "$rc" "rootless unpack of the user image ($(cat "$T/err4"))"
# The image asks for user app; in a one-uid user namespace only root exists.
jq '.process.user = {"uid": 0, "gid": 0}' "$T/work/ub/config.json" >"$T/work/ub/c.json" && mv "$T/work/ub/c.json" "$T/work/ub/config.json"
chown $ID:$ID "$T/work/ub/config.json"
rc=0; out=$(cd "$T/work" && timeout 60 "${AS[@]}" "$RUN" run -b "$T/work/ub" rl-$$ 2>&1) || rc=$?
assert_eq 0 "$rc" "hoist-run exit status ($out)"
assert_eq "0
root:x:0:
made" "$out" "output in the container"
assert_eq "$ID:$ID" "$(stat -c %u:%g "$T/work/ub/rootfs/work/made")" "a file the container made"
echo "PASS $TEST_NAME" >&2
