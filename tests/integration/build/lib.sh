# shellcheck shell=bash
# Shared by tests/integration/build_*_test.sh (source after lib/common.sh):
#   build_base              start a registry and push the busybox base: sets BASE
#   hbuild OUT ERR ARGS...  hoist-build --store $S --progress plain ARGS; returns its exit code
#   hbuild_ok OUT ERR ARGS... the same, failing the test unless it exits 0
#   bbuild TAG CTX [ARGS...] buildah bud --layers (vfs, chroot isolation) into a private root
#   bexport TAG DIR         buildah push TAG oci:DIR:TAG
#   tree_of DIR             tests/integration/unpack/tree.py --no-mtime of DIR
#   image_config STORE REF  the config of REF in the store (an OCI layout)
need_hoist build unpack
[ "$(id -u)" = 0 ] || skip "hoist-build needs root"
S=$TEST_TMP/store
BROOT=$TEST_TMP/buildah
. "$HOIST_LIB_DIR/fixtures.sh"

build_base() {
  start_registry
  local l
  l=$(fixture_layout --tag base --layer busybox)
  push_layout "$l" base "$REG_HOST/test/busybox:1"
  BASE=$REG_HOST/test/busybox:1
}

hbuild() { run_tool build "$1" "$2" --store "$S" --progress plain "${@:3}"; }
hbuild_ok() { tool_ok build "$1" "$2" --store "$S" --progress plain "${@:3}"; }

bbuild() {
  local tag=$1 ctx=$2
  shift 2
  timeout 300 buildah --root "$BROOT/root" --runroot "$BROOT/run" --storage-driver vfs bud --layers \
    --isolation chroot --tls-verify=false -t "$tag" "$@" "$ctx" >"$TEST_TMP/buildah.log" 2>&1 ||
    { tail -n 30 "$TEST_TMP/buildah.log" >&2; fail "buildah bud $ctx failed"; }
}
on_exit "umount -R '$BROOT/root' 2>/dev/null; true"

bexport() {
  timeout 120 buildah --root "$BROOT/root" --runroot "$BROOT/run" --storage-driver vfs push "$1" "oci:$2:$1" \
    >"$TEST_TMP/buildah-push.log" 2>&1 || { cat "$TEST_TMP/buildah-push.log" >&2; fail "buildah push $1 failed"; }
}

tree_of() { "$PY" "$HOIST_SRC/tests/integration/unpack/tree.py" --no-mtime "$1"; }

# The config blob itself, found through the layout's index.json and the manifest
# (skopeo's oci: transport refuses Docker media types).
image_config() {
  local m c
  m=$(jq -r --arg n "$2" '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n)][0].digest' "$1/index.json")
  [ "$m" != null ] || fail "no ref '$2' in $1/index.json"
  c=$(jq -r .config.digest "$1/blobs/sha256/${m#sha256:}")
  cat "$1/blobs/sha256/${c#sha256:}"
}
