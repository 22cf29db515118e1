#!/usr/bin/env bash
# Run a command as root inside a throw-away QEMU VM that has kernel WireGuard
# (the host kernel has none).  See design.md section 4.
#
#   scripts/vm-run.sh [--mem MB] [--smp N] [--timeout SEC] [-v] -- <command> [args...]
#
# The VM runs Debian's linux-image-amd64 kernel under TCG; its root is an
# overlay of the host's / (read-only over virtio-9p) with a tmpfs upper, so
# writes inside the VM are discarded.  /run and /var/run are fresh tmpfs; /tmp is
# the host's (so checkouts under /tmp work).  The command runs with cwd = the caller's cwd, stdin = /dev/null, and
# the caller's PATH, HOME, TERM, LANG/LC_*, TZ, ZL_* variables and any listed
# in ZL_VM_ENV (space-separated names).  Its stdout and stderr are streamed to
# ours (separately); the exit status is the command's.  Exit 124: timeout;
# exit 125: the VM failed (boot, mounts, ...) -- the console log tail is shown.
#
# Environment: ZL_VM_CACHE (default /var/cache/zl-cni/vm) caches the kernel
# and the initramfs; ZL_VM_MEM, ZL_VM_SMP, ZL_VM_TIMEOUT give defaults for the
# options; ZL_VM_VERBOSE=1 (or -v) copies the VM console to stderr;
# ZL_VM_KERNEL_PKG overrides the kernel package (linux-image-<ver>-amd64).
set -euo pipefail

caller_path=${PATH:-/usr/bin:/bin}
export PATH="$caller_path:/usr/sbin:/sbin"

me=vm-run
die() {
	echo "$me: $*" >&2
	exit 125
}
usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
	exit "${1:-0}"
}

mem=${ZL_VM_MEM:-1024}
smp=${ZL_VM_SMP:-2}
timeout_s=${ZL_VM_TIMEOUT:-1200}
verbose=${ZL_VM_VERBOSE:-0}
while (($#)); do
	case $1 in
	--mem) mem=${2:?--mem needs a value}; shift 2 ;;
	--mem=*) mem=${1#*=}; shift ;;
	--smp) smp=${2:?--smp needs a value}; shift 2 ;;
	--smp=*) smp=${1#*=}; shift ;;
	--timeout) timeout_s=${2:?--timeout needs a value}; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	-v | --verbose) verbose=1; shift ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	-*) echo "$me: unknown option $1" >&2; usage 2 ;;
	*) break ;;
	esac
done
(($#)) || { echo "$me: no command given" >&2; usage 2; }
for v in "$mem" "$smp" "$timeout_s"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || die "not a positive number: $v"
done

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
init_src=$script_dir/vm-init.sh
[[ -f $init_src ]] || die "missing $init_src"
cache=${ZL_VM_CACHE:-/var/cache/zl-cni/vm}

# Modules loaded at boot (with their dependencies, in order) ...
boot_modules=(
	virtio_pci 9pnet_virtio 9p overlay
	crc32c crc32c_generic libcrc32c af_packet
	wireguard veth bridge dummy tun
	nf_conntrack nf_nat
	x_tables ip_tables iptable_filter iptable_nat iptable_mangle
	ip6_tables ip6table_filter ip6table_nat ip6table_mangle
	xt_MASQUERADE xt_conntrack xt_comment xt_addrtype xt_tcpudp xt_mark xt_nat
	nf_tables nft_chain_nat nft_masq nft_nat nft_ct nft_compat
)
# ... and what else goes into the initramfs, loadable on demand (modprobe or
# kernel auto-loading): these trees and modules plus their dependencies.
extra_module_dirs=(
	kernel/net/netfilter kernel/net/ipv4/netfilter kernel/net/ipv6/netfilter
	kernel/net/bridge kernel/net/sched kernel/drivers/net/wireguard
)
extra_modules=(macvlan ipvlan vxlan geneve ifb nlmon 8021q virtio_rng)

# --- host packages ---------------------------------------------------------------
apt_updated=0
apt_update() {
	((apt_updated)) && return 0
	echo "$me: apt-get update" >&2
	apt-get update -qq >&2 || die "apt-get update failed"
	apt_updated=1
}
need_pkgs=(qemu-system-x86 busybox-static cpio kmod xz-utils coreutils util-linux)
missing=()
for p in "${need_pkgs[@]}"; do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
	((EUID == 0)) || die "missing packages (need root to install): ${missing[*]}"
	echo "$me: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
		apt_update
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install failed"
	fi
fi

mkdir -p "$cache" || die "cannot create $cache"
exec {lock_fd}>"$cache/.lock"
flock "$lock_fd"

# --- kernel ------------------------------------------------------------------------
kpkg=${ZL_VM_KERNEL_PKG:-}
if [[ -z $kpkg ]]; then
	# apt-cache takes ~0.5 s: remember its answer until the apt lists change.
	lists_stamp=$(stat -c %Y /var/lib/apt/lists 2>/dev/null) || lists_stamp=none
	if [[ -f $cache/kernel.resolved ]]; then
		read -r stamp kpkg <"$cache/kernel.resolved" || true
		[[ $stamp == "$lists_stamp" && -f $cache/kernel/$kpkg/.ok ]] || kpkg=
	fi
	if [[ -z $kpkg ]]; then
		kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}') || true
		[[ -z $kpkg ]] || echo "$lists_stamp $kpkg" >"$cache/kernel.resolved"
	fi
	if [[ -z $kpkg ]] && ! compgen -G "$cache/kernel/*/.ok" >/dev/null; then
		apt_update
		kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}') || true
	fi
	if [[ -z $kpkg ]]; then # offline: newest cached kernel
		ok=$(compgen -G "$cache/kernel/*/.ok" | sort -V | tail -n1) || true
		[[ -n $ok ]] || die "cannot resolve the kernel package from 'apt-cache depends linux-image-amd64'"
		kpkg=$(basename "$(dirname "$ok")")
	fi
