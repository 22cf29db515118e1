#!/usr/bin/env bash
# Podman (Debian's 4.3, CNI backend) runs busybox containers on a zl-bridge + zl-ipam conflist
# (conf/10-zl-bridge.conflist with a private name, bridge, subnet and dataDir): each container
# gets its address from zl-ipam, containers and the gateway ping each other, `--ip` and
# `--mac-address` are honoured, and `podman rm` / `podman stop` of a `--rm` container release
# everything (IPAM state, veth, firewall rules, libcni's cache, the netns).
#
#   host netns (podman runs the plugins here)          containers (netns /run/netns/netns-…)
#   ┌──────────────────────────────────┐
#   │ bridge zb$UNIQ 10.123.41.1/24    ├── veth zl… ──┤ a  eth0 10.123.41.x          │
#   │ nft table zl-<hash(net)>         ├── veth zl… ──┤ b  eth0 10.123.41.y          │
#   │                                  ├── veth zl… ──┤ c  eth0 10.123.41.50 (--ip, --mac-address) │
#   └──────────────────────────────────┘
# Lifecycle: a, b `run -d --rm`; c `run --rm` in the foreground; a goes by `podman rm -f`,
# b by `podman stop` (its --rm removes it). Podman reads only private config (rt-lib.sh) and
# runs the plugins through logging wrappers, so the calls it made are checked too.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=rt-lib.sh
source "$(dirname "$0")/rt-lib.sh"
need_root
"$SRC/scripts/install-deps.sh" podman runc conmon busybox-static

net=zlpm$UNIQ
br=zb$UNIQ
subnet=10.123.41.0/24
gw=10.123.41.1
data=$T/ipam
state=$data/$net.json
static_ip=10.123.41.50
static_mac=02:7a:6c:00:41:50
if ! rt_unused_subnet "$subnet"; then
  fail "the host already routes $subnet: refusing to put a test network on it"
  finish
fi

on_exit ip link del "$br"
conflist=$PM_NETD/$net.conflist
on_exit rt_del_leftovers "$conflist" "$state"
rt_plugin_dir "$T/bin"
rt_podman_setup "$T/bin"
jq --arg n "$net" --arg br "$br" --arg s "$subnet" --arg d "$data" \
  '.name = $n | .plugins[0].bridge = $br | .plugins[0].ipam.subnet = $s | .plugins[0].ipam.dataDir = $d' \
  "$SRC/conf/10-zl-bridge.conflist" >"$conflist"
rt_podman_image

echo "== podman sees the network"
expect_eq "podman network ls lists $net (driver zl-bridge)" \
  "$(podman network ls --format '{{.Name}} {{.Driver}}' | grep "^$net ")" "$net zl-bridge"

echo "== two containers: addresses from zl-ipam"
run=(podman run -d --rm --network "$net" --cap-add NET_RAW "$PM_IMAGE")
a_id=$("${run[@]:0:3}" --name "a$UNIQ" "${run[@]:3}" sleep 600)
b_id=$("${run[@]:0:3}" --name "b$UNIQ" "${run[@]:3}" sleep 600)
a_ip=$(pm_ip "a$UNIQ" "$net")
b_ip=$(pm_ip "b$UNIQ" "$net")
a_ns=$(pm_netns "a$UNIQ")
b_ns=$(pm_netns "b$UNIQ")
check "a got an address in $subnet ($a_ip)" grep -qE '^10\.123\.41\.([2-9]|[1-9][0-9]+)$' <<<"$a_ip"
check "b got another one ($b_ip)" test -n "$b_ip" -a "$b_ip" != "$a_ip"
expect_eq "IPAM state holds a and b under their container IDs" \
  "$(jq -c '[.allocations[] | "\(.ip) \(.containerID) \(.ifname)"] | sort' "$state")" \
  "$(jq -nc --arg a "$a_ip $a_id eth0" --arg b "$b_ip $b_id eth0" '[$a, $b] | sort')"
