"""Swap for the guest (tools/vm --swap SIZE): a zram device, the only swap an initramfs
guest without disks can have. Decided on the host from the kernel's config and modules,
because the guest's busybox cannot modprobe (the modules are not installed there under
/lib/modules): every module zram needs, its compressor's included, is loaded by /init
with insmod, dependencies first.

Where the compressor lives depends on the kernel. From 6.12 zram has backends of its own
(CONFIG_ZRAM_BACKEND_*), compiled into zram.ko, whose compression libraries are module
dependencies (lz4_compress, ...) that load_order finds. Before that, zram asks the crypto
API for its algorithm (CONFIG_ZRAM_DEF_COMP, e.g. lzo-rle), which request_module()s a
crypto module that only an explicit insmod can provide in this guest; built in
(CONFIG_CRYPTO_LZO=y on Debian's 6.1) nothing is needed."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Iterable

from .elf import ElfError, load_order
from .specs import format_size, kernel_config_value, parse_size

# Below this, busybox mkswap refuses the area on 64K-page kernels (it wants 10 pages).
MIN_SWAP_BYTES = 1 << 20

# The crypto API's compressors zram may default to before it had backends: the config
# symbol that builds each, and the module that symbol builds (crypto/<module>.ko).
CRYPTO_COMPRESSORS = {
    "lzo-rle": ("CONFIG_CRYPTO_LZO", "lzo-rle"),
    "lzo": ("CONFIG_CRYPTO_LZO", "lzo"),
    "lz4": ("CONFIG_CRYPTO_LZ4", "lz4"),
    "lz4hc": ("CONFIG_CRYPTO_LZ4HC", "lz4hc"),
    "zstd": ("CONFIG_CRYPTO_ZSTD", "zstd"),
    "842": ("CONFIG_CRYPTO_842", "842"),
}


def parse_swap_size(text: str) -> int:
    """--swap's SIZE in bytes (suffixes as --mem's); ValueError says what is wrong."""
    try:
        n = parse_size(text)
    except ValueError:
        raise ValueError(f"--swap {text!r} is not a size like 512M or 1G") from None
    if n < MIN_SWAP_BYTES:
        raise ValueError(f"--swap {text!r} is too small for a swap area "
                         f"(at least {format_size(MIN_SWAP_BYTES)})")
    return n


@dataclasses.dataclass
class SwapPlan:
    """What /init needs for zram swap on one kernel. `error` set: the guest says it and
    runs the command without swap."""
    size: int
    algo: str | None = None  # written to comp_algorithm; None: the kernel's default
    modules: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)
    error: str | None = None
    note: str = ""

    def env(self) -> str:
        """/etc/pgtbench/swap, read by /init's zram_swap (shell assignments)."""
        values = {"swap_size": format_size(self.size), "swap_bytes": str(self.size),
                  "swap_algo": self.algo or "", "swap_error": self.error or ""}
        return "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items())


def uses_zram_backends(config_text: str) -> bool:
    """True from 6.12 on: zram's compressors are its own (any CONFIG_ZRAM_BACKEND_ line,
    set or not, exists only in kernels that have them)."""
    return "CONFIG_ZRAM_BACKEND_" in config_text


def plan_swap(size: int, config_text: str | None, modules_dirs: Iterable[Path],
              release: str | None) -> SwapPlan:
    """The modules (dependencies first) and compressor for `size` bytes of zram swap."""
    dirs = [Path(d) for d in modules_dirs]
    if config_text is None:
        # No config to read: try zram as a module with the kernel's default compressor.
        wanted, algo, built_in = ["zram"], None, []
    else:
        zram = kernel_config_value(config_text, "CONFIG_ZRAM")
        if zram not in ("y", "m"):
            return SwapPlan(size, error="CONFIG_ZRAM is not set in this kernel")
        algo = kernel_config_value(config_text, "CONFIG_ZRAM_DEF_COMP")
        wanted = ["zram"] if zram == "m" else []
        built_in = ["zram"] if zram == "y" else []
        if algo and not uses_zram_backends(config_text):
            if algo not in CRYPTO_COMPRESSORS:
                return SwapPlan(size, algo, error=f"zram's default compressor {algo} "
                                                  "is not one this tool knows the module of")
            symbol, module = CRYPTO_COMPRESSORS[algo]
            value = kernel_config_value(config_text, symbol)
            if value == "m":
                # First, so that zram finds the algorithm registered instead of
                # request_module()ing it.
                wanted.insert(0, module)
            elif value == "y":
                built_in.append(f"crypto {algo}")
            else:
                return SwapPlan(size, algo, error=f"zram's default compressor {algo} "
                                                  f"needs {symbol}, which is not set")
    if not wanted:
        return SwapPlan(size, algo, note=f"{' and '.join(built_in)} built in")
    if not dirs:
        return SwapPlan(size, algo, error=f"{', '.join(wanted)} are modules and no "
                                          "modules directory was found")
    errors = []
    for d in dirs:
        try:
            modules = load_order(d, wanted, release)
        except (OSError, ElfError) as e:
            errors.append(str(e))
            continue
        note = f"loading {', '.join(n for n, _ in modules)} from {d}"
        if built_in:
            note += f" ({' and '.join(built_in)} built in)"
        return SwapPlan(size, algo, modules, note=note)
    return SwapPlan(size, algo, error="; ".join(errors))
