#!/usr/bin/env bash
# zl-ipam exec'd directly at CNI 1.1.0 (the spec version cnitool cannot speak): VERSION,
# idempotent ADD, CHECK, DEL twice, GC, STATUS, exhaustion, round robin, range bounds,
# several ranges per set, dual-stack, reserved addresses and gateway, static requests.
# No topology: IPAM touches only its state file under $T/data.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ipam-lib.sh
. "$(dirname "$0")/ipam-lib.sh"

net=zld$UNIQ
conf=$(ipam_conf "$net" 1.1.0 '{"subnet": "10.77.0.0/24",
  "routes": [{"dst": "0.0.0.0/0"}, {"dst": "192.168.0.0/16", "gw": "10.77.0.254"}]}')

echo "== VERSION"
cni_exec zl-ipam VERSION '{"cniVersion": "0.4.0"}'
expect_eq "VERSION answers in the requested version" "$(jq -r .cniVersion <<<"$OUT")" 0.4.0
expect_eq "VERSION lists every supported version" "$(jq -c .supportedVersions <<<"$OUT")" \
  '["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]'
cni_exec zl-ipam VERSION ''
expect_eq "VERSION without a config answers in the latest version" "$(jq -r .cniVersion <<<"$OUT"):$RC" 1.1.0:0

echo "== ADD is idempotent"
runs_ok "ADD c1" ipam ADD "$conf" c1
first=$OUT
expect_eq "result version" "$(jq -r .cniVersion <<<"$OUT")" 1.1.0
expect_eq "first address after the gateway" "$(jq -c '.ips' <<<"$OUT")" \
  '[{"address":"10.77.0.2/24","gateway":"10.77.0.1"}]'
expect_eq "routes as configured" "$(jq -c '.routes' <<<"$OUT")" \
  '[{"dst":"0.0.0.0/0"},{"dst":"192.168.0.0/16","gw":"10.77.0.254"}]'
sha=$(state_sha "$net")
runs_ok "ADD c1 again" ipam ADD "$conf" c1
expect_eq "second ADD returns the same result" "$OUT" "$first"
expect_eq "state holds one entry" "$(state_count "$net")" 1
expect_eq "repeated ADD does not rewrite the state" "$(state_sha "$net")" "$sha"
runs_ok "ADD c1 on eth1" ipam ADD "$conf" c1 eth1
expect_eq "another interface of the same container gets its own address" "$(result_ips)" 10.77.0.3
expect_eq "state holds both" "$(state_ips "$net" c1 | paste -sd,)" 10.77.0.2,10.77.0.3

echo "== CHECK"
runs_ok "CHECK c1 with its prevResult" ipam CHECK "$(with_prev "$conf" "$first")" c1
runs_ok "CHECK c1 without prevResult" ipam CHECK "$conf" c1
other=$(jq -c '.ips += [{"address": "192.168.5.5/24"}]' <<<"$first")
runs_ok "CHECK ignores addresses outside the ranges (another plugin's)" ipam CHECK "$(with_prev "$conf" "$other")" c1
ipam CHECK "$conf" nosuch
expect_cni_error "CHECK of an unknown container" 3 'nosuch/eth0'
extra=$(jq -c '.ips += [{"address": "10.77.0.99/24", "gateway": "10.77.0.1"}]' <<<"$first")
ipam CHECK "$(with_prev "$conf" "$extra")" c1
expect_cni_error "CHECK with prevResult listing an address not held" 101 '10\.77\.0\.99'
wrong=$(jq -c '.ips[0].address = "10.77.0.99/24"' <<<"$first")
ipam CHECK "$(with_prev "$conf" "$wrong")" c1
expect_cni_error "CHECK with prevResult missing the held address" 101 '10\.77\.0\.2 '
ipam CHECK "$(jq -c '.cniVersion = "0.3.1"' <<<"$conf")" c1
expect_cni_error "CHECK at 0.3.1 is refused" 1 '0\.3\.1'

