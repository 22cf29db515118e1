#!/usr/bin/env bash
# Capabilities and per-pod arguments: the pod MAC from runtimeConfig.mac (the "mac"
# capability, through cnitool's CAP_ARGS), args.cni.mac and CNI_ARGS MAC= (in that order of
# precedence); static addresses from runtimeConfig.ips (the "ips" capability), args.cni.ips
# and CNI_ARGS IP= passed through to zl-ipam; a static address already held fails cleanly.
# The result reports what the kernel holds; CHECK agrees.
#
#   node netns $NODE: bridge zlcap0 10.244.2.1/24 (+ fd00:2::1/64 for the dual-stack case)
#   pods p1…p6, one attachment each
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=bridge-lib.sh
. "$(dirname "$0")/bridge-lib.sh"

net=zlcap$UNIQ
node_add
for i in 1 2 3 4 5 6; do pod_add "zlcp$i$UNIQ"; done
p() { echo "zlcp$1$UNIQ"; }
conf=$(br_conf "$net" 1.0.0 '{"bridge": "zlcap0", "isDefaultGateway": true, "capabilities": {"mac": true, "ips": true}}' \
  '{"ranges": [[{"subnet": "10.244.2.0/24"}], [{"subnet": "fd00:2::/64"}]]}')
conf11=$(jq -c '.cniVersion = "1.1.0"' <<<"$conf")
br_list "$conf"
pod_mac() { ip -n "$1" -j link show "${2:-eth0}" | jq -r '.[0].address'; }

echo "== mac and ips capabilities through cnitool"
runs_ok "ADD p1 with CAP_ARGS mac + ips" ct add "$net" "$(p 1)" \
  CAP_ARGS='{"mac": "0a:58:0a:f4:02:99", "ips": ["10.244.2.50/24", "fd00:2::50/64"]}'
expect_eq "p1 MAC is the requested one" "$(pod_mac "$(p 1)")" 0a:58:0a:f4:02:99
expect_eq "result reports that MAC" "$(jq -r '.interfaces[2].mac' <<<"$OUT")" 0a:58:0a:f4:02:99
expect_eq "p1 holds the static v4" "$(pod_ip "$(p 1)")" 10.244.2.50
expect_eq "p1 holds the static v6" "$(pod_ip "$(p 1)" 6)" fd00:2::50
expect_eq "result reports both statics" "$(jq -r '[.ips[].address] | join(",")' <<<"$OUT")" "10.244.2.50/24,fd00:2::50/64"
runs_ok "CHECK p1" ct check "$net" "$(p 1)" CAP_ARGS='{"mac": "0a:58:0a:f4:02:99", "ips": ["10.244.2.50/24", "fd00:2::50/64"]}'
check "p1 pings the gateway" pings "$(p 1)" 10.244.2.1

echo "== args.cni.mac / args.cni.ips, direct"
c2=$(jq -c '.args = {cni: {mac: "0a:58:0a:f4:02:aa", ips: ["10.244.2.60"]}}' <<<"$conf11")
runs_ok "ADD p2 with args.cni" br ADD "$c2" c2 "$(p 2)"
expect_eq "p2 MAC from args.cni.mac" "$(pod_mac "$(p 2)")" 0a:58:0a:f4:02:aa
expect_eq "p2 address from args.cni.ips" "$(pod_ip "$(p 2)")" 10.244.2.60

echo "== CNI_ARGS MAC= / IP=, direct"
runs_ok "ADD p3 with CNI_ARGS" br ADD "$conf11" c3 "$(p 3)" eth0 CNI_ARGS="IgnoreUnknown=1;MAC=0a:58:0a:f4:02:bb;IP=10.244.2.70"
expect_eq "p3 MAC from CNI_ARGS" "$(pod_mac "$(p 3)")" 0a:58:0a:f4:02:bb
expect_eq "p3 address from CNI_ARGS IP" "$(pod_ip "$(p 3)")" 10.244.2.70
check "p3 pings p2" pings "$(p 3)" 10.244.2.60

echo "== precedence: runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC"
c4=$(jq -c '.runtimeConfig = {mac: "0a:58:0a:f4:02:c1"} | .args = {cni: {mac: "0a:58:0a:f4:02:c2"}}' <<<"$conf11")
runs_ok "ADD p4 with all three" br ADD "$c4" c4 "$(p 4)" eth0 CNI_ARGS="MAC=0a:58:0a:f4:02:c3"
expect_eq "runtimeConfig.mac wins" "$(pod_mac "$(p 4)")" 0a:58:0a:f4:02:c1
c5=$(jq -c '.args = {cni: {mac: "0a:58:0a:f4:02:d2"}}' <<<"$conf11")
runs_ok "ADD p5 with args.cni.mac and CNI_ARGS" br ADD "$c5" c5 "$(p 5)" eth0 CNI_ARGS="MAC=0a:58:0a:f4:02:d3"
expect_eq "args.cni.mac beats CNI_ARGS" "$(pod_mac "$(p 5)")" 0a:58:0a:f4:02:d2

echo "== a static address already held"
veths=$(node_veths)
held=$(allocs "$net")
br ADD "$conf11" c6 "$(p 6)" eth0 CNI_ARGS="IP=10.244.2.50"
expect_cni_error "ADD asking for p1's address fails" 100 "10.244.2.50"
expect_eq "no veth left" "$(node_veths)" "$veths"
expect_eq "no allocation left" "$(allocs "$net")" "$held"
check "p6 has no eth0" no_link "$(p 6)" eth0
check "p1 still pings the gateway" pings "$(p 1)" 10.244.2.1

echo "== DEL all"
runs_ok "DEL p1" ct del "$net" "$(p 1)" CAP_ARGS='{"mac": "0a:58:0a:f4:02:99", "ips": ["10.244.2.50/24", "fd00:2::50/64"]}'
runs_ok "DEL p2" br DEL "$c2" c2 "$(p 2)"
runs_ok "DEL p3" br DEL "$conf11" c3 "$(p 3)"
runs_ok "DEL p4" br DEL "$c4" c4 "$(p 4)"
runs_ok "DEL p5" br DEL "$c5" c5 "$(p 5)"
runs_ok "DEL p6 (never added)" br DEL "$conf11" c6 "$(p 6)"
expect_clean "after DEL" "$net"

finish_bridge
