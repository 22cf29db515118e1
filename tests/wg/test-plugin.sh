#!/usr/bin/env bash
# zl-wg as a CNI plugin on this host (userspace fallback; the host kernel has no WireGuard):
# bad input → code 7 naming the value and nothing applied (a peersFile not there yet: code 11);
# a broken peersFile never half-applies; prevResult passes through; routes of others (default route, connected subnet)
# are never taken over or removed; peersFile trust rules and FIFO/symlink/nesting shapes; dead
# writers' key temp files; sync --dry-run; DEL/GC are no-ops; CHECK and STATUS; CLI exit codes;
# behindNAT keeps a roamed endpoint; show with zl-meshd's peer names file (name, up/down, JSON fields; a bad file only drops them).
# Topology: one "node" netns with a dummy underlay; the device is created by the plugin.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_root

node=zwp$UNIQ
ifn=zwp$UNIQ
ifn=${ifn:0:15}
netns_add "$node"
ip -n "$node" link add eth0 type veth peer name eth1
ip -n "$node" addr add 192.0.2.1/24 dev eth0
ip -n "$node" link set eth0 up
ip -n "$node" link set eth1 up
ip -n "$node" addr add 10.70.1.1/24 dev eth1  # the pod gateway, as zl-bridge puts it on the bridge
on_exit "pkill -f 'wireguard-go $ifn\$'"

umask 077
conf_for() { # PEERS-JSON [EXTRA-KEYS] → network config
  printf '{"cniVersion":"1.1.0","name":"wgp","type":"zl-wg","interface":"%s","implementation":"userspace","privateKeyFile":"%s/node.key","peersFile":"%s/peers.json","peers":%s%s}' \
    "$ifn" "$T" "$T" "$1" "${2:-}"
}
peer() { printf '{"publicKey":"%s","endpoint":"%s","allowedIPs":["%s"]}' "$1" "$2" "$3"; }
key_of() { head -c 32 /dev/urandom | base64; }
k1=$(key_of) k2=$(key_of)
echo '[]' >"$T/peers.json"
wg_exec() { # CMD CONF → $OUT $RC (the plugin run inside the node)
  set +e
  OUT=$(printf '%s' "$2" | ip netns exec "$node" env CNI_COMMAND="$1" CNI_CONTAINERID=c1 CNI_NETNS="/var/run/netns/$node" \
    CNI_IFNAME=eth0 CNI_PATH="$CNI_PATH" "$BUILD/zl-wg" 2>"$T/stderr")
  RC=$?
  set -e
}

echo "# a good ADD creates the device with the peers and passes prevResult through"
prev='"prevResult":{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"10.70.1.2/24","gateway":"10.70.1.1","interface":0}]}'
wg_exec ADD "$(conf_for "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" ",$prev")"
expect_eq "ADD succeeds" "$RC" "0"
expect_eq "prevResult passed through" "$(jq -c '.ips' <<<"$OUT")" '[{"interface":0,"address":"10.70.1.2/24","gateway":"10.70.1.1"}]'
expect_eq "device has the peer" "$(ip netns exec "$node" "$BUILD/zl-wg" show "$ifn" --json | jq -r '.interfaces[0].peers[0].publicKey')" "$k1"
expect_eq "route with the gateway as preferred source" "$(ip -n "$node" route show 10.70.2.0/24 | grep -o 'src [0-9.]*')" "src 10.70.1.1"
expect_eq "key file is 0600" "$(stat -c %a "$T/node.key")" "600"
mtu=$(ip -n "$node" -j link show "$ifn" | jq '.[0].mtu')
expect_eq "MTU derived from the underlay (1500 - 80)" "$mtu" "1420"
snapshot() { ip netns exec "$node" "$BUILD/zl-wg" show "$ifn" --json | jq -c '[.interfaces[0].peers[] | {publicKey, endpoint, allowedIPs}]'; }
good=$(snapshot)

