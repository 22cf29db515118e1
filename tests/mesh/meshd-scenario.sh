#!/usr/bin/env bash
# The mesh grown through zl-meshd and etcd, for one WireGuard implementation ($1: kernel |
# userspace): no hand-written subnet or peer anywhere. Run by tests/mesh/test-meshd.sh on the
# host and tests/vm/test-kernel-meshd.sh in a VM. etcd (Debian's) runs in the underlay netns.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/mesh/etcd-lib.sh
source "$SRC/tests/mesh/etcd-lib.sh"
need_root

export MESH_SRC=$SRC MESH_BUILD=$BUILD MESH_DIR=$T/mesh MESH_PREFIX=zd$UNIQ MESH_MODE=$1 MESH_NODES=3 MESH_PODS=1
export MESH_ETCD=http://192.0.2.254:2379 MESH_LEASE_TTL=6
# shellcheck source=scripts/mesh-lib.sh
source "$SRC/scripts/mesh-lib.sh"
on_exit mesh_destroy
on_exit etcd_cleanup
ul=$MESH_PREFIX-ul
ctl() { ip netns exec "$ul" env ETCDCTL_API=3 etcdctl --endpoints="$MESH_ETCD" "$@"; }
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

echo "# etcd (one member) in the underlay namespace, 3 nodes joining through zl-meshd ($MESH_MODE)"
mesh_underlay
ETCD_NETNS=$ul ETCD_HOST=192.0.2.254 etcd_start_single "$T/etcd" 2379
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

echo "# etcd gone for a while: nothing is torn down, pods keep talking, agents resume"
ip netns exec "$(mesh_pod 1 1)" ping -i 0.2 -c 100 -q "$(mesh_pod_ip 4 1)" >"$T/ping-outage" 2>&1 &
pinger=$!
etcd_stop_member 1
sleep 12  # two lease TTLs: liveness cannot be renewed, nothing may react by removing peers
for n in 1 2 3 4; do expect_eq "node $n keeps 3 peers with etcd down" "$(device_peers "$n")" "3"; done
check "status says etcd unreachable" sh -c "ip netns exec $(mesh_node 1) $BUILD/zl-meshd status $(mesh_conflist_path 1) | grep -q 'etcd: unreachable'"
check "a pod ADD still works with etcd down (subnet from the file)" mesh_add_pod 2 2
etcd_restart_member 1
wait "$pinger" || true
loss=$(grep -oE '[0-9.]+% packet loss' "$T/ping-outage" | cut -d% -f1)
expect_eq "no packet lost across the etcd outage" "$loss" "0"
check "agents report etcd connected again" mesh_wait 20 sh -c "ip netns exec $(mesh_node 1) $BUILD/zl-meshd status $(mesh_conflist_path 1) | grep -q 'etcd: connected'"
check "node 3 seen up again after the outage" mesh_wait 20 sh -c "ip netns exec $(mesh_node 4) $BUILD/zl-meshd status $(mesh_conflist_path 4) | grep -E '^n3 +up'"

echo "# watch resumed from a compacted revision: one re-list, then on as before"
mesh_agent_stop 1 STOP
etcd_stop_member 1
etcd_restart_member 1  # node 1's watch stream dies while its agent is stopped
ctl put "$(key nodes/zz-transient)" '{}' >/dev/null
ctl del "$(key nodes/zz-transient)" >/dev/null
rev=$(ctl get / --prefix --keys-only -w json | jq -r .header.revision)
ctl compact "$rev" >/dev/null
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
check "status lists the skipped records" sh -c "ip netns exec $(mesh_node 1) $BUILD/zl-meshd status $(mesh_conflist_path 1) | grep -c '^skipped record' | grep -qx 4"
ctl del "$(key nodes/evil)" >/dev/null
ctl del "$(key nodes/deep)" >/dev/null
ctl del "$(key nodes/outside)" >/dev/null
ctl del "$(key nodes/huge)" >/dev/null
ctl del "$(key "subnets/10.99.0.0/24")" >/dev/null

echo "# a revoked lease is replaced"
lease=$(ctl get "$(key alive/n2)" -w json | jq -r '.kvs[0].lease')
ctl lease revoke "$(printf '%x' "$lease")" >/dev/null
check "node 2's agent granted a new lease" mesh_wait 15 grep -q 'gone: granting a new one' "$MESH_DIR/n2/agent.log"
check "alive/n2 back, under another lease" mesh_wait 5 sh -c "[ \"\$(ip netns exec $ul env ETCDCTL_API=3 etcdctl --endpoints=$MESH_ETCD get $(key alive/n2) -w json | jq -r '.kvs[0].lease // 0')\" != 0 ] && [ \"\$(ip netns exec $ul env ETCDCTL_API=3 etcdctl --endpoints=$MESH_ETCD get $(key alive/n2) -w json | jq -r '.kvs[0].lease')\" != $lease ]"

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
MESH_NODES=3
if mesh_ping_matrix >"$T/matrix"; then pass "ping matrix after the leave"; else fail "ping matrix after the leave"; cat "$T/matrix"; fi

echo "# a leave while the agent runs is refused"
if out=$(mesh_meshd 3 leave 2>&1); then fail "leave of a running node succeeded"; else pass "leave of a running node refused: $out"; fi
expect_eq "node 3 still has its subnet record" "$(ctl get "$(key "subnets/$(subnet_of 3)")" --print-value-only | jq -r .node)" "n3"
finish
