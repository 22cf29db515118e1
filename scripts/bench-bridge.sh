#!/usr/bin/env bash
# zl-bridge + zl-ipam against the reference bridge + host-local (Debian's
# containernetworking-plugins in /usr/lib/cni), side by side in one run, same options
# (isGateway, ipMasq, a /16, a default route), same environment, exec'd directly:
#   - N sequential ADDs, then N sequential DELs (one pod netns each);
#   - bursts of 32 and 64 parallel ADDs (then parallel DELs): per-op latency, wall time,
#     duplicate addresses and errors (both must be 0);
#   - the kernel's veth teardown floor: `ip link del` of a veth whose peer is in another
#     netns (median of 30), next to the DEL medians.
# Each plugin set runs in its own throwaway "node" netns; the timing loops run inside it
# (the script re-execs itself there) so no `ip netns exec` is counted.
# Usage: scripts/bench-bridge.sh [build-dir]        (root; N=100 by default)
# IPAM state (both sets) lives under STATE_DIR (default /var/tmp: a disk, like the
# production /var/lib; zl-ipam fsyncs its state, host-local does not).
# Targets: zl ADD median <= 1/5 of the reference's; zl DEL median <= the reference's.
set -euo pipefail
export LC_ALL=C

# ---- inside a node netns -------------------------------------------------------------
# inner SET CMD FIRST COUNT PARALLEL: runs CMD for pods FIRST…FIRST+COUNT-1 with SET's
# plugin and config; one "index rc microseconds" line per op on stdout.
inner() {
  local set=$1 cmd=$2 first=$3 count=$4 par=$5 i plugin conf
  plugin=$(cat "$BENCH_T/$set.plugin")
  conf=$(cat "$BENCH_T/$set.json")
  one() {
    local i=$1 t0 t1 rc=0
    t0=$EPOCHREALTIME
    CNI_COMMAND=$cmd CNI_CONTAINERID=bench$i CNI_NETNS=/var/run/netns/$BENCH_PODS$set-$i CNI_IFNAME=eth0 \
      CNI_PATH=$BENCH_PATH "$plugin" <<<"$conf" >"$BENCH_T/out/$set.$cmd.$i" 2>"$BENCH_T/err/$set.$cmd.$i" || rc=$?
    t1=$EPOCHREALTIME
    echo "$i $rc $((${t1/./} - ${t0/./}))"
  }
  if [ "$par" = 1 ]; then
    for ((i = first; i < first + count; i++)); do one "$i"; done
  else
    for ((i = first; i < first + count; i++)); do one "$i" & done
    wait
  fi
}
# floor COUNT: times `ip link del` of COUNT veths whose peers sit in pod netns.
floor() {
  local i t0 t1
  for ((i = 0; i < $1; i++)); do
    ip link add "zlfloor$i" type veth peer name eth9 netns "${BENCH_PODS}zl-$i"
    ip link set "zlfloor$i" up
  done
  for ((i = 0; i < $1; i++)); do
    t0=$EPOCHREALTIME
    ip link del "zlfloor$i"
    t1=$EPOCHREALTIME
    echo "$i 0 $((${t1/./} - ${t0/./}))"
  done
}
case ${1:-} in
  --inner) shift; inner "$@"; exit ;;
  --floor) shift; floor "$@"; exit ;;
esac

# ---- driver ----------------------------------------------------------------------------
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
N=${N:-100}
BURSTS=(32 64)
REF=/usr/lib/cni
[ "$(id -u)" -eq 0 ] || { echo "bench-bridge: needs root (network namespaces)" >&2; exit 1; }
for f in "$REF/bridge" "$REF/host-local" "$build/zl-bridge" "$build/zl-ipam"; do
  [ -x "$f" ] || { echo "bench-bridge: $f missing" >&2; exit 1; }
done

