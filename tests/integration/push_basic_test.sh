#!/usr/bin/env bash
# hoist-push against a real registry, skopeo as the peer: what hoist pushes skopeo
# pulls byte-identical; what skopeo pushes hoist pulls and pushes on with unchanged
# digests; every SRC form (store ref, NAME@sha256, sha256:, -, oci:, oci-archive:
# file and stdin, docker-archive: from hoist and from skopeo, docker://); --tag;
# --digest-file; --json; --format with its refusal; hoist's archives read by skopeo.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull push
need_cmd docker-registry skopeo jq curl
. "$HOIST_LIB_DIR/fixtures.sh"

T=$TEST_TMP
S=$T/store

push_fails() {  # push_fails WANT_RC PATTERN ARGS...
  local want=$1 pat=$2 rc=0
  shift 2
  run_push "$T/fout" "$T/ferr" "$@" || rc=$?
  [ "$rc" -eq "$want" ] || { cat "$T/ferr" >&2; fail "hoist-push $* exited $rc, want $want"; }
  grep -q "^hoist-push: error: " "$T/ferr" || fail "no 'hoist-push: error:' line: $(cat "$T/ferr")"
  grep -Eq -- "$pat" "$T/ferr" || fail "hoist-push $*: stderr lacks /$pat/: $(cat "$T/ferr")"
}
# same_blobs LAYOUT_A LAYOUT_B: both layouts hold the same blobs, byte for byte.
same_blobs() {
  diff <(layout_manifest_digests "$1") <(layout_manifest_digests "$2") >&2 || fail "blob sets differ: $1 $2"
  local b
  for b in $(layout_manifest_digests "$1"); do
    cmp -s "$1/blobs/sha256/$b" "$2/blobs/sha256/$b" || fail "blob $b differs"
  done
}
config_of() { remote_raw "$1" | jq -r .config.digest; }

start_registry
R=$REG_HOST
app=$(fixture_layout --tag app "${APP_LAYERS[@]}")
push_layout "$app" app "$R/test/app:v1"
want=$(remote_digest "$R/test/app:v1")
want_cfg=$(config_of "$R/test/app:v1")
pull_ok "$T/pulled" "$T/err" --store "$S" "$R/test/app:v1"

step "store reference -> registry; skopeo pulls it byte-identical"
push_ok "$T/out" "$T/err" --store "$S" "$R/test/app:v1" "$R/hoist/app:v1"
assert_eq "$R/hoist/app@$want" "$(cat "$T/out")" "stdout of hoist-push"
assert_eq "$want" "$(remote_digest "$R/hoist/app:v1")" "digest in the registry"
"${SKOPEO[@]}" copy -q --src-tls-verify=false "docker://$R/hoist/app:v1" "oci:$T/sk-pulled:x" >&2
same_blobs "$app" "$T/sk-pulled"

step "what skopeo pushed, hoist pulled, hoist pushes on: digests unchanged, blobs as skopeo sees them"
push_ok "$T/out" "$T/err" --store "$S" "$(cat "$T/pulled")" "$R/onward/app:v1"
assert_eq "$R/onward/app@$want" "$(cat "$T/out")" "stdout for a NAME@sha256 source"
"${SKOPEO[@]}" copy -q --src-tls-verify=false "docker://$R/onward/app:v1" "oci:$T/sk-onward:x" >&2
same_blobs "$T/sk-pulled" "$T/sk-onward"

step "sha256:DIGEST and '-' (hoist-pull's line on stdin)"
push_ok "$T/out" "$T/err" --store "$S" "$want" "$R/bare/app:v1"
assert_eq "$R/bare/app@$want" "$(cat "$T/out")" "stdout for sha256:"
rc=0
timeout 120 "$HOIST_BIN/hoist-pull" --store "$S" "$R/test/app:v1" |
  timeout 120 "$HOIST_BIN/hoist-push" --store "$S" - "$R/stdin/app:v1" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "hoist-pull | hoist-push - exited $rc"; }
assert_eq "$R/stdin/app@$want" "$(cat "$T/out")" "stdout for -"
assert_eq "$want" "$(remote_digest "$R/stdin/app:v1")" "digest pushed from stdin"

step "a blob only sent once: the second push HEADs and uploads nothing"
before=$(wc -l <"$REG_ACCESS_LOG")
push_ok "$T/out" "$T/err" --store "$S" "$R/test/app:v1" "$R/hoist/app:v1"
uploads=$(tail -n +"$((before + 1))" "$REG_ACCESS_LOG" | grep -cE '"(POST|PATCH|PUT) /v2/[^ ]*/blobs/' || true)
assert_eq 0 "$uploads" "blob uploads on a second push"

step "oci:DIR:TAG (skopeo's layout), --tag, --digest-file"
push_ok "$T/out" "$T/err" --store "$S" --tag extra --tag more --digest-file "$T/digest" "oci:$app:app" "$R/oci/app:v1"
assert_eq "$R/oci/app@$want" "$(cat "$T/out")" "stdout for oci:"
for t in v1 extra more; do
  assert_eq "$want" "$(remote_digest "$R/oci/app:$t")" "digest under tag $t"
