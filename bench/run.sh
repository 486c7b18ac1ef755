#!/usr/bin/env bash
# Start-to-exit latency of /bin/true in one busybox bundle: hoist-run, runc,
# crun, and the floor (unshare + chroot, no runtime). Median of N runs each;
# ratios against hoist-run. Not a test: it never fails on time.
#   bench/run.sh [N]    (HOIST_BIN=<build>/bin, default build/bin)
#
# The runtimes take turns within each round (the order rotates), so that a
# change in the machine's load (other builds) weighs on all of them alike.
# Everything runs in one private mount namespace without the empty cgroup v2
# tree of this hybrid machine, which crun cannot use: all three runtimes then
# join the same v1 hierarchies.
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

runtimes=(hoist-run)
command -v runc >/dev/null && runtimes+=(runc)
command -v crun >/dev/null && runtimes+=(crun)
runtimes+=(floor)

cat >"$TMP/loop.sh" <<'LOOP'
set -eu
TMP=$1 HR=$2 N=$3; shift 3
B=$TMP/bundle
umount /sys/fs/cgroup/unified 2>/dev/null || true
once() {
  case $1 in
    hoist-run) "$HR" --root "$TMP/hr" run -b "$B" "b$2" ;;
    runc) runc --root "$TMP/runc" run -b "$B" "b$2" ;;
    crun) crun --root "$TMP/crun" run -b "$B" "b$2" ;;
    floor) unshare -m -p -u -i -n --fork chroot "$B/rootfs" /bin/true ;;
  esac
}
rts=("$@")
for ((i = 0; i < N; i++)); do
  for ((k = 0; k < ${#rts[@]}; k++)); do
    r=${rts[$(( (i + k) % ${#rts[@]} ))]}
    t0=$(date +%s%N)
    once "$r" "$i" >/dev/null 2>&1 || { echo "$r: run $i failed" >&2; exit 1; }
    t1=$(date +%s%N)
    echo "$r $(( (t1 - t0) / 1000 ))"
  done
done
LOOP
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
unshare -m bash "$TMP/loop.sh" "$TMP" "$HR" "$N" "${runtimes[@]}" >"$TMP/times"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

median_ms() {
  awk -v r="$1" '$1 == r {print $2}' "$TMP/times" | sort -n |
    awk '{a[NR]=$1} END {if (!NR) exit 1; m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.2f\n", m / 1000}'
}
declare -A result
for r in "${runtimes[@]}"; do result[$r]=$(median_ms "$r"); done
printf '%-10s %10s %8s\n' runtime "median ms" "÷hoist"
for r in hoist-run runc crun floor; do
  [ -n "${result[$r]:-}" ] || { printf '%-10s %10s\n' "$r" "n/a"; continue; }
  printf '%-10s %10s %8.2f\n' "$r" "${result[$r]}" "$(awk -v a="${result[$r]}" -v b="${result[hoist-run]}" 'BEGIN {print a / b}')"
done
echo "(N=$N rounds, runtimes in turn; /bin/true in the same busybox bundle; ratio > 1 means slower than hoist-run;"
echo " load average $load_before before, $load_after after)"
