#!/usr/bin/env bash
# Lifecycle: CHECK passes on a healthy pod and fails, saying what differs, after an address,
# the default route or the MAC is changed by hand or the host veth is downed; DEL twice; DEL
# after the pod's netns is gone leaves no veth, rule or allocation; GC
# (cni.dev/valid-attachments) removes only the dead attachments' veths and allocations and
# leaves foreign bridge ports alone; ADD rolls back on injected failures: an exhausted /30
# pool, a failing IPAM plugin, an IPAM result the pod cannot take (zl-ipam and a fake) —
# leaving no veth, no address, no allocation, and no bridge it created.
#
#   node netns $NODE
#     zllc0 10.244.12.1/24 ── c1 (cnitool 1.0.0), c2, d1 (netns deleted), g1 g2 g3 (GC)
#     zlx0  10.244.13.0/30 ── x1 (takes the only address), x2 (fails)
#     zlfk0 (fake IPAM) / zlrb0 10.244.14.0/24 (zl-ipam, unreachable route gateway) ── f1
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=bridge-lib.sh
. "$(dirname "$0")/bridge-lib.sh"

net=zllc$UNIQ
node_add
for x in c1 c2 d1 g1 g2 g3 x1 x2 f1; do pod_add "zl$x$UNIQ"; done
p() { echo "zl$1$UNIQ"; }
conf=$(br_conf "$net" 1.0.0 '{"bridge": "zllc0", "isDefaultGateway": true, "ipMasq": true}' \
  '{"ranges": [[{"subnet": "10.244.12.0/24"}]]}')
conf11=$(jq -c '.cniVersion = "1.1.0"' <<<"$conf")
br_list "$conf"
with_prev() { jq -c --argjson r "$1" '. + {prevResult: $r}' <<<"$conf11"; }

echo "== CHECK (cnitool)"
runs_ok "ADD c1" ct add "$net" "$(p c1)"
runs_ok "CHECK c1 healthy" ct check "$net" "$(p c1)"
ip -n "$(p c1)" addr del 10.244.12.2/24 dev eth0
ct check "$net" "$(p c1)"
check "CHECK fails after the address is removed" test "$RC" -ne 0
check "and says which address is missing: $(cat "$T/stderr")" grep -q "eth0 lacks address 10.244.12.2/24" "$T/stderr"
runs_ok "DEL c1" ct del "$net" "$(p c1)"
runs_ok "DEL c1 again" ct del "$net" "$(p c1)"

echo "== CHECK (direct, 1.1.0)"
runs_ok "ADD c2" br ADD "$conf11" cc2 "$(p c2)"
r2=$OUT
veth_c2=$(jq -r '.interfaces[1].name' <<<"$r2")
runs_ok "CHECK c2 healthy" br CHECK "$(with_prev "$r2")" cc2 "$(p c2)"
ip -n "$(p c2)" route del default
br CHECK "$(with_prev "$r2")" cc2 "$(p c2)"
expect_cni_error "CHECK after the default route is removed" 101 "route 0.0.0.0/0 via 10.244.12.1 missing"
ip -n "$(p c2)" route add default via 10.244.12.1
ip -n "$(p c2)" link set eth0 address 0a:58:00:00:00:01
br CHECK "$(with_prev "$r2")" cc2 "$(p c2)"
expect_cni_error "CHECK after the MAC is changed" 101 "eth0 has MAC 0a:58:00:00:00:01, prevResult says"
ip -n "$(p c2)" link set eth0 address "$(jq -r '.interfaces[2].mac' <<<"$r2")"
ip -n "$NODE" link set "$veth_c2" down
br CHECK "$(with_prev "$r2")" cc2 "$(p c2)"
expect_cni_error "CHECK after the host veth is downed" 101 "host veth $veth_c2 is down"
ip -n "$NODE" link set "$veth_c2" up
runs_ok "CHECK c2 healthy again" br CHECK "$(with_prev "$r2")" cc2 "$(p c2)"
ip -n "$(p c2)" link del eth0
br CHECK "$(with_prev "$r2")" cc2 "$(p c2)"
expect_cni_error "CHECK after eth0 is deleted" 101 "(host veth .* does not exist|interface eth0 does not exist)"
runs_ok "DEL c2 (eth0 already gone)" br DEL "$conf11" cc2 "$(p c2)"
runs_ok "DEL c2 again" br DEL "$conf11" cc2 "$(p c2)"
expect_clean "after DEL twice" "$net"

