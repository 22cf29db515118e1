#!/usr/bin/env bash
# Builds zl-cni and the test cnitool. Usage: scripts/build.sh [--sanitize] [build-dir]
# Default build dir: build/ (build-asan/ with --sanitize).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
sanitize=OFF
if [ "${1:-}" = "--sanitize" ]; then
  sanitize=ON
  shift
fi
suffix=
if [ "$sanitize" = ON ]; then suffix=-asan; fi
dir=${1:-$src/build$suffix}

cmake -S "$src" -B "$dir" -DZL_SANITIZE="$sanitize" -DZL_WERROR=ON >/dev/null
cmake --build "$dir" -j "$(nproc)" >/dev/null
# cnitool from Debian's libcni, offline (GOPATH holds the packaged sources).
(cd "$src/tests/cnitool" &&
  GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS='' GOCACHE="${GOCACHE:-$dir/.gocache}" \
    go build -o "$dir/cnitool" .)
echo "$dir"
