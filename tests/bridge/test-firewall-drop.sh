#!/usr/bin/env bash
# Nodes whose FORWARD policy is DROP still give pods the outside, for each way the node's
# firewall can be kept: firewallBackend "iptables" with legacy xtables DROP (v4 and v6);
# "nftables" with an nftables forward chain of policy drop; "auto" with iptables-nft's DROP
# (rules must land in nftables), with legacy DROP only (rules in legacy xtables) and with both
# (FORWARD accepts in both). Pods still reach each other; the node's policies are never
# changed; after the last DEL no zl rule, chain or table is left in either backend.
#
#   per case, a fresh node netns:
#   pod a, pod b ── zlfw0 10.244.20.1/24 fd00:20::1/64 ── node ── up0 192.0.2.1 ──
#                                                          outside 192.0.2.2 2001:db8:2::2
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=bridge-lib.sh
. "$(dirname "$0")/bridge-lib.sh"

legacy_rules() {
  { ip netns exec "$NODE" iptables-legacy-save; ip netns exec "$NODE" ip6tables-legacy-save; } 2>/dev/null | grep -c 'ZL-' || true
}
nft_tables() { ip netns exec "$NODE" nft list tables 2>/dev/null | grep -c ' zl-' || true; }
policies() { # the node's own FORWARD policies, one word per backend in use
  {
    ip netns exec "$NODE" iptables-legacy -S FORWARD 2>/dev/null | head -1
    ip netns exec "$NODE" ip6tables-legacy -S FORWARD 2>/dev/null | head -1
    ip netns exec "$NODE" nft -j list chains 2>/dev/null |
      jq -r '.nftables[].chain | select(. != null and .hook == "forward" and (.table | startswith("zl") | not)) | .policy'

  } | grep -oE 'DROP|drop|ACCEPT|accept' | paste -sd, -
}

n=0
case_() { # NAME BACKEND SETUP-FUNCTION WHERE(legacy|nft|both)
  local name=$1 backend=$2 setup=$3 where=$4 conf pa pb out pol
  n=$((n + 1))
  NODE=zlfw$n$UNIQ
  pa=zlfwa$n$UNIQ
  pb=zlfwb$n$UNIQ
  out=zlfwo$n$UNIQ
  echo "== $name"
  node_add
  pod_add "$pa" "$pb"
  outside_add "$out"
  ip netns exec "$NODE" sysctl -qw net.ipv6.conf.up0.force_forwarding=1
  "$setup"
  pol=$(policies)
  conf=$(br_conf "zlfw$n$UNIQ" 1.1.0 "{\"bridge\": \"zlfw0\", \"isDefaultGateway\": true, \"ipMasq\": true,
    \"firewallBackend\": \"$backend\"}" '{"ranges": [[{"subnet": "10.244.20.0/24"}], [{"subnet": "fd00:20::/64"}]]}')
  runs_ok "$name: ADD a" br ADD "$conf" ca "$pa"
  runs_ok "$name: ADD b" br ADD "$conf" cb "$pb"
  check "$name: a reaches the outside (v4)" pings "$pa" 192.0.2.2
  check "$name: a reaches the outside (v6)" pings "$pa" 2001:db8:2::2
  check "$name: b reaches the outside (v4)" pings "$pb" 192.0.2.2
  check "$name: a pings b" pings "$pa" 10.244.20.3
  check "$name: b pings a (v6)" pings "$pb" fd00:20::2
  case $where in
    legacy) check "$name: rules in legacy xtables only" test "$(legacy_rules)" -gt 0 -a "$(nft_tables)" -eq 0 ;;
    nft) check "$name: rules in nftables only" test "$(nft_tables)" -gt 0 -a "$(legacy_rules)" -eq 0 ;;
    both) check "$name: rules in both" test "$(nft_tables)" -gt 0 -a "$(legacy_rules)" -gt 0 ;;
  esac
  expect_eq "$name: the node's FORWARD policies are untouched" "$(policies)" "$pol"
  runs_ok "$name: DEL a" br DEL "$conf" ca "$pa"
  check "$name: b still reaches the outside" pings "$pb" 192.0.2.2
  runs_ok "$name: DEL b" br DEL "$conf" cb "$pb"
  expect_clean "$name" "zlfw$n$UNIQ"
  expect_eq "$name: policies still untouched" "$(policies)" "$pol"
}

legacy_drop() {
  ip netns exec "$NODE" iptables-legacy -P FORWARD DROP
  ip netns exec "$NODE" ip6tables-legacy -P FORWARD DROP
}
nft_drop() {
  ip netns exec "$NODE" nft -f - <<'EOF'
table inet filter {
  chain forward { type filter hook forward priority filter; policy drop; }
}
EOF
}
iptnft_drop() {
  ip netns exec "$NODE" iptables-nft -P FORWARD DROP
  ip netns exec "$NODE" ip6tables-nft -P FORWARD DROP
}
both_drop() {
  legacy_drop
  nft_drop
}

case_ "iptables backend, legacy DROP" iptables legacy_drop legacy
case_ "nftables backend, nft DROP" nftables nft_drop nft
case_ "auto, iptables-nft DROP" auto iptnft_drop nft
case_ "auto, legacy DROP" auto legacy_drop legacy
case_ "auto, legacy and nft DROP" auto both_drop both

finish_bridge
