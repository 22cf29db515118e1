#!/usr/bin/env bash
# IP masquerade: a pod reaches an "outside" host and the outside sees the node's address, not
# the pod's (v4 and v6); destinations in masqExclude see the pod's own address; a network with
# ipMasq false is never masqueraded. The outside counts echo requests by source address
# (nftables counters in its own netns). Uses the default firewall backend (auto).
#
#   pod pm ── zlmq0 10.244.3.1/24 fd00:3::1/64 (ipMasq, masqExclude 198.51.100.0/24,
#   │                                            2001:db8:51::/64)
#   pod pn ── zlnm0 10.244.4.1/24 (ipMasq false)
#             node $NODE  up0 192.0.2.1 2001:db8:2::1 ──veth── outside eth0 192.0.2.2
#                                                       2001:db8:2::2, lo 198.51.100.1
#                                                       2001:db8:51::1; routes back to
#                                                       the pod subnets via the node
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=bridge-lib.sh
. "$(dirname "$0")/bridge-lib.sh"

net=zlmq$UNIQ
net2=zlnm$UNIQ
pm=zlmqp$UNIQ
pn=zlnmp$UNIQ
out=zlmqo$UNIQ
node_add
pod_add "$pm" "$pn"
outside_add "$out"
# Replies to non-masqueraded pods must find their way back.
ip -n "$out" route add 10.244.0.0/16 via 192.0.2.1
ip -n "$out" -6 route add fd00::/16 via 2001:db8:2::1
# IPv6 forwarding is per interface (zl-bridge sets it on the bridge and the host veths);
# the node's uplink is the node admin's to configure, as here.
ip netns exec "$NODE" sysctl -qw net.ipv6.conf.up0.force_forwarding=1

conf=$(br_conf "$net" 1.1.0 '{"bridge": "zlmq0", "isDefaultGateway": true, "ipMasq": true,
  "masqExclude": ["198.51.100.0/24", "2001:db8:51::/64"]}' \
  '{"ranges": [[{"subnet": "10.244.3.0/24"}], [{"subnet": "fd00:3::/64"}]]}')
conf2=$(br_conf "$net2" 1.1.0 '{"bridge": "zlnm0", "isDefaultGateway": true, "ipMasq": false}' \
  '{"ranges": [[{"subnet": "10.244.4.0/24"}]]}')
runs_ok "ADD pm (masquerading network)" br ADD "$conf" cm "$pm"
runs_ok "ADD pn (ipMasq false)" br ADD "$conf2" cn "$pn"

# probe DESC POD DST COUNTER: DST answers and, of the echo requests the outside saw, all came
# from COUNTER's source (from_node4, from_node6 or from_other).
probe() {
  local desc=$1 pod=$2 dst=$3 want=$4 c total
  seen_reset "$out"
  if ! pings "$pod" "$dst"; then
    fail "$desc: $dst does not answer"
    return
  fi
  total=0
  for c in from_node4 from_node6 from_other; do total=$((total + $(seen "$out" "$c"))); done
  if [ "$total" -gt 0 ] && [ "$(seen "$out" "$want")" -eq "$total" ]; then
    pass "$desc"
  else
    fail "$desc: node4=$(seen "$out" from_node4) node6=$(seen "$out" from_node6) other=$(seen "$out" from_other)"
  fi
}

echo "== masquerade"
probe "pm -> 192.0.2.2: the outside sees the node's 192.0.2.1" "$pm" 192.0.2.2 from_node4
probe "pm -> 2001:db8:2::2: the outside sees the node's 2001:db8:2::1" "$pm" 2001:db8:2::2 from_node6
echo "== masqExclude"
probe "pm -> 198.51.100.1 (excluded): the outside sees the pod" "$pm" 198.51.100.1 from_other
probe "pm -> 2001:db8:51::1 (excluded): the outside sees the pod" "$pm" 2001:db8:51::1 from_other
echo "== ipMasq false"
probe "pn -> 192.0.2.2: the outside sees the pod" "$pn" 192.0.2.2 from_other

echo "== the outside cannot tell the pod's address without a route back"
ip -n "$out" route del 10.244.0.0/16 via 192.0.2.1
probe "pm -> 192.0.2.2 still answers (replies go to the node)" "$pm" 192.0.2.2 from_node4
check "pn -> 192.0.2.2 no longer answers (nothing masquerades it)" no_ping "$pn" 192.0.2.2

expect_eq "net.ipv6.conf.all.forwarding was never set" "$(ip netns exec "$NODE" sysctl -n net.ipv6.conf.all.forwarding)" 0

echo "== two subnets in one range set: each ADD keeps both masqueraded"
# 10.244.5.0/24 offers one address (rangeStart = rangeEnd), so the second pod gets 10.244.6.x.
net3=zlm2$UNIQ
p31=zlm2a$UNIQ p32=zlm2b$UNIQ
pod_add "$p31" "$p32"
conf3=$(br_conf "$net3" 1.1.0 '{"bridge": "zlm20", "isDefaultGateway": true, "ipMasq": true}' \
  '{"ranges": [[{"subnet": "10.244.5.0/24", "rangeStart": "10.244.5.2", "rangeEnd": "10.244.5.2"},
                {"subnet": "10.244.6.0/24"}]]}')
masq_sources() { zl_rules_text | grep -oE 'saddr 10\.244\.[56]\.0/24 (counter packets [0-9]+ bytes [0-9]+ )?masquerade' | awk '{print $2}' | sort -u | paste -sd,; }
zl_rules_text() { ip netns exec "$NODE" nft list table inet "$("$BUILD/zl-names" nft-table "$net3")"; }
runs_ok "ADD the first pod (10.244.5.2)" br ADD "$conf3" c31 "$p31"
expect_eq "both subnets masqueraded after the first ADD" "$(masq_sources)" "10.244.5.0/24,10.244.6.0/24"
runs_ok "ADD the second pod (10.244.6.x)" br ADD "$conf3" c32 "$p32"
expect_eq "the second pod is in the second subnet" "$(pod_ip "$p32" | cut -d. -f1-3)" "10.244.6"
expect_eq "both subnets still masqueraded after the second ADD" "$(masq_sources)" "10.244.5.0/24,10.244.6.0/24"
probe "the first pod is masqueraded" "$p31" 192.0.2.2 from_node4
probe "the second pod is masqueraded" "$p32" 192.0.2.2 from_node4
runs_ok "DEL the first pod" br DEL "$conf3" c31 "$p31"
runs_ok "DEL the second pod" br DEL "$conf3" c32 "$p32"

echo "== DEL"
runs_ok "DEL pm" br DEL "$conf" cm "$pm"
runs_ok "DEL pn" br DEL "$conf2" cn "$pn"
expect_clean "after DEL ($net)" "$net"
expect_eq "after DEL ($net2): no allocations" "$(allocs "$net2")" 0

finish_bridge
