#!/usr/bin/env bash
# zl-meshd on this host, with the userspace WireGuard fallback (wireguard-go over UAPI).
set -euo pipefail
exec bash "$(dirname "$0")/meshd-scenario.sh" userspace