done
assert_eq "$want" "$(cat "$T/digest")" "--digest-file"

step "--json validates against schemas/hoist-push-result.schema.json"
push_ok "$T/out" "$T/err" --store "$S" --json "oci:$app:app" "$R/json/app:v1"
validate_schema hoist-push-result "$T/out"
assert_eq "$want" "$(jq -r .digest "$T/out")" "digest in --json"
assert_eq pushed "$(jq -r .status "$T/out")" "status in --json"
assert_eq "$R/json/app@$want" "$(jq -r .reference "$T/out")" "reference in --json"

step "oci-archive:FILE and oci-archive:- written by hoist-pull"
pull_ok "$T/o" "$T/err" --store "$S" --output "oci-archive:$T/img.tar" "$R/test/app:v1"
push_ok "$T/out" "$T/err" --store "$T/fresh1" "oci-archive:$T/img.tar" "$R/ociarch/app:v1"
assert_eq "$R/ociarch/app@$want" "$(cat "$T/out")" "stdout for oci-archive:FILE"
assert_no_file "$T/fresh1/blobs/sha256/${want#sha256:}"  # read in place, not copied into the store
rc=0
timeout 120 "$HOIST_BIN/hoist-push" --store "$T/fresh2" oci-archive:- "$R/ocistdin/app:v1" <"$T/img.tar" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "hoist-push oci-archive:- exited $rc"; }
assert_eq "$R/ocistdin/app@$want" "$(cat "$T/out")" "stdout for oci-archive:-"
assert_eq "$want" "$(remote_digest "$R/ocistdin/app:v1")" "digest pushed from a stream"
"${SKOPEO[@]}" copy -q --dest-tls-verify=false "oci-archive:$T/img.tar" "docker://$R/skopeo-ociarch/app:v1" >&2 ||
  fail "skopeo cannot read hoist's oci-archive"
assert_eq "$want" "$(remote_digest "$R/skopeo-ociarch/app:v1")" "skopeo's push of hoist's oci-archive"

step "docker-archive:FILE written by hoist-pull: Docker schema 2, image ID and layers kept; skopeo reads it"
pull_ok "$T/o" "$T/err" --store "$S" --output "docker-archive:$T/d.tar" "$R/test/app:v1"
push_ok "$T/out" "$T/err" --store "$S" "docker-archive:$T/d.tar" "$R/dock/app:v1"
got=$(remote_digest "$R/dock/app:v1")
assert_eq "$R/dock/app@$got" "$(cat "$T/out")" "stdout for docker-archive:"
assert_eq "application/vnd.docker.distribution.manifest.v2+json" "$(remote_raw "$R/dock/app:v1" | jq -r .mediaType)" "media type"
assert_eq "$want_cfg" "$(config_of "$R/dock/app:v1")" "config digest (image ID) through docker-archive"
assert_eq "$(remote_raw "$R/test/app:v1" | jq -c '[.layers[].digest]')" "$(remote_raw "$R/dock/app:v1" | jq -c '[.layers[].digest]')" \
  "layer digests through hoist's docker-archive"
"${SKOPEO[@]}" copy -q --dest-tls-verify=false "docker-archive:$T/d.tar" "docker://$R/skopeo-dock/app:v1" >&2 ||
  fail "skopeo cannot read hoist's docker-archive"
assert_eq "$want_cfg" "$(config_of "$R/skopeo-dock/app:v1")" "config digest of skopeo's push of hoist's docker-archive"

step "docker-archive:FILE written by skopeo (uncompressed layers: digests are the diff_ids)"
"${SKOPEO[@]}" copy -q --src-tls-verify=false "docker://$R/test/app:v1" "docker-archive:$T/sk.tar:team/app:v9" >&2
push_ok "$T/out" "$T/err" --store "$S" "docker-archive:$T/sk.tar" "$R/skdock/app:v1"
assert_eq "$want_cfg" "$(config_of "$R/skdock/app:v1")" "config digest through skopeo's docker-archive"
remote_raw "$R/test/app:v1" >/dev/null
diff_ids=$(curl -sf "$REG_URL/v2/test/app/blobs/$want_cfg" | jq -c .rootfs.diff_ids)
assert_eq "$diff_ids" "$(remote_raw "$R/skdock/app:v1" | jq -c '[.layers[].digest]')" "layer digests = diff_ids"
"${SKOPEO[@]}" copy -q --src-tls-verify=false "docker://$R/skdock/app:v1" "oci:$T/sk-skdock:x" >&2 ||
  fail "skopeo cannot pull what hoist pushed from a docker-archive"
push_ok "$T/out" "$T/err" --store "$S" "docker-archive:$T/sk.tar:team/app:v9" "$R/skdock/app:v2"
push_fails 1 "no image tagged" --store "$S" "docker-archive:$T/sk.tar:team/app:nope" "$R/skdock/app:v3"

