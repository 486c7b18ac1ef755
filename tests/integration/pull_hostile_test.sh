#!/usr/bin/env bash
# hoist-pull against a hostile registry (lib/fault_proxy.py in front of an htpasswd
# registry): corrupt, truncated, failing (500, 429, reset), redirecting, oversized,
# schema 1 and over-long answers.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull
need_cmd docker-registry skopeo jq curl htpasswd
. "$HOIST_LIB_DIR/fixtures.sh"

T=$TEST_TMP
CREDS=hoist:s3cret
make_htpasswd "$T/htpasswd" hoist s3cret
start_registry --htpasswd "$T/htpasswd"
push_app "$REG_HOST/test/app:v1" --dest-creds "$CREDS"
v2=$(fixture_layout --tag v2 "${APP_LAYERS[@]}" --layer random:1M:extra)
push_layout "$v2" v2 "$REG_HOST/test/app:v2" --dest-creds "$CREDS"
start_fault_proxy "$REG_URL" --upstream-creds "$CREDS"
X=$PROXY_HOST            # every pull goes through the proxy
want=$(remote_digest "$X/test/app:v1" --creds "$CREDS")
remote_raw "$X/test/app:v1" --creds "$CREDS" >"$T/v1.json"
remote_raw "$X/test/app:v2" --creds "$CREDS" >"$T/v2.json"
big=$(jq -r '.layers[2].digest' "$T/v1.json")    # the 2 MiB random layer
extra=$(jq -r '.layers[3].digest' "$T/v2.json")  # the layer only v2 has
extra_size=$(jq -r '.layers[3].size' "$T/v2.json")
n=0

