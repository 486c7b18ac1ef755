# shellcheck shell=bash
# Shared helpers for tests/integration/*_test.sh. Source it first:
#   . "$(dirname "$0")/lib/common.sh"
# It sets `set -euo pipefail`, makes $TEST_TMP (removed on exit; kept with HOIST_KEEP_TMP=1),
# points HOME at $TEST_TMP/home and HOIST_STORE at $TEST_TMP/default-store (so no real
# ~/.docker/config.json or store leaks in), and runs every registered cleanup on exit, also
# on failure or signal. On failure it prints the tails of the server logs it knows about.
#
# Functions (details above each):
#   need_hoist TOOL...      skip (exit 77) unless $HOIST_BIN/hoist-TOOL exists
#   need_cmd CMD...         skip (exit 77) unless each command is on PATH
#   fail MSG / assert_eq WANT GOT MSG / assert_match REGEX TEXT MSG / assert_file F / assert_no_file F
#   step MSG                print a progress line to stderr
#   wait_until COND         until the shell condition COND holds (up to 60 s), else return 1
#   on_exit CMD...          run CMD at exit (last registered runs first)
#   free_port               print a free 127.0.0.1 TCP port
#   start_bg NAME LOG CMD... start CMD in the background, stopped (TERM, then KILL) at exit
#   wait_port_file FILE     wait for a server to write its port, print it
#   start_registry [--htpasswd FILE | --token]
#                           -> REG_HOST REG_URL REG_DIR REG_LOG REG_ACCESS_LOG REG_PID
#   make_htpasswd FILE USER PASS
#   start_token_server [--user U:P]... [--anonymous-pull GLOB]...
#                           -> TOKEN_URL TOKEN_HOST TOKEN_LOG TOKEN_CERT TOKEN_SERVICE TOKEN_ISSUER
#   start_fault_proxy UPSTREAM_URL [--upstream-creds U:P]
#                           -> PROXY_HOST PROXY_URL PROXY_LOG REDIRECT_HOST
#   proxy_rule JSON / proxy_reset / proxy_mark / proxy_log [SINCE]
#   run_pull OUT ERR ARGS... run $HOIST_BIN/hoist-pull with a timeout; returns its exit code
#   pull_ok OUT ERR ARGS...  the same, failing the test unless it exits 0
#   pull_fails OUT ERR ARGS... the same, failing the test unless it exits 1 with 'hoist-pull: error: '
#   store_check STORE       every blobs/sha256/<hex> hashes to <hex>; index.json and oci-layout valid
#   validate_schema NAME FILE   FILE against schemas/NAME.schema.json (no-op while that is missing)
#   store_ref_digest STORE NAME:TAG / ingest_bytes STORE
#   $PY                     the python3 to use (Debian's /usr/bin/python3 when present)
#   sha256_of FILE          hex digest of a file

set -euo pipefail

