#!/usr/bin/env bash
# containerd (Debian's 1.6) with `ctr run --cni` runs busybox containers on a zl-bridge +
# zl-ipam conflist: each container gets its address, containers and the gateway ping each
# other, and a container's exit releases everything (ctr's DEL comes with an empty netns).
#
#   host netns (ctr runs the plugins here)          containers (netns /proc/<pid>/ns/net)
#   ┌─────────────────────────────────┐
#   │ bridge zc$UNIQ 10.123.42.1/24    ├── veth zl… ──┤ a  eth0 10.123.42.x │  sleep; killed
#   │ nft table zl-<hash(net)>         ├── veth zl… ──┤ b  eth0 10.123.42.y │  sleep; killed
#   │                                  ├── veth zl… ──┤ c  eth0 10.123.42.z │  pings a, exits
#   └─────────────────────────────────┘
# A private containerd (its own socket, root, state; CRI plugin off) serves the test. `ctr`
# reads only the alphabetically first file of /etc/cni/net.d and execs plugins from
# /opt/cni/bin, so each `ctr run` runs in a private mount namespace where the test's conflist
# dir and a dir of logging wrappers (rt-lib.sh) are bind-mounted there. `ctr run -d` never
# calls DEL, so every container runs `ctr run --rm` in the foreground, in the background of
# this shell; killing its task makes that ctr call DEL and exit.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=rt-lib.sh
source "$(dirname "$0")/rt-lib.sh"
need_root
"$SRC/scripts/install-deps.sh" containerd runc busybox-static

net=zlctd$UNIQ
br=zc$UNIQ
subnet=10.123.42.0/24
gw=10.123.42.1
data=$T/ipam
state=$data/$net.json
ns=zl$UNIQ  # containerd namespace: CNI_CONTAINERID is "<namespace>-<container>"
if ! rt_unused_subnet "$subnet"; then
  fail "the host already routes $subnet: refusing to put a test network on it"
  finish
fi

# The mount points ctr's CNI paths need; created only if missing, and then removed again.
for d in /etc/cni/net.d /opt/cni/bin; do
  if [ ! -d "$d" ]; then
    mkdir -p "$d"
    on_exit "rmdir -p --ignore-fail-on-non-empty $d"
  fi
done
# containerd's shims and ctr's FIFOs use /run/containerd whatever the state dir.
[ -e /run/containerd ] || on_exit 'rmdir /run/containerd/s /run/containerd/fifo /run/containerd'

on_exit ip link del "$br"
on_exit rt_del_leftovers "$T/net.d/10-$net.conflist" "$state"
mkdir -p "$T/net.d" "$T/ctd"
rt_plugin_dir "$T/bin"
jq --arg n "$net" --arg br "$br" --arg s "$subnet" --arg d "$data" \
  '.name = $n | .plugins[0].bridge = $br | .plugins[0].ipam.subnet = $s | .plugins[0].ipam.dataDir = $d' \
  "$SRC/conf/10-zl-bridge.conflist" >"$T/net.d/10-$net.conflist"

echo "== a private containerd"
sock=$T/ctd/containerd.sock
cat >"$T/ctd/config.toml" <<EOF
version = 2
root = "$T/ctd/root"
state = "$T/ctd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$T/ctd/opt"
EOF
containerd --config "$T/ctd/config.toml" >"$T/ctd/log" 2>&1 &
ctd_pid=$!
on_exit "kill $ctd_pid; wait $ctd_pid"
ctrc() { ctr -a "$sock" -n "$ns" "$@"; }
# Tasks die before containerd: a live shim would keep the scratch dir's state busy.
ctd_teardown() {
  local c
  for c in $(ctrc task ls -q); do ctrc task kill -s SIGKILL "$c" || true; done
  for c in $(ctrc task ls -q); do ctrc task delete -f "$c" || true; done
  for c in $(ctrc container ls -q); do ctrc container delete "$c" || true; done
}
on_exit ctd_teardown
check "containerd answers on its private socket" wait_for 20 ctrc version

