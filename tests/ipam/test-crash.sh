#!/usr/bin/env bash
# zl-ipam killed with SIGKILL at random moments: 200 ADD/DEL operations by 4 concurrent
# workers over a dual-stack network, most of them SIGKILLed after a random delay of about
# one operation's duration. After every round and at the end: the state parses, no address
# is held twice, no attachment holds two addresses of one range set, at most one temp file
# (the last killed writer's) is left, and every operation that did complete is reflected
# exactly, and every killed one entirely or not at all. Finally DEL everything → empty.
# Each worker kills only the zl-ipam it started itself, by the pid of its own unreaped
# child (so the pid cannot have been reused), never by name.
# No topology: direct exec, state under $T/data.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ipam-lib.sh
. "$(dirname "$0")/ipam-lib.sh"

WORKERS=4
ROUNDS=50 # × WORKERS = 200 operations
IDS=6     # containers per worker
net=zlck$UNIQ
ipam_conf "$net" 1.1.0 '{"ranges": [[{"subnet": "10.96.0.0/24"}], [{"subnet": "fd00:96::/64"}]]}' >"$T/conf.json"
state=$(state_file "$net")
mkfifo "$T/fifo"
mkdir -p "$T/r"

# plugin_bg CMD ID: starts zl-ipam in the background ($! is its pid).
plugin_bg() {
  env CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="$NETNS_PATH" CNI_IFNAME=eth0 \
    "$BUILD/zl-ipam" <"$T/conf.json" >"$T/r/$2.out" 2>>"$T/r/$2.err" &
}
# usleep MICROSECONDS: a builtin sleep (read timing out on a fifo nobody writes).
usleep() { read -rt "$(printf '0.%06d' "$1")" <>"$T/fifo" || true; }

# Calibration: how long one uncontended operation takes here (fsync-bound).
times=()
for i in $(seq 1 10); do
  for cmd in ADD DEL; do
    t0=$EPOCHREALTIME
    plugin_bg "$cmd" "cal$i"
    wait $!
    t1=$EPOCHREALTIME
    times+=($((${t1/./} - ${t0/./})))
  done
