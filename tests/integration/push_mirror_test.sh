#!/usr/bin/env bash
# Mirroring with hoist-pull and hoist-push between two real registries: the pipe keeps
# digests; the air gap through an oci-archive (file and stream); one archive, layout or
# docker-archive holding several images pushed back by one command, each to its own
# repository and tag; concurrent hoist-pull processes into one oci:DIR lose no entry;
# --sync with a bad entry (the rest copied, a summary, exit 1) and a second run that
# skips everything without sending a byte.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull push
need_cmd docker-registry skopeo jq curl
. "$HOIST_LIB_DIR/fixtures.sh"

T=$TEST_TMP
S=$T/store

# log_since LINE: the second registry's access log after LINE.
log_since() { tail -n +"$(($1 + 1))" "$R2_LOG"; }

start_registry
R1=$REG_HOST
start_registry
R2=$REG_HOST
R2_LOG=$REG_ACCESS_LOG

push_app "$R1/test/app:v1"
other=$(fixture_layout --tag other --layer busybox --layer files:other --layer random:1M:other)
push_layout "$other" other "$R1/test/other:v1"
push_layout "$other" other "$R1/test/other:v2"
push_multiarch "$R1/test/multi:v1"
a=$(remote_digest "$R1/test/app:v1")
o=$(remote_digest "$R1/test/other:v1")
m=$(remote_digest "$R1/test/multi:v1")

step "hoist-pull SRC | hoist-push - DEST: digests unchanged (one image, and a whole index)"
rc=0
timeout 120 "$HOIST_BIN/hoist-pull" --store "$S" "$R1/test/app:v1" |
  timeout 120 "$HOIST_BIN/hoist-push" --store "$S" - "$R2/pipe/app:v1" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "pipe exited $rc"; }
assert_eq "$R2/pipe/app@$a" "$(cat "$T/out")" "stdout of the pipe"
assert_eq "$a" "$(remote_digest "$R2/pipe/app:v1")" "digest after the pipe"
timeout 120 "$HOIST_BIN/hoist-pull" --store "$S" --all-platforms "$R1/test/multi:v1" |
  timeout 120 "$HOIST_BIN/hoist-push" --store "$S" - "$R2/pipe/multi:v1" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "pipe of an index exited $rc"; }
assert_eq "$m" "$(remote_digest "$R2/pipe/multi:v1")" "index digest after the pipe"
for p in linux/arm64 linux/arm/v7; do
  "${SKOPEO[@]}" inspect --raw --tls-verify=false --override-os linux --override-arch "${p#linux/}" \
    "docker://$R2/pipe/multi:v1" >/dev/null || fail "platform $p missing after the pipe"
done

step "two tags on stdin and a prefix: each keeps its repository and tag"
printf '%s\n' "$R1/test/app:v1" "$R1/test/other:v1" | timeout 120 "$HOIST_BIN/hoist-pull" --store "$S" - >"$T/lines"
push_ok "$T/out" "$T/err" --store "$S" - "$R2/lines" <"$T/lines"
assert_eq "$a" "$(remote_digest "$R2/lines/test/app:v1")" "app under the prefix"
assert_eq "$o" "$(remote_digest "$R2/lines/test/other:v1")" "other under the prefix"

step "air gap: hoist-pull --output oci-archive:- > img.tar, then hoist-push oci-archive:img.tar (and from a pipe)"
timeout 120 "$HOIST_BIN/hoist-pull" --store "$T/side-a" --output oci-archive:- "$R1/test/app:v1" >"$T/img.tar" 2>"$T/err" ||
  { cat "$T/err" >&2; fail "hoist-pull --output oci-archive:- failed"; }
push_ok "$T/out" "$T/err" --store "$T/side-b" "oci-archive:$T/img.tar" "$R2/air/app:v1"
assert_eq "$R2/air/app@$a" "$(cat "$T/out")" "stdout after the air gap"
assert_eq "$a" "$(remote_digest "$R2/air/app:v1")" "digest after the air gap"
rc=0
timeout 120 "$HOIST_BIN/hoist-pull" --store "$T/side-a" --output oci-archive:- "$R1/test/app:v1" 2>/dev/null |
  timeout 120 "$HOIST_BIN/hoist-push" --store "$T/side-c" oci-archive:- "$R2/airpipe/app:v1" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "hoist-pull --output oci-archive:- | hoist-push oci-archive:- exited $rc"; }
assert_eq "$a" "$(remote_digest "$R2/airpipe/app:v1")" "digest through oci-archive on a pipe"

step "one oci-archive with several images (hoist-pull --output oci-archive:all.tar REF1 REF2), pushed back by one command"
pull_ok "$T/o" "$T/err" --store "$S" --output "oci-archive:$T/all.tar" "$R1/test/app:v1" "$R1/test/other:v1" "$R1/test/other:v2"
tar -xOf "$T/all.tar" index.json >"$T/all-index.json"
assert_eq 3 "$(jq '.manifests | length' "$T/all-index.json")" "images in the archive's index.json"
"${SKOPEO[@]}" inspect --raw "oci-archive:$T/all.tar:$R1/test/other:v2" >/dev/null || fail "skopeo cannot find other:v2 in the archive"
push_ok "$T/out" "$T/err" --store "$T/side-d" "oci-archive:$T/all.tar" "$R2/mirror"
assert_eq 3 "$(wc -l <"$T/out")" "stdout lines for three images"
assert_eq "$a" "$(remote_digest "$R2/mirror/test/app:v1")" "app from the archive"
assert_eq "$o" "$(remote_digest "$R2/mirror/test/other:v1")" "other:v1 from the archive"
assert_eq "$o" "$(remote_digest "$R2/mirror/test/other:v2")" "other:v2 from the archive"
grep -qx "$R2/mirror/test/other@$o" "$T/out" || fail "stdout lacks the other line: $(cat "$T/out")"

