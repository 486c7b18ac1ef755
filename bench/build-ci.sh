#!/usr/bin/env bash
# CI benchmark: two "runners" (two empty stores) and one local registry.
# Runner A builds and pushes with --cache-to; runner B builds and pushes the
# same commit with --cache-from (its store empty), then one source file
# changes and B builds and pushes again (buildah: bud, then push; both timed). Side by side with `buildah bud --layers --cache-to/--cache-from`
# (overlay driver, chroot isolation) on the same registry, rounds taking turns.
# The image is bench/build.sh's (busybox base, three RUN steps, a 50 MB COPY)
# with a fourth RUN after the COPY standing for a compile (about a second of
# CPU: what a CI build's cache saves is work of that kind).
# Then hoist-build's cold build (no registry cache) as an ordinary user (a
# user this script creates and removes; /etc/subuid ranges through
# newuidmap) against root's.
#
#   bench/build-ci.sh [-b BUILD_DIR] [-n RUNS]
#
# Prints medians of wall seconds per phase:
#   cold       runner A: empty store, no cache: every step runs (and --cache-to)
#   warm       runner B: empty store, --cache-from, same commit: no step runs
#   changed    runner B again, one context file changed
# the ratios (targets: hoist warm <= 1/5 of hoist cold, and <= 1/2 of buildah's
# warm; unprivileged cold <= 1.3x root cold) and the registry bytes each runner
# pulled in each phase (counted by a proxy in front of the registry, in a run of
# their own: the timed runs talk to the registry directly). Needs root. Never
# fails on time; fails only when a build fails.
set -euo pipefail
BUILD=${BUILD_DIR:-./build}
RUNS=3
while [ $# -gt 0 ]; do
  case $1 in
    -b) BUILD=$2; shift 2 ;;
    -n) RUNS=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/build-ci.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
HOIST_BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd) || { echo "bench/build-ci.sh: no $BUILD/bin (build first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/build-ci.sh: needs root (buildah's overlay driver, the test user)" >&2; exit 1; }
export HOIST_BIN
. "$(dirname "$0")/lib.sh"
for c in buildah docker-registry python3 jq setpriv useradd newuidmap; do
  command -v "$c" >/dev/null || { echo "bench/build-ci.sh: '$c' is not installed" >&2; exit 1; }
done

step "a registry with the busybox base, a proxy counting bytes, and the context"
start_registry
push_layout "$(fixture_layout --tag base --layer busybox)" base "$REG_HOST/bench/busybox:1"
start_fault_proxy "$REG_URL"
W=$TEST_TMP/w
C=$W/ctx
mkdir -p "$C/data/text"
chmod 755 "$TEST_TMP" "$W"
head -c 20M /dev/urandom >"$C/data/blob.bin"
"$PY" - "$C/data/text" <<'PYGEN'
import os, sys
words = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n"
for i in range(300):
    with open(os.path.join(sys.argv[1], "f%03d.txt" % i), "wb") as f:
        f.write((b"%d " % i + words) * (102400 // (len(words) + 4)))
PYGEN
dockerfile() {  # dockerfile REGISTRY_HOST
  cat <<DF
FROM $1/bench/busybox:1
RUN mkdir -p /opt/app && busybox seq 1 20000 > /opt/app/seq
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && mkdir -p /home/app && chown 1000:1000 /home/app && echo built > /opt/app/stamp
COPY data/ /opt/app/data/
RUN busybox find /opt/app/data -type f | busybox wc -l > /opt/app/count
RUN busybox seq 1 3000000 | busybox md5sum > /opt/app/checksum
DF
}
dockerfile "$REG_HOST" >"$C/Dockerfile"
dockerfile "$PROXY_HOST" >"$C/Dockerfile.proxy"
chmod -R a+rX "$C"

U=hbench$$
useradd -M -d "$W/home" -s /bin/sh "$U"
on_exit "userdel $U 2>/dev/null; true"
grep -q "^$U:" /etc/subuid || usermod --add-subuids 300000-365535 --add-subgids 300000-365535 "$U"
mkdir -p "$W/home"
chown "$U:" "$W/home"

# build TOOL PHASE ROUND HOST: one build; the registry is HOST (direct or the proxy).
build() {
  local t=$1 p=$2 i=$3 host=$4 df=$C/Dockerfile store
  [ "$host" = "$REG_HOST" ] || df=$C/Dockerfile.proxy
  local cache=$host/cache/$t-$i app=$host/app/$t-$i
  case $t in
    hoist)
      store=$W/hoist-$p-$i
      [ "$p" = changed ] && store=$W/hoist-warm-$i
      local args=(-q --progress plain --store "$store" -f "$df")
      if [ "$p" = plain ]; then args+=(-t bench/app:1)
      elif [ "$p" = cold ]; then args+=(--cache-to "$cache" -t "$app:a" --push)
      else args+=(--cache-from "$cache" -t "$app:b" --push); fi
      timed r "$HOIST_BIN/hoist-build" "${args[@]}" "$C" ;;
    rootless)
      local home=$W/home/$p-$i
      setpriv --reuid="$U" --regid="$U" --init-groups mkdir -p "$home"
      timed r setpriv --reuid="$U" --regid="$U" --init-groups env -u HOIST_STORE HOME="$home" \
        "$HOIST_BIN/hoist-build" -q --progress plain -f "$df" -t "bench/app:1" "$C" ;;
    buildah)
      store=$W/buildah-$p-$i
      [ "$p" = changed ] && store=$W/buildah-warm-$i
      local args=(--root "$store/root" --runroot "$store/run" --storage-driver overlay bud --layers
        --isolation chroot --tls-verify=false -q -f "$df")
      if [ "$p" = cold ]; then args+=(--cache-to "$cache" -t "$app:a"); else args+=(--cache-from "$cache" -t "$app:b"); fi
      timed r buildah "${args[@]}" "$C"
      local tag=$app:b
      [ "$p" != cold ] || tag=$app:a
      timed r2 buildah --root "$store/root" --runroot "$store/run" --storage-driver overlay \
        push --tls-verify=false -q "$tag" "docker://$tag"
      r="$(awk -v a="${r% *}" -v b="${r2% *}" 'BEGIN { print a + b }') ${r#* }" ;;
  esac
}
drop() {
  for d in "$@"; do
    [ -d "$d" ] || continue
    findmnt -rn -o TARGET | grep "^$d/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$d"
  done
}
on_exit "for d in $W/*; do findmnt -rn -o TARGET | grep \"^\$d/\" | sort -r | xargs -r -n1 umount -l; done 2>/dev/null; true"