expect_eq "a's eth0 carries the address (/24)" \
  "$(in_ctr "a$UNIQ" ip -o -4 addr show dev eth0 | awk '{print $4}')" "$a_ip/24"
expect_eq "a's default route goes via the gateway" \
  "$(in_ctr "a$UNIQ" ip route | awk '$1 == "default" {print $3}')" "$gw"
expect_eq "the bridge holds the gateway address" \
  "$(ip -4 -o addr show dev "$br" | awk '{print $4}')" "$gw/24"
a_veth=$(rt_veths "$net" "$br" | tr '\n' ' ')
expect_eq "two host veths (zl + 12 hex) on $br" "$(wc -w <<<"$a_veth")" 2
check "the network's firewall rules exist while pods do" test -n "$(rt_rules "$net")"

echo "== connectivity"
check "a pings b" pm_pings "a$UNIQ" "$b_ip"
check "b pings a" pm_pings "b$UNIQ" "$a_ip"
check "a pings the gateway" pm_pings "a$UNIQ" "$gw"
check "the host pings b through the bridge" host_pings "$b_ip"

echo "== --ip and --mac-address (foreground run --rm)"
out=$(podman run --rm --network "$net" --cap-add NET_RAW --ip "$static_ip" --mac-address "$static_mac" "$PM_IMAGE" \
  sh -c "ip -o -4 addr show dev eth0; cat /sys/class/net/eth0/address; ping -c 1 -w 10 $a_ip >/dev/null && echo PING-OK")
printf '    %s\n' "$out"
check "c's eth0 has the requested address" grep -q "inet $static_ip/24" <<<"$out"
check "c's eth0 has the requested MAC" grep -qx "$static_mac" <<<"$out"
check "c pings a" grep -qx PING-OK <<<"$out"
# Podman 4.3's CNI backend sends them as CNI_ARGS, not as runtimeConfig ips/mac.
expect_eq "podman passed --ip/--mac-address to zl-bridge ADD as CNI_ARGS IP=/MAC=" \
  "$(rt_calls -r '[.[] | select(.plugin == "zl-bridge" and .cmd == "ADD") | .args | split(";")[] | select(test("^(IP|MAC)="))] | sort | join(";")')" \
  "IP=$static_ip;MAC=$static_mac"
check "c's address is released once c is gone" \
  wait_for 20 sh -c "[ \"\$(jq '[.allocations[] | select(.ip == \"$static_ip\")] | length' '$state')\" = 0 ]"

echo "== podman rm -f a, podman stop b (--rm): everything released"
podman rm -f -t 0 "a$UNIQ" >/dev/null
podman stop -t 0 "b$UNIQ" >/dev/null
check "b is removed by its --rm" wait_for 30 pm_gone "b$UNIQ"
check "podman ps shows none of ours" test -z "$(podman ps -aq)"
rt_expect_released "after rm" "$net" "$br" "$state"
check "a's netns is gone ($a_ns)" test ! -e "$a_ns"
check "b's netns is gone ($b_ns)" test ! -e "$b_ns"

echo "== what podman asked of the plugins"
rt_calls -c 'group_by(.plugin + " " + .cmd) | map({(.[0].plugin + " " + .[0].cmd): length}) | add' | sed 's/^/    /'
expect_eq "no plugin call failed" "$(rt_calls -c '[.[] | select(.rc != 0) | "\(.plugin) \(.cmd) \(.stdout)"]')" "[]"
expect_eq "every zl-bridge ADD was undone by a DEL (same container, ifname)" \
  "$(rt_calls -c '[.[] | select(.plugin == "zl-bridge" and .cmd == "DEL") | .id + "/" + .ifname] | unique')" \
  "$(rt_calls -c '[.[] | select(.plugin == "zl-bridge" and .cmd == "ADD") | .id + "/" + .ifname] | unique')"
expect_eq "ADD ran in a podman netns under /run/netns" \
  "$(rt_calls -r '[.[] | select(.cmd == "ADD") | .netns | test("^/run/netns/")] | unique | @text')" "[true]"
rt_finish
