#!/usr/bin/env bash
# The .deb a user installs: a Release build of its own (tests off) packaged by `cpack -G DEB`;
# its contents (every plugin stripped, the /usr/lib/cni links, the examples, no build paths,
# Depends from the binaries); `dpkg -i`; podman (CNI backend, plugins from /usr/lib/cni only,
# so through the package's links) runs a busybox container on a zl-bridge + zl-ipam network
# made from the installed example conflist; `dpkg -r` and `dpkg -P` leave nothing behind.
#
# The host is left as found: plugins already in /opt/cni/bin or /usr/lib/cni are moved aside
# and put back, directories dpkg removes are made again, the package is purged on any exit.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=../runtimes/rt-lib.sh
source "$(dirname "$0")/../runtimes/rt-lib.sh"
need_root
"$SRC/scripts/install-deps.sh" podman runc conmon busybox-static

plugins=(zl-bridge zl-ipam zl-wg)
net=zldeb$UNIQ
br=zd$UNIQ
subnet=10.123.43.0/24
gw=10.123.43.1
data=$T/ipam
state=$data/$net.json
doc=/usr/share/doc/zl-cni

if dpkg -s zl-cni >/dev/null 2>&1; then
  fail "zl-cni is already known to dpkg ($(dpkg-query -W -f='${db:Status-Abbrev}' zl-cni)): this test installs and purges it, refusing"
  finish
fi
if ! rt_unused_subnet "$subnet"; then
  fail "the host already routes $subnet: refusing to put a test network on it"
  finish
fi

# dpkg_run ARG…: dpkg ARG…, retried for up to 2 minutes while apt or dpkg elsewhere holds the lock.
dpkg_run() {
  local deadline=$((SECONDS + 120))
  until dpkg "$@" >"$T/dpkg.log" 2>&1; do
    if ! grep -qi 'lock' "$T/dpkg.log" || [ "$SECONDS" -ge "$deadline" ]; then
      sed 's/^/    dpkg: /' "$T/dpkg.log" >&2
      return 1
    fi
    sleep 1
  done
}

is_json() { jq -e . "$1" >/dev/null; }

# --- leave the host as found -----------------------------------------------------------------
mkdir -p "$T/saved"
saved=()
for f in /opt/cni/bin/zl-* /usr/lib/cni/zl-*; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  mkdir -p "$T/saved$(dirname "$f")"
  mv "$f" "$T/saved$f"
  saved+=("$f")
done
dirs_before=()
for d in /opt /opt/cni /opt/cni/bin /usr/lib/cni; do
  if [ -d "$d" ]; then dirs_before+=("$d:$(stat -c %a "$d")"); fi
done
libcni_before=$(ls -A /usr/lib/cni 2>/dev/null || true)
restore_host() {
  local d f
  for d in "${dirs_before[@]}"; do
    [ -d "${d%:*}" ] || install -d -m "${d##*:}" "${d%:*}"
  done
  for f in "${saved[@]}"; do mv -f "$T/saved$f" "$f"; done
}
on_exit restore_host
on_exit 'dpkg -P zl-cni'

# --- build and package -----------------------------------------------------------------------
echo "== Release build and cpack -G DEB"
b=$T/build
if cmake -S "$SRC" -B "$b" -DCMAKE_BUILD_TYPE=Release -DZL_TESTS=OFF -DZL_WERROR=ON >"$T/build.log" 2>&1 &&
  nice cmake --build "$b" -j "$(nproc)" >>"$T/build.log" 2>&1 &&
  (cd "$b" && cpack -G DEB) >>"$T/build.log" 2>&1; then
  pass "Release build and cpack -G DEB"
else
  fail "build or cpack: $(grep -m5 -iE 'error|warning' "$T/build.log")"
  finish
fi
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$b/CMakeCache.txt")
deb=$b/zl-cni_${version}_$(dpkg --print-architecture).deb
check "the package is $(basename "$deb")" test -f "$deb"
expect_eq "Package field" "$(dpkg-deb -f "$deb" Package)" zl-cni
expect_eq "Version field is project()'s" "$(dpkg-deb -f "$deb" Version)" "$version"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libip4tc2 libip6tc2 libmnl0; do
  check "Depends names $lib ($depends)" grep -qE "(^|, )$lib( |,|$)" <<<"$depends"
done

