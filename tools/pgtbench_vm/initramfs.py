"""What the guest runs and where things live inside it: the guest's paths, the /init
script (mount the pseudo file systems, load the transport's modules, with --swap make
zram swap, run the command
with its output mirrored on the console, send the result stream back, power off) and
the command script it runs. tools/vm puts these in the initramfs; the tests run pieces
of /init with the host's shell to check they agree with the decoders."""

from __future__ import annotations

import shlex

from .stream import PORT_NAME

# Where things live inside the guest.
GUEST_PGTBENCH = "/usr/bin/pgtbench"
GUEST_KMOD = "/lib/pgtbench/pgtbench.ko"
GUEST_TRANSPORT_MODULES_DIR = "/lib/pgtbench/transport"
GUEST_SWAP_MODULES_DIR = "/lib/pgtbench/swap"
GUEST_SWAP_ENV = "/etc/pgtbench/swap"  # SwapPlan.env(), with tools/vm --swap only
GUEST_LIBDIR = "/usr/lib/aarch64-linux-gnu"
GUEST_CONFIGS = "/configs"
GUEST_RESULTS = "/results"

# Prefixes of the command's output mirrored on the console.
MIRROR_STDOUT = "pgtbench-out: "
MIRROR_STDERR = "pgtbench-err: "


def guest_command_script(argv: list[str]) -> str:
    """The user's command as a shell script for busybox sh. `exec` keeps the exit
    status (including 128+signal) exactly the command's."""
    return "cd /\nexec " + " ".join(shlex.quote(a) for a in argv) + "\n"


INIT_SCRIPT = r"""#!/bin/busybox sh
# Init of the pgtbench guest: run one command, send its results to the host, power off.
/bin/busybox --install -s
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C
say() { echo "pgtbench-init: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
read init_uptime _ < /proc/uptime

# Modules the transport needs on kernels that build virtio-console as a module.
for ko in $(ls @TRANSPORT_DIR@/*.ko 2>/dev/null); do
	insmod "$ko" || say "insmod $ko failed"
done
@SWAP@
S=/run/pgtbench
mkdir -p $S @RESULTS@
say "running: $(cat /etc/pgtbench/command | tail -n 1)"
read cmd_start _ < /proc/uptime
@RUN_COMMAND@read cmd_end _ < /proc/uptime
say "command exited with $rc"
dmesg > $S/dmesg

emit() {	# emit NAME FILE: one F record of the stream
	set -- "$1" "$2" "$(stat -c %s "$2")" "$(sha256sum "$2")"
	printf 'F %s %s %s\n' "$3" "${4%% *}" "$1"
	cat "$2"
	printf '\n'
}
{
	printf 'PGTBENCH-STREAM 1\n'
	printf 'V exit_code %s\n' "$rc"
	printf 'V init_uptime_s %s\n' "$init_uptime"
	printf 'V command_start_uptime_s %s\n' "$cmd_start"
	printf 'V command_end_uptime_s %s\n' "$cmd_end"
	emit stdout $S/stdout
	emit stderr $S/stderr
	find @RESULTS@ -type f | sort | while IFS= read -r f; do emit "${f#/}" "$f"; done
	emit dmesg $S/dmesg
	printf 'Z\n'
} > $S/stream

port=
for d in /sys/class/virtio-ports/*; do
	[ "$(cat "$d/name" 2>/dev/null)" = "@PORT@" ] && port=/dev/${d##*/}
done
if [ -n "$port" ] && cat $S/stream > "$port"; then
	say "results sent over $port"
else
	# No virtio port: frame the stream on the console. Only emergency messages may
	# reach the console meanwhile (dmesg is already in the stream).
	echo 1 > /proc/sys/kernel/printk
	set -- $(stat -c %s $S/stream) $(sha256sum $S/stream)
	echo "PGTB-BEGIN $1 $2"
	base64 $S/stream | awk '{ print "PGTB " NR " " $0 } END { print "PGTB-END " NR }'
fi
say "done"
poweroff -f
# poweroff should not return; if it does, never let init exit (that would panic).
echo o > /proc/sysrq-trigger
while :; do sleep 60; done
"""


