#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (as root on Debian 12): installs what it
# needs, builds plain and ASan/UBSan trees, lints the scripts, runs every suite in both.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh: run as root (network namespaces, firewall rules, a VM)" >&2
  exit 1
fi
scripts/install-deps.sh qemu-system-x86 busybox-static cpio xz-utils wireguard-tools wireguard-go tcpdump iperf3 \
  clang libclang-rt-14-dev podman runc containerd
scripts/build.sh >/dev/null
scripts/build.sh --sanitize >/dev/null

echo "== shellcheck"
mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
shellcheck -x "${scripts[@]}"

# Sanitizers first: any report fails the run.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
echo "== tests (ASan/UBSan build)"
ctest --test-dir build-asan --output-on-failure -LE "vm|fuzz|build"
echo "== tests (plain build, incl. kernel WireGuard in a VM, the fuzzers and the Release build)"
ctest --test-dir build --output-on-failure
