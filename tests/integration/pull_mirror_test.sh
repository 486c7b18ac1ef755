#!/usr/bin/env bash
# hoist-pull --mirror docker.io=http://127.0.0.1:PORT: Docker Hub names served by a local
# mirror, without internet.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull
need_cmd docker-registry skopeo jq
. "$HOIST_LIB_DIR/fixtures.sh"

T=$TEST_TMP
start_registry
push_app "$REG_HOST/library/busybox:latest"
push_app "$REG_HOST/someone/tool:1.0"
want=$(remote_digest "$REG_HOST/library/busybox:latest")
M=(--mirror "docker.io=http://$REG_HOST")

step "busybox via the mirror"
pull_ok "$T/out" "$T/err" --store "$T/s" "${M[@]}" busybox
assert_eq "docker.io/library/busybox@$want" "$(cat "$T/out")" "stdout for busybox"
assert_eq "$want" "$(store_ref_digest "$T/s" docker.io/library/busybox:latest)" "index.json entry"
store_check "$T/s"
grep -Eq '"(GET|HEAD) /v2/library/busybox/manifests/' "$REG_ACCESS_LOG" || fail "the mirror never served the manifest"

step "docker.io/library/busybox:latest and someone/tool:1.0 via the mirror"
pull_ok "$T/out" "$T/err" --store "$T/s2" "${M[@]}" docker.io/library/busybox:latest
assert_eq "docker.io/library/busybox@$want" "$(cat "$T/out")" "stdout for the full name"
pull_ok "$T/out" "$T/err" --store "$T/s2" "${M[@]}" someone/tool:1.0
assert_eq "docker.io/someone/tool@$want" "$(cat "$T/out")" "stdout for someone/tool"
assert_eq "$want" "$(store_ref_digest "$T/s2" docker.io/someone/tool:1.0)" "index.json entry for someone/tool"

step ok