step "docker://REF: registry to registry, nothing written to the store"
push_ok "$T/out" "$T/err" --store "$T/fresh3" "docker://$R/test/app:v1" "$R/reg/app:v1"
assert_eq "$R/reg/app@$want" "$(cat "$T/out")" "stdout for docker://"
[ -z "$(ls -A "$T/fresh3/blobs/sha256" 2>/dev/null)" ] || fail "a registry-to-registry push wrote blobs to the store"

step "--format v2s2: a new manifest digest, config and layers kept; --format oci back"
push_ok "$T/out" "$T/err" --store "$S" --format v2s2 "oci:$app:app" "$R/fmt/app:docker"
d2=$(remote_digest "$R/fmt/app:docker")
[ "$d2" != "$want" ] || fail "--format v2s2 kept the OCI digest"
assert_eq "$R/fmt/app@$d2" "$(cat "$T/out")" "stdout for --format v2s2"
assert_eq "application/vnd.docker.distribution.manifest.v2+json" "$(remote_raw "$R/fmt/app:docker" | jq -r .mediaType)" "converted media type"
assert_eq "$want_cfg" "$(config_of "$R/fmt/app:docker")" "config digest after conversion"
"${SKOPEO[@]}" copy -q --src-tls-verify=false "docker://$R/fmt/app:docker" "oci:$T/sk-fmt:x" >&2 || fail "skopeo cannot pull the converted image"
push_ok "$T/out" "$T/err" --store "$S" --format oci "docker://$R/fmt/app:docker" "$R/fmt/app:oci"
assert_eq "application/vnd.oci.image.manifest.v1+json" "$(remote_raw "$R/fmt/app:oci" | jq -r .mediaType)" "media type back to OCI"
assert_eq "$(remote_raw "$R/test/app:v1" | jq -c '[.config, .layers[]] | map(.digest + " " + .mediaType)')" \
  "$(remote_raw "$R/fmt/app:oci" | jq -c '[.config, .layers[]] | map(.digest + " " + .mediaType)')" "config and layers after v2s2 -> oci"
push_ok "$T/out" "$T/err" --store "$S" --format oci "oci:$app:app" "$R/fmt/app:same"
assert_eq "$want" "$(remote_digest "$R/fmt/app:same")" "--format oci on an OCI image keeps its digest"

step "--format v2s2 refuses a lossy conversion (manifest annotations)"
cp -r "$app" "$T/annotated"
chmod -R u+w "$T/annotated"
"$PY" - "$T/annotated" <<'PYEOF'
import hashlib, json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
old = idx["manifests"][0]["digest"].split(":")[1]
m = json.load(open(os.path.join(d, "blobs", "sha256", old)))
m["annotations"] = {"org.opencontainers.image.source": "https://example.invalid/app"}
b = json.dumps(m, separators=(",", ":")).encode()
h = hashlib.sha256(b).hexdigest()
open(os.path.join(d, "blobs", "sha256", h), "wb").write(b)
idx["manifests"][0].update(digest="sha256:" + h, size=len(b))
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
PYEOF
push_fails 1 "would drop annotations" --store "$S" --format v2s2 "oci:$T/annotated:app" "$R/fmt/app:lossy"
rc=0; remote_raw "$R/fmt/app:lossy" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a refused conversion still pushed a manifest"

step "an archive whose blob does not match its name: clear error, no manifest in the registry"
cp "$T/img.tar" "$T/bad.tar"
"$PY" - "$T/bad.tar" <<'PYEOF'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = max(t.getmembers(), key=lambda x: x.size)
with open(sys.argv[1], "r+b") as f:
    f.seek(m.offset_data + m.size // 2)
    f.write(b"XXXX")
PYEOF
push_fails 1 "does not match its digest" --store "$T/fresh-bad" "oci-archive:$T/bad.tar" "$R/corrupt/app:v1"
rc=0; remote_raw "$R/corrupt/app:v1" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a corrupt archive still got its manifest pushed"

step "errors: absent image, bad usage"
push_fails 1 "not in the store" --store "$S" "$R/test/absent:v1" "$R/x/y:v1"
push_fails 2 "no source" --store "$S"
push_fails 2 "invalid --format" --store "$S" --format v3 "oci:$app:app" "$R/x/y:v1"
push_fails 1 "holds no image|is not an OCI image layout" --store "$S" "oci:$T/nowhere" "$R/x/y:v1"

if [ -x "$HOIST_BIN/hoist" ]; then
  step "hoist push (dispatcher)"
  rc=0
  timeout 120 "$HOIST_BIN/hoist" push --store "$S" "oci:$app:app" "$R/disp/app:v1" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "hoist push exited $rc"; }
  assert_eq "$R/disp/app@$want" "$(cat "$T/out")" "stdout of hoist push"
fi

step "--help shows the sources and examples"
"$HOIST_BIN/hoist-push" --help >"$T/help"
grep -q "docker-archive:FILE" "$T/help" || fail "--help does not list docker-archive:"
grep -q -- "--sync" "$T/help" || fail "--help does not mention --sync"
echo "PASS $TEST_NAME" >&2