echo "# bad input: code 7 naming the value, device unchanged"
own=$(ip netns exec "$node" "$BUILD/zl-wg" show "$ifn" --json | jq -r '.interfaces[0].publicKey')
bad() { # DESC PEERS EXTRA PATTERN
  wg_exec ADD "$(conf_for "$2" "$3")"
  expect_cni_error "$1" 7 "$4"
  expect_eq "$1: device unchanged" "$(snapshot)" "$good"
}
bad "bad base64 key" "[$(peer "abc" 192.0.2.2:51820 10.70.2.0/24)]" "" '"abc"'
bad "key of 33 bytes" "[$(peer "$(head -c 33 /dev/urandom | base64)" 192.0.2.2:51820 10.70.2.0/24)]" "" 'publicKey'
bad "own key listed as a peer" "[$(peer "$own" 192.0.2.2:51820 10.70.2.0/24)]" "" "${own//+/\\+}.*own public key"
bad "endpoint without port" "[$(peer "$k1" 192.0.2.2 10.70.2.0/24)]" "" '192\.0\.2\.2'
bad "unresolvable endpoint" "[$(peer "$k1" no-such-host.invalid:51820 10.70.2.0/24)]" "" 'no-such-host\.invalid'
bad "invalid allowed IP" "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/33)]" "" '10\.70\.2\.0/33'
bad "allowed IPs claimed by two peers" "[$(peer "$k1" 192.0.2.2:51820 10.70.0.0/16),$(peer "$k2" 192.0.2.3:51820 10.70.2.0/24)]" "" 'overlap'
bad "listen port out of range" "[]" ',"listenPort":70000' 'listenPort 70000'
chmod 644 "$T/node.key"
bad "key file with loose permissions" "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" "" 'mode 0644'
chmod 600 "$T/node.key"
echo '[{"publicKey":' >"$T/peers.json"
bad "malformed peersFile" "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" "" 'peers\.json'
echo "[$(peer "$k2" 192.0.2.3:51820 10.70.3.0/24),{\"publicKey\":\"bad\"}]" >"$T/peers.json"
bad "peersFile with one bad peer is not half-applied" "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" "" '"bad"'
mv "$T/peers.json" "$T/peers.gone"
wg_exec ADD "$(conf_for "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]")"
expect_cni_error "peersFile not written yet (zl-meshd not running): code 11 naming it" 11 \
  "peersFile $T/peers\.json: not written yet: is zl-meshd running\?"
expect_eq "peersFile not written yet: device unchanged" "$(snapshot)" "$good"
mv "$T/peers.gone" "$T/peers.json"
echo '[]' >"$T/peers.json"
wg_exec ADD "$(conf_for "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" ',"mesh":{"etcd":["https://192.0.2.9:2379"]}')"
expect_eq "the agent's mesh object (opaque to the plugin) is accepted" "$RC" "0"
expect_eq "and changes nothing" "$(snapshot)" "$good"

