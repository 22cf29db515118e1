#!/usr/bin/env bash
# The build a packager makes: CMAKE_BUILD_TYPE=Release (and MinSizeRel), every target, with
# -Werror on, so that no build type's optimiser finds a warning the default build does not.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"

for type in Release MinSizeRel; do
  if cmake -S "$SRC" -B "$T/$type" -DCMAKE_BUILD_TYPE="$type" -DZL_WERROR=ON >"$T/$type.log" 2>&1 &&
    cmake --build "$T/$type" -j "$(nproc)" >>"$T/$type.log" 2>&1; then
    pass "$type build with -Werror"
  else
    fail "$type build: $(grep -m3 -E 'error|warning' "$T/$type.log")"
  fi
  expect_eq "$type: the plugins answer VERSION" \
    "$(for p in zl-ipam zl-bridge zl-wg; do echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$T/$type/$p" | jq -r .cniVersion; done | sort -u)" "1.0.0"
  rm -rf "${T:?}/$type"
done
finish
