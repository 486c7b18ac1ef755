# Sourced by tests/integration/run_*_test.sh: bundles around busybox-static in a
# temp dir, a private state root, and cleanup of every container on exit.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "skip: hoist-run tests need root"; exit 77; fi
for t in /bin/busybox jq; do
  command -v "$t" >/dev/null || { echo "skip: $t is not installed"; exit 77; }
done
# hoist-run's real callers (conmon, containerd-shim) are child subreapers:
# what create and exec -d leave behind becomes theirs and they reap it. This
# machine's pid 1 reaps no orphan, and a pid-namespace init that is killed
# waits for its namespace's zombies to be reaped: play the caller's part.
if [ -z "${HOIST_RUN_TEST_SUBREAPER:-}" ]; then
  command -v python3 >/dev/null || { echo "skip: python3 is not installed"; exit 77; }
  HOIST_RUN_TEST_SUBREAPER=1 exec python3 -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER, kept across execve
os.execvp("bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi
HR=${HOIST_BIN:?HOIST_BIN must name the build bin directory}/hoist-run
[ -x "$HR" ] || { echo "FAIL: $HR is missing"; exit 1; }
TMP=$(mktemp -d /tmp/hoist-run-test.XXXXXX)
ROOT=$TMP/state

hr() { "$HR" --root "$ROOT" "$@"; }

cleanup() {
  local id m
  for id in $("$HR" --root "$ROOT" list -q 2>/dev/null); do "$HR" --root "$ROOT" delete -f "$id" || true; done
  # Mounts a test made on the host under $TMP (deepest first).
  for m in $(awk -v t="$TMP/" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m" || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }
expect_contains() { case "$1" in *"$2"*) ;; *) fail "$3: '$2' not in: $1" ;; esac; }
# wait_until COND: evaluates the shell condition COND until it holds, for up to
# $HOIST_WAIT_S seconds (60: a loaded 2-core CI machine); returns 1 if it never does.
# Waiting for the event itself, never for a fixed time.
wait_until() {
  local end=$((SECONDS + ${HOIST_WAIT_S:-60}))
  until eval "$1"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.05
  done
}
expect_not_contains() { case "$1" in *"$2"*) fail "$3: '$2' found in: $1" ;; *) ;; esac; }

# make_bundle DIR CMD...: rootfs with busybox and its applets, runc's default
# spec (hoist-run spec), no terminal, process args = CMD.
make_bundle() {
  local dir=$1; shift
  mkdir -p "$dir"/rootfs/{bin,usr/bin,proc,sys,dev,tmp,etc}
  cp /bin/busybox "$dir/rootfs/usr/bin/busybox"
  # --install links every applet to busybox's own path (/usr/bin/busybox on a
  # merged-/usr Debian), which is where it is inside the container too.
  /bin/busybox --install -s "$dir/rootfs/bin"
  [ -e "$dir/rootfs/bin/busybox" ] || ln -s /usr/bin/busybox "$dir/rootfs/bin/busybox"
  echo "root:x:0:0:root:/:/bin/sh" >"$dir/rootfs/etc/passwd"
  (cd "$dir" && "$HR" spec)
  local args
  local a
  # jq -Rs: each argument as one raw string (jq --args would eat "-c").
  args=$(for a in "$@"; do printf '%s' "$a" | jq -Rs .; done | jq -cs .)
  config "$dir" ".process.terminal = false | .process.args = $args"
}

# config DIR JQ-FILTER: edits DIR/config.json in place.
config() {
  jq "$2" "$1/config.json" >"$1/config.json.new" && mv "$1/config.json.new" "$1/config.json"
}

# Fails if a cgroup directory of container $1 is left behind.
expect_no_cgroup() {
  local d
  for d in /sys/fs/cgroup/*/hoist/"$1" /sys/fs/cgroup/*/"$1"; do
    [ -e "$d" ] && fail "cgroup '$d' left behind"
  done
  return 0
}

# Host mounts whose mount point is under $TMP, one per line (none expected
# from hoist-run: every container mount lives in the container's namespace).
host_mounts_under_tmp() { awk -v t="$TMP/" 'index($5, t) == 1 || index($4, t) == 1 {print $4, $5}' /proc/self/mountinfo; }

# probe_bin: path of tests/integration/run/probe.c built static (for bundles).
probe_bin() {
  if [ ! -x "$TMP/probe" ]; then
    command -v cc >/dev/null || fail "cc is needed to build the probe helper"
    cc -static -O2 -o "$TMP/probe" "$HOIST_SRC/tests/integration/run/probe.c" || fail "cannot build the probe helper"
  fi
  echo "$TMP/probe"
}