echo "# a gateway that is not a local address is not used as route source"
wg_exec ADD "$(conf_for "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" ",${prev//10.70.1.1/10.71.1.1}")"
expect_eq "ADD succeeds" "$RC" "0"
expect_eq "route without a preferred source" "$(ip -n "$node" route show 10.70.2.0/24 | grep -c src || true)" "0"
wg_exec ADD "$(conf_for "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" ",$prev")"
expect_eq "with a local gateway again, the route gets it back" "$(ip -n "$node" route show 10.70.2.0/24 | grep -o 'src [0-9.]*')" "src 10.70.1.1"

echo "# routes that are not ours are never taken over, never removed"
ip -n "$node" route add default via 192.0.2.254 dev eth0
routes_before=$(ip -n "$node" route show | sort)
wg_exec ADD "$(conf_for "[$(peer "$k2" 192.0.2.3:51820 0.0.0.0/0)]" ",$prev")"
expect_cni_error "a peer claiming the default route: code 7 naming both" 7 "route 0\.0\.0\.0/0 via $ifn would replace 0\.0\.0\.0/0 via 192\.0\.2\.254 dev eth0 proto boot"
wg_exec ADD "$(conf_for "[$(peer "$k2" 192.0.2.3:51820 10.70.1.0/24)]" ",$prev")"
expect_cni_error "a peer claiming the node's own subnet: code 7" 7 "10\.70\.1\.0/24 dev eth1 proto kernel.*nothing changed"
expect_eq "the node's routes are untouched" "$(ip -n "$node" route show | sort)" "$routes_before"
expect_eq "and so is the device" "$(snapshot)" "$good"
expect_eq "our routes are marked as ours (protocol $(jq -n 213))" \
  "$(ip -n "$node" -j route show 10.70.2.0/24 | jq -r '.[0].protocol')" "213"
ip -n "$node" route add 10.70.8.0/24 dev "$ifn"  # an operator's route into our device
wg_exec ADD "$(conf_for "[]" ",$prev")"
expect_eq "removing the peer removes its route" "$(ip -n "$node" route show 10.70.2.0/24)" ""
expect_eq "but not the operator's route via our device" "$(ip -n "$node" route show 10.70.8.0/24 | wc -l)" "1"
ip -n "$node" route del 10.70.8.0/24
ip -n "$node" route del default
wg_exec ADD "$(conf_for "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" ",$prev")"
expect_eq "the peer is back" "$(snapshot)" "$good"

echo "# files: trust rules and hostile shapes, refused at once"
bad_files() { # DESC PATTERN CONF
  wg_exec ADD "$3"
  expect_cni_error "$1" 7 "$2"
  expect_eq "$1: device unchanged" "$(snapshot)" "$good"
}
withpeers=$(conf_for "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" ",$prev")
chmod 666 "$T/peers.json"
bad_files "peersFile writable by others" "peers\.json has mode 0666: must not be writable by group or others" "$withpeers"
chmod 600 "$T/peers.json"
chown 65534 "$T/peers.json"
bad_files "peersFile owned by another user" "owned by uid 65534" "$withpeers"
chown 0 "$T/peers.json"
mv "$T/peers.json" "$T/peers.real"
ln -s "$T/peers.real" "$T/peers.json"
bad_files "peersFile a symlink" "peers\.json: a symlink" "$withpeers"
rm "$T/peers.json"
mkfifo "$T/peers.json"
bad_files "peersFile a FIFO" "peers\.json: a FIFO, not a regular file" "$withpeers"
rm "$T/peers.json"
python3 -c 'print("[" * 100000 + "]" * 100000)' >"$T/peers.json"
bad_files "peersFile nested 100 000 deep" "nested deeper than 128" "$withpeers"
mv "$T/peers.real" "$T/peers.json"
mkfifo "$T/fifo.key"
bad_files "privateKeyFile a FIFO" "fifo\.key: a FIFO" "$(jq -c --arg k "$T/fifo.key" '.privateKeyFile = $k' <<<"$withpeers")"
bad_files "presharedKeyFile a FIFO" "fifo\.key: a FIFO" \
  "$(jq -c --arg k "$T/fifo.key" '.peers[0].presharedKeyFile = $k' <<<"$withpeers")"
bad_files "privateKeyFile with a NUL" "privateKeyFile .*contains a NUL byte" \
  "$(jq -c --arg k "$T/x" '.privateKeyFile = ($k + "\u0000/../../etc/shadow")' <<<"$withpeers")"
sleep 0 &
dead=$!
wait "$dead"
printf 'stale secret\n' >"$T/node.key.tmp.$dead"
wg_exec ADD "$withpeers"
expect_eq "ADD succeeds" "$RC" "0"
check "a dead writer's key temp file is removed" test ! -e "$T/node.key.tmp.$dead"
jq -c '.plugins = [.] | del(.plugins[0].cniVersion, .plugins[0].name)' <<<"$withpeers" >"$T/net.conflist"
mkfifo "$T/fifo.conflist"
set +e
timeout 10 ip netns exec "$node" "$BUILD/zl-wg" sync "$T/fifo.conflist" 2>"$T/err"
expect_eq "zl-wg sync on a FIFO fails at once (exit 1, not a hang)" "$?" "1"
set -e
check "and says why" grep -q 'a FIFO, not a regular file' "$T/err"

echo "# zl-wg sync --dry-run prints the plan and changes nothing"
ip netns exec "$node" wg set "$ifn" peer "$k2" allowed-ips 10.70.9.0/24
out=$(ip netns exec "$node" "$BUILD/zl-wg" sync --dry-run "$T/net.conflist")
check "it names the stray peer ($out)" grep -q "unexpected peer $k2" <<<"$out"
expect_eq "the stray peer is still there" "$(snapshot | jq length)" "2"
ip netns exec "$node" "$BUILD/zl-wg" sync "$T/net.conflist" >/dev/null
expect_eq "a real sync removes it" "$(snapshot)" "$good"
expect_eq "then the dry run has nothing to do" "$(ip netns exec "$node" "$BUILD/zl-wg" sync --dry-run "$T/net.conflist")" "$ifn: in sync, nothing to do"
wg_exec ADD "$withpeers"  # the pod gateway as route source again (sync knows no bridge here)

echo "# CHECK, DEL, GC, STATUS"
conf=$(conf_for "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" ",$prev")
wg_exec CHECK "$conf"
expect_eq "CHECK passes when in sync" "$RC" "0"
ip netns exec "$node" wg set "$ifn" peer "$k2" allowed-ips 10.70.9.0/24  # wireguard-tools speaks UAPI too
expect_eq "a stray peer was added behind our back" "$(snapshot | jq length)" "2"
wg_exec CHECK "$conf"
expect_cni_error "CHECK names an unexpected peer" 101 "unexpected peer ${k2//+/\\+}"
wg_exec ADD "$conf"
expect_eq "ADD removes the stray peer again" "$(snapshot)" "$good"
wg_exec DEL "$conf"
expect_eq "DEL succeeds and changes nothing" "$RC/$(snapshot)" "0/$good"
wg_exec GC "$(conf_for '[]' ',"cni.dev/valid-attachments":[]')"
expect_eq "GC succeeds and changes nothing" "$RC/$(snapshot)" "0/$good"
wg_exec STATUS "$(conf_for '[]')"
expect_eq "STATUS ok with wireguard-go available" "$RC" "0"
wg_exec STATUS "$(conf_for '[]' '' | jq -c '.implementation = "kernel"')"
expect_cni_error "STATUS 50 for kernel WireGuard on a kernel without it" 50 "kernel"
set +e
OUT=$(conf_for '[]' | ip netns exec "$node" env -i CNI_COMMAND=STATUS CNI_PATH=/nonexistent PATH=/nonexistent "$BUILD/zl-wg")
RC=$?
set -e
expect_cni_error "STATUS 50 with neither kernel nor wireguard-go" 50 "no usable WireGuard"

echo "# CLI"
set +e
"$BUILD/zl-wg" bogus >/dev/null 2>&1
expect_eq "unknown subcommand exits 2" "$?" "2"
ip netns exec "$node" "$BUILD/zl-wg" show nosuchif >/dev/null 2>"$T/err"
expect_eq "show of a missing interface exits 1" "$?" "1"
set -e
check "and says which" grep -q 'nosuchif' "$T/err"

echo "# behindNAT: the endpoint the device learned (roaming) is kept; without it, set back"
nat_peer() { printf '{"publicKey":"%s","endpoint":"192.0.2.2:51820","allowedIPs":["10.70.2.0/24"]%s}' "$k1" "${1:-}"; }
endpoint_of_k1() { show_ep=$(ip netns exec "$node" "$BUILD/zl-wg" show "$ifn" --json); jq -r --arg k "$k1" '.interfaces[0].peers[] | select(.publicKey == $k) | .endpoint' <<<"$show_ep"; }
wg_exec ADD "$(conf_for "[$(nat_peer ',"behindNAT":true')]" ",$prev")"
expect_eq "behindNAT: ADD succeeds" "$RC" "0"
expect_eq "behindNAT: the device starts with the configured endpoint" "$(endpoint_of_k1)" "192.0.2.2:51820"
ip netns exec "$node" wg set "$ifn" peer "$k1" endpoint 198.51.100.7:4444  # as a handshake from a new address would
wg_exec ADD "$(conf_for "[$(nat_peer ',"behindNAT":true')]" ",$prev")"
expect_eq "behindNAT: ADD succeeds again" "$RC" "0"
expect_eq "behindNAT: the roamed endpoint is kept" "$(endpoint_of_k1)" "198.51.100.7:4444"
wg_exec ADD "$(conf_for "[$(nat_peer)]" ",$prev")"
expect_eq "without behindNAT the configured endpoint is set back" "$(endpoint_of_k1)" "192.0.2.2:51820"

echo "# zl-wg show: peer names from zl-meshd's names file"
names=/run/zl-cni/wg/$ifn.names.json
on_exit "rm -f '$names'"
mkdir -p /run/zl-cni/wg
wg_exec ADD "$(conf_for "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24),$(peer "$k2" 192.0.2.3:51820 10.70.3.0/24)]" ",$prev")"
expect_eq "ADD with two peers" "$RC" "0"
show() { ip netns exec "$node" "$BUILD/zl-wg" show "$ifn" "$@" 2>"$T/show.err"; }
rm -f "$names"
show >"$T/show.txt"
check "no names file: show works" grep -q "peer: $k1" "$T/show.txt"
check "no names file: no node lines" bash -c "! grep -q 'node:' '$T/show.txt'"
expect_eq "no names file: no warning" "$(cat "$T/show.err")" ""
jq -cn --arg k1 "$k1" --arg k3 "$(key_of)" \
  '{peers: [{publicKey: $k1, node: "node-b", up: false}, {publicKey: $k3, node: "node-gone", up: true}]}' >"$names"
