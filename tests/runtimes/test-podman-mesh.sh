#!/usr/bin/env bash
# Podman (Debian's 4.3, CNI backend) runs busybox containers on the mesh conflist
# (conf/30-zl-mesh.conflist: zl-bridge + zl-ipam, then zl-wg with the userspace fallback,
# wireguard-go): containers get their addresses, ping each other, the node's WireGuard device
# exists with the configured peer and a route to that peer's pod subnet, traffic from a pod to
# the remote subnet enters the tunnel, and `podman rm` / `stop` release the pods' state while
# the node device stays (zl-wg DEL does nothing: the mesh is per node).
#
#   host netns (podman runs the plugins here)                      containers
#   ┌─────────────────────────────────────────────┐
#   │ bridge zb$UNIQ 10.124.1.1/24 (mtu 1420)      ├── veth ──┤ a eth0 10.124.1.x │
#   │                                              ├── veth ──┤ b eth0 10.124.1.y │
#   │ zw$UNIQ (wireguard-go, port $port)           │
#   │   peer <fake key> 192.0.2.99:51820           │   (no such node: its handshakes go
#   │   route 10.124.2.0/24 dev zw$UNIQ src .1.1   │    unanswered, which is all we need)
#   └─────────────────────────────────────────────┘
# Lifecycle: a, b `run -d --rm`; a goes by `podman rm -f`, b by `podman stop`; then the test
# deletes the WireGuard link, which stops wireguard-go.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=rt-lib.sh
source "$(dirname "$0")/rt-lib.sh"
need_root
"$SRC/scripts/install-deps.sh" podman runc conmon busybox-static wireguard-go

net=zlmesh$UNIQ
br=zb$UNIQ
wg=zw$UNIQ
port=$((20000 + RANDOM % 20000))
subnet=10.124.1.0/24
gw=10.124.1.1
remote=10.124.2.0/24
data=$T/ipam
state=$data/$net.json
peer_key=$(head -c 32 /dev/urandom | base64)
for s in "$subnet" "$remote"; do
  if ! rt_unused_subnet "$s"; then
    fail "the host already routes $s: refusing to put a test network on it"
    finish
  fi
done

wg_pids() { pgrep -xf "wireguard-go $wg" || true; }
# shellcheck disable=SC2016  # expanded when the cleanup runs
on_exit 'ip link del "$br"; ip link del "$wg"; p=$(wg_pids); [ -z "$p" ] || kill $p'
conflist=$PM_NETD/$net.conflist
on_exit rt_del_leftovers "$conflist" "$state"
rt_plugin_dir "$T/bin"
rt_podman_setup "$T/bin"
mkdir -m 700 "$T/wg"
jq -n --arg k "$peer_key" --arg r "$remote" \
  '{peers: [{publicKey: $k, endpoint: "192.0.2.99:51820", allowedIPs: [$r]}]}' >"$T/peers.json"
jq --arg n "$net" --arg br "$br" --arg s "$subnet" --arg d "$data" --arg wg "$wg" --argjson port "$port" \
  --arg key "$T/wg/$net.key" --arg peers "$T/peers.json" '
  .name = $n
  | .plugins[0] |= (.bridge = $br | .masqExclude = ["10.124.0.0/16"]
                    | .ipam.ranges = [[{subnet: $s}]] | .ipam.dataDir = $d)
  | .plugins[1] |= (.interface = $wg | .listenPort = $port | .privateKeyFile = $key
                    | .peersFile = $peers | .implementation = "userspace")' \
  "$SRC/conf/30-zl-mesh.conflist" >"$conflist"
rt_podman_image

wg_json() { "$BUILD/zl-wg" show "$wg" --json; }
peer_tx() { wg_json | jq '.interfaces[0].peers[0].txBytes'; }

echo "== two containers on the mesh network"
run=(podman run -d --rm --network "$net" --cap-add NET_RAW "$PM_IMAGE")
"${run[@]:0:3}" --name "a$UNIQ" "${run[@]:3}" sleep 600 >/dev/null
"${run[@]:0:3}" --name "b$UNIQ" "${run[@]:3}" sleep 600 >/dev/null
a_ip=$(pm_ip "a$UNIQ" "$net")
b_ip=$(pm_ip "b$UNIQ" "$net")
a_ns=$(pm_netns "a$UNIQ")
b_ns=$(pm_netns "b$UNIQ")
check "a got an address in $subnet ($a_ip)" grep -qE '^10\.124\.1\.[0-9]+$' <<<"$a_ip"
check "b got another one ($b_ip)" test -n "$b_ip" -a "$b_ip" != "$a_ip"
expect_eq "IPAM state holds two allocations" "$(rt_allocs "$state")" 2
expect_eq "a's eth0 carries the address, MTU 1420" \
  "$(in_ctr "a$UNIQ" ip -o -4 addr show dev eth0 | awk '{print $4}') $(in_ctr "a$UNIQ" cat /sys/class/net/eth0/mtu)" "$a_ip/24 1420"
