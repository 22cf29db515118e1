#!/usr/bin/env bash
# The multi-node pod mesh on one machine, shared by the demo and the mesh tests.
# Topology (all in network namespaces this library creates and removes):
#
#   $P-ul: bridge ul0 (the underlay, 192.0.2.0/24)
#     ├─ veth ─ $P-n1 (eth0 192.0.2.1)  zl-mesh0 10.244.1.1/24 ─ pods $P-n1p1, $P-n1p2
#     ├─ veth ─ $P-n2 (eth0 192.0.2.2)  zl-mesh0 10.244.2.1/24 ─ pods $P-n2p1, $P-n2p2
#     └─ veth ─ $P-n3 (eth0 192.0.2.3)  zl-mesh0 10.244.3.1/24 ─ pods …
#   each node: zl-wg<N> (WireGuard, UDP 51820) carrying the other nodes' pod subnets.
#
# Each node has its own conflist dir, IPAM dataDir, key and peers file under $MESH_DIR/n<N>,
# made from conf/30-zl-mesh.conflist. Plugins run as a runtime would: cnitool inside the node.
# Callers set: MESH_SRC (checkout), MESH_BUILD (build dir), MESH_DIR (work dir),
# MESH_PREFIX (netns name prefix), MESH_MODE (kernel|userspace), MESH_NODES, MESH_PODS.
# With MESH_ETCD (etcd endpoints, comma-separated, reachable from the underlay) the nodes run
# zl-meshd from conf/40-zl-meshd.conflist instead: subnets claimed, peers found through etcd.
# MESH_ETCD_TLS (optional): a directory with ca.pem, client.pem, client-key.pem (scripts/etcd-lib.sh).
# shellcheck disable=SC2034

mesh_node() { echo "$MESH_PREFIX-n$1"; }
mesh_pod() { echo "$MESH_PREFIX-n$1p$2"; }
# The pod's address: from its ADD result with an agent (subnets are claimed), else by rule
# (zl-ipam hands out .2, .3, … in order from 10.244.<node>.0/24).
mesh_pod_ip() {
  if [ -n "${MESH_ETCD:-}" ]; then
    jq -r '.ips[0].address' "$MESH_DIR/n$1/$(mesh_pod "$1" "$2").json" | cut -d/ -f1
  else
    echo "10.244.$1.$(($2 + 1))"
  fi
}
mesh_wg() { echo "${MESH_WG_PREFIX:-zl-wg}$1"; }  # suites running side by side pick other prefixes

# mesh_cni NODE CMD POD: cnitool add|check|del for a pod, inside its node.
mesh_cni() {
  local n=$1 cmd=$2 pod=$3
  ip netns exec "$(mesh_node "$n")" env NETCONFPATH="$MESH_DIR/n$n/net.d" CNI_PATH="$MESH_BUILD" \
    CNI_CACHE_DIR="$MESH_DIR/n$n/cache" CNI_CONTAINERID="$pod" ZL_CNI_LOG="$MESH_DIR/n$n/plugins.log" \
    "$MESH_BUILD/cnitool" "$cmd" zl-mesh "/var/run/netns/$pod"
}

# mesh_wgcli NODE ARGS…: zl-wg's CLI inside a node.
mesh_wgcli() {
  local n=$1
  shift
  ip netns exec "$(mesh_node "$n")" "$MESH_BUILD/zl-wg" "$@"
}

# mesh_conflist NODE: writes the node's conflist from the conf/ template.
mesh_conflist() {
  local n=$1 d=$MESH_DIR/n$1
  mkdir -p "$d/net.d" "$d/cache"
  if [ -n "${MESH_ETCD:-}" ]; then
    mesh_agent_conflist "$n"
    return
  fi
  jq --arg sub "10.244.$n.0/24" --arg data "$d/ipam" --arg key "$d/wg.key" --arg peers "$d/peers.json" \
    --arg ifn "$(mesh_wg "$n")" --arg impl "$MESH_MODE" '
      .plugins[0].ipam.ranges = [[{subnet: $sub}]] | .plugins[0].ipam.dataDir = $data
      | .plugins[1].interface = $ifn | .plugins[1].privateKeyFile = $key
      | .plugins[1].peersFile = $peers | .plugins[1].implementation = $impl' \
    "$MESH_SRC/conf/30-zl-mesh.conflist" >"$d/net.d/30-zl-mesh.conflist"
}

