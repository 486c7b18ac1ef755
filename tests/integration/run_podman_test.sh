#!/usr/bin/env bash
# A real client: podman (Debian's) with --runtime pointing at hoist-run runs a
# busybox rootfs: exit status, detached container, exec, stop, rm.
source "$HOIST_SRC/tests/integration/run/lib.sh"
command -v podman >/dev/null || { echo "skip: podman is not installed"; exit 77; }
command -v conmon >/dev/null || [ -x /usr/libexec/podman/conmon ] || { echo "skip: conmon is not installed"; exit 77; }

make_bundle "$TMP/b" true
# This machine's root lacks CAP_SYS_RESOURCE: podman's default rlimits
# (nofile 1048576) cannot be set by any runtime, runc included.
P=(podman --cgroup-manager cgroupfs --runtime "$HR" --root "$TMP/storage" --runroot "$TMP/run")
opts=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --rootfs "$TMP/b/rootfs")
podman_cleanup() { "${P[@]}" rm -f -a >/dev/null 2>&1 || true; cleanup; }
trap podman_cleanup EXIT

set +e
out=$(timeout 60 "${P[@]}" run --rm "${opts[@]}" /bin/sh -c 'echo hello; grep -c "" /proc/self/mounts >/dev/null; exit 7' 2>&1)
rc=$?
set -e
echo "$out"
[ $rc = 125 ] && case "$out" in *"OCI runtime"*|*hoist-run*) fail "podman could not use hoist-run: $out" ;; *) echo "skip: podman cannot run here: $out"; exit 77 ;; esac
expect_eq "$rc" 7 "exit status through podman"
expect_contains "$out" hello "output through podman"

timeout 60 "${P[@]}" run -d --name hp1 "${opts[@]}" /bin/sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done' >/dev/null
expect_contains "$(timeout 30 "${P[@]}" ps --format '{{.Names}} {{.Status}}')" "hp1 Up" "podman ps"
expect_eq "$(timeout 30 "${P[@]}" exec hp1 sh -c 'echo exec-ok $(cat /proc/1/comm)')" "exec-ok sh" "podman exec"
timeout 60 "${P[@]}" stop -t 5 hp1 >/dev/null
expect_contains "$(timeout 30 "${P[@]}" ps -a --format '{{.Names}} {{.Status}}')" "hp1 Exited (0)" "stopped by SIGTERM"
timeout 60 "${P[@]}" rm hp1 >/dev/null
echo "run_podman: ok"
