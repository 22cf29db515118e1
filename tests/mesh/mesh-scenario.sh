#!/usr/bin/env bash
# The multi-node mesh proof, for one WireGuard implementation ($1: kernel | userspace).
# Run by tests/mesh/test-userspace-mesh.sh on the host and tests/vm/test-kernel-mesh.sh in a VM.
# Topology: scripts/mesh-lib.sh (3 nodes on an underlay bridge, 2 pods each), then a 4th node.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_root

export MESH_SRC=$SRC MESH_BUILD=$BUILD MESH_DIR=$T/mesh MESH_PREFIX=zm$UNIQ MESH_MODE=$1 MESH_NODES=3 MESH_PODS=2
# shellcheck source=scripts/mesh-lib.sh
source "$SRC/scripts/mesh-lib.sh"
on_exit mesh_destroy
on_exit "pkill -f 'iperf3 -s -1 -B 10.244'; pkill -f 'tcpdump -i ul0 -nn -w $T/ul.pcap'"

peer_field() { # NODE PEER_NODE FIELD → the field of that peer in the node's `zl-wg show --json`
  mesh_wgcli "$1" show "$(mesh_wg "$1")" --json |
    jq -r --arg k "$(cat "$MESH_DIR/n$2/pubkey")" --arg f "$3" '.interfaces[0].peers[] | select(.publicKey == $k) | .[$f]'
}
peer_count() { mesh_wgcli "$1" show "$(mesh_wg "$1")" --json | jq '.interfaces[0].peers | length'; }

echo "# bring-up: 3 nodes × 2 pods ($MESH_MODE)"
ip netns add "$MESH_PREFIX-ul"  # the capture starts before any traffic
ip -n "$MESH_PREFIX-ul" link add ul0 type bridge
ip -n "$MESH_PREFIX-ul" link set ul0 up
ip netns exec "$MESH_PREFIX-ul" tcpdump -i ul0 -nn -w "$T/ul.pcap" -U 2>/dev/null &
capture=$!
wait_for 10 test -e "$T/ul.pcap"
for n in 1 2 3; do mesh_add_node "$n"; done
for n in 1 2 3; do mesh_peers "$n"; done
for n in 1 2 3; do for k in 1 2; do mesh_add_pod "$n" "$k"; done; done
expect_eq "node 1 result carries the pod address" "$(jq -r '.ips[0].address' "$MESH_DIR/n1/$(mesh_pod 1 1).json")" "10.244.1.2/24"

echo "# every pod reaches every pod"
if mesh_ping_matrix >"$T/matrix"; then pass "ping matrix: 30/30"; else fail "ping matrix"; fi
cat "$T/matrix"

echo "# TCP across nodes"
ip netns exec "$(mesh_pod 2 1)" iperf3 -s -1 -B "$(mesh_pod_ip 2 1)" -D
wait_for 10 sh -c "ip netns exec $(mesh_pod 2 1) ss -ltn | grep -q ':5201 '"
mbit=$(ip netns exec "$(mesh_pod 1 1)" iperf3 -c "$(mesh_pod_ip 2 1)" -t 1 -J | jq '.end.sum_received.bits_per_second / 1e6 | floor')
check "TCP pod n1p1 → pod n2p1 carried data ($mbit Mbit/s)" test "$mbit" -gt 0

echo "# the node itself reaches a remote pod (routes prefer the local gateway as source)"
check "host of node 1 pings pod on node 2" mesh_ping "$(mesh_node 1)" "$(mesh_pod_ip 2 1)"
src=$(ip -n "$(mesh_node 1)" route get "$(mesh_pod_ip 2 1)" | grep -o 'src [0-9.]*' | cut -d' ' -f2)
expect_eq "route to a remote pod uses the local gateway as source" "$src" "10.244.1.1"

echo "# zl-wg show --json: handshakes and moving counters"
for n in 1 2 3; do
  for m in 1 2 3; do
    [ "$n" = "$m" ] && continue
    hs=$(peer_field "$n" "$m" latestHandshake)
    check "node $n has a handshake with node $m" test "$hs" -gt 0
  done
done
rx1=$(peer_field 1 2 rxBytes)
mesh_ping "$(mesh_pod 1 1)" "$(mesh_pod_ip 2 2)"
rx2=$(peer_field 1 2 rxBytes)
check "node 1's rx from node 2 grows with traffic ($rx1 → $rx2)" test "$rx2" -gt "$rx1"
for n in 1 2 3; do
  key=$(grep -v '^$' "$MESH_DIR/n$n/wg.key")
  if mesh_wgcli "$n" show --json | grep -qF "$key" || mesh_wgcli "$n" show | grep -qF "$key"; then
    fail "node $n: private key printed by zl-wg show"
  else
    pass "node $n: private key not in zl-wg show output"
  fi
  expect_eq "node $n key file is 0600" "$(stat -c %a "$MESH_DIR/n$n/wg.key")" "600"
done

