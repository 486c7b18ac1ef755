#!/usr/bin/env bash
# Push benchmark: hoist-push against `skopeo copy oci:... docker://...` and against the
# floor, curl uploading the same blobs (POST + PUT per blob, 4 at a time like hoist's
# --jobs 4), each into a fresh, empty registry (a new docker-registry per run, so nothing
# is deduplicated or mounted), runs interleaved (hoist, skopeo, curl, hoist, ...).
# skopeo's blob-info cache is removed before each skopeo run (else it mounts).
#
#   bench/push.sh [-b BUILD_DIR] [-n RUNS] [--big-mib N] [--no-big] [--no-mirror]
#
# Images: the same as bench/pull.sh (tests/integration/lib/mkimage.py, cached):
#   multi  5 layers, about 100 MiB as served
#   big    one 512 MiB random layer
# Source for hoist and skopeo: the image's OCI layout (oci:LAYOUT:TAG); hoist runs with a
# fresh empty --store each time (no upload sessions or mount records to reuse).
# Mirror: five images (busybox + files + 16 MiB random each) from one registry to a fresh
# one: `hoist-push --sync LIST` (docker:// sources, streamed registry -> registry) against
# `skopeo copy docker://... docker://...` in a loop.
# Each run under /usr/bin/time: wall seconds, user+sys CPU seconds, peak RSS. Prints
# medians and ratios other/hoist (above 1: hoist is faster / cheaper / smaller). Never
# fails on time. Extra hoist-push options: HOIST_PUSH_ARGS="--jobs 8".
set -euo pipefail
BUILD=${BUILD_DIR:-./build}
RUNS=5
BIG_MIB=512
DO_BIG=1
DO_MIRROR=1
while [ $# -gt 0 ]; do
  case $1 in
    -b) BUILD=$2; shift 2 ;;
    -n) RUNS=$2; shift 2 ;;
    --big-mib) BIG_MIB=$2; shift 2 ;;
    --no-big) DO_BIG=0; shift ;;
    --no-mirror) DO_MIRROR=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/push.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
HOIST_BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd) || { echo "bench/push.sh: no $BUILD/bin (build first)" >&2; exit 1; }
[ -x "$HOIST_BIN/hoist-push" ] || { echo "bench/push.sh: $HOIST_BIN/hoist-push is not built" >&2; exit 1; }
export HOIST_BIN
. "$(dirname "$0")/lib.sh"
for c in docker-registry skopeo curl jq; do
  command -v "$c" >/dev/null || { echo "bench/push.sh: '$c' is not installed" >&2; exit 1; }
done
read -r -a EXTRA <<<"${HOIST_PUSH_ARGS:-}"

# timed_cpu VAR CMD...: VAR="WALL CPU RSS_KIB" (CPU = user + sys, children included).
timed_cpu() {
  local var=$1 f rc=0
  shift
  f=$(mktemp "$TEST_TMP/time.XXXXXX")
  /usr/bin/time -f '%e %U %S %M' -o "$f" "$@" >>"$BENCH_LOG" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 20 "$BENCH_LOG" >&2
    fail "'$*' exited $rc"
  fi
  printf -v "$var" '%s' "$(tail -n 1 "$f" | awk '{ printf "%s %.2f %s", $1, $2 + $3, $4 }')"
}

# fresh_registry: a new empty registry; the previous one (if any) stopped and removed.
fresh_registry() {
  if [ -n "${REG_PID:-}" ]; then
    _stop_pid "$REG_PID"
    rm -rf "$REG_DIR"
  fi
  start_registry
}

clear_skopeo_cache() {
  rm -f /var/lib/containers/cache/blob-info-cache-v1.sqlite* "$HOME"/.local/share/containers/cache/blob-info-cache-v1.sqlite* \
    "$HOME"/.cache/containers/blob-info-cache-v1.sqlite* 2>/dev/null || true
}

