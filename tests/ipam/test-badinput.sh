#!/usr/bin/env bash
# zl-ipam fed bad input: malformed JSON, wrong types, missing environment, bad CIDRs, bad
# interface names, path traversal in names, unknown CNI_ARGS keys, unsupported versions,
# bad static requests, bad gateways, overlapping ranges, a corrupt state file. Each case
# must fail with the right code and a message quoting the bad value, and change nothing on
# disk (every file under $T compared before/after). Run it with ZL_BUILD=build-asan too: no
# sanitizer report may appear on stderr.
# No topology: direct exec, state under $T/data.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ipam-lib.sh
. "$(dirname "$0")/ipam-lib.sh"

net=zlbi$UNIQ
base='{"subnet": "10.97.0.0/24"}'
conf=$(ipam_conf "$net" 1.1.0 "$base")
runs_ok "setup: ADD keep" ipam ADD "$conf" keep
expect_eq "setup: keep holds 10.97.0.2" "$(state_ips "$net" keep)" 10.97.0.2

# disk: every path under $T (but our own stderr captures) with its size and digest.
disk() {
  find "$T" -path "$T/stderr*" -prune -o -type f -printf '%p %s ' -exec sha256sum {} \; -o -printf '%p\n' | sort
}
# bad DESC CODE PATTERN CMD CONF [ID [IFNAME [VAR=VAL…]]]: the case fails as described,
# and the disk is as it was.
bad() {
  local desc=$1 code=$2 pattern=$3 cmd=$4 cf=$5 before
  shift 5
  before=$(disk)
  ipam "$cmd" "$cf" "${1:-bad}" "${@:2}"
  expect_cni_error "$desc" "$code" "$pattern"
  if [ "$(disk)" != "$before" ]; then
    fail "$desc: changed the disk: $(diff <(echo "$before") <(disk) | tail -n +2 | head -5)"
  fi
  # An ADD that wrongly succeeded is undone so that it cannot skew the cases after it.
  if [ "$RC" -eq 0 ] && [ "$cmd" = ADD ]; then ipam DEL "$cf" "${1:-bad}" "${@:2}"; fi
}
# bad_env DESC CODE PATTERN CONF VAR=VAL…: like bad, in an environment holding only VAR=VAL….
bad_env() {
  local desc=$1 code=$2 pattern=$3 cf=$4 before
  shift 4
  before=$(disk)
  capture "$cf" env -i PATH="$PATH" "$@" "$BUILD/zl-ipam"
  expect_cni_error "$desc" "$code" "$pattern"
  [ "$(disk)" = "$before" ] || fail "$desc: changed the disk"
}
# with JQ-FILTER: $conf transformed.
with() { jq -c "$1" <<<"$conf"; }
# with_ipam IPAM-JSON: $conf with ipam replaced by {type, dataDir} + IPAM-JSON.
with_ipam() { ipam_conf "$net" 1.1.0 "$1"; }

echo "== malformed JSON"
bad "truncated JSON" 6 'offset [0-9]+' ADD '{"cniVersion": "1.1.0", "name": '
bad "trailing garbage" 6 'offset [0-9]+' ADD "$conf x"
bad "empty stdin" 6 'JSON' ADD ''
bad "not an object" 6 '\[1,2\]' ADD '[1,2]'