echo "== DEL after the netns is gone"
runs_ok "ADD d1" br ADD "$conf11" cd1 "$(p d1)"
ip netns del "$(p d1)"
runs_ok "DEL d1 with its netns deleted" br DEL "$conf11" cd1 "$(p d1)"
check "no veth left" wait_for 5 test "$(node_veths)" -eq 0
expect_clean "after DEL of a gone netns" "$net"
runs_ok "DEL d1 again" br DEL "$conf11" cd1 "$(p d1)"

echo "== GC"
for g in g1 g2 g3; do runs_ok "ADD $g" br ADD "$conf11" "c$g" "$(p "$g")"; done
ip_g1=$(pod_ip "$(p g1)")
ip_g3=$(pod_ip "$(p g3)")
ip -n "$NODE" link add zlforeign type veth peer name zlforeignp
ip -n "$NODE" link set zlforeign master zllc0
gc_conf() { jq -c --argjson a "$1" '. + {"cni.dev/valid-attachments": $a}' <<<"$conf11"; }
runs_ok "GC keeping g1 and g3" br GC "$(gc_conf '[{"containerID": "cg1", "ifname": "eth0"}, {"containerID": "cg3", "ifname": "eth0"}]')" x "$(p g1)"
expect_eq "g2's veth is gone, g1's and g3's stay" "$(node_veths)" 2
check "g2's eth0 is gone with it" wait_for 5 no_link "$(p g2)" eth0
expect_eq "allocations of g1 and g3 stay" "$(state_ips "$net" | paste -sd,)" "$(printf '%s\n' "$ip_g1" "$ip_g3" | sort | paste -sd,)"
check "g1 still pings g3" pings "$(p g1)" "$ip_g3"
check "the foreign port stays" node_has_link zlforeign
check "rules stay while pods remain" test "$(zl_rules)" -gt 0
runs_ok "GC keeping nothing" br GC "$(gc_conf '[]')" x "$(p g1)"
expect_eq "every pod veth is gone" "$(node_veths)" 0
check "the foreign port still stays" node_has_link zlforeign
expect_clean "after GC of everything" "$net"
ip -n "$NODE" link del zlforeign

echo "== GC: what a killed ADD can leave"
# A SIGKILL right after the veth is created leaves a port with our derived name but no alias
# yet: GC must collect it. One of a valid attachment, unlabelled too, stays.
runs_ok "ADD g1" br ADD "$conf11" cg1 "$(p g1)"
dead=$("$BUILD/zl-names" veth ckilled eth0)
live=$("$BUILD/zl-names" veth cg2 eth0)
for v in "$dead" "$live"; do
  ip -n "$NODE" link add "$v" master zllc0 type veth peer name "${v}p"
done
runs_ok "GC keeping g1 and g2" br GC "$(gc_conf '[{"containerID": "cg1", "ifname": "eth0"}, {"containerID": "cg2", "ifname": "eth0"}]')" x "$(p g1)"
check "the unlabelled veth of a dead attachment is collected" no_link "$NODE" "$dead"
check "the unlabelled veth of a valid attachment stays" node_has_link "$live"
ip -n "$NODE" link del "$live"
runs_ok "DEL g1" br DEL "$conf11" cg1 "$(p g1)"
expect_clean "after the killed-ADD GC" "$net"

