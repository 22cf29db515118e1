#!/usr/bin/env bash
# Shared by tests/runtimes/test-*.sh (source it after tests/lib.sh): a busybox rootfs, a plugin
# dir of logging wrappers, a private podman, and the "nothing left behind" checks.
#
# Runtimes run the plugins in the HOST network namespace, so every suite uses its own network
# name, bridge, subnet and dataDir, and checks only what carries its network's name.
# shellcheck disable=SC2034  # variables are for the sourcing script

# rt_unused_subnet CIDR: the host has no route into CIDR (so a suite may take it).
rt_unused_subnet() { ! ip -4 route show to match "${1%/*}" | grep -qv '^default'; }


# rt_rootfs DIR: a busybox-static root filesystem (every applet linked in /bin).
rt_rootfs() {
  local dir=$1 a
  mkdir -p "$dir"/{bin,etc,dev,proc,sys,tmp,root,run}
  cp /bin/busybox "$dir/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
  echo 'root:x:0:' >"$dir/etc/group"
}

# rt_plugin_dir DIR: DIR gets zl-bridge, zl-ipam and zl-wg as wrappers that exec the built
# plugins and record every call (env, stdin, stdout, exit status) as one JSON file in $RT_LOG.
# The runtime under test is pointed at DIR; rt_calls reads the record back. With RT_KEEP_LOG=DIR
# in the environment the record is copied to DIR at exit.
RT_LOG=$T/cni-calls
rt_plugin_dir() {
  local dir=$1 p
  mkdir -p "$dir" "$RT_LOG"
  if [ -n "${RT_KEEP_LOG:-}" ]; then on_exit "mkdir -p '$RT_KEEP_LOG' && cp '$RT_LOG'/*.json '$RT_KEEP_LOG'/"; fi
  for p in zl-bridge zl-ipam zl-wg; do
    cat >"$dir/$p" <<EOF
#!/bin/bash
# Logging wrapper written by tests/runtimes/rt-lib.sh: runs $BUILD/$p unchanged.
t=\$(date +%s.%N)
in=\$(cat)
err=\$(mktemp)
out=\$(printf '%s' "\$in" | "$BUILD/$p" 2>"\$err")
rc=\$?
printf '%s' "\$out"
cat "\$err" >&2
jq -nc --arg plugin "$p" --arg t "\$t" --arg cmd "\${CNI_COMMAND-}" \\
  --arg id "\${CNI_CONTAINERID-}" --arg netns "\${CNI_NETNS-}" --arg ifname "\${CNI_IFNAME-}" \\
  --arg args "\${CNI_ARGS-}" --arg path "\${CNI_PATH-}" --arg stdin "\$in" --arg stdout "\$out" \\
  --arg stderr "\$(cat "\$err")" --argjson rc "\$rc" --arg ppid "\$(tr '\\0' ' ' </proc/\$PPID/cmdline)" \\
  '{\$t, \$plugin, \$cmd, \$id, \$netns, \$ifname, \$args, \$path, \$rc, \$stdin, \$stdout, \$stderr, caller: \$ppid}' \\
  >"$RT_LOG/\$(date +%s%N)-\$\$.json"
rm -f "\$err"
exit \$rc
EOF
    chmod +x "$dir/$p"
  done
}

