#!/usr/bin/env bash
# hoist-push against a hostile registry: the fault proxy in front of a real docker-registry.
# Each case ends in success where a retry can mend it, or in a clear error; never with a
# manifest whose blobs are not all in the registry.
#  - a chunk refused with 416: the status is asked and the upload resumes from the offset
#    the registry reports (the first chunk is not sent again);
#  - a connection reset mid-chunk: resumed the same way;
#  - 401 halfway through (token auth): a new token, and on;
#  - 500 on the closing PUTs: retried;
#  - the registry loses the upload session (404): the upload starts over, cleanly;
#  - 416 on every chunk: a clear error after the retries, and no manifest pushed;
#  - a layout blob corrupted on disk (not hashed on the way: the registry checks digests):
#    the registry's DIGEST_INVALID, explained, and no manifest pushed;
#  - kill -9 of hoist-push in the middle of a large blob: the rerun resumes the session the
#    store remembered and sends far less than the whole blob again.
. "$(dirname "$0")/lib/common.sh"
. "$HOIST_LIB_DIR/fixtures.sh"
need_hoist push
need_cmd docker-registry skopeo jq curl

CHUNK=$((32 << 20))   # transport::UploadTuning::chunk_size
S=$TEST_TMP/store   # one store per case ($S-CASE): nothing is mounted from an earlier case

# layout_root LAYOUT / layout_layer LAYOUT N / blob_size LAYOUT DIGEST
layout_root() { jq -r '.manifests[0].digest' "$1/index.json"; }
layout_layer() { jq -r ".layers[$2].digest" "$1/blobs/sha256/$(layout_root "$1" | cut -d: -f2)"; }
blob_size() { stat -c %s "$1/blobs/sha256/${2#sha256:}"; }

# check_pushed LAYOUT REPO TAG [CURL_AUTH...]: the registry (asked directly, not through the
# proxy) serves the layout's manifest under TAG, and every config and layer blob with its size.
check_pushed() {
  local l=$1 repo=$2 tag=$3 root d code
  shift 3
  root=$(layout_root "$l")
  code=$(curl -s -o "$TEST_TMP/m.json" -w '%{http_code}' "$@" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$REG_URL/v2/$repo/manifests/$tag")
  assert_eq 200 "$code" "GET manifest $repo:$tag"
  assert_eq "${root#sha256:}" "$(sha256_of "$TEST_TMP/m.json")" "digest of $repo:$tag"
  for d in $(jq -r '.config.digest, .layers[].digest' "$TEST_TMP/m.json"); do
    code=$(curl -s -o /dev/null -w '%{http_code} %header{content-length}' -I "$@" "$REG_URL/v2/$repo/blobs/$d")
    assert_eq "200 $(blob_size "$l" "$d")" "$code" "HEAD of blob $d in $repo"
  done
}

# no_manifest REPO TAG [CURL_AUTH...]: the tag is not there.
no_manifest() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "${@:3}" -I "$REG_URL/v2/$1/manifests/$2")
  assert_eq 404 "$code" "manifest $1:$2 after a failed push"
}

# Request body bytes of PATCH/PUT requests to upload URLs since MARK.
sent_bytes() { proxy_log "$1" | jq -s '[.[] | select((.method == "PATCH" or .method == "PUT") and (.path | test("/blobs/uploads/"))) | .req_bytes] | add // 0'; }

start_registry
start_fault_proxy "$REG_URL"
# A 40 MiB layer: two chunks (32 MiB + 8 MiB) and a small config (one monolithic PUT).
L=$(fixture_layout --tag big --layer random:40M:hostile)
BIG=$(layout_layer "$L" 0)
BIG_SIZE=$(blob_size "$L" "$BIG")

step "416 on the second chunk: resume from the offset the registry reports"
proxy_rule '{"mode": "status", "status": 416, "kind": "upload", "method": "PATCH", "skip": 1, "times": 1}'
m=$(proxy_mark)
push_ok "$TEST_TMP/o" "$TEST_TMP/e" --store "$S-r416" "oci:$L:big" "$PROXY_HOST/h/r416:v1"
check_pushed "$L" h/r416 v1
log=$(proxy_log "$m")
assert_eq 1 "$(jq -s '[.[] | select(.method == "PATCH" and .status == 416)] | length' <<<"$log")" "416 answers"
# After the 416: a status GET on the upload, then the PATCH that resumes at the first chunk's end.
after=$(jq -s 'map(select(.path | test("/blobs/uploads/."))) | (map(.status) | index(416)) as $i | .[$i+1:]' <<<"$log")
assert_eq GET "$(jq -r '.[0].method' <<<"$after")" "request after the 416"
assert_eq "$CHUNK-$((BIG_SIZE - 1))" "$(jq -r '[.[] | select(.method == "PATCH")][0].content_range' <<<"$after")" \
  "Content-Range of the resumed chunk"
