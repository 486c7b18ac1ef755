#!/usr/bin/env bash
# Capabilities, no_new_privs, rlimits, masked and read-only paths, seccomp, and
# the bundle as hostile input: symlinked mount destinations, a leaked fd as cwd.
source "$HOIST_SRC/tests/integration/run/lib.sh"

B=$TMP/b
make_bundle "$B" sh -c '
  grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status | tr -s "\t" " "
  echo "nofile=$(ulimit -n)"
  echo "keys=$(stat -c %t:%T /proc/keys)"
  echo "acpi=$(ls -A /proc/acpi | wc -l)"
  echo "sysrw=$(echo 1 2>/dev/null >/proc/sys/kernel/domainname && echo writable || echo readonly)"
  echo "umask=$(umask)"
  mkdir /tmp/d 2>/dev/null && echo "mkdir=ok" || echo "mkdir=denied"
  touch /tmp/f && echo "touch=ok"
  chmod 600 /tmp/f 2>/tmp/err || echo "chmod=$(cat /tmp/err)"
  chmod 644 /tmp/f && echo "chmod644=ok"'
# bounding CHOWN+KILL+SETUID, effective/permitted KILL+SETUID, inheritable+ambient SETUID
config "$B" '.process.capabilities = {bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"],
    effective: ["CAP_KILL", "CAP_SETUID"], permitted: ["CAP_KILL", "CAP_SETUID"],
    inheritable: ["CAP_SETUID"], ambient: ["CAP_SETUID"]}
  | .process.rlimits = [{type: "RLIMIT_NOFILE", soft: 123, hard: 456}]
  | .process.user.umask = 63
  | .root.readonly = false
  | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1},
                 {names: ["fchmodat"], action: "SCMP_ACT_ERRNO", errnoRet: 13,
                  args: [{index: 2, value: 384, op: "SCMP_CMP_EQ"}]},
                 {names: ["chmod"], action: "SCMP_ACT_ERRNO", errnoRet: 13,
                  args: [{index: 1, value: 384, op: "SCMP_CMP_EQ"}]}]}'
out=$(hr run -b "$B" sec1)
echo "$out"
# CAP_KILL = 5, CAP_SETUID = 7, CAP_CHOWN = 0
expect_contains "$out" "CapEff: 00000000000000a0" "effective caps"
expect_contains "$out" "CapPrm: 00000000000000a0" "permitted caps"
expect_contains "$out" "CapBnd: 00000000000000a1" "bounding caps"
expect_contains "$out" "CapInh: 0000000000000080" "inheritable caps"
expect_contains "$out" "CapAmb: 0000000000000080" "ambient caps"
expect_contains "$out" "NoNewPrivs: 1" "no_new_privs"
expect_contains "$out" "nofile=123" "RLIMIT_NOFILE"
expect_contains "$out" "keys=1:3" "/proc/keys masked by /dev/null"
expect_contains "$out" "acpi=0" "/proc/acpi masked by an empty tmpfs"
expect_contains "$out" "sysrw=readonly" "/proc/sys read-only"
expect_contains "$out" "umask=0077" "umask"
expect_contains "$out" "mkdir=denied" "seccomp EPERM rule"
expect_contains "$out" "touch=ok" "seccomp allows the rest"
expect_contains "$out" "chmod=" "seccomp argument rule"
expect_contains "$out" "Permission denied" "seccomp errnoRet 13"
expect_contains "$out" "chmod644=ok" "seccomp argument rule lets other values through"

# Without noNewPrivileges the filter is loaded early and still applies.
config "$B" '.process.noNewPrivileges = false | .process.args = ["sh", "-c", "mkdir /tmp/x 2>/dev/null || echo denied; grep NoNewPrivs /proc/self/status"]'
out=$(hr run -b "$B" sec2)
expect_contains "$out" "denied" "seccomp without no_new_privs"
expect_contains "$out" "NoNewPrivs:	0" "no_new_privs off"

# A symlink in the rootfs pointing out of it: the mount lands inside the rootfs.
mkdir -p "$TMP/hostdir"
ln -s ../../../../../../../../"$TMP/hostdir" "$B/rootfs/escape"
ln -s /../../.. "$B/rootfs/escape2"
config "$B" '.mounts += [{destination: "/escape/m", type: "tmpfs", source: "tmpfs"},
                         {destination: "/escape2/m2", type: "tmpfs", source: "tmpfs"}]
  | .process.args = ["sh", "-c", "touch /escape/m/x /escape2/m2/y && echo inside"]'
out=$(hr run -b "$B" sec3)
expect_eq "$out" inside "mount through symlinks"
[ -e "$TMP/hostdir/m" ] && fail "mount destination escaped the rootfs through a symlink"
[ -e /m2 ] && fail "mount destination escaped to the host's /"
[ -d "$B/rootfs$TMP/hostdir/m" ] || fail "mount point not made inside the rootfs"
rm -f "$B/rootfs/escape" "$B/rootfs/escape2"

# A device path through a symlink also stays inside.
ln -s "$TMP/hostdir" "$B/rootfs/devlink"
config "$B" '.mounts |= map(select(.destination | startswith("/escape") | not))
  | .linux.devices = [{path: "/devlink/evil", type: "c", major: 1, minor: 3}]
  | .process.args = ["true"]'
hr run -b "$B" sec4
[ -e "$TMP/hostdir/evil" ] && fail "device node created outside the rootfs"
rm -f "$B/rootfs/devlink"

