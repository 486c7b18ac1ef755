#!/usr/bin/env bash
# User namespaces: uid/gid mappings, files made by container root belong to the
# mapped host id, devices are bound (mknod is refused), exec joins the userns.
source "$HOIST_SRC/tests/integration/run/lib.sh"
[ -e /proc/self/ns/user ] || { echo "skip: no user namespaces"; exit 77; }

B=$TMP/b
make_bundle "$B" sh -c 'id; cat /proc/self/uid_map; touch /tmp/made; ls -ln /dev/null; echo ready >/tmp/ready; while true; do sleep 0.1; done'
config "$B" '.linux.namespaces += [{type: "user"}] | .root.readonly = false
  | .linux.uidMappings = [{containerID: 0, hostID: 200000, size: 65536}]
  | .linux.gidMappings = [{containerID: 0, hostID: 200000, size: 65536}]
  | .mounts |= map(if .type == "devpts" then .options -= ["gid=5"] else . end)'
chown -R 200000:200000 "$B/rootfs"
# The mapped root must be able to reach the rootfs (mktemp -d makes 0700).
chmod 755 "$TMP" "$B"
hr run -d -b "$B" u1 >"$TMP/out" 2>&1 || fail "run -d: $(cat "$TMP/out")"
wait_until '[ -e "$B/rootfs/tmp/ready" ]' || true
[ -e "$B/rootfs/tmp/ready" ] || fail "container did not start: $(cat "$TMP/out")"
expect_eq "$(stat -c %u:%g "$B/rootfs/tmp/made")" 200000:200000 "owner of a file made by container root"
pid=$(hr state u1 | jq -r .pid)
expect_eq "$(awk '{print $1, $2, $3}' /proc/$pid/uid_map)" "0 200000 65536" "uid_map of the init"
expect_eq "$(awk '/^Uid:/ {print $2}' /proc/$pid/status)" 200000 "init's host uid"
expect_eq "$(hr exec u1 id -u)" 0 "exec runs as the namespace's root"
expect_eq "$(hr exec u1 sh -c 'cat /proc/self/uid_map' | awk '{print $2}')" 200000 "exec joins the user namespace"
hr delete -f u1
expect_no_cgroup u1
echo "run_userns: ok"