fi
[[ $kpkg =~ ^linux-image-[A-Za-z0-9.+~-]+$ ]] || die "odd kernel package name: $kpkg"
kver=${kpkg#linux-image-}
kdir=$cache/kernel/$kpkg
if [[ ! -f $kdir/.ok ]]; then
	echo "$me: fetching $kpkg into $kdir" >&2
	rm -rf "$kdir" "$kdir.tmp"
	mkdir -p "$kdir.tmp/deb"
	chmod 0777 "$kdir.tmp/deb" # apt-get download runs as _apt
	if ! (cd "$kdir.tmp/deb" && apt-get download -q "$kpkg") >"$kdir.tmp/apt.log" 2>&1; then
		apt_update
		if ! (cd "$kdir.tmp/deb" && apt-get download -q "$kpkg") >"$kdir.tmp/apt.log" 2>&1; then
			cat "$kdir.tmp/apt.log" >&2
			die "apt-get download $kpkg failed"
		fi
	fi
	debs=("$kdir.tmp"/deb/*.deb)
	[[ -f ${debs[0]} ]] || die "apt-get download $kpkg produced no .deb"
	dpkg-deb -x "${debs[0]}" "$kdir.tmp/root" || die "dpkg-deb -x failed"
	rm -rf "$kdir.tmp/deb" "$kdir.tmp/apt.log"
	[[ -f $kdir.tmp/root/boot/vmlinuz-$kver ]] || die "no vmlinuz-$kver in $kpkg"
	depmod -b "$kdir.tmp/root" "$kver" || die "depmod failed"
	touch "$kdir.tmp/.ok"
	mv "$kdir.tmp" "$kdir"
fi
kroot=$kdir/root
kernel=$kroot/boot/vmlinuz-$kver
kmods=$kroot/lib/modules/$kver

# The bzImage's self-decompression takes ~2.5 s under TCG: when the kernel
# supports PVH, boot the uncompressed ELF vmlinux directly instead.
extract_vmlinux() { # bzImage out
	local magic cmd off
	for magic in $'\xfd7zXZ' $'\x28\xb5\x2f\xfd' $'\x1f\x8b\x08'; do
		case $magic in
		$'\xfd7zXZ') cmd=(xz -dc) ;;
		$'\x28\xb5\x2f\xfd') cmd=(zstd -qdc) ;;
		*) cmd=(gzip -dc) ;;
		esac
		command -v "${cmd[0]}" >/dev/null || continue
		while read -r off; do
			tail -c "+$((off + 1))" "$1" | "${cmd[@]}" >"$2" 2>/dev/null || true
			[[ $(head -c 4 "$2" | od -An -tx1 | tr -d ' ') == 7f454c46 ]] && return 0
		done < <(LC_ALL=C grep -aboF "$magic" "$1" | cut -d: -f1 | head -n 5)
	done
	rm -f "$2"
	return 1
}
if [[ ${ZL_VM_PVH:-1} == 1 ]] && grep -qx 'CONFIG_PVH=y' "$kroot/boot/config-$kver"; then
	if [[ ! -f $kdir/vmlinux.ok ]]; then
		if extract_vmlinux "$kernel" "$kdir/vmlinux.tmp"; then
			mv "$kdir/vmlinux.tmp" "$kdir/vmlinux"
			echo ok >"$kdir/vmlinux.ok"
		else
			echo failed >"$kdir/vmlinux.ok"
			echo "$me: note: cannot extract vmlinux; booting the bzImage" >&2
		fi
	fi
	if [[ -f $kdir/vmlinux && $(<"$kdir/vmlinux.ok") == ok ]]; then
		kernel=$kdir/vmlinux
	fi
fi

# --- initramfs -----------------------------------------------------------------------
key=$( (cat "${BASH_SOURCE[0]}" "$init_src" /bin/busybox; echo "$kpkg") | sha256sum | cut -c1-16)
initrd=$cache/initramfs-$kver-$key.cpio
if [[ ! -f $initrd ]]; then
	echo "$me: building $initrd" >&2
	rm -rf "$cache"/initramfs.*/ # leftovers of interrupted builds (we hold the lock)
	st=$(mktemp -d "$cache/initramfs.XXXXXX")
	rt=$st/root
	mkdir -p "$rt"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,etc/zl-vm,lib/modules/"$kver"}
	cp /bin/busybox "$rt/bin/busybox"
	while IFS= read -r applet; do
		[[ $applet == bin/busybox || -e $rt/$applet ]] && continue
		mkdir -p "$rt/$(dirname "$applet")"
		ln -s /bin/busybox "$rt/$applet"
	done < <(/bin/busybox --list-full)
	mknod -m 600 "$rt/dev/console" c 5 1 2>/dev/null || true
	install -m 0755 "$init_src" "$rt/init"

	# Boot modules in load order, via kmod's resolver (aliases, builtins).
	: >"$st/notes"
	: >"$st/load"
	for m in "${boot_modules[@]}"; do
		if ! out=$(modprobe -d "$kroot" -S "$kver" --show-depends "$m" 2>&1); then
			echo "module $m: not available in $kver" >>"$st/notes"
			continue
		fi
		while read -r what arg _; do
			case $what in
			insmod) echo "${arg#"$kmods"/}" >>"$st/load" ;;
			builtin) echo "module $arg: built into the kernel" >>"$st/notes" ;;
			esac
		done <<<"$out"
	done
	awk '!seen[$0]++' "$st/load" >"$st/load.u"
	awk '!seen[$0]++' "$st/notes" >"$rt/etc/zl-vm/notes"

	# Everything to copy: boot modules, extra trees/modules, their deps.
	{
		cat "$st/load.u"
		for d in "${extra_module_dirs[@]}"; do
			[[ -d $kmods/$d ]] && (cd "$kmods" && find "$d" -name '*.ko*')
		done
		for m in "${extra_modules[@]}"; do
			modprobe -d "$kroot" -S "$kver" --show-depends "$m" 2>/dev/null |
				awk -v p="$kmods/" '$1 == "insmod" {sub("^" p, "", $2); print $2}'
		done
	} | sort -u >"$st/want"
	awk -F': *' 'NR == FNR {want[$1] = 1; next}
		($1 in want) {print $1; n = split($2, d, " "); for (i = 1; i <= n; i++) print d[i]}' \
		"$st/want" "$kmods/modules.dep" | sort -u >"$st/copy"
	while IFS= read -r f; do
		dst=$rt/lib/modules/$kver/${f%.ko*}.ko
		mkdir -p "$(dirname "$dst")"
		case $f in
		*.ko.xz) xz -dc "$kmods/$f" >"$dst" ;;
		*.ko.zst) zstd -qdc "$kmods/$f" >"$dst" ;;
		*.ko.gz) gzip -dc "$kmods/$f" >"$dst" ;;
		*) cp "$kmods/$f" "$dst" ;;
		esac
	done <"$st/copy"
	sed -E 's/\.ko\.(xz|zst|gz)$/.ko/' "$st/load.u" >"$rt/etc/zl-vm/modules.load"
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[[ -f $kmods/$f ]] && sed -E 's/\.ko\.(xz|zst|gz)$/.ko/' "$kmods/$f" >"$rt/lib/modules/$kver/$f"
	done
	depmod -b "$rt" "$kver" || die "depmod (initramfs) failed"
	if [[ -s $rt/etc/zl-vm/notes ]]; then
		sed "s/^/$me: note: /" "$rt/etc/zl-vm/notes" >&2
	fi
	(cd "$rt" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$st/initrd" ||
		die "cpio failed"
	mv "$st/initrd" "$initrd"
	rm -rf "$st"
	find "$cache" -maxdepth 1 -name 'initramfs-*.cpio' ! -name "${initrd##*/}" -delete
fi
exec {lock_fd}>&-

# --- run -------------------------------------------------------------------------------
run=$(mktemp -d "${TMPDIR:-/tmp}/zl-vm.XXXXXX")
[[ $run =~ ^/[A-Za-z0-9._/-]+$ ]] || die "unusable run directory name: $run"
qpid=
fwd_pids=()
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	if [[ -n $qpid ]]; then kill "$qpid" 2>/dev/null || true; fi
	if ((${#fwd_pids[@]})); then kill "${fwd_pids[@]}" 2>/dev/null || true; fi
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

{
	pass=" ${ZL_VM_ENV:-} "
	while IFS= read -r n; do
		case $n in
		ZL_* | PATH | HOME | TERM | LANG | LANGUAGE | LC_* | TZ | USER | LOGNAME) ;;
		*) [[ $pass == *" $n "* ]] || continue ;;
		esac
		printf 'export %s=%q\n' "$n" "${!n}"
	done < <(compgen -e | grep -vx PATH)
	printf 'export PATH=%q\n' "$caller_path"
} >"$run/env"
printf '%s\n' "$PWD" >"$run/cwd"
{
	echo '#!/bin/bash'
	echo '. /run/zl-vm/env'
	printf 'cd -- %q || { echo "vm-run: cannot cd to %q inside the VM" >&2; exit 125; }\n' "$PWD" "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$run/run.sh"

tty=00
if [[ -t 1 ]]; then tty=1${tty:1}; fi
if [[ -t 2 ]]; then tty=${tty:0:1}1; fi
for c in con out err; do mkfifo "$run/$c.in" "$run/$c.out"; done
if ((verbose)); then
	tee "$run/console.log" <"$run/con.out" >&2 &
else
	cat <"$run/con.out" >"$run/console.log" &
fi
fwd_pids+=($!)
cat <"$run/out.out" &
fwd_pids+=($!)
cat <"$run/err.out" >&2 &
fwd_pids+=($!)
# Hold each output FIFO open read-write (after forking the readers, so they
# do not inherit it): their opens return at once, and they see EOF only once
# we close it after QEMU is gone -- even if QEMU never started.
exec {con_fd}<>"$run/con.out" {out_fd}<>"$run/out.out" {err_fd}<>"$run/err.out"

klog="quiet loglevel=3"
((verbose)) && klog="loglevel=7 zl.verbose=1"
t0=$(date +%s.%N)
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
	-nodefaults -no-user-config -accel tcg -cpu max -m "$mem" -smp "$smp" \
	-display none -monitor none -no-reboot -net none \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 $klog panic=-1 zl.run=$run zl.tty=$tty" \
	-chardev "pipe,id=con,path=$run/con" -serial chardev:con \
	-chardev "pipe,id=out,path=$run/out" -serial chardev:out \
	-chardev "pipe,id=err,path=$run/err" -serial chardev:err \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	</dev/null >"$run/qemu.log" 2>&1 &
qpid=$!
qrc=0
wait "$qpid" || qrc=$?
qpid=
exec {con_fd}>&- {out_fd}>&- {err_fd}>&-
wait "${fwd_pids[@]}" || true
fwd_pids=()
t1=$(date +%s.%N)
if ((verbose)); then
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "vm-run: VM ran %.1f s\n", b - a}' >&2
fi

status=$(tr -d '\r' <"$run/console.log" | grep -ao 'ZL_VM_EXIT=[0-9]*' | tail -n1 | cut -d= -f2) || true
if [[ -n $status ]]; then
	exit "$status"
fi
show_log() {
	if [[ -s $run/qemu.log ]]; then
		echo "--- qemu output:" >&2
		tail -n 20 "$run/qemu.log" >&2
	fi
	echo "--- VM console (last 30 lines):" >&2
	tr -d '\r' <"$run/console.log" | tail -n 30 >&2
}
if ((qrc == 124 || qrc == 137)); then
	echo "$me: timed out after ${timeout_s} s" >&2
	show_log
	exit 124
fi
err=$(tr -d '\r' <"$run/console.log" | grep -a 'ZL_VM_ERROR:' | tail -n1 | sed 's/.*ZL_VM_ERROR: *//') || true
echo "$me: the VM failed${err:+: $err} (qemu exit status $qrc, no ZL_VM_EXIT marker; -v shows the boot)" >&2
show_log
exit 125
