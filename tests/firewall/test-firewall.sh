#!/usr/bin/env bash
# libnet/firewall through zl-fwtool: rule shape, idempotence and removal in both backends, then
# real traffic: masquerade, excluded destinations, and FORWARD accepts that survive a DROP in
# legacy xtables, in iptables-nft's `ip filter` and in a user's `inet filter` table.
#
# Topology (all throwaway netns):
#
#   pod                        node                                    outside
#   eth0 10.99.0.2/24 ── vpod ─ br-fw 10.99.0.1/24   up0 192.0.2.1/24 ── eth0 192.0.2.2, .3 /24
#        fd99::2/64                   fd99::1/64         2001:db8::1/64       2001:db8::2, ::3 /64
#   default via br-fw           forwarding on          (no route back to the pod subnets unless
#                                                        a test adds one)
#
# outside counts echo requests per source address with nft named counters, which tells whether
# the pod's packets arrived masqueraded (node address) or not (pod address).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
need_root

FWTOOL=$BUILD/zl-fwtool
[ -x "$FWTOOL" ] || { echo "missing $FWTOOL (build the zl-fwtool target)" >&2; exit 1; }

POD=zlfw-pod-$UNIQ
NODE=zlfw-node-$UNIQ
OUT=zlfw-out-$UNIQ
NET=fwtest-$UNIQ
MASQ_CM="zl-cni $NET masquerade"
FWD_CM="zl-cni $NET forward"
SRC=(--source 10.99.0.0/24 --source fd99::/64)

in_node() { ip netns exec "$NODE" "$@"; }
in_out() { ip netns exec "$OUT" "$@"; }
fw() { in_node "$FWTOOL" "$@"; }
not() { ! "$@"; }

setup() {
  netns_add "$POD"
  netns_add "$NODE"
  netns_add "$OUT"
  ip -n "$NODE" link add br-fw type bridge
  ip -n "$NODE" link add vpod type veth peer name eth0 netns "$POD"
  ip -n "$NODE" link add up0 type veth peer name eth0 netns "$OUT"
  ip -n "$NODE" link set vpod master br-fw
  for l in br-fw vpod up0; do ip -n "$NODE" link set "$l" up; done
  ip -n "$POD" link set eth0 up
  ip -n "$OUT" link set eth0 up
  ip -n "$NODE" addr add 10.99.0.1/24 dev br-fw
  ip -n "$NODE" addr add fd99::1/64 dev br-fw nodad
  ip -n "$NODE" addr add 192.0.2.1/24 dev up0
  ip -n "$NODE" addr add 2001:db8::1/64 dev up0 nodad
  ip -n "$POD" addr add 10.99.0.2/24 dev eth0
  ip -n "$POD" addr add fd99::2/64 dev eth0 nodad
  ip -n "$POD" route add default via 10.99.0.1
  ip -n "$POD" route add default via fd99::1
  for a in 192.0.2.2/24 192.0.2.3/24; do ip -n "$OUT" addr add "$a" dev eth0; done
  for a in 2001:db8::2/64 2001:db8::3/64; do ip -n "$OUT" addr add "$a" dev eth0 nodad; done
  # IPv4 forwarding is per netns. IPv6 per interface only: `forwarding` alone does not forward,
  # `force_forwarding` (Linux 6.17+) does; older kernels need all.forwarding, harmless here.
  in_node sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
  local i
  for i in br-fw up0; do
    in_node sh -c "echo 1 > /proc/sys/net/ipv6/conf/$i/forwarding"
    if [ -e "/proc/sys/net/ipv6/conf/lo/force_forwarding" ]; then
      in_node sh -c "echo 1 > /proc/sys/net/ipv6/conf/$i/force_forwarding"
    else
      in_node sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding'
    fi
  done
  in_out nft -f - <<'EOF'
table inet obs {
  counter node4 { }
  counter pod4 { }
  counter node6 { }
  counter pod6 { }
  chain input {
    type filter hook input priority filter; policy accept;
    ip saddr 192.0.2.1 icmp type echo-request counter name node4
    ip saddr 10.99.0.2 icmp type echo-request counter name pod4
    ip6 saddr 2001:db8::1 icmpv6 type echo-request counter name node6
    ip6 saddr fd99::2 icmpv6 type echo-request counter name pod6
  }
}
EOF
}

