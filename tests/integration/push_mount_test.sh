#!/usr/bin/env bash
# hoist-push skips what the registry has and mounts what the store knows to be in
# another repository of the same registry; the fault proxy's request log shows that no
# blob bytes go out again.
#  1. a push of a layout uploads every blob; the same image again: HEADs only, no upload;
#  2. to another repository: every blob mounted (POST ?mount=&from=, 201), no bytes;
#  3. hoist-pull records where its blobs came from: pushing the pulled image from the
#     store to a third repository mounts them too;
#  4. a stale hint (the blob was deleted from the repository the store names): the
#     registry opens an upload (202) and hoist-push uses that session, no other.
. "$(dirname "$0")/lib/common.sh"
. "$HOIST_LIB_DIR/fixtures.sh"
need_hoist push pull
need_cmd docker-registry skopeo jq curl

start_registry
start_fault_proxy "$REG_URL"
S=$TEST_TMP/store
L=$(fixture_layout --tag app --layer busybox --layer files --layer random:3M:mount)
ROOT=$(jq -r '.manifests[0].digest' "$L/index.json")
mapfile -t BLOBS < <(layout_manifest_digests "$L" | grep -vx "${ROOT#sha256:}")   # config and layers

push() {  # push OUT ERR ARGS...
  local out=$1 err=$2 rc=0
  shift 2
  timeout -k 5 "$PULL_TIMEOUT" "$HOIST_BIN/hoist-push" "$@" >"$out" 2>"$err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$err" >&2
    fail "hoist-push $* exited $rc"
  fi
}

# Sum of request body bytes of upload requests (POST/PATCH/PUT to .../blobs/uploads/) since MARK.
upload_bytes() { proxy_log "$1" | jq -s '[.[] | select(.path | test("/blobs/uploads/")) | .req_bytes] | add // 0'; }
count() { proxy_log "$1" | jq -s --arg m "$2" --arg p "$3" '[.[] | select(.method == $m and (.path | test($p)))] | length'; }

# check_image REF LAYOUT: the registry serves the layout's manifest bytes, and every blob
# of the layout HEADs 200 with its size (asked of the registry itself, not the proxy).
check_image() {
  local ref=$1 layout=$2 repo=${1#*/} d
  repo=${repo%:*}
  assert_eq "$ROOT" "$(remote_digest "$ref")" "manifest digest of $ref"
  for d in "${BLOBS[@]}"; do
    local size code
    size=$(stat -c %s "$layout/blobs/sha256/$d")
    code=$(curl -s -o /dev/null -w '%{http_code} %header{content-length}' -I "$REG_URL/v2/$repo/blobs/sha256:$d")
    assert_eq "200 $size" "$code" "HEAD of blob $d in $repo"
  done
}

step "first push uploads every blob"
m=$(proxy_mark)
push "$TEST_TMP/o1" "$TEST_TMP/e1" --store "$S" "oci:$L:app" "$PROXY_HOST/team/app:v1"
assert_match "^$PROXY_HOST/team/app@sha256:[0-9a-f]{64}$" "$(cat "$TEST_TMP/o1")" "pinned line"
check_image "$REG_HOST/team/app:v1" "$L"
total=0
for d in "${BLOBS[@]}"; do total=$((total + $(stat -c %s "$L/blobs/sha256/$d"))); done
sent=$(upload_bytes "$m")
assert_eq "$total" "$sent" "first push sends each blob's bytes once"

step "the same image again: HEAD, no upload"
m=$(proxy_mark)
push "$TEST_TMP/o2" "$TEST_TMP/e2" --store "$S" "oci:$L:app" "$PROXY_HOST/team/app:v2"
assert_eq 0 "$(upload_bytes "$m")" "bytes uploaded for blobs the registry has"
assert_eq 0 "$(count "$m" POST /blobs/uploads/)" "upload sessions opened"
[ "$(count "$m" HEAD /blobs/sha256:)" -ge 2 ] || fail "no HEAD of the blobs: $(proxy_log "$m")"
check_image "$REG_HOST/team/app:v2" "$L"

step "another repository: every blob mounted from team/app"
m=$(proxy_mark)
push "$TEST_TMP/o3" "$TEST_TMP/e3" --store "$S" "oci:$L:app" "$PROXY_HOST/team/other:v1"
assert_eq 0 "$(upload_bytes "$m")" "bytes uploaded to team/other"
mounts=$(proxy_log "$m" | jq -s '[.[] | select(.method == "POST" and (.query | test("mount=")) and (.query | test("from=team%2Fapp|from=team/app")) and .status == 201)] | length')
assert_eq "${#BLOBS[@]}" "$mounts" "blobs mounted with 201"
assert_eq 0 "$(count "$m" PATCH /blobs/uploads/)" "PATCHes to team/other"
assert_eq 0 "$(count "$m" PUT /blobs/uploads/)" "upload PUTs to team/other"
check_image "$REG_HOST/team/other:v1" "$L"

step "hoist-pull records the source: a push from a fresh store mounts"
S2=$TEST_TMP/store2
pull_ok "$TEST_TMP/po" "$TEST_TMP/pe" --store "$S2" "$PROXY_HOST/team/app:v1"
m=$(proxy_mark)
push "$TEST_TMP/o4" "$TEST_TMP/e4" --store "$S2" "$PROXY_HOST/team/app:v1" "$PROXY_HOST/team/third:v1"
assert_eq 0 "$(upload_bytes "$m")" "bytes uploaded to team/third"
mounts=$(proxy_log "$m" | jq -s '[.[] | select(.method == "POST" and (.query | test("mount=")) and .status == 201)] | length')
assert_eq "${#BLOBS[@]}" "$mounts" "blobs mounted into team/third"
check_image "$REG_HOST/team/third:v1" "$L"

step "a stale hint: the registry answers 202 and that session carries the upload"
L2=$(fixture_layout --tag b --layer random:1M:stale)
push "$TEST_TMP/o5" "$TEST_TMP/e5" --store "$S" "oci:$L2:b" "$PROXY_HOST/team/b:v1"
layer=$(jq -r '.layers[0].digest' "$L2/blobs/sha256/$(jq -r '.manifests[0].digest' "$L2/index.json" | cut -d: -f2)")
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$REG_URL/v2/team/b/blobs/$layer")
assert_eq 202 "$code" "deleting $layer from team/b"
m=$(proxy_mark)
push "$TEST_TMP/o6" "$TEST_TMP/e6" --store "$S" "oci:$L2:b" "$PROXY_HOST/team/c:v1"
log=$(proxy_log "$m")
posts=$(printf '%s\n' "$log" | jq -s --arg d "${layer#sha256:}" '[.[] | select(.method == "POST" and (.query | contains($d)))]')
assert_eq 1 "$(jq length <<<"$posts")" "POSTs for the layer (the mount attempt only)"
assert_eq 202 "$(jq '.[0].status' <<<"$posts")" "mount of a blob team/b lost"
assert_eq 0 "$(printf '%s\n' "$log" | jq -s '[.[] | select(.method == "POST" and (.query | test("mount=") | not))] | length')" \
  "upload sessions opened besides the mount attempts"
assert_eq "$(stat -c %s "$L2/blobs/sha256/${layer#sha256:}")" \
  "$(printf '%s\n' "$log" | jq -s '[.[] | select(.method == "PUT" and (.path | test("/blobs/uploads/"))) | .req_bytes] | add')" \
  "the layer's bytes, sent once in the mount's session"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$REG_URL/v2/team/c/blobs/$layer")
assert_eq 200 "$code" "layer in team/c"
step "ok"
