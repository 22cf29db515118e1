#!/usr/bin/env bash
# zl-ipam driven by cnitool (Debian's libcni, the runtime side containerd/CRI-O use) at every
# version that libcni speaks (0.3.0, 0.3.1, 0.4.0, 1.0.0): add → the result in that version's
# shape, check → passes (0.4.0+) and reports a missing allocation, del → state empty;
# dual-stack; static addresses through the "ips" capability and CNI_ARGS IP=.
# Topology: one netns (cnitool wants a path; IPAM never enters it), conflists in $T/netconf.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ipam-lib.sh
. "$(dirname "$0")/ipam-lib.sh"
need_root

ns=zlct$UNIQ
netns_add "$ns"
export NETCONFPATH=$T/netconf CNI_CACHE_DIR=$T/cache
mkdir -p "$NETCONFPATH"

# conflist NAME VERSION IPAM-JSON [PLUGIN-EXTRA-JSON]: writes $NETCONFPATH/NAME.conflist.
conflist() {
  jq -n --arg n "$1" --arg v "$2" --arg d "$DATA" --argjson i "$3" --argjson x "${4:-{\}}" \
    '{cniVersion: $v, name: $n, plugins: [{type: "zl-ipam", ipam: ({type: "zl-ipam", dataDir: $d} + $i)} + $x]}' \
    >"$NETCONFPATH/$1.conflist"
}
# cnitool_run CMD NET ID [VAR=VAL…]: capture: sets $OUT, $RC.
cnitool_run() {
  local cmd=$1 net=$2 id=$3
  shift 3
  capture "" env CNI_CONTAINERID="$id" "$@" "$CNITOOL" "$cmd" "$net" "$ns"
}

i=0
for v in 0.3.0 0.3.1 0.4.0 1.0.0; do
  i=$((i + 1))
  echo "== cniVersion $v"
  net=zlct$i$UNIQ
  ipam_json=$(jq -cn --arg s "10.90.$i.0/24" --arg gw "10.90.$i.254" '{subnet: $s,
    routes: [{dst: "0.0.0.0/0"}, {dst: "10.200.0.0/16", gw: $gw}], dns: {nameservers: ["10.90.0.53"]}}')
  conflist "$net" "$v" "$ipam_json"
  runs_ok "$v: add" cnitool_run add "$net" "ctr$i"
  expect_eq "$v: result version" "$(jq -r .cniVersion <<<"$OUT")" "$v"
  want_ip=$(jq -cn --arg a "10.90.$i.2/24" --arg g "10.90.$i.1" '{address: $a, gateway: $g}')
  case $v in 0.3.* | 0.4.0) want_ip=$(jq -c '{version: "4"} + .' <<<"$want_ip") ;; esac  # ips[].version until 1.0.0
  expect_eq "$v: address and gateway" "$(jq -c '.ips' <<<"$OUT")" "[$want_ip]"
  expect_eq "$v: routes" "$(jq -c '.routes' <<<"$OUT")" \
    "[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"10.200.0.0/16\",\"gw\":\"10.90.$i.254\"}]"
  expect_eq "$v: dns" "$(jq -c '.dns' <<<"$OUT")" '{"nameservers":["10.90.0.53"]}'
  expect_eq "$v: state holds the address" "$(state_ips "$net" "ctr$i" eth0)" "10.90.$i.2"
  # The plugin's own bytes, not libcni's re-encoding: exact keys of the version's shape.
  ipam ADD "$(ipam_conf "$net" "$v" "$ipam_json")" "raw$i"
  expect_eq "$v: plugin's own result shape" "$(jq -c '.ips' <<<"$OUT")" \
    "[$(jq -c --arg a "10.90.$i.3/24" '.address = $a' <<<"$want_ip")]"
  ipam DEL "$(ipam_conf "$net" "$v" "$ipam_json")" "raw$i"
  if [ "$v" != 0.3.0 ] && [ "$v" != 0.3.1 ]; then
    runs_ok "$v: check" cnitool_run check "$net" "ctr$i"
  fi
  runs_ok "$v: add again (idempotent)" cnitool_run add "$net" "ctr$i"
  expect_eq "$v: same address" "$(jq -r '.ips[0].address' <<<"$OUT"):$(state_count "$net")" "10.90.$i.2/24:1"
  runs_ok "$v: del" cnitool_run del "$net" "ctr$i"
  expect_eq "$v: state empty after del" "$(state_count "$net")" 0
  runs_ok "$v: del again" cnitool_run del "$net" "ctr$i"
