#!/usr/bin/env bash
# zl-meshd on this host, with the userspace WireGuard fallback (wireguard-go over UAPI).
set -euo pipefail
# etcd stays down for 2 minutes; 20 s under the sanitizers (that run is about memory errors).
outage=120
if ldd "${ZL_BUILD:-build}/zl-meshd" 2>/dev/null | grep -q libasan; then outage=20; fi
exec bash "$(dirname "$0")/meshd-scenario.sh" userspace "$outage"
