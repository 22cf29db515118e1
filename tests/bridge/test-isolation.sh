#!/usr/bin/env bash
# Bridge port options: portIsolation blocks pod-to-pod but not pod-to-gateway; hairpinMode
# reflects a pod's frames back to it (proven at L2: a frame sent to the pod's own MAC comes
# back in, counted by an nftables netdev ingress counter in the pod) and without it nothing
# comes back; promiscMode puts the bridge in promiscuous mode; vlan puts ports in one VLAN
# (PVID, untagged, VLAN 1 dropped) so pods of another VLAN on the same bridge are unreachable.
#
#   node netns $NODE
#     zliso0 10.244.7.1/24 (portIsolation) ── i1, i2
#     zlhp0  10.244.8.1/24 (hairpinMode)   ── h1        zlnh0 10.244.9.1/24 ── h2
#     zlpr0  10.244.11.1/24 (promiscMode)  ── r1
#     zlvl0  (no gateway)  vlan 10: v1, v2  vlan 20: v3     10.244.10.0/24
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=bridge-lib.sh
. "$(dirname "$0")/bridge-lib.sh"

node_add
for x in i1 i2 h1 h2 r1 v1 v2 v3; do pod_add "zl$x$UNIQ"; done
p() { echo "zl$1$UNIQ"; }
gwconf() { # NET BRIDGE SUBNET EXTRA-JSON
  br_conf "$1$UNIQ" 1.1.0 "$(jq -c --arg b "$2" '. + {bridge: $b, isGateway: true}' <<<"$4")" \
    "{\"ranges\": [[{\"subnet\": \"$3\"}]]}"
}

echo "== portIsolation"
ciso=$(gwconf zliso zliso0 10.244.7.0/24 '{"portIsolation": true}')
runs_ok "ADD i1" br ADD "$ciso" ci1 "$(p i1)"
veth_i1=$(jq -r '.interfaces[1].name' <<<"$OUT")
runs_ok "ADD i2" br ADD "$ciso" ci2 "$(p i2)"
check "host port is isolated" bash -c "bridge -n $NODE -d -j link show dev $veth_i1 | jq -e '.[0].isolated == true' >/dev/null"
check "i1 pings the gateway" pings "$(p i1)" 10.244.7.1
check "i2 pings the gateway" pings "$(p i2)" 10.244.7.1
check "i1 cannot ping i2" no_ping "$(p i1)" 10.244.7.3
check "i2 cannot ping i1" no_ping "$(p i2)" 10.244.7.2

echo "== hairpinMode"
chp=$(gwconf zlhp zlhp0 10.244.8.0/24 '{"hairpinMode": true}')
cnh=$(gwconf zlnh zlnh0 10.244.9.0/24 '{}')
runs_ok "ADD h1 (hairpin)" br ADD "$chp" ch1 "$(p h1)"
veth_h1=$(jq -r '.interfaces[1].name' <<<"$OUT")
runs_ok "ADD h2 (no hairpin)" br ADD "$cnh" ch2 "$(p h2)"
veth_h2=$(jq -r '.interfaces[1].name' <<<"$OUT")
check "h1's port has hairpin on" bash -c "bridge -n $NODE -d -j link show dev $veth_h1 | jq -e '.[0].hairpin == true' >/dev/null"
check "h2's port has hairpin off" bash -c "bridge -n $NODE -d -j link show dev $veth_h2 | jq -e '.[0].hairpin == false' >/dev/null"
# reflected POD FAKE-IP: sends 3 pings to FAKE-IP resolved to the pod's own MAC; prints how
# many of those frames came back into the pod's eth0.
reflected() {
  local pod=$1 fake=$2 mac
  mac=$(ip -n "$pod" -j link show eth0 | jq -r '.[0].address')
  pings "$pod" "${fake%.*}.1" || echo "gateway unreachable" >&2  # the bridge learns the pod's MAC
  ip -n "$pod" neigh replace "$fake" lladdr "$mac" dev eth0 nud permanent
  ip netns exec "$pod" nft -f - <<EOF
table netdev hp {
  counter back {}
  chain in { type filter hook ingress device "eth0" priority 0; ether saddr $mac ether daddr $mac counter name back; }
}
EOF
  ip netns exec "$pod" ping -c3 -i0.2 -W1 -q "$fake" >/dev/null 2>&1 || true
  ip netns exec "$pod" nft -j list counter netdev hp back | jq '.nftables[1].counter.packets'
}
expect_eq "hairpin: h1's frames to itself come back" "$(reflected "$(p h1)" 10.244.8.200)" 3
expect_eq "no hairpin: h2's frames to itself do not" "$(reflected "$(p h2)" 10.244.9.200)" 0