route_back() { # add|del: lets outside reach the pod subnets without NAT
  ip -n "$OUT" route "$1" 10.99.0.0/24 via 192.0.2.1
  ip -n "$OUT" route "$1" fd99::/64 via 2001:db8::1
}

# reach 4|6 DST: one echo from the pod; success iff answered.
reach() {
  local fam=$1 dst=$2
  ip netns exec "$POD" ping "-$fam" -c 1 -W 1 -q "$dst" >/dev/null 2>&1
}
counter() { in_out nft reset counter inet obs "$1" | awk '/packets/ { print $2 }'; }
# seen 4|6 DST: pings DST and prints which source outside saw: node, pod, none or both.
seen() {
  local fam=$1 dst=$2 n p
  counter "node$fam" >/dev/null
  counter "pod$fam" >/dev/null
  reach "$fam" "$dst" || true
  n=$(counter "node$fam")
  p=$(counter "pod$fam")
  if [ "$n" -gt 0 ] && [ "$p" -gt 0 ]; then echo both
  elif [ "$n" -gt 0 ]; then echo node
  elif [ "$p" -gt 0 ]; then echo pod
  else echo none
  fi
}

# ---- inspection helpers (CLI tools are fine in tests) ----
save4() { in_node iptables-legacy-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'; }
save6() { in_node ip6tables-legacy-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'; }
count() { grep -cE -- "$1" || true; } # count REGEX <input
H=$("$BUILD/zl-names" hash "$NET")

check_legacy_rules() { # LABEL: exactly one copy of every rule of "${SRC[@]}" + br-fw
  local l=$1 s4 s6
  s4=$(save4)
  s6=$(save6)
  expect_eq "$l: v4 POSTROUTING jump once" "$(count "^-A POSTROUTING -m comment --comment \"$MASQ_CM\" -j ZL-MASQ-$H\$" <<<"$s4")" 1
  expect_eq "$l: v4 MASQUERADE once" "$(count "^-A ZL-MASQ-$H -s 10.99.0.0/24 .*-j MASQUERADE\$" <<<"$s4")" 1
  expect_eq "$l: v4 pod subnet not NATed" "$(count "^-A ZL-MASQ-$H -d 10.99.0.0/24 .*-j RETURN\$" <<<"$s4")" 1
  expect_eq "$l: v4 multicast not NATed" "$(count "^-A ZL-MASQ-$H -d 224.0.0.0/4 .*-j RETURN\$" <<<"$s4")" 1
  expect_eq "$l: v4 ZL-MASQ holds 3 rules" "$(count "^-A ZL-MASQ-$H " <<<"$s4")" 3
  expect_eq "$l: v4 FORWARD jump is the first rule" \
    "$(grep -m1 '^-A FORWARD' <<<"$s4" | grep -cE -- "--comment \"$FWD_CM\" -j ZL-FWD-$H\$" || true)" 1
  expect_eq "$l: v4 FORWARD jump once" "$(count "^-A FORWARD .*-j ZL-FWD-$H\$" <<<"$s4")" 1
  expect_eq "$l: v4 accept in from bridge" "$(count "^-A ZL-FWD-$H -i br-fw -m comment --comment \"$FWD_CM\" -j ACCEPT\$" <<<"$s4")" 1
  expect_eq "$l: v4 accept out to bridge" "$(count "^-A ZL-FWD-$H -o br-fw -m comment --comment \"$FWD_CM\" -j ACCEPT\$" <<<"$s4")" 1
  expect_eq "$l: v6 MASQUERADE once" "$(count "^-A ZL-MASQ-$H -s fd99::/64 .*-j MASQUERADE\$" <<<"$s6")" 1
  expect_eq "$l: v6 multicast not NATed" "$(count "^-A ZL-MASQ-$H -d ff00::/8 .*-j RETURN\$" <<<"$s6")" 1
  expect_eq "$l: v6 POSTROUTING jump once" "$(count "^-A POSTROUTING .*-j ZL-MASQ-$H\$" <<<"$s6")" 1
  expect_eq "$l: v6 FORWARD jump once" "$(count "^-A FORWARD .*-j ZL-FWD-$H\$" <<<"$s6")" 1
  expect_eq "$l: v6 ZL-FWD holds 2 rules" "$(count "^-A ZL-FWD-$H " <<<"$s6")" 2
}

