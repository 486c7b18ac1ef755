#!/usr/bin/env bash
# hoist-store ls, tag, rm and df on a real store filled by hoist-pull from the
# real registry: ls lists names, digests, sizes and created times (a glob
# picks some); tag adds a name that skopeo finds in the store's index.json;
# rm removes names and leaves the blobs, which df then counts as what no name
# reaches; a name the store lacks is an error.
. "$(dirname "$0")/lib/common.sh"
need_cmd docker-registry skopeo jq
need_hoist pull store
T=$TEST_TMP
S=$T/store
. "$HOIST_LIB_DIR/fixtures.sh"
start_registry
push_layout "$(fixture_layout --tag a --layer busybox)" a "$REG_HOST/team/app:1"
push_layout "$(fixture_layout --tag b --layer random:64K:b)" b "$REG_HOST/other/tool:2"
pull_ok "$T/o" "$T/e" --store "$S" "$REG_HOST/team/app:1" "$REG_HOST/other/tool:2"
hs() { "$HOIST_BIN/hoist-store" --store "$S" "$@"; }

step "ls: every name, with digest and size; a glob picks some"
hs ls --json >"$T/ls.json" || fail "hoist-store ls failed"
assert_eq 2 "$(wc -l <"$T/ls.json")" "images listed"
app=$(jq -r --arg n "$REG_HOST/team/app:1" 'select(.name == $n) | .digest' "$T/ls.json")
assert_eq "$(skopeo inspect --raw --tls-verify=false "docker://$REG_HOST/team/app:1" | sha256sum | cut -d' ' -f1)" \
  "${app#sha256:}" "the digest ls gives"
size=$(jq -r --arg n "$REG_HOST/team/app:1" 'select(.name == $n) | .size' "$T/ls.json")
[ "$size" -gt 100000 ] || fail "ls gives app:1 a size of $size bytes"
assert_eq "$REG_HOST/other/tool:2" "$(hs ls '*/other/*' --json | jq -r .name)" "ls with a glob"
assert_eq "$REG_HOST/other/tool:2" "$(hs ls 'other/*' --json | jq -r .name)" "ls with a glob without the registry"
hs ls >"$T/ls.txt"
assert_match "^NAME +DIGEST +SIZE +CREATED" "$(head -n 1 "$T/ls.txt")" "the table's header"

step "tag: a new name, as skopeo reads the store"
hs tag "$REG_HOST/team/app:1" "$REG_HOST/team/app:stable" || fail "hoist-store tag failed"
assert_eq "$app" "$(hs ls '*:stable' --json | jq -r .digest)" "the new name's digest"
skopeo inspect --raw "oci:$S:$REG_HOST/team/app:stable" >/dev/null || fail "skopeo does not find the new name"
hs tag "$app" "$REG_HOST/team/app:by-digest" || fail "hoist-store tag by digest failed"
assert_eq "$app" "$(hs ls '*:by-digest' --json | jq -r .digest)" "a name given from a digest"

step "rm: names go, blobs stay; df counts what no name reaches"
before=$(hs df --json | jq -r .unreferencedBytes)
assert_eq 0 "$before" "unreferenced bytes before rm"
hs rm "$REG_HOST/other/tool:2" || fail "hoist-store rm failed"
assert_eq "" "$(hs ls 'other/*' --json)" "ls after rm"
hs df --json >"$T/df.json"
[ "$(jq -r .unreferencedBytes "$T/df.json")" -gt 65536 ] || fail "df after rm: $(cat "$T/df.json")"
assert_eq 3 "$(jq -r .images "$T/df.json")" "names after rm"
rc=0
hs rm "$REG_HOST/other/tool:2" 2>"$T/err" || rc=$?
assert_eq 1 "$rc" "exit status of rm of a name the store lacks"
assert_match "not found in store" "$(cat "$T/err")" "the error"
rc=0
hs frob 2>/dev/null || rc=$?
assert_eq 2 "$rc" "exit status of an unknown command"
