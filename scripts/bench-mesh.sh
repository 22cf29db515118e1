#!/usr/bin/env bash
# zl-meshd at scale, against a real etcd (Debian's), all inside one network namespace made here:
# N agents (--no-device: files only) join an empty store; then one join and one leave with N up;
# then steady-state etcd load; then the restart of an agent that drives a real (userspace)
# WireGuard device with N peers. Figures, not pass/fail: the targets are in README.
# Environment: ZL_BUILD (default build/), BENCH_MESH_N (default 100), BENCH_MESH_WINDOW (s, 60).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${ZL_BUILD:-$src/build}
N=${BENCH_MESH_N:-100}
WINDOW=${BENCH_MESH_WINDOW:-60}
work=$(mktemp -d /tmp/zl-bench-mesh.XXXXXX)
ns=zlbm$$
pids=()
watcher=
cleanup() {
  local p
  for p in "${pids[@]}" $watcher; do kill -KILL "$p" 2>/dev/null || true; done
  [ "$(type -t etcd_cleanup)" != function ] || etcd_cleanup
  pkill -f "wireguard-go zlbdev$$" 2>/dev/null || true
  rm -f "/run/zl-cni/wg/zlbdev$$.names.json"
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=scripts/etcd-lib.sh
source "$src/scripts/etcd-lib.sh"

ip netns add "$ns"
ip -n "$ns" link set lo up
ETCD_NETNS=$ns etcd_start_single "$work/etcd" 2379 >/dev/null
etcd=$ETCD_ENDPOINTS

ctl() { etcd_ctl "$@"; }

node_conf() { # I [DEVICE] → the node's conflist path
  local d=$work/n$1 impl=userspace ifn=zlb$1
  [ -n "${2:-}" ] && ifn=zlbdev$$
  mkdir -p "$d"
  jq --arg d "$d" --arg etcd "$etcd" --arg node "b$1" --arg ep "10.$(($1 / 250)).$(($1 % 250)).1:51820" \
    --arg ifn "$ifn" --arg impl "$impl" '
      .plugins[0].ipam.ranges = [[{subnetFile: "\($d)/subnet4"}]]
      | .plugins[1] += {interface: $ifn, implementation: $impl, privateKeyFile: "\($d)/wg.key", peersFile: "\($d)/peers.json"}
      | .plugins[1].mesh.etcd = {endpoints: [$etcd]}
      | .plugins[1].mesh += {node: $node, endpoint: $ep, stateDir: "\($d)/state"}' \
    "$src/conf/40-zl-meshd.conflist" >"$d/conflist"
  echo "$d/conflist"
}
start() { # I [ARGS…]
  local i=$1
  shift
  ip netns exec "$ns" "$BUILD/zl-meshd" run "$work/n$i/conflist" "$@" >>"$work/n$i/log" 2>&1 &
  pids[i]=$!
  disown "$!"
}
# stop I [SIGNAL]: and wait for the agent's exit.
stop() {
  kill "-${2:-TERM}" "${pids[$1]}"
  while kill -0 "${pids[$1]}" 2>/dev/null; do sleep 0.02; done
}
# converged T0 WANT DIR… : seconds from T0 ($EPOCHREALTIME) until every listed node's peers
# file holds WANT peers (60 s max).
converged() {
  python3 - "$@" <<'PY'
import json, sys, time
t0, want, dirs = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
while time.time() - t0 < 60:
    done = 0
    for d in dirs:
        try:
            with open(d + "/peers.json") as f:
                done += len(json.load(f)["peers"]) == want
        except (OSError, ValueError, KeyError):
            pass
    if done == len(dirs):
        print("%.2f" % (time.time() - t0)); sys.exit(0)
    time.sleep(0.02)
print("timeout"); sys.exit(1)
PY
}
requests() { # I… → etcd requests the agents report (state.json), summed
  local i sum=0 r
  for i in "$@"; do
    r=$(jq '.etcd.requests // 0' "$work/n$i/state/state.json" 2>/dev/null || echo 0)
    sum=$((sum + r))
  done
  echo "$sum"
}
dirs() { local i; for i in "$@"; do echo "$work/n$i"; done; }

echo "== mesh: $N zl-meshd agents against one etcd member ($(etcd --version | head -1))"
all=()
for ((i = 1; i <= N; i++)); do node_conf "$i" >/dev/null; all+=("$i"); done
mapfile -t alldirs < <(dirs "${all[@]}")
t0=$EPOCHREALTIME
for i in "${all[@]}"; do start "$i" --no-device; done
join=$(converged "$t0" $((N - 1)) "${alldirs[@]}")
sleep 1
retries=$(cat "$work"/n*/log | grep -c 'claimed by another node meanwhile' || true)
subnets=$(ctl get /zl-cni/v1/zl-mesh/subnets/ --prefix --keys-only | grep -c . || true)
dups=$(cat "$work"/n*/subnet4 | sort | uniq -d | wc -l)
printf '%-58s %s s (target <= 5 s; from the first launch)\n' "join: $N agents, empty store, until every node has every peer" "$join"
printf '%-58s %s races lost and retried, %s subnets, %s duplicates\n' "  claims" "$retries" "$subnets" "$dups"
printf '%-58s %s (%s per node)\n' "  etcd requests for the whole join" "$(requests "${all[@]}")" "$(($(requests "${all[@]}") / N))"

echo
j=$((N + 1))
node_conf "$j" >/dev/null
t0=$EPOCHREALTIME
start "$j" --no-device
t=$(converged "$t0" "$N" "${alldirs[@]}")
printf '%-58s %s s from its launch (target <= 2 s)\n' "one node joins with $N up: all others converged" "$t"
stop "$j"
t0=$EPOCHREALTIME
ip netns exec "$ns" "$BUILD/zl-meshd" leave "$work/n$j/conflist" --no-device >/dev/null
t=$(converged "$t0" $((N - 1)) "${alldirs[@]}")
printf '%-58s %s s from the leave command (target <= 2 s)\n' "one node leaves: all others converged" "$t"

echo
ip netns exec "$ns" etcdctl --endpoints="$etcd" watch --prefix /zl-cni/v1/ >"$work/events" 2>/dev/null &
watcher=$!
r0=$(requests "${all[@]}")
sleep "$WINDOW"
r1=$(requests "${all[@]}")
kill "$watcher" 2>/dev/null || true
events=$(grep -c '^/zl-cni/' "$work/events" || true)
per_min=$(awk -v d=$((r1 - r0)) -v n="$N" -v w="$WINDOW" 'BEGIN { printf "%.1f", d / n * 60 / w }')
printf '%-58s %s requests/node/min, %s key events in %s s\n' "steady state ($N nodes)" "$per_min" "$events" "$WINDOW"
for big in 1000 5000; do
  printf '%-58s %s requests/s at etcd, %s key events/s (lease keep-alives: no raft write)\n' "  projected to $big nodes" \
    "$(awk -v p="$per_min" -v n="$big" 'BEGIN { printf "%.0f", p * n / 60 }')" \
    "$(awk -v e="$events" -v w="$WINDOW" -v n="$big" -v m="$N" 'BEGIN { printf "%.2f", e / w * n / m }')"
done

echo
d=$((N + 2))
node_conf "$d" device >/dev/null
start "$d"
t=$(converged "$EPOCHREALTIME" "$N" "$work/n$d")
wait_dev() { [ "$(ip netns exec "$ns" "$BUILD/zl-wg" show "zlbdev$$" --json 2>/dev/null | jq '.interfaces[0].peers | length')" = "$N" ]; }
for _ in $(seq 300); do wait_dev && break; sleep 0.1; done
wait_dev || { echo "bench: the device agent never reached $N peers" >&2; exit 1; }
before=$(grep -c 'SET messages' "$work/n$d/log" || true)
stop "$d"
: >"$work/n$d/log"
start "$d"
sleep 3
after=$(grep -c 'SET messages' "$work/n$d/log" || true)
printf '%-58s %s device changes logged (first start: %s); target 0\n' "restart of an agent whose device has $N peers" "$after" "$before"
