#!/usr/bin/env bash
# Helpers shared by the zl-ipam suites. Source after tests/lib.sh.
# Every network's state lives under the private $DATA (never /var/lib/zl-cni).
# shellcheck disable=SC2034  # variables are for the sourcing script

DATA=$T/data
NETNS_PATH=/var/run/netns/zl-ipam-unused  # IPAM never enters it; ADD/CHECK only need a value

# ipam_conf NAME VERSION IPAM-JSON: a network configuration for direct exec; IPAM-JSON is
# merged into {type, dataDir} so it may override either.
ipam_conf() {
  jq -cn --arg n "$1" --arg v "$2" --arg d "$DATA" --argjson i "$3" \
    '{cniVersion: $v, name: $n, ipam: ({type: "zl-ipam", dataDir: $d} + $i)}'
}

# ipam CMD CONF ID [IFNAME [VAR=VAL…]]: runs zl-ipam directly (cni_exec: sets $OUT, $RC).
ipam() {
  local cmd=$1 conf=$2 id=$3 ifname=${4:-eth0}
  shift 3
  [ $# -eq 0 ] || shift
  cni_exec zl-ipam "$cmd" "$conf" CNI_CONTAINERID="$id" CNI_NETNS="$NETNS_PATH" CNI_IFNAME="$ifname" "$@"
}

state_count() { jq '.allocations | length' "$(state_file "$1")"; }
# result_ips: the addresses (without prefix) of the ADD result in $OUT, sorted.
result_ips() { jq -r '.ips[].address | sub("/.*"; "")' <<<"$OUT" | sort; }

# state_sane NET [DIR]: the state parses, no address is held twice and no attachment holds
# two addresses of one family (every suite's range sets are one v4 and/or one v6 set).
state_sane() {
  local f
  f=$(state_file "$@")
  [ ! -e "$f" ] && return 0
  jq -e '
    (.allocations | type == "array") and
    ([.allocations[].ip] | length == (unique | length)) and
    ([.allocations[] | [.containerID, .ifname, (.ip | contains(":"))]] | length == (unique | length))
  ' "$f" >/dev/null
}

# state_sha NET [DIR]: the state file's digest ("absent" when there is none).
state_sha() {
  local f
  f=$(state_file "$@")
  if [ -e "$f" ]; then sha256sum "$f" | cut -d' ' -f1; else echo absent; fi
}
# with_prev CONF RESULT: CONF with prevResult set to RESULT.
with_prev() { jq -c --argjson p "$2" '. + {prevResult: $p}' <<<"$1"; }
# json_ok FILE: FILE parses as JSON.
json_ok() { jq -e . "$1" >/dev/null; }
