#!/usr/bin/env bash
# hoist-run run: namespaces, pivot_root, default mounts and devices, hostname,
# env, cwd, user and groups, exit codes, signals, closed fds, no leftovers.
source "$HOIST_SRC/tests/integration/run/lib.sh"

B=$TMP/b
make_bundle "$B" sh -c '
  echo "host=$(hostname)"
  echo "id=$(id -u):$(id -g):$(id -G)"
  echo "pwd=$(pwd)"
  echo "env=$FOO"
  echo "pid1=$(cat /proc/1/comm)"
  echo "fds=$(ls /proc/self/fd | tr "\n" " ")"
  echo "devs=$(for d in null zero full random urandom tty ptmx fd stdin stdout stderr; do [ -e /dev/$d ] && printf "%s " $d; done)"
  echo "null=$(stat -c %t:%T /dev/null)"
  echo "ptmx=$(readlink /dev/ptmx)"
  echo "roroot=$(touch /rofile 2>/dev/null && echo writable || echo readonly)"
  echo "tmpfs=$(grep " /dev " /proc/mounts | cut -d" " -f3)"
  echo "rootfs_mounts=$(grep -c "" /proc/mounts)"
  exit 42'
config "$B" '.hostname = "box1" | .process.env += ["FOO=bar baz"] | .process.cwd = "/tmp"
  | .process.user = {uid: 1000, gid: 1000, additionalGids: [10, 20]}'

# fd 7 is open in the caller: the container must not inherit it.
set +e
out=$(hr run -b "$B" basic1 7</etc/hostname 2>&1)
rc=$?
set -e
echo "$out"
expect_eq "$rc" 42 "exit status"
expect_contains "$out" "host=box1" "hostname"
expect_contains "$out" "id=1000:1000:1000 10 20" "uid:gid:groups"
expect_contains "$out" "pwd=/tmp" "cwd"
expect_contains "$out" "env=bar baz" "env"
expect_contains "$out" "pid1=sh" "pid namespace"
expect_contains "$out" "fds=0 1 2 3 " "only stdio inherited (3 is ls's own)"
expect_contains "$out" "devs=null zero full random urandom tty ptmx fd stdin stdout stderr " "default devices"
expect_contains "$out" "null=1:3" "/dev/null is 1:3"
expect_contains "$out" "ptmx=pts/ptmx" "/dev/ptmx link"
expect_contains "$out" "roroot=readonly" "readonly root"
expect_contains "$out" "tmpfs=tmpfs" "/dev is a tmpfs"
expect_eq "$(ls "$ROOT")" "" "state removed after run"
expect_no_cgroup basic1

# A process killed by a signal: 128 + signal, like a shell. (Without a pid
# namespace: the init of one ignores SIGKILL from inside it.)
cp "$B/config.json" "$TMP/config.saved"
config "$B" '.process.args = ["sh", "-c", "kill -9 $$"] | .linux.namespaces -= [{type: "pid"}]'
set +e; hr run -b "$B" basic2; rc=$?; set -e
expect_eq "$rc" 137 "exit status of a SIGKILLed process"
cp "$TMP/config.saved" "$B/config.json"
config "$B" '.process.user = {uid: 0, gid: 0}'

# SIGTERM to hoist-run reaches the container's init (which traps it).
config "$B" '.process.args = ["sh", "-c", "trap \"echo got-term; exit 7\" TERM; echo ready; while true; do sleep 0.1; done"]'
"$HR" --root "$ROOT" run -b "$B" basic3 >"$TMP/out3" 2>&1 &
runpid=$!
for _ in $(seq 100); do grep -q ready "$TMP/out3" && break; sleep 0.05; done
kill -TERM $runpid
set +e; wait $runpid; rc=$?; set -e
expect_eq "$rc" 7 "exit status after forwarded SIGTERM"
expect_contains "$(cat "$TMP/out3")" "got-term" "forwarded SIGTERM"

# Orphans: a grandchild that outlives the init is killed and reaped (pid ns),
# nothing of the container survives the run.
config "$B" '.process.args = ["sh", "-c", "sleep 1000 & echo bg"]'
hr run -b "$B" basic4 >/dev/null
sleep 0.2
if pgrep -f "sleep 1000" >/dev/null; then fail "container process survived the run"; fi
expect_eq "$(ls "$ROOT")" "" "state removed"
expect_no_cgroup basic4

# An executable missing from the rootfs fails before anything starts.
config "$B" '.process.args = ["no-such-binary"]'
set +e; err=$(hr run -b "$B" basic5 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "missing executable"
expect_contains "$err" "executable file 'no-such-binary' not found in \$PATH" "missing executable message"
expect_eq "$(ls "$ROOT")" "" "no state after a failed run"
echo "run_basic: ok"
