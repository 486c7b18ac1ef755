#!/usr/bin/env bash
# hoist-pull against a plain registry: the stdout line, the store against what skopeo
# fetches, no second fetch of a stored blob, the `hoist pull` dispatcher, refs on stdin,
# NAME@sha256 input, --json / --progress=json, and every --output kind.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull
need_cmd docker-registry skopeo jq curl
. "$HOIST_LIB_DIR/fixtures.sh"

T=$TEST_TMP
start_registry
R=$REG_HOST
push_app "$R/test/app:v1"
other=$(fixture_layout --tag other --layer busybox --layer files:other --layer random:1M:other)
push_layout "$other" other "$R/test/other:v1"
want=$(remote_digest "$R/test/app:v1")
want_other=$(remote_digest "$R/test/other:v1")

step "pull into the store"
S=$T/store
pull_ok "$T/out" "$T/err" --store "$S" "$R/test/app:v1"
assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout of hoist-pull"
assert_eq 1 "$(wc -l <"$T/out")" "stdout lines"
store_check "$S"
assert_eq "$want" "$(store_ref_digest "$S" "$R/test/app:v1")" "index.json entry for $R/test/app:v1"
assert_eq 0 "$(ingest_bytes "$S")" "bytes left under ingest/ after a clean pull"

step "the store holds exactly the blobs skopeo fetches"
"${SKOPEO[@]}" copy -q --src-tls-verify=false "docker://$R/test/app:v1" "oci:$T/skopeo:x" >&2
diff <(layout_manifest_digests "$T/skopeo") <(layout_manifest_digests "$S") >&2 ||
  fail "store blobs differ from skopeo's"
for b in $(layout_manifest_digests "$T/skopeo"); do
  cmp -s "$T/skopeo/blobs/sha256/$b" "$S/blobs/sha256/$b" || fail "blob $b differs from skopeo's"
done

step "pulling again fetches no blob (registry access log)"
before=$(wc -l <"$REG_ACCESS_LOG")
pull_ok "$T/out" "$T/err" --store "$S" "$R/test/app:v1"
assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout of the second pull"
gets=$(tail -n +"$((before + 1))" "$REG_ACCESS_LOG" | grep -c '"GET /v2/[^ ]*/blobs/sha256:' || true)
assert_eq 0 "$gets" "blob GETs on the second pull"

step "the same blobs under another name are not fetched either (fault proxy log)"
start_fault_proxy "$REG_URL"
mark=$(proxy_mark)
pull_ok "$T/out" "$T/err" --store "$S" "$PROXY_HOST/test/app:v1"
assert_eq "$PROXY_HOST/test/app@$want" "$(cat "$T/out")" "stdout through the proxy"
gets=$(proxy_log "$mark" | jq -s '[.[] | select(.method == "GET" and (.path | test("/blobs/sha256:")))] | length')
assert_eq 0 "$gets" "blob GETs through the proxy"
assert_eq "$want" "$(store_ref_digest "$S" "$PROXY_HOST/test/app:v1")" "index.json entry for the proxy name"
assert_eq "$want" "$(store_ref_digest "$S" "$R/test/app:v1")" "first ref still in index.json"

step "a NAME@sha256 line is a reference too"
pull_ok "$T/out" "$T/err" --store "$T/store-pinned" "$R/test/app@$want"
assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout for a digest reference"
store_check "$T/store-pinned"

if [ -x "$HOIST_BIN/hoist" ]; then
  step "hoist pull (dispatcher)"
  rc=0
  timeout -k 5 "$PULL_TIMEOUT" "$HOIST_BIN/hoist" pull --store "$T/store-d" "$R/test/app:v1" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "hoist pull exited $rc"; }
  assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout of hoist pull"
  diff <(layout_manifest_digests "$T/skopeo") <(layout_manifest_digests "$T/store-d") >&2 ||
    fail "hoist pull stored other blobs"
else
  step "no $HOIST_BIN/hoist yet: dispatcher check skipped"
fi