echo "== wrong types"
bad "ranges: 5" 7 'ipam\.ranges.*5' ADD "$(with_ipam '{"ranges": 5}')"
bad "ranges: [5]" 7 'ipam\.ranges\[0\].*5' ADD "$(with_ipam '{"ranges": [5]}')"
bad "ranges: [[5]]" 7 'ipam\.ranges\[0\]\[0\].*5' ADD "$(with_ipam '{"ranges": [[5]]}')"
bad "subnet: 7" 7 'ipam\.subnet.*7' ADD "$(with_ipam '{"subnet": 7}')"
bad "dataDir: true" 7 'ipam\.dataDir.*true' ADD "$(with_ipam '{"subnet": "10.97.0.0/24", "dataDir": true}')"
bad "routes: \"x\"" 7 'routes.*"x"' ADD "$(with_ipam '{"subnet": "10.97.0.0/24", "routes": "x"}')"
bad "reserved: [5]" 7 'ipam\.reserved.*5' ADD "$(with_ipam '{"subnet": "10.97.0.0/24", "reserved": [5]}')"
bad "ipam: \"x\"" 7 'ipam.*"x"' ADD "$(with '.ipam = "x"')"
bad "name: 5" 7 'name.*5' ADD "$(with '.name = 5')"
bad "runtimeConfig.ips: \"x\"" 7 'runtimeConfig\.ips.*"x"' ADD "$(with '.runtimeConfig = {ips: "x"}')"
bad "no ipam at all" 7 'ipam' ADD "$(with 'del(.ipam)')"
bad "no ranges" 7 'ranges' ADD "$(with_ipam '{}')"

echo "== missing environment"
env_ok=(CNI_COMMAND=ADD CNI_CONTAINERID=bad CNI_NETNS="$NETNS_PATH" CNI_IFNAME=eth0 CNI_PATH="$CNI_PATH")
for var in CNI_COMMAND CNI_CONTAINERID CNI_IFNAME CNI_PATH CNI_NETNS; do
  env_but=()
  for kv in "${env_ok[@]}"; do [[ $kv == "$var="* ]] || env_but+=("$kv"); done
  bad_env "ADD without $var" 4 "$var" "$conf" "${env_but[@]}"
done
bad_env "DEL without CNI_CONTAINERID" 4 CNI_CONTAINERID "$conf" CNI_COMMAND=DEL CNI_IFNAME=eth0 CNI_PATH="$CNI_PATH"
bad_env "unknown CNI_COMMAND" 4 'FROB' "$conf" "${env_ok[@]:1}" CNI_COMMAND=FROB

echo "== bad CIDRs and addresses"
bad "subnet 10.0.0.0/33" 7 '10\.0\.0\.0/33' ADD "$(with_ipam '{"subnet": "10.0.0.0/33"}')"
bad "subnet 10.0.0/24" 7 '10\.0\.0/24' ADD "$(with_ipam '{"subnet": "10.0.0/24"}')"
bad "ranges subnet 10.0.0.0/33" 7 'ipam\.ranges\[0\]\[0\].*10\.0\.0\.0/33' ADD "$(with_ipam '{"ranges": [[{"subnet": "10.0.0.0/33"}]]}')"
bad "subnet fd00::/129" 7 'fd00::/129' ADD "$(with_ipam '{"subnet": "fd00::/129"}')"
bad "subnet /32 has no addresses" 7 '10\.97\.0\.1/32' ADD "$(with_ipam '{"subnet": "10.97.0.1/32"}')"
bad "route dst 1.2.3.4/40" 7 '1\.2\.3\.4/40' ADD "$(with_ipam '{"subnet": "10.97.0.0/24", "routes": [{"dst": "1.2.3.4/40"}]}')"
bad "reserved \"10.97.0.x\"" 7 '10\.97\.0\.x' ADD "$(with_ipam '{"subnet": "10.97.0.0/24", "reserved": ["10.97.0.x"]}')"
bad "gateway outside the subnet" 7 'gateway.*10\.98\.0\.1.*10\.97\.0\.0/24' ADD \
  "$(with_ipam '{"subnet": "10.97.0.0/24", "gateway": "10.98.0.1"}')"
bad "gateway is the network address" 7 'gateway.*10\.97\.0\.0"' ADD \
  "$(ipam_conf "zlbg$UNIQ" 1.1.0 '{"subnet": "10.97.0.0/24", "gateway": "10.97.0.0"}')"