echo "# nothing crosses the underlay in clear"
kill "$capture"
wait "$capture" || true
wg_pkts=$(tcpdump -r "$T/ul.pcap" -nn 'udp port 51820' 2>/dev/null | wc -l)
# Underlay control traffic may appear (port unreachable before a peer listens, IGMP);
# nothing of the pods may: no pod address, no echo, no iperf stream.
clear=$(tcpdump -r "$T/ul.pcap" -nn 'net 10.244.0.0/16 or icmp[icmptype] == icmp-echo or icmp[icmptype] == icmp-echoreply or tcp port 5201' 2>/dev/null | wc -l)
other=$(tcpdump -r "$T/ul.pcap" -nn 'ip and not udp port 51820 and not igmp and not icmp[icmptype] == icmp-unreach' 2>/dev/null | wc -l)
check "underlay carried WireGuard UDP ($wg_pkts packets)" test "$wg_pkts" -gt 30
expect_eq "no pod address, echo or iperf stream in clear on the underlay" "$clear" "0"
expect_eq "nothing else but WireGuard on the underlay" "$other" "0"

echo "# reconcile: adding node 4 keeps existing sessions"
hs12=$(peer_field 1 2 latestHandshake)
rx12=$(peer_field 1 2 rxBytes)
MESH_NODES=4
mesh_add_node 4
for n in 1 2 3 4; do mesh_peers "$n"; done
for n in 1 2 3; do
  out=$(mesh_wgcli "$n" sync "$MESH_DIR/n$n/net.d/30-zl-mesh.conflist")
  check "node $n sync adds exactly node 4 ($out)" grep -q 'peers added 1, updated 0, removed 0' <<<"$out"
done
mesh_add_pod 4 1
expect_eq "node 1's session with node 2 survived (handshake time)" "$(peer_field 1 2 latestHandshake)" "$hs12"
check "node 1's counters for node 2 were not reset" test "$(peer_field 1 2 rxBytes)" -ge "$rx12"
check "pod on node 1 reaches the new node's pod" mesh_ping "$(mesh_pod 1 1)" "$(mesh_pod_ip 4 1)"
out=$(mesh_wgcli 1 sync "$MESH_DIR/n1/net.d/30-zl-mesh.conflist")
check "a second sync is a no-op ($out)" grep -q 'device unchanged' <<<"$out"

echo "# reconcile: re-running ADD never flushes peers"
MESH_PODS=3
mesh_add_pod 1 3
expect_eq "node 1 still has 3 peers after another ADD" "$(peer_count 1)" "3"
expect_eq "and its session with node 2 is the same" "$(peer_field 1 2 latestHandshake)" "$hs12"

echo "# reconcile: changing an endpoint updates it in place"
ip -n "$(mesh_node 2)" addr add 192.0.2.102/24 dev eth0
jq --arg k "$(cat "$MESH_DIR/n2/pubkey")" '(.peers[] | select(.publicKey == $k) | .endpoint) = "192.0.2.102:51820"' \
  "$MESH_DIR/n1/peers.json" >"$MESH_DIR/n1/peers.new" && mv "$MESH_DIR/n1/peers.new" "$MESH_DIR/n1/peers.json"
out=$(mesh_wgcli 1 sync "$MESH_DIR/n1/net.d/30-zl-mesh.conflist")
check "sync updates one peer ($out)" grep -q 'peers added 0, updated 1, removed 0' <<<"$out"
expect_eq "node 1 shows the new endpoint of node 2" "$(peer_field 1 2 endpoint)" "192.0.2.102:51820"

echo "# reconcile: removing a peer removes it and its routes"
mesh_peers 1 3
out=$(mesh_wgcli 1 sync "$MESH_DIR/n1/net.d/30-zl-mesh.conflist")
check "sync removes one peer ($out)" grep -q 'removed 1' <<<"$out"
expect_eq "node 3 is gone from node 1" "$(peer_field 1 3 publicKey)" ""
expect_eq "node 1 has no route to node 3's pods" "$(ip -n "$(mesh_node 1)" route show 10.244.3.0/24)" ""
check "node 1 still reaches node 2's pods" mesh_ping "$(mesh_pod 1 1)" "$(mesh_pod_ip 2 1)"

echo "# CHECK through cnitool sees the removed peer's absence as a difference once re-added to the file"
mesh_peers 1
if mesh_cni 1 check "$(mesh_pod 1 1)" 2>"$T/check.err"; then
  fail "CHECK passed though node 1's device lacks a peer of its peers file"
else
  check "CHECK names the missing peer" grep -q "missing peer $(cat "$MESH_DIR/n3/pubkey")" "$T/check.err"
fi
mesh_wgcli 1 sync "$MESH_DIR/n1/net.d/30-zl-mesh.conflist" >/dev/null
check "CHECK passes once in sync" mesh_cni 1 check "$(mesh_pod 1 1)"

echo "# teardown leaves nothing"
mesh_down
for n in 1 2 3 4; do expect_eq "node $n: nothing left" "$(mesh_leftovers "$n")" ""; done
finish
