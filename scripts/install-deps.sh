#!/usr/bin/env bash
# Installs every Debian package hoist needs to build, test and benchmark.
# Safe to run again; needs root (or sudo) on Debian 12.
set -euo pipefail
pkgs=(
  # build
  build-essential cmake ninja-build pkg-config git
  libcxxopts-dev nlohmann-json3-dev libfmt-dev doctest-dev
  libcurl4-openssl-dev libssl-dev libarchive-dev libzstd-dev zlib1g-dev libisal-dev
  librocksdb-dev libseccomp-dev libcap-dev
  # test peers and helpers (podman drives hoist-run in a test)
  docker-registry skopeo umoci runc buildah busybox-static apache2-utils python3 python3-jsonschema openssl curl ca-certificates
  jq file procps util-linux iproute2 zstd gzip bzip2 xz-utils tar strace
  podman conmon
  # benchmarks
  hyperfine crun time
)
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
