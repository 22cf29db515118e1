#!/usr/bin/env bash
# The gateway address on the bridge: never a stale second one of the same subnet. A bridge
# that already carries another address of the subnet refuses the ADD (code 7 naming both, the
# bridge left as it was) unless forceAddress, which replaces it; the gateway is added once,
# however many pods; IPv6 the same.
#
#   node netns $NODE: bridge zlgw0 pre-set with 10.244.7.99/24 and fd00:7::99/64; pods p1, p2
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=bridge-lib.sh
. "$(dirname "$0")/bridge-lib.sh"

net=zlgw$UNIQ
p1=zlgp1$UNIQ
p2=zlgp2$UNIQ
node_add
pod_add "$p1" "$p2"
ip -n "$NODE" link add zlgw0 type bridge
ip -n "$NODE" addr add 10.244.7.99/24 dev zlgw0
ip -n "$NODE" addr add fd00:7::99/64 dev zlgw0 nodad
addrs() { ip -n "$NODE" -j addr show dev zlgw0 | jq -r '[.[0].addr_info[] | select(.scope == "global") | "\(.local)/\(.prefixlen)"] | sort | join(" ")'; }
ipam='{"ranges": [[{"subnet": "10.244.7.0/24"}], [{"subnet": "fd00:7::/64"}]]}'

echo "== a stale address of the subnet refuses the ADD"
conf=$(br_conf "$net" 1.1.0 '{"bridge": "zlgw0", "isGateway": true}' "$ipam")
br ADD "$conf" c1 "$p1"
expect_cni_error "ADD refused" 7 "already has 10\.244\.7\.99/24, not gateway 10\.244\.7\.1/24"
expect_eq "bridge left as it was" "$(addrs)" "10.244.7.99/24 fd00:7::99/64"
expect_eq "no host veth left" "$(node_veths)" "0"
expect_eq "no allocation left" "$(jq '.allocations | length' "$DATA/$net.json")" "0"

echo "== forceAddress replaces it"
conf=$(br_conf "$net" 1.1.0 '{"bridge": "zlgw0", "isGateway": true, "forceAddress": true}' "$ipam")
runs_ok "ADD p1 with forceAddress" br ADD "$conf" c1 "$p1"
expect_eq "bridge has the gateways only" "$(addrs)" "10.244.7.1/24 fd00:7::1/64"
runs_ok "ADD p2" br ADD "$conf" c2 "$p2"
expect_eq "still one gateway per family" "$(addrs)" "10.244.7.1/24 fd00:7::1/64"
check "p2 pings the v4 gateway" ip netns exec "$p2" ping -q -c1 -W2 10.244.7.1
check "p2 pings the v6 gateway" ip netns exec "$p2" ping -6 -q -c1 -W2 fd00:7::1
runs_ok "DEL p1" br DEL "$conf" c1 "$p1"
runs_ok "DEL p2" br DEL "$conf" c2 "$p2"
expect_eq "no host veth left" "$(node_veths)" "0"
finish
