# shellcheck shell=bash
# Test images without docker. Source after common.sh:
#   . "$HOIST_LIB_DIR/fixtures.sh"
#
#   fixture_layout ARGS...       build (or reuse from $HOIST_TEST_CACHE) an OCI layout with
#                                lib/mkimage.py ARGS; prints its directory. See mkimage.py --help.
#   push_layout LAYOUT TAG DEST [SKOPEO_COPY_ARGS...]
#                                skopeo copy oci:LAYOUT:TAG docker://DEST (plain HTTP)
#   push_app DEST [SKOPEO_COPY_ARGS...]     the standard 3-layer image (busybox, files, random 2 MiB)
#   push_multiarch DEST [ARGS...]           an OCI index: linux/amd64, linux/arm64, linux/arm/v7
#   push_v2s2 DEST [ARGS...]                the standard image as Docker v2 schema 2
#   remote_digest REF [SKOPEO_INSPECT_ARGS...]   sha256:<hex> of the manifest bytes the registry serves
#   remote_raw REF [ARGS...]                     those bytes
#   layout_manifest_digests LAYOUT              digests of every blob of a layout, one a line, sorted
# DEST is host:port/repo:tag; pass --dest-creds U:P for an auth registry.

SKOPEO=(skopeo --insecure-policy)

fixture_layout() {
  "$PY" "$HOIST_LIB_DIR/mkimage.py" --cache "$HOIST_TEST_CACHE" "$@"
}

push_layout() {
  local layout=$1 tag=$2 dest=$3
  shift 3
  timeout 120 "${SKOPEO[@]}" copy -q --dest-tls-verify=false "$@" "oci:$layout:$tag" "docker://$dest" >&2 ||
    fail "skopeo could not push $layout:$tag to $dest"
}

# The standard image: what most tests pull.
APP_LAYERS=(--layer busybox --layer files --layer random:2M)

push_app() {
  local dest=$1 l
  shift
  l=$(fixture_layout --tag app "${APP_LAYERS[@]}")
  push_layout "$l" app "$dest" "$@"
}

push_multiarch() {
  local dest=$1 l
  shift
  l=$(fixture_layout --tag multi --platforms linux/amd64,linux/arm64,linux/arm/v7 --layer busybox --layer files:multi)
  push_layout "$l" multi "$dest" --all "$@"
}

push_v2s2() {
  local dest=$1 l
  shift
  l=$(fixture_layout --tag app "${APP_LAYERS[@]}")
  push_layout "$l" app "$dest" --format v2s2 "$@"
}

remote_raw() {
  local ref=$1
  shift
  timeout 60 "${SKOPEO[@]}" inspect --raw --tls-verify=false "$@" "docker://$ref"
}

remote_digest() {
  local ref=$1 raw
  shift
  raw=$(mktemp "$TEST_TMP/raw.XXXXXX")
  remote_raw "$ref" "$@" >"$raw" || fail "skopeo inspect --raw $ref failed"
  echo "sha256:$(sha256_of "$raw")"
}

layout_manifest_digests() {
  (cd "$1/blobs/sha256" && ls) | sort
}
