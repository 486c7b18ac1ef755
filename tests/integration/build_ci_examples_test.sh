#!/usr/bin/env bash
# The README's GitHub Actions and GitLab CI jobs, run as written: their shell
# commands are taken from the README (between <!-- ci:github --> and
# <!-- ci:gitlab --> markers), with the variables CI would set pointing at a
# local registry, in a git checkout, on two runners with empty stores. The
# second runner of each rebuilds from the registry cache without running a
# step and pushes the same digest, with the provenance labels.
. "$(dirname "$0")/lib/common.sh"
. "$HOIST_LIB_DIR/../build/lib.sh"
need_cmd docker-registry skopeo jq git
T=$TEST_TMP
build_base

# The shell script of a README job: the "run: |" block (GitHub) or the
# "script:" list (GitLab, folded items joined).
job_script() {
  "$PY" - "$HOIST_SRC/README.md" "$1" <<'EXTRACT'
import re, sys
text = open(sys.argv[1]).read()
kind = sys.argv[2]
block = re.search(r"<!-- ci:%s -->\n```yaml\n(.*?)```" % kind, text, re.S)
if not block:
    sys.exit("no ci:%s block in README.md" % kind)
lines = block.group(1).split("\n")
out = []
if kind == "github":
    start = next(i for i, l in enumerate(lines) if l.strip() == "run: |")
    indent = len(lines[start + 1]) - len(lines[start + 1].lstrip())
    for l in lines[start + 1:]:
        if l.strip() and len(l) - len(l.lstrip()) < indent:
            break
        out.append(l[indent:])
else:
    start = next(i for i, l in enumerate(lines) if l.strip() == "script:")
    item = None
    for l in lines[start + 1:]:
        s = l.strip()
        if s.startswith("- "):
            if item is not None:
                out.append(item)
            item = "" if s == "- >" else s[2:]
        elif s and item is not None:
            item += (" " if item else "") + s
        elif not s:
            continue
    if item is not None:
        out.append(item)
print("set -euo pipefail")
print("\n".join(out))
EXTRACT
}

step "a git checkout with a Dockerfile that uses a secret and a build arg"
C=$T/checkout
mkdir -p "$C"
cat >"$C/Dockerfile" <<DF
FROM $BASE
ARG VERSION=dev
COPY app.sh /app.sh
RUN --mount=type=secret,id=npm test "\$(cat /run/secrets/npm 2>/dev/null || echo none)" != leaked && echo "version \$VERSION" > /version
RUN echo ran-a-step && echo built > /built
DF
echo 'echo app' >"$C/app.sh"
printf 'build.json\n.git\n' >"$C/.dockerignore"
git -C "$C" init -q
git -C "$C" -c user.email=ci@example.invalid -c user.name=ci add -A
git -C "$C" -c user.email=ci@example.invalid -c user.name=ci commit -qm "the commit CI builds"
SHA=$(git -C "$C" rev-parse HEAD)
job_script github >"$T/github.sh"
job_script gitlab >"$T/gitlab.sh"
grep -F "hoist-build" "$T/github.sh" >/dev/null || fail "no hoist-build in the GitHub job: $(cat "$T/github.sh")"
grep -F "hoist-build" "$T/gitlab.sh" >/dev/null || fail "no hoist-build in the GitLab job: $(cat "$T/gitlab.sh")"

# runner NAME SCRIPT ENV...: the job's script in the checkout, on an empty store of its own.
runner() {
  local name=$1 script=$2 rc=0
  shift 2
  (cd "$C" && env PATH="$HOIST_BIN:$PATH" HOIST_STORE="$T/store-$name" "$@" \
    timeout -k 5 300 bash "$script") >"$T/$name.out" 2>"$T/$name.err" || rc=$?
  [ "$rc" = 0 ] || { cat "$T/$name.err" >&2; fail "runner $name: the job failed ($rc)"; }
}
ran() { grep -cE '^#[0-9]+ \| ran-a-step' "$T/$1.err" || true; }

step "GitHub Actions: two runners"
gh=(REGISTRY="$REG_HOST/gh" REGISTRY_CREDS=ci:ci NPM_TOKEN=npm-token GITHUB_SHA="$SHA"
  GITHUB_SERVER_URL=https://github.example GITHUB_REPOSITORY=team/app)
runner gh1 "$T/github.sh" "${gh[@]}"
d1=$(jq -r .digest "$C/build.json")
runner gh2 "$T/github.sh" "${gh[@]}"
assert_eq "$d1" "$(jq -r .digest "$C/build.json")" "the second runner's digest"
assert_eq 0 "$(ran gh2)" "RUN steps the second runner ran"
assert_eq "3 4 5" "$(jq -r '[.steps[] | select(.cached) | .step] | join(" ")' "$C/build.json")" "steps the second runner found cached"
cfg=$(skopeo inspect --config --tls-verify=false "docker://$REG_HOST/gh/app:$SHA")
assert_eq "$SHA" "$(jq -r '.config.Labels["org.opencontainers.image.revision"]' <<<"$cfg")" "the revision label"
assert_eq "https://github.example/team/app" "$(jq -r '.config.Labels["org.opencontainers.image.source"]' <<<"$cfg")" "the source label"
epoch=$(git -C "$C" log -1 --format=%ct)
assert_eq "$(date -u -d @"$epoch" +%Y-%m-%dT%H:%M:%SZ)" "$(jq -r .created <<<"$cfg")" "created: the commit's time"
rm -f "$C/build.json"

step "GitLab CI: two runners"
gl=(CI_REGISTRY_IMAGE="$REG_HOST/gl/app" CI_REGISTRY_USER=ci CI_REGISTRY_PASSWORD=ci CI_COMMIT_SHA="$SHA"
  CI_COMMIT_SHORT_SHA="${SHA:0:8}" CI_PROJECT_URL=https://gitlab.example/team/app)
runner gl1 "$T/gitlab.sh" "${gl[@]}"
runner gl2 "$T/gitlab.sh" "${gl[@]}"
assert_eq 0 "$(ran gl2)" "RUN steps the second runner ran"
assert_eq 1 "$(ran gl1)" "RUN steps the first runner ran"
assert_eq "$(tail -n 1 "$T/gl1.out")" "$(tail -n 1 "$T/gl2.out")" "what the two runners printed"
cfg=$(skopeo inspect --config --tls-verify=false "docker://$REG_HOST/gl/app:${SHA:0:8}")
assert_eq "$SHA" "$(jq -r '.config.Labels["org.opencontainers.image.revision"]' <<<"$cfg")" "the revision label"