step "refs from stdin (-)"
printf '%s\n%s\n' "$R/test/app:v1" "$R/test/other:v1" >"$T/refs"
pull_ok "$T/out" "$T/err" --store "$T/store-stdin" - <"$T/refs"
assert_eq "$(printf '%s\n' "$R/test/app@$want" "$R/test/other@$want_other" | sort)" "$(sort "$T/out")" \
  "stdout for two refs on stdin"
store_check "$T/store-stdin"
assert_eq "$want_other" "$(store_ref_digest "$T/store-stdin" "$R/test/other:v1")" "index.json entry for other"

step "--json: one JSON object per line, naming the digest"
pull_ok "$T/out" "$T/err" --json --store "$T/store-json" "$R/test/app:v1"
"$PY" - "$T/out" "$want" <<'EOF' || fail "--json output is not one JSON object per line naming the digest: $(cat "$T/out")"
import json, sys
lines = [l for l in open(sys.argv[1]).read().splitlines()]
assert len(lines) == 1, lines
obj = json.loads(lines[0])
assert isinstance(obj, dict) and sys.argv[2] in lines[0], obj
EOF
validate_schema hoist-pull-result "$T/out"

step "--progress=json keeps stdout to the one line"
pull_ok "$T/out" "$T/err" --progress=json --store "$T/store-progress" "$R/test/app:v1"
assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout with --progress=json"
"$PY" - "$T/err" <<'EOF' || fail "--progress=json wrote a '{' line to stderr that is not JSON"
import json, sys
for l in open(sys.argv[1]).read().splitlines():
    if l.startswith("{"):
        json.loads(l)
EOF

step "--quiet"
pull_ok "$T/out" "$T/err" --quiet --store "$T/store-quiet" "$R/test/app:v1"
assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout with --quiet"

step "--output oci:DIR:TAG"
pull_ok "$T/out" "$T/err" --output "oci:$T/layout:mytag" "$R/test/app:v1"
assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout with --output oci:"
"${SKOPEO[@]}" inspect "oci:$T/layout:mytag" >/dev/null || fail "skopeo cannot read oci:$T/layout:mytag"
"${SKOPEO[@]}" inspect --raw "oci:$T/layout:mytag" >"$T/raw"
assert_eq "$want" "sha256:$(sha256_of "$T/raw")" "manifest digest in the oci: layout"

step "--output oci-archive:FILE"
pull_ok "$T/out" "$T/err" --output "oci-archive:$T/image.tar" "$R/test/app:v1"
"${SKOPEO[@]}" inspect --raw "oci-archive:$T/image.tar" >"$T/raw" || fail "skopeo cannot read the oci-archive"
assert_eq "$want" "sha256:$(sha256_of "$T/raw")" "manifest digest in the oci-archive"

step "--output oci-archive:- (stdout is the archive)"
pull_ok "$T/stdout.tar" "$T/err" --output oci-archive:- "$R/test/app:v1"
tar -tf "$T/stdout.tar" >/dev/null || fail "stdout of --output oci-archive:- is not a tar"
"${SKOPEO[@]}" inspect --raw "oci-archive:$T/stdout.tar" >"$T/raw" || fail "skopeo cannot read the streamed oci-archive"
assert_eq "$want" "sha256:$(sha256_of "$T/raw")" "manifest digest in the streamed oci-archive"

step "--output docker-archive:FILE"
pull_ok "$T/out" "$T/err" --output "docker-archive:$T/docker.tar" "$R/test/app:v1"
"${SKOPEO[@]}" inspect "docker-archive:$T/docker.tar" >"$T/inspect" || fail "skopeo cannot read the docker-archive"
assert_eq 3 "$(jq '.Layers | length' "$T/inspect")" "layers in the docker-archive"
assert_eq amd64 "$(jq -r .Architecture "$T/inspect")" "architecture in the docker-archive"

step "usage errors exit 2"
rc=0
run_pull "$T/out" "$T/err" --no-such-option "$R/test/app:v1" || rc=$?
assert_eq 2 "$rc" "exit code for an unknown option"

step ok
