#!/usr/bin/env bash
# The mesh grown through zl-meshd and etcd, for one WireGuard implementation ($1: kernel |
# userspace; $2: how long etcd stays down, default 120 s): no hand-written subnet or peer
# anywhere. Run by tests/mesh/test-meshd.sh on the host and tests/vm/test-kernel-meshd.sh in a
# VM. etcd (Debian's, 3 members on 192.0.2.251-253) runs in the underlay namespace.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=scripts/etcd-lib.sh
source "$SRC/scripts/etcd-lib.sh"
need_root

export MESH_SRC=$SRC MESH_BUILD=$BUILD MESH_DIR=$T/mesh MESH_PREFIX=zd$UNIQ MESH_MODE=$1 MESH_NODES=3 MESH_PODS=1
export MESH_WG_PREFIX=zd-wg
outage=${2:-120}
export MESH_ETCD=http://192.0.2.251:2379,http://192.0.2.252:2380,http://192.0.2.253:2381 MESH_LEASE_TTL=6
# shellcheck source=scripts/mesh-lib.sh
source "$SRC/scripts/mesh-lib.sh"
on_exit mesh_destroy
on_exit etcd_cleanup
ul=$MESH_PREFIX-ul
ctl() { etcd_ctl "$@"; }
key() { echo "/zl-cni/v1/zl-mesh/$1"; }
subnet_of() { cat "$MESH_DIR/n$1/subnet4"; }
peer_json() { # NODE PEER_NODE → that peer in the node's `zl-wg show --json`
  mesh_wgcli "$1" show "$(mesh_wg "$1")" --json |
    jq -c --arg k "$(cat "$MESH_DIR/n$2/pubkey")" '.interfaces[0].peers[] | select(.publicKey == $k)'
}
device_peers() { mesh_wgcli "$1" show "$(mesh_wg "$1")" --json | jq '.interfaces[0].peers | length'; }
status_of() { # NODE PEER_NODE → up|down as NODE's agent sees PEER_NODE
  mesh_meshd "$1" status --json | jq -r --arg n "n$2" '.peers[] | select(.node == $n) | if .up then "up" else "down" end'
}
set_messages() { grep -c 'SET messages' "$MESH_DIR/n$1/agent.log" || true; }

connected() { # NODE: its agent talks to etcd again
  mesh_wait "${2:-20}" sh -c "ip netns exec $(mesh_node "$1") $BUILD/zl-meshd status $(mesh_conflist_path "$1") | grep -q 'etcd: connected'"
}
all_connected() { local n; for n in 1 2 3 4; do connected "$n" "$@" || return 1; done; }
partition() { # I: member I cut off from everyone (members and agents); none: healed
  ip netns exec "$ul" nft delete table inet zlpart 2>/dev/null || true
  [ "$1" = none ] && return 0
  local a=192.0.2.$((251 + $1))
  ip netns exec "$ul" nft -f - <<NFT
table inet zlpart {
  chain in { type filter hook input priority -10; ip saddr $a drop; ip daddr $a drop; }
  chain out { type filter hook output priority -10; ip saddr $a drop; ip daddr $a drop; }
}
NFT
}

echo "# etcd (3 members) in the underlay namespace, 3 nodes joining through zl-meshd ($MESH_MODE)"
mesh_underlay
for a in 251 252 253; do ip -n "$ul" addr add "192.0.2.$a/24" dev ul0; done
ETCD_NETNS=$ul ETCD_HOSTS="192.0.2.251 192.0.2.252 192.0.2.253" etcd_start_cluster "$T/etcd" 3 2379
expect_eq "etcd endpoints as the conflists name them" "$ETCD_ENDPOINTS" "$MESH_ETCD"
for n in 1 2 3; do mesh_add_node "$n"; done
check "3 agents claimed subnets and see each other" mesh_agents_up
for n in 1 2 3; do
  s=$(subnet_of "$n")
  check "node $n: subnet $s inside clusterCIDR 10.244.0.0/16, a /24" grep -qE '^10\.244\.[0-9]+\.0/24$' "$MESH_DIR/n$n/subnet4"
  expect_eq "node $n: etcd says subnets/$s is n$n's" "$(ctl get "$(key "subnets/$s")" --print-value-only | jq -r .node)" "n$n"
