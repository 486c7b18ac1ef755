#!/usr/bin/env bash
# Pull benchmark: hoist-pull against skopeo copy, on the same images from the same local
# registry, cold store each run, runs interleaved (hoist, skopeo, hoist, skopeo, ...).
#
#   bench/pull.sh [-b BUILD_DIR] [-n RUNS] [--big-mib N] [--no-big]
#
# Images (built once with tests/integration/lib/mkimage.py, cached in $HOIST_TEST_CACHE,
# default /tmp/hoist-test-cache, and pushed to a fresh docker-registry on 127.0.0.1):
#   multi  5 layers, about 100 MiB as served: busybox, random 40 MiB, text 64 MiB (gzip -6,
#          about 4.5:1), random 36 MiB, text 48 MiB
#   big    one layer: a 512 MiB random file, gzip level 1 (random data does not shrink, so
#          the blob is about 512 MiB and the decompressor sees stored deflate blocks)
# Each run: `hoist-pull --store EMPTY_DIR REF` versus
#           `skopeo copy --src-tls-verify=false docker://REF oci:EMPTY_DIR:x`,
# under `/usr/bin/time -f '%e %M'` (wall seconds, peak RSS). Prints medians and the ratio
# skopeo/hoist (above 1 means hoist is faster or smaller). Never fails on time.
# Extra hoist-pull options: HOIST_PULL_ARGS="--jobs 8".
set -euo pipefail
BUILD=${BUILD_DIR:-./build}
RUNS=5
BIG_MIB=512
DO_BIG=1
while [ $# -gt 0 ]; do
  case $1 in
    -b) BUILD=$2; shift 2 ;;
    -n) RUNS=$2; shift 2 ;;
    --big-mib) BIG_MIB=$2; shift 2 ;;
    --no-big) DO_BIG=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/pull.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
HOIST_BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd) || { echo "bench/pull.sh: no $BUILD/bin (build first)" >&2; exit 1; }
[ -x "$HOIST_BIN/hoist-pull" ] || { echo "bench/pull.sh: $HOIST_BIN/hoist-pull is not built" >&2; exit 1; }
export HOIST_BIN
. "$(dirname "$0")/lib.sh"
for c in docker-registry skopeo; do
  command -v "$c" >/dev/null || { echo "bench/pull.sh: '$c' is not installed" >&2; exit 1; }
done
read -r -a EXTRA <<<"${HOIST_PULL_ARGS:-}"

step "building images (cached after the first time)"
images=(multi)
declare -A LAYOUT
LAYOUT[multi]=$(fixture_layout --tag multi --layer busybox --layer random:40M:bench1 --layer text:64M:bench2 \
  --layer random:36M:bench3 --layer text:48M:bench4)
if [ "$DO_BIG" = 1 ]; then
  images+=(big)
  LAYOUT[big]=$(fixture_layout --tag big --layer "random:${BIG_MIB}M:bench-big")
fi

start_registry
for img in "${images[@]}"; do
  step "pushing $img ($(human_bytes "$(blob_total "${LAYOUT[$img]}")"))"
  push_layout "${LAYOUT[$img]}" "$img" "$REG_HOST/bench/$img:v1"
done

declare -A WALL RSS
for img in "${images[@]}"; do
  ref=$REG_HOST/bench/$img:v1
  hw=() hr=() sw=() sr=()
  for ((i = 1; i <= RUNS; i++)); do
    d=$(mktemp -d "$TEST_TMP/run.XXXXXX")
    timed r "$HOIST_BIN/hoist-pull" "${EXTRA[@]}" --store "$d/store" "$ref"
    hw+=("${r% *}") hr+=("${r#* }")
    rm -rf "$d"
    d=$(mktemp -d "$TEST_TMP/run.XXXXXX")
    timed r "${SKOPEO[@]}" copy -q --src-tls-verify=false "docker://$ref" "oci:$d/layout:x"
    sw+=("${r% *}") sr+=("${r#* }")
    rm -rf "$d"
    step "$img run $i/$RUNS: hoist ${hw[-1]} s ${hr[-1]} KiB, skopeo ${sw[-1]} s ${sr[-1]} KiB"
  done
  WALL[$img.hoist]=$(median "${hw[@]}") RSS[$img.hoist]=$(median "${hr[@]}")
  WALL[$img.skopeo]=$(median "${sw[@]}") RSS[$img.skopeo]=$(median "${sr[@]}")
done

echo
printf 'hoist-pull vs skopeo copy, %d cold runs each, medians (%s, %d cores)\n' "$RUNS" "$(uname -m)" "$(nproc)"
printf '%-7s %11s | %9s %9s %7s | %10s %10s %7s\n' image served "hoist s" "skopeo s" ratio "hoist RSS" "skopeo RSS" ratio
for img in "${images[@]}"; do
  awk -v img="$img" -v size="$(human_bytes "$(blob_total "${LAYOUT[$img]}")")" \
    -v hw="${WALL[$img.hoist]}" -v sw="${WALL[$img.skopeo]}" -v hr="${RSS[$img.hoist]}" -v sr="${RSS[$img.skopeo]}" \
    'BEGIN { printf "%-7s %11s | %9.2f %9.2f %6.2fx | %6.1f MiB %6.1f MiB %6.2fx\n",
             img, size, hw, sw, (hw > 0 ? sw / hw : 0), hr / 1024, sr / 1024, (hr > 0 ? sr / hr : 0) }'
done
echo "ratio = skopeo / hoist (above 1: hoist is faster / smaller)"