echo "== DEL twice"
runs_ok "DEL c1" ipam DEL "$conf" c1
expect_eq "c1/eth0 released, c1/eth1 kept" "$(state_ips "$net" | paste -sd,)" 10.77.0.3
sha=$(state_sha "$net")
runs_ok "DEL c1 again" ipam DEL "$conf" c1
runs_ok "DEL of a container never seen" ipam DEL "$conf" never
expect_eq "idempotent DELs leave the state alone" "$(state_sha "$net")" "$sha"
runs_ok "DEL on a network with no state yet" ipam DEL "$(ipam_conf "zlfresh$UNIQ" 1.1.0 '{"subnet": "10.77.1.0/24"}')" c1
runs_ok "DEL at 0.3.0" ipam DEL "$(jq -c '.cniVersion = "0.3.0"' <<<"$conf")" never

echo "== GC"
for id in g1 g2 g3; do runs_ok "ADD $id" ipam ADD "$conf" "$id"; done
runs_ok "ADD g3/eth1" ipam ADD "$conf" g3 eth1
gc=$(jq -c '. + {"cni.dev/valid-attachments": [{"containerID": "g1", "ifname": "eth0"},
  {"containerID": "g3", "ifname": "eth0"}, {"containerID": "c1", "ifname": "eth1"}]}' <<<"$conf")
attachments() { jq -r '[.allocations[] | .containerID + "/" + .ifname] | sort | join(",")' "$(state_file "$net")"; }
cni_exec zl-ipam GC "$gc"
expect_eq "GC succeeds" "$RC:$OUT" 0:
expect_eq "GC keeps only the valid attachments" "$(attachments)" c1/eth1,g1/eth0,g3/eth0
sha=$(state_sha "$net")
cni_exec zl-ipam GC "$gc"
expect_eq "GC again changes nothing" "$RC:$(state_sha "$net")" "0:$sha"
gc=$(jq -c '. + {"cni.dev/attachments": [{"containerID": "g1", "ifname": "eth0"}]}' <<<"$conf")
cni_exec zl-ipam GC "$gc"
expect_eq "GC with cni.dev/attachments" "$RC:$(attachments)" 0:g1/eth0
runs_ok "ADD g4 after GC" ipam ADD "$conf" g4
cni_exec zl-ipam GC "$conf"
expect_cni_error "GC without valid-attachments" 7 'valid-attachments'
expect_eq "... leaves the state alone" "$(attachments)" g1/eth0,g4/eth0
cni_exec zl-ipam GC "$(jq -c '.cniVersion = "1.0.0" | . + {"cni.dev/valid-attachments": []}' <<<"$conf")"
expect_cni_error "GC at 1.0.0 is refused" 1 '1\.0\.0'
cni_exec zl-ipam GC "$(jq -c '. + {"cni.dev/valid-attachments": []}' <<<"$conf")"
expect_eq "GC with no valid attachment empties the state" "$RC:$(state_count "$net")" 0:0

echo "== STATUS and exhaustion"
cni_exec zl-ipam STATUS "$conf"
expect_eq "STATUS with free addresses" "$RC:$OUT" 0:
tiny=zlt$UNIQ
tconf=$(ipam_conf "$tiny" 1.1.0 '{"subnet": "10.78.0.0/29"}')
cni_exec zl-ipam STATUS "$tconf"
expect_eq "STATUS before any state exists" "$RC:$OUT" 0:
for i in 1 2 3 4 5; do runs_ok "ADD t$i" ipam ADD "$tconf" "t$i"; done
expect_eq "a /29 hands out .2-.6" "$(state_ips "$tiny" | paste -sd,)" 10.78.0.2,10.78.0.3,10.78.0.4,10.78.0.5,10.78.0.6
cni_exec zl-ipam STATUS "$tconf"
expect_cni_error "STATUS when exhausted" 50 '10\.78\.0\.0/29'
sha=$(state_sha "$tiny")
ipam ADD "$tconf" t6
expect_cni_error "ADD when exhausted" 100 '10\.78\.0\.0/29'
expect_eq "failed ADD leaves the state alone" "$(state_sha "$tiny")" "$sha"
runs_ok "DEL t3" ipam DEL "$tconf" t3
cni_exec zl-ipam STATUS "$tconf"
expect_eq "STATUS after a release" "$RC:$OUT" 0:
runs_ok "ADD t6" ipam ADD "$tconf" t6
expect_eq "t6 gets the one free address" "$(result_ips)" 10.78.0.4
cni_exec zl-ipam STATUS "$(jq -c '.cniVersion = "1.0.0"' <<<"$tconf")"
expect_cni_error "STATUS at 1.0.0 is refused" 1 '1\.0\.0'