HOIST_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HOIST_SRC=${HOIST_SRC:-$(cd "$HOIST_LIB_DIR/../../.." && pwd)}
HOIST_BIN=${HOIST_BIN:-$HOIST_SRC/build/bin}
TEST_NAME=$(basename "${0%.sh}")
# Debian's python3 (stdlib + python3-jsonschema): starts fast and is what CI has; a pyenv
# shim first on PATH costs seconds per call. HOIST_PYTHON overrides.
if [ -n "${HOIST_PYTHON:-}" ]; then PY=$HOIST_PYTHON
elif [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3
else PY=python3; fi
PULL_TIMEOUT=${HOIST_PULL_TIMEOUT:-120}   # generous: the suite also runs under ASan

_hoist_cleanups=()
_hoist_logs=()

step() { printf '== %s [%ss]: %s\n' "$TEST_NAME" "$SECONDS" "$*" >&2; }

fail() {
  printf 'FAIL %s: %s\n' "$TEST_NAME" "$*" >&2
  exit 1
}

skip() {
  printf 'SKIP %s: %s\n' "$TEST_NAME" "$*" >&2
  exit 77
}

on_exit() { _hoist_cleanups+=("$*"); }

_hoist_exit() {
  local rc=$?
  trap - EXIT HUP INT PIPE TERM
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    local f
    for f in "${_hoist_logs[@]}"; do
      [ -s "$f" ] || continue
      printf -- '--- last lines of %s\n' "$f" >&2
      grep -v 'err.code="blob unknown"' "$f" | tail -n 25 | cut -c1-400 >&2 || true
    done
  fi
  local i
  for ((i = ${#_hoist_cleanups[@]} - 1; i >= 0; i--)); do
    eval "${_hoist_cleanups[$i]}" >/dev/null 2>&1 || true
  done
  if [ -n "${TEST_TMP:-}" ] && [ -d "$TEST_TMP" ]; then
    if [ -n "${HOIST_KEEP_TMP:-}" ]; then
      echo "kept $TEST_TMP" >&2
    else
      rm -rf "$TEST_TMP"
    fi
  fi
  exit "$rc"
}
trap _hoist_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hoist-it-${TEST_NAME}.XXXXXX")
mkdir -p "$TEST_TMP/home"
export HOME=$TEST_TMP/home
unset REGISTRY_AUTH_FILE DOCKER_CONFIG XDG_RUNTIME_DIR
export HOIST_STORE=$TEST_TMP/default-store   # never the real /var/lib/hoist, even if --store is forgotten
export HOIST_TEST_CACHE=${HOIST_TEST_CACHE:-/tmp/hoist-test-cache}

need_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed"
  done
}

need_hoist() {
  local t
  for t in "$@"; do
    [ -x "$HOIST_BIN/hoist-$t" ] || skip "$HOIST_BIN/hoist-$t is not built yet"
  done
}

assert_eq() {
  [ "$1" = "$2" ] || fail "${3:-values differ}: expected '$1', got '$2'"
}

assert_match() {
  grep -Eq -- "$1" <<<"$2" || fail "${3:-no match}: /$1/ not in: $2"
}

# wait_until COND: evaluates the shell condition COND until it holds, for up to
# $HOIST_WAIT_S seconds (60: a loaded 2-core CI machine); returns 1 if it never does.
# Waiting for the event itself, never for a fixed time.
wait_until() {
  local end=$((SECONDS + ${HOIST_WAIT_S:-60}))
  until eval "$1"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.05
  done
}

assert_file() { [ -e "$1" ] || fail "${2:-missing file}: $1"; }
assert_no_file() { [ ! -e "$1" ] || fail "${2:-unexpected file}: $1"; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _stop_pid PID: TERM, up to 5 s, then KILL. Only ever our own children.
_stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# _watchdog PID: stop PID should this shell die without running its cleanup (SIGKILL).
_watchdog() {
  local shell_pid=$$ target=$1
  (
    trap - EXIT INT TERM HUP PIPE
    while kill -0 "$shell_pid" 2>/dev/null && kill -0 "$target" 2>/dev/null; do sleep 1; done
    kill -TERM "$target" 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  on_exit "kill $! 2>/dev/null"
}

# start_bg NAME LOG CMD...: sets BG_PID. The process is stopped at exit.
start_bg() {
  local name=$1 log=$2
  shift 2
  "$@" >>"$log" 2>&1 &
  BG_PID=$!
  on_exit "_stop_pid $BG_PID"
  _hoist_logs+=("$log")
  : "$name"
}

# wait_port_file FILE [PID]: prints the port the server wrote (up to 15 s).
wait_port_file() {
  local f=$1 pid=${2:-} i
  for ((i = 0; i < 150; i++)); do
    if [ -s "$f" ]; then cat "$f"; return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  fail "server did not start (no port in $f)"
}

# wait_http URL [PID]: until URL answers at all (any HTTP status), up to 15 s.
wait_http() {
  local url=$1 pid=${2:-} i code
  for ((i = 0; i < 150; i++)); do
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)
    if [ -n "$code" ] && [ "$code" != 000 ]; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

make_htpasswd() { htpasswd -Bbn "$2" "$3" >>"$1"; }

# start_token_server [--user U:P]... [--anonymous-pull GLOB]...
# A bearer-token server (lib/token_server.py) that signs real RS256 JWTs; start it BEFORE
# `start_registry --token`, which points the registry's `auth: token:` at it. Each request
# is one JSON line in $TOKEN_LOG ({"user", "anonymous", "scopes", "granted", "status"}).
start_token_server() {
  local d=$TEST_TMP/token.$RANDOM
  mkdir -p "$d"
  TOKEN_SERVICE=hoist-test-registry
  TOKEN_ISSUER=hoist-test-issuer
  TOKEN_LOG=$d/requests.jsonl
  start_bg token "$d/server.log" "$PY" "$HOIST_LIB_DIR/token_server.py" --dir "$d" \
    --port-file "$d/port" --log "$TOKEN_LOG" --service "$TOKEN_SERVICE" --issuer "$TOKEN_ISSUER" "$@"
  local port
  port=$(wait_port_file "$d/port" "$BG_PID")
  TOKEN_HOST=127.0.0.1:$port
  TOKEN_URL=http://$TOKEN_HOST/token
  TOKEN_CERT=$d/token.crt
  TOKEN_PID=$BG_PID
  export TOKEN_HOST TOKEN_URL TOKEN_CERT TOKEN_LOG TOKEN_SERVICE TOKEN_ISSUER TOKEN_PID
}

# start_registry [--htpasswd FILE | --token] [--tls CERT KEY]
# The CNCF registry on a free 127.0.0.1 port, storage in a temp dir, delete enabled.
# Sets REG_HOST (127.0.0.1:PORT), REG_URL (http://...), REG_DIR, REG_LOG (stderr: app log,
# level warn) and REG_ACCESS_LOG (stdout: one combined-log line per HTTP request), REG_PID.
# Call again for a second registry after copying these variables.
# shellcheck disable=SC2120  # options are optional
start_registry() {
  local auth="" tls="" scheme=http
  while [ $# -gt 0 ]; do
    case $1 in
      --tls) tls="  tls:
    certificate: $2
    key: $3"; scheme=https; shift 3 ;;
      --htpasswd) auth="  htpasswd:
    realm: hoist-test
    path: $2"; shift 2 ;;
      --token)
        [ -n "${TOKEN_URL:-}" ] || fail "start_registry --token: call start_token_server first"
        auth="  token:
    realm: $TOKEN_URL
    service: $TOKEN_SERVICE
    issuer: $TOKEN_ISSUER
    rootcertbundle: $TOKEN_CERT"; shift ;;
      *) fail "start_registry: unknown option $1" ;;
    esac
  done
  local d port
  d=$(mktemp -d "$TEST_TMP/registry.XXXXXX")
  mkdir -p "$d/data"
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    {
      printf 'version: 0.1\nlog:\n  level: warn\n  formatter: text\n'
      printf 'storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' "$d/data"
      printf '  maintenance:\n    uploadpurging:\n      enabled: false\n'
      printf 'http:\n  addr: 127.0.0.1:%s\n  secret: hoist-test-secret\n' "$port"
      if [ -n "$tls" ]; then printf '%s\n' "$tls"; fi
      if [ -n "$auth" ]; then printf 'auth:\n%s\n' "$auth"; fi
    } >"$d/config.yml"
    # REG_PID is timeout(1), which passes TERM on to the registry; its TTL ends the
    # registry even when this shell is SIGKILLed (a ctest timeout) and cleanup never runs.
    timeout -k 5 "${HOIST_SERVER_TTL:-1800}" docker-registry serve "$d/config.yml" \
      >>"$d/access.log" 2>>"$d/registry.log" &
    REG_PID=$!
    on_exit "_stop_pid $REG_PID"
    _watchdog "$REG_PID"
    # The port came from free_port, so another server may have taken it meanwhile: make
    # sure the one answering is ours (ss shows the listener's pid: timeout's child).
    if wait_http "$scheme://127.0.0.1:$port/v2/" "$REG_PID" && kill -0 "$REG_PID" 2>/dev/null &&
      { ! command -v ss >/dev/null || ss -Hltnp "sport = :$port" | grep "pid=$(ps -o pid= --ppid "$REG_PID" | tr -d ' '),"  >/dev/null; }; then
      REG_HOST=127.0.0.1:$port
      REG_URL=$scheme://$REG_HOST
      REG_DIR=$d
      REG_LOG=$d/registry.log
      REG_ACCESS_LOG=$d/access.log
      _hoist_logs+=("$REG_LOG")
      export REG_HOST REG_URL REG_DIR REG_LOG REG_ACCESS_LOG REG_PID
      return 0
    fi
    _stop_pid "$REG_PID"
  done
  cat "$d/registry.log" >&2 || true
  fail "docker-registry did not start"
}

# start_fault_proxy UPSTREAM_URL [--upstream-creds U:P]
# lib/fault_proxy.py in front of UPSTREAM_URL. Sets PROXY_HOST/PROXY_URL (the main listener,
# which forwards), REDIRECT_HOST (the second listener that `redirect` rules send clients
# to), PROXY_LOG (JSON lines), PROXY_PID. Rules: proxy_rule '{"mode": ...}'.
start_fault_proxy() {
  local up=$1
  shift
  local d
  d=$(mktemp -d "$TEST_TMP/proxy.XXXXXX")
  PROXY_LOG=$d/requests.jsonl
  start_bg proxy "$d/proxy.log" "$PY" "$HOIST_LIB_DIR/fault_proxy.py" --upstream "$up" \
    --port-file "$d/port" --redirect-port-file "$d/rport" --log "$PROXY_LOG" "$@"
  PROXY_PID=$BG_PID
  local port rport
  port=$(wait_port_file "$d/port" "$PROXY_PID")
  rport=$(wait_port_file "$d/rport" "$PROXY_PID")
  PROXY_HOST=127.0.0.1:$port
  PROXY_URL=http://$PROXY_HOST
  REDIRECT_HOST=127.0.0.1:$rport
  export PROXY_HOST PROXY_URL PROXY_LOG REDIRECT_HOST PROXY_PID
}

# --max-time above the proxy's own 60 s wait for requests in flight (proxy_mark, proxy_log).
_proxy_ctl() { curl -sS --fail-with-body --max-time 75 "$@"; }

# proxy_rule JSON: add a rule (or a JSON list of rules); prints {"ids": [...]}.
proxy_rule() { _proxy_ctl -X POST -H 'Content-Type: application/json' --data-binary "$1" "$PROXY_URL/__fault" >/dev/null; }
proxy_reset() { _proxy_ctl -X POST "$PROXY_URL/__reset" >/dev/null; }
# proxy_mark: prints the current log sequence number; proxy_log SINCE prints later entries
# as JSON lines (one object per request). Both first wait until every request the proxy
# has begun is answered and logged: after a client is killed, its last request (a
# throttled body, a hang) ends when the proxy notices, and belongs before the mark.
proxy_mark() { _proxy_ctl "$PROXY_URL/__mark" | jq -r .seq; }
proxy_log() { _proxy_ctl "$PROXY_URL/__log?since=${1:-0}" | jq -c '.[]'; }

# run_tool TOOL OUT ERR ARGS...: hoist-TOOL ARGS with stdout to OUT and stderr to ERR,
# bounded by $PULL_TIMEOUT. Returns the tool's exit code (124 on timeout); never trips set -e.
run_tool() {
  local tool=$1 out=$2 err=$3 rc=0
  shift 3
  timeout -k 5 "$PULL_TIMEOUT" "$HOIST_BIN/hoist-$tool" "$@" >"$out" 2>"$err" || rc=$?
  return "$rc"
}

# tool_ok TOOL OUT ERR ARGS...: like run_tool, but fails the test (showing stderr) unless exit 0.
tool_ok() {
  local tool=$1 out=$2 err=$3 rc=0
  run_tool "$@" || rc=$?
  shift 3
  if [ "$rc" -ne 0 ]; then
    cat "$err" >&2
    fail "hoist-$tool $* exited $rc"
  fi
}

# run_pull / pull_ok / run_push / push_ok OUT ERR ARGS...: run_tool and tool_ok for
# hoist-pull and hoist-push.
run_pull() { run_tool pull "$@"; }
pull_ok() { tool_ok pull "$@"; }
run_push() { run_tool push "$@"; }
push_ok() { tool_ok push "$@"; }

# pull_fails OUT ERR ARGS...: fails the test unless hoist-pull exits 1.
pull_fails() {
  local out=$1 err=$2 rc=0
  shift 2
  run_pull "$out" "$err" "$@" || rc=$?
  if [ "$rc" -ne 1 ]; then
    cat "$err" >&2
    fail "hoist-pull $* exited $rc, want 1"
  fi
  grep -q '^hoist-pull: error: ' "$err" || fail "stderr has no 'hoist-pull: error: ' line: $(cat "$err")"
}

# store_check STORE: the store is a valid OCI layout whose every blob matches its name.
store_check() {
  local s=$1
  assert_file "$s/oci-layout"
  assert_file "$s/index.json"
  "$PY" - "$s" <<'EOF' || fail "store $s is not a valid OCI layout with verified blobs"
import hashlib, json, os, sys
s = sys.argv[1]
assert json.load(open(os.path.join(s, "oci-layout")))["imageLayoutVersion"] == "1.0.0", "oci-layout"
idx = json.load(open(os.path.join(s, "index.json")))
assert idx.get("schemaVersion") == 2 and isinstance(idx.get("manifests"), list), "index.json"
d = os.path.join(s, "blobs", "sha256")
for name in os.listdir(d) if os.path.isdir(d) else []:
    h = hashlib.sha256()
    with open(os.path.join(d, name), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    assert h.hexdigest() == name, f"blobs/sha256/{name} hashes to {h.hexdigest()}"
for m in idx["manifests"]:
    assert os.path.exists(os.path.join(d, m["digest"].split(":", 1)[1])), f"index.json names missing {m['digest']}"
EOF
  if [ -f "$HOIST_SRC/schemas/layout-index.schema.json" ]; then
    validate_schema layout-index "$s/index.json"
  else
    validate_schema image-index "$s/index.json"
  fi
}

# validate_schema NAME FILE: FILE against schemas/NAME.schema.json with tests/tools/validate_json.py
# (JSON or JSON Lines). A no-op while either is missing or python3-jsonschema is not installed.
validate_schema() {
  local schema=$HOIST_SRC/schemas/$1.schema.json validator=$HOIST_SRC/tests/tools/validate_json.py rc=0
  [ -f "$schema" ] && [ -f "$validator" ] || return 0
  "$PY" "$validator" "$schema" "$2" >&2 || rc=$?
  case $rc in
    0 | 77) return 0 ;;
    *) fail "$2 does not validate against schemas/$1.schema.json" ;;
  esac
}

# store_ref_digest STORE NAME:TAG: the digest index.json records for that ref name ("" if none).
store_ref_digest() {
  jq -r --arg n "$2" '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest] | first // ""' "$1/index.json"
}

# ingest_bytes STORE: total bytes of regular files under STORE/ingest (0 if none).
ingest_bytes() {
  if [ -d "$1/ingest" ]; then
    find "$1/ingest" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'
  else
    echo 0
  fi
}