zl_legacy_lines() { { save4; save6; } | count 'ZL-'; }
zl_nft_lines() { in_node nft list ruleset | count "zl-$H|\"zl-cni $NET "; }

# ============================================================================================
echo "# legacy xtables backend: rule shape"
setup
in_node iptables-legacy -A FORWARD -o up0 -p tcp --dport 9 -j DROP # a host rule to get above
fw ensure --backend iptables --network "$NET" --bridge br-fw "${SRC[@]}"
check_legacy_rules "iptables ensure"
first=$({ save4; save6; })
fw ensure --backend iptables --network "$NET" --bridge br-fw "${SRC[@]}"
check_legacy_rules "iptables ensure again"
expect_eq "iptables: second ensure changes nothing" "$({ save4; save6; })" "$first"
expect_eq "iptables: present" "$(fw present --backend iptables --network "$NET")" yes
plan() { fw check --network "$NET" --bridge br-fw "${SRC[@]}" "$@" && echo "rc=0" || echo "rc=$?"; }
expect_eq "iptables: check of current rules: empty plan" "$(plan --backend iptables)" "rc=0"
in_node iptables-legacy -t nat -D "ZL-MASQ-$H" -d 224.0.0.0/4 -m comment --comment "$MASQ_CM" -j RETURN
out=$(plan --backend iptables)
expect_eq "iptables: check after a rule was deleted: that rule, exit 3" \
  "$(count '^rule missing: .* ip nat ZL-MASQ-'"$H"': -d 224.0.0.0/4 -j RETURN$' <<<"$out")/$(wc -l <<<"$out")/$(tail -1 <<<"$out")" "1/2/rc=3"
fw ensure --backend iptables --network "$NET" --bridge br-fw "${SRC[@]}"
expect_eq "iptables: ensure put back just that rule" "$({ save4; save6; })" "$first"
fw ensure --backend iptables --network "$NET" --bridge br-fw --source 10.98.0.0/16 --exclude 172.16.0.0/12
s4=$(save4)
expect_eq "iptables: changed sources replace the old ones" \
  "$(count '10\.99\.0\.0' <<<"$s4")/$(count '^-A ZL-MASQ-.* -s 10\.98\.0\.0/16 .*MASQUERADE' <<<"$s4")/$(count '^-A ZL-MASQ-.* -d 172\.16\.0\.0/12 .*RETURN' <<<"$s4")" 0/1/1
expect_eq "iptables: v4-only network leaves no v6 rules" "$(save6 | count 'ZL-')" 0
fw remove --backend iptables --network "$NET"
expect_eq "iptables: remove leaves nothing" "$(zl_legacy_lines)" 0
expect_eq "iptables: host rule untouched" "$(save4 | count '^-A FORWARD -o up0 -p tcp -m tcp --dport 9 -j DROP$')" 1
expect_eq "iptables: absent" "$(fw present --backend iptables --network "$NET")" no
check "iptables: remove of nothing succeeds" fw remove --backend iptables --network "$NET"
in_node iptables-legacy -F FORWARD