# mesh_agent_conflist NODE: the node's conflist for zl-meshd (etcd, short lease for tests).
mesh_agent_conflist() {
  local n=$1 d=$MESH_DIR/n$1 tls='{}'
  if [ -n "${MESH_ETCD_TLS:-}" ]; then
    tls=$(jq -n --arg d "$MESH_ETCD_TLS" '{caFile: "\($d)/ca.pem", certFile: "\($d)/client.pem", keyFile: "\($d)/client-key.pem"}')
  fi
  jq --arg data "$d/ipam" --arg key "$d/wg.key" --arg peers "$d/peers.json" --arg sub "$d/subnet4" \
    --arg ifn "$(mesh_wg "$n")" --arg impl "$MESH_MODE" --arg etcd "$MESH_ETCD" --argjson tls "$tls" \
    --arg node "n$n" --arg ep "192.0.2.$n:51820" --arg state "$d/mesh" --argjson ttl "${MESH_LEASE_TTL:-6}" '
      .plugins[0].ipam.ranges = [[{subnetFile: $sub}]] | .plugins[0].ipam.dataDir = $data
      | .plugins[1].interface = $ifn | .plugins[1].privateKeyFile = $key
      | .plugins[1].peersFile = $peers | .plugins[1].implementation = $impl
      | .plugins[1].mesh.etcd = ({endpoints: ($etcd | split(","))} + $tls)
      | .plugins[1].mesh += {node: $node, endpoint: $ep, stateDir: $state, leaseTTL: $ttl,
                             keepaliveInterval: ([($ttl / 3 | floor), 1] | max)}' \
    "$MESH_SRC/conf/40-zl-meshd.conflist" >"$d/net.d/40-zl-meshd.conflist"
}

mesh_conflist_path() { echo "$MESH_DIR/n$1/net.d/$([ -n "${MESH_ETCD:-}" ] && echo 40-zl-meshd || echo 30-zl-mesh).conflist"; }

# mesh_agent_start NODE [ARGS…]: zl-meshd run in the node (log: n<N>/agent.log, pid: n<N>/agent.pid).
mesh_agent_start() {
  local n=$1
  shift
  ip netns exec "$(mesh_node "$n")" "$MESH_BUILD/zl-meshd" run "$(mesh_conflist_path "$n")" "$@" \
    >>"$MESH_DIR/n$n/agent.log" 2>&1 &
  echo "$!" >"$MESH_DIR/n$n/agent.pid"
  disown "$!"
}

# mesh_agent_stop NODE [SIGNAL]: stops the node's agent (default TERM) and waits for it.
mesh_agent_stop() {
  local pid
  pid=$(cat "$MESH_DIR/n$1/agent.pid" 2>/dev/null) || return 0
  kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  [ "${2:-TERM}" = STOP ] && return 0
  mesh_wait 20 sh -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$MESH_DIR/n$1/agent.pid"
}

# mesh_meshd NODE ARGS…: zl-meshd leave|status inside a node.
mesh_meshd() {
  local n=$1 cmd=$2
  shift 2
  ip netns exec "$(mesh_node "$n")" "$MESH_BUILD/zl-meshd" "$cmd" "$(mesh_conflist_path "$n")" "$@"
}

# mesh_wait SECONDS CMD…: true once CMD succeeds (polled every 0.1 s).
mesh_wait() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# mesh_peer_count NODE: peers in the node's peers file (written by its agent).
mesh_peer_count() { jq '.peers | length' "$MESH_DIR/n$1/peers.json" 2>/dev/null || echo -1; }