done

echo "== check reports what the store lost"
net=zlctc$UNIQ
conflist "$net" 1.0.0 '{"subnet": "10.91.0.0/24"}'
runs_ok "add" cnitool_run add "$net" lost
runs_ok "release it behind the runtime's back" ipam DEL "$(ipam_conf "$net" 1.0.0 '{"subnet": "10.91.0.0/24"}')" lost
cnitool_run check "$net" lost
if [ "$RC" -ne 0 ] && grep -q 'lost/eth0 holds no address' "$T/stderr"; then
  pass "check fails naming the attachment"
else
  fail "check after release: rc=$RC, stderr: $(cat "$T/stderr")"
fi
runs_ok "del" cnitool_run del "$net" lost

echo "== dual-stack"
for v in 0.3.1 1.0.0; do
  net=zlctd${v//./}$UNIQ
  conflist "$net" "$v" '{"ranges": [[{"subnet": "10.92.0.0/24"}], [{"subnet": "fd00:92::/64"}]],
    "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]}'
  runs_ok "$v: add dual-stack" cnitool_run add "$net" ds
  want='[{"address":"10.92.0.2/24","gateway":"10.92.0.1"},{"address":"fd00:92::2/64","gateway":"fd00:92::1"}]'
  [ "$v" != 0.3.1 ] || want='[{"version":"4","address":"10.92.0.2/24","gateway":"10.92.0.1"},{"version":"6","address":"fd00:92::2/64","gateway":"fd00:92::1"}]'
  expect_eq "$v: one address per family" "$(jq -c .ips <<<"$OUT")" "$want"
  expect_eq "$v: state holds both" "$(state_ips "$net" ds | paste -sd,)" 10.92.0.2,fd00:92::2
  [ "$v" = 0.3.1 ] || runs_ok "$v: check dual-stack" cnitool_run check "$net" ds
  runs_ok "$v: del dual-stack" cnitool_run del "$net" ds
  expect_eq "$v: both released" "$(state_count "$net")" 0
done

echo "== static addresses"
net=zlcts$UNIQ
conflist "$net" 1.0.0 '{"subnet": "10.93.0.0/24"}' '{"capabilities": {"ips": true}}'
runs_ok "add with CAP_ARGS ips" cnitool_run add "$net" s1 CAP_ARGS='{"ips":["10.93.0.50/24"]}'
expect_eq "the ips capability is honoured" "$(jq -r '.ips[0].address' <<<"$OUT")" 10.93.0.50/24
runs_ok "check the static one" cnitool_run check "$net" s1 CAP_ARGS='{"ips":["10.93.0.50/24"]}'
runs_ok "add with CNI_ARGS IP=" cnitool_run add "$net" s2 CNI_ARGS=IP=10.93.0.60
expect_eq "CNI_ARGS IP is honoured" "$(jq -r '.ips[0].address' <<<"$OUT")" 10.93.0.60/24
cnitool_run add "$net" s3 CNI_ARGS=IP=10.93.0.60
if [ "$RC" -ne 0 ] && grep -q '10.93.0.60 is not available' "$T/stderr"; then
  pass "a taken static address is refused"
else
  fail "taken static address: rc=$RC, stderr: $(cat "$T/stderr")"
fi
expect_eq "state: the two static ones" "$(state_ips "$net" | paste -sd,)" 10.93.0.50,10.93.0.60
net2=zlctn$UNIQ
conflist "$net2" 1.0.0 '{"subnet": "10.94.0.0/24"}'
runs_ok "add with CAP_ARGS but no ips capability" cnitool_run add "$net2" s4 CAP_ARGS='{"ips":["10.94.0.50/24"]}'
expect_eq "without the capability the runtime does not pass it" "$(jq -r '.ips[0].address' <<<"$OUT")" 10.94.0.2/24
for id in s1 s2 s3; do runs_ok "del $id" cnitool_run del "$net" "$id"; done
runs_ok "del s4" cnitool_run del "$net2" s4
expect_eq "all released" "$(state_count "$net"):$(state_count "$net2")" 0:0

check "no sanitizer report" no_sanitizer_report
finish
