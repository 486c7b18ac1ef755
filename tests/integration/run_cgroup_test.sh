#!/usr/bin/env bash
# cgroups on this machine's layout (v1 controllers, hybrid): memory limit kills
# a hog, pids limit stops a fork bomb, cpu settings land, cgroupsPath is
# honoured and everything is removed on delete.
source "$HOIST_SRC/tests/integration/run/lib.sh"
[ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/pids ] || { echo "skip: no v1 memory/pids controllers"; exit 77; }

B=$TMP/b
make_bundle "$B" sh -c '
  head -c 64m /dev/zero | sort >/dev/null; echo "hog=$?"
  # The bomb runs in its own sh: ash exits when fork fails. Counting uses
  # builtins only (read, echo, [), since no fork is possible at the limit.
  sh -c "for i in \$(seq 40); do sleep 2 & done" 2>/dev/null
  read cur </sys/fs/cgroup/pids/pids.current; echo "forked=$cur"
  read ev </sys/fs/cgroup/pids/pids.events; echo "events=$ev"
  while read cur </sys/fs/cgroup/pids/pids.current && [ "$cur" -gt 1 ]; do :; done
  echo "shares=$(cat /sys/fs/cgroup/cpu/cpu.shares)"
  echo "quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"
  echo "period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
  echo "cpuset=$(cat /sys/fs/cgroup/cpuset/cpuset.cpus):$(cat /sys/fs/cgroup/cpuset/cpuset.mems)"
  echo "allowed=$(grep Cpus_allowed_list /proc/self/status | cut -f2)"
  echo "limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
  kill $(jobs -p) 2>/dev/null; true'
cgpath=/hoist-test/cg-$$
config "$B" ".linux.cgroupsPath = \"$cgpath\"
  | .linux.resources = {memory: {limit: 33554432}, pids: {limit: 16},
                        cpu: {shares: 512, quota: 50000, period: 200000, cpus: \"0\", mems: \"0\"}}"
hr create -b "$B" cg1
for c in memory pids cpu cpuset; do
  [ -d /sys/fs/cgroup/$c$cgpath ] || fail "cgroup $c$cgpath not created"
done
expect_eq "$(cat /sys/fs/cgroup/memory$cgpath/memory.limit_in_bytes)" 33554432 "memory limit"
expect_eq "$(cat /sys/fs/cgroup/pids$cgpath/pids.max)" 16 "pids limit"
expect_eq "$(cat /sys/fs/cgroup/cpu$cgpath/cpu.shares)" 512 "cpu shares"
expect_eq "$(cat /sys/fs/cgroup/cpu$cgpath/cpu.cfs_quota_us)" 50000 "cpu quota"
expect_eq "$(cat /sys/fs/cgroup/cpu$cgpath/cpu.cfs_period_us)" 200000 "cpu period"
expect_eq "$(cat /sys/fs/cgroup/cpuset$cgpath/cpuset.cpus)" 0 "cpuset cpus"
pid=$(hr state cg1 | jq -r .pid)
grep -qx "$pid" /sys/fs/cgroup/memory$cgpath/cgroup.procs || fail "init not in the memory cgroup"
hr delete cg1
for c in memory pids cpu cpuset; do [ -d /sys/fs/cgroup/$c$cgpath ] && fail "cgroup $c$cgpath left after delete"; done

set +e; out=$(hr run -b "$B" cg2 2>&1); set -e
echo "$out"
# sort buffers the 64 MiB it is given in a 32 MiB cgroup: the OOM killer ends it.
expect_contains "$out" "hog=137" "memory hog killed"
forked=$(sed -n 's/^forked=//p' <<<"$out")
# 16 at the limit, less the bomb's own sh once its fork failed.
[ "$forked" -ge 15 ] && [ "$forked" -le 16 ] || fail "pids limit: $forked processes, want 15 or 16"
expect_not_contains "$out" "events=max 0" "pids.events counts refused forks"
expect_contains "$out" "shares=512" "cpu.shares inside the container"
expect_contains "$out" "quota=50000" "cfs quota inside the container"
expect_contains "$out" "period=200000" "cfs period inside the container"
expect_contains "$out" "cpuset=0:0" "cpuset cpus and mems inside the container"
expect_contains "$out" "allowed=0
" "the process may run on cpu 0 only"
expect_contains "$out" "limit=33554432" "memory limit inside the container"
for c in memory pids cpu cpuset; do [ -d /sys/fs/cgroup/$c$cgpath ] && fail "cgroup $c$cgpath left after run"; done
rmdir /sys/fs/cgroup/*/hoist-test 2>/dev/null || true

# cgroup v2: this machine's unified hierarchy mounted at /sys/fs/cgroup in a
# private mount namespace, so that hoist-run sees a pure v2 layout. Every
# controller but hugetlb is bound to v1 here: membership, the container's
# view and removal are checked; a limit fails with the controller named.
make_bundle "$TMP/b2" sh -c 'cat /proc/self/cgroup; ls /sys/fs/cgroup | grep -c cgroup.procs'
v2() { unshare -m bash -c 'umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && "$@"' v2 "$@"; }
out=$(v2 "$HR" --root "$ROOT" run -b "$TMP/b2" cgv2)
# (The v1 hierarchies still list the process, at their roots: hoist-run saw only v2.)
expect_contains "$out" "0::/hoist/cgv2
" "v2: the container's cgroup"
expect_eq "$(tail -1 <<<"$out")" 1 "v2: its directory at /sys/fs/cgroup in the container"
[ -e /sys/fs/cgroup/unified/hoist/cgv2 ] && fail "v2 cgroup left after run"
# The config's cgroup mount is read-only: the container's bind, not the host's hierarchy.
expect_eq "$(awk '$5 == "/sys/fs/cgroup/unified" {print $NF}' /proc/self/mountinfo | cut -d, -f1)" rw "host's cgroup2 superblock still read-write"
config "$TMP/b2" '.linux.resources = {pids: {limit: 5}}'
set +e; err=$(v2 "$HR" --root "$ROOT" run -b "$TMP/b2" cgv2b 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "v2 limit without the controller"
expect_contains "$err" "cannot set 'pids.max'" "v2 limit message"
[ -e /sys/fs/cgroup/unified/hoist/cgv2b ] && fail "v2 cgroup left after a failed run"
echo "run_cgroup: ok"
