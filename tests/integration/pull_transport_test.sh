#!/usr/bin/env bash
# hoist-pull's transport options: HTTPS with --cert-dir and --tls-verify=false, proxies
# from the environment, and a mirror that lacks the image falling back to the origin.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull
need_cmd docker-registry skopeo jq openssl
. "$HOIST_LIB_DIR/fixtures.sh"
T=$TEST_TMP

step "a TLS registry with a CA of the test's own"
mkdir -p "$T/ca" "$T/certs" "$T/wrong"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hoist test CA" \
  -keyout "$T/ca/ca.key" -out "$T/ca/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$T/ca/srv.key" -out "$T/ca/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/ca/ext"
openssl x509 -req -in "$T/ca/srv.csr" -CA "$T/ca/ca.crt" -CAkey "$T/ca/ca.key" -CAcreateserial -days 2 \
  -extfile "$T/ca/ext" -out "$T/ca/srv.crt" 2>/dev/null
cp "$T/ca/ca.crt" "$T/certs/ca.crt"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
  -keyout "$T/wrong/x.key" -out "$T/wrong/ca.crt" 2>/dev/null
rm "$T/wrong/x.key"
start_registry --tls "$T/ca/srv.crt" "$T/ca/srv.key"
TLS_HOST=$REG_HOST
layout=$(fixture_layout --tag v1 --layer busybox --layer files)
skopeo copy -q --dest-cert-dir "$T/certs" "oci:$layout:v1" "docker://$TLS_HOST/test/app:v1"
want=$(skopeo inspect --cert-dir "$T/certs" --raw "docker://$TLS_HOST/test/app:v1" | sha256sum | cut -c1-64)

step "--cert-dir with the registry's CA: verified HTTPS"
pull_ok "$T/out" "$T/err" --store "$T/s1" --cert-dir "$T/certs" "$TLS_HOST/test/app:v1"
assert_eq "$TLS_HOST/test/app@sha256:$want" "$(cat "$T/out")" "pinned line over HTTPS"
store_check "$T/s1"

step "--cert-dir with another CA: refused, saying why"
pull_fails "$T/out" "$T/err" --store "$T/s2" --retries 1 --cert-dir "$T/wrong" "$TLS_HOST/test/app:v1"
grep -Eqi 'certificate|ssl|tls' "$T/err" || fail "error does not mention the certificate: $(cat "$T/err")"
[ -z "$(ls "$T/s2/blobs/sha256" 2>/dev/null)" ] || fail "blobs stored from an unverified registry"

step "--tls-verify=false: HTTPS without verification"
pull_ok "$T/out" "$T/err" --store "$T/s3" --cert-dir "$T/wrong" --tls-verify=false "$TLS_HOST/test/app:v1"
assert_eq "$TLS_HOST/test/app@sha256:$want" "$(cat "$T/out")" "pinned line without verification"

step "http_proxy from the environment carries the requests"
start_registry
push_app "$REG_HOST/test/app:v1"
want2=$(remote_digest "$REG_HOST/test/app:v1")
: >"$T/proxy.log"
start_bg proxy "$T/proxy.stderr" "$PY" "$HOIST_LIB_DIR/forward_proxy.py" --port-file "$T/proxy.port" --log "$T/proxy.log"
pport=$(wait_port_file "$T/proxy.port")
http_proxy=http://127.0.0.1:$pport no_proxy= NO_PROXY= \
  pull_ok "$T/out" "$T/err" --store "$T/s4" "$REG_HOST/test/app:v1"
assert_eq "$REG_HOST/test/app@$want2" "$(cat "$T/out")" "pinned line through the proxy"
grep -q "/v2/test/app/manifests/v1" "$T/proxy.log" || fail "the proxy saw no manifest request: $(cat "$T/proxy.log")"
grep -q "/v2/test/app/blobs/sha256:" "$T/proxy.log" || fail "the proxy saw no blob request"
lines=$(wc -l <"$T/proxy.log")
no_proxy=127.0.0.1 http_proxy=http://127.0.0.1:$pport \
  pull_ok "$T/out" "$T/err" --store "$T/s5" "$REG_HOST/test/app:v1"
assert_eq "$lines" "$(wc -l <"$T/proxy.log")" "no_proxy=127.0.0.1 still went through the proxy"

step "a mirror without the image: falls back to the origin"
ORIGIN=$REG_HOST
start_registry
pull_ok "$T/out" "$T/err" --store "$T/s6" --mirror "$ORIGIN=http://$REG_HOST" "$ORIGIN/test/app:v1"
assert_eq "$ORIGIN/test/app@$want2" "$(cat "$T/out")" "pinned line after the mirror's 404"
grep -q "/v2/test/app/manifests/v1" "$REG_ACCESS_LOG" || fail "the mirror was not asked first"

step ok
