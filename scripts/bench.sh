#!/usr/bin/env bash
# Benchmarks against the reference plugins, side by side in one run.
# Usage: scripts/bench.sh [ipam|bridge|wg|mesh|all]   (default: all)
# Environment: ZL_BUILD (default build/), ZL_REF_CNI (default /usr/lib/cni),
# BENCH_N (ADD+DEL pairs per measurement, default 200), BENCH_DIR (where the stores live,
# default /tmp; /dev/shm takes fsync out of the picture).
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME with a '.' separator
src=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${ZL_BUILD:-$src/build}
REF=${ZL_REF_CNI:-/usr/lib/cni}
N=${BENCH_N:-200}

work=$(mktemp -d "${BENCH_DIR:-/tmp}/zl-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

die() {
  echo "bench: $*" >&2
  exit 1
}

# op BIN CMD ID CONF-FILE: execs one plugin command; sets $us to its wall time in µs.
op() {
  local t0 t1
  t0=$EPOCHREALTIME
  CNI_COMMAND=$2 CNI_CONTAINERID=$3 "$1" <"$4" >"$work/out" 2>"$work/err" ||
    die "$2 $3 with $1 failed: $(cat "$work/out" "$work/err")"
  t1=$EPOCHREALTIME
  us=$((${t1/./} - ${t0/./}))
}

# stats µs…: "median p90" in ms.
stats() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    p90 = int(NR * 0.9 + 0.999); printf "%.2f %.2f", v[int((NR + 1) / 2)] / 1000, v[p90] / 1000 }'
}

# The n-th address (n ≥ 0) of 10.240.0.0/16 after the gateway 10.240.0.1.
nth_ip() {
  local v=$(($1 + 2))
  echo "10.240.$((v / 256)).$((v % 256))"
}

# host-local's store, written as host-local itself writes it (checked against a real ADD
# below): one file per address holding "<containerID>\r\n<ifname>", and the cursor.
hl_prepopulate() { # DIR FROM TO
  local i
  for ((i = $2; i < $3; i++)); do printf 'pop%s\r\neth0' "$i" >"$1/$(nth_ip "$i")"; done
  printf '%s' "$(nth_ip $(($3 - 1)))" >"$1/last_reserved_ip.0"
}

