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

# cni_exec PLUGIN COMMAND CONFIG [VAR=VAL…]: runs a plugin directly.
# Sets $OUT (stdout) and $RC; never fails the script.
cni_exec() {
  local plugin=$1 cmd=$2 conf=$3
  shift 3
  set +e
  OUT=$(printf '%s' "$conf" | env CNI_COMMAND="$cmd" CNI_PATH="$CNI_PATH" "$@" "$BUILD/$plugin" 2>"$T/stderr")
  RC=$?
  set -e
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
