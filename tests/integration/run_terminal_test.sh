#!/usr/bin/env bash
# process.terminal: a pty from the container's devpts, relayed by `run` in the
# foreground, or handed to a --console-socket peer for create/start.
source "$HOIST_SRC/tests/integration/run/lib.sh"
command -v python3 >/dev/null || { echo "skip: python3 missing (console-socket peer)"; exit 77; }

B=$TMP/b
make_bundle "$B" sh -c 'echo "tty=$(tty)"; [ -t 0 ] && [ -t 1 ] && echo "isatty=yes"; stty size; exit 3'
config "$B" '.process.terminal = true | .process.consoleSize = {height: 30, width: 100}'

# Foreground: hoist-run relays the pty to its own stdio (not a tty here).
set +e; out=$(hr run -b "$B" t1 </dev/null | tr -d '\r'); rc=${PIPESTATUS[0]}; set -e
echo "$out"
expect_eq "$rc" 3 "exit status through a terminal"
expect_contains "$out" "tty=/dev/pts/0" "the pty is the container's /dev/pts/0"
expect_contains "$out" "isatty=yes" "stdin and stdout are the terminal"
expect_contains "$out" "30 100" "consoleSize"

# create without --console-socket cannot detach a terminal.
set +e; err=$(hr create -b "$B" t2 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "create with terminal and no console socket"
expect_contains "$err" "console-socket" "message names --console-socket"

# create --console-socket: the master goes to the peer, which reads the output.
python3 "$HOIST_SRC/tests/integration/run/recvtty.py" "$TMP/console.sock" "$TMP/console.out" >"$TMP/recv.log" &
recv=$!
wait_until '[ -S "$TMP/console.sock" ]' || true
hr create -b "$B" --console-socket "$TMP/console.sock" t3
hr start t3
wait_until '[ "$(hr state t3 | jq -r .status)" = stopped ]' || true
wait $recv
out=$(tr -d '\r' <"$TMP/console.out")
echo "$out"
expect_contains "$out" "name=/dev/ptmx" "runc's console-socket message"
expect_contains "$out" "tty=/dev/pts/0" "output through the console socket"
hr delete t3

# exec -t: a new pty for the exec'd process (the container has none), relayed
# in the foreground, or sent to a --console-socket peer with -d.
config "$B" '.process.terminal = false | .process.args = ["sh", "-c", "while true; do sleep 0.1; done"]'
hr run -d -b "$B" t4 </dev/null >/dev/null 2>&1
set +e; out=$(hr exec -t t4 sh -c 'echo "tty=$(tty)"; [ -t 0 ] && [ -t 1 ] && echo "isatty=yes"; exit 4' </dev/null | tr -d '\r'); rc=${PIPESTATUS[0]}; set -e
echo "$out"
expect_eq "$rc" 4 "exit status of exec -t"
expect_contains "$out" "tty=/dev/pts/0" "exec -t gets a pty of the container's devpts"
expect_contains "$out" "isatty=yes" "exec -t stdin and stdout are the terminal"
python3 "$HOIST_SRC/tests/integration/run/recvtty.py" "$TMP/console2.sock" "$TMP/console2.out" >"$TMP/recv2.log" &
recv=$!
wait_until '[ -S "$TMP/console2.sock" ]' || true
hr exec -t -d --console-socket "$TMP/console2.sock" t4 sh -c 'echo "detached tty=$(tty)"'
wait $recv
expect_contains "$(tr -d '\r' <"$TMP/console2.out")" "detached tty=/dev/pts/" "exec -t -d through the console socket"
set +e; err=$(hr exec -t -d t4 true 2>&1); rc=$?; set -e
expect_eq "$rc" 1 "exec -t -d without a console socket"
expect_contains "$err" "console-socket" "exec -t -d message"
hr delete -f t4
echo "run_terminal: ok"
