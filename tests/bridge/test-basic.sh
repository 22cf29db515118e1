#!/usr/bin/env bash
# zl-bridge at CNI 1.1.0, exec'd directly: two pods on one bridge reach each other and the
# gateway; what ADD builds (bridge, STP off, MTU, gateway address, veth with the pod end under
# its final name, alias, lo up, default route, forwarding, per-network rules) and what it
# returns; an ADD on an interface name the pod already has fails and leaves it alone; a second
# interface of one pod; DEL leaves nothing behind.
#
#   node netns $NODE                          pods
#   ┌──────────────────────────────┐          ┌───────────────────┐
#   │ zlbr0 10.244.1.1/24 (mtu 1400)├─ veth ──┤ pa eth0 10.244.1.2 │
#   │                              ├─ veth ──┤ pb eth0 10.244.1.3 │
#   └──────────────────────────────┘          └───────────────────┘
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=bridge-lib.sh
. "$(dirname "$0")/bridge-lib.sh"

net=zlbasic$UNIQ
pa=zlbpa$UNIQ
pb=zlbpb$UNIQ
node_add
pod_add "$pa" "$pb"
conf=$(br_conf "$net" 1.1.0 '{"bridge": "zlbr0", "isDefaultGateway": true, "ipMasq": true, "mtu": 1400}' \
  '{"ranges": [[{"subnet": "10.244.1.0/24"}]]}')

echo "== ADD two pods"
runs_ok "ADD pa" br ADD "$conf" ca "$pa"
res_a=$OUT
check "result: 1.1.0 shape (bridge, host veth, eth0 with sandbox, ips on interface 2)" result_ok 1.1.0
expect_eq "result ips" "$(jq -c .ips <<<"$res_a")" '[{"interface":2,"address":"10.244.1.2/24","gateway":"10.244.1.1"}]'
expect_eq "result routes: the default route via the gateway" "$(jq -c .routes <<<"$res_a")" '[{"dst":"0.0.0.0/0","gw":"10.244.1.1"}]'
expect_eq "result interface 0 is the bridge" "$(jq -r '.interfaces[0].name' <<<"$res_a")" zlbr0
expect_eq "result interface 2 is eth0 in pa" "$(jq -r '.interfaces[2] | "\(.name) \(.sandbox)"' <<<"$res_a")" "eth0 $(nspath "$pa")"
expect_eq "result: eth0 MAC is the pod's" "$(jq -r '.interfaces[2].mac' <<<"$res_a")" \
  "$(ip -n "$pa" -j link show eth0 | jq -r '.[0].address')"
rules_one=$(zl_rules)
runs_ok "ADD pb" br ADD "$conf" cb "$pb"
veth_a=$(jq -r '.interfaces[1].name' <<<"$res_a")
veth_b=$(jq -r '.interfaces[1].name' <<<"$OUT")
expect_eq "pb got the next address" "$(pod_ip "$pb")" 10.244.1.3

echo "== connectivity"
check "pa pings pb" pings "$pa" 10.244.1.3
check "pb pings pa" pings "$pb" 10.244.1.2
check "pa pings the gateway" pings "$pa" 10.244.1.1
check "pb pings the gateway" pings "$pb" 10.244.1.1

echo "== what ADD built"
brj=$(ip -n "$NODE" -d -j link show zlbr0)
expect_eq "bridge is up with STP off and MTU 1400" \
  "$(jq -r '.[0] | "\(.operstate) \(.linkinfo.info_data.stp_state) \(.mtu)"' <<<"$brj")" "UP 0 1400"
expect_eq "bridge holds the gateway only" "$(ip -n "$NODE" -4 -o addr show dev zlbr0 | awk '{print $4}')" 10.244.1.1/24
for v in "$veth_a" "$veth_b"; do
  j=$(ip -n "$NODE" -j link show "$v")
  expect_eq "host veth $v: port of zlbr0, up, MTU 1400" "$(jq -r '.[0] | "\(.master) \(.flags | index("UP") != null) \(.mtu)"' <<<"$j")" "zlbr0 true 1400"
done
expect_eq "host veth alias names the attachment" "$(ip -n "$NODE" -j -d link show "$veth_a" | jq -r '.[0].ifalias')" "zl-cni:$net:ca:eth0"
expect_eq "pod eth0 MTU 1400" "$(ip -n "$pa" -j link show eth0 | jq -r '.[0].mtu')" 1400
check "pod lo is up" bash -c "ip -n $pa -j link show lo | jq -e '.[0].flags | index(\"UP\")' >/dev/null"
expect_eq "pod default route via the gateway" "$(ip -n "$pa" -4 route show default)" "default via 10.244.1.1 dev eth0 proto static "
expect_eq "node ip_forward is on" "$(ip netns exec "$NODE" sysctl -n net.ipv4.ip_forward)" 1
check "firewall rules exist" test "$rules_one" -gt 0
expect_eq "rule count does not grow with pods" "$(zl_rules)" "$rules_one"
expect_eq "two host veths, nothing else of ours" "$(node_veths)" 2

echo "== ADD onto an interface name the pod already has"
mac_a=$(ip -n "$pa" -j link show eth0 | jq -r '.[0].address')
br ADD "$conf" cx "$pa"
check "fails (rc=$RC: $(jq -r .msg <<<"$OUT" 2>/dev/null))" test "$RC" -ne 0
check "the message names the interface" grep -q '"eth0" already exists' <<<"$(jq -r .msg <<<"$OUT")"
expect_eq "the existing eth0 keeps its MAC" "$(ip -n "$pa" -j link show eth0 | jq -r '.[0].address')" "$mac_a"
expect_eq "the existing eth0 keeps its address" "$(pod_ip "$pa")" 10.244.1.2
expect_eq "no veth was left" "$(node_veths)" 2
expect_eq "no address was allocated" "$(allocs "$net")" 2
check "pb still pings pa" pings "$pb" 10.244.1.2

echo "== a second interface in one pod"
runs_ok "ADD pa eth1" br ADD "$conf" ca "$pa" eth1
expect_eq "eth1 has its own address" "$(pod_ip "$pa" 4 eth1)" 10.244.1.4
expect_eq "three host veths" "$(node_veths)" 3
runs_ok "DEL pa eth1" br DEL "$conf" ca "$pa" eth1
check "eth1 is gone" no_link "$pa" eth1
expect_eq "eth0 untouched" "$(pod_ip "$pa")" 10.244.1.2

echo "== DEL"
runs_ok "DEL pa" br DEL "$conf" ca "$pa"
check "rules stay while pb is attached" test "$(zl_rules)" -eq "$rules_one"
runs_ok "DEL pb" br DEL "$conf" cb "$pb"
check "pa has no eth0" no_link "$pa" eth0
expect_clean "after DEL" "$net"

finish_bridge