step "a layout with several images, pushed back with no DEST (each to the name it records)"
pull_ok "$T/o" "$T/err" --store "$S" --output "oci:$T/lay" "$R1/test/app:v1" "$R1/test/other:v1"
push_ok "$T/out" "$T/err" --store "$S" "oci:$T/lay" "$R2/lay/"
assert_eq "$a" "$(remote_digest "$R2/lay/test/app:v1")" "app from the layout"
assert_eq "$o" "$(remote_digest "$R2/lay/test/other:v1")" "other from the layout"
"$HOIST_BIN/hoist-push" --store "$S" "oci:$T/lay" >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "push back without DEST"; }
assert_eq "$(printf '%s\n' "$R1/test/app@$a" "$R1/test/other@$o")" "$(cat "$T/out")" "stdout of the push back"

step "a docker-archive with several images, pushed under a prefix"
pull_ok "$T/o" "$T/err" --store "$S" --output "docker-archive:$T/d.tar" "$R1/test/app:v1" "$R1/test/other:v1"
push_ok "$T/out" "$T/err" --store "$S" "docker-archive:$T/d.tar" "$R2/dock/"
assert_eq 2 "$(wc -l <"$T/out")" "stdout lines for the docker-archive"
for r in app other; do
  assert_eq "$(remote_raw "$R1/test/$r:v1" | jq -r .config.digest)" "$(remote_raw "$R2/dock/test/$r:v1" | jq -r .config.digest)" \
    "image ID of $r through the docker-archive"
done

step "concurrent hoist-pull processes into one oci:DIR lose no index.json entry"
pids=()
for i in 1 2 3 4 5 6; do
  t=app
  [ $((i % 2)) -eq 0 ] && t=other
  timeout 120 "$HOIST_BIN/hoist-pull" --store "$T/cs$i" --output "oci:$T/shared:name$i" "$R1/test/$t:v1" >/dev/null 2>"$T/cerr$i" &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { cat "$T/cerr$((i + 1))" >&2; fail "concurrent hoist-pull $((i + 1)) failed"; }
done
assert_eq 6 "$(jq '.manifests | length' "$T/shared/index.json")" "index.json entries after 6 concurrent pulls"
for i in 1 2 3 4 5 6; do
  "${SKOPEO[@]}" inspect --raw "oci:$T/shared:name$i" >/dev/null || fail "skopeo cannot find name$i in the shared layout"
done

step "--sync: a list with a bad entry: the rest is copied, a summary, exit 1"
cat >"$T/list" <<LIST
# registry to registry, one image
docker://$R1/test/app:v1        $R2/sync/app:v1
docker://$R1/test/missing:v1    $R2/sync/missing:v1
# every tag of a repository under a prefix
docker://$R1/test/other         $R2/sync/
# a local layout
oci:$T/lay:$R1/test/app:v1      $R2/sync/fromlayout:v1
LIST
rc=0
run_push "$T/out" "$T/err" --store "$T/sync-store" --json --sync "$T/list" || rc=$?
assert_eq 1 "$rc" "exit status of a sync with a failed entry"
validate_schema hoist-push-result "$T/out"
assert_match "4 copied, 0 skipped \(already there\), 1 failed" "$(cat "$T/err")" "sync summary"
assert_match "line 3: docker://$R1/test/missing:v1" "$(cat "$T/err")" "the failed entry is named with its line"
assert_eq "$a" "$(remote_digest "$R2/sync/app:v1")" "sync: app"
assert_eq "$o" "$(remote_digest "$R2/sync/test/other:v1")" "sync: other:v1 (all tags)"
assert_eq "$o" "$(remote_digest "$R2/sync/test/other:v2")" "sync: other:v2 (all tags)"
assert_eq "$a" "$(remote_digest "$R2/sync/fromlayout:v1")" "sync: from the layout"
assert_eq 1 "$(jq -s '[.[] | select(.status == "failed")] | length' "$T/out")" "failed objects in --json"
[ -z "$(ls -A "$T/sync-store/blobs/sha256" 2>/dev/null)" ] || fail "registry-to-registry sync wrote blobs to the store"

step "--sync again (bad line dropped): everything skipped, no blob or manifest sent"
grep -v missing "$T/list" >"$T/list2"
before=$(wc -l <"$R2_LOG")
push_ok "$T/out" "$T/err" --store "$T/sync-store" --sync "$T/list2"
assert_match "0 copied, 4 skipped \(already there\), 0 failed" "$(cat "$T/err")" "second sync summary"
writes=$(log_since "$before" | grep -cE '"(POST|PATCH|PUT) /v2/' || true)
assert_eq 0 "$writes" "writes to the destination on the second sync"
blob_heads=$(log_since "$before" | grep -cE '"(HEAD|GET) /v2/[^ ]*/blobs/' || true)
assert_eq 0 "$blob_heads" "blob requests on the second sync (manifest HEAD only)"
assert_eq 4 "$(wc -l <"$T/out")" "stdout lines of the second sync"
echo "PASS $TEST_NAME" >&2
