#!/usr/bin/env bash
# Helpers shared by the zl-bridge suites. Source after tests/lib.sh.
# Every plugin runs inside a "node" netns the suite creates ($NODE), never on the host;
# pods are further netns. IPAM state lives under the private $DATA, conflists for cnitool
# under $NETD, cnitool's result cache under $T/cache.
# shellcheck disable=SC2034  # variables are for the sourcing script

need_root
DATA=$T/data
NETD=$T/net.d
mkdir -p "$NETD" "$T/cache"
NODE=zlbn$UNIQ
# Sanitizer reports of every process (zl-ipam exec'd by zl-bridge included, whose stderr
# zl-bridge keeps to itself) land in $T/san.* as well as on stderr.
mkdir -p "$T/san"
export ASAN_OPTIONS=log_path=$T/san/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}
export UBSAN_OPTIONS=log_path=$T/san/ubsan:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}

# node_add: the node netns $NODE.
node_add() { netns_add "$NODE"; }
# pod_add NAME…: pod netns, removed at exit.
pod_add() {
  local p
  for p in "$@"; do netns_add "$p"; done
}
nspath() { echo "/var/run/netns/$1"; }

# br_conf NAME VERSION PLUGIN-JSON [IPAM-JSON]: a zl-bridge network config for direct exec;
# PLUGIN-JSON is merged over {cniVersion, name, type}, IPAM-JSON over {type: zl-ipam, dataDir}.
br_conf() {
  jq -cn --arg n "$1" --arg v "$2" --arg d "$DATA" --argjson p "$3" --argjson i "${4:-"{}"}" \
    '{cniVersion: $v, name: $n, type: "zl-bridge"} + $p | .ipam = ({type: "zl-ipam", dataDir: $d} + (.ipam // {}) + $i)'
}
# br_list CONF: writes the single-plugin config CONF as $NETD/<name>.conflist for cnitool.
br_list() {
  local name
  name=$(jq -r .name <<<"$1")
  jq '{cniVersion, name, plugins: [del(.cniVersion, .name)]}' <<<"$1" >"$NETD/$name.conflist"
}

