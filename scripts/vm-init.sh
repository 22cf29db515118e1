#!/bin/sh
# shellcheck shell=sh
# /init of the initramfs built by scripts/vm-run.sh (runs under busybox sh).
#
# Loads the kernel modules listed in /etc/zl-vm/modules.load, mounts the
# host's / (virtio-9p tag "hostroot") read-only as the lower layer of an
# overlay with a tmpfs upper, chroots into it and runs /run/zl-vm/run.sh
# (written by vm-run.sh), then reports "ZL_VM_EXIT=<status>" on the console
# and powers off.
#
# Serial ports: ttyS0 = console (kernel + this script, logged by the host),
# ttyS1 = the command's stdout, ttyS2 = the command's stderr.
# Kernel command line: zl.run=<host dir holding env, run.sh and cwd>,
# zl.tty=<o><e> (1 = the caller's stdout/stderr is a terminal).

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

say() {
	read -r up _ </proc/uptime 2>/dev/null || up="?"
	echo "zl-vm-init[$up]: $*"
}

# Print a kernel message at KERN_EMERG: printk writes synchronously to the
# serial console, so the line is out before we power off.
report() {
	echo "<0>$*" >/dev/kmsg 2>/dev/null || echo "$*"
}

halt_now() {
	sync
	poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 10
}

fail() {
	report "ZL_VM_ERROR: $*"
	halt_now
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ln -s /proc/self/fd /dev/fd
kver=$(uname -r)
say "started"

run=
tty=00
verbose=
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case $arg in
	zl.run=*) run=${arg#zl.run=} ;;
	zl.tty=*) tty=${arg#zl.tty=} ;;
	zl.verbose=1) verbose=1 ;;
	esac
done
[ -n "$verbose" ] || dmesg -n 1

# --- modules -----------------------------------------------------------------
if [ -s /etc/zl-vm/notes ]; then
	while IFS= read -r line; do say "note: $line"; done </etc/zl-vm/notes
fi
# One busybox modprobe for all (much faster than an insmod per module under
# TCG); on any failure, insmod one by one to report what is missing.
# shellcheck disable=SC2046 # one module name per word
if [ -f /etc/zl-vm/modules.load ] &&
	! modprobe -a $(sed 's|.*/||; s|\.ko$||' /etc/zl-vm/modules.load) 2>/dev/null; then
	while IFS= read -r m; do
		[ -n "$m" ] || continue
		if ! err=$(insmod "/lib/modules/$kver/$m" 2>&1); then
			case $err in
			*"File exists"*) ;;
			*) say "note: insmod $m failed: $err" ;;
			esac
		fi
	done </etc/zl-vm/modules.load
fi

say "modules loaded"

# --- root filesystem -------------------------------------------------------------
mkdir -p /lower /upper /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower ||
	fail "cannot mount the host root over virtio-9p (tag hostroot)"
mount -t tmpfs -o mode=0755 upper /upper
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot ||
	fail "cannot mount the overlay root"

r=/newroot
mount -t proc proc $r/proc || fail "cannot mount /proc in the new root"
mount -t sysfs sysfs $r/sys || fail "cannot mount /sys in the new root"
mount -t devtmpfs devtmpfs $r/dev || fail "cannot mount /dev in the new root"
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts $r/dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $r/dev/shm
# /tmp stays the host's, through the overlay: a checkout or scratch dir under /tmp (CI clones,
# test dirs) must be visible; writes land in the tmpfs upper as everywhere else.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $r/run || fail "cannot mount /run in the new root"
if [ ! -L $r/var/run ]; then
	mkdir -p $r/var/run
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $r/var/run
fi
mkdir -p $r/run/lock $r/run/zl-vm
chmod 1777 $r/run/lock

# This kernel's modules (the host has none for it), for modprobe inside the
# chroot; kernel-initiated module loads use /sbin/modprobe of the initramfs.
mkdir -p "$r/lib/modules/$kver" && mount -o bind "/lib/modules/$kver" "$r/lib/modules/$kver"

hostname zl-vm
ip link set lo up

# --- the command -----------------------------------------------------------------
[ -n "$run" ] || fail "no zl.run= on the kernel command line"
[ -f "/lower$run/run.sh" ] || fail "run directory /lower$run not visible"
cp -a "/lower$run/." $r/run/zl-vm/ || fail "cannot copy the run directory"
cwd=$(cat $r/run/zl-vm/cwd)
# A cwd under a directory the VM mounts afresh (/run): overlay it too.
if [ ! -d "$r$cwd" ] && [ -d "/lower$cwd" ]; then
	k=$(echo "$cwd" | md5sum | cut -c1-12)
	mkdir -p "/upper/x$k/data" "/upper/x$k/work" "$r$cwd"
	mount -t overlay -o "lowerdir=/lower$cwd,upperdir=/upper/x$k/data,workdir=/upper/x$k/work" overlay "$r$cwd" ||
		say "note: cannot make $cwd visible"
fi

exec 3>/dev/ttyS1 4>/dev/ttyS2
stty -F /dev/ttyS1 raw -echo
stty -F /dev/ttyS2 raw -echo
say "running command"

# The command gets the serial port itself when the caller's stream is a
# terminal, a pipe otherwise (so isatty() answers as it would on the host).
pids=
case $tty in 1?) out=/dev/fd/3 ;; *)
	out=/zl-out
	mkfifo $out
	cat $out >&3 &
	pids="$pids $!"
	;;
esac
case $tty in ?1) errout=/dev/fd/4 ;; *)
	errout=/zl-err
	mkfifo $errout
	cat $errout >&4 &
	pids="$pids $!"
	;;
esac

rc=0
env -i /bin/busybox chroot $r /bin/bash /run/zl-vm/run.sh </dev/null >"$out" 2>"$errout" || rc=$?

if [ -n "$pids" ]; then
	# Give the forwarders a moment if a leftover background process still
	# holds the pipes open.
	(
		sleep 3
		# shellcheck disable=SC2086
		kill $pids 2>/dev/null
	) &
	killer=$!
	# shellcheck disable=SC2086
	wait $pids
	kill $killer 2>/dev/null
fi
# The last close of a serial port waits until its output has drained.
exec 3>&- 4>&-

report "ZL_VM_EXIT=$rc"
halt_now