bad "gateway is the broadcast address" 7 'gateway.*10\.97\.0\.255' ADD \
  "$(ipam_conf "zlbg$UNIQ" 1.1.0 '{"subnet": "10.97.0.0/24", "gateway": "10.97.0.255"}')"
bad "rangeStart outside the subnet" 7 'rangeStart.*10\.98\.0\.10' ADD \
  "$(with_ipam '{"subnet": "10.97.0.0/24", "rangeStart": "10.98.0.10"}')"
bad "rangeStart after rangeEnd" 7 '10\.97\.0\.50.*10\.97\.0\.40' ADD \
  "$(with_ipam '{"subnet": "10.97.0.0/24", "rangeStart": "10.97.0.50", "rangeEnd": "10.97.0.40"}')"
bad "overlapping ranges" 7 '10\.97\.0\.128/25.*overlaps.*10\.97\.0\.0/24' ADD \
  "$(with_ipam '{"ranges": [[{"subnet": "10.97.0.0/24"}], [{"subnet": "10.97.0.128/25"}]]}')"
bad "overlapping ranges within a set" 7 'overlaps' ADD \
  "$(with_ipam '{"ranges": [[{"subnet": "10.97.0.0/24", "rangeEnd": "10.97.0.100"}, {"subnet": "10.97.0.0/24", "rangeStart": "10.97.0.100"}]]}')"
bad "v4 and v6 in one set" 7 'mixes IPv4 and IPv6' ADD \
  "$(with_ipam '{"ranges": [[{"subnet": "10.97.0.0/24"}, {"subnet": "fd00:97::/64"}]]}')"

echo "== bad interface and container names"
bad "16-byte ifname" 4 'abcdefghijklmnop' ADD "$conf" bad abcdefghijklmnop
bad "ifname a/b" 4 '"a/b"' ADD "$conf" bad a/b
bad "ifname .." 4 '"\.\."' ADD "$conf" bad ..
bad "ifname not UTF-8" 4 'not UTF-8' ADD "$conf" bad $'eth\xff'
bad "ifname an encoded surrogate" 4 'not UTF-8' ADD "$conf" bad $'e\xed\xa0\x80'
bad "netns path not UTF-8" 4 'CNI_NETNS.*not UTF-8' ADD "$conf" bad eth0 CNI_NETNS=$'/run/netns/\xff'
bad "container ID ../evil" 4 '\.\./evil' ADD "$conf" ../evil
bad "DEL with ifname a/b" 4 '"a/b"' DEL "$conf" keep a/b

echo "== traversal in the network name and dataDir"
bad "network name ../x" 7 '"\.\./x"' ADD "$(with '.name = "../x"')"
bad "network name a/b" 7 '"a/b"' ADD "$(with '.name = "a/b"')"
bad "DEL with network name ../x" 7 '"\.\./x"' DEL "$(with '.name = "../x"')" keep
bad "GC with network name ../x" 7 '"\.\./x"' GC "$(with '.name = "../x" | . + {"cni.dev/valid-attachments": []}')"
bad "dataDir with .." 7 "$T/data/\.\./escape" ADD "$(with_ipam "{\"subnet\": \"10.97.0.0/24\", \"dataDir\": \"$T/data/../escape\"}")"
bad "relative dataDir" 7 '"rel/dir"' ADD "$(with_ipam '{"subnet": "10.97.0.0/24", "dataDir": "rel/dir"}')"
check "nothing was created beside the data dir" test ! -e "$T/x.json" -a ! -e "$T/x.lock" -a ! -e "$T/escape"

