#!/usr/bin/env bash
# IPv6-only and dual-stack pods: they ping each other and the gateway over v6 (and v4);
# IPv6 forwarding is enabled per interface (bridge, host veths) and net.ipv6.conf.all.forwarding
# (and default.forwarding) stays 0 in the node after every ADD; a v6-only network leaves
# net.ipv4.ip_forward alone; enableDad: ADD returns only once the pod's addresses have left
# the tentative state; CHECK passes on dual-stack pods; DEL leaves nothing.
#
#   node netns $NODE
#     zl6o0 fd00:6::1/64                   ── p1, p2 (IPv6 only)
#     zl6d0 10.244.6.1/24 fd00:66::1/64    ── p3, p4 (dual stack; p4 with enableDad)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=bridge-lib.sh
. "$(dirname "$0")/bridge-lib.sh"

net6=zl6o$UNIQ
netd=zl6d$UNIQ
node_add
# A new netns inherits IPv4 settings from the host's: start from "off" to see who turns it on.
ip netns exec "$NODE" sysctl -qw net.ipv4.ip_forward=0
for i in 1 2 3 4; do pod_add "zl6p$i$UNIQ"; done
p() { echo "zl6p$1$UNIQ"; }
sysn() { ip netns exec "$NODE" sysctl -n "$1"; }

conf6=$(br_conf "$net6" 1.1.0 '{"bridge": "zl6o0", "isDefaultGateway": true, "ipMasq": true}' \
  '{"ranges": [[{"subnet": "fd00:6::/64"}]]}')
confd=$(br_conf "$netd" 1.1.0 '{"bridge": "zl6d0", "isDefaultGateway": true, "ipMasq": true}' \
  '{"ranges": [[{"subnet": "10.244.6.0/24"}], [{"subnet": "fd00:66::/64"}]]}')

echo "== IPv6 only"
runs_ok "ADD p1" br ADD "$conf6" c1 "$(p 1)"
r1=$OUT
runs_ok "ADD p2" br ADD "$conf6" c2 "$(p 2)"
expect_eq "p1 result: one v6 address with its gateway" "$(jq -c '.ips' <<<"$r1")" \
  '[{"interface":2,"address":"fd00:6::2/64","gateway":"fd00:6::1"}]'
expect_eq "p1 result: the v6 default route" "$(jq -c '.routes' <<<"$r1")" '[{"dst":"::/0","gw":"fd00:6::1"}]'
expect_eq "p1 has no IPv4 address" "$(pod_ip "$(p 1)" 4)" ""
check "p1 pings p2" pings "$(p 1)" fd00:6::3
check "p2 pings p1" pings "$(p 2)" fd00:6::2
check "p1 pings the gateway" pings "$(p 1)" fd00:6::1
expect_eq "p1 default route via the gateway" "$(ip -n "$(p 1)" -6 route show default | awk '{print $3}')" fd00:6::1
expect_eq "a v6-only network leaves net.ipv4.ip_forward alone" "$(sysn net.ipv4.ip_forward)" 0
expect_eq "bridge forwarding is on" "$(sysn net.ipv6.conf.zl6o0.forwarding)" 1
veth1=$(jq -r '.interfaces[1].name' <<<"$r1")
expect_eq "host veth forwarding is on" "$(sysn "net.ipv6.conf.$veth1.forwarding")" 1
if [ -e "/proc/sys/net/ipv6/conf/all/force_forwarding" ]; then
  expect_eq "bridge force_forwarding is on (Linux 6.17+)" "$(sysn net.ipv6.conf.zl6o0.force_forwarding)" 1
fi
expect_eq "all.forwarding stays 0" "$(sysn net.ipv6.conf.all.forwarding)" 0

echo "== dual stack"
runs_ok "ADD p3" br ADD "$confd" c3 "$(p 3)"
r3=$OUT
confdad=$(jq -c '.enableDad = true' <<<"$confd")
runs_ok "ADD p4 with enableDad" br ADD "$confdad" c4 "$(p 4)"
r4=$OUT
tentative=$(ip -n "$(p 4)" -6 -j addr show dev eth0 | jq '[.[0].addr_info[] | select(.tentative)] | length')
expect_eq "p4: no tentative address once ADD returned" "$tentative" 0
expect_eq "p3 result: v4 and v6, both on interface 2" "$(jq -c '[.ips[] | [.interface, .address, .gateway]]' <<<"$r3")" \
  '[[2,"10.244.6.2/24","10.244.6.1"],[2,"fd00:66::2/64","fd00:66::1"]]'
expect_eq "p3 result: both default routes" "$(jq -c '[.routes[].dst]' <<<"$r3")" '["0.0.0.0/0","::/0"]'
check "p3 pings p4 (v4)" pings "$(p 3)" 10.244.6.3
check "p3 pings p4 (v6)" pings "$(p 3)" fd00:66::3
check "p4 pings p3 (v6)" pings "$(p 4)" fd00:66::2
check "p3 pings the v4 gateway" pings "$(p 3)" 10.244.6.1
check "p3 pings the v6 gateway" pings "$(p 3)" fd00:66::1
check "p4 pings the v6 gateway" pings "$(p 4)" fd00:66::1
check "p1 reaches p3 on the other bridge: the node forwards v6 with per-interface forwarding only" \
  pings "$(p 1)" fd00:66::2
expect_eq "dual-stack turned net.ipv4.ip_forward on" "$(sysn net.ipv4.ip_forward)" 1
expect_eq "dual-stack bridge forwarding is on" "$(sysn net.ipv6.conf.zl6d0.forwarding)" 1
expect_eq "all.forwarding still 0 after dual-stack ADDs" "$(sysn net.ipv6.conf.all.forwarding)" 0
expect_eq "default.forwarding still 0" "$(sysn net.ipv6.conf.default.forwarding)" 0

echo "== CHECK"
runs_ok "CHECK p3" br CHECK "$(jq -c --argjson r "$r3" '. + {prevResult: $r}' <<<"$confd")" c3 "$(p 3)"
runs_ok "CHECK p4" br CHECK "$(jq -c --argjson r "$r4" '. + {prevResult: $r}' <<<"$confdad")" c4 "$(p 4)"

echo "== DEL"
runs_ok "DEL p1" br DEL "$conf6" c1 "$(p 1)"
runs_ok "DEL p2" br DEL "$conf6" c2 "$(p 2)"
runs_ok "DEL p3" br DEL "$confd" c3 "$(p 3)"
runs_ok "DEL p4" br DEL "$confdad" c4 "$(p 4)"
expect_clean "after DEL ($netd)" "$netd"
expect_eq "after DEL ($net6): no allocations" "$(allocs "$net6")" 0
expect_eq "all.forwarding still 0 at the end" "$(sysn net.ipv6.conf.all.forwarding)" 0

finish_bridge
