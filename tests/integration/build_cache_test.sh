#!/usr/bin/env bash
# The registry cache between two "runners" (two empty stores) and the real
# registry: A builds with --cache-to; B, with --cache-from, rebuilds without
# running a step and gets the same digest; with --push it downloads no layer
# (the registry mounts them); a step that misses but makes the same layer
# keeps the later steps cached, and so does COPY --link below a changed step;
# bad cache data (a repository that is not there, 500s, a record's layer gone,
# a corrupt layer, a record that is not hoist's, an export that fails) is a
# miss or a warning, never a failed or wrong build.
. "$(dirname "$0")/lib/common.sh"
. "$HOIST_LIB_DIR/../build/lib.sh"
need_cmd docker-registry skopeo jq curl
T=$TEST_TMP
build_base
CACHE=$REG_HOST/cache/app

C=$T/ctx
mkdir -p "$C"
echo one >"$C/a.txt"
echo two >"$C/b.txt"
dockerfile() {
  cat >"$C/Dockerfile" <<DF
FROM $BASE
COPY a.txt /a.txt
RUN echo ran-3 $1 && cat /a.txt > /a.copy
COPY --link b.txt /b.txt
RUN echo ran-5 && echo five > /five
DF
}
dockerfile ""

# runner STORE OUT ERR ARGS...: a build on its own store, --json and --metadata-file META (= ERR.meta)
runner() {
  local st=$1 out=$2 err=$3
  shift 3
  S=$T/$st hbuild_ok "$out" "$err" --json --metadata-file "$err.meta" "$@" "$C"
}
cached() { jq -r '[.steps[] | select(.cached) | .step] | join(" ")' "$1.meta"; }
ran() { grep -E '^#[0-9]+ \| ran-[0-9]' "$1" | grep -Eo 'ran-[0-9]' | tr '\n' ' ' | sed 's/ $//'; }

step "runner A builds and exports every step to --cache-to"
runner A "$T/a.json" "$T/a.err" --cache-to "$CACHE"
digest=$(jq -r .digest "$T/a.json")
assert_eq 4 "$(jq -r .cacheExported "$T/a.json")" "records exported"
tags=$(skopeo list-tags --tls-verify=false "docker://$CACHE" | jq -r '.Tags[]' | sort)
assert_eq 4 "$(wc -l <<<"$tags")" "tags in the cache repository"
key2=$(jq -r '.steps[1].cacheKey' "$T/a.err.meta")
raw=$(skopeo inspect --raw --tls-verify=false "docker://$CACHE:hoist-cache-v1-${key2#sha256:}")
assert_eq "application/vnd.hoist.build.cache.v1" "$(jq -r .artifactType <<<"$raw")" "the record's artifactType (skopeo reads it)"
assert_eq "$(jq -r '.steps[1].layer' "$T/a.err.meta")" "$(jq -r '.layers[0].digest' <<<"$raw")" "the record's layer"

step "runner B rebuilds from --cache-from alone: no step runs, same digest"
runner B "$T/b.json" "$T/b.err" --cache-from "$CACHE"
assert_eq "$digest" "$(jq -r .digest "$T/b.json")" "runner B's digest"
assert_eq "2 3 4 5" "$(cached "$T/b.err")" "steps cached on runner B"
assert_eq "" "$(ran "$T/b.err")" "RUN output on runner B"
assert_eq "$CACHE" "$(jq -r '.steps[2].cacheSource' "$T/b.err.meta")" "where step 3's record came from"
assert_eq run "$(jq -r '.steps[2].cacheInputs.kind' "$T/b.err.meta")" "step 3's key inputs, readable"
"$HOIST_BIN/hoist-unpack" -q --store "$T/B" "$(jq -r .image "$T/b.json")" "$T/bundle" >/dev/null
assert_eq five "$(cat "$T/bundle/rootfs/five")" "a file of the last layer, fetched"

step "runner C with --push: the layers are mounted from the cache and base repositories, none downloaded"
runner C "$T/c.json" "$T/c.err" --cache-from "$CACHE" --push -t "$REG_HOST/team/app:1"
assert_eq 0 "$(jq -r .cacheBytesFetched "$T/c.json")" "layer bytes runner C downloaded"
for l in $(skopeo inspect --raw --tls-verify=false "docker://$BASE" | jq -r '.layers[].digest') \
  $(jq -r '.steps[].layer | select(. != "")' "$T/c.err.meta"); do
  assert_no_file "$T/C/blobs/sha256/${l#sha256:}" "a layer blob in runner C's store (the push mounts it)"
done
assert_eq "$REG_HOST/team/app@$digest" "$(jq -r '.pushed[0]' "$T/c.json")" "what runner C pushed"
skopeo copy -q --src-tls-verify=false "docker://$REG_HOST/team/app:1" "oci:$T/pulled:x" ||
  fail "skopeo cannot copy the image runner C pushed"

