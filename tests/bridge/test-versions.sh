#!/usr/bin/env bash
# Every CNI version zl-bridge speaks, two ways: exec'd directly (0.3.0 … 1.1.0) and through
# cnitool, Debian's libcni (0.3.0 … 1.0.0, the most it speaks). For each: two pods ADDed,
# the result in that version's shape (bridge, host veth, eth0 with sandbox, ips on interface
# 2, "version" on ips before 1.0.0 only), pods ping each other and the gateway, CHECK passes
# (0.4.0+) or is refused with code 1 (0.3.x, direct), DEL leaves no veth, rule or allocation.
#
#   node netns $NODE: one bridge per (version, way), 10.246.<n>.0/24
#   pods pa, pb: re-used by every round (each round DELs what it ADDed)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=bridge-lib.sh
. "$(dirname "$0")/bridge-lib.sh"

pa=zlvpa$UNIQ
pb=zlvpb$UNIQ
node_add
pod_add "$pa" "$pb"

n=0
round() { # WAY VERSION
  local way=$1 v=$2 net conf gw ra rb prev
  n=$((n + 1))
  net=zlv$n-$UNIQ
  gw=10.246.$n.1
  conf=$(br_conf "$net" "$v" "{\"bridge\": \"zlv$n\", \"isDefaultGateway\": true, \"ipMasq\": true}" \
    "{\"ranges\": [[{\"subnet\": \"10.246.$n.0/24\"}]]}")
  echo "== $v via $way"
  if [ "$way" = cnitool ]; then
    br_list "$conf"
    runs_ok "$v ADD pa" ct add "$net" "$pa"
    ra=$OUT
    runs_ok "$v ADD pb" ct add "$net" "$pb"
    rb=$OUT
  else
    runs_ok "$v ADD pa" br ADD "$conf" ca "$pa"
    ra=$OUT
    runs_ok "$v ADD pb" br ADD "$conf" cb "$pb"
    rb=$OUT
  fi
  OUT=$ra
  check "$v result shape (pa)" result_ok "$v"
  OUT=$rb
  check "$v result shape (pb)" result_ok "$v"
  # Spec 0.3.0-0.4.0: every ip carries "version" ("4"/"6"); 1.0.0 dropped it.
  if [ "${v%%.*}" = 0 ]; then
    expect_eq "$v ips[].version is \"4\" (spec $v)" "$(jq -c '[.ips[].version]' <<<"$ra")" '["4"]'
  else
    expect_eq "$v ips carry no version" "$(jq -c '[.ips[] | has("version")]' <<<"$ra")" '[false]'
  fi
  expect_eq "$v pa address" "$(jq -r '.ips[0].address' <<<"$ra")" "10.246.$n.2/24"
  expect_eq "$v gateway" "$(jq -r '.ips[0].gateway' <<<"$ra")" "$gw"
  expect_eq "$v eth0 holds the result's address" "$(pod_ip "$pa")" "10.246.$n.2"
  check "$v pa pings pb" pings "$pa" "10.246.$n.3"
  check "$v pb pings pa" pings "$pb" "10.246.$n.2"
  check "$v pa pings the gateway" pings "$pa" "$gw"

  case $v in
    0.3.*)
      if [ "$way" = direct ]; then
        prev=$(jq -c --argjson r "$ra" '. + {prevResult: $r}' <<<"$conf")
        br CHECK "$prev" ca "$pa"
        expect_cni_error "$v CHECK is refused" 1 "does not support CHECK"
      fi
      ;;
    *)
      if [ "$way" = cnitool ]; then
        runs_ok "$v CHECK pa" ct check "$net" "$pa"
        runs_ok "$v CHECK pb" ct check "$net" "$pb"
      else
        prev=$(jq -c --argjson r "$ra" '. + {prevResult: $r}' <<<"$conf")
        runs_ok "$v CHECK pa" br CHECK "$prev" ca "$pa"
      fi
      ;;
  esac

  if [ "$way" = cnitool ]; then
    runs_ok "$v DEL pa" ct del "$net" "$pa"
    runs_ok "$v DEL pb" ct del "$net" "$pb"
  else
    runs_ok "$v DEL pa" br DEL "$conf" ca "$pa"
    runs_ok "$v DEL pb" br DEL "$conf" cb "$pb"
  fi
  expect_clean "$v via $way" "$net"
}

for v in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do round direct "$v"; done
for v in 0.3.0 0.3.1 0.4.0 1.0.0; do round cnitool "$v"; done

echo "== VERSION and STATUS"
cni_exec zl-bridge VERSION '{"cniVersion": "1.1.0"}'
expect_eq "VERSION lists every supported version" "$(jq -c .supportedVersions <<<"$OUT")" '["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]'
conf=$(br_conf "zlvst$UNIQ" 1.1.0 '{"bridge": "zlvst"}' '{"subnet": "10.246.200.0/24"}')
runs_ok "STATUS answers ok" br STATUS "$conf" x "$pa"

finish_bridge
