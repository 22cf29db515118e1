#!/usr/bin/env bash
# libFuzzer on every parser of untrusted bytes (network config, IPAM state, WireGuard netlink
# replies, wireguard-go UAPI replies, peer lists, etcd answers and records, zl-meshd's state,
# peer names): builds build-fuzz/ with clang, then runs each target from its seeds.
# By default a run is reproducible: a fixed seed and a fixed number of inputs per target
# (about 20 s each here), so a commit passes or fails the same way every time. With
# ZL_FUZZ_SECONDS=N each target instead explores for N seconds from a random seed: that is
# how new defects are found; each one's input goes into tests/fuzz/seeds/ with its fix.
# Any crash, leak or sanitizer report fails; the reproducer is kept in build-fuzz/crashes/.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"

"$SRC/scripts/install-deps.sh" clang libclang-rt-14-dev
out=$SRC/build-fuzz
CXX=clang++ cmake -S "$SRC" -B "$out" -DZL_FUZZ=ON >/dev/null
targets=(netconf state wg_netlink uapi wg_config meshd)
declare -A runs=([netconf]=150000 [state]=150000 [wg_netlink]=1000000 [uapi]=1000000 [wg_config]=600000 [meshd]=80000)
cmake --build "$out" -j "$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null
mkdir -p "$out/crashes"
for t in "${targets[@]}"; do
  mkdir -p "$T/corpus-$t"
  cp "$SRC/tests/fuzz/seeds/$t/"* "$T/corpus-$t/"
  if [ -n "${ZL_FUZZ_SECONDS:-}" ]; then budget=(-max_total_time="$ZL_FUZZ_SECONDS"); else budget=(-seed=1 -runs="${runs[$t]}"); fi
  if "$out/fuzz_$t" "${budget[@]}" -rss_limit_mb=2048 -artifact_prefix="$out/crashes/$t-" \
    "$T/corpus-$t" >"$T/$t.log" 2>&1; then
    pass "fuzz_$t: $(grep -o 'Done [0-9]* runs' "$T/$t.log"), no crash"
  else
    fail "fuzz_$t crashed: $(grep -m3 -E 'ERROR|SUMMARY|runtime error' "$T/$t.log")"
  fi
done
finish
