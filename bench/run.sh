#!/usr/bin/env bash
# Start-to-exit latency of /bin/true in one busybox bundle: hoist-run, runc,
# crun, and the floor (unshare + chroot, no runtime). Median of N runs each;
# ratios against hoist-run. Not a test: it never fails on time.
#   bench/run.sh [N]    (HOIST_BIN=<build>/bin, default build/bin)
set -euo pipefail
N=${1:-200}
src=$(cd "$(dirname "$0")/.." && pwd)
HR=${HOIST_BIN:-$src/build/bin}/hoist-run
[ "$(id -u)" = 0 ] || { echo "bench/run.sh needs root" >&2; exit 1; }
[ -x "$HR" ] || { echo "no hoist-run at $HR (set HOIST_BIN)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/hoist-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

B=$TMP/bundle
mkdir -p "$B"/rootfs/{bin,usr/bin,proc,sys,dev,tmp}
cp /bin/busybox "$B/rootfs/usr/bin/busybox"
/bin/busybox --install -s "$B/rootfs/bin"
(cd "$B" && "$HR" spec)
jq '.process.terminal = false | .process.args = ["/bin/true"]' "$B/config.json" >"$B/c" && mv "$B/c" "$B/config.json"

# median_ms NAME CMD...: runs CMD N times, prints the median wall time in ms.
median_ms() {
  local name=$1; shift
  local i t0 t1
  : >"$TMP/$name.times"
  for ((i = 0; i < N; i++)); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "$name: run failed: $*" >&2; return 1; }
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 )) >>"$TMP/$name.times"
  done
  sort -n "$TMP/$name.times" | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.2f\n", m / 1000}'
}

declare -A result
id=0
hoist_once() { id=$((id + 1)); "$HR" --root "$TMP/hr" run -b "$B" "b$id"; }
result[hoist-run]=$(median_ms hoist-run hoist_once)
if command -v runc >/dev/null; then
  runc_once() { id=$((id + 1)); runc --root "$TMP/runc" run -b "$B" "b$id"; }
  result[runc]=$(median_ms runc runc_once) || unset 'result[runc]'
fi
if command -v crun >/dev/null; then
  # crun cannot use this machine's hybrid cgroups with the empty v2 tree
  # mounted: run it in a private mount namespace without that mount.
  cat >"$TMP/crun-loop.sh" <<LOOP
set -e
umount /sys/fs/cgroup/unified 2>/dev/null || true
for ((i = 0; i < $N; i++)); do
  t0=\$(date +%s%N)
  crun --root "$TMP/crun" run -b "$B" "c\$i" >/dev/null 2>&1
  t1=\$(date +%s%N)
  echo \$(( (t1 - t0) / 1000 ))
done
LOOP
  if unshare -m bash "$TMP/crun-loop.sh" >"$TMP/crun.times" 2>/dev/null; then
    result[crun]=$(sort -n "$TMP/crun.times" | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.2f\n", m / 1000}')
  fi
fi
floor_once() { unshare -m -p -u -i -n --fork chroot "$B/rootfs" /bin/true; }
result[floor]=$(median_ms floor floor_once)

printf '%-10s %10s %8s\n' runtime "median ms" "÷hoist"
for r in hoist-run runc crun floor; do
  [ -n "${result[$r]:-}" ] || { printf '%-10s %10s\n' "$r" "n/a"; continue; }
  printf '%-10s %10s %8.2f\n' "$r" "${result[$r]}" "$(awk -v a="${result[$r]}" -v b="${result[hoist-run]}" 'BEGIN {print a / b}')"
done
echo "(N=$N runs each; /bin/true in the same busybox bundle; ratio > 1 means slower than hoist-run)"