# mesh_converged COUNT NODES…: every listed node's agent lists COUNT peers.
mesh_converged() {
  local want=$1 n
  shift
  for n in "$@"; do [ "$(mesh_peer_count "$n")" = "$want" ] || return 1; done
}

# mesh_peers NODE [EXCLUDED…]: writes NODE's peers file: every other node, minus EXCLUDED.
mesh_peers() {
  local n=$1 m
  shift
  local list='[]'
  for ((m = 1; m <= MESH_NODES; m++)); do
    [ "$m" = "$n" ] && continue
    [[ " $* " == *" $m "* ]] && continue
    list=$(jq --arg k "$(cat "$MESH_DIR/n$m/pubkey")" --arg ep "192.0.2.$m:51820" --arg aip "10.244.$m.0/24" \
      '. + [{publicKey: $k, endpoint: $ep, allowedIPs: [$aip], persistentKeepalive: 25}]' <<<"$list")
  done
  jq '{peers: .}' <<<"$list" >"$MESH_DIR/n$n/peers.json.tmp"
  mv "$MESH_DIR/n$n/peers.json.tmp" "$MESH_DIR/n$n/peers.json"
}

# mesh_add_node N: underlay port, node netns, conflist, key.
mesh_add_node() {
  local n=$1 node
  node=$(mesh_node "$n")
  ip netns add "$node"
  ip -n "$node" link set lo up
  ip -n "$MESH_PREFIX-ul" link add "ul$n" type veth peer name eth0 netns "$node"
  ip -n "$MESH_PREFIX-ul" link set "ul$n" master ul0 up
  ip -n "$node" addr add "192.0.2.$n/24" dev eth0
  ip -n "$node" link set eth0 up
  mesh_conflist "$n"
  mesh_wgcli "$n" pubkey "$(mesh_conflist_path "$n")" >"$MESH_DIR/n$n/pubkey"
}

# mesh_add_pod N K: a pod netns attached through the node's conflist.
mesh_add_pod() {
  local pod
  pod=$(mesh_pod "$1" "$2")
  ip netns add "$pod"
  mesh_cni "$1" add "$pod" >"$MESH_DIR/n$1/$pod.json"
}

# mesh_underlay: the underlay namespace and bridge (with an agent: 192.0.2.254 on it, for etcd).
mesh_underlay() {
  [ -e "/var/run/netns/$MESH_PREFIX-ul" ] && return 0
  mkdir -p "$MESH_DIR"
  ip netns add "$MESH_PREFIX-ul"
  ip -n "$MESH_PREFIX-ul" link set lo up
  ip -n "$MESH_PREFIX-ul" link add ul0 type bridge
  ip -n "$MESH_PREFIX-ul" link set ul0 up
  if [ -n "${MESH_ETCD:-}" ]; then ip -n "$MESH_PREFIX-ul" addr add 192.0.2.254/24 dev ul0; fi
}

mesh_up() {
  local n k
  mesh_underlay
  for ((n = 1; n <= MESH_NODES; n++)); do mesh_add_node "$n"; done
  if [ -n "${MESH_ETCD:-}" ]; then
    mesh_agents_up
  else
    for ((n = 1; n <= MESH_NODES; n++)); do mesh_peers "$n"; done
  fi
  for ((n = 1; n <= MESH_NODES; n++)); do
    for ((k = 1; k <= MESH_PODS; k++)); do mesh_add_pod "$n" "$k"; done
  done
}

# mesh_agents_up: an agent per node, each node's subnet claimed, every node seeing the others.
mesh_agents_up() {
  local n all=()
  for ((n = 1; n <= MESH_NODES; n++)); do
    mesh_agent_start "$n"
    all+=("$n")
  done
  for n in "${all[@]}"; do
    mesh_wait 30 test -s "$MESH_DIR/n$n/subnet4" || { echo "mesh: node $n claimed no subnet" >&2; return 1; }
  done
  mesh_wait 30 mesh_converged $((MESH_NODES - 1)) "${all[@]}" || { echo "mesh: agents did not converge" >&2; return 1; }
}