echo "== round robin"
rr=zlr$UNIQ
rconf=$(ipam_conf "$rr" 1.1.0 '{"subnet": "10.79.0.0/29"}')
runs_ok "ADD a1" ipam ADD "$rconf" a1
runs_ok "ADD a2" ipam ADD "$rconf" a2
runs_ok "DEL a1" ipam DEL "$rconf" a1
got=
for id in a3 a4 a5 a6; do
  ipam ADD "$rconf" "$id"
  got+="$(result_ips) "
done
expect_eq "a released address is reused only after the wrap" "$got" "10.79.0.4 10.79.0.5 10.79.0.6 10.79.0.2 "
expect_eq "cursor recorded" "$(jq -c .lastReserved "$(state_file "$rr")")" '["10.79.0.2"]'

echo "== rangeStart/rangeEnd and several ranges in a set"
rb=zlb$UNIQ
bconf=$(ipam_conf "$rb" 1.1.0 '{"ranges": [[
  {"subnet": "10.81.0.0/24", "rangeStart": "10.81.0.10", "rangeEnd": "10.81.0.11"},
  {"subnet": "10.81.1.0/24", "rangeStart": "10.81.1.200", "rangeEnd": "10.81.1.201", "gateway": "10.81.1.254"}]]}')
got=
for i in 1 2 3 4; do
  ipam ADD "$bconf" "b$i"
  got+="$(jq -r '.ips[0] | .address + "@" + .gateway' <<<"$OUT") "
done
expect_eq "addresses stay within the ranges, each with its range's gateway" "$got" \
  "10.81.0.10/24@10.81.0.1 10.81.0.11/24@10.81.0.1 10.81.1.200/24@10.81.1.254 10.81.1.201/24@10.81.1.254 "
ipam ADD "$bconf" b5
expect_cni_error "set exhausted across its ranges" 100 'range set 0'

echo "== reserved addresses and the gateway are never handed out"
rs=zls$UNIQ
sconf=$(ipam_conf "$rs" 1.1.0 '{"subnet": "10.80.0.0/28", "gateway": "10.80.0.5",
  "reserved": ["10.80.0.2", "10.80.0.8/30"]}')
ipam ADD "$sconf" s0 eth0 CNI_ARGS=IP=10.80.0.9
expect_cni_error "static request of a reserved address" 100 '10\.80\.0\.9.*reserved'
ipam ADD "$sconf" s0 eth0 CNI_ARGS=IP=10.80.0.5
expect_cni_error "static request of the gateway" 100 '10\.80\.0\.5.*gateway'
got=
for i in $(seq 1 9); do
  ipam ADD "$sconf" "s$i"
  [ "$RC" -ne 0 ] || got+="$(result_ips) "
done
expect_cni_error "pool exhausted after the 8 usable addresses" 100 '10\.80\.0\.0/28'
expect_eq "handed out exactly the unreserved addresses" "$got" \
  "10.80.0.1 10.80.0.3 10.80.0.4 10.80.0.6 10.80.0.7 10.80.0.12 10.80.0.13 10.80.0.14 "

echo "== no set hands out another set's gateway"
gs=zlg$UNIQ
gconf=$(ipam_conf "$gs" 1.1.0 '{"ranges": [
  [{"subnet": "10.83.0.0/24", "rangeStart": "10.83.0.10", "rangeEnd": "10.83.0.20", "gateway": "10.83.0.100"}],
  [{"subnet": "10.83.0.0/24", "rangeStart": "10.83.0.100", "rangeEnd": "10.83.0.150"}]]}')
runs_ok "ADD gw1 (two IPv4 range sets)" ipam ADD "$gconf" gw1
expect_eq "set 1 skips 10.83.0.100, set 0's gateway" "$(jq -r '.ips[1].address' <<<"$OUT")" 10.83.0.101/24
expect_eq "set 0 from its own range" "$(jq -r '.ips[0] | .address + "@" + .gateway' <<<"$OUT")" 10.83.0.10/24@10.83.0.100

