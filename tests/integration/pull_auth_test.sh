#!/usr/bin/env bash
# hoist-pull and credentials: an htpasswd (Basic) registry without creds, with --creds,
# $REGISTRY_AUTH_FILE, ~/.docker/config.json (auths, credHelpers, credsStore); and a
# bearer-token registry (lib/token_server.py) with a user and anonymously.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull
need_cmd docker-registry skopeo jq htpasswd openssl
. "$HOIST_LIB_DIR/fixtures.sh"

T=$TEST_TMP
U=hoist
P=s3cret
make_htpasswd "$T/htpasswd" "$U" "$P"
start_registry --htpasswd "$T/htpasswd"
R=$REG_HOST
push_app "$R/test/app:v1" --dest-creds "$U:$P"
want=$(remote_digest "$R/test/app:v1" --creds "$U:$P")
auth_b64=$(printf '%s:%s' "$U" "$P" | base64 -w0)

step "no credentials: exit 1, says why"
pull_fails "$T/out" "$T/err" --store "$T/s0" "$R/test/app:v1"
grep -Eqi 'auth|unauthori[sz]ed|401|credential|denied' "$T/err" || fail "error does not mention authentication: $(cat "$T/err")"
assert_eq "" "$(cat "$T/out")" "stdout on failure"

step "wrong password: exit 1"
pull_fails "$T/out" "$T/err" --store "$T/s0" --creds "$U:wrong" "$R/test/app:v1"

step "--creds"
pull_ok "$T/out" "$T/err" --store "$T/s1" --creds "$U:$P" "$R/test/app:v1"
assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout with --creds"
store_check "$T/s1"

step "\$REGISTRY_AUTH_FILE"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$R" "$auth_b64" >"$T/auth.json"
rc=0
REGISTRY_AUTH_FILE=$T/auth.json run_pull "$T/out" "$T/err" --store "$T/s2" "$R/test/app:v1" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "pull with REGISTRY_AUTH_FILE exited $rc"; }
assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout with REGISTRY_AUTH_FILE"

step "\$HOME/.docker/config.json auths"
mkdir -p "$T/home-auths/.docker"
cp "$T/auth.json" "$T/home-auths/.docker/config.json"
rc=0
HOME=$T/home-auths run_pull "$T/out" "$T/err" --store "$T/s3" "$R/test/app:v1" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "pull with ~/.docker/config.json exited $rc"; }
assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout with ~/.docker/config.json"

step "\$HOME/.docker/config.json credHelpers + docker-credential-test on PATH"
mkdir -p "$T/bin" "$T/home-helper/.docker"
cat >"$T/bin/docker-credential-test" <<EOF
#!/bin/sh
# A credential helper (docker-credential-helpers protocol): server URL on stdin.
server=\$(cat)
echo "\$1 \$server" >>"$T/helper.log"
case "\$1" in
  get) printf '{"ServerURL":"%s","Username":"$U","Secret":"$P"}\n' "\$server" ;;
  *) exit 1 ;;
esac
EOF
chmod +x "$T/bin/docker-credential-test"
printf '{"credHelpers": {"%s": "test"}}\n' "$R" >"$T/home-helper/.docker/config.json"
rc=0
HOME=$T/home-helper PATH=$T/bin:$PATH run_pull "$T/out" "$T/err" --store "$T/s4" "$R/test/app:v1" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "pull with credHelpers exited $rc"; }
assert_eq "$R/test/app@$want" "$(cat "$T/out")" "stdout with credHelpers"
grep -q "^get .*$R" "$T/helper.log" || fail "helper was not asked for $R: $(cat "$T/helper.log" 2>/dev/null)"

step "\$HOME/.docker/config.json credsStore (the default helper)"
mkdir -p "$T/home-store/.docker"
printf '{"credsStore": "test"}\n' >"$T/home-store/.docker/config.json"
: >"$T/helper.log"
rc=0
HOME=$T/home-store PATH=$T/bin:$PATH run_pull "$T/out" "$T/err" --store "$T/s5" "$R/test/app:v1" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "pull with credsStore exited $rc"; }
grep -q "^get .*$R" "$T/helper.log" || fail "credsStore helper was not asked for $R"

step "bearer tokens: a token server and a registry that verifies its JWTs"
start_token_server --user "$U:$P" --anonymous-pull 'public/*'
start_registry --token
B=$REG_HOST
push_app "$B/test/app:v1" --dest-creds "$U:$P"
push_app "$B/public/app:v1" --dest-creds "$U:$P"
bwant=$(remote_digest "$B/test/app:v1" --creds "$U:$P")
mark=$(wc -l <"$TOKEN_LOG")

pull_ok "$T/out" "$T/err" --store "$T/s6" --creds "$U:$P" "$B/test/app:v1"
assert_eq "$B/test/app@$bwant" "$(cat "$T/out")" "stdout with a bearer token"
store_check "$T/s6"
tail -n +"$((mark + 1))" "$TOKEN_LOG" >"$T/token.log"
jq -e --arg u "$U" 'select(.user == $u and .status == 200 and (.scopes | index("repository:test/app:pull")))' \
  "$T/token.log" >/dev/null || fail "token server never saw scope repository:test/app:pull for $U: $(cat "$T/token.log")"

step "bearer, anonymous pull of a public repository"
pull_ok "$T/out" "$T/err" --store "$T/s7" "$B/public/app:v1"
assert_eq "$B/public/app@$bwant" "$(cat "$T/out")" "stdout for an anonymous pull"

step "bearer, private repository without credentials: exit 1"
pull_fails "$T/out" "$T/err" --store "$T/s8" "$B/test/app:v1"
grep -Eqi 'auth|unauthori[sz]ed|401|credential|denied' "$T/err" || fail "error does not mention authentication: $(cat "$T/err")"

step ok
