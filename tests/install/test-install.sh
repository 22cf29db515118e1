#!/usr/bin/env bash
# `cmake --install` puts the three plugins in <prefix>/bin (default prefix /opt/cni), runnable.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"

expect_eq "default install prefix is /opt/cni" "$(grep '^CMAKE_INSTALL_PREFIX:' "$BUILD/CMakeCache.txt" | cut -d= -f2)" "/opt/cni"
cmake --install "$BUILD" --prefix "$T/root" >/dev/null
for p in zl-ipam zl-bridge zl-wg; do
  check "$p installed and executable" test -x "$T/root/bin/$p"
  expect_eq "$p answers VERSION" "$(echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$T/root/bin/$p" | jq -r .cniVersion)" "1.0.0"
done
expect_eq "nothing else installed" "$(find "$T/root" -type f | wc -l)" "3"
finish
