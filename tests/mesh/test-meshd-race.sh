#!/usr/bin/env bash
# zl-meshd against a 3-member etcd that requires TLS client certificates (made here with
# openssl): many agents joining an empty store at once get distinct subnets, every one sees
# every other; an agent without a client certificate gets nothing; a node name reused with a
# rotated key keeps its subnet; the endpoint is detected from the default route; a node down
# longer than nodeGC is reaped with its subnet. Agents run with --no-device, in a namespace.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=scripts/etcd-lib.sh
source "$SRC/scripts/etcd-lib.sh"
need_root

K=${ZL_RACE_AGENTS:-24}
ns=zr$UNIQ
netns_add "$ns"
on_exit etcd_cleanup
pids=()
kill_agents() { local p; for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
on_exit kill_agents

ETCD_NETNS=$ns etcd_start_cluster "$T/etcd" 3 23790 tls
conf() { # I [no-cert] → node I's conflist
  local d=$T/n$1 tls
  tls=$(jq -n --arg c "$ETCD_CERTS" '{caFile: "\($c)/ca.pem", certFile: "\($c)/client.pem", keyFile: "\($c)/client-key.pem"}')
  [ "${2:-}" = no-cert ] && tls=$(jq -n --arg c "$ETCD_CERTS" '{caFile: "\($c)/ca.pem"}')
  mkdir -p "$d"
  jq --arg d "$d" --arg etcd "$ETCD_ENDPOINTS" --arg node "r$1" --argjson tls "$tls" --arg ep "10.9.0.$1:51820" '
      .plugins[0].ipam.ranges = [[{subnetFile: "\($d)/subnet4"}]]
      | .plugins[1] += {interface: "zr\($node)", privateKeyFile: "\($d)/wg.key", peersFile: "\($d)/peers.json"}
      | .plugins[1].mesh.etcd = ({endpoints: ($etcd | split(","))} + $tls)
      | .plugins[1].mesh += {node: $node, endpoint: $ep, stateDir: "\($d)/state", clusterCIDR: "10.244.0.0/19",
                             leaseTTL: 6, keepaliveInterval: 2, nodeGC: 10}' \
    "$SRC/conf/40-zl-meshd.conflist" >"$d/conflist"
}
start() { # I
  ip netns exec "$ns" "$BUILD/zl-meshd" run "$T/n$1/conflist" --no-device >>"$T/n$1/log" 2>&1 &
  pids[$1]=$!
  disown "$!"
}
stop() {
  kill -TERM "${pids[$1]}"
  wait_for 20 sh -c "! kill -0 ${pids[$1]} 2>/dev/null"
}
peers_of() { jq '.peers | length' "$T/n$1/peers.json" 2>/dev/null || echo -1; }
all_see() { # WANT: every agent's peers file lists WANT peers
  local i
  for ((i = 1; i <= K; i++)); do [ "$(peers_of "$i")" = "$1" ] || return 1; done
}

echo "# $K agents join an empty store at once (32 subnets in 10.244.0.0/19: most first picks collide)"
for ((i = 1; i <= K; i++)); do conf "$i"; done
for ((i = 1; i <= K; i++)); do start "$i"; done
check "every agent claimed a subnet" wait_for 60 sh -c "[ \$(cat $T/n*/subnet4 2>/dev/null | wc -l) -ge $K ]"
expect_eq "no subnet claimed twice (files)" "$(cat "$T"/n*/subnet4 | sort | uniq -d | wc -l)" "0"
expect_eq "$K subnet records in etcd" "$(etcd_ctl get /zl-cni/v1/zl-mesh/subnets/ --prefix --keys-only | grep -c .)" "$K"
bad=0
for ((i = 1; i <= K; i++)); do
  owner=$(etcd_ctl get "/zl-cni/v1/zl-mesh/subnets/$(cat "$T/n$i/subnet4")" --print-value-only | jq -r .node)
  [ "$owner" = "r$i" ] || bad=$((bad + 1))
done
expect_eq "each agent's subnet file names a subnet etcd says is its own" "$bad" "0"
races=$(cat "$T"/n*/log | grep -c 'claimed by another node meanwhile' || true)
echo "  ($races claims lost to a concurrent agent and retried)"
check "every agent sees the $((K - 1)) others" wait_for 30 all_see $((K - 1))

echo "# an agent without a client certificate is refused and claims nothing"
conf 99 no-cert
start 99
sleep 4
check "no subnet file for the agent without a certificate" test ! -e "$T/n99/subnet4"
check "its log names the TLS failure" grep -qiE 'ssl|tls|certificate|handshake|alert' "$T/n99/log"
check "it keeps retrying (still running)" kill -0 "${pids[99]}"
expect_eq "the others still see $((K - 1)) peers" "$(peers_of 1)" "$((K - 1))"
stop 99

echo "# a restarted agent keeps its subnet; a rotated key keeps it too and replaces the peer"
s1=$(cat "$T/n1/subnet4")
k1=$(jq -r .publicKey "$T/n1/state/state.json")
stop 1
start 1
check "r1 back with the same subnet" wait_for 20 sh -c "jq -e '.etcd.connected' $T/n1/state/state.json >/dev/null && [ \"\$(cat $T/n1/subnet4)\" = $s1 ]"
stop 1
rm "$T/n1/wg.key"
start 1
check "r1 with a new key publishes it" wait_for 20 sh -c "[ \"\$(jq -r .publicKey $T/n1/state/state.json)\" != $k1 ] && jq -e .etcd.connected $T/n1/state/state.json >/dev/null"
expect_eq "r1 kept its subnet after the key rotation" "$(cat "$T/n1/subnet4")" "$s1"
newk=$(jq -r .publicKey "$T/n1/state/state.json")
check "r2 has r1's new key as a peer" wait_for 10 sh -c "jq -e --arg k $newk '.peers[] | select(.publicKey == \$k)' $T/n2/peers.json >/dev/null"
check "r2 no longer lists r1's old key" sh -c "! jq -e --arg k $k1 '.peers[] | select(.publicKey == \$k)' $T/n2/peers.json >/dev/null"
expect_eq "subnet record of r1 carries the new key" "$(etcd_ctl get "/zl-cni/v1/zl-mesh/subnets/$s1" --print-value-only | jq -r .publicKey)" "$newk"

echo "# one agent per node and network: a second refuses at once; leave refuses while one runs"
capture '' timeout 20 ip netns exec "$ns" "$BUILD/zl-meshd" run "$T/n1/conflist" --no-device  # 124: it did not refuse
expect_eq "a second agent for r1 exits 1" "$RC" "1"
check "… naming the lock the first one holds" grep -q "another zl-meshd runs for network zl-mesh (it holds $T/n1/state/agent.lock)" "$T/stderr"
check "the first agent still runs" kill -0 "${pids[1]}"
capture '' ip netns exec "$ns" "$BUILD/zl-meshd" leave "$T/n1/conflist"
expect_eq "leave of r1 while its agent runs exits 1" "$RC" "1"
check "… saying its zl-meshd runs here" grep -q "node r1: its zl-meshd runs here" "$T/stderr"
check "r1's node record is still in etcd" test -n "$(etcd_ctl get /zl-cni/v1/zl-mesh/nodes/r1 --print-value-only)"
rm "$T/n1/state/agent.lock"  # a cleaner or an operator: the agent takes it again
check "r1's agent notices its lock file was removed and locks a new one" \
  wait_for 10 grep -q "agent.lock was removed or replaced: locked again" "$T/n1/log"
capture '' timeout 20 ip netns exec "$ns" "$BUILD/zl-meshd" run "$T/n1/conflist" --no-device
expect_eq "… so a second agent is still refused" "$RC" "1"
kill -KILL "${pids[1]}"
wait_for 20 sh -c "! kill -0 ${pids[1]} 2>/dev/null"
synced=$(grep -c 'in sync through' "$T/n1/log")
start 1
check "after a kill -9 a new agent for r1 starts and syncs (the kernel dropped the lock with the process)" \
  wait_for 20 sh -c "[ \$(grep -c 'in sync through' $T/n1/log) -gt $synced ]"
check "… and keeps running" kill -0 "${pids[1]}"

echo "# no endpoint configured: detected from the default route, refused without one"
conf 98
jq 'del(.plugins[1].mesh.endpoint)' "$T/n98/conflist" >"$T/n98/c" && mv "$T/n98/c" "$T/n98/conflist"
start 98
check "without a default route the agent says to set mesh.endpoint" wait_for 10 grep -q 'set mesh.endpoint' "$T/n98/log"
check "and claims nothing" test ! -e "$T/n98/subnet4"
ip -n "$ns" link add up0 type veth peer name up1
ip -n "$ns" addr add 10.55.0.1/24 dev up0
ip -n "$ns" link set up0 up
ip -n "$ns" link set up1 up
ip -n "$ns" route add default via 10.55.0.254
check "with a default route it joins (it retried)" wait_for 20 test -s "$T/n98/subnet4"
expect_eq "its published endpoint is the default route's source address" \
  "$(etcd_ctl get /zl-cni/v1/zl-mesh/nodes/r98 --print-value-only | jq -r .endpoint)" "10.55.0.1:51820"
stop 98
etcd_ctl del /zl-cni/v1/zl-mesh/nodes/r98 >/dev/null
etcd_ctl del "/zl-cni/v1/zl-mesh/subnets/$(cat "$T/n98/subnet4")" >/dev/null

echo "# hostile state files (FIFO, symlink, world-writable, deeply nested) are refused, never block"
stop 2
cp "$T/n2/state/state.json" "$T/good-state"
shape() { # NAME: puts that shape at r2's state file
  rm -f "$T/n2/state/state.json"
  case $1 in
    fifo) mkfifo "$T/n2/state/state.json" ;;
    symlink) ln -s "$T/good-state" "$T/n2/state/state.json" ;;
    writable) cp "$T/good-state" "$T/n2/state/state.json" && chmod 666 "$T/n2/state/state.json" ;;
    deep) printf '%.0s[' $(seq 200000) >"$T/n2/state/state.json" ;;
  esac
}
for s in fifo symlink writable deep; do
  shape "$s"
  : >"$T/n2/log"
  start 2
  check "r2 with a $s state file: not applied, says why" wait_for 10 grep -q 'last known state not applied' "$T/n2/log"
  check "r2 with a $s state file: joins anyway" wait_for 20 sh -c "[ -f $T/n2/state/state.json ] && [ ! -L $T/n2/state/state.json ] && jq -e .etcd.connected $T/n2/state/state.json >/dev/null"
  stop 2
