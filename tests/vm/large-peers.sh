#!/usr/bin/env bash
# Large peer sets on kernel WireGuard: 1 000 then 5 000 peers (random keys, /32 allowed IPs)
# applied by `zl-wg sync`, read back intact (zl-wg show and wireguard-tools agree), routed,
# and a second sync is a no-op. Run inside the VM by test-kernel-large-peers.sh.
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_root

node=zlbig$UNIQ
netns_add "$node"
ip -n "$node" link add eth0 type dummy
ip -n "$node" addr add 192.0.2.1/24 dev eth0
ip -n "$node" link set eth0 up
cat >"$T/big.conflist" <<CONF
{"cniVersion":"1.0.0","name":"big","plugins":[{"type":"zl-wg","interface":"zlbig0","listenPort":51999,
 "implementation":"kernel","privateKeyFile":"$T/node.key","peersFile":"$T/peers.json"}]}
CONF

gen_peers() { # N → peers.json; the first peers are the same in every run (seeded)
  python3 - "$1" "$T/peers.json" <<'PY'
import base64, json, random, sys
n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(1)
peers = []
for i in range(n):
    key = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(32))).decode()
    peers.append({"publicKey": key, "endpoint": "192.0.2.%d:%d" % (2 + i % 250, 51820 + i // 250),
                  "allowedIPs": ["10.%d.%d.%d/32" % (100 + i // 65536, (i // 256) % 256, i % 256)]})
json.dump({"peers": peers}, open(out, "w"))
PY
}

normalize() { jq -c '[.[] | {k: .publicKey, a: (.allowedIPs | sort), e: .endpoint}] | sort_by(.k)'; }

for n in 1000 5000; do
  echo "# $n peers"
  gen_peers "$n"
  start=$EPOCHREALTIME
  out=$(ip netns exec "$node" "$BUILD/zl-wg" sync "$T/big.conflist")
  echo "  sync: $out ($(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f s", b-a}'))"
  want=$(jq '.peers' "$T/peers.json" | normalize)
  got=$(ip netns exec "$node" "$BUILD/zl-wg" show zlbig0 --json | jq '.interfaces[0].peers' | normalize)
  expect_eq "$n peers read back intact through zl-wg show" "$(sha256sum <<<"$got")" "$(sha256sum <<<"$want")"
  expect_eq "wireguard-tools sees $n peers" "$(ip netns exec "$node" wg show zlbig0 peers | wc -l)" "$n"
  tools=$(ip netns exec "$node" wg show zlbig0 allowed-ips | awk '{print $2}' | sort | sha256sum)
  mine=$(jq -r '.peers[].allowedIPs[]' "$T/peers.json" | sort | sha256sum)
  expect_eq "wireguard-tools sees the same allowed IPs" "$tools" "$mine"
  # Routes are the aggregated union of the allowed IPs: few, and every allowed IP goes via the device.
  routes=$(ip -n "$node" route show dev zlbig0 | wc -l)
  check "$n allowed IPs need only $routes aggregated routes" test "$routes" -ge 1 -a "$routes" -lt 20
  misses=0
  for ip in $(jq -r '.peers[].allowedIPs[0]' "$T/peers.json" | sed 's|/32||' | awk 'NR % 97 == 1'); do
    ip -n "$node" route get "$ip" | grep -q "dev zlbig0" || misses=$((misses + 1))
  done
  expect_eq "sampled allowed IPs all route via the device" "$misses" "0"
  expect_eq "an address next to the set does not" "$(ip -n "$node" route get 10.99.255.255 2>&1 | grep -c zlbig0 || true)" "0"
  out=$(ip netns exec "$node" "$BUILD/zl-wg" sync "$T/big.conflist")
  check "second sync is a no-op ($out)" grep -q 'peers added 0, updated 0, removed 0; routes added 0, removed 0; device unchanged' <<<"$out"
done
finish
