"""How both programs boot an arm64 guest: the accelerator and CPU model (KVM only on an
arm64 host with a usable /dev/kvm and the host's own CPU, TCG otherwise) and the
qemu-system-aarch64 command line of one boot, the same virt machine for both."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from .cli import UsageError

QEMU = "qemu-system-aarch64"


def kvm_usable() -> bool:
    if platform.machine() not in ("aarch64", "arm64"):
        return False
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        return True
    except OSError:
        return False


def choose_accel(cpu: str | None) -> tuple[str, str]:
    """(accel, cpu model) for --cpu. KVM runs only the host's CPU, so a named model
    means TCG even on arm64."""
    if kvm_usable() and cpu in (None, "host", "max"):
        return "kvm", cpu or "host"
    cpu = cpu or "max"
    model = cpu.split(",")[0]
    if model == "host":
        raise UsageError("--cpu host needs KVM (an arm64 host with a usable /dev/kvm)")
    models = subprocess.run([QEMU, "-cpu", "help"], capture_output=True, text=True).stdout
    known = {l.split()[0] for l in models.splitlines()[1:] if l.strip()}
    if known and model not in known:
        raise UsageError(f"--cpu {model}: not a CPU model of {QEMU} -cpu help")
    return "tcg", cpu


def boot_command(*, accel: str, cpu: str, smp: int, qemu_mem: str, kernel: Path,
                 append: str, initrd: Path | None = None, noreserve: bool = False) -> list[str]:
    """One boot of `kernel` with `qemu_mem` (qemu's -m text, e.g. 2G) of RAM, its serial
    console on stdout and no network. -no-reboot makes a reboot end qemu: with the
    kernel's panic=-1, so does a panic. With `noreserve` the RAM is mapped MAP_NORESERVE."""
    # GICv2, the default, stops at 8 CPUs, and many arm64 KVM hosts cannot emulate it.
    machine = "virt" if smp <= 8 and accel != "kvm" else "virt,gic-version=max"
    if noreserve:
        # reserve=off (MAP_NORESERVE): the host's overcommit heuristic would refuse one
        # mapping larger than its RAM, yet the guest touches only a small part of it.
        cmd = [QEMU, "-M", f"{machine},memory-backend=pgtbram",
               "-object", f"memory-backend-ram,id=pgtbram,size={qemu_mem},reserve=off"]
    else:
        cmd = [QEMU, "-M", machine]
    cmd += ["-accel", accel, "-cpu", cpu, "-smp", str(smp), "-m", qemu_mem,
            "-nographic", "-no-reboot", "-nic", "none", "-kernel", str(kernel)]
    if initrd is not None:
        cmd += ["-initrd", str(initrd)]
    return cmd + ["-append", append]
