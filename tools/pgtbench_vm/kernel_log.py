"""The scanner that finds kernel warnings, BUGs, oopses and panics in a kernel log or a
console log: tools/vm fails a run whose guest kernel complained (exit 6), and the
boot-log reader of tools/boot-map-mem reports them. The command's own output, which
/init mirrors on the console, is not the kernel's and is passed over."""

from __future__ import annotations

import re

from .initramfs import MIRROR_STDERR, MIRROR_STDOUT

# What marks a kernel in trouble. Matched against each log line; printk timestamps
# ("[   12.345678] ") and console frame lines are ignored.
SPLAT_PATTERNS = [
    ("warning", re.compile(r"\bWARNING:")),
    ("warning", re.compile(r"-{6,}\[ cut here \]-{6,}")),
    ("bug", re.compile(r"\bBUG:")),
    ("oops", re.compile(r"\bOops\b")),
    ("panic", re.compile(r"Kernel panic")),
    ("call trace", re.compile(r"Call trace:")),
]

# printk's "[   12.345678] " prefix (with its <level>, as dmesg -r and kmsg show it).
TIMESTAMP = re.compile(r"^\s*(<\d+>)?\[\s*\d+\.\d+\]\s?")
_PRINTK_TIME = re.compile(r"\[\s*\d+\.\d{6}\]")


def scan_kernel_log(text: str) -> list[str]:
    """Returns the offending lines of a kernel log or console log, in order, each
    once (timestamps stripped for the comparison, not in the result)."""
    hits = []
    seen = set()
    for raw in text.splitlines():
        line = raw.replace("\r", "").rstrip()
        if line.startswith("PGTB"):
            continue
        if line.startswith((MIRROR_STDOUT, MIRROR_STDERR)) and not _PRINTK_TIME.search(line):
            # The command's own output, mirrored: a program may print "WARNING:".
            # Unless a kernel message was spliced into the line, it is not the kernel's.
            continue
        body = TIMESTAMP.sub("", line)
        if any(p.search(body) for _, p in SPLAT_PATTERNS) and body not in seen:
            seen.add(body)
            hits.append(line)
    return hits
