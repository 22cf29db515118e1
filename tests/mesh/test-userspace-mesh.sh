#!/usr/bin/env bash
# The mesh proof on this host, with the userspace fallback (wireguard-go over UAPI).
set -euo pipefail
exec bash "$(dirname "$0")/mesh-scenario.sh" userspace
