#!/usr/bin/env bash
# The main job: an encrypted pod mesh grown through zl-meshd and etcd, in network namespaces:
# a local etcd, 3 nodes (2 pods each; zl-bridge + zl-ipam + zl-wg) claiming their subnets and
# finding each other, a 4th node joining live and leaving again, the ping matrix, `zl-meshd
# status`, then everything torn down.
#
#   scripts/demo.sh              kernel WireGuard: on this host if its kernel has it, else in a VM
#   scripts/demo.sh --userspace  on this host with the wireguard-go fallback
#
# Run as root on Debian 12; installs and builds what it needs.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)

mode=auto
inside_vm=0
for a in "$@"; do
  case $a in
    --userspace) mode=userspace ;;
    --kernel) mode=kernel ;;
    --inside-vm) inside_vm=1 mode=kernel ;;
    *) echo "usage: scripts/demo.sh [--userspace]" >&2; exit 2 ;;
  esac
done

step() { STEP=$1; printf '\n== %s\n' "$1"; }
STEP="start"
on_exit() {
  local rc=$?
  [ "$(type -t cleanup)" != function ] || cleanup
  [ "$rc" -eq 0 ] || echo "demo: FAILED during \"$STEP\" (exit $rc)" >&2
}
trap on_exit EXIT

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root (it creates network namespaces and WireGuard devices)" >&2
  exit 1
fi

if [ "$inside_vm" = 0 ]; then
  step "installing packages and building"
  "$src/scripts/install-deps.sh" iperf3 wireguard-go wireguard-tools qemu-system-x86 busybox-static cpio xz-utils
  build=$("$src/scripts/build.sh")
  echo "built into $build"
  if [ "$mode" = auto ]; then
    probe=zl-demo-probe-$$
    ip netns add "$probe"
    if ip -n "$probe" link add wgprobe type wireguard 2>/dev/null; then mode=kernel; fi
    ip netns del "$probe"
    if [ "$mode" = auto ]; then
      step "this kernel has no WireGuard: booting a VM with Debian's kernel to run the demo there"
      exec "$src/scripts/vm-run.sh" -- "$src/scripts/demo.sh" --inside-vm
    fi
  fi
else
  build=$src/build
fi

export MESH_SRC=$src MESH_BUILD=$build MESH_PREFIX=zl-demo MESH_MODE=$mode MESH_NODES=3 MESH_PODS=2
export MESH_DIR=/var/lib/zl-cni/demo MESH_ETCD=http://192.0.2.254:2379
# shellcheck source=scripts/mesh-lib.sh
source "$src/scripts/mesh-lib.sh"
# shellcheck source=scripts/etcd-lib.sh
source "$src/scripts/etcd-lib.sh"
cleanup() {
  pkill -f 'iperf3 -s' 2>/dev/null || true
  mesh_down >/dev/null 2>&1 || true
  mesh_destroy
  etcd_cleanup
}
mesh_destroy  # a previous run that was killed

step "etcd ($(etcd --version | head -1)) on the underlay, at $MESH_ETCD"
mesh_underlay
ETCD_NETNS=$MESH_PREFIX-ul ETCD_HOSTS=192.0.2.254 etcd_start_single "$MESH_DIR/etcd" 2379

step "bringing up $MESH_NODES nodes × $MESH_PODS pods through zl-meshd ($mode WireGuard): no subnet or peer written by hand"
mesh_up
table() {
  printf '%-6s %-18s %-16s %s\n' node underlay "claimed subnet" "WireGuard public key"
  for ((n = 1; n <= MESH_NODES; n++)); do
    printf '%-6s %-18s %-16s %s\n' "n$n" "192.0.2.$n:51820" "$(cat "$MESH_DIR/n$n/subnet4")" "$(cat "$MESH_DIR/n$n/pubkey")"
  done
}
table
echo
printf '%-6s %-16s %-16s %s\n' node pod address interface
for ((n = 1; n <= MESH_NODES; n++)); do
  for ((k = 1; k <= MESH_PODS; k++)); do
    pod=$(mesh_pod "$n" "$k")
    printf '%-6s %-16s %-16s %s\n' "n$n" "$pod" "$(jq -r '.ips[0].address' "$MESH_DIR/n$n/$pod.json")" \
      "$(jq -r '.interfaces[2].name + " (" + .interfaces[2].mac + ")"' "$MESH_DIR/n$n/$pod.json")"
  done
done

step "ping matrix (every pod to every pod)"
mesh_ping_matrix

step "a 4th node joins live"
MESH_NODES=4
mesh_add_node 4
t0=$EPOCHREALTIME
mesh_agent_start 4
mesh_wait 20 mesh_converged 3 1 2 3 4
printf 'node n4 claimed %s; every node had every peer after %.2f s\n' "$(cat "$MESH_DIR/n4/subnet4")" \
  "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
for ((k = 1; k <= MESH_PODS; k++)); do mesh_add_pod 4 "$k"; done
table
mesh_ping_matrix

step "zl-meshd status on node n1"
mesh_meshd 1 status

step "WireGuard status per node (zl-wg show)"
for ((n = 1; n <= MESH_NODES; n++)); do
  echo "--- node n$n"
  mesh_wgcli "$n" show "$(mesh_wg "$n")"
done

step "TCP throughput, 3 s each (iperf3)"
iperf() { # NETNS_SERVER NETNS_CLIENT ADDRESS → Mbit/s
  ip netns exec "$1" iperf3 -s -1 -D >/dev/null
  local _
  for _ in $(seq 50); do
    ip netns exec "$1" ss -ltn | grep -q ':5201 ' && break
    sleep 0.1
  done
  ip netns exec "$2" iperf3 -c "$3" -t 3 -J | jq '.end.sum_received.bits_per_second / 1e6 | floor'
}
pod_bw=$(iperf "$(mesh_pod 2 1)" "$(mesh_pod 1 1)" "$(mesh_pod_ip 2 1)")
ul_bw=$(iperf "$(mesh_node 2)" "$(mesh_node 1)" 192.0.2.2)
printf '%-40s %8s Mbit/s\n' "pod n1p1 → pod n2p1 (through WireGuard)" "$pod_bw" "node n1 → node n2 (plain underlay)" "$ul_bw"

step "node n4 leaves (its pods deleted, its agent stopped, zl-meshd leave)"
for ((k = 1; k <= MESH_PODS; k++)); do
  mesh_cni 4 del "$(mesh_pod 4 "$k")"
  ip netns del "$(mesh_pod 4 "$k")"
done
mesh_agent_stop 4
mesh_meshd 4 leave
mesh_wait 20 mesh_converged 2 1 2 3
mesh_remove_node 4
MESH_NODES=3
echo "nodes n1-n3 are down to 2 peers each:"
mesh_meshd 1 status
mesh_ping_matrix

step "tearing down (DEL every pod, stop the agents, remove the mesh devices)"
mesh_down
left=0
for ((n = 1; n <= MESH_NODES; n++)); do
  out=$(mesh_leftovers "$n")
  if [ -n "$out" ]; then
    echo "node n$n still has:"
    echo "$out"
    left=1
  fi
done
[ "$left" = 0 ] || { echo "demo: leftovers after teardown" >&2; exit 1; }
echo "nothing left: no pod links, no zl firewall rules, no IPAM allocations"
step "done"
