#!/usr/bin/env bash
# Build benchmark: hoist-build against `buildah bud --layers` (isolation chroot) with
# its vfs and overlay storage drivers, on the same Dockerfile and context, runs taking
# turns. The image: the test registry's busybox base, three RUN steps and a COPY of
# about 50 MB (a 20 MiB random file and 300 text files of 100 KiB). Three phases,
# each tool in its own store:
#   cold      empty store: the base is pulled from the local registry, every step runs
#   cached    the same context again: every step is a cache hit
#   changed   one context file changed: the COPY that reads it and the RUN after it run
#
#   bench/build.sh [-b BUILD_DIR] [-n RUNS]
#
# Prints medians of wall seconds, the ratios buildah/hoist (above 1 means hoist is
# faster; the targets are cold >= 2, cached >= 5, changed >= 3) and the peak RSS
# of each tool in each phase (the largest of the runs). Needs root. Never fails on
# time; fails only when a build fails.
set -euo pipefail
BUILD=${BUILD_DIR:-./build}
RUNS=3
while [ $# -gt 0 ]; do
  case $1 in
    -b) BUILD=$2; shift 2 ;;
    -n) RUNS=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
HOIST_BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd) || { echo "bench/build.sh: no $BUILD/bin (build first)" >&2; exit 1; }
[ -x "$HOIST_BIN/hoist-build" ] || { echo "bench/build.sh: $HOIST_BIN/hoist-build is not built" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/build.sh: needs root (hoist-build and buildah's overlay driver)" >&2; exit 1; }
export HOIST_BIN
. "$(dirname "$0")/lib.sh"
for c in buildah docker-registry python3; do
  command -v "$c" >/dev/null || { echo "bench/build.sh: '$c' is not installed" >&2; exit 1; }
done

step "a registry with the busybox base, and the context"
start_registry
push_layout "$(fixture_layout --tag base --layer busybox)" base "$REG_HOST/bench/busybox:1"
W=$TEST_TMP/w
C=$W/ctx
mkdir -p "$C/data/text"
head -c 20M /dev/urandom >"$C/data/blob.bin"
"$PY" - "$C/data/text" <<'PYGEN'
import os, sys
words = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n"
for i in range(300):
    with open(os.path.join(sys.argv[1], "f%03d.txt" % i), "wb") as f:
        f.write((b"%d " % i + words) * (102400 // (len(words) + 4)))
PYGEN
echo "version 0" >"$C/data/app.conf"
cat >"$C/Dockerfile" <<DF
FROM $REG_HOST/bench/busybox:1
RUN mkdir -p /opt/app && busybox seq 1 20000 > /opt/app/seq
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && mkdir -p /home/app && chown 1000:1000 /home/app && echo built > /opt/app/stamp
COPY data/ /opt/app/data/
RUN busybox find /opt/app/data -type f | busybox wc -l > /opt/app/count
DF

tools=(hoist vfs overlay)
build_with() {  # build_with TOOL ROUND
  local t=$1 i=$2
  case $t in
    hoist)
      timed r "$HOIST_BIN/hoist-build" -q --progress plain --store "$W/hoist-$i" -t bench/app:1 "$C" ;;
    *)
      timed r buildah --root "$W/$t-$i/root" --runroot "$W/$t-$i/run" --storage-driver "$t" bud --layers \
        --isolation chroot --tls-verify=false -q -t bench/app:1 "$C" ;;
  esac
}
drop() {  # drop TOOL ROUND: the store of that round, mounts first
  local d=$W/$1-$2
  if [ -d "$d" ]; then
    findmnt -rn -o TARGET | grep "^$d/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$d"
  fi
}
on_exit "for d in $W/*; do findmnt -rn -o TARGET | grep \"^\$d/\" | sort -r | xargs -r -n1 umount -l; done 2>/dev/null; true"

declare -A T RSS
phases=(cold cached changed)
for ((i = 0; i < RUNS; i++)); do
  step "round $((i + 1)) of $RUNS"
  echo "version $i" >"$C/data/app.conf"
  for p in "${phases[@]}"; do
    [ "$p" != changed ] || echo "version $i changed" >"$C/data/app.conf"
    for t in "${tools[@]}"; do
      [ "$p" != cold ] || drop "$t" "$i"
      sync
      build_with "$t" "$i"
      T[$p.$t]+="${r% *} "
      m=$(( ${r#* } / 1024 ))
      [ "${RSS[$p.$t]:-0}" -ge "$m" ] || RSS[$p.$t]=$m
    done
  done
  for t in "${tools[@]}"; do drop "$t" "$i"; done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
printf '\n%-8s %9s %12s %12s %11s %11s   %s\n' phase hoist buildah-vfs buildah-ovl vfs/hoist ovl/hoist \
  "peak RSS MiB (hoist vfs overlay)"
for p in "${phases[@]}"; do
  # shellcheck disable=SC2086
  h=$(median ${T[$p.hoist]}) v=$(median ${T[$p.vfs]}) o=$(median ${T[$p.overlay]})
  printf '%-8s %8.2fs %11.2fs %11.2fs %11s %11s   %s %s %s\n' "$p" "$h" "$v" "$o" "$(ratio "$v" "$h")" \
    "$(ratio "$o" "$h")" "${RSS[$p.hoist]}" "${RSS[$p.vfs]}" "${RSS[$p.overlay]}"
done
