#!/usr/bin/env bash
# Namespaces joined by path (uts, ipc, net, pid of another container), the
# cgroup namespace, and rootfsPropagation on a rootfs under a shared mount
# (what the container sees, and that nothing leaks to the host).
source "$HOIST_SRC/tests/integration/run/lib.sh"

# A: new namespaces, hostname "first", a POSIX message queue (ipc namespace).
A=$TMP/a
make_bundle "$A" sh -c 'touch /dev/mqueue/hoistq; echo ready >/ctl/ready; while true; do sleep 0.1; done'
mkdir -p "$TMP/ctl"
config "$A" '.hostname = "first" | .mounts += [{destination: "/ctl", type: "bind", source: "'"$TMP/ctl"'", options: ["rbind"]}]'
hr run -d -b "$A" nsa
wait_until '[ -e "$TMP/ctl/ready" ]' || true
pa=$(hr state nsa | jq -r .pid)

# B joins A's uts, ipc, net and pid namespaces by path; its mount namespace is new.
B=$TMP/b
make_bundle "$B" sh -c '
  echo "host=$(hostname)"
  for n in uts ipc net pid mnt; do echo "$n=$(readlink /proc/self/ns/$n)"; done
  echo "mq=$(ls /dev/mqueue)"
  echo "init=$(cat /proc/1/cmdline | tr "\0" " ")"
  echo "self=$$"'
config "$B" 'del(.hostname) | .linux.namespaces = [
  {type: "uts", path: "/proc/'"$pa"'/ns/uts"}, {type: "ipc", path: "/proc/'"$pa"'/ns/ipc"},
  {type: "network", path: "/proc/'"$pa"'/ns/net"}, {type: "pid", path: "/proc/'"$pa"'/ns/pid"}, {type: "mount"}]'
out=$(hr run -b "$B" nsb)
echo "$out"
expect_contains "$out" "host=first" "hostname of the joined uts namespace"
for n in uts ipc net pid; do
  expect_contains "$out" "$n=$(readlink /proc/$pa/ns/$n)" "joined $n namespace"
done
expect_not_contains "$out" "mnt=$(readlink /proc/$pa/ns/mnt)" "own mount namespace"
expect_contains "$out" "mq=hoistq" "A's message queue through the joined ipc namespace"
expect_contains "$out" "init=sh -c touch /dev/mqueue/hoistq" "A's init through the joined pid namespace"
expect_not_contains "$out" "self=1
" "B's process is not the pid namespace's init"
# A hostname needs a uts namespace of the container's own.
config "$B" '.hostname = "second"'
set +e; err=$(hr run -b "$B" nsc 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "hostname with a joined uts namespace"
expect_contains "$err" "cannot set hostname without a new uts namespace" "hostname message"
hr delete -f nsa

# A cgroup namespace: the container's cgroup is its root.
C=$TMP/c
make_bundle "$C" sh -c 'cat /proc/self/cgroup'
config "$C" '.linux.namespaces += [{type: "cgroup"}]'
out=$(hr run -b "$C" nsd)
expect_contains "$out" "4:memory:/
" "memory cgroup is / in the cgroup namespace"
expect_not_contains "$out" "hoist" "no host cgroup path in the cgroup namespace"

# rootfsPropagation, with the bundle on a shared mount (as on a systemd host).
# The container signals when it runs; the host then mounts a tmpfs under the
# rootfs and the container reports whether it sees it.
mkdir -p "$TMP/shared" "$TMP/ctl2"
mount -t tmpfs -o size=16m hoist-shared "$TMP/shared"
mount --make-shared "$TMP/shared"
P=$TMP/shared/p
make_bundle "$P" sh -c '
  awk "\$5 == \"/\" {print \"root=\" \$7}" /proc/self/mountinfo
  echo ready >/ctl/ready
  while [ ! -e /ctl/go ]; do sleep 0.05; done
  echo "sees_host_mount=$(grep -c " /mnt " /proc/self/mountinfo)"'
mkdir -p "$P/rootfs/mnt"
config "$P" '.mounts += [{destination: "/ctl", type: "bind", source: "'"$TMP/ctl2"'", options: ["rbind"]}]'
propagation() {  # propagation NAME -> the container's output; checks the host
  rm -f "$TMP/ctl2/ready" "$TMP/ctl2/go"
  if [ "$1" = default ]; then config "$P" 'del(.linux.rootfsPropagation)'
  else config "$P" ".linux.rootfsPropagation = \"$1\""; fi
  hr run -b "$P" "prop-$1" >"$TMP/prop.out" 2>&1 &
  local run=$!
  wait_until '[ -e "$TMP/ctl2/ready" ]' || true
  # Only the test's own two mounts on the host: the container's stay inside.
  expect_eq "$(host_mounts_under_tmp | awk '{print $2}' | tr '\n' ' ')" "$TMP/shared " "host mounts with rootfsPropagation $1" >&2
  mount -t tmpfs -o size=1m hoist-late "$P/rootfs/mnt"
  touch "$TMP/ctl2/go"
  wait $run || fail "container with rootfsPropagation $1 failed: $(cat "$TMP/prop.out")"
  umount "$P/rootfs/mnt"
  cat "$TMP/prop.out"
}
out=$(propagation default)
expect_contains "$out" "root=master:" "default (rslave): the root is a slave of the host's mount"
expect_contains "$out" "sees_host_mount=1" "rslave: a later host mount propagates in"
out=$(propagation private)
expect_contains "$out" "root=-" "private: no peer group"
expect_contains "$out" "sees_host_mount=0" "private: nothing propagates in"
out=$(propagation rshared)
expect_contains "$out" "root=shared:" "rshared: the root is shared"
echo "run_namespaces: ok"
