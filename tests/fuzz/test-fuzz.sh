#!/usr/bin/env bash
# libFuzzer on every parser of untrusted bytes (network config, IPAM state, WireGuard netlink
# replies, wireguard-go UAPI replies, peer lists, etcd answers and records, zl-meshd's state,
# peer names): builds build-fuzz/ with clang, then runs
# each target from its seeds for ZL_FUZZ_SECONDS (default 20). Any crash, leak or sanitizer
# report fails; the reproducer is kept in build-fuzz/crashes/.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"

"$SRC/scripts/install-deps.sh" clang libclang-rt-14-dev
out=$SRC/build-fuzz
CXX=clang++ cmake -S "$SRC" -B "$out" -DZL_FUZZ=ON >/dev/null
targets=(netconf state wg_netlink uapi wg_config meshd)
cmake --build "$out" -j "$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null
mkdir -p "$out/crashes"
for t in "${targets[@]}"; do
  mkdir -p "$T/corpus-$t"
  cp "$SRC/tests/fuzz/seeds/$t/"* "$T/corpus-$t/"
  if "$out/fuzz_$t" -max_total_time="${ZL_FUZZ_SECONDS:-20}" -rss_limit_mb=2048 -artifact_prefix="$out/crashes/$t-" \
    "$T/corpus-$t" >"$T/$t.log" 2>&1; then
    pass "fuzz_$t: $(grep -o 'Done [0-9]* runs' "$T/$t.log"), no crash"
  else
    fail "fuzz_$t crashed: $(grep -m3 -E 'ERROR|SUMMARY|runtime error' "$T/$t.log")"
  fi
done
finish
