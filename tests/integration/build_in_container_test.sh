#!/usr/bin/env bash
# hoist-build inside an unprivileged container, as a CI job container would
# be: hoist-run runs it in a user namespace (container ids 0-65535 on host ids
# from 200000) with Docker's default capabilities (no CAP_SYS_ADMIN) and
# no_new_privs, the host's /usr, /lib and /etc read-only, a writable work
# directory for the store. Nested user namespaces are allowed, so it builds
# in one of its own (the container's ids mapped onto themselves) and gives
# the digest root gives the same Dockerfile, chown included. Where it cannot,
# it stops before the first step with one message saying what the container
# needs: without any capability (mapping root needs CAP_SETFCAP since Linux
# 5.12), and with a seccomp filter that refuses unshare(CLONE_NEWUSER) (as
# Docker's default profile does).
. "$(dirname "$0")/lib/common.sh"
. "$HOIST_LIB_DIR/../build/lib.sh"
need_cmd docker-registry jq
need_hoist run
T=$TEST_TMP
build_base
chmod 755 "$T"

C=$T/ctx
mkdir -p "$C"
echo one >"$C/a.txt"
cat >"$C/Dockerfile" <<DF
FROM $BASE
COPY a.txt /srv/a.txt
RUN mkdir -p /srv/data && echo built > /srv/data/f && chown -R 1000:1000 /srv/data && rm -f /bin/false
RUN --mount=type=cache,target=/var/cache/x echo c >> /var/cache/x/log && cp /var/cache/x/log /srv/cache-log
DF
chmod -R a+rX "$C"

step "root's build"
hbuild_ok "$T/out" "$T/err" "$C"
root_digest=$(cat "$T/out")

# bundle DIR CAPS SECCOMP_JSON: hoist-build in a rootless-style container;
# CAPS "default" (Docker's set) or "none".
bundle() {
  local b=$1
  mkdir -p "$b/rootfs" "$b/work"
  chown 200000:200000 "$b/work" "$b/rootfs"  # the container makes its mount points
  # The job image's hoist-build (the runtime looks the executable up in the rootfs).
  ln "$HOIST_BIN/hoist-build" "$b/rootfs/hoist-build" 2>/dev/null || cp "$HOIST_BIN/hoist-build" "$b/rootfs/hoist-build"
  "$PY" - "$b/config.json" "$C" "$b/work" "$2" "$3" <<'SPEC'
import json, sys
out, ctx, work, caps, seccomp = sys.argv[1:]
docker = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
          "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
          "CAP_AUDIT_WRITE"]
c = docker if caps == "default" else []
ro = ["rbind", "ro", "nosuid", "nodev"]
mounts = [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]},
]
for d in ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"]:
    mounts.append({"destination": d, "type": "bind", "source": d, "options": ro})
mounts += [
    {"destination": "/ctx", "type": "bind", "source": ctx, "options": ro},
    {"destination": "/work", "type": "bind", "source": work, "options": ["rbind", "rw", "nosuid", "nodev"]},
]
spec = {
    "ociVersion": "1.0.2",
    "process": {
        "user": {"uid": 0, "gid": 0},
        "args": ["/hoist-build", "--store", "/work/store", "--progress", "plain", "/ctx"],
        "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/work"],
        "cwd": "/work",
        "capabilities": {"bounding": c, "effective": c, "permitted": c, "inheritable": [], "ambient": []},
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs"},
    "hostname": "ci-job",
    "mounts": mounts,
    "linux": {
        "namespaces": [{"type": t} for t in ["user", "pid", "ipc", "uts", "mount"]],
        "uidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
    },
}
if seccomp != "none":
    spec["linux"]["seccomp"] = json.loads(seccomp)
json.dump(spec, open(out, "w"), indent=1)
SPEC
}
# in_container BUNDLE ID OUT ERR: hoist-run run; returns its exit status.
in_container() {
  local rc=0
  timeout -k 5 300 "$HOIST_BIN/hoist-run" --root "$T/run-state" run -b "$1" "$2" >"$3" 2>"$4" </dev/null || rc=$?
  return "$rc"
}

step "in a container with a user namespace and Docker's default capabilities: the same image"
bundle "$T/b1" default none
rc=0
in_container "$T/b1" hb-ci-1 "$T/cout" "$T/cerr" || rc=$?
[ "$rc" = 0 ] || { cat "$T/cerr" >&2; fail "hoist-build in the container exited $rc"; }
assert_eq "$root_digest" "$(tail -n 1 "$T/cout")" "the digest built in the container"

# refused B CAPS SECCOMP PATTERN: the build fails at once, with PATTERN as its one line.
refused() {
  local rc=0
  bundle "$T/$1" "$2" "$3"
  in_container "$T/$1" "hb-ci-$1" "$T/$1.out" "$T/$1.err" || rc=$?
  assert_eq 1 "$rc" "exit status ($1)"
  assert_match "$4" "$(head -n 1 "$T/$1.err")" "the one message ($1)"
  assert_eq 1 "$(wc -l <"$T/$1.err")" "lines on stderr ($1)"
}

step "a container without capabilities: one message, before any step"
refused b2 none none "^hoist-build: error: cannot build here: cannot map root in a user namespace: since Linux 5.12 that needs CAP_SETFCAP"

step "a seccomp profile that refuses user namespaces: one message, before any step"
deny='{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 0, "value": 268435456, "valueTwo": 268435456, "op": "SCMP_CMP_MASKED_EQ"}]}]}'
refused b3 default "$deny" "^hoist-build: error: cannot build here: cannot create a user namespace \(the host must allow unprivileged user namespaces"
