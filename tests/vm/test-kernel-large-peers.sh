#!/usr/bin/env bash
# 1 000 and 5 000 peers on kernel WireGuard, inside a VM (the host kernel has none).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../scripts/vm-run.sh" --timeout 1200 -- bash "$here/large-peers.sh"
