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
  echo "limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
  kill $(jobs -p) 2>/dev/null; true'
cgpath=/hoist-test/cg-$$
config "$B" ".linux.cgroupsPath = \"$cgpath\"
  | .linux.resources = {memory: {limit: 33554432}, pids: {limit: 16},
                        cpu: {shares: 512, quota: 50000, period: 100000}}"
hr create -b "$B" cg1
for c in memory pids cpu; do
  [ -d /sys/fs/cgroup/$c$cgpath ] || fail "cgroup $c$cgpath not created"
done
expect_eq "$(cat /sys/fs/cgroup/memory$cgpath/memory.limit_in_bytes)" 33554432 "memory limit"
expect_eq "$(cat /sys/fs/cgroup/pids$cgpath/pids.max)" 16 "pids limit"
expect_eq "$(cat /sys/fs/cgroup/cpu$cgpath/cpu.shares)" 512 "cpu shares"
expect_eq "$(cat /sys/fs/cgroup/cpu$cgpath/cpu.cfs_quota_us)" 50000 "cpu quota"
pid=$(hr state cg1 | jq -r .pid)
grep -qx "$pid" /sys/fs/cgroup/memory$cgpath/cgroup.procs || fail "init not in the memory cgroup"
hr delete cg1
for c in memory pids cpu; do [ -d /sys/fs/cgroup/$c$cgpath ] && fail "cgroup $c$cgpath left after delete"; done

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
expect_contains "$out" "limit=33554432" "memory limit inside the container"
for c in memory pids cpu; do [ -d /sys/fs/cgroup/$c$cgpath ] && fail "cgroup $c$cgpath left after run"; done
rmdir /sys/fs/cgroup/*/hoist-test 2>/dev/null || true
echo "run_cgroup: ok"