# ctr_run NAME CMD…: `ctr run --cni --rm` of NAME (its own busybox rootfs) in a private mount
# namespace where /etc/cni/net.d and /opt/cni/bin are the test's.
ctr_run() {
  local name=$1
  shift
  rt_rootfs "$T/rootfs-$name"
  # shellcheck disable=SC2016  # the inner shell expands them
  unshare -m --propagation private sh -c \
    'mount --bind "$1" /etc/cni/net.d && mount --bind "$2" /opt/cni/bin && shift 2 && exec "$@"' sh \
    "$T/net.d" "$T/bin" \
    ctr -a "$sock" -n "$ns" run --cni --rm --null-io --fifo-dir "$T/ctd/fifo" --runc-root "$T/ctd/runc" \
    --env PATH=/bin --rootfs "$T/rootfs-$name" "$name" "$@"
}
# alloc_of NAME: the address zl-ipam gave container NAME ("" while it has none).
alloc_of() { jq -r --arg id "$ns-$1" '.allocations[] | select(.containerID == $id) | .ip' "$state" 2>/dev/null || true; }
has_alloc() { [ -n "$(alloc_of "$1")" ]; }
in_task() { ctrc task exec --exec-id "x$RANDOM" --fifo-dir "$T/ctd/fifo" "$@"; }
task_pings() { in_task "$1" ping -c 1 -w 10 "$2" >/dev/null; }
running() { ctrc task ls | grep -qE "^$1 .*RUNNING"; }

echo "== two containers: addresses from zl-ipam"
ctr_run "a$UNIQ" sleep 600 &
a_pid=$!
ctr_run "b$UNIQ" sleep 600 &
b_pid=$!
check "a has an address in the IPAM state" wait_for 30 has_alloc "a$UNIQ"
check "b has an address in the IPAM state" wait_for 30 has_alloc "b$UNIQ"
check "a's task runs" wait_for 10 running "a$UNIQ"
check "b's task runs" wait_for 10 running "b$UNIQ"
a_ip=$(alloc_of "a$UNIQ")
b_ip=$(alloc_of "b$UNIQ")
check "a's address is in $subnet ($a_ip)" grep -qE '^10\.123\.42\.[0-9]+$' <<<"$a_ip"
check "b's is another one ($b_ip)" test -n "$b_ip" -a "$b_ip" != "$a_ip"
expect_eq "a's eth0 carries it (/24)" "$(in_task "a$UNIQ" ip -o -4 addr show dev eth0 | awk '{print $4}')" "$a_ip/24"
expect_eq "a's default route goes via the gateway" "$(in_task "a$UNIQ" ip route | awk '$1 == "default" {print $3}')" "$gw"
expect_eq "two host veths of $net" "$(rt_veths "$net" "$br" | wc -l)" 2
check "the network's firewall rules exist while pods do" test -n "$(rt_rules "$net")"

echo "== connectivity"
check "a pings b" task_pings "a$UNIQ" "$b_ip"
check "b pings a" task_pings "b$UNIQ" "$a_ip"
check "a pings the gateway" task_pings "a$UNIQ" "$gw"
check "the host pings a through the bridge" host_pings "$a_ip"

echo "== c pings a and exits: its exit releases it"
check "c (foreground ctr run --rm) pings a and exits 0" ctr_run "c$UNIQ" ping -c 1 -w 10 "$a_ip"
expect_eq "c's allocation is gone" "$(alloc_of "c$UNIQ")" ""
expect_eq "IPAM state holds a and b only" "$(rt_allocs "$state")" 2

echo "== a and b killed: everything released"
ctrc task kill -s SIGKILL "a$UNIQ"
ctrc task kill -s SIGKILL "b$UNIQ"
check "a's ctr run returns" wait_for 30 sh -c "! kill -0 $a_pid 2>/dev/null"
check "b's ctr run returns" wait_for 30 sh -c "! kill -0 $b_pid 2>/dev/null"
wait "$a_pid" "$b_pid" || true  # 137: the tasks were killed
expect_eq "containerd has no containers left" "$(ctrc container ls -q)" ""
rt_expect_released "after exit" "$net" "$br" "$state"

echo "== what ctr asked of the plugins"
rt_calls -c 'group_by(.plugin + " " + .cmd) | map({(.[0].plugin + " " + .[0].cmd): length}) | add' | sed 's/^/    /'
expect_eq "no plugin call failed" "$(rt_calls -c '[.[] | select(.rc != 0) | "\(.plugin) \(.cmd) \(.stdout)"]')" "[]"
expect_eq "every zl-bridge ADD was undone by a DEL (same container, ifname)" \
  "$(rt_calls -c '[.[] | select(.plugin == "zl-bridge" and .cmd == "DEL") | .id + "/" + .ifname] | unique')" \
  "$(rt_calls -c '[.[] | select(.plugin == "zl-bridge" and .cmd == "ADD") | .id + "/" + .ifname] | unique')"
expect_eq "ADD got CNI_NETNS=/proc/<pid>/ns/net, DEL an empty one" \
  "$(rt_calls -c '[.[] | select(.plugin == "zl-bridge") | "\(.cmd) \(.netns | sub("[0-9]+"; "N"))"] | unique')" \
  '["ADD /proc/N/ns/net","DEL "]'
rt_finish
