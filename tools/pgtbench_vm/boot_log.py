"""What map_mem() left in a kernel's boot log: the boot-log reader of tools/boot-map-mem.
It reads one boot from a console log, up to the kernel's memory summary, and says
whether the kernel is instrumented (kmod/patches/0001-arm64-mm-time-map_mem.patch
prints the time), what it measured, the boot's rodata= and memory, and any kernel
splat before the summary. Checked on the captured logs of tests/fixtures/boot-logs/."""

from __future__ import annotations

import dataclasses
import re

from .kernel_log import TIMESTAMP, scan_kernel_log

# What kmod/patches/0001-arm64-mm-time-map_mem.patch prints from paging_init(): the
# seeds' format, so kernels they instrumented read the same.
_MAP_MEM_TIME = re.compile(r"\bmap_mem: time=(\d+) us\b")
# The patch's line when firmware left CNTFRQ_EL0 at 0: instrumented, but no time.
_MAP_MEM_TICKS = re.compile(r"\bmap_mem: (\d+) counter ticks\b")
_LINUX_VERSION = re.compile(r"\bLinux version (\S+) \(.*?\) (#.*)$")
_CMDLINE = re.compile(r"\bKernel command line: (.*)$")
# mem_init()'s summary: available / total RAM the kernel manages, in KiB.
_MEMORY = re.compile(r"\bMemory: (\d+)K/(\d+)K available\b")


@dataclasses.dataclass
class BootLog:
    """What a kernel's boot log says about map_mem(). `past_map_mem` is whether the
    log goes on past paging_init() (the command line and memory summary are printed
    after it): only then does a missing line mean the kernel is not instrumented."""
    release: str | None = None  # "6.1.192-pgtbench-mapmem", from "Linux version"
    version: str | None = None  # "#1 SMP Tue ...": the build, after the release
    cmdline: str | None = None  # "Kernel command line: ..."
    rodata: str | None = None  # the last rodata= of the command line (it wins)
    map_mem_us: int | None = None
    instrumented: bool = False
    mem_total_bytes: int | None = None  # "Memory: <available>K/<total>K available"
    mem_available_bytes: int | None = None
    past_map_mem: bool = False
    # WARNING/BUG/Oops/panic lines up to the memory summary (all, without one). What
    # follows it is not this measurement's: a kernel booted without a root file
    # system panics there by design.
    splats: list[str] = dataclasses.field(default_factory=list)


def parse_boot_log(text: str) -> BootLog:
    """Reads one boot from a console log or dmesg, up to the kernel's memory summary
    (everything map_mem() concerns comes before it): printk timestamps, carriage
    returns and other output between the kernel's lines are ignored, and a second
    "Linux version" (a reboot) ends the boot."""
    log = BootLog()
    lines = text.splitlines()
    for n, raw in enumerate(lines):
        line = TIMESTAMP.sub("", raw.replace("\r", "").rstrip())
        m = _LINUX_VERSION.search(line)
        if m:
            if log.release is not None:
                lines = lines[:n]
                break
            log.release, log.version = m[1], m[2].strip()
            continue
        m = _MAP_MEM_TIME.search(line)
        if m and log.map_mem_us is None:
            log.instrumented, log.map_mem_us = True, int(m[1])
            continue
        if _MAP_MEM_TICKS.search(line):
            log.instrumented = True
            continue
        m = _CMDLINE.search(line)
        if m and log.cmdline is None:
            log.cmdline = m[1].strip()
            log.past_map_mem = True
            for arg in log.cmdline.split():
                if arg.startswith("rodata="):
                    log.rodata = arg[len("rodata="):]
            continue
        m = _MEMORY.search(line)
        if m:
            log.mem_available_bytes = int(m[1]) * 1024
            log.mem_total_bytes = int(m[2]) * 1024
            log.past_map_mem = True
            lines = lines[:n + 1]
            break
    log.splats = scan_kernel_log("\n".join(lines))
    return log


def boot_log_complete(log: BootLog) -> bool:
    """Whether a boot can stop: the memory summary is out, and the map_mem line, if
    the kernel has one, came before it."""
    return log.mem_total_bytes is not None


def not_instrumented_reason(log: BootLog) -> str:
    return (f"not instrumented: kernel {log.release or '(release unknown)'} printed no "
            f"'map_mem: time=' line (kmod/patches/0001-arm64-mm-time-map_mem.patch)")


def rodata_args(cmdline: str) -> list[str]:
    """The values of every rodata= of a kernel command line, in order (the last wins)."""
    return re.findall(r"(?:^|\s)rodata=(\S+)", cmdline)