echo "== CNI_ARGS"
bad "unknown CNI_ARGS key" 4 '"FOO"' ADD "$conf" bad eth0 CNI_ARGS='FOO=bar'
bad "CNI_ARGS not KEY=VALUE" 4 '"junk"' ADD "$conf" bad eth0 CNI_ARGS='junk'
bad "CNI_ARGS IP not an address" 4 '10\.97\.0\.300' ADD "$conf" bad eth0 CNI_ARGS='IP=10.97.0.300'
runs_ok "unknown key accepted with IgnoreUnknown=1" ipam ADD "$conf" ign eth0 'CNI_ARGS=IgnoreUnknown=1;FOO=bar'
expect_eq "... and it got an address" "$(state_ips "$net" ign)" 10.97.0.3
runs_ok "... DEL it" ipam DEL "$conf" ign eth0 'CNI_ARGS=IgnoreUnknown=1;FOO=bar'

echo "== versions"
bad "cniVersion 0.2.0" 1 '0\.2\.0' ADD "$(with '.cniVersion = "0.2.0"')"
bad "cniVersion 9.9.9" 1 '9\.9\.9' ADD "$(with '.cniVersion = "9.9.9"')"
bad "no cniVersion" 1 'cniVersion' ADD "$(with 'del(.cniVersion)')"
bad "CHECK at 0.3.1" 1 '0\.3\.1' CHECK "$(with '.cniVersion = "0.3.1"')" keep
bad "prevResult in a bad shape" 7 'prevResult.*ips\[0\]\.address.*"nope"' CHECK \
  "$(with '.prevResult = {cniVersion: "1.1.0", ips: [{address: "nope"}]}')" keep

echo "== static requests"
bad "static IP outside every range (CNI_ARGS)" 7 '10\.98\.0\.5' ADD "$conf" bad eth0 CNI_ARGS=IP=10.98.0.5
bad "static IP outside every range (runtimeConfig)" 7 '10\.98\.0\.6' ADD "$(with '.runtimeConfig = {ips: ["10.98.0.6/24"]}')"
bad "static IP outside every range (args.cni)" 7 '10\.98\.0\.7' ADD "$(with '.args = {cni: {ips: ["10.98.0.7"]}}')"
bad "static IP not an address (runtimeConfig)" 7 '"bogus"' ADD "$(with '.runtimeConfig = {ips: ["bogus"]}')"
bad "static IP taken" 100 '10\.97\.0\.2' ADD "$conf" bad eth0 CNI_ARGS=IP=10.97.0.2
bad "static IP is the gateway" 100 '10\.97\.0\.1' ADD "$conf" bad eth0 CNI_ARGS=IP=10.97.0.1
bad "two static IPs in one set" 7 '10\.97\.0\.9' ADD "$conf" bad eth0 CNI_ARGS=IP=10.97.0.8,10.97.0.9
bad "keep asks for another address" 7 '10\.97\.0\.20' ADD "$conf" keep eth0 CNI_ARGS=IP=10.97.0.20

echo "== hostile shapes"
deep=$(python3 -c 'print("[" * 1000000 + "]" * 1000000)')
bad "a million nested arrays on stdin" 6 'nested deeper than 128 levels' ADD "$deep"
bad "nested objects under runtimeConfig" 6 'nested deeper' ADD \
  "$(python3 -c 'import sys; print(sys.argv[1][:-1] + ",\"runtimeConfig\":" + "{\"a\":" * 200000 + "1" + "}" * 200000 + "}")' "$conf")"
OUT=$(printf '%s' "$deep" | CNI_COMMAND=VERSION "$BUILD/zl-ipam" 2>>"$T/stderr.all")
expect_eq "VERSION still answers a million nested arrays" "$(jq -r .cniVersion <<<"$OUT")" "1.1.0"
set +e
OUT=$(head -c 70000000 /dev/zero | tr '\0' ' ' | env CNI_COMMAND=ADD CNI_CONTAINERID=big CNI_NETNS="$NETNS_PATH" \
  CNI_IFNAME=eth0 CNI_PATH=/nonexistent "$BUILD/zl-ipam" 2>>"$T/stderr.all")