echo "== a 250-byte container ID"
long=c$(printf 'x%.0s' $(seq 1 249))
runs_ok "ADD with a 250-byte container ID" br ADD "$conf11" "$long" "$(p g2)"
rl=$OUT
alias=$(ip -n "$NODE" -j -d link show "$("$BUILD/zl-names" veth "$long" eth0)" | jq -r '.[0].ifalias')
expect_eq "its veth carries a 255-byte alias naming the network" "${#alias}/${alias:0:${#net}+8}" "255/zl-cni:$net:"
runs_ok "CHECK" br CHECK "$(with_prev "$rl")" "$long" "$(p g2)"
runs_ok "GC keeps it" br GC "$(gc_conf "[{\"containerID\": \"$long\", \"ifname\": \"eth0\"}]")" x "$(p g2)"
expect_eq "still there" "$(node_veths)" 1
runs_ok "DEL" br DEL "$conf11" "$long" "$(p g2)"
expect_clean "after the long ID" "$net"

echo "== rollback: exhausted /30 pool"
cx=$(br_conf "zlx$UNIQ" 1.1.0 '{"bridge": "zlx0", "isGateway": true, "ipMasq": true}' '{"subnet": "10.244.13.0/30"}')
runs_ok "ADD x1 takes the only address" br ADD "$cx" cx1 "$(p x1)"
br ADD "$cx" cx2 "$(p x2)"
expect_cni_error "ADD x2 fails: pool exhausted" 100 "10.244.13.0/30"
expect_eq "only x1's veth" "$(node_veths)" 1
check "x2 has no eth0" no_link "$(p x2)" eth0
expect_eq "one allocation" "$(allocs "zlx$UNIQ")" 1
expect_eq "the bridge holds the gateway once" "$(ip -n "$NODE" -4 -o addr show dev zlx0 | awk '{print $4}')" 10.244.13.1/30
check "x1 still pings the gateway" pings "$(p x1)" 10.244.13.1
runs_ok "DEL x1" br DEL "$cx" cx1 "$(p x1)"
expect_clean "x" "zlx$UNIQ"

echo "== rollback: a failing IPAM plugin"
mkdir -p "$T/fakebin"
cat >"$T/fakebin/zl-fake-ipam" <<EOF
#!/bin/sh
echo "\$CNI_COMMAND \$CNI_CONTAINERID" >>"$T/fake.log"
cat >/dev/null
case "\$CNI_COMMAND" in
  ADD) if [ -e "$T/fake.ok" ]; then cat "$T/fake.ok"; exit 0; fi
       echo '{"cniVersion": "1.1.0", "code": 11, "msg": "injected IPAM failure"}'; exit 1 ;;
esac
exit 0
EOF
chmod +x "$T/fakebin/zl-fake-ipam"
cf=$(jq -c '.ipam = {type: "zl-fake-ipam"}' <<<"$(br_conf "zlfk$UNIQ" 1.1.0 '{"bridge": "zlfk0", "isGateway": true, "ipMasq": true}')")
fakepath=CNI_PATH=$T/fakebin:$BUILD
br ADD "$cf" cf1 "$(p f1)" eth0 "$fakepath"
expect_cni_error "ADD fails with the IPAM plugin's error" 11 "injected IPAM failure"
expect_eq "no veth left" "$(node_veths)" 0
check "f1 has no eth0" no_link "$(p f1)" eth0
check "the bridge this ADD created is gone" no_link "$NODE" zlfk0
expect_eq "no firewall rules" "$(zl_rules)" 0

echo "== rollback: an IPAM result the pod cannot take (fake IPAM)"
: >"$T/fake.log"
jq -cn '{cniVersion: "1.1.0", ips: [{address: "10.244.15.5/24", gateway: "10.244.15.1"}],
  routes: [{dst: "0.0.0.0/0"}, {dst: "192.168.77.0/24", gw: "172.31.9.9"}]}' >"$T/fake.ok"
br ADD "$cf" cf1 "$(p f1)" eth0 "$fakepath"
check "ADD fails on the unreachable route gateway (rc=$RC: $(jq -r .msg <<<"$OUT" 2>/dev/null))" \
  grep -q "192.168.77.0/24 via 172.31.9.9" <<<"$(jq -r .msg <<<"$OUT" 2>/dev/null)"
expect_eq "IPAM was asked to release: ADD then DEL" "$(paste -sd, "$T/fake.log")" "ADD cf1,DEL cf1"
expect_eq "no veth left" "$(node_veths)" 0
check "f1 has no eth0" no_link "$(p f1)" eth0
check "no bridge left" no_link "$NODE" zlfk0
expect_eq "no firewall rules" "$(zl_rules)" 0

echo "== rollback: an IPAM result the pod cannot take (zl-ipam)"
crb=$(br_conf "zlrb$UNIQ" 1.1.0 '{"bridge": "zlrb0", "isGateway": true, "ipMasq": true}' \
  '{"subnet": "10.244.14.0/24", "routes": [{"dst": "0.0.0.0/0"}, {"dst": "192.168.78.0/24", "gw": "172.31.9.9"}]}')
br ADD "$crb" crb1 "$(p f1)"
check "ADD fails (rc=$RC)" test "$RC" -ne 0
expect_eq "no allocation left" "$(allocs "zlrb$UNIQ")" 0
expect_eq "no veth left" "$(node_veths)" 0
check "f1 has no eth0" no_link "$(p f1)" eth0
check "no bridge left" no_link "$NODE" zlrb0
expect_eq "no firewall rules" "$(zl_rules)" 0
runs_ok "DEL after the failed ADD" br DEL "$crb" crb1 "$(p f1)"

finish_bridge