# br CMD CONF ID POD [IFNAME [VAR=VAL…]]: runs $BUILD/zl-bridge in $NODE (cni_exec: sets $OUT, $RC).
br() {
  local cmd=$1 conf=$2 id=$3 pod=$4 ifname=${5:-eth0}
  shift 4
  [ $# -eq 0 ] || shift
  EXEC_NETNS=$NODE cni_exec zl-bridge "$cmd" "$conf" CNI_CONTAINERID="$id" CNI_NETNS="$(nspath "$pod")" \
    CNI_IFNAME="$ifname" "$@"
}
# ct CMD NET POD [VAR=VAL…]: cnitool in $NODE with the suite's conflists (capture: sets $OUT, $RC).
ct() {
  local cmd=$1 net=$2 pod=$3
  shift 3
  capture "" ip netns exec "$NODE" env NETCONFPATH="$NETD" CNI_CACHE_DIR="$T/cache" CNI_PATH="$CNI_PATH" \
    CNI_CONTAINERID="ct-$pod" "$@" "$CNITOOL" "$cmd" "$net" "$(nspath "$pod")"
}

# pod_ip POD [FAMILY] [IFNAME]: the pod's first global address of FAMILY (4|6) on IFNAME.
pod_ip() {
  ip -n "$1" -"${2:-4}" -o addr show dev "${3:-eth0}" scope global | awk '{print $4}' | head -1 | cut -d/ -f1
}
# pings POD DST: DST answers within 3 s (first packets may wait for neighbour resolution).
pings() { wait_for 3 ip netns exec "$1" ping -c1 -W1 -q "$2" >/dev/null 2>&1; }
# no_ping POD DST: two echo requests, no answer.
no_ping() { ! ip netns exec "$1" ping -c2 -i0.2 -W1 -q "$2" >/dev/null 2>&1; }

# Counts in the node.
# node_veths [NODE]: host ends of pod veths (named zl + 12 hex digits).
node_veths() { ip -n "${1:-$NODE}" -j link show type veth | jq '[.[] | select(.ifname | test("^zl[0-9a-f]{12}$"))] | length'; }
node_has_link() { ip -n "${2:-$NODE}" link show dev "$1" >/dev/null 2>&1; }
# no_link NETNS NAME: NETNS has no link NAME.
no_link() { ! ip -n "$1" link show dev "$2" >/dev/null 2>&1; }
# zl_rules [NODE]: our rules, chains and tables in legacy xtables (v4+v6) and nftables.
zl_rules() {
  local n=${1:-$NODE}
  {
    ip netns exec "$n" iptables-legacy-save 2>/dev/null | grep -E 'ZL-|zl-cni' || true
    ip netns exec "$n" ip6tables-legacy-save 2>/dev/null | grep -E 'ZL-|zl-cni' || true
    ip netns exec "$n" nft list ruleset 2>/dev/null | grep -E 'table .* zl|zl-cni' || true
  } | wc -l
}
# allocs NET: allocations in the zl-ipam state of NET (0 without a state file).
allocs() {
  local f=$DATA/$1.json
  if [ -e "$f" ]; then jq '.allocations | length' "$f"; else echo 0; fi
}

# clean NET [NODE]: no host veth, no zl rule, no allocation left.
expect_clean() {
  local desc=$1 net=$2 n=${3:-$NODE}
  expect_eq "$desc: no host veths" "$(node_veths "$n")" 0
  expect_eq "$desc: no zl firewall rules" "$(zl_rules "$n")" 0
  expect_eq "$desc: no allocations" "$(allocs "$net")" 0
}

# result_ok VERSION: $OUT is an ADD result of VERSION with bridge, host veth, container
# iface (sandbox) and every ip on interface 2.
result_ok() {
  jq -e --arg v "$1" '
    .cniVersion == $v and (.interfaces | length) == 3 and
    (.interfaces[0].sandbox // "") == "" and (.interfaces[1].sandbox // "") == "" and
    (.interfaces[2].sandbox | startswith("/var/run/netns/")) and
    (.ips | length) > 0 and all(.ips[]; .interface == 2) and
    (if ($v | startswith("0.")) then all(.ips[]; .version == (if (.address | contains(":")) then "6" else "4" end))
     else all(.ips[]; has("version") | not) end)
  ' <<<"$OUT" >/dev/null
}

# outside_add NAME: an "outside" host netns joined to the node by a veth:
#   node up0 192.0.2.1/24 2001:db8:2::1/64  <->  NAME eth0 192.0.2.2/24 2001:db8:2::2/64
# plus 198.51.100.1/32 and 2001:db8:51::1/128 on NAME's lo (a second outside destination,
# routed by the node via 192.0.2.2). NAME routes nothing back to pod subnets unless told.
outside_add() {
  local o=$1
  netns_add "$o"
  ip -n "$NODE" link add up0 type veth peer name eth0 netns "$o"
  ip -n "$NODE" addr add 192.0.2.1/24 dev up0
  ip -n "$NODE" addr add 2001:db8:2::1/64 dev up0 nodad
  ip -n "$NODE" link set up0 up
  ip -n "$o" addr add 192.0.2.2/24 dev eth0
  ip -n "$o" addr add 2001:db8:2::2/64 dev eth0 nodad
  ip -n "$o" link set eth0 up
  ip -n "$o" addr add 198.51.100.1/32 dev lo
  ip -n "$o" addr add 2001:db8:51::1/128 dev lo
  ip -n "$NODE" route add 198.51.100.0/24 via 192.0.2.2
  ip -n "$NODE" -6 route add 2001:db8:51::/64 via 2001:db8:2::2
  # Counters of echo requests by source, read with `seen`.
  ip netns exec "$o" nft -f - <<'EOF'
table inet probe {
  counter from_node4 {}
  counter from_node6 {}
  counter from_other {}
  chain in {
    type filter hook input priority 0; policy accept;
    ip saddr 192.0.2.1 icmp type echo-request counter name from_node4
    ip6 saddr 2001:db8:2::1 icmpv6 type echo-request counter name from_node6
    ip saddr != 192.0.2.1 icmp type echo-request counter name from_other
    ip6 saddr != 2001:db8:2::1 icmpv6 type echo-request counter name from_other
  }
}
EOF
}
# seen OUTSIDE COUNTER: packets counted so far.
seen() { ip netns exec "$1" nft -j list counter inet probe "$2" | jq '.nftables[1].counter.packets'; }
# seen_reset OUTSIDE: zeroes all counters.
seen_reset() { ip netns exec "$1" nft reset counters table inet probe >/dev/null; }

# finish_bridge: the sanitizer check, then lib.sh's tally.
finish_bridge() {
  if no_sanitizer_report; then
    pass "no sanitizer report"
  else
    fail "sanitizer reports:"
    cat "$T"/san/* >&2 2>/dev/null || true
  fi
  finish
}
