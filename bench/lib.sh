# shellcheck shell=bash
# Shared by bench/*.sh: the integration-test harness (registry, fixtures, cleanup; see
# tests/integration/lib/common.sh) plus timing helpers. Set HOIST_BIN before sourcing.
#
#   timed VAR CMD...     run CMD (output to $BENCH_LOG); VAR="WALL_SECONDS PEAK_RSS_KIB";
#                        fails the benchmark if CMD fails
#   median N...          the median of the numbers
#   human_bytes N        1.5 GiB, 12.0 MiB, ...
#   blob_total LAYOUT    bytes of every blob an OCI layout holds (what a pull transfers)
# Benchmarks never fail on time; they fail only when a tool fails.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/lib/common.sh
. "$BENCH_DIR/../tests/integration/lib/common.sh"
# shellcheck source=../tests/integration/lib/fixtures.sh
. "$HOIST_LIB_DIR/fixtures.sh"

BENCH_LOG=$TEST_TMP/bench.log
: >"$BENCH_LOG"

if [ ! -x /usr/bin/time ]; then
  echo "bench: /usr/bin/time is missing: apt-get install time" >&2
  exit 1
fi

timed() {
  local var=$1 f rc=0
  shift
  f=$(mktemp "$TEST_TMP/time.XXXXXX")
  /usr/bin/time -f '%e %M' -o "$f" "$@" >>"$BENCH_LOG" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 20 "$BENCH_LOG" >&2
    fail "'$*' exited $rc"
  fi
  printf -v "$var" '%s' "$(tail -n 1 "$f")"
}

median() {
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

human_bytes() {
  awk -v b="$1" 'BEGIN { split("B KiB MiB GiB TiB", u); i = 1; while (b >= 1024 && i < 5) { b /= 1024; i++ } printf "%.1f %s", b, u[i] }'
}

blob_total() {
  find "$1/blobs" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}