RC=$?
set -e
expect_cni_error "70 MB on stdin" 6 'larger than the limit of 64 MiB'
bad "invalid UTF-8 in the config" 6 'invalid JSON' ADD "$(printf '{"cniVersion":"1.1.0","name":"%s","ipam":{"type":"zl-ipam","subnet":"10.97.0.0/24","x":"\xc0\xaf"}}' "$net")"
bad "a NUL in dataDir" 7 'ipam.dataDir .*contains a NUL byte' ADD \
  "$(with_ipam "{\"subnet\": \"10.97.0.0/24\", \"dataDir\": \"$T/data\\u0000/../../etc\"}")"
bad "a loopback subnet" 7 'subnet 127\.0\.0\.0/24: overlaps 127\.0\.0\.0/8 \(loopback\)' ADD \
  "$(with_ipam '{"subnet": "127.0.0.0/24"}')"
bad "a link-local v6 subnet" 7 'fe80::/64.*link-local' ADD "$(with_ipam '{"subnet": "fe80::/64"}')"
bad "a multicast subnet" 7 '224\.1\.0\.0/24.*multicast' ADD "$(with_ipam '{"subnet": "224.1.0.0/24"}')"
bad "an IPv4-mapped subnet" 7 'IPv4-mapped' ADD "$(with_ipam '{"subnet": "::ffff:10.0.0.0/120"}')"
snet=zlbs$UNIQ
sconf=$(ipam_conf "$snet" 1.1.0 "$base")
mkfifo "$(state_file "$snet")"
t0=$SECONDS
bad "the state file is a FIFO: refused, not waited on" 5 "$snet\.json: a FIFO, not a regular file" ADD "$sconf"
check "... at once" test $((SECONDS - t0)) -lt 5
rm "$(state_file "$snet")"
ln -s "$(state_file "$net")" "$(state_file "$snet")"
bad "the state file is a symlink" 5 "$snet\.json: a symlink" ADD "$sconf"
rm "$(state_file "$snet")"
mkdir "$(state_file "$snet")"
bad "the state file is a directory" 5 "$snet\.json: a directory" ADD "$sconf"
rmdir "$(state_file "$snet")"
python3 -c 'print("{\"allocations\":[],\"x\":" + "[" * 500000 + "]" * 500000 + "}")' >"$(state_file "$snet")"
bad "a state nested 500 000 deep" 6 'nested deeper' ADD "$sconf"
rm "$(state_file "$snet")"
mkdir -m 0700 "$T/private"
chown 0:0 "$T/private"
chmod 0755 "$T"
set +e
OUT=$(printf '%s' "$(ipam_conf "$snet" 1.1.0 "{\"subnet\": \"10.97.0.0/24\", \"dataDir\": \"$T/private/d\"}")" |
  setpriv --reuid=65534 --regid=65534 --clear-groups env CNI_COMMAND=ADD CNI_CONTAINERID=nob CNI_NETNS="$NETNS_PATH" \
    CNI_IFNAME=eth0 CNI_PATH=/nonexistent "$BUILD/zl-ipam" 2>>"$T/stderr.all")
RC=$?
set -e
expect_cni_error "a dataDir we may not enter (EACCES)" 5 'Permission denied'

echo "== corrupt state file"
cnet=zlbc$UNIQ
cconf=$(ipam_conf "$cnet" 1.1.0 "$base")
mkdir -p "$DATA"
printf '{"allocations": [{"ip": 5}]}' >"$(state_file "$cnet")"
bad "ADD on a corrupt state" 6 "$cnet\.json" ADD "$cconf"
printf 'not json' >"$(state_file "$cnet")"
bad "ADD on an unparsable state" 6 "$cnet\.json" ADD "$cconf"
cni_exec zl-ipam STATUS "$cconf"
expect_cni_error "STATUS on an unparsable state" 50 "$cnet\.json"

expect_eq "keep still holds its address" "$(state_ips "$net" keep)" 10.97.0.2
check "state sane" state_sane "$net"
check "no sanitizer report" no_sanitizer_report
finish
