"""The command-line values both programs parse, and what they read from a kernel's
files: [LABEL=]IMAGE kernel specs, SRC[:DEST] file specs, memory sizes, a kernel
config's symbols, and the page size and release of an arm64 Image.

A label here only names the kernel's output directory (LABEL/ under --out-dir), so it
is kept to a tame alphabet; whether it can label a results file is the harness's
rule (`pgtbench import` refuses one it cannot take: tools/boot-map-mem asks it)."""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path, PurePosixPath

# What a label may contain: it names a directory on any file system.
_LABEL_CHARS = "A-Za-z0-9._+-"


def default_label(image: str) -> str:
    """build/kernels/6.12/Image -> "6.12"; /tmp/vmlinuz-6.12.1 -> "vmlinuz-6.12.1"."""
    p = Path(image)
    name = p.name
    if name == "Image" and p.parent.name:
        name = p.parent.resolve().name if p.parent.name == ".." else p.parent.name
    return re.sub(f"[^{_LABEL_CHARS}]", "_", name).strip(".") or "kernel"


def parse_kernel_spec(spec: str) -> tuple[str, str]:
    """[LABEL=]IMAGE -> (label, image). An '=' belongs to the label only if what
    precedes it has no '/', so paths containing '=' still work."""
    label, sep, image = spec.partition("=")
    if not sep or "/" in label or not label:
        return default_label(spec), spec
    if not image:
        raise ValueError(f"--kernel {spec!r}: no image")
    if not re.fullmatch(f"[{_LABEL_CHARS}]+", label) or label in (".", ".."):
        raise ValueError(f"--kernel {spec!r}: label {label!r} must match [{_LABEL_CHARS}]+")
    return label, image


def kernel_images(specs: list[str]) -> list[tuple[str, Path]]:
    """Every --kernel of a call as (label, image): each image exists, no label twice
    (a label names the kernel's output). ValueError says which is wrong."""
    kernels: list[tuple[str, Path]] = []
    for spec in specs:
        label, image = parse_kernel_spec(spec)
        if not Path(image).is_file():
            raise ValueError(f"kernel image {image} does not exist")
        if label in (k[0] for k in kernels):
            raise ValueError(f"kernel label {label!r} used twice; name them LABEL=IMAGE")
        kernels.append((label, Path(image)))
    return kernels


def parse_file_spec(spec: str) -> tuple[str, str]:
    """SRC[:DEST] -> (src, absolute guest dest). DEST defaults to /<basename of SRC>;
    a DEST ending in '/' is a directory that receives SRC under its own name."""
    if os.path.exists(spec) or ":" not in spec:
        src, dest = spec, ""
    else:
        src, _, dest = spec.rpartition(":")
    name = Path(src).name
    if not dest:
        dest = "/" + name
    elif dest.endswith("/"):
        dest = dest + name
    if not dest.startswith("/"):
        dest = "/" + dest
    if ".." in PurePosixPath(dest).parts:
        raise ValueError(f"--file {spec!r}: destination may not contain '..'")
    return src, dest


def kernel_config_value(config_text: str, symbol: str) -> str | None:
    """'y', 'm', a string, or None (unset) for CONFIG_<symbol>."""
    m = re.search(r"^%s=(.*)$" % re.escape(symbol), config_text, re.M)
    return m[1].strip('"') if m else None


def image_page_size(image: bytes) -> int | None:
    """The page size an arm64 Image was built for, from its header's flags (bits 1-2:
    1 = 4K, 2 = 16K, 3 = 64K; Documentation/arch/arm64/booting.rst). None when the
    file is not an arm64 Image or leaves the field unspecified (before Linux 3.17)."""
    if len(image) < 64 or image[56:60] != b"ARM\x64":
        return None
    flags, = struct.unpack_from("<Q", image, 24)
    return {1: 4096, 2: 16384, 3: 65536}.get((flags >> 1) & 3)


def image_kernel_version(image_head: bytes) -> str | None:
    """The release string from an uncompressed Image's 'Linux version ...' banner."""
    m = re.search(rb"Linux version (\S+) \(", image_head)
    return m[1].decode() if m else None


def parse_size(text: str) -> int:
    """"16G", "512M", "1.5G" (qemu's -m suffixes, powers of 1024) -> bytes."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)B?", text.strip(), re.I)
    if not m:
        raise ValueError(f"{text!r} is not a size like 16G or 512M")
    shift = {"": 20, "K": 10, "M": 20, "G": 30, "T": 40}[m[2].upper()]  # bare: MiB, as qemu
    return int(float(m[1]) * (1 << shift))


def format_size(n: int) -> str:
    """17179869184 -> "16G", as the harness's formatSize writes sizes in entry names;
    here it names console logs and progress lines (the harness names the entries)."""
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)
