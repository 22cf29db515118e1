#!/usr/bin/env bash
# zl-ipam with "subnetFile" (the node's pod subnet, written by zl-meshd): missing → code 11
# naming the path, written → addresses from it (rangeStart/gateway relative to it), a symlink,
# a FIFO, mode 0666, a bad CIDR, a special subnet or both keys → code 7; nothing on disk
# changes on a failure; DEL and GC work without the file. No topology: direct exec, state under $T/data.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ipam-lib.sh
. "$(dirname "$0")/ipam-lib.sh"

net=zlsf$UNIQ
sf=$T/mesh/subnet
mkdir -p "$T/mesh"
conf=$(ipam_conf "$net" 1.1.0 "$(jq -cn --arg f "$sf" '{ranges: [[{subnetFile: $f, rangeStart: "10.98.3.10"}]]}')")
# bad DESC CODE PATTERN CONF: an ADD fails as described and writes no state.
bad() {
  ipam ADD "$4" bad
  expect_cni_error "$1" "$2" "$3"
  [ ! -e "$(state_file "$net")" ] || fail "$1: wrote a state file"
  if [ "$RC" -eq 0 ]; then ipam DEL "$4" bad; rm -f "$(state_file "$net")"; fi
}
write_subnet() { rm -f "$sf"; printf '%s' "$1" >"$sf"; chmod "${2:-0644}" "$sf"; }

echo "== not written yet"
bad "missing subnetFile is code 11" 11 "ipam\.ranges\[0\]\[0\]\.subnetFile $sf: not written yet: is zl-meshd running\?" "$conf"
cni_exec zl-ipam STATUS "$conf"
expect_cni_error "STATUS before the file exists: code 50 (cannot serve an ADD now)" 50 "$sf: not written yet"

echo "== hostile or bad files"
write_subnet $'10.98.3.0/24\n' 0666
bad "mode 0666" 7 "$sf.*0666" "$conf"
write_subnet $'10.98.3.0/24\n'
ln -sf "$sf" "$T/mesh/link"
bad "a symlink" 7 "$T/mesh/link" "$(jq -c --arg f "$T/mesh/link" '.ipam.ranges[0][0].subnetFile = $f' <<<"$conf")"
mkfifo "$T/mesh/fifo"
fconf=$(jq -c --arg f "$T/mesh/fifo" '.ipam.ranges[0][0].subnetFile = $f' <<<"$conf")
set +e
OUT=$(printf '%s' "$fconf" | timeout 10 env CNI_COMMAND=ADD CNI_CONTAINERID=bad CNI_NETNS="$NETNS_PATH" \
  CNI_IFNAME=eth0 CNI_PATH="$CNI_PATH" "$BUILD/zl-ipam" 2>"$T/stderr")
RC=$?
set -e
expect_cni_error "a FIFO (no blocking)" 7 "$T/mesh/fifo.*FIFO"
for v in "10.98.3.0" "10.98.3.0/33" "not a cidr" ""; do
  write_subnet "$v"
  bad "bad CIDR '$v'" 7 "$sf.*is not a CIDR" "$conf"
done
write_subnet $'169.254.3.0/24\n'
bad "special subnet" 7 "link-local" "$conf"
write_subnet $'10.98.3.0/24\n'
bad "both subnet and subnetFile" 7 'ipam\.ranges\[0\]\[0\]: set either subnet or subnetFile, not both' \
  "$(jq -c '.ipam.ranges[0][0].subnet = "10.98.4.0/24"' <<<"$conf")"
bad "neither subnet nor subnetFile" 7 'ipam\.ranges\[0\]\[0\]\.subnet: missing' \
  "$(jq -c 'del(.ipam.ranges[0][0].subnetFile)' <<<"$conf")"

echo "== written"
runs_ok "ADD after the file is written" ipam ADD "$conf" c1
expect_eq "address from the file's subnet, from rangeStart" "$(result_ips)" 10.98.3.10
expect_eq "gateway defaults to the file subnet's first address" "$(jq -r '.ips[0].gateway' <<<"$OUT")" 10.98.3.1
cni_exec zl-ipam CHECK "$(with_prev "$conf" "$OUT")" CNI_CONTAINERID=c1 CNI_NETNS="$NETNS_PATH" CNI_IFNAME=eth0
expect_eq "CHECK passes" "$RC" 0
runs_ok "DEL" ipam DEL "$conf" c1
expect_eq "DEL released it" "$(state_count "$net")" 0

echo "== gone again (zl-meshd stopped, /run wiped): pods can still be torn down"
runs_ok "ADD c2" ipam ADD "$conf" c2
runs_ok "ADD c3" ipam ADD "$conf" c3
rm -f "$sf"
ipam ADD "$conf" c4
expect_cni_error "ADD without the file: code 11" 11 "$sf: not written yet"
runs_ok "DEL without the file succeeds" ipam DEL "$conf" c2
expect_eq "and released c2's address" "$(state_ips "$net" c2)" ""
cni_exec zl-ipam GC "$(jq -c '. + {"cni.dev/valid-attachments": []}' <<<"$conf")"
expect_eq "GC without the file succeeds" "$RC" 0
expect_eq "and released the rest" "$(state_count "$net")" 0
check "state sane" state_sane "$net"
check "no sanitizer report" no_sanitizer_report
finish
