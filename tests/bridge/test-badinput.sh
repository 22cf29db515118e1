#!/usr/bin/env bash
# Bad input to zl-bridge ADD: each case fails with a CNI error JSON of the right code whose
# message names the bad value, and leaves nothing half-built: no bridge, no veth, no pod
# interface, no allocation, no rule. Cases: mtu 70000, hairpinMode with promiscMode, vlan
# 5000, an ipam type not in CNI_PATH, a 16-byte bridge name, a bridge name with '/',
# malformed masqExclude CIDRs, a bad MAC (CNI_ARGS MAC= is code 4; runtimeConfig.mac and
# args.cni.mac code 7), wrong JSON types, an unknown firewallBackend, missing ipam,
# macspoofchk (code 2), a bridge name taken by a non-bridge link, a netns that does not
# exist (3), a CNI_NETNS that is no network namespace (a file, /dev/null, a mount namespace,
# a FIFO, a directory: 4), a bad CNI_IFNAME, malformed JSON.
#
#   node netns $NODE (a veth "zlbusy0" in it), pod $pod with only lo
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=bridge-lib.sh
. "$(dirname "$0")/bridge-lib.sh"

net=zlbad$UNIQ
pod=zlbadp$UNIQ
node_add
pod_add "$pod"
ip -n "$NODE" link add zlbusy0 type veth peer name zlbusy1
conf=$(br_conf "$net" 1.1.0 '{"bridge": "zlbad0", "isGateway": true, "ipMasq": true}' '{"subnet": "10.244.30.0/24"}')
links() { ip -n "$1" -j link show | jq -r '[.[].ifname] | sort | join(",")'; }
node_links=$(links "$NODE")

# bad DESC CODE PATTERN CONF [VAR=VAL…]: ADD fails so, and nothing is left behind.
bad() {
  local desc=$1 code=$2 pattern=$3 cf=$4
  shift 4
  br ADD "$cf" cbad "$pod" eth0 "$@"
  expect_cni_error "$desc" "$code" "$pattern"
  local left
  left="$(links "$NODE") | $(links "$pod") | $(allocs "$net") | $(zl_rules)"
  if [ "$left" != "$node_links | lo | 0 | 0" ]; then
    fail "$desc: left behind (node links | pod links | allocations | rules): $left"
  fi
}
with() { jq -c "$1" <<<"$conf"; }

bad "mtu 70000" 7 'mtu.*70000' "$(with '.mtu = 70000')"
bad "mtu 10" 7 'mtu.*10' "$(with '.mtu = 10')"
bad "mtu as a string" 7 'mtu' "$(with '.mtu = "1500"')"
bad "hairpinMode with promiscMode" 7 'hairpinMode.*promiscMode' "$(with '.hairpinMode = true | .promiscMode = true')"
bad "vlan 5000" 7 'vlan.*5000' "$(with '.vlan = 5000')"
bad "vlan -1" 7 'vlan.*-1' "$(with '.vlan = -1')"
bad "ipam type not in CNI_PATH" 7 'zl-nope.*not found' "$(with '.ipam.type = "zl-nope"')"
bad "ipam type with a path" 7 '\.\./zl-ipam' "$(with '.ipam.type = "../zl-ipam"')"
bad "ipam missing" 7 'ipam' "$(with 'del(.ipam)')"
bad "bridge name of 16 bytes" 7 'zl0123456789abcd' "$(with '.bridge = "zl0123456789abcd"')"
bad "bridge name with a slash" 7 'zl/x' "$(with '.bridge = "zl/x"')"
bad "bridge name taken by a veth" 7 'zlbusy0.*veth' "$(with '.bridge = "zlbusy0"')"
bad "masqExclude prefix /33" 7 '10\.1\.0\.0/33' "$(with '.masqExclude = ["10.1.0.0/33"]')"
bad "masqExclude not a CIDR" 7 'banana' "$(with '.masqExclude = ["10.0.0.0/8", "banana"]')"
bad "masqExclude not a list" 7 'masqExclude' "$(with '.masqExclude = "10.0.0.0/8"')"
bad "CNI_ARGS MAC not a MAC" 4 'MAC.*zz:zz' "$conf" CNI_ARGS="MAC=zz:zz:zz:zz:zz:zz"
bad "CNI_ARGS MAC multicast" 4 '01:00:5e:00:00:01' "$conf" CNI_ARGS="MAC=01:00:5e:00:00:01"
bad "runtimeConfig.mac malformed" 7 'runtimeConfig.mac.*0a:58' "$(with '.runtimeConfig.mac = "0a:58"')"
bad "args.cni.mac malformed" 7 'args.cni.mac.*nope' "$(with '.args.cni.mac = "nope"')"
bad "isGateway not a bool" 7 'isGateway' "$(with '.isGateway = "yes"')"
bad "firewallBackend unknown" 7 '"pf"' "$(with '.firewallBackend = "pf"')"
bad "macspoofchk unsupported" 2 'macspoofchk' "$(with '.macspoofchk = true')"
bad "netns that does not exist" 3 "/var/run/netns/zlnone$UNIQ" "$conf" CNI_NETNS="/var/run/netns/zlnone$UNIQ"
: >"$T/regular"
mkfifo "$T/fifo"
bad "CNI_NETNS a regular file" 4 "CNI_NETNS: netns $T/regular is not a namespace" "$conf" CNI_NETNS="$T/regular"
bad "CNI_NETNS /dev/null" 4 "/dev/null is not a namespace" "$conf" CNI_NETNS=/dev/null
bad "CNI_NETNS a mount namespace" 4 "/proc/self/ns/mnt is another kind of namespace" "$conf" CNI_NETNS=/proc/self/ns/mnt
bad "CNI_NETNS a FIFO (refused, not waited on)" 4 "$T/fifo is not a namespace" "$conf" CNI_NETNS="$T/fifo"
bad "CNI_NETNS a directory" 4 "CNI_NETNS" "$conf" CNI_NETNS=/var/run/netns
bad "CNI_IFNAME too long" 4 'eth0123456789abcdef' "$conf" CNI_IFNAME=eth0123456789abcdef
bad "CNI_IFNAME with a slash" 4 'a/b' "$conf" CNI_IFNAME=a/b
bad "malformed JSON" 6 '.' '{"cniVersion": "1.1.0", "name": '
bad "unsupported cniVersion" 1 '9\.9\.9' "$(with '.cniVersion = "9.9.9"')"

echo "== a good ADD still works afterwards"
runs_ok "ADD" br ADD "$conf" cgood "$pod"
runs_ok "DEL" br DEL "$conf" cgood "$pod"
expect_clean "after" "$net"

finish_bridge
