#!/usr/bin/env bash
# create / start / state / kill / delete / list / ps / exec, as runc does them.
source "$HOIST_SRC/tests/integration/run/lib.sh"

B=$TMP/b
mkdir -p "$TMP/shared"
make_bundle "$B" sh -c 'echo started >/shared/started; trap "echo term >/shared/term; exit 0" TERM; while true; do sleep 0.1; done'
config "$B" ".mounts += [{destination: \"/shared\", type: \"bind\", source: \"$TMP/shared\", options: [\"rbind\", \"rw\"]}]"

hr create -b "$B" --pid-file "$TMP/pid" c1
pid=$(cat "$TMP/pid")
st=$(hr state c1)
expect_eq "$(jq -r .status <<<"$st")" created "status after create"
expect_eq "$(jq -r .pid <<<"$st")" "$pid" "state pid = pid file"
expect_eq "$(jq -r .id <<<"$st")" c1 "state id"
expect_eq "$(jq -r .bundle <<<"$st")" "$(realpath "$B")" "state bundle"
expect_eq "$(jq -r .ociVersion <<<"$st")" 1.0.2 "state ociVersion"
kill -0 "$pid" || fail "init of a created container is not alive"
sleep 0.2
[ -e "$TMP/shared/started" ] && fail "process ran before start"

set +e; err=$(hr create -b "$B" c1 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "create with a taken id"
expect_contains "$err" "container 'c1' already exists" "taken id message"

hr start c1
for _ in $(seq 100); do [ -e "$TMP/shared/started" ] && break; sleep 0.05; done
[ -e "$TMP/shared/started" ] || fail "process did not run after start"
expect_eq "$(hr state c1 | jq -r .status)" running "status after start"
set +e; hr start c1 2>/dev/null; rc=$?; set -e
expect_eq "$rc" 1 "start of a running container"

expect_eq "$(hr list -q)" c1 "list -q"
expect_eq "$(hr list --format json | jq -r '.[0].status')" running "list json"
expect_contains "$(hr ps --format json c1)" "$pid" "ps json lists the init"
expect_contains "$(hr ps c1)" "sleep" "ps table"

# exec: output, exit code, the container's namespaces, env and cwd options.
out=$(hr exec --env X=1 --cwd /shared c1 sh -c 'echo "x=$X pwd=$(pwd) init=$(cat /proc/1/comm) host=$(hostname)"')
expect_eq "$out" "x=1 pwd=/shared init=sh host=runc" "exec output"
set +e; hr exec c1 sh -c 'exit 5'; rc=$?; set -e
expect_eq "$rc" 5 "exec exit status"
expect_eq "$(hr exec --user 1000:1001 c1 id)" "uid=1000 gid=1001" "exec --user"

set +e; err=$(hr delete c1 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "delete of a running container"
expect_contains "$err" "not stopped" "delete message"

hr kill c1 TERM
for _ in $(seq 100); do [ "$(hr state c1 | jq -r .status)" = stopped ] && break; sleep 0.05; done
expect_eq "$(hr state c1 | jq -r .status)" stopped "status after kill"
expect_eq "$(cat "$TMP/shared/term")" term "SIGTERM reached the container"
set +e; hr kill c1 KILL 2>/dev/null; rc=$?; set -e
expect_eq "$rc" 1 "kill of a stopped container"
hr delete c1
expect_eq "$(hr list -q)" "" "list after delete"
expect_no_cgroup c1
set +e; err=$(hr state c1 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "state of a deleted container"
expect_contains "$err" "container 'c1' does not exist" "state message"

# delete --force of a running container; delete of a created one.
hr run -d -b "$B" c2
expect_eq "$(hr state c2 | jq -r .status)" running "run -d"
p2=$(hr state c2 | jq -r .pid)
hr delete --force c2
kill -0 "$p2" 2>/dev/null && { sleep 0.2; kill -0 "$p2" 2>/dev/null && [ "$(cut -d' ' -f3 /proc/$p2/stat)" != Z ] && fail "init survived delete --force"; }
expect_no_cgroup c2
hr create -b "$B" c3
p3=$(hr state c3 | jq -r .pid)
hr delete c3
sleep 0.1
if [ -e /proc/$p3 ] && [ "$(cut -d' ' -f3 /proc/$p3/stat)" != Z ]; then fail "created init survived delete"; fi

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