T=$(mktemp -d "${STATE_DIR:-/var/tmp}/zl-bench.XXXXXX")
tag=$(printf '%04x' $((RANDOM % 65536)))$$
pods=zlbp$tag-
npods=$N
for b in "${BURSTS[@]}"; do ((b > npods)) && npods=$b; done
NETNS=()
cleanup() {
  local n
  for n in "${NETNS[@]}"; do
    ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/out" "$T/err"
export BENCH_T=$T BENCH_PODS=$pods

echo "bench-bridge: $N sequential ADD/DEL, bursts of ${BURSTS[*]}; $(nproc) CPUs, kernel $(uname -r)"
sets=(ref zl)
for s in "${sets[@]}"; do
  for ((i = 0; i < npods; i++)); do
    ip netns add "$pods$s-$i"
    NETNS+=("$pods$s-$i")
  done
done
declare -A node
for s in "${sets[@]}"; do
  node[$s]=zlbn$s$tag
  ip netns add "${node[$s]}"
  NETNS+=("${node[$s]}")
  ip -n "${node[$s]}" link set lo up
done
ipam_ranges='"ranges": [[{"subnet": "10.250.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}]'
cat >"$T/ref.json" <<EOF
{"cniVersion": "1.0.0", "name": "benchref", "type": "bridge", "bridge": "brbench0",
 "isGateway": true, "ipMasq": true,
 "ipam": {"type": "host-local", "dataDir": "$T/host-local", $ipam_ranges}}
EOF
cat >"$T/zl.json" <<EOF
{"cniVersion": "1.0.0", "name": "benchzl", "type": "zl-bridge", "bridge": "zlbench0",
 "isGateway": true, "ipMasq": true,
 "ipam": {"type": "zl-ipam", "dataDir": "$T/zl-ipam", $ipam_ranges}}
EOF
echo "$REF/bridge" >"$T/ref.plugin"
echo "$build/zl-bridge" >"$T/zl.plugin"
declare -A cni_path=([ref]=$REF [zl]=$build)

# run SET CMD FIRST COUNT PAR TAG: records "$T/TAG.SET" (index rc µs lines); prints wall µs.
run() {
  local set=$1 t0 t1
  t0=$EPOCHREALTIME
  ip netns exec "${node[$set]}" env BENCH_PATH="${cni_path[$set]}" bash "$0" --inner "$@" >"$T/$6.$set"
  t1=$EPOCHREALTIME
  echo $((${t1/./} - ${t0/./}))
}
# stats FILE: "median p90" in ms of the µs column.
stats() {
  awk '{print $3}' "$1" | sort -n | awk '{v[NR] = $1} END {
    if (NR == 0) { print "- -"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    p = v[int(0.9 * NR + 0.999999)]
    printf "%.2f %.2f\n", m / 1000, p / 1000 }'
}
errors() { awk '$2 != 0' "$1" | wc -l; }
dups() { # SET CMD FIRST COUNT: duplicate addresses among the ADD results
  local i
  for ((i = $3; i < $3 + $4; i++)); do jq -r '.ips[]?.address' "$T/out/$1.$2.$i" 2>/dev/null; done | sort | uniq -d | wc -l
}
first_error() { # SET CMD: the first failing op's answer, for the report
  local f
  for f in "$T/out/$1.$2".*; do
    if jq -e '.code' "$f" >/dev/null 2>&1; then
      echo "    e.g. $(head -c 300 "$f")"
      return
    fi
  done
}

row() { printf '%-14s %-4s %5s %10s %10s %8s %6s %5s\n' "$@"; }
row op set n "median ms" "p90 ms" "wall s" errors dups
declare -A med
# One set at a time through ADD then DEL, so that neither runs beside the other's pods.
for phase in seq "${BURSTS[@]}"; do
  if [ "$phase" = seq ]; then count=$N par=1; else count=$phase par=0; fi
  for s in "${sets[@]}"; do
    for cmd in ADD DEL; do
      wall=$(run "$s" "$cmd" 0 "$count" "$par" "$phase.$cmd")
      read -r m p < <(stats "$T/$phase.$cmd.$s")
      med[$phase.$cmd.$s]=$m
      e=$(errors "$T/$phase.$cmd.$s")
      d=-
      [ "$cmd" = ADD ] && d=$(dups "$s" "$cmd" 0 "$count")
      label=$cmd
      [ "$phase" = seq ] && label+=" seq" || label+=" burst$phase"
      row "$label" "$s" "$count" "$m" "$p" "$(awk -v w="$wall" 'BEGIN {printf "%.2f", w / 1e6}')" "$e" "$d"
      [ "$e" -eq 0 ] || first_error "$s" "$cmd"
      if [ "$s" = zl ] && [ "$e" -ne 0 ]; then bad=1; fi
      if [ "$s" = zl ] && [ "$d" != - ] && [ "$d" -ne 0 ]; then bad=1; fi
    done
  done
done

ip netns exec "${node[zl]}" bash "$0" --floor 30 >"$T/floor"
read -r floor_m floor_p < <(stats "$T/floor")
echo
echo "veth teardown floor (ip link del, peer in another netns, n=30): median $floor_m ms, p90 $floor_p ms"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r <= t) ? "met" : "MISSED"}'; }
r_add=$(ratio "${med[seq.ADD.zl]}" "${med[seq.ADD.ref]}")
r_del=$(ratio "${med[seq.DEL.zl]}" "${med[seq.DEL.ref]}")
echo "ADD median zl/ref: $r_add (target <= 0.200: $(verdict "$r_add" 0.2))"
echo "DEL median zl/ref: $r_del (target <= 1.000: $(verdict "$r_del" 1.0))"
echo "DEL median / veth floor: zl $(ratio "${med[seq.DEL.zl]}" "$floor_m")x, ref $(ratio "${med[seq.DEL.ref]}" "$floor_m")x"
for b in "${BURSTS[@]}"; do
  echo "burst$b ADD median zl/ref: $(ratio "${med[$b.ADD.zl]}" "${med[$b.ADD.ref]}")"
done
if [ "${bad:-0}" -ne 0 ]; then
  echo "bench-bridge: zl errors or duplicate addresses (see above)" >&2
  exit 1
fi