# mesh_ping FROM_POD IP: true when the pod reaches IP (a few tries: the first packet
# may wait for a handshake).
mesh_ping() {
  local i
  for i in 1 2 3 4 5; do
    ip netns exec "$1" ping -c1 -W1 "$2" >/dev/null 2>&1 && return 0
  done
  return 1
}

# mesh_ping_matrix: prints every pod × every pod; returns the number of failures.
mesh_ping_matrix() {
  local n k m j fails=0 line
  printf '%-15s' "from \\ to"
  for ((m = 1; m <= MESH_NODES; m++)); do
    for ((j = 1; j <= MESH_PODS; j++)); do printf '%-15s' "$(mesh_pod_ip "$m" "$j")"; done
  done
  echo
  for ((n = 1; n <= MESH_NODES; n++)); do
    for ((k = 1; k <= MESH_PODS; k++)); do
      line=$(printf '%-15s' "$(mesh_pod_ip "$n" "$k")")
      for ((m = 1; m <= MESH_NODES; m++)); do
        for ((j = 1; j <= MESH_PODS; j++)); do
          if [ "$m$j" = "$n$k" ]; then
            line+=$(printf '%-15s' "-")
          elif mesh_ping "$(mesh_pod "$n" "$k")" "$(mesh_pod_ip "$m" "$j")"; then
            line+=$(printf '%-15s' "ok")
          else
            line+=$(printf '%-15s' "FAIL")
            fails=$((fails + 1))
          fi
        done
      done
      echo "$line"
    done
  done
  return "$fails"
}

# mesh_leftovers N: prints what zl-cni left in node N (links, rules, allocations).
mesh_leftovers() {
  local node
  node=$(mesh_node "$1")
  ip -n "$node" -o link show | awk -F': ' '{print $2}' | grep -E '^(zl[0-9a-f]{12}|zl-wg)' | sed 's/@.*//; s/^/link /' || true
  ip netns exec "$node" nft list ruleset 2>/dev/null | grep -E 'zl-cni|table .* zl' | sed 's/^ */nft /' || true
  ip netns exec "$node" iptables-legacy-save 2>/dev/null | grep -E 'ZL-' | sed 's/^/iptables /' || true
  local state=$MESH_DIR/n$1/ipam/zl-mesh.json
  if [ -f "$state" ] && [ "$(jq '.allocations | length' "$state")" != 0 ]; then
    echo "ipam $(jq -c '.allocations' "$state")"
  fi
}

# mesh_down: DEL every pod, remove the WireGuard devices, then the namespaces.
mesh_down() {
  local n k pod
  for ((n = 1; n <= MESH_NODES; n++)); do
    for ((k = 1; k <= MESH_PODS; k++)); do
      pod=$(mesh_pod "$n" "$k")
      if [ -e "/var/run/netns/$pod" ]; then
        mesh_cni "$n" del "$pod" || echo "mesh: DEL of $pod failed" >&2
        ip netns del "$pod"
      fi
    done
    mesh_agent_stop "$n"
    ip -n "$(mesh_node "$n")" link del "$(mesh_wg "$n")" 2>/dev/null || true
  done
}

# mesh_remove_node N: node N's agent, namespace, userspace device and names file gone.
mesh_remove_node() {
  mesh_agent_stop "$1" KILL
  ip netns del "$(mesh_node "$1")" 2>/dev/null || true
  pkill -f "wireguard-go $(mesh_wg "$1")\$" 2>/dev/null || true
  rm -f "/run/zl-cni/wg/$(mesh_wg "$1").names.json"  # what zl-meshd told zl-wg show
}

mesh_destroy() {
  local n
  for ((n = 1; n <= MESH_NODES; n++)); do mesh_remove_node "$n"; done
  # Whatever else carries our prefix (pods, nodes added beyond MESH_NODES).
  ip netns list | awk '{ print $1 }' | grep -E "^$MESH_PREFIX-" | while read -r ns; do ip netns del "$ns"; done || true
  ip netns del "$MESH_PREFIX-ul" 2>/dev/null || true
  rm -rf "$MESH_DIR"
}