done

echo "# a node killed -9 and down longer than nodeGC (10 s) is reaped with its subnet by one reaper"
start 2
check "r2 back" wait_for 20 sh -c "jq -e .etcd.connected $T/n2/state/state.json >/dev/null"
s3=$(cat "$T/n3/subnet4")
kill -KILL "${pids[3]}"
check "r3's node record reaped" wait_for 40 sh -c "[ -z \"\$(ip netns exec $ns env ETCDCTL_API=3 etcdctl --endpoints=$ETCD_ENDPOINTS --cacert=$ETCD_CERTS/ca.pem --cert=$ETCD_CERTS/client.pem --key=$ETCD_CERTS/client-key.pem get /zl-cni/v1/zl-mesh/nodes/r3 --keys-only)\" ]"
expect_eq "r3's subnet freed with it" "$(etcd_ctl get "/zl-cni/v1/zl-mesh/subnets/$s3" --keys-only)" ""
check "the others drop r3's peer" wait_for 10 sh -c "[ \"\$(jq '.peers | length' $T/n2/peers.json)\" = $((K - 2)) ]"
expect_eq "exactly one agent reaped it" "$(cat "$T"/n*/log | grep -c 'reaped node r3')" "1"
check "no sanitizer report from any agent" sh -c "! grep -lE 'Sanitizer|runtime error' $T/n*/log"
finish