done
expect_eq "three distinct subnets" "$(cat "$MESH_DIR"/n{1,2,3}/subnet4 | sort -u | wc -l)" "3"
for n in 1 2 3; do mesh_add_pod "$n" 1; done
if mesh_ping_matrix >"$T/matrix"; then pass "ping matrix over claimed subnets: 6/6"; else fail "ping matrix"; cat "$T/matrix"; fi
for n in 1 2 3; do expect_eq "node $n: device holds 2 peers" "$(device_peers "$n")" "2"; done
check "zl-wg show names the peer's node" sh -c "ip netns exec $(mesh_node 1) $BUILD/zl-wg show $(mesh_wg 1) | grep -q 'n2'"
expect_eq "node 1 sees node 2 up" "$(status_of 1 2)" "up"
mesh_meshd 1 status >"$T/status" && cat "$T/status"
check "status shows etcd connected" grep -q 'etcd: connected' "$T/status"

echo "# a 4th node joins live"
MESH_NODES=4
mesh_add_node 4
mesh_agent_start 4
check "node 4 claimed a subnet" mesh_wait 20 test -s "$MESH_DIR/n4/subnet4"
check "every node converges to 3 peers" mesh_wait 10 mesh_converged 3 1 2 3 4
mesh_add_pod 4 1
if mesh_ping_matrix >"$T/matrix"; then pass "ping matrix with node 4: 12/12"; else fail "ping matrix with node 4"; cat "$T/matrix"; fi

echo "# a restarted agent keeps its subnet and changes nothing anywhere"
mesh_ping "$(mesh_pod 1 1)" "$(mesh_pod_ip 2 1)"
before=$(peer_json 1 2)
sets_before=$(for n in 1 3 4; do set_messages "$n"; done | paste -sd,)
s2=$(subnet_of 2)
mesh_agent_stop 2
check "node 2 shown down after a clean stop" mesh_wait 10 sh -c "[ \"\$(ip netns exec $(mesh_node 1) $BUILD/zl-meshd status $(mesh_conflist_path 1) --json | jq -r '.peers[] | select(.node == \"n2\") | .up')\" = false ]"
expect_eq "node 1 keeps node 2's peer while it is down" "$(device_peers 1)" "3"
: >"$MESH_DIR/n2/agent.log"
mesh_agent_start 2
check "node 2 up again" mesh_wait 10 sh -c "[ \"\$(ip netns exec $(mesh_node 1) $BUILD/zl-meshd status $(mesh_conflist_path 1) --json | jq -r '.peers[] | select(.node == \"n2\") | .up')\" = true ]"
expect_eq "node 2 kept its subnet" "$(subnet_of 2)" "$s2"
after=$(peer_json 1 2)
expect_eq "node 1's peer n2: same handshake time" "$(jq .latestHandshake <<<"$after")" "$(jq .latestHandshake <<<"$before")"
check "node 1's peer n2: counters not reset" test "$(jq .rxBytes <<<"$after")" -ge "$(jq .rxBytes <<<"$before")"
expect_eq "no device change on the other nodes (SET lines per node)" "$(for n in 1 3 4; do set_messages "$n"; done | paste -sd,)" "$sets_before"
expect_eq "node 2's own device untouched by its restart" "$(set_messages 2)" "0"

echo "# kill -9 of an agent: marked down, peer kept, traffic flows; restart: same subnet"
s3=$(subnet_of 3)
mesh_agent_stop 3 KILL
check "node 3 marked down after its lease (${MESH_LEASE_TTL}s)" mesh_wait 20 sh -c "ip netns exec $(mesh_node 1) $BUILD/zl-meshd status $(mesh_conflist_path 1) | grep -E '^n3 +down'"
expect_eq "node 1 keeps node 3's peer" "$(device_peers 1)" "3"
check "pod on node 1 still reaches node 3's pod" mesh_ping "$(mesh_pod 1 1)" "$(mesh_pod_ip 3 1)"
mesh_agent_start 3
check "node 3 back up" mesh_wait 15 sh -c "ip netns exec $(mesh_node 1) $BUILD/zl-meshd status $(mesh_conflist_path 1) | grep -E '^n3 +up'"
expect_eq "node 3 kept its subnet" "$(subnet_of 3)" "$s3"