check "a pings b" pm_pings "a$UNIQ" "$b_ip"
check "b pings a" pm_pings "b$UNIQ" "$a_ip"
check "a pings the gateway" pm_pings "a$UNIQ" "$gw"

echo "== the node's WireGuard device"
check "wireguard-go serves $wg" test -n "$(wg_pids)"
dev=$(wg_json)
expect_eq "$wg listens on $port with our key" \
  "$(jq -r '.interfaces[0] | "\(.name) \(.listenPort) \(.publicKey)"' <<<"$dev")" \
  "$wg $port $("$BUILD/zl-wg" pubkey "$conflist")"
expect_eq "$wg has exactly the peer of the peers file" \
  "$(jq -c '.interfaces[0].peers | map({publicKey, endpoint, allowedIPs})' <<<"$dev")" \
  "$(jq -nc --arg k "$peer_key" --arg r "$remote" '[{publicKey: $k, endpoint: "192.0.2.99:51820", allowedIPs: [$r]}]')"
expect_eq "the key file is 0600" "$(stat -c %a "$T/wg/$net.key")" 600
check "route to the peer's pods via $wg, from the gateway ($(ip -4 route show "$remote"))" \
  grep -qE "^$remote dev $wg .*src $gw( |\$)" <<<"$(ip -4 route show "$remote")"
tx0=$(peer_tx)
in_ctr "a$UNIQ" ping -c 1 -W 1 10.124.2.5 >/dev/null 2>&1 || true
check "a's packet to the remote subnet enters the tunnel (peer tx grows from $tx0)" \
  wait_for 10 sh -c "[ \"\$('$BUILD/zl-wg' show '$wg' --json | jq '.interfaces[0].peers[0].txBytes')\" -gt $tx0 ]"

echo "== podman rm -f a, podman stop b (--rm): pods released, the node device stays"
podman rm -f -t 0 "a$UNIQ" >/dev/null
podman stop -t 0 "b$UNIQ" >/dev/null
check "b is removed by its --rm" wait_for 30 pm_gone "b$UNIQ"
rt_expect_released "after rm" "$net" "$br" "$state"
check "a's netns is gone" test ! -e "$a_ns"
check "b's netns is gone" test ! -e "$b_ns"
expect_eq "$wg still has its peer" "$(wg_json | jq -r '.interfaces[0].peers[0].publicKey')" "$peer_key"

echo "== what podman asked of the plugins"
rt_calls -c 'group_by(.plugin + " " + .cmd) | map({(.[0].plugin + " " + .[0].cmd): length}) | add' | sed 's/^/    /'
expect_eq "no plugin call failed" "$(rt_calls -c '[.[] | select(.rc != 0) | "\(.plugin) \(.cmd) \(.stdout)"]')" "[]"
expect_eq "zl-wg ran ADD and DEL once per container" \
  "$(rt_calls -c '[.[] | select(.plugin == "zl-wg" and (.cmd == "ADD" or .cmd == "DEL")) | .cmd] | group_by(.) | map("\(.[0]) \(length)")')" \
  '["ADD 2","DEL 2"]'
# libcni re-serialises prevResult with "dns": {}; an empty dns is the same result.
expect_eq "zl-wg ADD passed zl-bridge's result on unchanged" \
  "$(rt_calls -c 'def norm: del(.cniVersion) | if .dns == {} then del(.dns) else . end;
    [.[] | select(.plugin == "zl-wg" and .cmd == "ADD") | (.stdout | fromjson | norm) == (.stdin | fromjson | .prevResult | norm)] | unique')" \
  '[true]'

echo "== deleting the device stops wireguard-go"
ip link del "$wg"
check "wireguard-go $wg exited" wait_for 10 test -z "$(wg_pids)"
expect_eq "no route to the peer's pods left" "$(ip -4 route show "$remote")" ""
rt_finish
