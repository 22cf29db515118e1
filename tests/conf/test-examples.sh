#!/usr/bin/env bash
# Every example in conf/ works as shipped (only state paths moved under the test's scratch dir):
# two pods per example through cnitool in a node netns, pinging each other; the mesh example
# with the example peers file yields a WireGuard device holding exactly those peers.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_root

node=zcx$UNIQ
netns_add "$node"
mkdir -p "$T/net.d" "$T/cache"
cni() { # CMD POD
  ip netns exec "$node" env NETCONFPATH="$T/net.d" CNI_CACHE_DIR="$T/cache" CNI_CONTAINERID="$2" ZL_CNI_LOG="$T/cni.log" "$CNITOOL" "$1" \
    "$(jq -r .name "$T/net.d/current.conflist")" "/var/run/netns/$2"
}
add_to() { cni add "$2" >"$1"; }  # FILE POD
use() { # EXAMPLE → $T/net.d/current.conflist with a private dataDir (and key/peers for the mesh)
  jq --arg d "$T/ipam-$1" --arg k "$T/wg.key" --arg p "$T/peers.json" --arg w "zcx${UNIQ:0:8}" '
      .plugins[0].ipam.dataDir = $d
      | if (.plugins | length) > 1 then .plugins[1] += {privateKeyFile: $k, peersFile: $p, interface: $w,
          implementation: "userspace"} else . end' "$SRC/conf/$1" >"$T/net.d/current.conflist"
}
pods() { # EXAMPLE → two pods attached, pinging each other; prints their results
  local a=${node}a b=${node}b
  netns_add "$a"
  netns_add "$b"
  check "$1: ADD pod a" add_to "$T/a.json" "$a"
  check "$1: ADD pod b" add_to "$T/b.json" "$b"
  local ipb
  ipb=$(jq -r '.ips[0].address' "$T/b.json" | cut -d/ -f1)
  check "$1: pod a pings pod b ($ipb)" ip netns exec "$a" ping -q -c1 -W2 "$ipb" >/dev/null
}
unpods() {
  local p
  for p in "${node}a" "${node}b"; do
    cni del "$p"
    ip netns del "$p"
  done
}

echo "# 10-zl-bridge.conflist"
use 10-zl-bridge.conflist
pods 10-zl-bridge
expect_eq "address from the example's pool" "$(jq -r '.ips[0].address' "$T/a.json")" "10.88.0.2/16"
unpods
expect_eq "state empty after DEL" "$(jq '.allocations | length' "$T/ipam-10-zl-bridge.conflist/zl-pods.json")" "0"

echo "# 20-zl-dualstack.conflist"
use 20-zl-dualstack.conflist
pods 20-zl-dualstack
expect_eq "one IPv4 and one IPv6 address" "$(jq -c '[.ips[].address]' "$T/a.json")" '["10.89.0.10/24","fd00:89::2/64"]'
ipb6=$(jq -r '.ips[1].address' "$T/b.json" | cut -d/ -f1)
check "pod a pings pod b over IPv6 ($ipb6)" ip netns exec "${node}a" ping -6 -q -c1 -W2 "$ipb6" >/dev/null
unpods

echo "# 30-zl-mesh.conflist + zl-mesh-peers.json"
cp "$SRC/conf/zl-mesh-peers.json" "$T/peers.json"
use 30-zl-mesh.conflist
on_exit "pkill -f 'wireguard-go zcx${UNIQ:0:8}\$'"
netns_add "${node}m"
check "mesh: ADD a pod" add_to "$T/m.json" "${node}m"
expect_eq "mesh: pod address in the node's slice" "$(jq -r '.ips[0].address' "$T/m.json")" "10.244.1.2/24"
got=$(ip netns exec "$node" "$BUILD/zl-wg" show "zcx${UNIQ:0:8}" --json | jq -c '[.interfaces[0].peers[] | {publicKey, endpoint, allowedIPs}] | sort_by(.publicKey)')
want=$(jq -c '[.peers[] | {publicKey, endpoint, allowedIPs}] | sort_by(.publicKey)' "$SRC/conf/zl-mesh-peers.json")
expect_eq "mesh: the device holds exactly the example's peers" "$got" "$want"
check "diagnostics also went to the ZL_CNI_LOG file" grep -q 'zl-wg\[[0-9]*\]: zcx.*peers +2' "$T/cni.log"
cni del "${node}m"

echo "# 40-zl-meshd.conflist: the agent's example (its files moved under the scratch dir)"
jq --arg t "$T" --arg w "zcy${UNIQ:0:8}" '
    .plugins[0].ipam.ranges[0][0].subnetFile = "\($t)/mesh/subnet4" | .plugins[0].ipam.dataDir = "\($t)/ipam-40"
    | .plugins[1] += {privateKeyFile: "\($t)/wg40.key", peersFile: "\($t)/mesh/peers.json", interface: $w,
        implementation: "userspace"}
    | .plugins[1].mesh.stateDir = "\($t)/mesh/state"' "$SRC/conf/40-zl-meshd.conflist" >"$T/net.d/current.conflist"
netns_add "${node}x"
set +e
OUT=$(cni add "${node}x" 2>&1)
set -e
check "meshd example without an agent: ADD says try again later, naming the subnet file" \
  grep -qE '"code": ?11.*subnet4|subnet4.*not written yet' <<<"$OUT"
expect_eq "meshd example: no pod veth left behind by the refused ADD" \
  "$(ip -n "$node" -o link show | grep -cE ': zl[0-9a-f]{12}' || true)" "0"
expect_eq "meshd example: no device created before the agent ran" \
  "$(ip -n "$node" link show "zcy${UNIQ:0:8}" 2>/dev/null | wc -l)" "0"
if out=$("$BUILD/zl-meshd" status "$T/net.d/current.conflist" 2>&1); then
  fail "zl-meshd status with no state succeeded: $out"
else
  check "zl-meshd reads the example and says it has not run: $out" grep -q 'has not run' <<<"$out"
fi
finish