echo "# the etcd leader killed (-9), paused, then partitioned, while pods ping across nodes"
rx_before=$(peer_json 1 4 | jq .rxBytes)
ip netns exec "$(mesh_pod 1 1)" ping -i 0.2 -W 2 -q "$(mesh_pod_ip 4 1)" >"$T/ping-faults" 2>&1 &
pinger=$!
leader=$(etcd_leader)
etcd_kill_member "$leader"
check "agents carry on with 2 of 3 members (leader $leader killed)" all_connected 30
etcd_restart_member "$leader"
etcd_wait_healthy 30
leader=$(etcd_leader)
etcd_pause_member "$leader"
sleep 3
check "agents carry on with the leader ($leader) paused" all_connected 30
etcd_resume_member "$leader"
etcd_wait_healthy 30
leader=$(etcd_leader)
partition "$leader"
sleep 3
check "agents carry on with the leader ($leader) partitioned away" all_connected 30
partition none
etcd_wait_healthy 30
kill -INT "$pinger"
wait "$pinger" || true
loss=$(grep -oE '[0-9.]+% packet loss' "$T/ping-faults" | cut -d% -f1)
expect_eq "no packet lost while the leader was killed, paused, partitioned ($(grep -oE '[0-9]+ packets transmitted' "$T/ping-faults"))" "$loss" "0"
for n in 1 2 3 4; do expect_eq "node $n kept its 3 peers" "$(device_peers "$n")" "3"; done
check "node 1's counters towards node 4 only grew" test "$(peer_json 1 4 | jq .rxBytes)" -gt "$rx_before"

echo "# etcd stopped entirely for ${outage}s: nothing torn down, pods keep talking, agents resume"
ip netns exec "$(mesh_pod 1 1)" ping -i 0.5 -W 2 -q "$(mesh_pod_ip 4 1)" >"$T/ping-outage" 2>&1 &
pinger=$!
for i in 0 1 2; do etcd_stop_member "$i"; done
sleep "$outage"
for n in 1 2 3 4; do expect_eq "node $n keeps 3 peers after ${outage}s without etcd" "$(device_peers "$n")" "3"; done
check "status says etcd unreachable" sh -c "ip netns exec $(mesh_node 1) $BUILD/zl-meshd status $(mesh_conflist_path 1) | grep -q 'etcd: unreachable'"
check "a pod ADD still works with etcd down (subnet from the file)" mesh_add_pod 2 2
echo "  node 3 reboots meanwhile: agent killed, subnet file (/run) and device gone, agent started again"
mesh_agent_stop 3 KILL
rm -f "$MESH_DIR/n3/subnet4"
ip -n "$(mesh_node 3)" link del "$(mesh_wg 3)"
mesh_agent_start 3
check "node 3's agent, started with etcd down, wrote its subnet file from its last known state" \
  mesh_wait 10 test -s "$MESH_DIR/n3/subnet4"
check "… and rebuilt the device with its 3 peers" mesh_wait 20 sh -c \
  "[ \"\$(ip netns exec $(mesh_node 3) $BUILD/zl-wg show $(mesh_wg 3) --json | jq '.interfaces[0].peers | length')\" = 3 ]"
check "… and its pod reaches node 1's pod again" mesh_ping "$(mesh_pod 3 1)" "$(mesh_pod_ip 1 1)"
for i in 0 1 2; do etcd_restart_member "$i"; done
etcd_wait_healthy 60
kill -INT "$pinger"
wait "$pinger" || true
loss=$(grep -oE '[0-9.]+% packet loss' "$T/ping-outage" | cut -d% -f1)
expect_eq "no packet lost across the outage ($(grep -oE '[0-9]+ packets transmitted' "$T/ping-outage"))" "$loss" "0"
check "agents resume once quorum is back" all_connected 60
check "node 3 seen up again after the outage" mesh_wait 20 sh -c "ip netns exec $(mesh_node 4) $BUILD/zl-meshd status $(mesh_conflist_path 4) | grep -E '^n3 +up'"

echo "# watch resumed from a compacted revision: one re-list, then on as before"
mesh_agent_stop 1 STOP
for i in 0 1 2; do etcd_stop_member "$i"; done  # node 1's watch stream dies while its agent is stopped
for i in 0 1 2; do etcd_restart_member "$i"; done
etcd_wait_healthy 60
ctl put "$(key nodes/zz-transient)" '{}' >/dev/null
ctl del "$(key nodes/zz-transient)" >/dev/null
etcd_compact
kill -CONT "$(cat "$MESH_DIR/n1/agent.pid")"
check "node 1's agent re-listed after the compaction" mesh_wait 20 grep -q 'compacted: listing again' "$MESH_DIR/n1/agent.log"
expect_eq "node 1 still has 3 peers" "$(mesh_peer_count 1)" "3"