echo "== promiscMode"
cpr=$(gwconf zlpr zlpr0 10.244.11.0/24 '{"promiscMode": true}')
runs_ok "ADD r1" br ADD "$cpr" cr1 "$(p r1)"
check "bridge zlpr0 is promiscuous" bash -c "ip -n $NODE -d -j link show zlpr0 | jq -e '.[0].promiscuity > 0' >/dev/null"
check "r1 pings the gateway" pings "$(p r1)" 10.244.11.1
check "bridge zlhp0 (no promiscMode) is not" bash -c "ip -n $NODE -d -j link show zlhp0 | jq -e '.[0].promiscuity == 0' >/dev/null"

echo "== vlan"
vlan_ok() {
  ip -n "$NODE" link add zlvlt type bridge vlan_filtering 1 2>/dev/null && ip -n "$NODE" link del zlvlt
}
if ! vlan_ok; then
  echo "  skip: this kernel's bridge has no VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)"
  veths=$(node_veths)
  br ADD "$(br_conf "zlvla$UNIQ" 1.1.0 '{"bridge": "zlvl0", "vlan": 10}' '{"subnet": "10.244.10.0/24"}')" cv1 "$(p v1)"
  expect_cni_error "vlan without kernel support: a clear error" 2 "vlan 10.*VLAN filtering"
  expect_eq "no veth left" "$(node_veths)" "$veths"
  check "no bridge left" no_link "$NODE" zlvl0
else
vconf() { # NET VID FIRST LAST
  br_conf "$1$UNIQ" 1.1.0 "{\"bridge\": \"zlvl0\", \"vlan\": $2}" \
    "{\"ranges\": [[{\"subnet\": \"10.244.10.0/24\", \"rangeStart\": \"$3\", \"rangeEnd\": \"$4\"}]]}"
}
cv10=$(vconf zlvla 10 10.244.10.10 10.244.10.19)
cv20=$(vconf zlvlb 20 10.244.10.20 10.244.10.29)
runs_ok "ADD v1 (vlan 10)" br ADD "$cv10" cv1 "$(p v1)"
veth_v1=$(jq -r '.interfaces[1].name' <<<"$OUT")
runs_ok "ADD v2 (vlan 10)" br ADD "$cv10" cv2 "$(p v2)"
runs_ok "ADD v3 (vlan 20)" br ADD "$cv20" cv3 "$(p v3)"
check "bridge zlvl0 filters VLANs" bash -c "ip -n $NODE -d -j link show zlvl0 | jq -e '.[0].linkinfo.info_data.vlan_filtering == 1' >/dev/null"
expect_eq "v1's port: VLAN 10 only, PVID and untagged" \
  "$(bridge -n "$NODE" -j vlan show dev "$veth_v1" | jq -c '[.[0].vlans[] | [.vlan, (.flags | sort)]]')" \
  '[[10,["Egress Untagged","PVID"]]]'
check "v1 pings v2 (same VLAN)" pings "$(p v1)" 10.244.10.11
check "v3 cannot ping v1 (VLAN 20)" no_ping "$(p v3)" 10.244.10.10
runs_ok "DEL v1" br DEL "$cv10" cv1 "$(p v1)"
runs_ok "DEL v2" br DEL "$cv10" cv2 "$(p v2)"
runs_ok "DEL v3" br DEL "$cv20" cv3 "$(p v3)"
fi

echo "== DEL"
runs_ok "DEL i1" br DEL "$ciso" ci1 "$(p i1)"
runs_ok "DEL i2" br DEL "$ciso" ci2 "$(p i2)"
runs_ok "DEL h1" br DEL "$chp" ch1 "$(p h1)"
runs_ok "DEL h2" br DEL "$cnh" ch2 "$(p h2)"
runs_ok "DEL r1" br DEL "$cpr" cr1 "$(p r1)"
expect_eq "no host veths" "$(node_veths)" 0
expect_eq "no zl firewall rules" "$(zl_rules)" 0
for n in zliso zlhp zlnh zlpr zlvla zlvlb; do expect_eq "$n: no allocations" "$(allocs "$n$UNIQ")" 0; done

finish_bridge
