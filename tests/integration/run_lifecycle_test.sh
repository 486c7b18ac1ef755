#!/usr/bin/env bash
# create / start / state / kill / delete / list / ps / exec (--process, --env,
# --cwd, --user), as runc does them; errors after start; --log, --log-format,
# --debug; the session keyring (--no-new-keyring).
source "$HOIST_SRC/tests/integration/run/lib.sh"

B=$TMP/b
mkdir -p "$TMP/shared"
make_bundle "$B" sh -c 'probe keyring >/shared/keyring; echo started >/shared/started
  trap "echo usr1 >>/shared/sigs" USR1; trap "echo usr2 >>/shared/sigs" USR2
  trap "echo term >/shared/term; exit 0" TERM; while true; do sleep 0.1; done'
cp "$(probe_bin)" "$B/rootfs/bin/probe"
config "$B" ".mounts += [{destination: \"/shared\", type: \"bind\", source: \"$TMP/shared\", options: [\"rbind\", \"rw\"]}]
  | .annotations = {\"org.example.key\": \"value\"}"

hr create -b "$B" --pid-file "$TMP/pid" c1
pid=$(cat "$TMP/pid")
st=$(hr state c1)
expect_eq "$(jq -c 'keys_unsorted' <<<"$st")" '["ociVersion","id","pid","status","bundle","rootfs","created","owner","annotations"]' "state fields (runc's order)"
expect_eq "$(jq -r .status <<<"$st")" created "status after create"
expect_eq "$(jq -r .pid <<<"$st")" "$pid" "state pid = pid file"
expect_eq "$(jq -r .id <<<"$st")" c1 "state id"
expect_eq "$(jq -r .bundle <<<"$st")" "$(realpath "$B")" "state bundle"
expect_eq "$(jq -r .rootfs <<<"$st")" "$(realpath "$B")/rootfs" "state rootfs"
expect_eq "$(jq -r .ociVersion <<<"$st")" 1.0.2 "state ociVersion"
expect_eq "$(jq -r .owner <<<"$st")" "" "state owner (runc leaves it empty)"
expect_eq "$(jq -c .annotations <<<"$st")" '{"org.example.key":"value"}' "state annotations"
[[ "$(jq -r .created <<<"$st")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$ ]] || fail "created is not RFC 3339: $st"
kill -0 "$pid" || fail "init of a created container is not alive"
sleep 0.2
[ -e "$TMP/shared/started" ] && fail "process ran before start"
# The container's mounts stay in its own namespace: nothing on the host.
expect_eq "$(host_mounts_under_tmp)" "" "host mounts while a container exists"

set +e; err=$(hr create -b "$B" c1 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "create with a taken id"
expect_contains "$err" "container 'c1' already exists" "taken id message"

hr start c1
wait_until '[ -e "$TMP/shared/started" ]' || true
[ -e "$TMP/shared/started" ] || fail "process did not run after start"
expect_eq "$(hr state c1 | jq -r .status)" running "status after start"
set +e; hr start c1 2>/dev/null; rc=$?; set -e
expect_eq "$rc" 1 "start of a running container"

expect_eq "$(hr list -q)" c1 "list -q"
expect_contains "$(hr list)" "running   $(realpath "$B")" "list table"
expect_eq "$(hr list | awk 'NR == 2 {print $NF}')" root "list owner: the state dir's user"
expect_eq "$(hr list --format json | jq -r '.[0].status')" running "list json"
expect_contains "$(hr ps --format json c1)" "$pid" "ps json lists the init"
expect_contains "$(hr ps c1)" "sleep" "ps table"

# exec: output, exit code, the container's namespaces, env and cwd options.
out=$(hr exec --env X=1 --cwd /shared c1 sh -c 'echo "x=$X pwd=$(pwd) init=$(cat /proc/1/comm) host=$(hostname)"')
expect_eq "$out" "x=1 pwd=/shared init=sh host=runc" "exec output"
set +e; hr exec c1 sh -c 'exit 5'; rc=$?; set -e
expect_eq "$rc" 5 "exec exit status"
expect_eq "$(hr exec --user 1000:1001 c1 id)" "uid=1000 gid=1001" "exec --user"
# exec forks into the pid namespace (init.h): its messages must keep their order.
for i in $(seq 10); do expect_eq "$(hr exec c1 echo "exec$i")" "exec$i" "exec in a row"; done
cat >"$TMP/process.json" <<'JSON'
{"args": ["sh", "-c", "echo \"$P $(pwd) $(id -u):$(id -g) $(id -G) $(umask)\""], "env": ["P=from-file"],
 "cwd": "/shared", "user": {"uid": 7, "gid": 8, "additionalGids": [9], "umask": 18}}
JSON
expect_eq "$(hr exec --process "$TMP/process.json" c1)" "from-file /shared 7:8 8 9 0022" "exec --process FILE"

# The session keyring: the init's own "_ses.c1"; exec joins the same one.
init_ring=$(cat "$TMP/shared/keyring")
expect_contains "$init_ring" ";_ses.c1" "init's session keyring"
expect_eq "$(hr exec c1 probe keyring)" "$init_ring" "exec joins the container's keyring"

# kill by number, by SIG name, by short name.
hr kill c1 10
wait_until 'grep -q usr1 "$TMP/shared/sigs" 2>/dev/null' || true
hr kill c1 SIGUSR2
wait_until 'grep -q usr2 "$TMP/shared/sigs" 2>/dev/null' || true
expect_eq "$(tr '\n' ' ' <"$TMP/shared/sigs")" "usr1 usr2 " "kill 10, kill SIGUSR2"

set +e; err=$(hr delete c1 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "delete of a running container"
expect_contains "$err" "not stopped" "delete message"

hr kill c1 TERM
wait_until '[ "$(hr state c1 | jq -r .status)" = stopped ]' || true
expect_eq "$(hr state c1 | jq -r .status)" stopped "status after kill"
expect_eq "$(cat "$TMP/shared/term")" term "SIGTERM reached the container"
set +e; hr kill c1 KILL 2>/dev/null; rc=$?; set -e
expect_eq "$rc" 1 "kill of a stopped container"
hr delete c1
expect_eq "$(hr list -q)" "" "list after delete"
expect_no_cgroup c1
expect_eq "$(host_mounts_under_tmp)" "" "host mounts after delete"
set +e; err=$(hr state c1 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "state of a deleted container"
expect_contains "$err" "container 'c1' does not exist" "state message"

# delete --force of a running container; delete of a created one.
hr run -d -b "$B" c2
expect_eq "$(hr state c2 | jq -r .status)" running "run -d"
p2=$(hr state c2 | jq -r .pid)
hr delete --force c2
# Gone, or a zombie for its subreaper to collect.
gone() { local st; st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 0; [ "$st" = Z ]; }
wait_until "gone $p2" || fail "init survived delete --force"
expect_no_cgroup c2
hr create -b "$B" c3
p3=$(hr state c3 | jq -r .pid)
hr delete c3
wait_until "gone $p3" || fail "created init survived delete"

# kill --all reaches every process of the container, exec'd ones too.
hr run -d -b "$B" c6
hr exec -d --pid-file "$TMP/pid6" c6 sleep 100
p6=$(cat "$TMP/pid6")
hr ps --format json c6 | jq -e "index($p6)" >/dev/null || fail "ps does not list the exec'd process"
hr kill --all c6 KILL
wait_until '[ "$(hr ps --format json c6)" = "[]" ]' || true
expect_eq "$(hr ps --format json c6)" "[]" "no process left after kill --all"
hr delete c6

# --no-new-keyring: the container keeps the caller's session keyring.
rm -f "$TMP/shared/keyring"
hr run -d --no-new-keyring -b "$B" c7
wait_until '[ -s "$TMP/shared/keyring" ]' || true
expect_eq "$(cat "$TMP/shared/keyring")" "$("$(probe_bin)" keyring)" "--no-new-keyring"
hr delete -f c7

# A failure after start (the executable gone; execve refused by seccomp)
# fails `start` with the init's error, as runc does.
ln -s busybox "$B/rootfs/bin/mytrue"
cp "$B/config.json" "$TMP/config.saved"
config "$B" '.process.args = ["/bin/mytrue"]'
hr create -b "$B" c8
rm "$B/rootfs/bin/mytrue"
set +e; err=$(hr start c8 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "start when execve fails"
expect_contains "$err" "container init failed executing process '/bin/mytrue': No such file or directory" "start error"
expect_eq "$(hr state c8 | jq -r .status)" stopped "state after a failed start"
hr delete c8
config "$B" '.process.args = ["true"] | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [{names: ["execve"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
set +e; err=$(hr run -d -b "$B" c9 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "run -d when seccomp refuses execve"
expect_contains "$err" "executing process 'true': Operation not permitted" "run -d error"
expect_eq "$(hr list -q)" "" "nothing left after a failed run -d"

# --log FILE, --log-format json|text: runc's (logrus) line shapes; --debug.
set +e; hr --log "$TMP/log.json" --log-format json start nosuch 2>/dev/null; rc=$?; set -e
expect_eq "$rc" 1 "start of a missing container"
line=$(tail -1 "$TMP/log.json")
expect_eq "$(jq -r .level <<<"$line")" error "json log level"
expect_eq "$(jq -r .msg <<<"$line")" "container 'nosuch' does not exist" "json log msg"
[[ "$(jq -r .time <<<"$line")" =~ ^[0-9]{4}-.*Z$ ]] || fail "json log time: $line"
set +e; hr --log "$TMP/log.txt" state nosuch 2>/dev/null; set -e
[[ "$(tail -1 "$TMP/log.txt")" =~ ^time=\"[0-9T:.-]+Z\"\ level=error\ msg=\"container\ \'nosuch\'\ does\ not\ exist\"$ ]] ||
  fail "text log line: $(tail -1 "$TMP/log.txt")"
config "$B" '.linux.seccomp = null | .process.apparmorProfile = "hoist-test" | .process.selinuxLabel = "system_u:system_r:container_t:s0"'
hr --debug --log "$TMP/debug.log" --log-format json run -b "$B" c10 2>"$TMP/debug.err"
jq -r .level "$TMP/debug.log" | grep -x debug >/dev/null || fail "--debug wrote no debug line: $(cat "$TMP/debug.log")"
expect_contains "$(jq -r 'select(.level == "warning") | .msg' "$TMP/debug.log")" "AppArmor profile ignored" "AppArmor warning in the log"
expect_contains "$(cat "$TMP/debug.err")" "warning: SELinux label ignored" "SELinux warning on stderr"
hr --log "$TMP/quiet.log" run -b "$B" c11 2>/dev/null
if grep -q "level=debug" "$TMP/quiet.log"; then fail "debug lines without --debug"; fi
cp "$TMP/config.saved" "$B/config.json"

# Usage errors exit 2; a bad signal name exits 1 with a message.
set +e; hr frobnicate 2>/dev/null; rc=$?; set -e
expect_eq "$rc" 2 "unknown command"
hr create -b "$B" c4
set +e; err=$(hr kill c4 SIGFOO 2>&1); rc=$?; set -e
expect_contains "$err" "unknown signal 'SIGFOO'" "bad signal"
hr delete -f c4

# A missing working directory fails create itself, not a later start.
config "$B" '.process.cwd = "/no/such/dir"'
set +e; err=$(hr create -b "$B" c5 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "create with a missing cwd"
expect_contains "$err" "changing to the working directory '/no/such/dir': No such file or directory" "cwd message"
expect_eq "$(hr list -q)" "" "nothing left after a failed create"
echo "run_lifecycle: ok"