echo "# nftables backend: rule shape"
in_node iptables-nft -P FORWARD DROP # iptables-nft's table ip filter, like Debian 12's iptables
in_node nft -f - <<'EOF'
table inet filter {
  chain forward { type filter hook forward priority filter; policy drop; }
}
table inet quiet {
  chain forward { type filter hook forward priority 10; policy accept; }
}
EOF
check_nft_rules() {
  local l=$1 rs
  rs=$(in_node nft list ruleset)
  expect_eq "$l: own table once" "$(count "^table inet zl-$H \\{" <<<"$rs")" 1
  expect_eq "$l: masquerade rules (2 families x (2 no-NAT + 1 masquerade))" "$(count "comment \"$MASQ_CM\"" <<<"$rs")" 6
  expect_eq "$l: v4 masquerade once" "$(count "ip saddr 10.99.0.0/24 masquerade comment \"$MASQ_CM\"" <<<"$rs")" 1
  expect_eq "$l: v6 masquerade once" "$(count "ip6 saddr fd99::/64 masquerade comment \"$MASQ_CM\"" <<<"$rs")" 1
  expect_eq "$l: multicast not NATed" "$(count "ip6? daddr (224.0.0.0/4|ff00::/8) accept comment" <<<"$rs")" 2
  expect_eq "$l: srcnat postrouting chain" "$(count 'type nat hook postrouting priority srcnat; policy accept;' <<<"$rs")" 1
  # own table + ip filter FORWARD + inet filter forward; not the accept-only, empty inet quiet
  expect_eq "$l: forward accepts in own and in every dropping chain" "$(count "iifname \"br-fw\" accept comment \"$FWD_CM\"" <<<"$rs")" 3
  expect_eq "$l: oifname accepts too" "$(count "oifname \"br-fw\" accept comment \"$FWD_CM\"" <<<"$rs")" 3
  expect_eq "$l: ip filter FORWARD starts with our accept" \
    "$(in_node nft list chain ip filter FORWARD | awk 'f { print; exit } /type filter/ { f = 1 }' | count "iifname \"br-fw\" accept")" 1
  expect_eq "$l: inet quiet untouched" "$(in_node nft list table inet quiet | count 'zl-cni')" 0
}
fw ensure --backend nftables --network "$NET" --bridge br-fw "${SRC[@]}"
check_nft_rules "nftables ensure"
first=$(in_node nft -a list ruleset)
fw ensure --backend nftables --network "$NET" --bridge br-fw "${SRC[@]}"
check_nft_rules "nftables ensure again"
expect_eq "nftables: second ensure changes nothing (same handles)" "$(in_node nft -a list ruleset)" "$first"
expect_eq "nftables: present" "$(fw present --backend nftables --network "$NET")" yes
expect_eq "nftables: check of current rules: empty plan" "$(plan --backend nftables)" "rc=0"
h=$(in_node nft -a list chain inet "zl-$H" postrouting | awk '/ip daddr 224.0.0.0\/4 accept/ { print $NF }')
in_node nft delete rule inet "zl-$H" postrouting handle "$h"
out=$(plan --backend nftables)
expect_eq "nftables: check after a rule was deleted: that rule, exit 3" \
  "$(count '^rule missing: insert \(before handle [0-9]+\) into inet zl-'"$H"' postrouting: ip daddr 224.0.0.0/4 accept$' <<<"$out")/$(wc -l <<<"$out")/$(tail -1 <<<"$out")" "1/2/rc=3"
fw ensure --backend nftables --network "$NET" --bridge br-fw "${SRC[@]}"
check_nft_rules "nftables ensure after a deleted rule"
expect_eq "nftables: only that rule was added (every other handle kept)" \
  "$(diff <(grep -v '224.0.0.0/4' <<<"$first") <(in_node nft -a list ruleset | grep -v '224.0.0.0/4') && echo same)" same
