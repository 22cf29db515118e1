#!/usr/bin/env bash
# zl-meshd with kernel WireGuard, inside a VM booting Debian's kernel (the host has none).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../scripts/vm-run.sh" --timeout 1500 -- bash "$here/../mesh/meshd-scenario.sh" kernel 30
