#!/usr/bin/env bash
# OCI hooks: all six, in order, with the state on stdin, in the right
# namespaces; a failing hook fails create; a hook past its timeout is killed.
source "$HOIST_SRC/tests/integration/run/lib.sh"

B=$TMP/b
mkdir -p "$TMP/log"
LOG=$TMP/log/hooks
cat >"$TMP/hook.sh" <<HOOK
#!/bin/sh
status=\$(sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')
echo "\$1 \$status \$(readlink /proc/self/ns/mnt)" >>$LOG
HOOK
chmod +x "$TMP/hook.sh"
host_mnt=$(readlink /proc/self/ns/mnt)
make_bundle "$B" sh -c 'echo process >>/log/hooks'
hook() { echo "{\"path\": \"$TMP/hook.sh\", \"args\": [\"hook.sh\", \"$1\"]}"; }
config "$B" ".mounts += [{destination: \"/log\", type: \"bind\", source: \"$TMP/log\", options: [\"rbind\"]}]
  | .hooks = {prestart: [$(hook prestart)], createRuntime: [$(hook createRuntime)],
      createContainer: [$(hook createContainer)],
      startContainer: [{path: \"/bin/sh\", args: [\"sh\", \"-c\", \"echo startContainer \$(sed -n 's/.*\\\"status\\\": *\\\"\\\\([a-z]*\\\\)\\\".*/\\\\1/p') >>/log/hooks\"]}],
      poststart: [$(hook poststart)], poststop: [$(hook poststop)]}"

hr run -b "$B" h1
cat "$LOG"
mapfile -t lines <"$LOG"
expect_eq "${#lines[@]}" 7 "number of hook lines"
expect_eq "${lines[0]}" "prestart creating $host_mnt" "prestart in the runtime namespace"
expect_eq "${lines[1]}" "createRuntime creating $host_mnt" "createRuntime in the runtime namespace"
case "${lines[2]}" in "createContainer creating mnt:"*) ;; *) fail "createContainer line: ${lines[2]}" ;; esac
[ "${lines[2]#createContainer creating }" != "$host_mnt" ] || fail "createContainer ran in the host's mount namespace"
expect_eq "${lines[3]}" "startContainer created" "startContainer inside the container"
# poststart and the process race (runtime-spec allows either order).
sorted=$(printf '%s\n' "${lines[4]%% *}" "${lines[5]%% *}" | sort | tr '\n' ' ')
expect_eq "$sorted" "poststart process " "poststart and process"
expect_eq "${lines[6]}" "poststop stopped $host_mnt" "poststop last"

# A failing prestart hook fails create and leaves nothing behind.
: >"$LOG"
config "$B" '.hooks = {prestart: [{path: "/bin/false"}]}'
set +e; err=$(hr create -b "$B" h2 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "create with a failing hook"
expect_contains "$err" "prestart hook failed: hook '/bin/false' exited with status 1" "failing hook message"
expect_eq "$(hr list -q)" "" "no container after a failed hook"
expect_no_cgroup h2

# A hook past its timeout is killed.
config "$B" '.hooks = {createRuntime: [{path: "/bin/sleep", args: ["sleep", "10"], timeout: 1}]}'
start=$(date +%s)
set +e; err=$(hr create -b "$B" h3 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "create with a hook timing out"
expect_contains "$err" "timed out after 1s" "timeout message"
[ $(( $(date +%s) - start )) -lt 5 ] || fail "hook timeout not enforced"
echo "run_hooks: ok"