expect_eq "nftables: iptables-nft shows our accept with its comment" \
  "$(in_node iptables-nft -S FORWARD 2>/dev/null | count "^-A FORWARD -i br-fw -m comment --comment \"$FWD_CM\" -j ACCEPT\$")" 1
fw ensure --backend nftables --network "$NET" --bridge br-fw --source 10.98.0.0/16 --exclude 172.16.0.0/12
rs=$(in_node nft list ruleset)
expect_eq "nftables: changed sources replace the old ones" \
  "$(count '10\.99\.0\.0|fd99' <<<"$rs")/$(count 'ip saddr 10.98.0.0/16 masquerade' <<<"$rs")/$(count 'ip daddr 172.16.0.0/12 accept' <<<"$rs")" 0/1/1
fw ensure --backend nftables --network "$NET" --no-masq "${SRC[@]}"
expect_eq "nftables: no bridge, no masquerade: nothing left" "$(zl_nft_lines)" 0
fw ensure --backend nftables --network "$NET" --bridge br-fw "${SRC[@]}"
fw remove --backend nftables --network "$NET"
expect_eq "nftables: remove leaves nothing" "$(zl_nft_lines)" 0
expect_eq "nftables: host chains kept" "$(in_node nft list ruleset | count 'policy drop;')" 2
expect_eq "nftables: absent" "$(fw present --backend nftables --network "$NET")" no
check "nftables: remove of nothing succeeds" fw remove --backend nftables --network "$NET"
in_node nft delete table ip filter
in_node nft delete table inet filter
in_node nft delete table inet quiet

# ============================================================================================
echo "# traffic"
route_back add
check "topology forwards v4 (route back, no rules)" wait_for 5 reach 4 192.0.2.2
check "topology forwards v6 (route back, no rules)" wait_for 5 reach 6 2001:db8::2
route_back del

masq_suite() { # BACKEND
  local b=$1
  check "$b: no rules: pod cannot reach outside (v4)" not reach 4 192.0.2.2
  fw ensure --backend "$b" --network "$NET" --bridge br-fw "${SRC[@]}"
  expect_eq "$b: masqueraded: outside sees the node (v4)" "$(seen 4 192.0.2.2)" node
  expect_eq "$b: masqueraded: outside sees the node (v6)" "$(seen 6 2001:db8::2)" node
  fw ensure --backend "$b" --network "$NET" --bridge br-fw "${SRC[@]}" --exclude 192.0.2.3/32 --exclude 2001:db8::3/128
  route_back add
  expect_eq "$b: excluded destination sees the pod (v4)" "$(seen 4 192.0.2.3)" pod
  expect_eq "$b: excluded destination sees the pod (v6)" "$(seen 6 2001:db8::3)" pod
  expect_eq "$b: other destination still sees the node (v4)" "$(seen 4 192.0.2.2)" node
  expect_eq "$b: other destination still sees the node (v6)" "$(seen 6 2001:db8::2)" node
  route_back del
  fw remove --backend "$b" --network "$NET"
  check "$b: removed: pod cannot reach outside (v4)" not reach 4 192.0.2.2
  check "$b: removed: pod cannot reach outside (v6)" not reach 6 2001:db8::2
}
masq_suite iptables
masq_suite nftables

# drop_suite BACKEND LABEL: a FORWARD drop is in place; the route back makes NAT unnecessary,
# so reachability shows exactly whether our accepts get the packets past the drop.
drop_suite() {
  local b=$1 l=$2
  route_back add
  check "$l: drop in place: pod cannot reach outside (v4)" not reach 4 192.0.2.2
  check "$l: drop in place: pod cannot reach outside (v6)" not reach 6 2001:db8::2
  fw ensure --backend "$b" --network "$NET" --bridge br-fw --no-masq "${SRC[@]}"
  expect_eq "$l: with our accepts the pod gets through (v4)" "$(seen 4 192.0.2.2)" pod
  expect_eq "$l: with our accepts the pod gets through (v6)" "$(seen 6 2001:db8::2)" pod
  fw ensure --backend "$b" --network "$NET" --bridge br-fw "${SRC[@]}"
  expect_eq "$l: with our accepts and masquerade (v4)" "$(seen 4 192.0.2.2)" node
  fw remove --backend "$b" --network "$NET"
  check "$l: removed: dropped again (v4)" not reach 4 192.0.2.2
  check "$l: removed: dropped again (v6)" not reach 6 2001:db8::2
  route_back del
}

