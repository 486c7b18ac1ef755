#!/usr/bin/env bash
# The demo: installs every Debian package hoist needs, builds hoist, starts a
# local registry (the CNCF distribution registry, Debian's docker-registry) on
# a free loopback port, puts a small busybox image in it with skopeo, and pulls
# it with hoist. Everything it makes lives in one temp dir, removed at the end
# (HOIST_DEMO_KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

echo "### installing packages and building (build/)"
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOIST_UNITY_BUILD=ON >/dev/null
ninja -C build >/dev/null
export PATH=$src/build/bin:$PATH

tmp=$(mktemp -d /tmp/hoist-demo.XXXXXX)
reg_pid=
cleanup() {
  if [ -n "$reg_pid" ]; then
    kill "$reg_pid" 2>/dev/null || true
    wait "$reg_pid" 2>/dev/null || true   # the registry's own status (143) is not the demo's
  fi
  [ -n "${HOIST_DEMO_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
cat >"$tmp/registry.yml" <<YML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $tmp/registry}, delete: {enabled: true}}
http: {addr: $reg}
YML
docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -fs "http://$reg/v2/" >/dev/null && break; sleep 0.1; done
echo "### a registry is listening on $reg"

echo "### building a 3-layer busybox image and pushing it with skopeo"
layout=$(python3 tests/integration/lib/mkimage.py --tag 1.0 --layer busybox --layer files --layer random:8M \
  --out "$tmp/image")
skopeo copy -q --dest-tls-verify=false "oci:$layout:1.0" "docker://$reg/demo/busybox:1.0"

echo "### hoist pull $reg/demo/busybox:1.0"
export HOIST_STORE=$tmp/store
pinned=$(hoist pull --progress=plain "$reg/demo/busybox:1.0")
echo "$pinned"

echo "### what was pulled (the store is an OCI layout: skopeo reads it)"
skopeo inspect "oci:$HOIST_STORE:$reg/demo/busybox:1.0" | jq '{Digest, Architecture, Os, Layers}'
ls -l "$HOIST_STORE/blobs/sha256"

echo "### pulling again fetches nothing (--json result)"
hoist pull --json "$reg/demo/busybox:1.0" | jq .

echo "### into an OCI layout and an archive, from the pinned line on stdin"
echo "$pinned" | hoist pull -q --output "oci:$tmp/layout:demo" -
echo "$pinned" | hoist pull -q --output "oci-archive:$tmp/demo.tar" -
skopeo inspect "oci:$tmp/layout:demo" | jq -r '"oci layout:  " + .Digest'
skopeo inspect "oci-archive:$tmp/demo.tar" | jq -r '"oci archive: " + .Digest'
echo "### done"