# tools/vm --swap: zram0 as swap before the command starts. Whatever fails is said in one
# line and the command runs without swap, so that its swap-backed cases can skip with the
# reason instead of the whole run being lost.
SWAP_ON = r"""
zram_swap() {
	. @SWAP_ENV@
	if [ -n "$swap_error" ]; then
		say "swap: $swap_error; running without swap"; return 1
	fi
	for ko in $(ls @SWAP_DIR@/*.ko 2>/dev/null); do
		if ! out=$(insmod "$ko" 2>&1); then
			say "swap: insmod ${ko##*/} failed: $(echo $out); running without swap"
			return 1
		fi
	done
	z=/sys/block/zram0
	if [ ! -e $z/disksize ]; then
		say "swap: no $z after loading zram; running without swap"; return 1
	fi
	# Set although it is the default: a compressor the kernel lacks is refused here, by
	# name, instead of failing later as an unexplained disksize error.
	if [ -n "$swap_algo" ] && ! printf '%s\n' "$swap_algo" 2>/dev/null > $z/comp_algorithm; then
		offers=$(cat $z/comp_algorithm)
		say "swap: zram refused compressor $swap_algo (it offers: $offers); running without swap"
		return 1
	fi
	if ! printf '%s\n' "$swap_bytes" 2>/dev/null > $z/disksize; then
		say "swap: writing $swap_bytes to $z/disksize failed; running without swap"
		return 1
	fi
	if ! out=$(mkswap /dev/zram0 2>&1); then
		say "swap: mkswap /dev/zram0 failed: $(echo $out); running without swap"
		return 1
	fi
	if ! out=$(swapon /dev/zram0 2>&1); then
		say "swap: swapon /dev/zram0 failed: $(echo $out); running without swap"
		return 1
	fi
	algo=$(sed -n 's/.*\[\([^]]*\)\].*/\1/p' $z/comp_algorithm)
	say "swap: zram0 $swap_size (${algo:-$swap_algo})"
}
zram_swap
"""


# Output goes to files and, prefixed, to the console as it comes: a run that never
# finishes still leaves its last words in the host's console.log.
RUN_MIRRORED = r"""mkfifo $S/stderr.pipe
tee $S/stderr < $S/stderr.pipe | awk '{ print "@ERR@" $0; fflush() }' &
set -o pipefail
sh /etc/pgtbench/command < /dev/null 2> $S/stderr.pipe | tee $S/stdout |
	awk '{ print "@OUT@" $0; fflush() }'
rc=$?
set +o pipefail
wait
"""

# Counted runs (tools/vm --count): no tee or awk may run while the command's windows are
# open (their work would be counted with it), so the console gets the output afterwards.
RUN_QUIET = r"""sh /etc/pgtbench/command < /dev/null > $S/stdout 2> $S/stderr
rc=$?
awk '{ print "@OUT@" $0 }' $S/stdout
awk '{ print "@ERR@" $0 }' $S/stderr
"""


def init_script(mirror: bool = True, swap: bool = False) -> str:
    """/init; `mirror` copies the command's output to the console while it runs; `swap`
    sets up zram swap before the command (without it /init has no trace of swap)."""
    return (INIT_SCRIPT.replace("@RUN_COMMAND@", RUN_MIRRORED if mirror else RUN_QUIET)
            .replace("@SWAP@", SWAP_ON if swap else "")
            .replace("@SWAP_ENV@", GUEST_SWAP_ENV)
            .replace("@SWAP_DIR@", GUEST_SWAP_MODULES_DIR)
            .replace("@PORT@", PORT_NAME)
            .replace("@RESULTS@", GUEST_RESULTS)
            .replace("@TRANSPORT_DIR@", GUEST_TRANSPORT_MODULES_DIR)
            .replace("@OUT@", MIRROR_STDOUT).replace("@ERR@", MIRROR_STDERR))