done
op_us=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$((${#times[@]} / 2))p")
echo "  one operation takes ~${op_us} µs; kill delays drawn from 0-$((op_us * 2)) µs"
check "calibration left the state empty" test "$(state_count "$net")" = 0

# worker W ROUND: one random ADD or DEL of one of W's containers, SIGKILLed at a random
# moment 2 times out of 3. Writes "CMD ID STATUS PID" to $T/r/W.
worker() {
  local w=$1 id cmd pid st=0
  id=w${w}c$((RANDOM % IDS))
  cmd=ADD
  [ $((RANDOM % 5)) -ge 3 ] && cmd=DEL
  plugin_bg "$cmd" "$id"
  pid=$!
  if [ $((RANDOM % 3)) -ne 0 ]; then
    # Half the kills anywhere, half late in the operation, where the commit is.
    local r=$((RANDOM * 32768 + RANDOM))
    if [ $((RANDOM % 2)) -eq 0 ]; then usleep $((r % (op_us * 2 + 1))); else usleep $((op_us / 2 + r % (op_us / 2 + 1))); fi
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" || st=$?
  echo "$cmd $id $st $pid" >"$T/r/$w"
}

# held ID: the addresses ID/eth0 holds, sorted, comma separated.
held() { state_ips "$net" "$1" eth0 | paste -sd,; }
temp_files() { find "$DATA" -name "$net.json.tmp*" | wc -l; }

# Which writers created a temp file: the next operation removes a killed writer's temp file
# as soon as it holds the lock, so looking for it after the kill would race with that.
mkdir -p "$DATA"
stdbuf -oL inotifywait -m -q -e create --format '%f' "$DATA" >"$T/created" 2>/dev/null &
watcher=$!
on_exit "kill $watcher"
wait_for 5 sh -c "ls -l /proc/$watcher/fd | grep -q inotify"
killed_pids=()

kills=0 torn=0 completed=0 errors=0 bad_rounds=0
declare -A model # ID → what the state said it held after the last round
for round in $(seq 1 $ROUNDS); do
  workers=()
  for w in $(seq 1 $WORKERS); do
    worker "$w" 2>/dev/null &
    workers+=($!)
  done
  wait "${workers[@]}"
  problems=()
  if ! json_ok "$state"; then
    problems+=("state does not parse")
  elif ! state_sane "$net"; then
    problems+=("an address or an attachment's family is held twice: $(jq -c .allocations "$state")")
  fi
  [ "$(temp_files)" -le 1 ] || problems+=("temp files left: $(find "$DATA" -name "$net.json.tmp*" -printf '%f ')")
  for w in $(seq 1 $WORKERS); do
    read -r cmd id st pid <"$T/r/$w"
    before=${model[$id]:-}
    now=$(held "$id")
    model[$id]=$now
    if [ "$st" = 137 ]; then
      # Killed: the operation happened entirely or not at all.
      kills=$((kills + 1))
      killed_pids+=("$pid")
      if [ "$cmd" = DEL ] && [ -n "$now" ] && [ "$now" != "$before" ]; then
        problems+=("killed DEL $id: held '$before', now '$now'")
      elif [ "$cmd" = ADD ] && [ -n "$before" ] && [ "$now" != "$before" ]; then
        problems+=("killed ADD $id: held '$before', now '$now'")
      fi
      continue
    fi
    if [ "$st" != 0 ]; then
      errors=$((errors + 1))
      problems+=("$cmd $id (pid $pid) failed with $st: $(cat "$T/r/$id.out")")
      continue
    fi
    completed=$((completed + 1))
    want=
    if [ "$cmd" = ADD ]; then
      want=$(jq -r '[.ips[].address | sub("/.*"; "")] | sort | join(",")' "$T/r/$id.out")
      [ "$(tr ',' '\n' <<<"$want" | wc -l)" = 2 ] || problems+=("ADD $id: not one address per set: $want")
      [ -z "$before" ] || [ "$want" = "$before" ] || problems+=("ADD $id: held '$before', ADD returned '$want'")
    fi
    [ "$now" = "$want" ] || problems+=("$cmd $id completed with '$want' but the state says '$now'")
  done
  if [ ${#problems[@]} -gt 0 ]; then
    bad_rounds=$((bad_rounds + 1))
    echo "    round $round:" >&2
    printf '      %s\n' "${problems[@]}" >&2
  fi
done
kill "$watcher"
wait "$watcher" 2>/dev/null || true
for pid in "${killed_pids[@]}"; do
  if grep -qxF "$net.json.tmp.$pid" "$T/created"; then torn=$((torn + 1)); fi
done
echo "  $((ROUNDS * WORKERS)) operations: $kills killed mid-operation ($torn of them mid-commit), $completed completed"
expect_eq "invariants held after every kill round" "$bad_rounds" 0
expect_eq "no operation failed other than by the kill" "$errors" 0
check "a meaningful number of kills landed mid-operation (>= 20)" test "$kills" -ge 20
check "some kills landed mid-commit (temp file written, not renamed)" test "$torn" -ge 1
check "some operations completed (>= 20)" test "$completed" -ge 20

echo "== recovery"
for w in $(seq 1 $WORKERS); do
  for c in $(seq 0 $((IDS - 1))); do
    id=w${w}c$c
    ipam ADD "$(cat "$T/conf.json")" "$id"
    # Whatever an attachment held after the storm, ADD returns it (idempotent).
    if [ "$RC" -ne 0 ]; then
      fail "ADD $id after the storm: $OUT"
    elif [ -n "${model[$id]:-}" ] && [ "$(result_ips | paste -sd,)" != "${model[$id]}" ]; then
      fail "ADD $id: got $(result_ips | paste -sd,), held ${model[$id]} before"
    fi
  done
done
expect_eq "every container holds one address per set" "$(state_count "$net")" $((WORKERS * IDS * 2))
check "state sane" state_sane "$net"
for w in $(seq 1 $WORKERS); do
  for c in $(seq 0 $((IDS - 1))); do
    ipam DEL "$(cat "$T/conf.json")" "w${w}c$c"
    [ "$RC" -eq 0 ] || fail "DEL w${w}c$c: $OUT"
  done
done
expect_eq "DEL everything → empty" "$(state_count "$net")" 0
check "state file is valid JSON" json_ok "$state"
expect_eq "no temp files left" "$(temp_files)" 0
cat "$T"/r/*.err >>"$T/stderr.all"
check "no sanitizer report" no_sanitizer_report
finish
