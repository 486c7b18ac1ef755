#!/usr/bin/env bash
# hoist-pull and image indexes: the host's platform by default, --platform (with variant),
# an unknown platform, --all-platforms, and a Docker v2 schema 2 image kept byte for byte.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull
need_cmd docker-registry skopeo jq
. "$HOIST_LIB_DIR/fixtures.sh"

T=$TEST_TMP
start_registry
R=$REG_HOST
push_multiarch "$R/test/multi:v1"
push_v2s2 "$R/test/v2:v1"
index=$(remote_digest "$R/test/multi:v1")
remote_raw "$R/test/multi:v1" >"$T/index.json"
child() { # child OS ARCH [VARIANT]: digest of that platform's manifest in the index
  jq -r --arg os "$1" --arg arch "$2" --arg v "${3:-}" \
    '.manifests[] | select(.platform.os == $os and .platform.architecture == $arch and ((.platform.variant // "") == $v)) | .digest' \
    "$T/index.json"
}
amd64=$(child linux amd64)
arm64=$(child linux arm64)
armv7=$(child linux arm v7)
if [ -z "$amd64" ] || [ -z "$arm64" ] || [ -z "$armv7" ]; then fail "fixture index lacks a platform"; fi

# blobs_of STORE MANIFEST_DIGEST: the manifest's config and layers are all in STORE.
blobs_of() {
  local s=$1 m=${2#sha256:} d
  assert_file "$s/blobs/sha256/$m" "manifest blob"
  for d in $(jq -r '.config.digest, .layers[].digest' "$s/blobs/sha256/$m"); do
    assert_file "$s/blobs/sha256/${d#sha256:}" "blob of manifest $m"
  done
}

host_arch=
case $(uname -m) in
  x86_64) host_arch=amd64 ;;
  aarch64) host_arch=arm64 ;;
esac

if [ -n "$host_arch" ]; then
  step "default platform is the host's (linux/$host_arch)"
  pick=$amd64
  [ "$host_arch" = arm64 ] && pick=$arm64
  pull_ok "$T/out" "$T/err" --store "$T/store-default" "$R/test/multi:v1"
  assert_eq "$R/test/multi@$pick" "$(cat "$T/out")" "stdout for the default platform"
  blobs_of "$T/store-default" "$pick"
  assert_eq "$pick" "$(store_ref_digest "$T/store-default" "$R/test/multi:v1")" "index.json entry"
  store_check "$T/store-default"
fi

step "--platform linux/arm64"
pull_ok "$T/out" "$T/err" --store "$T/store-arm64" --platform linux/arm64 "$R/test/multi:v1"
assert_eq "$R/test/multi@$arm64" "$(cat "$T/out")" "stdout for linux/arm64"
blobs_of "$T/store-arm64" "$arm64"
amd64_config=$(remote_raw "$R/test/multi@$amd64" | jq -r .config.digest)
assert_no_file "$T/store-arm64/blobs/sha256/${amd64_config#sha256:}" "amd64 config in an arm64 pull"
store_check "$T/store-arm64"

step "--platform linux/arm/v7"
pull_ok "$T/out" "$T/err" --store "$T/store-armv7" --platform linux/arm/v7 "$R/test/multi:v1"
assert_eq "$R/test/multi@$armv7" "$(cat "$T/out")" "stdout for linux/arm/v7"
blobs_of "$T/store-armv7" "$armv7"

step "--platform linux/s390x: not in the index"
pull_fails "$T/out" "$T/err" --store "$T/store-none" --platform linux/s390x "$R/test/multi:v1"
grep -q s390x "$T/err" || fail "error does not name the platform: $(cat "$T/err")"
assert_eq "" "$(cat "$T/out")" "stdout on failure"

step "--all-platforms"
pull_ok "$T/out" "$T/err" --store "$T/store-all" --all-platforms "$R/test/multi:v1"
assert_eq "$R/test/multi@$index" "$(cat "$T/out")" "stdout for --all-platforms"
cmp -s "$T/index.json" "$T/store-all/blobs/sha256/${index#sha256:}" || fail "stored index differs from the registry's"
for m in "$amd64" "$arm64" "$armv7"; do blobs_of "$T/store-all" "$m"; done
assert_eq "$index" "$(store_ref_digest "$T/store-all" "$R/test/multi:v1")" "index.json entry for --all-platforms"
store_check "$T/store-all"

step "Docker v2 schema 2 image: digest and bytes unchanged"
v2=$(remote_digest "$R/test/v2:v1")
remote_raw "$R/test/v2:v1" >"$T/v2.json"
assert_eq application/vnd.docker.distribution.manifest.v2+json "$(jq -r .mediaType "$T/v2.json")" "fixture media type"
pull_ok "$T/out" "$T/err" --store "$T/store-v2" "$R/test/v2:v1"
assert_eq "$R/test/v2@$v2" "$(cat "$T/out")" "stdout for the v2s2 image"
cmp -s "$T/v2.json" "$T/store-v2/blobs/sha256/${v2#sha256:}" || fail "stored v2s2 manifest differs from the registry's"
blobs_of "$T/store-v2" "$v2"
store_check "$T/store-v2"

step ok
