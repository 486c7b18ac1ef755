#!/usr/bin/env bash
# The whole test suite: installs the Debian packages, builds, runs every unit and
# integration test, then builds the unit tests again with ASan+UBSan and runs them
# (HOIST_TEST_ASAN_ALL=1: the tools too, and the integration tests under ASan). Both
# builds are unity builds (HOIST_UNITY_BUILD: about 40% less compile time); a plain
# cmake build is not.
#   bash scripts/test.sh            everything (what CI runs)
#   HOIST_TEST_FAST=1 bash scripts/test.sh   skip the sanitizer pass
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOIST_UNITY_BUILD=ON -DHOIST_WERROR=ON >/dev/null
ninja -C build
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600

if [ -z "${HOIST_TEST_FAST:-}" ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHOIST_SANITIZE=ON -DHOIST_UNITY_BUILD=ON -DHOIST_WERROR=ON >/dev/null
  labels=(-L unit) targets=(unit_tests)
  [ -z "${HOIST_TEST_ASAN_ALL:-}" ] || { labels=(); targets=(all); }
  ninja -C build-asan "${targets[@]}"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 900 "${labels[@]}"
fi
