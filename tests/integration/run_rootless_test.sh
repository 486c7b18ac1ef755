#!/usr/bin/env bash
# Rootless: hoist-run as an unprivileged user (uid 1000 through setpriv) runs
# a `spec --rootless` bundle in a user namespace mapping that user to root:
# no cgroups, setgroups denied, state under $XDG_RUNTIME_DIR, the sealed image
# a memfd (an unprivileged user cannot mount the read-only overlay).
source "$HOIST_SRC/tests/integration/run/lib.sh"
command -v setpriv >/dev/null || { echo "skip: setpriv is not installed"; exit 77; }
U=(setpriv --reuid=1000 --regid=1000 --clear-groups env "XDG_RUNTIME_DIR=$TMP/xdg")
"${U[@]}" unshare -U true 2>/dev/null || { echo "skip: no unprivileged user namespaces"; exit 77; }

chmod 755 "$TMP"
mkdir -p "$TMP/xdg"
chown 1000:1000 "$TMP/xdg"
# A copy the user can reach: the build tree may sit under a 0700 directory
# (a CI checkout in a mktemp -d).
install -m 755 "$HR" "$TMP/hoist-run"
RL=("${U[@]}" "$TMP/hoist-run")
rootless_cleanup() {
  local id
  for id in $("${RL[@]}" list -q 2>/dev/null); do "${RL[@]}" delete -f "$id" || true; done
  cleanup
}
trap rootless_cleanup EXIT

B=$TMP/b
make_bundle "$B" true
rm "$B/config.json"
chown -R 1000:1000 "$B"
(cd "$B" && "${RL[@]}" spec --rootless)
expect_eq "$(jq -c '.linux.uidMappings' "$B/config.json")" '[{"containerID":0,"hostID":1000,"size":1}]' "spec --rootless maps the caller"
expect_eq "$(jq -r '[.linux.namespaces[].type] | sort | join(",")' "$B/config.json")" "ipc,mount,pid,user,uts" "spec --rootless namespaces"
config "$B" '.process.terminal = false | .root.readonly = false | .process.args = ["sh", "-c",
  "echo \"id=$(id -u):$(id -g) map=$(cat /proc/self/uid_map | tr -s \" \") host=$(hostname)\"; touch /tmp/made; exit 3"]'
chown 1000:1000 "$B/config.json"

set +e; out=$("${RL[@]}" run -b "$B" r1 2>&1); rc=$?; set -e
echo "$out"
expect_eq "$rc" 3 "exit status of a rootless run"
expect_contains "$out" "id=0:0 map= 0 1000 1" "root in the user namespace, mapped to uid 1000"
expect_contains "$out" "host=runc" "hostname in a rootless container"
expect_eq "$(stat -c %u:%g "$B/rootfs/tmp/made")" 1000:1000 "a file made by the container's root belongs to the user"
expect_eq "$(ls "$TMP/xdg/hoist-run")" "" "state under \$XDG_RUNTIME_DIR, removed after run"

# create / exec / start / delete; no cgroup; the init runs from a sealed memfd.
config "$B" '.process.args = ["sh", "-c", "while true; do sleep 0.1; done"]'
"${RL[@]}" create -b "$B" r2
pid=$("${RL[@]}" state r2 | jq -r .pid)
expect_contains "$(readlink /proc/$pid/exe)" "/memfd:hoist-run" "rootless init's image is a sealed memfd"
expect_eq "$("${RL[@]}" list | awk 'NR == 2 {print $3, $NF}')" "created $(getent passwd 1000 | cut -d: -f1 | grep . || echo '#1000')" "list status and owner"
"${RL[@]}" start r2
expect_eq "$("${RL[@]}" exec r2 sh -c 'echo $(id -u) $(cat /proc/1/comm)')" "0 sh" "rootless exec joins the user and pid namespaces"
[ -d /sys/fs/cgroup/memory/hoist/r2 ] && fail "a rootless container got a cgroup"
"${RL[@]}" kill r2 KILL
"${RL[@]}" delete -f r2
expect_eq "$("${RL[@]}" list -q)" "" "rootless delete"

# Limits need a cgroup, which an unprivileged user cannot make.
config "$B" '.linux.resources = {pids: {limit: 10}}'
set +e; err=$("${RL[@]}" run -b "$B" r3 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "rootless run with a pids limit"
expect_contains "$err" "cannot create cgroup" "rootless limits message"
echo "run_rootless: ok"