bench_ipam() {
  local hl=$REF/host-local zl=$BUILD/zl-ipam
  [ -x "$hl" ] || die "$hl missing (apt-get install containernetworking-plugins)"
  [ -x "$zl" ] || die "$zl missing (scripts/build.sh)"
  echo "== ipam: host-local vs zl-ipam, $N ADD+DEL pairs per level, /16 subnet, cniVersion 1.0.0"
  local plugin
  for plugin in host-local zl-ipam; do
    jq -n --arg t "$plugin" --arg d "$work/$plugin" '{cniVersion: "1.0.0", name: "zlbench",
      ipam: {type: $t, ranges: [[{subnet: "10.240.0.0/16"}]], routes: [{dst: "0.0.0.0/0"}], dataDir: $d}}' \
      >"$work/$plugin.conf"
  done
  export CNI_NETNS=/var/run/netns/zl-bench CNI_IFNAME=eth0 CNI_PATH=$BUILD:$REF

  # host-local's on-disk format, from a real ADD, before forging 5000 of them.
  op "$hl" ADD fmtcheck "$work/host-local.conf"
  local f=$work/host-local/zlbench/10.240.0.2
  [ "$(od -An -c "$f")" = "$(printf 'fmtcheck\r\neth0' | od -An -c)" ] ||
    die "host-local's file format changed: $(od -c "$f")"
  op "$hl" DEL fmtcheck "$work/host-local.conf"

  local start=$SECONDS have=0 level i
  local -A add_p50 add_p90 del_p50 del_p90 floor_p50
  printf '%-7s %-11s %9s %9s %9s %9s\n' existing plugin 'ADD p50' 'ADD p90' 'DEL p50' 'DEL p90'
  for level in 0 1000 5000; do
    # zl-ipam's store grows through real ADDs; host-local's is forged (see above).
    for ((i = have; i < level; i++)); do op "$zl" ADD "pop$i" "$work/zl-ipam.conf"; done
    [ "$level" -eq 0 ] || hl_prepopulate "$work/host-local/zlbench" "$have" "$level"
    have=$level
    [ "$(jq '.allocations | length' "$work/zl-ipam/zlbench.json" 2>/dev/null || echo 0)" -eq "$level" ] ||
      die "zl-ipam store does not hold $level allocations"
    [ "$(find "$work/host-local/zlbench" -name '10.240.*' | wc -l)" -eq "$level" ] ||
      die "host-local store does not hold $level allocations"

    local -A adds=() dels=()
    local floor=()
    for ((i = 0; i < N; i++)); do
      op /bin/true - - /dev/null # the cost of fork+exec itself, which no plugin can go below
      floor+=("$us")
      # Alternate the order so neither plugin always runs on a warm cache.
      local order=(host-local zl-ipam)
      [ $((i % 2)) -eq 0 ] || order=(zl-ipam host-local)
      for plugin in "${order[@]}"; do
        local bin=$zl
        [ "$plugin" = zl-ipam ] || bin=$hl
        op "$bin" ADD "bench$i" "$work/$plugin.conf"
        adds[$plugin]+="$us "
        op "$bin" DEL "bench$i" "$work/$plugin.conf"
        dels[$plugin]+="$us "
      done
    done
    local a d
    read -r a d <<<"$(stats "${floor[@]}")"
    floor_p50[$level]=$a
    printf '%-7s %-11s %7s ms %6s ms\n' "$level" "/bin/true" "$a" "$d"
    for plugin in host-local zl-ipam; do
      # shellcheck disable=SC2086  # word lists of numbers
      read -r a d <<<"$(stats ${adds[$plugin]})"
      add_p50[$plugin$level]=$a
      add_p90[$plugin$level]=$d
      # shellcheck disable=SC2086
      read -r a d <<<"$(stats ${dels[$plugin]})"
      del_p50[$plugin$level]=$a
      del_p90[$plugin$level]=$d
      printf '%-7s %-11s %7s ms %6s ms %6s ms %6s ms\n' "$level" "$plugin" "${add_p50[$plugin$level]}" \
        "${add_p90[$plugin$level]}" "${del_p50[$plugin$level]}" "${del_p90[$plugin$level]}"
    done
  done
  awk -v zl0="${add_p50[zl-ipam0]}" -v hl0="${add_p50[host-local0]}" -v zl5="${add_p50[zl-ipam5000]}" \
    -v f0="${floor_p50[0]}" 'BEGIN {
    r1 = zl0 / hl0; r2 = zl5 / zl0
    printf "zl-ipam ADD p50 / host-local ADD p50 at 0:   %.2f (target <= 0.33) %s\n", r1, r1 <= 1 / 3 ? "ok" : "MISSED"
    printf "zl-ipam ADD p50 at 5000 / at 0:              %.2f (target <= 1.50) %s\n", r2, r2 <= 1.5 ? "ok" : "MISSED"
    printf "  (net of the /bin/true exec floor: %.2f and %.2f)\n", (zl0 - f0) / (hl0 - f0), (zl5 - f0) / (zl0 - f0)
  }'
  echo "ipam bench took $((SECONDS - start)) s"
}

bench_bridge() { "$src/scripts/bench-bridge.sh" "$BUILD"; }

# Kernel WireGuard: here if this kernel has it, else inside the VM (scripts/vm-run.sh).
bench_wg() {
  echo "== wg: zl-wg vs wireguard-tools on kernel WireGuard"
  local probe=zl-bench-probe-$$
  ip netns add "$probe"
  if ip -n "$probe" link add wgprobe type wireguard 2>/dev/null; then
    ip netns del "$probe"
    ZL_BUILD=$BUILD "$src/scripts/bench-wg.sh"
  else
    ip netns del "$probe"
    echo "(no WireGuard in this kernel: running in the VM; TCG makes absolute times slow, ratios still hold)"
    "$src/scripts/vm-run.sh" --timeout 1800 -- env ZL_BUILD="$BUILD" "$src/scripts/bench-wg.sh"
  fi
}

case ${1:-all} in
  ipam) bench_ipam ;;
  bridge) bench_bridge ;;
  wg) bench_wg ;;
  mesh) ZL_BUILD=$BUILD "$src/scripts/bench-mesh.sh" ;;
  all)
    bench_ipam
    bench_bridge
    bench_wg
    ZL_BUILD=$BUILD "$src/scripts/bench-mesh.sh"
    ;;
  *) die "usage: scripts/bench.sh [ipam|bridge|wg|mesh|all]" ;;
esac
