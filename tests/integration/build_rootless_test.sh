#!/usr/bin/env bash
# hoist-build as an ordinary user (a user this test creates, run through
# setpriv): with /etc/subuid ranges it builds in a user namespace through
# newuidmap, with overlay (userxattr) snapshots, and the image is the one root
# builds from the same Dockerfile, digest for digest (and so does root without
# CAP_SYS_ADMIN, as in a CI job's container): owners set by chown in a
# RUN and by COPY --chown, whiteouts and opaque directories, a secret, a cache
# mount and a bind mount all come out the same. Without subordinate ids it
# still builds what needs one id, warns, and a chown to another id fails. The
# copy snapshotter (HOIST_BUILD_SNAPSHOTTER=copy, what a kernel without
# overlay in user namespaces gets) makes the same image as overlay.
. "$(dirname "$0")/lib/common.sh"
. "$HOIST_LIB_DIR/../build/lib.sh"
need_cmd docker-registry setpriv useradd userdel newuidmap
T=$TEST_TMP
build_base
chmod 755 "$T"

# user NAME [useradd options...]: a user of this test's own, removed at exit.
user() {
  local name=$1
  shift
  useradd -M -d "$T/home-$name" -s /bin/sh "$@" "$name" || fail "useradd $name"
  on_exit "userdel $name 2>/dev/null; true"
  mkdir -p "$T/home-$name"
  chown "$name:" "$T/home-$name"
}
# as NAME OUT ERR ARGS...: hoist-build as NAME with its own store (~/.local/share/hoist)
as() {
  local name=$1 out=$2 err=$3 rc=0
  shift 3
  timeout -k 5 300 setpriv --reuid="$name" --regid="$name" --init-groups \
    env -u HOIST_STORE HOME="$T/home-$name" ${HOIST_BUILD_SNAPSHOTTER:+HOIST_BUILD_SNAPSHOTTER=$HOIST_BUILD_SNAPSHOTTER} "$HOIST_BIN/hoist-build" --progress plain "$@" >"$out" 2>"$err" || rc=$?
  return "$rc"
}

U=hbt$$
user "$U"
if ! grep -q "^$U:" /etc/subuid; then usermod --add-subuids 200000-265535 --add-subgids 200000-265535 "$U"; fi
echo "s3cr3t" >"$T/secret"
chmod 644 "$T/secret"

C=$T/ctx
mkdir -p "$C/src"
echo one >"$C/a.txt"
echo bound >"$C/src/b.txt"
cat >"$C/Dockerfile" <<DF
FROM $BASE
COPY --chown=1000:1000 a.txt /home/app/a.txt
RUN mkdir -p /srv/data /etc/drop && echo x > /srv/data/f && chown -R 1000:2000 /srv/data && chmod 2750 /srv/data
RUN rm -f /bin/false && rm -rf /etc/drop && mkdir /etc/drop && echo new > /etc/drop/n && chown 33:33 /etc/drop/n
RUN --mount=type=secret,id=tok test "\$(cat /run/secrets/tok)" = s3cr3t && echo ok > /secret-ok
RUN --mount=type=cache,target=/var/cache/x echo c >> /var/cache/x/log && cp /var/cache/x/log /cache-log
RUN --mount=source=src,target=/mnt cat /mnt/b.txt > /bound
USER 1000
RUN id -u > /srv/data/uid
DF
chmod -R a+rX "$C"

step "root and an ordinary user build the same image"
hbuild_ok "$T/out" "$T/err" --secret "id=tok,src=$T/secret" "$C"
root_digest=$(cat "$T/out")
rc=0
as "$U" "$T/uout" "$T/uerr" -v --secret "id=tok,src=$T/secret" "$C" || rc=$?
[ "$rc" = 0 ] || { cat "$T/uerr" >&2; fail "the unprivileged build exited $rc"; }
grep -F "unprivileged: user namespace uid 0->$(id -u "$U"), 1-" "$T/uerr" >/dev/null ||
  fail "-v does not say which user namespace: $(cat "$T/uerr")"
grep -F "snapshots: overlay in the user namespace (userxattr)" "$T/uerr" >/dev/null ||
  fail "-v does not say which snapshots: $(cat "$T/uerr")"