# rt_calls [JQ_OPTION…] FILTER: the recorded plugin calls (a JSON array in the order they
# started) through the jq FILTER.
rt_calls() {
  local f=${*: -1}
  local opts=("${@:1:$#-1}")
  if compgen -G "$RT_LOG/*.json" >/dev/null; then
    cat "$RT_LOG"/*.json | jq "${opts[@]}" -s "sort_by(.t | tonumber) | $f"
  else
    jq "${opts[@]}" -n "[] | $f"
  fi
}

# rt_show_calls: one line per recorded call (for the log of a failed run).
rt_show_calls() {
  rt_calls -r '.[] | "\(.plugin) \(.cmd) id=\(.id) netns=\(.netns) if=\(.ifname) args=\(.args) rc=\(.rc) \(.stdout | .[0:300]) \(.stderr | .[0:300])"' >&2 || true
}

# rt_finish: finish, printing the plugin calls first when something failed.
rt_finish() {
  if [ "$FAIL" -gt 0 ]; then
    echo "# plugin calls made by the runtime:" >&2
    rt_show_calls
  fi
  finish
}

# --- what a network leaves behind ------------------------------------------------------------

# rt_veths NET BRIDGE: host ends of pod veths (zl + 12 hex) of NET: its alias or its master.
rt_veths() {
  ip -d -j link show | jq -r --arg a "zl-cni:$1:" --arg br "$2" \
    '.[] | select(.ifname | test("^zl[0-9a-f]{12}$")) | select(((.ifalias // "") | startswith($a)) or .master == $br) | .ifname'
}
# rt_rules NET: lines of NET's firewall state: nft tables zl-<hash>, chains ZL-…-<hash>, rules
# commented "zl-cni NET …", in nftables (iptables-nft included) and legacy xtables.
rt_rules() {
  local h
  h=$("$BUILD/zl-names" hash "$1")
  {
    nft list ruleset 2>/dev/null || true
    iptables-legacy-save 2>/dev/null || true
    ip6tables-legacy-save 2>/dev/null || true
  } | grep -E -- "table [a-z0-9]+ zl-$h|ZL-[A-Z]+-$h|zl-cni $1 " || true
}
# rt_allocs STATEFILE: the allocations in a zl-ipam state file ("none" without the file).
rt_allocs() {
  if [ -e "$1" ]; then jq '.allocations | length' "$1"; else echo none; fi
}
# rt_cache NET: libcni's cached results of NET (/var/lib/cni/results/NET-…), dropped on DEL.
rt_cache() { find /var/lib/cni/results -maxdepth 1 -name "$1-*" -printf '%f\n' 2>/dev/null || true; }

# rt_expect_released DESC NET BRIDGE STATEFILE: nothing of NET's pods is left.
rt_expect_released() {
  local desc=$1 net=$2 br=$3 state=$4
  expect_eq "$desc: no zl veth of $net" "$(rt_veths "$net" "$br" | tr '\n' ' ')" ""
  expect_eq "$desc: no zl firewall rules, chains or tables of $net" "$(rt_rules "$net")" ""
  expect_eq "$desc: IPAM state has no allocations" "$(rt_allocs "$state")" 0
  expect_eq "$desc: no libcni result cache of $net" "$(rt_cache "$net" | tr '\n' ' ')" ""
}

# rt_del_leftovers CONFLIST STATEFILE: DEL, through the plugins directly, every attachment still in the
# zl-ipam state or on the bridge (cleanup after a failed run; a no-op after a good one).
rt_del_leftovers() {
  local conflist=$1 state=$2 net conf id ifname
  net=$(jq -r .name "$conflist")
  conf=$(jq -c '.plugins[0] + {name, cniVersion}' "$conflist")
  {
    [ -e "$state" ] && jq -r '.allocations[] | "\(.containerID) \(.ifname)"' "$state"
    ip -d -j link show | jq -r --arg a "zl-cni:$net:" \
      '.[] | (.ifalias // "") | select(startswith($a)) | ltrimstr($a) | sub(":(?<i>[^:]*)$"; " \(.i)")'
  } | sort -u | while read -r id ifname; do
    printf '%s' "$conf" | CNI_COMMAND=DEL CNI_CONTAINERID=$id CNI_IFNAME=$ifname CNI_NETNS="" \
      CNI_PATH=$BUILD "$BUILD/zl-bridge" >/dev/null 2>&1 || true
  done
}

# --- a private podman (CNI backend) ----------------------------------------------------------

# rt_podman_setup PLUGIN_DIR: podman reads only private files: containers.conf (CNI backend,
# plugins from PLUGIN_DIR, conflists from $PM_NETD, runc, cgroupfs, file events) and
# storage.conf (vfs under $T). Exports CONTAINERS_CONF and CONTAINERS_STORAGE_CONF, so the
# cleanup processes conmon starts read them too. Registers removal of everything podman made.
PM_DIR=$T/podman
PM_NETD=$PM_DIR/net.d
PM_IMAGE=localhost/zl-busybox:$UNIQ
rt_podman_setup() {
  local plugins=$1 nofile nproc
  mkdir -p "$PM_DIR"/{root,runroot,tmp} "$PM_NETD"
  # Container ulimits default to values this host's hard limits may not allow.
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] && nofile=1048576
  { [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
  cat >"$PM_DIR/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["$plugins"]
network_config_dir = "$PM_NETD"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PM_DIR/events.log"
tmp_dir = "$PM_DIR/tmp"
volume_path = "$PM_DIR/volumes"
EOF
  cat >"$PM_DIR/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$PM_DIR/root"
runroot = "$PM_DIR/runroot"
EOF
  export CONTAINERS_CONF=$PM_DIR/containers.conf CONTAINERS_STORAGE_CONF=$PM_DIR/storage.conf
  # Root podman keeps its blob-info cache in /var/lib/containers/cache whatever the storage
  # config says: when the test brings that dir into being, the test takes it away.
  [ -e /var/lib/containers ] ||
    on_exit 'rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb; rmdir /var/lib/containers/cache /var/lib/containers'
  on_exit rt_podman_teardown
}
rt_podman_teardown() {
  podman rm -af -t 0 || true
  podman rmi -af || true
  # Anything podman left mounted under its dirs would stop the scratch dir's removal.
  findmnt -rno TARGET | grep -F "$PM_DIR/" | sort -r | xargs -r umount -l || true
}

# rt_podman_image: imports the busybox rootfs as $PM_IMAGE (offline).
rt_podman_image() {
  rt_rootfs "$T/rootfs"
  tar -C "$T/rootfs" -c . | podman import -q - "$PM_IMAGE" >/dev/null
}

# pm_ip CTR / pm_netns CTR / pm_id CTR: address on the network, netns path, full ID.
pm_ip() { podman inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
pm_netns() { podman inspect -f '{{.NetworkSettings.SandboxKey}}' "$1"; }
pm_id() { podman inspect -f '{{.Id}}' "$1"; }
host_pings() { ping -c 1 -w 10 "$1" >/dev/null; }
pm_gone() { ! podman container exists "$1"; }
# pm_pings CTR ADDR: CTR gets an echo reply from ADDR within 10 s.
pm_pings() { podman exec "$1" ping -c 1 -w 10 "$2" >/dev/null; }
# in_ctr CTR CMD…: output of CMD run in CTR.
in_ctr() { podman exec "$@"; }
