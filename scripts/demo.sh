#!/usr/bin/env bash
# The demo: installs every Debian package hoist needs, builds hoist, starts a
# local registry (the CNCF distribution registry, Debian's docker-registry) on
# a free loopback port, puts a busybox base image in it with skopeo, and runs
# hoist's whole pipeline against it:
#   hoist build --push  (a Dockerfile on that base -> an image in the registry)
#   hoist pull          (into an empty store: verified, resumable)
#   hoist unpack        (-> an OCI runtime bundle)
#   hoist run           (the image's CMD, in its own namespaces)
# then pulls into an OCI layout and an archive that skopeo reads. Everything it
# makes lives in one temp dir, removed at the end (HOIST_DEMO_KEEP=1 keeps it).
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
end=$((SECONDS + 60))
until curl -fs "http://$reg/v2/" >/dev/null; do
  kill -0 "$reg_pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ] || { cat "$tmp/registry.log" >&2; echo "demo: the registry did not start" >&2; exit 1; }
  sleep 0.1
done
echo "### a registry is listening on $reg"

echo "### a busybox base image, pushed with skopeo"
layout=$(python3 tests/integration/lib/mkimage.py --tag 1.0 --layer busybox --out "$tmp/base")
skopeo copy -q --dest-tls-verify=false "oci:$layout:1.0" "docker://$reg/demo/busybox:1.0"

echo "### hoist build --push: a Dockerfile on that base"
mkdir -p "$tmp/ctx"
cat >"$tmp/ctx/Dockerfile" <<DOCKERFILE
FROM $reg/demo/busybox:1.0
RUN mkdir -p /srv && echo "built by hoist" > /srv/motd
COPY hello.sh /usr/local/bin/hello
ENV GREETING=hello
CMD ["/usr/local/bin/hello"]
DOCKERFILE
printf '#!/bin/sh\necho "$GREETING from $(hostname): $(cat /srv/motd)"\n' >"$tmp/ctx/hello.sh"
chmod 755 "$tmp/ctx/hello.sh"
export HOIST_STORE=$tmp/build-store
built=$(hoist build --progress=plain -t "$reg/demo/hello:1" --push "$tmp/ctx")
echo "$built"

echo "### hoist pull, into an empty store"
export HOIST_STORE=$tmp/store
pinned=$(hoist pull --progress=plain "$reg/demo/hello:1")
echo "$pinned"
[ "$pinned" = "$built" ] || { echo "demo: pulled $pinned, built $built" >&2; exit 1; }

echo "### hoist unpack, then hoist run"
bundle=$(echo "$pinned" | hoist unpack -q --hostname demo - "$tmp/bundle")
hoist run --root "$tmp/run-state" run -b "$bundle" demo-hello

echo "### what was pulled (the store is an OCI layout: skopeo reads it)"
skopeo inspect "oci:$HOIST_STORE:$reg/demo/hello:1" | jq '{Digest, Architecture, Os, Env, Layers}'

echo "### pulling again fetches nothing (--json result)"
hoist pull --json "$reg/demo/hello:1" | jq .

echo "### into an OCI layout and an archive, from the pinned line on stdin"
echo "$pinned" | hoist pull -q --output "oci:$tmp/layout:demo" -
echo "$pinned" | hoist pull -q --output "oci-archive:$tmp/demo.tar" -
skopeo inspect "oci:$tmp/layout:demo" | jq -r '"oci layout:  " + .Digest'
skopeo inspect "oci-archive:$tmp/demo.tar" | jq -r '"oci archive: " + .Digest'
echo "### done"