assert_eq "$BIG_SIZE" "$(jq -s '[.[] | select(.method == "PATCH" and .status == 202) | .req_bytes] | add' <<<"$log")" \
  "chunk bytes the registry took (each byte once)"
proxy_reset

step "connection reset on the second chunk: resumed"
proxy_rule '{"mode": "reset", "kind": "upload", "method": "PATCH", "skip": 1, "times": 1}'
m=$(proxy_mark)
push_ok "$TEST_TMP/o" "$TEST_TMP/e" --store "$S-reset" "oci:$L:big" "$PROXY_HOST/h/reset:v1"
check_pushed "$L" h/reset v1
assert_eq "$BIG_SIZE" "$(proxy_log "$m" | jq -s '[.[] | select(.method == "PATCH" and .status == 202) | .req_bytes] | add')" \
  "chunk bytes the registry took"
proxy_reset

step "500 on the closing PUTs: retried"
proxy_rule '{"mode": "status", "status": 500, "kind": "upload", "method": "PUT", "times": 3}'
m=$(proxy_mark)
push_ok "$TEST_TMP/o" "$TEST_TMP/e" --store "$S-put500" "oci:$L:big" "$PROXY_HOST/h/put500:v1"
check_pushed "$L" h/put500 v1
assert_eq 3 "$(proxy_log "$m" | jq -s '[.[] | select(.method == "PUT" and .status == 500)] | length')" "PUTs answered 500"
proxy_reset

step "the registry loses the session: start over, cleanly"
proxy_rule '{"mode": "lose_session", "kind": "upload", "method": "PATCH", "skip": 1, "times": 1}'
m=$(proxy_mark)
push_ok "$TEST_TMP/o" "$TEST_TMP/e" --store "$S-lost" "oci:$L:big" "$PROXY_HOST/h/lost:v1"
check_pushed "$L" h/lost v1
log=$(proxy_log "$m")
assert_eq 1 "$(jq -s '[.[] | select(.method == "PATCH" and .status == 404)] | length' <<<"$log")" "PATCHes lost"
# After the loss, the chunks start at byte 0 again in a new session.
assert_eq "0-$((CHUNK - 1))" \
  "$(jq -rs 'map(select(.path | test("/blobs/uploads/."))) | (map(.status) | index(404)) as $i | [.[$i+1:][] | select(.method == "PATCH")][0].content_range' <<<"$log")" \
  "first chunk after the loss"
proxy_reset

step "416 on every chunk: a clear error, no manifest"
proxy_rule '{"mode": "status", "status": 416, "kind": "upload", "method": "PATCH"}'
rc=0
run_push "$TEST_TMP/o" "$TEST_TMP/e" --store "$S-never" "oci:$L:big" "$PROXY_HOST/h/never:v1" || rc=$?
assert_eq 1 "$rc" "exit status of a push that cannot succeed"
assert_match "^hoist-push: error: .*blob '$BIG'.*'$PROXY_HOST/h/never'" "$(cat "$TEST_TMP/e")" "error names blob and repository"
assert_match "error: .*HTTP 416" "$(cat "$TEST_TMP/e")" "error says what the registry answered"
no_manifest h/never v1
proxy_reset

