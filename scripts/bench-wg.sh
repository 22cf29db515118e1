#!/usr/bin/env bash
# Benchmark zl-wg against wireguard-tools on kernel WireGuard (not a test: prints figures).
#   1. full apply of 1 000 and 5 000 peers: `zl-wg sync` vs `wg setconf`, each on a fresh device
#   2. a no-op reconcile (`zl-wg sync` again) against that `wg setconf` time
#   3. a pod ADD (zl-bridge + zl-ipam + zl-wg through cnitool) on a node whose mesh has
#      1 000 peers vs one with none
# Needs kernel WireGuard: on a host without it, run through scripts/bench.sh wg (uses the VM).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${ZL_BUILD:-$src/build}
runs=${ZL_BENCH_RUNS:-5}
work=$(mktemp -d /tmp/zl-bench-wg.XXXXXX)
node=zlbench$$
cleanup() { ip netns del "$node" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$node"
ip -n "$node" link set lo up
ip -n "$node" link add eth0 type dummy
ip -n "$node" addr add 192.0.2.1/24 dev eth0
ip -n "$node" link set eth0 up
in_node() { ip netns exec "$node" "$@"; }

now() { echo "$EPOCHREALTIME"; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f\n", (b-a)*1000}'; }
median() { sort -n | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

gen() { # N → $work/peers-N.json and $work/wg-N.conf (same peers)
  python3 - "$1" "$work" <<'PY'
import base64, json, random, sys
n, work = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
peers, conf = [], ["[Interface]", "PrivateKey = %s" % open(work + "/node.key").read().strip()]
for i in range(n):
    key = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(32))).decode()
    ep, aip = "192.0.2.%d:%d" % (2 + i % 250, 51820 + i // 250), "10.%d.%d.%d/32" % (100 + i // 65536, (i // 256) % 256, i % 256)
    peers.append({"publicKey": key, "endpoint": ep, "allowedIPs": [aip]})
    conf += ["[Peer]", "PublicKey = " + key, "AllowedIPs = " + aip, "Endpoint = " + ep]
json.dump({"peers": peers}, open("%s/peers-%d.json" % (work, n), "w"))
open("%s/wg-%d.conf" % (work, n), "w").write("\n".join(conf) + "\n")
PY
}

conflist() { # N IFNAME PORT → conflist whose zl-wg uses peers-N.json on IFNAME
  cat >"$work/wg-$1.conflist" <<CONF
{"cniVersion":"1.0.0","name":"bench","plugins":[{"type":"zl-wg","interface":"$2","listenPort":$3,
 "implementation":"kernel","privateKeyFile":"$work/node.key","peersFile":"$work/peers-$1.json"}]}
CONF
}

in_node "$build/zl-wg" pubkey "$work/none.conflist" >/dev/null 2>&1 || true
umask 077
in_node wg genkey >"$work/node.key"

printf '%-34s %12s %12s %8s\n' "apply (median of $runs)" "zl-wg ms" "wg ms" "ratio"
# Every run gets fresh devices: deleting a device with thousands of peers takes the kernel a
# long time (minutes under TCG), and is not what is measured. The netns goes at exit.
for n in 1000 5000; do
  gen "$n"
  zl=() tools=() noop=()
  for r in $(seq "$runs"); do
    conflist "$n" "zlb$n-$r" $((40000 + n / 100 + r))  # devices of one netns need their own ports
    t0=$(now); in_node "$build/zl-wg" sync "$work/wg-$n.conflist" >/dev/null; t1=$(now)
    zl+=("$(ms "$t0" "$t1")")
    t0=$(now); in_node "$build/zl-wg" sync "$work/wg-$n.conflist" >/dev/null; t1=$(now)
    noop+=("$(ms "$t0" "$t1")")
    in_node ip link add "zlw$n-$r" type wireguard
    t0=$(now); in_node wg setconf "zlw$n-$r" "$work/wg-$n.conf"; t1=$(now)
    tools+=("$(ms "$t0" "$t1")")
  done
  z=$(printf '%s\n' "${zl[@]}" | median); w=$(printf '%s\n' "${tools[@]}" | median); o=$(printf '%s\n' "${noop[@]}" | median)
  printf '%-34s %12s %12s %8s\n' "full apply, $n peers (+routes)" "$z" "$w" "$(awk -v a="$z" -v b="$w" 'BEGIN{printf "%.2f", a/b}')"
  printf '%-34s %12s %12s %8s\n' "no-op reconcile, $n peers" "$o" "$w" "$(awk -v a="$o" -v b="$w" 'BEGIN{printf "%.2f", a/b}')"
done

# 3. pod ADD with and without a 1 000-peer mesh.
for n in 0 1000; do
  [ "$n" = 0 ] && echo '{"peers":[]}' >"$work/peers-0.json"
  mkdir -p "$work/net-$n"
  jq --arg n "$n" --arg data "$work/ipam-$n" --arg key "$work/node.key" --arg peers "$work/peers-$n.json" '
      .plugins[0].ipam.dataDir = $data | .plugins[0].bridge = "zlbr0"
      | .plugins[1].interface = "zlp\($n)" | .plugins[1].listenPort = (41000 + ($n | tonumber))
      | .plugins[1].privateKeyFile = $key
      | .plugins[1].peersFile = $peers | .plugins[1].implementation = "kernel"' \
    "$src/conf/30-zl-mesh.conflist" >"$work/net-$n/mesh.conflist"
done
add_times() { # N → per-ADD ms lines
  local n=$1 i t0 t1
  for i in $(seq $((runs * 4))); do
    ip netns add "$node-p$i"
    t0=$(now)
    in_node env NETCONFPATH="$work/net-$n" CNI_PATH="$build" CNI_CACHE_DIR="$work/cache" CNI_CONTAINERID="p$i" \
      "$build/cnitool" add zl-mesh "/var/run/netns/$node-p$i" >/dev/null
    t1=$(now)
    [ "$i" = 1 ] || ms "$t0" "$t1"  # the first ADD builds the mesh; steady state counts
  done
  for i in $(seq $((runs * 4))); do
    in_node env NETCONFPATH="$work/net-$n" CNI_PATH="$build" CNI_CACHE_DIR="$work/cache" CNI_CONTAINERID="p$i" \
      "$build/cnitool" del zl-mesh "/var/run/netns/$node-p$i" >/dev/null
    ip netns del "$node-p$i"
  done
}
a0=$(add_times 0 | median)
a1=$(add_times 1000 | median)
printf '%-34s %12s %12s %8s\n' "pod ADD (median)" "1000 peers" "no peers" "ratio"
printf '%-34s %12s %12s %8s\n' "zl-bridge+zl-ipam+zl-wg via cnitool" "$a1" "$a0" "$(awk -v a="$a1" -v b="$a0" 'BEGIN{printf "%.2f", a/b}')"
echo "targets: full apply ≤ wg setconf (ratio ≤ 1); no-op ≤ 0.10; ADD with 1000 peers ≤ 1.2× ADD without"