echo "# FORWARD policy DROP"
in_node iptables-legacy -P FORWARD DROP
in_node ip6tables-legacy -P FORWARD DROP
drop_suite iptables "iptables-legacy DROP"
# The point of it all: an nftables accept cannot override the legacy drop.
route_back add
fw ensure --backend nftables --network "$NET" --bridge br-fw --no-masq "${SRC[@]}"
check "iptables-legacy DROP: nftables accepts alone do not help" not reach 4 192.0.2.2
fw remove --backend nftables --network "$NET"
route_back del
in_node iptables-legacy -P FORWARD ACCEPT
in_node ip6tables-legacy -P FORWARD ACCEPT

in_node iptables-nft -P FORWARD DROP
in_node ip6tables-nft -P FORWARD DROP
drop_suite nftables "iptables-nft DROP"
in_node nft delete table ip filter
in_node nft delete table ip6 filter

in_node nft 'add table inet filter; add chain inet filter forward { type filter hook forward priority filter; policy drop; }'
drop_suite nftables "nft inet filter drop"
in_node nft delete table inet filter

# ============================================================================================
echo "# auto"
in_node iptables-legacy -P FORWARD DROP
fw ensure --backend auto --network "$NET" --bridge br-fw "${SRC[@]}"
expect_eq "auto, legacy in use: rules in legacy xtables" "$(save4 | count "^:ZL-(FWD|MASQ)-$H")" 2
expect_eq "auto, legacy in use: nothing in nftables" "$(zl_nft_lines)" 0
expect_eq "auto, legacy in use: traffic flows (v4)" "$(seen 4 192.0.2.2)" node
fw remove --backend auto --network "$NET"
in_node iptables-legacy -P FORWARD ACCEPT

in_node nft 'add table inet filter; add chain inet filter forward { type filter hook forward priority filter; policy drop; }'
fw ensure --backend auto --network "$NET" --bridge br-fw "${SRC[@]}"
expect_eq "auto, nftables in use: nothing in legacy xtables" "$(zl_legacy_lines)" 0
expect_eq "auto, nftables in use: own table" "$(in_node nft list tables | count "^table inet zl-$H\$")" 1
expect_eq "auto, nftables in use: traffic flows (v6)" "$(seen 6 2001:db8::2)" node

in_node iptables-legacy -P FORWARD DROP
in_node ip6tables-legacy -P FORWARD DROP
# What one auto ensure reads from the kernel: "IPT_SO_GET_INFO <table>" per legacy table read,
# "NFT_MSG_GET…" per nftables request. (LeakSanitizer cannot run under ptrace.)
in_node env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -o "$T/reads" -e trace=getsockopt,sendto,sendmsg -s 64 \
  "$FWTOOL" ensure --backend auto --network "$NET" --bridge br-fw "${SRC[@]}"
reads=$(sed -nE 's/.*(IP6?T_SO_GET_INFO), "([a-z]+)\\0.*/\1 \2/p; s/.*(NFT_MSG_GET[A-Z]+).*/\1/p' "$T/reads")
expect_eq "auto, both in use: ruleset read once (each legacy table, one nftables dump)" \
  "$(count '^IPT_SO_GET_INFO filter$' <<<"$reads")/$(count '^IP6T_SO_GET_INFO filter$' <<<"$reads")/$(sort <<<"$reads" | uniq -d | wc -l)/$(count '^NFT_MSG_GET(GEN|TABLE|CHAIN|RULE)$' <<<"$reads")" \
  "1/1/0/4"
