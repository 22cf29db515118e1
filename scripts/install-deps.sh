#!/usr/bin/env bash
# Installs every Debian package zl-cni needs to build, test, bench and demo. Idempotent:
# when everything is present it only checks (no apt-get update, no network).
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git
  libnl-3-dev libnl-genl-3-dev libnl-route-3-dev rapidjson-dev libsodium-dev
  libiptc-dev libnftnl-dev libmnl-dev doctest-dev
  # cnitool (Debian's libcni) and the reference plugins
  golang-go golang-github-appc-cni-dev containernetworking-plugins
  # tests
  iproute2 iptables nftables jq shellcheck procps iputils-ping psmisc util-linux python3 inotify-tools strace
  # zl-meshd: its etcd client (libcurl) and the etcd its tests run
  libcurl4-openssl-dev etcd-server etcd-client openssl
)
if [ "$#" -gt 0 ]; then packages+=("$@"); fi

missing=()
for p in "${packages[@]}"; do
  [[ $p == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