echo "== dual-stack"
ds=zl6$UNIQ
dconf=$(ipam_conf "$ds" 1.1.0 '{"ranges": [[{"subnet": "10.82.0.0/24"}], [{"subnet": "fd00:82::/64"}]],
  "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]}')
runs_ok "ADD d1" ipam ADD "$dconf" d1
dfirst=$OUT
expect_eq "one address per range set" "$(jq -c '.ips' <<<"$OUT")" \
  '[{"address":"10.82.0.2/24","gateway":"10.82.0.1"},{"address":"fd00:82::2/64","gateway":"fd00:82::1"}]'
runs_ok "ADD d1 again" ipam ADD "$dconf" d1
expect_eq "same pair again" "$OUT" "$dfirst"
runs_ok "ADD d2" ipam ADD "$dconf" d2
expect_eq "d2 gets the next pair" "$(result_ips | paste -sd,)" 10.82.0.3,fd00:82::3
runs_ok "CHECK d1" ipam CHECK "$(with_prev "$dconf" "$dfirst")" d1
runs_ok "DEL d1" ipam DEL "$dconf" d1
expect_eq "DEL releases both families" "$(state_ips "$ds" | paste -sd,)" 10.82.0.3,fd00:82::3

echo "== static requests"
runs_ok "runtimeConfig.ips" ipam ADD "$(jq -c '. + {runtimeConfig: {ips: ["10.77.0.100/24"]}}' <<<"$conf")" st1
expect_eq "runtimeConfig.ips honoured" "$(result_ips)" 10.77.0.100
runs_ok "args.cni.ips" ipam ADD "$(jq -c '. + {args: {cni: {ips: ["10.77.0.101"]}}}' <<<"$conf")" st2
expect_eq "args.cni.ips honoured" "$(result_ips)" 10.77.0.101
runs_ok "CNI_ARGS IP=" ipam ADD "$conf" st3 eth0 CNI_ARGS=IP=10.77.0.102
expect_eq "CNI_ARGS IP honoured" "$(result_ips)" 10.77.0.102
runs_ok "ADD st3 again without a request" ipam ADD "$conf" st3
expect_eq "an attachment keeps its static address" "$(result_ips)" 10.77.0.102
ipam ADD "$conf" st4 eth0 CNI_ARGS=IP=10.77.0.102
expect_cni_error "a held static address is refused to another container" 100 '10\.77\.0\.102'
runs_ok "dual-stack static pair" ipam ADD "$dconf" st5 eth0 "CNI_ARGS=IP=10.82.0.50,fd00:82::50"
expect_eq "both requested addresses" "$(result_ips | paste -sd,)" 10.82.0.50,fd00:82::50

echo "== temp files of killed writers are reclaimed, and only those"
tn=zlx$UNIQ
tn2=$tn.json.tmp.7 # a legal network name that looks like tn's temp file
tconf1=$(ipam_conf "$tn" 1.1.0 '{"subnet": "10.84.0.0/24"}')
tconf2=$(ipam_conf "$tn2" 1.1.0 '{"subnet": "10.85.0.0/24"}')
runs_ok "ADD on $tn2" ipam ADD "$tconf2" x1
echo stale >"$DATA/$tn.json.tmp.12345"
echo other >"$DATA/$tn.json.tmp.12345.keep"
runs_ok "ADD on $tn" ipam ADD "$tconf1" x1
check "a stale temp file is removed under the lock" test ! -e "$DATA/$tn.json.tmp.12345"
check "a file that merely starts like one is kept" test -e "$DATA/$tn.json.tmp.12345.keep"
expect_eq "the look-alike network's state is intact" "$(state_ips "$tn2")" 10.85.0.2
stat_modes=$(stat -c '%a' "$DATA" "$(state_file "$tn")" | paste -sd,)
expect_eq "data dir 0700, state 0600" "$stat_modes" 700,600

check "every state file sane" state_sane "$net"
for n in "$tiny" "$rr" "$rb" "$rs" "$ds"; do check "state $n sane" state_sane "$n"; done
check "no sanitizer report" no_sanitizer_report
finish
