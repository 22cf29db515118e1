#!/usr/bin/env bash
# The mesh proof with kernel WireGuard, inside a VM booting Debian's kernel (the host has none).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../scripts/vm-run.sh" --timeout 1200 -- bash "$here/../mesh/mesh-scenario.sh" kernel
