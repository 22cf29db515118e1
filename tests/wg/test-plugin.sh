#!/usr/bin/env bash
# zl-wg as a CNI plugin on this host (userspace fallback; the host kernel has no WireGuard):
# bad input → code 7 naming the value and nothing applied; a broken peersFile never
# half-applies; prevResult passes through; DEL/GC are no-ops; CHECK and STATUS; CLI exit codes.
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
chmod 000 "$T/peers.json"
mv "$T/peers.json" "$T/peers.gone"
bad "unreadable peersFile" "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" "" 'peers\.json'
mv "$T/peers.gone" "$T/peers.json"
chmod 600 "$T/peers.json"
echo '[]' >"$T/peers.json"

echo "# a gateway that is not a local address is not used as route source"
wg_exec ADD "$(conf_for "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" ",${prev//10.70.1.1/10.71.1.1}")"
expect_eq "ADD succeeds" "$RC" "0"
expect_eq "route without a preferred source" "$(ip -n "$node" route show 10.70.2.0/24 | grep -c src || true)" "0"
wg_exec ADD "$(conf_for "[$(peer "$k1" 192.0.2.2:51820 10.70.2.0/24)]" ",$prev")"
expect_eq "with a local gateway again, the route gets it back" "$(ip -n "$node" route show 10.70.2.0/24 | grep -o 'src [0-9.]*')" "src 10.70.1.1"

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
finish