step "a step that misses but makes the same layer: the steps below stay cached; COPY --link below a change too"
dockerfile "again"
runner D "$T/d.json" "$T/d.err" --cache-from "$CACHE"
assert_eq "2 4 5" "$(cached "$T/d.err")" "steps cached after step 3's command changed"
assert_eq "ran-3" "$(ran "$T/d.err")" "RUN output"
assert_match "^no record of this key in the store, nor in $CACHE" "$(jq -r '.steps[2].cacheMiss' "$T/d.err.meta")" \
  "why step 3 was built"
assert_eq "$(jq -r '.steps[2].layer' "$T/a.err.meta")" "$(jq -r '.steps[2].layer' "$T/d.err.meta")" "step 3's layer, made again"
dockerfile ""
echo changed >"$C/a.txt"
runner E "$T/e.json" "$T/e.err" --cache-from "$CACHE"
assert_eq "4" "$(cached "$T/e.err")" "steps cached after a.txt changed (COPY --link keeps its record)"
echo one >"$C/a.txt"

step "bad cache data is a miss with a warning"
runner F "$T/f.json" "$T/f.err" --cache-from "$REG_HOST/cache/never-written"
assert_eq "" "$(cached "$T/f.err")" "steps cached from a repository that does not exist"
grep -F "cache '$REG_HOST/cache/never-written': the repository does not exist (yet)" "$T/f.err" >/dev/null ||
  fail "no warning for a missing cache repository: $(cat "$T/f.err")"
assert_eq "$digest" "$(jq -r .digest "$T/f.json")" "the digest built without the cache"

start_fault_proxy "$REG_URL"
proxy_rule '{"mode": "status", "status": 500, "kind": "manifest", "times": -1}'
runner G "$T/g.json" "$T/g.err" --cache-from "$PROXY_HOST/cache/app" --insecure-registry "$PROXY_HOST"
assert_eq "" "$(cached "$T/g.err")" "steps cached through a registry answering 500"
assert_eq 1 "$(grep -c "cache '$PROXY_HOST/cache/app': .*500" "$T/g.err")" "one warning for the 500s: $(cat "$T/g.err")"
proxy_reset

layer3=$(jq -r '.steps[2].layer' "$T/a.err.meta")
proxy_rule "{\"mode\": \"corrupt\", \"digest\": \"${layer3#sha256:}\", \"times\": -1}"
runner H "$T/h.json" "$T/h.err" --cache-from "$PROXY_HOST/cache/app" --insecure-registry "$PROXY_HOST"
assert_eq "$digest" "$(jq -r .digest "$T/h.json")" "the digest after a corrupt cached layer"
grep -F "the registry cache gave a bad layer" "$T/h.err" >/dev/null || fail "no warning for a corrupt layer: $(cat "$T/h.err")"
assert_eq "ran-3" "$(ran "$T/h.err")" "RUN output after a corrupt cached layer (step 3 built again)"
proxy_reset

layer5=$(jq -r '.steps[4].layer' "$T/a.err.meta")
curl -sS -o /dev/null -w '%{http_code}' -X DELETE "$REG_URL/v2/cache/app/blobs/$layer5" >"$T/del"
assert_eq 202 "$(cat "$T/del")" "DELETE of step 5's layer in the cache repository"
runner I "$T/i.json" "$T/i.err" --cache-from "$CACHE"
assert_eq "2 3 4" "$(cached "$T/i.err")" "steps cached when step 5's layer is gone"
grep -F "the layer $layer5 of a cache record is missing" "$T/i.err" >/dev/null || fail "no warning: $(cat "$T/i.err")"
assert_eq "$digest" "$(jq -r .digest "$T/i.json")" "the digest"

skopeo copy -q --dest-tls-verify=false "oci:$T/pulled:x" "docker://$REG_HOST/cache/other:hoist-cache-v1-${key2#sha256:}" ||
  fail "skopeo copy"
runner J "$T/j.json" "$T/j.err" --cache-from "$REG_HOST/cache/other"
assert_eq "" "$(cached "$T/j.err")" "steps cached from a record that is not hoist's"
grep -F "a cache record that is not hoist's" "$T/j.err" >/dev/null || fail "no warning: $(cat "$T/j.err")"

proxy_rule '{"mode": "status", "status": 500, "kind": "upload", "times": -1}'
runner K "$T/k.json" "$T/k.err" --cache-to "$PROXY_HOST/cache/unwritable" --insecure-registry "$PROXY_HOST"
assert_eq 0 "$(jq -r .cacheExported "$T/k.json")" "records exported through a registry refusing uploads"
grep -F "cannot export the build cache to '$PROXY_HOST/cache/unwritable'" "$T/k.err" >/dev/null ||
  fail "no warning for a failed export: $(cat "$T/k.err")"
