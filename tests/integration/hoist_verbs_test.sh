#!/usr/bin/env bash
# hoist VERB: `hoist --help` lists exactly the verbs whose hoist-VERB is installed beside
# it or on $PATH; `hoist VERB` runs hoist-VERB; an unknown verb exits 2.
. "$(dirname "$0")/lib/common.sh"
need_hoist pull
T=$TEST_TMP
H=$HOIST_BIN/hoist
[ -x "$H" ] || skip "$H is not built"

verbs() { "$1" --help | sed -n 's/^  \([a-z]*\)  .*/\1/p' | sort | tr '\n' ' '; }
want=$(for v in build pull push unpack run store; do [ -x "$HOIST_BIN/hoist-$v" ] && echo "$v"; done | sort | tr '\n' ' ')

step "--help lists the verbs built beside it: $want"
assert_eq "$want" "$(PATH=/usr/bin:/bin verbs "$H")" "verbs listed"

step "a copy of hoist alone lists none; with one hoist-VERB on PATH, that one"
mkdir -p "$T/alone" "$T/path"
cp "$H" "$T/alone/hoist"
assert_eq "" "$(PATH=/usr/bin:/bin verbs "$T/alone/hoist")" "verbs of a lone hoist"
assert_match "none installed" "$(PATH=/usr/bin:/bin "$T/alone/hoist" --help)" "a lone hoist's --help"
ln -s "$(realpath "$HOIST_BIN/hoist-pull")" "$T/path/hoist-pull"
assert_eq "pull " "$(PATH=$T/path:/usr/bin:/bin verbs "$T/alone/hoist")" "verbs with hoist-pull on PATH"

step "hoist VERB runs hoist-VERB; an unknown verb exits 2"
# Captured, not piped to grep -q: grep exiting at the first match would SIGPIPE the writer.
assert_match "hoist-pull" "$("$H" pull --help)" "hoist pull --help"
rc=0
"$H" froob 2>"$T/err" || rc=$?
assert_eq 2 "$rc" "exit status of an unknown verb"
assert_match "'froob' is not a hoist command" "$(cat "$T/err")" "unknown verb message"
step ok