# fresh: a new empty store in $S, no rules, a new log mark in $MARK.
fresh() {
  n=$((n + 1))
  S=$T/store$n
  proxy_reset
  MARK=$(proxy_mark)
  step "$*"
}
# gets DIGEST: this case's logged GETs of that blob, as a JSON array.
gets() { proxy_log "$MARK" | jq -s --arg d "$1" '[.[] | select(.method == "GET" and (.path | endswith($d)))]'; }
# nothing_left STORE DIGEST SIZE: no blob file and nothing under ingest/ that could be it.
nothing_left() {
  local hex=${2#sha256:}
  assert_no_file "$1/blobs/sha256/$hex" "blob file for the refused $2"
  if [ -d "$1/ingest" ]; then
    [ -z "$(find "$1/ingest" -name "*$hex*" -print -quit)" ] || fail "ingest/ keeps a file named after $2"
    [ -z "$(find "$1/ingest" -type f -size +"$(($3 / 2))"c -print -quit)" ] ||
      fail "ingest/ keeps a file of over half the size of the refused $2: $(find "$1/ingest" -type f -size +"$(($3 / 2))"c)"
  fi
}
pull_v1_ok() {
  pull_ok "$T/out" "$T/err" --store "$S" --creds "$CREDS" "$X/test/app:v1"
  assert_eq "$X/test/app@$want" "$(cat "$T/out")" "stdout"
  assert_file "$S/blobs/sha256/${big#sha256:}"
  store_check "$S"
}

fresh "corrupt blob: refused, named, nothing kept"
pull_v1_ok   # the store holds v1, so of v2 only the config and $extra are fetched
proxy_rule "{\"mode\": \"corrupt\", \"digest\": \"$extra\"}"
pull_fails "$T/out" "$T/err" --store "$S" --creds "$CREDS" "$X/test/app:v2"
hex=${extra#sha256:}
grep -q "${hex:0:12}" "$T/err" || fail "error does not name the digest $extra: $(cat "$T/err")"
grep -q "test/app" "$T/err" || fail "error does not name the repository: $(cat "$T/err")"
grep -q "$X" "$T/err" || fail "error does not name the registry $X: $(cat "$T/err")"
[ "$(gets "$extra" | jq '[.[] | select(.rule == "corrupt")] | length')" -ge 1 ] || fail "the corrupt blob was never served"
nothing_left "$S" "$extra" "$extra_size"
assert_eq "" "$(cat "$T/out")" "stdout on failure"
assert_eq "$want" "$(store_ref_digest "$S" "$X/test/app:v1")" "v1 still in index.json"
store_check "$S"

fresh "truncated body once: resumed with Range"
proxy_rule "{\"mode\": \"truncate\", \"digest\": \"$big\", \"times\": 1, \"bytes\": 1048576}"
pull_v1_ok
gets "$big" >"$T/gets"
[ "$(jq 'length' "$T/gets")" -ge 2 ] || fail "no retry after the truncated body: $(cat "$T/gets")"
jq -e '[.[] | select(.range != null and (.range | test("^bytes=[1-9][0-9]*-")))] | length > 0' "$T/gets" >/dev/null ||
  fail "the retry did not resume with a Range request: $(jq -c '.[] | {range, status, bytes, rule}' "$T/gets")"

fresh "body truncated every time: bounded, clear error"
proxy_rule "{\"mode\": \"truncate\", \"digest\": \"$big\", \"bytes\": 0}"
pull_fails "$T/out" "$T/err" --store "$S" --creds "$CREDS" "$X/test/app:v1"
assert_no_file "$S/blobs/sha256/${big#sha256:}"

fresh "500 twice, then the blob"
proxy_rule "{\"mode\": \"status\", \"status\": 500, \"digest\": \"$big\", \"times\": 2}"
pull_v1_ok
statuses=$(gets "$big" | jq -r '[.[].status | tostring] | join(" ")')
assert_match '^500 500 20[06]$' "$statuses" "statuses of the blob GETs"

fresh "connection reset twice, then the blob"
proxy_rule "{\"mode\": \"reset\", \"digest\": \"$big\", \"times\": 2}"
pull_v1_ok

fresh "429 with Retry-After: 1"
proxy_rule "{\"mode\": \"status\", \"status\": 429, \"retry_after\": 1, \"digest\": \"$big\", \"times\": 1}"
pull_v1_ok
gets "$big" >"$T/gets"
"$PY" - "$T/gets" <<'EOF' || fail "the retry came sooner than Retry-After: $(cat "$T/gets")"
import json, sys
g = json.load(open(sys.argv[1]))
t429 = [e["time"] for e in g if e["status"] == 429]
later = [e["time"] for e in g if e["status"] in (200, 206)]
assert t429 and later and min(later) - t429[0] >= 0.95, (t429, later)
EOF

fresh "redirect to another port: followed, no Authorization sent there"
proxy_rule '{"mode": "redirect"}'
pull_v1_ok
proxy_log "$MARK" >"$T/log"
jq -se '[.[] | select(.listener == "redirect")] | length > 0' "$T/log" >/dev/null || fail "no request reached the redirect target"
jq -se '[.[] | select(.listener == "main" and .auth)] | length > 0' "$T/log" >/dev/null ||
  fail "no Authorization at the registry itself, so the leak check proves nothing"
leaks=$(jq -sc '[.[] | select(.listener == "redirect" and .auth) | .path]' "$T/log")
assert_eq "[]" "$leaks" "requests to $REDIRECT_HOST that carried Authorization"

fresh "manifest over 4 MiB: refused"
proxy_rule '{"mode": "oversize_manifest", "size": 5242880}'
pull_fails "$T/out" "$T/err" --store "$S" --creds "$CREDS" "$X/test/app:v1"
grep -qi manifest "$T/err" || fail "error does not say manifest: $(cat "$T/err")"
grep -Eqi 'too (large|big)|exceed|limit|MiB|size' "$T/err" || fail "error does not say the manifest is too large: $(cat "$T/err")"

fresh "schema 1 manifest: refused with a clear message"
proxy_rule '{"mode": "schema1"}'
pull_fails "$T/out" "$T/err" --store "$S" --creds "$CREDS" "$X/test/app:v1"
grep -Eqi 'schema ?1' "$T/err" || fail "error does not mention schema 1: $(cat "$T/err")"

fresh "blob body longer than its descriptor: refused"
pull_v1_ok
proxy_rule "{\"mode\": \"longer\", \"digest\": \"$extra\", \"extra\": 4096}"
pull_fails "$T/out" "$T/err" --store "$S" --creds "$CREDS" "$X/test/app:v2"
nothing_left "$S" "$extra" "$extra_size"

step ok