# The registry bytes of GET blob requests the proxy answered since mark $1.
pulled_since() { proxy_log "$1" | jq -s '[.[] | select(.method == "GET" and (.path | test("/blobs/sha256:"))) | .bytes] | add // 0'; }

declare -A T BYTES
phases=(cold warm changed)
for ((i = 0; i < RUNS + 1; i++)); do
  # Round 0 goes through the proxy, counting bytes; the others are timed.
  host=$REG_HOST
  [ "$i" = 0 ] && host=$PROXY_HOST
  step "round $i of $RUNS${host:+ ($([ "$i" = 0 ] && echo 'bytes, through the proxy' || echo timed))}"
  echo "version $i" >"$C/data/app.conf"
  for p in "${phases[@]}"; do
    [ "$p" != changed ] || echo "version $i changed" >"$C/data/app.conf"
    for t in hoist buildah; do
      mark=$(proxy_mark)
      build "$t" "$p" "$i" "$host"
      if [ "$i" = 0 ]; then BYTES[$p.$t]=$(pulled_since "$mark"); else T[$p.$t]+="${r% *} "; fi
    done
  done
  if [ "$i" != 0 ]; then
    build hoist plain "$i" "$REG_HOST"
    T[rootcold.hoist]+="${r% *} "
    build rootless cold "$i" "$REG_HOST"
    T[rootcold.rootless]+="${r% *} "
  fi
  drop "$W"/hoist-* "$W"/buildah-*
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '\n%-8s %9s %9s %14s %14s %14s\n' phase hoist buildah buildah/hoist "hoist pulled" "buildah pulled"
for p in "${phases[@]}"; do
  # shellcheck disable=SC2086
  h=$(median ${T[$p.hoist]}) b=$(median ${T[$p.buildah]})
  printf '%-8s %8.2fs %8.2fs %14s %14s %14s\n' "$p" "$h" "$b" "$(ratio "$b" "$h")x" \
    "$(human_bytes "${BYTES[$p.hoist]}")" "$(human_bytes "${BYTES[$p.buildah]}")"
done
# shellcheck disable=SC2086
hc=$(median ${T[cold.hoist]}) hw=$(median ${T[warm.hoist]}) bw=$(median ${T[warm.buildah]})
# shellcheck disable=SC2086
rc=$(median ${T[rootcold.hoist]}) uc=$(median ${T[rootcold.rootless]})
printf '\nhoist warm / hoist cold      %s (target <= 0.20)\n' "$(ratio "$hw" "$hc")"
printf 'hoist warm / buildah warm    %s (target <= 0.50)\n' "$(ratio "$hw" "$bw")"
printf 'unprivileged cold / root cold %s (%.2fs / %.2fs; target <= 1.30)\n' "$(ratio "$uc" "$rc")" "$uc" "$rc"
