#!/usr/bin/env bash
# zl-ipam under concurrency: 64 parallel ADDs (with lock-free CHECK/STATUS readers racing
# them) → 64 distinct addresses and a state file that matches the results exactly; racing
# duplicate ADDs of one attachment → one address; 64 parallel DELs → empty.
# No topology: direct exec, state under $T/data.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ipam-lib.sh
. "$(dirname "$0")/ipam-lib.sh"

N=64
net=zlcc$UNIQ
ipam_conf "$net" 1.1.0 '{"subnet": "10.95.0.0/24"}' >"$T/conf.json"
mkdir -p "$T/out"

# spawn TAG CMD ID: runs zl-ipam in the background once $T/go exists; writes
# $T/out/TAG.{json,err,rc}.
spawn() {
  local tag=$1 cmd=$2 id=$3
  (
    until [ -e "$T/go" ]; do sleep 0.005; done
    set +e
    env CNI_COMMAND="$cmd" CNI_CONTAINERID="$id" CNI_NETNS="$NETNS_PATH" CNI_IFNAME=eth0 \
      "$BUILD/zl-ipam" <"$T/conf.json" >"$T/out/$tag.json" 2>"$T/out/$tag.err"
    echo $? >"$T/out/$tag.rc"
  ) &
}
# run_all: releases the spawned jobs at once and waits for them.
run_all() {
  touch "$T/go"
  wait
  rm -f "$T/go"
  cat "$T/out"/*.err >>"$T/stderr.all"
}
count_rc() { # PREFIX: "ok/total" over $T/out/PREFIX*.rc
  local ok=0 total=0 f
  for f in "$T/out/$1"*.rc; do
    total=$((total + 1))
    [ "$(cat "$f")" != 0 ] || ok=$((ok + 1))
  done
  echo "$ok/$total"
}

echo "== $N parallel ADDs, with readers racing them"
for i in $(seq 1 $N); do spawn "add$i" ADD "c$i"; done
for i in $(seq 1 32); do spawn "check$i" CHECK "c$i"; done
for i in $(seq 1 8); do spawn "status$i" STATUS ""; done
run_all
expect_eq "every ADD succeeded" "$(count_rc add)" "$N/$N"
expect_eq "every STATUS succeeded" "$(count_rc status)" 8/8
bad_checks=0
for i in $(seq 1 32); do
  rc=$(cat "$T/out/check$i.rc")
  code=$(jq -r '.code // 0' "$T/out/check$i.json" 2>/dev/null || echo unparsable)
  # A reader sees the state before or after the ADD, never a torn file (code 6).
  if ! { [ "$rc" = 0 ] || [ "$code" = 3 ]; }; then
    bad_checks=$((bad_checks + 1))
    echo "    check$i: rc=$rc $(cat "$T/out/check$i.json")"
  fi
done
expect_eq "racing CHECKs saw either no allocation or the whole one" "$bad_checks" 0

for i in $(seq 1 $N); do
  printf 'c%s %s\n' "$i" "$(jq -r '.ips[0].address | sub("/.*"; "")' "$T/out/add$i.json")"
done | sort >"$T/results"
expect_eq "$N distinct addresses" "$(cut -d' ' -f2 "$T/results" | sort -u | wc -l)" "$N"
state=$(state_file "$net")
check "state file is valid JSON" json_ok "$state"
expect_eq "state holds exactly $N allocations" "$(state_count "$net")" "$N"
jq -r '.allocations[] | .containerID + " " + .ip' "$state" | sort >"$T/state"
check "state matches the results (container → address)" cmp -s "$T/results" "$T/state"
# shellcheck disable=SC2016  # awk program
check "addresses within 10.95.0.2-254, never the gateway" \
  awk '{ split($2, o, "."); if (o[1] != 10 || o[2] != 95 || o[3] != 0 || o[4] < 2 || o[4] > 254) exit 1 }' "$T/results"
check "state sane" state_sane "$net"

echo "== racing duplicate ADDs of one attachment"
rm -f "$T/out"/*
for i in $(seq 1 16); do
  spawn "dupa$i" ADD "dup$i"
  spawn "dupb$i" ADD "dup$i"
done
run_all
expect_eq "every duplicate ADD succeeded" "$(count_rc dup)" 32/32
same=0
for i in $(seq 1 16); do
  if cmp -s "$T/out/dupa$i.json" "$T/out/dupb$i.json" &&
    [ "$(state_ips "$net" "dup$i" | wc -l)" = 1 ]; then same=$((same + 1)); fi
done
expect_eq "each racing pair got the same single address" "$same" 16
expect_eq "state holds $N + 16" "$(state_count "$net")" $((N + 16))
check "state sane" state_sane "$net"

echo "== $N parallel ADDs while a cleaner deletes every file but the state, over and over"
# Before, mutual exclusion hung on a <network>.lock file: deleting it let two writers in at
# once (duplicate addresses, lost allocations, each other's temp files removed).
rm -f "$T/out"/*
for i in $(seq 1 $N); do spawn "clean$i" ADD "k$i"; done
(
  until [ -e "$T/go" ]; do sleep 0.005; done
  while [ -e "$T/go" ]; do find "$DATA" -type f ! -name "$net.json" ! -name "$net.json.tmp.*" -delete; done
) &
cleaner=$!
touch "$T/go"
for i in $(seq 1 $N); do until [ -e "$T/out/clean$i.rc" ]; do sleep 0.01; done; done
rm -f "$T/go"
wait "$cleaner"
cat "$T/out"/*.err >>"$T/stderr.all"
expect_eq "every ADD succeeded" "$(count_rc clean)" "$N/$N"
for i in $(seq 1 $N); do jq -r '.ips[0].address | sub("/.*"; "")' "$T/out/clean$i.json"; done | sort >"$T/clean"
expect_eq "$N distinct addresses" "$(sort -u "$T/clean" | wc -l)" "$N"
expect_eq "every one of them in the state" "$(state_ips "$net" | grep -cxFf "$T/clean")" "$N"
expect_eq "state holds $N + 16 + $N" "$(state_count "$net")" $((2 * N + 16))
check "state sane" state_sane "$net"
expect_eq "no lock file to delete at all" "$(find "$DATA" -name '*.lock' | wc -l)" 0
for i in $(seq 1 $N); do spawn "dclean$i" DEL "k$i"; done
run_all

echo "== $N parallel DELs"
rm -f "$T/out"/*
for i in $(seq 1 $N); do spawn "del$i" DEL "c$i"; done
for i in $(seq 1 16); do spawn "deld$i" DEL "dup$i"; done
run_all
expect_eq "every DEL succeeded" "$(count_rc del)" $((N + 16))/$((N + 16))
expect_eq "state empty" "$(state_count "$net")" 0
check "state file is valid JSON" json_ok "$state"
expect_eq "no temp files left" "$(find "$DATA" -name '*.tmp*' | wc -l)" 0
check "no sanitizer report" no_sanitizer_report
finish