echo "== package contents"
dpkg-deb -c "$deb" >"$T/contents"
want=()
for p in "${plugins[@]}"; do want+=("/opt/cni/bin/$p" "/usr/lib/cni/$p -> /opt/cni/bin/$p"); done
for f in "$SRC"/conf/*.conflist "$SRC/conf/zl-mesh-peers.json"; do want+=("$doc/examples/$(basename "$f")"); done
# The mesh agent, once its target exists (built wherever its CMakeLists puts it).
if [ -n "$(find "$b" -name zl-meshd -type f -perm -u+x -print -quit)" ]; then want+=(/usr/sbin/zl-meshd); fi
if [ -e "$SRC/conf/zl-meshd@.service" ]; then want+=(/lib/systemd/system/zl-meshd@.service); fi
expect_eq "the package holds exactly the plugins, their links and the examples" \
  "$(awk '$1 !~ /^d/ {sub(/^\./, "", $6); $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print}' "$T/contents" | sort)" \
  "$(printf '%s\n' "${want[@]}" | sort)"
expect_eq "no build or source path in the file list" "$(grep -cF -e "$T" -e "$SRC" "$T/contents" || true)" 0
dpkg-deb -x "$deb" "$T/x"
for p in "${plugins[@]}"; do
  check "$p is stripped (no .symtab)" sh -c "! readelf -S '$T/x/opt/cni/bin/$p' | grep -q '\.symtab'"
  expect_eq "$p holds no build or source path" "$(grep -caF -e "$b" -e "$SRC" "$T/x/opt/cni/bin/$p" || true)" 0
done

echo "== dpkg -i"
check "dpkg -i $(basename "$deb")" dpkg_run -i "$deb"
expect_eq "dpkg says installed" "$(dpkg-query -W -f='${Status}' zl-cni)" "install ok installed"
for p in "${plugins[@]}"; do
  expect_eq "/opt/cni/bin/$p answers VERSION" \
    "$(echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "/opt/cni/bin/$p" | jq -r .cniVersion)" 1.0.0
  expect_eq "/usr/lib/cni/$p leads to /opt/cni/bin/$p" "$(readlink -f "/usr/lib/cni/$p")" "/opt/cni/bin/$p"
done
for f in "$doc"/examples/*.conflist "$doc/examples/zl-mesh-peers.json"; do
  check "example $(basename "$f") is JSON" is_json "$f"
done

echo "== podman runs a container through the installed plugins (/usr/lib/cni)"
on_exit ip link del "$br"
conflist=$PM_NETD/$net.conflist
on_exit rt_del_leftovers "$conflist" "$state"
rt_podman_setup /usr/lib/cni
jq --arg n "$net" --arg br "$br" --arg s "$subnet" --arg d "$data" \
  '.name = $n | .plugins[0].bridge = $br | .plugins[0].ipam.subnet = $s | .plugins[0].ipam.dataDir = $d' \
  "$doc/examples/10-zl-bridge.conflist" >"$conflist"
rt_podman_image
ctr=deb$UNIQ
id=$(podman run -d --rm --name "$ctr" --network "$net" --cap-add NET_RAW "$PM_IMAGE" sleep 600)
ip=$(pm_ip "$ctr" "$net")
check "the container got an address in $subnet ($ip)" grep -qE '^10\.123\.43\.([2-9]|[1-9][0-9]+)$' <<<"$ip"
expect_eq "its eth0 carries it (/24)" "$(in_ctr "$ctr" ip -o -4 addr show dev eth0 | awk '{print $4}')" "$ip/24"
expect_eq "zl-ipam's state holds it under the container ID" \
  "$(jq -r '.allocations[] | "\(.ip) \(.containerID)"' "$state")" "$ip $id"
check "the container pings its gateway $gw" pm_pings "$ctr" "$gw"
podman rm -f -t 0 "$ctr" >/dev/null
check "podman ps shows none of ours" test -z "$(podman ps -aq)"
rt_expect_released "after podman rm" "$net" "$br" "$state"
rt_podman_teardown >/dev/null 2>&1

echo "== dpkg -r, dpkg -P: nothing left"
check "dpkg -r zl-cni" dpkg_run -r zl-cni
expect_eq "after -r: no /opt/cni/bin/zl-*" "$(compgen -G '/opt/cni/bin/zl-*' || true)" ""
expect_eq "after -r: no /usr/lib/cni/zl-*" "$(find /usr/lib/cni -maxdepth 1 -name 'zl-*' 2>/dev/null)" ""
check "after -r: no $doc" test ! -e "$doc"
check "dpkg -P zl-cni" dpkg_run -P zl-cni
expect_eq "after -P: dpkg -L lists nothing" "$(dpkg -L zl-cni 2>/dev/null || true)" ""
check "after -P: dpkg no longer knows zl-cni" sh -c '! dpkg -s zl-cni >/dev/null 2>&1'
expect_eq "/usr/lib/cni holds what it held before" "$(ls -A /usr/lib/cni 2>/dev/null || true)" "$libcni_before"
for d in /opt/cni/bin /opt/cni; do
  if ! printf '%s\n' "${dirs_before[@]}" | grep -q "^$d:"; then
    check "$d, made by dpkg -i, is gone" test ! -e "$d"
  fi
done
finish