# CVE-2024-21626: a descriptor leaked from the caller must not serve as cwd.
config "$B" '.linux.devices = [] | .process.cwd = "/proc/self/fd/7" | .process.args = ["sh", "-c", "ls .."]'
set +e; err=$(hr run -b "$B" sec5 7</ 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "leaked fd as cwd"
expect_contains "$err" "working directory" "leaked fd as cwd message"

# CVE-2019-5736: until its execve the init's /proc/<pid>/exe is hoist-run's
# image. hoist-run runs from a sealed view of its file (a detached read-only
# overlay, or a sealed memfd), so even a container process allowed to open
# that link (CAP_SYS_PTRACE passes the dumpable check) gets no host path and
# cannot write it, also not by reopening it once hoist-run has exited (the
# original attack). A copy of the binary is used: the real one is not at risk.
HRC=$TMP/hoist-run-copy
cp "$HR" "$HRC"
sum=$(sha256sum <"$HRC")
mkdir -p "$TMP/out"
config "$B" '.process.cwd = "/" | .process.args = ["sleep", "10"]
  | .mounts += [{destination: "/out", type: "bind", source: "'"$TMP/out"'", options: ["rbind", "rw"]}]'
"$HRC" --root "$ROOT" create -b "$B" --pid-file "$TMP/cve.pid" cve1
pid=$(cat "$TMP/cve.pid")
exe=$(readlink /proc/$pid/exe)
[ "$exe" != "$HRC" ] && [ ! -e "$exe" ] || fail "init's exe is the host binary '$exe'"
if (echo x >>/proc/$pid/exe) 2>/dev/null; then fail "init's exe is writable from the host"; fi
"$HRC" --root "$ROOT" exec -d --cap CAP_SYS_PTRACE cve1 sh -c '
  readlink /proc/1/exe >/out/exe
  # The container view of the pre-exec init: its root and cwd are inside.
  echo "$(readlink /proc/1/root) $(readlink /proc/1/cwd)" >/out/rootcwd
  exec 3</proc/1/exe && echo opened >/out/opened
  while [ ! -e /out/go ]; do sleep 0.05; done
  { echo PWNED >>/proc/self/fd/3; } 2>/out/err; echo "rc=$?" >/out/rc'
wait_until '[ -e "$TMP/out/opened" ]' || true
[ -e "$TMP/out/opened" ] || fail "the exec'd process could not open /proc/1/exe (test setup)"
# Without CAP_SYS_PTRACE the pre-exec init is out of reach altogether.
out=$("$HRC" --root "$ROOT" exec cve1 sh -c 'cat /proc/1/exe >/dev/null; ls -l /proc/1/fd/ /proc/1/cwd /proc/1/root' 2>&1 || true)
expect_contains "$out" "can't open '/proc/1/exe': Permission denied" "init's exe without CAP_SYS_PTRACE"
expect_not_contains "$out" " -> " "init's fd, cwd and root links without CAP_SYS_PTRACE"
"$HRC" --root "$ROOT" start cve1
touch "$TMP/out/go"
wait_until '[ -e "$TMP/out/rc" ]' || true
expect_eq "$(cat "$TMP/out/rc")" "rc=1" "writing the init's exe after start"
expect_contains "$(cat "$TMP/out/err")" "Read-only file system" "the sealed view is read-only"
expect_eq "$(sha256sum <"$HRC")" "$sum" "hoist-run binary unchanged"
expect_eq "$(cat "$TMP/out/exe")" "$exe" "the container sees the same sealed view"
expect_eq "$(cat "$TMP/out/rootcwd")" "/ /" "pre-exec init's root and cwd"
"$HRC" --root "$ROOT" delete -f cve1

# No host path through /proc: every exe, cwd, root and fd link of every
# process in a running container (its init and an exec'd one) resolves to a
# path that exists inside, or is no path at all (pipe, socket, anon inode).
# (runc's default capabilities and no_new_privs: with more caps than it had,
# an exec'd root process would be non-dumpable, its links unreadable.)
caps='["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]'
config "$B" '.process.args = ["sh", "-c", "sleep 100"] | .linux.seccomp = null | .process.noNewPrivileges = true
  | .process.capabilities = {bounding: '"$caps"', effective: '"$caps"', permitted: '"$caps"'}'
hr run -d -b "$B" proc1 </dev/null >/dev/null 2>&1
hr exec -d proc1 sleep 100 </dev/null >/dev/null 2>&1
out=$(hr exec proc1 sh -c '
  n=0
  for l in /proc/[0-9]*/exe /proc/[0-9]*/cwd /proc/[0-9]*/root /proc/[0-9]*/fd/*; do
    t=$(readlink "$l") || { [ -L "$l" ] && echo "unreadable $l"; continue; }  # gone: a transient fd
    n=$((n + 1))
    case "$t" in
      /*) [ -e "$t" ] || echo "outside: $l -> $t" ;;
      pipe:*|socket:*|anon_inode:*) ;;
      *) echo "odd: $l -> $t" ;;
    esac
  done
  echo "links=$n pids=$(ls -d /proc/[0-9]* | wc -l)"' </dev/null 2>&1)
echo "$out"
expect_not_contains "$out" "outside:" "a /proc link leads outside the container"
expect_not_contains "$out" "odd:" "an unexpected /proc link"
expect_not_contains "$out" "unreadable" "a /proc link the container cannot read"
[[ "$out" =~ links=([0-9]+)\ pids=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 12 ] && [ "${BASH_REMATCH[2]}" -ge 3 ] ||
  fail "too few /proc links checked: $out"
hr delete -f proc1

# Relative or missing cwd is refused; a bad config names the field.
config "$B" '.process.cwd = "/" | .process.user.uid = "root"'
set +e; err=$(hr run -b "$B" sec6 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "bad config"
expect_contains "$err" "'process.user.uid' must be a non-negative integer" "bad config message"
echo "run_security: ok"
