#!/usr/bin/env bash
# A parallel burst into one node: 32 concurrent ADDs (half direct exec at 1.1.0, half
# through cnitool at 1.0.0), all racing to create the bridge, its gateway address and the
# network's rules: 32 successes, 32 distinct addresses (results, pods and IPAM state agree),
# one bridge with 32 ports and one gateway address, a rule count independent of the pods,
# every pod reaching the gateway and a neighbour. Then 32 concurrent DELs: no veth, rule or
# allocation left. Then the same again, to show the node comes back from empty. Then churn:
# 16 DELs racing 16 ADDs leave exactly the ADDed pods, their rules and allocations.
#
#   node netns $NODE: zlpar0 10.244.40.1/24 ── pods q0 … q31
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=bridge-lib.sh
. "$(dirname "$0")/bridge-lib.sh"

N=32
net=zlpar$UNIQ
node_add
q() { echo "zlq$1x$UNIQ"; }
for ((i = 0; i < N; i++)); do pod_add "$(q "$i")"; done
conf=$(br_conf "$net" 1.0.0 '{"bridge": "zlpar0", "isDefaultGateway": true, "ipMasq": true}' \
  '{"ranges": [[{"subnet": "10.244.40.0/24"}]]}')
conf11=$(jq -c '.cniVersion = "1.1.0"' <<<"$conf")
br_list "$conf"
mkdir -p "$T/par"