echo "# hostile records in etcd are skipped, never applied"
ctl put "$(key nodes/evil)" "$(printf '{"publicKey":"%s","subnets":["%s"]}' "$(cat "$MESH_DIR/n2/pubkey")" "$(subnet_of 2)")" >/dev/null
ctl put "$(key nodes/deep)" "$(printf '%.0s[' $(seq 3000))" >/dev/null
ctl put "$(key "subnets/10.99.0.0/24")" '{"node":"outside","publicKey":"AAAA"}' >/dev/null
ctl put "$(key nodes/outside)" '{"publicKey":"'"$(head -c32 /dev/urandom | base64)"'","subnets":["10.99.0.0/24"]}' >/dev/null
ctl put "$(key nodes/huge)" "$(head -c 100000 /dev/zero | tr '\0' a)" >/dev/null
sleep 1
for n in 1 2 3 4; do
  expect_eq "node $n: still 3 peers" "$(mesh_peer_count "$n")" "3"
  check "node $n: agent alive" kill -0 "$(cat "$MESH_DIR/n$n/agent.pid")"
done
mesh_meshd 1 status | grep '^skipped record' >"$T/skipped" || true
cat "$T/skipped"
for r in evil deep outside huge 10.99.0.0/24; do check "status lists the skipped record $r" grep -q "$r" "$T/skipped"; done
ctl del "$(key nodes/evil)" >/dev/null
ctl del "$(key nodes/deep)" >/dev/null
ctl del "$(key nodes/outside)" >/dev/null
ctl del "$(key nodes/huge)" >/dev/null
ctl del "$(key "subnets/10.99.0.0/24")" >/dev/null

echo "# a revoked lease is replaced"
lease_of() { ctl get "$(key "alive/$1")" -w fields | awk -F' : ' '/"Lease"/ { print $2 }'; }  # jq would round int64
lease=$(lease_of n2)
ctl lease revoke "$(printf '%x' "$lease")" >/dev/null
check "node 2's agent granted a new lease" mesh_wait 15 grep -q 'gone: granting a new one' "$MESH_DIR/n2/agent.log"
new_lease() { local l; l=$(lease_of n2); [ -n "$l" ] && [ "$l" != 0 ] && [ "$l" != "$lease" ]; }
check "alive/n2 back, under another lease" mesh_wait 5 new_lease

echo "# node 4 leaves: every other node converges, its subnet is free again"
s4=$(subnet_of 4)
mesh_cni 4 del "$(mesh_pod 4 1)"
ip netns del "$(mesh_pod 4 1)"
mesh_agent_stop 4  # a clean stop revokes its lease: the node is down at once
check "zl-meshd leave of the stopped node 4" mesh_meshd 4 leave
check "nodes 1-3 converge to 2 peers" mesh_wait 10 mesh_converged 2 1 2 3
for n in 1 2 3; do check "node $n: device down to 2 peers" mesh_wait 5 sh -c "[ \"\$(ip netns exec $(mesh_node "$n") $BUILD/zl-wg show $(mesh_wg "$n") --json | jq '.interfaces[0].peers | length')\" = 2 ]"; done
expect_eq "subnets/$s4 removed from etcd" "$(ctl get "$(key "subnets/$s4")" --print-value-only)" ""
check "node 4's subnet file removed" test ! -e "$MESH_DIR/n4/subnet4"
mesh_remove_node 4
MESH_NODES=3
if mesh_ping_matrix >"$T/matrix"; then pass "ping matrix after the leave"; else fail "ping matrix after the leave"; cat "$T/matrix"; fi

echo "# a leave while the agent runs is refused"
if out=$(mesh_meshd 3 leave 2>&1); then
  fail "leave of a running node succeeded"
  # What the agent did, and whether it still runs: the evidence for a failure seen once.
  kill -0 "$(cat "$MESH_DIR/n3/agent.pid")" && echo "  node 3's agent still runs" || echo "  node 3's agent is gone"
  ctl get "$(key alive/)" --prefix -w fields | grep -E '"Key"|"Lease"' | sed 's/^/  /'
  tail -n 40 "$MESH_DIR/n3/agent.log" | sed 's/^/  n3: /'
else
  pass "leave of a running node refused: $out"
fi
expect_eq "node 3 still has its subnet record" "$(ctl get "$(key "subnets/$(subnet_of 3)")" --print-value-only | jq -r .node)" "n3"
check "no sanitizer report from any agent (stopped ones included)" \
  sh -c "! grep -lE 'Sanitizer|runtime error' $MESH_DIR/n*/agent.log"
finish