step "a layout blob corrupted on disk: the registry refuses it (DIGEST_INVALID), a clear error, no manifest"
# hoist-push does not hash local blobs on their way to a registry: the registry checks every
# upload's digest. Same size, one byte flipped: for the chunked layer, and for the small config.
C=$TEST_TMP/corrupt
cp -a "$L" "$C"
CFG=$(jq -r .config.digest "$C/blobs/sha256/$(layout_root "$C" | cut -d: -f2)")
for d in "$BIG" "$CFG"; do
  f=$C/blobs/sha256/${d#sha256:}
  chmod u+w "$f"
  python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(100); b = f.read(1); f.seek(100); f.write(bytes([b[0] ^ 1]))' "$f"
done
rc=0
run_push "$TEST_TMP/o" "$TEST_TMP/e" --store "$S-corrupt" "oci:$C:big" "$REG_HOST/h/corrupt:v1" || rc=$?
assert_eq 1 "$rc" "exit status of a push of a corrupt blob"
err=$(cat "$TEST_TMP/e")
assert_match "^hoist-push: error: .*blob 'sha256:[0-9a-f]*' from 'oci:$C:big' does not match its digest" "$err" "error names blob and source"
assert_match "refused the bytes of '$C/blobs/sha256/" "$err" "error names the file"
assert_match "DIGEST_INVALID" "$err" "error says what the registry answered"
no_manifest h/corrupt v1

step "kill -9 mid-upload, then a rerun resumes from the registry's offset"
LK=$(fixture_layout --tag kill --layer random:100M:kill)
KBIG=$(layout_layer "$LK" 0)
KSIZE=$(blob_size "$LK" "$KBIG")
# The third chunk is taken and never answered: hoist-push waits in it when it is killed.
proxy_rule '{"mode": "hang", "kind": "upload", "method": "PATCH", "skip": 2, "times": 1, "seconds": 120}'
m=$(proxy_mark)
"$HOIST_BIN/hoist-push" --store "$S-kill" "oci:$LK:kill" "$PROXY_HOST/h/kill:v1" >"$TEST_TMP/ko" 2>"$TEST_TMP/ke" &
pid=$!
on_exit "kill -9 $pid 2>/dev/null"
for ((i = 0; i < 600; i++)); do
  [ "$(_proxy_ctl "$PROXY_URL/__rules" | jq '.[0].times')" = 0 ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$TEST_TMP/ke" >&2; fail "hoist-push ended before the hang"; }
  sleep 0.1
done
[ "$i" -lt 600 ] || fail "the third chunk never came"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
first=$(sent_bytes "$m")
no_manifest h/kill v1
proxy_reset
m=$(proxy_mark)
push_ok "$TEST_TMP/o" "$TEST_TMP/e" --store "$S-kill" "oci:$LK:kill" "$PROXY_HOST/h/kill:v1"
check_pushed "$LK" h/kill v1
again=$(sent_bytes "$m")
log=$(proxy_log "$m")
step "killed run sent $first bytes, the rerun $again of a $KSIZE-byte layer"
# The rerun asks for the session's status and goes on from the two chunks the registry has.
assert_eq GET "$(jq -rs '[.[] | select(.path | test("/blobs/uploads/."))][0].method' <<<"$log")" \
  "first upload request of the rerun (status of the remembered session)"
assert_eq "$((2 * CHUNK))-$((3 * CHUNK - 1))" \
  "$(jq -rs '[.[] | select(.method == "PATCH")][0].content_range' <<<"$log")" "first chunk of the rerun"
[ "$again" -lt $((KSIZE / 2)) ] || fail "the rerun sent $again bytes of a $KSIZE-byte blob"

step "401 halfway through (token auth): a new token, and on"
start_token_server --user pusher:secret
start_registry --token
start_fault_proxy "$REG_URL"
# The second chunk reaches the registry without its token: the registry's own 401.
proxy_rule '{"mode": "unauth", "kind": "upload", "method": "PATCH", "skip": 1, "times": 1}'
m=$(proxy_mark)
push_ok "$TEST_TMP/o" "$TEST_TMP/e" --store "$S-auth" --creds pusher:secret "oci:$L:big" "$PROXY_HOST/h/auth:v1"
log=$(proxy_log "$m")
assert_eq 1 "$(jq -s '[.[] | select(.method == "PATCH" and .status == 401)] | length' <<<"$log")" "PATCHes refused"
assert_eq "$CHUNK-$((BIG_SIZE - 1))" \
  "$(jq -rs 'map(select(.path | test("/blobs/uploads/."))) | (map(.status) | index(401)) as $i | [.[$i+1:][] | select(.method == "PATCH")][0].content_range' <<<"$log")" \
  "the chunk after the 401 resumes where the registry is"
tokens=$(jq -s '[.[] | select(.status == 200 and ((.scopes // []) | tostring | test("h/auth:pull,push")))] | length' "$TOKEN_LOG")
[ "$tokens" -ge 2 ] || fail "no new token after the 401 (token requests: $(cat "$TOKEN_LOG"))"
assert_eq "$(layout_root "$L")" "$(remote_digest "$REG_HOST/h/auth:v1" --creds pusher:secret)" "digest of h/auth:v1"
timeout 120 "${SKOPEO[@]}" copy -q --src-tls-verify=false --src-creds pusher:secret \
  "docker://$REG_HOST/h/auth:v1" "oci:$TEST_TMP/auth-copy:x" >&2 || fail "skopeo cannot pull h/auth:v1 back"
step "ok"
