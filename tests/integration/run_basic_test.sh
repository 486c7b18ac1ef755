#!/usr/bin/env bash
# hoist-run run: namespaces, pivot_root, default mounts and devices, hostname,
# domainname, sysctl, oomScoreAdj, env, cwd, user and groups, config mounts
# (bind options, rbind, sysfs, mqueue, cgroup) and devices, exit codes,
# signals, closed and preserved fds, no leftovers.
source "$HOIST_SRC/tests/integration/run/lib.sh"

B=$TMP/b
# A host directory with an executable and a submount, bound three ways.
mkdir -p "$TMP/src/sub"
printf '#!/bin/sh\necho ran\n' >"$TMP/src/script"
chmod 755 "$TMP/src/script"
mount -t tmpfs -o size=1m hoist-sub "$TMP/src/sub"
host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
host_shmmax=$(cat /proc/sys/kernel/shmmax)
make_bundle "$B" sh -c '
  echo "domain=$(cat /proc/sys/kernel/domainname)"
  echo "oom=$(cat /proc/self/oom_score_adj)"
  echo "fwd=$(cat /proc/sys/net/ipv4/ip_forward) shmmax=$(cat /proc/sys/kernel/shmmax)"
  echo "sysfs=$(grep " /sys sysfs " /proc/mounts | cut -d" " -f4 | cut -d, -f1)"
  echo "mqueue=$(grep " /dev/mqueue " /proc/mounts | cut -d" " -f3)"
  echo "cgroupfs=$(ls /sys/fs/cgroup | tr "\n" " ")"
  echo "mynull=$(stat -c "%t:%T %a %u:%g" /dev/mynull)"
  echo "ro_opts=$(grep " /ro " /proc/self/mountinfo | cut -d" " -f6)"
  echo "ro_write=$(touch /ro/x 2>/dev/null && echo writable || echo denied)"
  echo "ro_exec=$(/ro/script 2>/dev/null || echo denied)"
  echo "rw_exec=$(/rb/script)"
  echo "rbind_sub=$(stat -f -c %T /rb/sub)"
  echo "plain_sub=$(stat -f -c %T /b/sub)"
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
  | .process.user = {uid: 1000, gid: 1000, additionalGids: [10, 20]}
  | .domainname = "example.org" | .process.oomScoreAdj = 423
  | .linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789"}
  | .linux.devices = [{path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 384, uid: 1000, gid: 1000}]
  | .mounts += [{destination: "/ro", type: "bind", source: "'"$TMP/src"'", options: ["bind", "ro", "nosuid", "nodev", "noexec"]},
               {destination: "/rb", type: "bind", source: "'"$TMP/src"'", options: ["rbind"]},
               {destination: "/b", type: "bind", source: "'"$TMP/src"'", options: ["bind"]}]'

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
expect_contains "$out" "domain=example.org" "domainname"
expect_contains "$out" "oom=423" "oomScoreAdj"
expect_contains "$out" "fwd=1 shmmax=123456789" "sysctl in the container's net and ipc namespaces"
expect_eq "$(cat /proc/sys/net/ipv4/ip_forward):$(cat /proc/sys/kernel/shmmax)" "$host_fwd:$host_shmmax" "host sysctls untouched"
expect_contains "$out" "sysfs=ro" "sysfs mounted read-only"
expect_contains "$out" "mqueue=mqueue" "mqueue mounted"
expect_contains "$out" "cgroupfs=blkio cpu cpuacct cpuset devices freezer memory pids systemd unified " "cgroup mount"
expect_contains "$out" "mynull=1:3 600 1000:1000" "device from the config: numbers, mode, owner"
expect_contains "$out" "ro_opts=ro,nosuid,nodev,noexec," "bind mount flags"
expect_contains "$out" "ro_write=denied" "read-only bind"
expect_contains "$out" "ro_exec=denied" "noexec bind"
expect_contains "$out" "rw_exec=ran" "exec on a plain bind"
expect_contains "$out" "rbind_sub=tmpfs" "rbind takes submounts"
expect_not_contains "$out" "plain_sub=tmpfs" "bind leaves submounts out"
expect_eq "$(host_mounts_under_tmp | grep -vc " $TMP/src/sub$")" 0 "no container mount on the host"
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

# SIGINT, SIGHUP and SIGTERM to hoist-run reach the container's init (which traps them).
config "$B" '.process.args = ["sh", "-c", "trap \"echo got-int\" INT; trap \"echo got-hup\" HUP; trap \"echo got-term; exit 7\" TERM; echo ready; while true; do sleep 0.1; done"]'
"$HR" --root "$ROOT" run -b "$B" basic3 >"$TMP/out3" 2>&1 &
runpid=$!
wait_until 'grep -q ready "$TMP/out3"' || true
kill -INT $runpid
wait_until 'grep -q got-int "$TMP/out3"' || true
kill -HUP $runpid
wait_until 'grep -q got-hup "$TMP/out3"' || true
kill -TERM $runpid
set +e; wait $runpid; rc=$?; set -e
expect_eq "$rc" 7 "exit status after forwarded SIGTERM"
expect_eq "$(tr '\n' ' ' <"$TMP/out3")" "ready got-int got-hup got-term " "forwarded SIGINT, SIGHUP, SIGTERM"

# --preserve-fds 2: fds 3 and 4 reach the process, fd 5 does not.
echo three >"$TMP/f3"; echo four >"$TMP/f4"
config "$B" '.process.args = ["sh", "-c", "cat <&3; cat <&4; ls /proc/self/fd | tr \"\\n\" \" \""]'
out=$(hr run --preserve-fds 2 -b "$B" basic6 3<"$TMP/f3" 4<"$TMP/f4" 5</etc/hostname)
expect_eq "$out" "three
four
0 1 2 3 4 5 " "preserved fds (5 is ls's own)"
set +e; err=$(hr run --preserve-fds 3 -b "$B" basic7 3<"$TMP/f3" 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "--preserve-fds past the open fds"
expect_contains "$err" "fd 4 is not open" "--preserve-fds message"

# Orphans: a grandchild that outlives the init is killed and reaped (pid ns),
# nothing of the container survives the run.
config "$B" '.process.args = ["sh", "-c", "sleep 1000 & echo bg"]'
hr run -b "$B" basic4 >/dev/null
wait_until '! pgrep -f "sleep 1000" >/dev/null' || fail "container process survived the run"
expect_eq "$(ls "$ROOT")" "" "state removed"
expect_no_cgroup basic4

# An executable missing from the rootfs fails before anything starts.
config "$B" '.process.args = ["no-such-binary"]'
set +e; err=$(hr run -b "$B" basic5 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "missing executable"
expect_contains "$err" "executable file 'no-such-binary' not found in \$PATH" "missing executable message"
expect_eq "$(ls "$ROOT")" "" "no state after a failed run"
echo "run_basic: ok"