chmod 644 "$names"
show >"$T/show.txt"
check "the named peer shows its node and down" grep -qx "  node: node-b (down)" "$T/show.txt"
expect_eq "only the named peer has a node line" "$(grep -c 'node:' "$T/show.txt")" "1"
expect_eq "the node line follows its peer" "$(grep -A1 "peer: $k1" "$T/show.txt" | tail -1)" "  node: node-b (down)"
expect_eq "--json: node and up of the named peer" \
  "$(show --json | jq -c --arg k "$k1" '.interfaces[0].peers[] | select(.publicKey == $k) | [.node, .up]')" '["node-b",false]'
expect_eq "--json: null for the unnamed peer" \
  "$(show --json | jq -c --arg k "$k2" '.interfaces[0].peers[] | select(.publicKey == $k) | [.node, .up]')" '[null,null]'
jq -cn --arg k1 "$k1" '{peers: [{publicKey: $k1, node: "node-b"}]}' >"$names"
expect_eq "up defaults to true" "$(show | grep 'node:')" "  node: node-b (up)"
echo '{"peers": [' >"$names"
set +e
show >"$T/show.txt"
rc=$?
set -e
expect_eq "bad names file: show still exits 0" "$rc" "0"
check "bad names file: peers still shown" grep -q "peer: $k1" "$T/show.txt"
check "bad names file: no node lines" bash -c "! grep -q 'node:' '$T/show.txt'"
expect_eq "bad names file: one warning line" "$(wc -l <"$T/show.err")" "1"
check "the warning names the file" grep -q "warning: peer names not shown: $names" "$T/show.err"
rm -f "$names"
ln -s "$T/peers.json" "$names"
show --json >"$T/show.json"
check "names file a symlink: refused with a warning" grep -q "$names: a symlink" "$T/show.err"
expect_eq "names file a symlink: JSON still complete" "$(jq '.interfaces[0].peers | length' "$T/show.json")" "2"
rm -f "$names"
finish