expect_eq "auto, both in use: FORWARD accepts in legacy, no legacy NAT" \
  "$(save4 | count "^:ZL-FWD-$H")/$(save6 | count "^:ZL-FWD-$H")/$(zl_legacy_lines | tail -1)/$({ save4; save6; } | count 'ZL-MASQ')" "1/1/8/0"
expect_eq "auto, both in use: masquerade in nftables" "$(in_node nft list ruleset | count 'masquerade comment')" 2
expect_eq "auto, both in use: traffic flows (v4)" "$(seen 4 192.0.2.2)" node
expect_eq "auto, both in use: traffic flows (v6)" "$(seen 6 2001:db8::2)" node
expect_eq "auto, both in use: present" "$(fw present --backend auto --network "$NET")" yes
fw remove --backend auto --network "$NET"
expect_eq "auto: remove clears both" "$(zl_legacy_lines)/$(zl_nft_lines)" 0/0
check "auto, both in use: removed: dropped (v4)" not reach 4 192.0.2.2
expect_eq "auto: absent" "$(fw present --backend auto --network "$NET")" no

# ============================================================================================
echo "# network names never share rules"
# These two names collide in the 32-bit FNV-1a the names once used: each now gets its own.
A=net-948199 B=net-1123634
for be in iptables nftables; do
  fw ensure --backend "$be" --network "$A" --bridge br-fw --source 10.99.0.0/24
  fw ensure --backend "$be" --network "$B" --bridge br-fw --source 10.98.0.0/24
  fw remove --backend "$be" --network "$B"
  expect_eq "$be: removing $B leaves $A's rules" "$(fw present --backend "$be" --network "$A")" yes
  expect_eq "$be: $B is gone" "$(fw present --backend "$be" --network "$B")" no
  fw remove --backend "$be" --network "$A"
done
# A real 64-bit clash, staged: $A's table and chain already hold rules of another network.
HA=$("$BUILD/zl-names" hash "$A")
in_node nft "add table inet zl-$HA; add chain inet zl-$HA forward { type filter hook forward priority filter; }"
in_node nft "add rule inet zl-$HA forward iifname \"br-x\" accept comment \"zl-cni other forward\""
if out=$(fw ensure --backend nftables --network "$A" --bridge br-fw 2>&1); then out="succeeded"; fi
expect_eq "nftables: a table holding another network's rules is a clash, named" \
  "$(count 'zl-cni other forward.*share a hash' <<<"$out")" 1
fw remove --backend nftables --network "$A"
expect_eq "nftables: remove leaves the other network's table" "$(in_node nft list tables | count "^table inet zl-$HA\$")" 1
in_node nft delete table inet "zl-$HA"
in_node iptables-legacy -N "ZL-FWD-$HA"
in_node iptables-legacy -A "ZL-FWD-$HA" -i br-x -m comment --comment "zl-cni other forward" -j ACCEPT
if out=$(fw ensure --backend iptables --network "$A" --bridge br-fw 2>&1); then out="succeeded"; fi
expect_eq "iptables: a chain holding another network's rules is a clash, named" \
  "$(count 'zl-cni other forward.*share a hash' <<<"$out")" 1
fw remove --backend iptables --network "$A"
expect_eq "iptables: remove leaves the other network's chain" "$(save4 | count "^:ZL-FWD-$HA")" 1
in_node iptables-legacy -F "ZL-FWD-$HA"
in_node iptables-legacy -X "ZL-FWD-$HA"

if out=$(fw ensure --backend nftables --network "$NET" --bridge 'a/b' 2>&1); then out="succeeded"; fi
expect_eq "a bad bridge name is refused, quoted" "$(count 'bridge "a/b": not a valid interface name' <<<"$out")" 1
finish
