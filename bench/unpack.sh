#!/usr/bin/env bash
# Unpack benchmark: hoist-unpack against `umoci unpack` and against two floors, on the
# same OCI layouts, runs interleaved, fresh target directory each run:
#   hoist   hoist-unpack oci:LAYOUT:TAG DIR
#   umoci   umoci unpack --image LAYOUT:TAG DIR
#   tar     for each layer in order: gzip -dc LAYER | tar -xp --numeric-owner -C DIR
#           (no whiteouts, no diffID check: a floor, not a peer)
#   cp      cp -a of the finished tree (what the bytes cost with no tar or gzip at all)
# and, per image, hoist-unpack --snapshot: the first unpack (every layer made into a
# snapshot in a fresh store) and a repeated one (snapshots present: a directory, an
# overlay mount, config.json; target under 50 ms), in milliseconds, beside the cost
# of starting the binary at all (hoist-unpack --help) on this machine at this moment.
#
#   bench/unpack.sh [-b BUILD_DIR] [-n RUNS] [--no-big]
#
# Images (built once, cached in $HOIST_TEST_CACHE, default /tmp/hoist-test-cache):
#   four     4 layers, about 130 MiB unpacked: busybox, text 48 MiB, random 40 MiB, text 40 MiB
#   small    30,000 small files in 300 directories (tests/integration/unpack/mklayout.py)
#   big      one layer: a 512 MiB random file (gzip level 1)
# Prints medians of wall seconds and the ratios umoci/hoist and tar/hoist (above 1 means
# hoist is faster). Needs root (tar -p and umoci keep owners). Never fails on time.
# On an ext4 without a journal the times of "small" depend on what ran before: the
# inode allocator skips inodes freed in the last minutes (fs/ext4/ialloc.c
# recently_deleted), so after the rm -rf of the previous run's 30,000 files every
# creation scans past them (~90 us a file, in the kernel, under the parent
# directory's lock). All tools pay it; compare the ratios of one run.
set -euo pipefail
BUILD=${BUILD_DIR:-./build}
RUNS=3
DO_BIG=1
while [ $# -gt 0 ]; do
  case $1 in
    -b) BUILD=$2; shift 2 ;;
    -n) RUNS=$2; shift 2 ;;
    --no-big) DO_BIG=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/unpack.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
HOIST_BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd) || { echo "bench/unpack.sh: no $BUILD/bin (build first)" >&2; exit 1; }
[ -x "$HOIST_BIN/hoist-unpack" ] || { echo "bench/unpack.sh: $HOIST_BIN/hoist-unpack is not built" >&2; exit 1; }
export HOIST_BIN
. "$(dirname "$0")/lib.sh"
for c in umoci tar gzip jq; do
  command -v "$c" >/dev/null || { echo "bench/unpack.sh: '$c' is not installed" >&2; exit 1; }
done

step "building images (cached after the first time)"
declare -A LAYOUT TAG
images=(four small)
LAYOUT[four]=$(fixture_layout --tag four --layer busybox --layer text:48M:u1 --layer random:40M:u2 --layer text:40M:u3)
TAG[four]=four
small_dir=$HOIST_TEST_CACHE/unpack-small30k
if [ ! -f "$small_dir/index.json" ]; then
  "$PY" "$HOIST_SRC/tests/integration/unpack/mklayout.py" "$small_dir.tmp" small30k >/dev/null
  rm -rf "$small_dir" && mv "$small_dir.tmp" "$small_dir"
fi
LAYOUT[small]=$small_dir
TAG[small]=small30k
if [ "$DO_BIG" = 1 ]; then
  images+=(big)
  LAYOUT[big]=$(fixture_layout --tag big --layer random:512M:bench-big)
  TAG[big]=big
fi

W=$TEST_TMP/w
mkdir -p "$W"
clean() { rm -rf "$W/out"; sync; }

tar_floor() {  # tar_floor LAYOUT TAG DIR
  local l=$1 tag=$2 dir=$3 m d
  m=$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
    "$l/index.json")
  mkdir -p "$dir"
  for d in $(jq -r '.layers[].digest' "$l/blobs/sha256/${m#sha256:}"); do
    gzip -dc "$l/blobs/sha256/${d#sha256:}" | tar -xp --numeric-owner -C "$dir" -f -
  done
}
export -f tar_floor

printf '\n%-6s %9s %9s %9s %9s %12s %10s\n' image hoist umoci tar cp umoci/hoist tar/hoist
for img in "${images[@]}"; do
  l=${LAYOUT[$img]} t=${TAG[$img]}
  step "$img: $RUNS runs each ($(human_bytes "$(blob_total "$l")") of blobs)"
  # The finished tree for the cp floor.
  rm -rf "$W/ref" && "$HOIST_BIN/hoist-unpack" -q "oci:$l:$t" "$W/ref" >/dev/null
  declare -a th=() tu=() tt=() tc=()
  for ((i = 0; i < RUNS; i++)); do
    clean; timed r "$HOIST_BIN/hoist-unpack" -q "oci:$l:$t" "$W/out"; th+=("${r% *}")
    clean; timed r umoci unpack --image "$l:$t" "$W/out"; tu+=("${r% *}")
    clean; timed r bash -c "tar_floor '$l' '$t' '$W/out'"; tt+=("${r% *}")
    clean; timed r cp -a "$W/ref/rootfs" "$W/out"; tc+=("${r% *}")
  done
  h=$(median "${th[@]}") u=$(median "${tu[@]}") ta=$(median "${tt[@]}") c=$(median "${tc[@]}")
  printf '%-6s %8.2fs %8.2fs %8.2fs %8.2fs %11.2fx %9.2fx\n' "$img" "$h" "$u" "$ta" "$c" \
    "$(awk -v a="$u" -v b="$h" 'BEGIN { print a / b }')" "$(awk -v a="$ta" -v b="$h" 'BEGIN { print a / b }')"
done
ms_now() { date +%s%N; }
printf '\n%-6s %14s %14s %14s  (--snapshot, milliseconds; median of %d)\n' image first repeated process-start "$RUNS"
for img in "${images[@]}"; do
  l=${LAYOUT[$img]} t=${TAG[$img]}
  declare -a sf=() sr=() sh=()
  for ((i = 0; i < RUNS; i++)); do
    rm -rf "$W/snap-store"
    a=$(ms_now); "$HOIST_BIN/hoist-unpack" -q --store "$W/snap-store" --snapshot "oci:$l:$t" "$W/s1" >/dev/null
    b=$(ms_now); sf+=("$(((b - a) / 1000000))")
    a=$(ms_now); "$HOIST_BIN/hoist-unpack" -q --store "$W/snap-store" --snapshot "oci:$l:$t" "$W/s2" >/dev/null
    b=$(ms_now); sr+=("$(((b - a) / 1000000))")
    a=$(ms_now); "$HOIST_BIN/hoist-unpack" --help >/dev/null
    b=$(ms_now); sh+=("$(((b - a) / 1000000))")
    "$HOIST_BIN/hoist-unpack" --remove "$W/s1"
    "$HOIST_BIN/hoist-unpack" --remove "$W/s2"
  done
  printf '%-6s %12sms %12sms %12sms\n' "$img" "$(median "${sf[@]}")" "$(median "${sr[@]}")" "$(median "${sh[@]}")"
done
rm -rf "$W"