# The floor: curl, one POST + one streaming PUT per blob, 4 at a time, then the manifest.
CURL_PUSH=$TEST_TMP/curl_push.sh
cat >"$CURL_PUSH" <<'CURL'
set -euo pipefail
layout=$1 tag=$2 host=$3 repo=$4 dtag=$5
mdig=$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$layout/index.json")
mfile=$layout/blobs/sha256/${mdig#sha256:}
jq -r '.config.digest, .layers[].digest' "$mfile" | sort -u |
  LAYOUT=$layout HOST=$host REPO=$repo xargs -P 4 -I{} sh -c '
    d={}
    loc=$(curl -sSf -X POST -D - -o /dev/null "http://$HOST/v2/$REPO/blobs/uploads/" | tr -d "\r" | sed -n "s/^[Ll]ocation: //p")
    case $loc in /*) loc=http://$HOST$loc ;; esac
    case $loc in *\?*) sep="&" ;; *) sep="?" ;; esac
    curl -sSf -o /dev/null -T "$LAYOUT/blobs/sha256/${d#sha256:}" -H "Content-Type: application/octet-stream" "$loc${sep}digest=$d"'
mt=$(jq -r .mediaType "$mfile")
curl -sSf -o /dev/null -X PUT -H "Content-Type: $mt" --data-binary "@$mfile" "http://$host/v2/$repo/manifests/$dtag"
CURL

step "building images (cached after the first time)"
images=(multi)
declare -A LAYOUT
LAYOUT[multi]=$(fixture_layout --tag multi --layer busybox --layer random:40M:bench1 --layer text:64M:bench2 \
  --layer random:36M:bench3 --layer text:48M:bench4)
if [ "$DO_BIG" = 1 ]; then
  images+=(big)
  LAYOUT[big]=$(fixture_layout --tag big --layer "random:${BIG_MIB}M:bench-big")
fi

declare -A R
row() {  # row NAME SIZE TOOL... : medians from R[NAME.TOOL.{w,c,m}]
  local name=$1 size=$2 t
  shift 2
  for t in "$@"; do
    awk -v n="$name" -v s="$size" -v t="$t" -v w="${R[$name.$t.w]}" -v c="${R[$name.$t.c]}" -v m="${R[$name.$t.m]}" \
      -v hw="${R[$name.hoist.w]}" -v hc="${R[$name.hoist.c]}" -v hm="${R[$name.hoist.m]}" \
      'BEGIN { printf "%-7s %10s %-7s | %7.2f s %5.2fx | %6.2f s %5.2fx | %7.1f MiB %5.2fx\n", n, s, t, w, (hw > 0 ? w / hw : 0),
               c, (hc > 0 ? c / hc : 0), m / 1024, (hm > 0 ? m / hm : 0) }'
  done
}
record() {  # record NAME TOOL "w c m"...
  local name=$1 tool=$2
  shift 2
  local ws=() cs=() ms=() x
  for x in "$@"; do
    read -r a b c <<<"$x"
    ws+=("$a") cs+=("$b") ms+=("$c")
  done
  R[$name.$tool.w]=$(median "${ws[@]}") R[$name.$tool.c]=$(median "${cs[@]}") R[$name.$tool.m]=$(median "${ms[@]}")
}

for img in "${images[@]}"; do
  l=${LAYOUT[$img]}
  hs=() ss=() cs=()
  for ((i = 1; i <= RUNS; i++)); do
    fresh_registry
    d=$(mktemp -d "$TEST_TMP/run.XXXXXX")
    timed_cpu r "$HOIST_BIN/hoist-push" "${EXTRA[@]}" --store "$d/store" "oci:$l:$img" "$REG_HOST/bench/$img:v1"
    hs+=("$r")
    rm -rf "$d"
    fresh_registry
    clear_skopeo_cache
    timed_cpu r "${SKOPEO[@]}" copy -q --dest-tls-verify=false "oci:$l:$img" "docker://$REG_HOST/bench/$img:v1"
    ss+=("$r")
    fresh_registry
    timed_cpu r bash "$CURL_PUSH" "$l" "$img" "$REG_HOST" "bench/$img" v1
    cs+=("$r")
    remote_raw "$REG_HOST/bench/$img:v1" >/dev/null || fail "the curl floor did not push a readable image"
    step "$img run $i/$RUNS (wall cpu rss): hoist ${hs[-1]}, skopeo ${ss[-1]}, curl ${cs[-1]}"
  done
  record "$img" hoist "${hs[@]}"
  record "$img" skopeo "${ss[@]}"
  record "$img" curl "${cs[@]}"
done

if [ "$DO_MIRROR" = 1 ]; then
  step "mirror: five images on a source registry"
  fresh_registry
  SRC=$REG_HOST SRC_PID=$REG_PID
  REG_PID=""  # keep the source registry running; fresh_registry replaces only the destinations
  for k in 1 2 3 4 5; do
    ml=$(fixture_layout --tag m$k --layer busybox --layer "files:m$k" --layer "random:16M:mirror$k")
    push_layout "$ml" "m$k" "$SRC/mirror/img$k:v1"
  done
  hs=() ss=()
  for ((i = 1; i <= RUNS; i++)); do
    start_registry
    : >"$TEST_TMP/list"
    for k in 1 2 3 4 5; do echo "docker://$SRC/mirror/img$k:v1 $REG_HOST/mirror/img$k:v1" >>"$TEST_TMP/list"; done
    d=$(mktemp -d "$TEST_TMP/run.XXXXXX")
    timed_cpu r "$HOIST_BIN/hoist-push" "${EXTRA[@]}" --store "$d/store" --sync "$TEST_TMP/list"
    hs+=("$r")
    rm -rf "$d"
    _stop_pid "$REG_PID"; rm -rf "$REG_DIR"
    start_registry
    clear_skopeo_cache
    timed_cpu r bash -c 'for k in 1 2 3 4 5; do skopeo --insecure-policy copy -q --src-tls-verify=false --dest-tls-verify=false \
      "docker://$0/mirror/img$k:v1" "docker://$1/mirror/img$k:v1" || exit 1; done' "$SRC" "$REG_HOST"
    ss+=("$r")
    _stop_pid "$REG_PID"; rm -rf "$REG_DIR"
    step "mirror run $i/$RUNS (wall cpu rss): hoist ${hs[-1]}, skopeo ${ss[-1]}"
  done
  record mirror5 hoist "${hs[@]}"
  record mirror5 skopeo "${ss[@]}"
  REG_PID=$SRC_PID
fi

echo
printf 'hoist-push vs skopeo copy vs curl, %d runs each into empty registries, medians (%s, %d cores)\n' \
  "$RUNS" "$(uname -m)" "$(nproc)"
printf '%-7s %10s %-7s | %7s %6s | %8s %6s | %11s %6s\n' image served tool wall ratio cpu ratio "peak RSS" ratio
for img in "${images[@]}"; do
  row "$img" "$(human_bytes "$(blob_total "${LAYOUT[$img]}")")" hoist skopeo curl
done
[ "$DO_MIRROR" = 1 ] && row mirror5 "5 x ~17 MiB" hoist skopeo
echo "ratio = tool / hoist (above 1: hoist is faster / uses less CPU / less memory)"
