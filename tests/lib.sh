#!/usr/bin/env bash
# Shared helpers for the shell suites. Source it after `set -euo pipefail`.
# Provides: $BUILD $SRC $CNITOOL, a per-test scratch dir $T removed on exit,
# unique names, netns helpers, CNI exec helpers and counted assertions.
# shellcheck disable=SC2034  # variables are for the sourcing script

SRC=${ZL_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${ZL_BUILD:-$SRC/build}
CNITOOL=$BUILD/cnitool
export CNI_PATH=$BUILD:/usr/lib/cni

T=$(mktemp -d /tmp/zl-test.XXXXXX)
UNIQ=$(printf '%04x' $((RANDOM % 65536)))$$
PASS=0
FAIL=0
CLEANUPS=()

# on_exit CMD…: run at exit, last registered first.
on_exit() { CLEANUPS+=("$*"); }
_run_cleanups() {
  local rc=$?
  local i
  for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${CLEANUPS[$i]}" >/dev/null 2>&1 || true; done
  rm -rf "$T"
  exit "$rc"
}
trap _run_cleanups EXIT

pass() { PASS=$((PASS + 1)); echo "  ok: $*"; }
fail() { FAIL=$((FAIL + 1)); echo "  FAIL: $*" >&2; }
# check DESC CMD…: the command must succeed.
check() {
  local desc=$1
  shift
  if "$@"; then pass "$desc"; else fail "$desc"; fi
}
expect_eq() { # DESC GOT WANT
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}
# finish: prints the closing tally and exits non-zero on any failure.
finish() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}

# netns_add NAME: creates a netns removed at exit.
netns_add() {
  ip netns add "$1"
  on_exit ip netns del "$1"
  ip -n "$1" link set lo up
}

# capture INPUT CMD…: runs CMD with INPUT on stdin. Sets $OUT (stdout) and $RC; stderr in
# $T/stderr and appended to $T/stderr.all; never fails the script. The one way the suites
# exec a plugin or cnitool (cni_exec and the suites' br, ct, ipam build on it).
: >"$T/stderr.all"
capture() {
  local input=$1
  shift
  set +e
  OUT=$(printf '%s' "$input" | "$@" 2>"$T/stderr")
  RC=$?
  set -e
  cat "$T/stderr" >>"$T/stderr.all"
}

# cni_exec PLUGIN COMMAND CONFIG [VAR=VAL…]: runs a plugin directly, inside the netns
# $EXEC_NETNS when that is set (capture: sets $OUT and $RC).
cni_exec() {
  local plugin=$1 cmd=$2 conf=$3 in=()
  shift 3
  [ -z "${EXEC_NETNS:-}" ] || in=(ip netns exec "$EXEC_NETNS")
  capture "$conf" "${in[@]}" env CNI_COMMAND="$cmd" CNI_PATH="$CNI_PATH" "$@" "$BUILD/$plugin"
}

# runs_ok DESC HELPER ARGS…: runs a capture-style helper (cni_exec, br, ct, ipam, …) and
# asserts it exited 0, showing its answer and stderr when not.
runs_ok() {
  local desc=$1
  shift
  "$@"
  if [ "$RC" -eq 0 ]; then pass "$desc"; else fail "$desc: rc=$RC: $OUT $(cat "$T/stderr")"; fi
}

# no_sanitizer_report: nothing any run printed came from ASan/UBSan/LSan (stderr, and the
# log files in $T/san when a suite sends sanitizer reports there).
no_sanitizer_report() {
  ! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer' "$T/stderr.all" &&
    { [ ! -d "$T/san" ] || [ -z "$(ls -A "$T/san")" ]; }
}

# state_file NET [DIR]: zl-ipam's state file of NET under DIR (default $DATA).
state_file() { echo "${2:-$DATA}/$1.json"; }
# state_ips NET [ID [IFNAME]]: the addresses held (by ID/IFNAME when given), one per line, sorted.
state_ips() {
  jq -r --arg id "${2:-}" --arg ifn "${3:-}" \
    '.allocations[] | select(($id == "" or .containerID == $id) and ($ifn == "" or .ifname == $ifn)) | .ip' \
    "$(state_file "$1")" | sort
}

# expect_cni_error DESC CODE PATTERN: last cni_exec failed with CODE and msg matching PATTERN.
expect_cni_error() {
  local code msg
  code=$(jq -r '.code // empty' <<<"$OUT" 2>/dev/null || true)
  msg=$(jq -r '.msg // empty' <<<"$OUT" 2>/dev/null || true)
  if [ "$RC" -ne 0 ] && [ "$code" = "$2" ] && grep -qE -- "$3" <<<"$msg"; then
    pass "$1 (code $code: $msg)"
  else
    fail "$1: rc=$RC, want code $2 matching /$3/, got: $OUT"
  fi
}

# wait_for SECONDS CMD…: polls CMD every 50 ms until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "this suite needs root (network namespaces)" >&2
    exit 1
  fi
}
