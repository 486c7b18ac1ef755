#!/usr/bin/env bash
# Checks the layering rule (STYLE.md 3.1): every #include "<module>/..." in lib/<m>
# must name <m> itself or a module <m> may use; Linux-specific headers and raw
# syscall() only in lib/sys and lib/runtime.
set -u
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
declare -A allowed=(
  [util]=""
  [sys]="util"
  [digest]="util"
  [io]="util digest"
  [ref]="util digest"
  [image]="util digest io ref"
  [http]="util io"
  [registry]="util digest io ref image http"
  [store]="util sys digest io ref image"
  [layout]="util sys digest io ref image store"
  [transport]="util sys digest io ref image http registry store layout"
  [archive]="util sys digest io image"
  [bundle]="util sys image"
  [runtime]="util sys"
  [dockerfile]="util"
  [unpack]="util sys digest io ref image store archive bundle transport"
  [build]="util sys digest io ref image http registry store layout transport archive bundle unpack runtime dockerfile"
  [cli]="util sys digest io ref image http registry store layout transport"
)
bad=0
for dir in "$src"/lib/*/; do
  m=$(basename "$dir")
  if [ -z "${allowed[$m]+x}" ]; then
    echo "lib/$m: module not in the layering table"; bad=1; continue
  fi
  ok=" $m ${allowed[$m]} "
  while IFS=: read -r file line inc; do
    dep=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$inc")
    case "$ok" in *" $dep "*) ;; *) echo "${file#$src/}:$line: lib/$m may not include $dep/"; bad=1 ;; esac
  done < <(grep -rnE '^\s*#\s*include "[a-z_]+/' "$dir" || true)
  case "$m" in sys|runtime) continue ;; esac
  while IFS= read -r hit; do
    echo "${hit#$src/}: Linux-specific code belongs in lib/sys or lib/runtime"; bad=1
  done < <(grep -rnE '#\s*include <(sys/mount\.h|sched\.h|linux/|seccomp\.h)|[^_a-z]syscall\(' "$dir" || true)
done
[ $bad = 0 ] && echo "layering: ok"
exit $bad