# one CMD I: one attachment's ADD or DEL; answer in $T/par/I.out, status in $T/par/I.rc.
one() {
  local cmd=$1 i=$2
  if ((i % 2)); then
    ct "$(tr '[:upper:]' '[:lower:]' <<<"$cmd")" "$net" "$(q "$i")"
  else
    br "$cmd" "$conf11" "c$i" "$(q "$i")"
  fi
  printf '%s' "$OUT" >"$T/par/$i.out"
  echo "$RC" >"$T/par/$i.rc"
  cp "$T/stderr" "$T/par/$i.err"
}
burst() { # CMD
  local i
  rm -f "$T"/par/*
  for ((i = 0; i < N; i++)); do one "$1" "$i" & done
  wait
  cat "$T"/par/*.err >>"$T/stderr.all"
  local errors
  errors=$(cat "$T"/par/*.rc | grep -vc '^0$' || true)
  expect_eq "$1 burst of $N: no errors" "$errors" 0
  if [ "$errors" -ne 0 ]; then
    for i in "$T"/par/*.rc; do
      [ "$(cat "$i")" = 0 ] || echo "    ${i%.rc}: $(cat "${i%.rc}.out") $(cat "${i%.rc}.err")" >&2
    done
  fi
}

for round in 1 2; do
  echo "== round $round: $N parallel ADDs"
  burst ADD
  addrs=$(cat "$T"/par/*.out | jq -r '.ips[0].address' | sort)
  expect_eq "$N addresses in the results" "$(wc -l <<<"$addrs")" "$N"
  expect_eq "all distinct" "$(sort -u <<<"$addrs" | wc -l)" "$N"
  expect_eq "IPAM state holds the same $N" "$(state_ips "$net" | sed 's|$|/24|' | sort)" "$addrs"
  pods=$(for ((i = 0; i < N; i++)); do echo "$(pod_ip "$(q "$i")")/24"; done | sort)
  expect_eq "the pods hold the same $N" "$pods" "$addrs"
  expect_eq "$N host veths" "$(node_veths)" "$N"
  expect_eq "all of them ports of zlpar0" "$(ip -n "$NODE" -j link show master zlpar0 | jq length)" "$N"
  expect_eq "one gateway address on the bridge" "$(ip -n "$NODE" -4 -o addr show dev zlpar0 | awk '{print $4}')" 10.244.40.1/24
  rules=$(zl_rules)
  check "rules exist ($rules lines)" test "$rules" -gt 0
  bad=0
  for ((i = 0; i < N; i++)); do
    pings "$(q "$i")" 10.244.40.1 || bad=$((bad + 1))
  done
  expect_eq "every pod pings the gateway" "$bad" 0
  check "q0 pings q31" pings "$(q 0)" "$(pod_ip "$(q 31)")"
  runs_ok "CHECK q1 (cnitool)" ct check "$net" "$(q 1)"

  echo "== round $round: $N parallel DELs"
  burst DEL
  expect_clean "after the DEL burst" "$net"
done

echo "== churn: 16 DELs racing 16 ADDs"
# burst_mixed: DEL q0…q15 while ADDing q16…q31 (q0…q15 were ADDed first).
rm -f "$T"/par/*
for ((i = 0; i < 16; i++)); do one ADD "$i"; done
expect_eq "16 sequential ADDs first" "$(cat "$T"/par/*.rc | grep -c '^0$' || true)" 16
rm -f "$T"/par/*
for ((i = 0; i < N; i++)); do
  if ((i < 16)); then one DEL "$i" & else one ADD "$i" & fi
done
wait
cat "$T"/par/*.err >>"$T/stderr.all"
expect_eq "no errors" "$(cat "$T"/par/*.rc | grep -vc '^0$' || true)" 0
expect_eq "16 host veths (the ADDed ones)" "$(node_veths)" 16
expect_eq "16 allocations" "$(allocs "$net")" 16
check "rules stay while pods remain" test "$(zl_rules)" -gt 0
bad=0
for ((i = 16; i < N; i++)); do pings "$(q "$i")" 10.244.40.1 || bad=$((bad + 1)); done
expect_eq "every remaining pod pings the gateway" "$bad" 0
rm -f "$T"/par/*
for ((i = 16; i < N; i++)); do one DEL "$i" & done
wait
expect_eq "DEL the rest: no errors" "$(cat "$T"/par/*.rc | grep -vc '^0$' || true)" 0
expect_clean "after churn" "$net"

echo "== failing ADDs (rolling back a bridge they created) racing good ADDs on a fresh bridge"
net2=zlpr$UNIQ
conf2=$(br_conf "$net2" 1.1.0 '{"bridge": "zlrace0", "isGateway": true, "ipMasq": true}' '{"subnet": "10.244.41.0/24"}')
rm -f "$T"/par/*
race() { # I: even I a good ADD, odd I an ADD asking zl-ipam for an address outside the subnet
  if (($1 % 2)); then
    br ADD "$conf2" "r$1" "$(q "$1")" eth0 CNI_ARGS="IP=10.99.0.$1"
  else
    br ADD "$conf2" "r$1" "$(q "$1")"
  fi
  echo "$RC" >"$T/par/$1.rc"
  cp "$T/stderr" "$T/par/$1.err"
}
for ((i = 0; i < N; i++)); do race "$i" & done
wait
cat "$T"/par/*.err >>"$T/stderr.all"
good=0 failed=0
for ((i = 0; i < N; i++)); do
  rc=$(cat "$T/par/$i.rc")
  if ((i % 2)); then [ "$rc" -ne 0 ] && failed=$((failed + 1)); else [ "$rc" -eq 0 ] && good=$((good + 1)); fi
done
expect_eq "every good ADD succeeded" "$good" $((N / 2))
expect_eq "every bad ADD failed" "$failed" $((N / 2))
expect_eq "the bridge holds the good pods only" "$(ip -n "$NODE" -j link show master zlrace0 | jq length)" $((N / 2))
expect_eq "allocations of the good pods only" "$(allocs "$net2")" $((N / 2))
bad=0
for ((i = 0; i < N; i += 2)); do pings "$(q "$i")" 10.244.41.1 || bad=$((bad + 1)); done
expect_eq "every good pod pings the gateway" "$bad" 0
for ((i = 0; i < N; i += 2)); do br DEL "$conf2" "r$i" "$(q "$i")" & done
wait
expect_clean "after the race" "$net2"

finish_bridge