assert_eq "$root_digest" "$(cat "$T/uout")" "the unprivileged build's digest"
store=$T/home-$U/.local/share/hoist
assert_file "$store/oci-layout" "the user's own store"
assert_eq "$U" "$(stat -c %U "$store/blobs")" "the owner of the user's store"

step "root without CAP_SYS_ADMIN (a CI job's container) builds in a user namespace, the same image"
rc=0
timeout -k 5 300 setpriv --bounding-set=-sys_admin "$HOIST_BIN/hoist-build" --progress plain -v --store "$T/nocap" \
  --secret "id=tok,src=$T/secret" "$C" >"$T/nout" 2>"$T/nerr" || rc=$?
[ "$rc" = 0 ] || { cat "$T/nerr" >&2; fail "the build without CAP_SYS_ADMIN exited $rc"; }
grep -F "(root's own ids)" "$T/nerr" >/dev/null || fail "-v does not say which mapping: $(cat "$T/nerr")"
assert_eq "$root_digest" "$(cat "$T/nout")" "the digest built without CAP_SYS_ADMIN"

step "the copy snapshotter (kernels without overlay in a user namespace) makes the same image"
cat >"$C/Dockerfile.copy" <<DF
FROM $BASE
COPY --chown=1000:1000 a.txt /home/app/a.txt
RUN mkdir -p /srv/data && echo x > /srv/data/f && chown -R 1000:2000 /srv/data && chmod 2750 /srv/data && ln /srv/data/f /srv/data/g
RUN rm -f /bin/false /srv/data/g && mkdir /etc/new && echo new > /etc/new/n && chown 33:33 /etc/new/n
RUN --mount=source=src,target=/mnt,rw cat /mnt/b.txt > /bound && touch /mnt/x
COPY --link a.txt /linked
RUN cat /linked > /linked-copy
DF
hbuild_ok "$T/out-c" "$T/err-c" -f "$C/Dockerfile.copy" "$C"
rc=0
HOIST_BUILD_SNAPSHOTTER=copy as "$U" "$T/uout-c" "$T/uerr-c" -v -f "$C/Dockerfile.copy" "$C" || rc=$?
[ "$rc" = 0 ] || { cat "$T/uerr-c" >&2; fail "the copy-snapshotter build exited $rc"; }
grep -F "snapshots: copies" "$T/uerr-c" >/dev/null || fail "-v does not say the copy snapshotter is used: $(cat "$T/uerr-c")"
assert_eq "$(cat "$T/out-c")" "$(cat "$T/uout-c")" "the copy snapshotter's digest"

step "a rebuild as the user is served from its cache"
as "$U" "$T/uout2" "$T/uerr2" --secret "id=tok,src=$T/secret" "$C" || fail "rebuild: $(cat "$T/uerr2")"
assert_eq "$root_digest" "$(cat "$T/uout2")" "the rebuild's digest"
grep -Fx '#3 CACHED' "$T/uerr2" >/dev/null || fail "the rebuild ran its RUN: $(cat "$T/uerr2")"

step "without subordinate ids: one id, a warning, and chown to another id fails"
V=hbv$$
user "$V" -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0
if grep -q "^$V:" /etc/subuid; then usermod --del-subuids 1-4294967294 --del-subgids 1-4294967294 "$V"; fi
cat >"$C/Dockerfile.one" <<DF
FROM $BASE
RUN echo one-id > /one && id -u
DF
as "$V" "$T/vout" "$T/verr" -f "$C/Dockerfile.one" "$C" || fail "a one-id build: $(cat "$T/verr")"
grep -F "RUN steps get one user and group (0)" "$T/verr" >/dev/null || fail "no warning for one id: $(cat "$T/verr")"
cat >"$C/Dockerfile.chown" <<DF
FROM $BASE
RUN touch /f && chown 1000 /f
DF
rc=0
as "$V" "$T/vout2" "$T/verr2" -f "$C/Dockerfile.chown" "$C" || rc=$?
assert_eq 1 "$rc" "exit status of a chown to an unmapped id with one id"
