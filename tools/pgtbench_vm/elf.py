"""ELF reading for the guest's initramfs: the interpreter and DT_NEEDED libraries of the
guest program (to copy every shared library it needs, found the way the dynamic loader
finds them), and the .modinfo of kernel modules (to load the transport's modules in
dependency order, refusing modules built for another kernel). Only what the loader and
insmod read is parsed: program headers, the dynamic section and one section by name."""

from __future__ import annotations

import dataclasses
import gzip
import lzma
import struct
import subprocess
from pathlib import Path, PurePosixPath
from typing import Iterable


class ElfError(Exception):
    """A file is not an ELF file this tool can read."""


EM_AARCH64 = 183
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_RPATH, _DT_RUNPATH = 0, 1, 5, 15, 29


@dataclasses.dataclass
class ElfInfo:
    machine: int
    interp: str | None  # PT_INTERP, e.g. /lib/ld-linux-aarch64.so.1; None if static
    needed: list[str]  # DT_NEEDED sonames, in order
    runpath: list[str]  # DT_RUNPATH, else DT_RPATH entries (may contain $ORIGIN)
    type: int = 0  # e_type: 2 executable, 3 shared object (or PIE)


def _cstr(data: bytes, off: int) -> str:
    end = data.index(b"\0", off)
    return data[off:end].decode("utf-8", "surrogateescape")


def read_elf(data: bytes) -> ElfInfo:
    """Reads what the dynamic loader reads: the program headers, not the sections,
    which stripped or odd binaries may lack."""
    if data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ElfError("not a 64-bit little-endian ELF file")
    e_type, machine = struct.unpack_from("<HH", data, 16)
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)

    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    interp = None
    dynamic = None
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_INTERP:
            interp = data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)

    needed_off: list[int] = []
    runpath_off = rpath_off = None
    strtab_vaddr = None
    if dynamic is not None:
        off, size = dynamic
        for pos in range(off, off + size - 15, 16):
            tag, val = struct.unpack_from("<qQ", data, pos)
            if tag == _DT_NULL:
                break
            if tag == _DT_NEEDED:
                needed_off.append(val)
            elif tag == _DT_STRTAB:
                strtab_vaddr = val
            elif tag == _DT_RUNPATH:
                runpath_off = val
            elif tag == _DT_RPATH:
                rpath_off = val

    needed: list[str] = []
    runpath: list[str] = []
    if strtab_vaddr is not None:
        # DT_STRTAB is an address: map it back to a file offset through PT_LOAD.
        strtab = None
        for vaddr, offset, filesz in loads:
            if vaddr <= strtab_vaddr < vaddr + filesz:
                strtab = offset + (strtab_vaddr - vaddr)
                break
        if strtab is None:
            raise ElfError("DT_STRTAB is outside every PT_LOAD segment")
        needed = [_cstr(data, strtab + o) for o in needed_off]
        # The loader ignores DT_RPATH when DT_RUNPATH is present.
        path_off = runpath_off if runpath_off is not None else rpath_off
        if path_off is not None:
            runpath = [p for p in _cstr(data, strtab + path_off).split(":") if p]
    return ElfInfo(machine, interp, needed, runpath, e_type)


def read_elf_file(path: Path) -> ElfInfo:
    try:
        return read_elf(Path(path).read_bytes())
    except (ElfError, struct.error, ValueError, IndexError) as e:
        raise ElfError(f"{path}: {e}") from None


def elf_sections(data: bytes) -> dict[str, bytes]:
    """Section name -> contents, for relocatable objects such as kernel modules."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ElfError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
    headers = []
    for i in range(shnum):
        name, _type, _flags, _addr, offset, size = struct.unpack_from(
            "<IIQQQQ", data, shoff + i * shentsize)
        headers.append((name, offset, size))
    names_off = headers[shstrndx][1]
    return {_cstr(data, names_off + name): data[offset:offset + size]
            for name, offset, size in headers}


def module_info(ko: bytes, key: str) -> str | None:
    """One field of a module's .modinfo, e.g. depends or vermagic."""
    try:
        info = elf_sections(ko).get(".modinfo", b"")
    except (struct.error, IndexError, ValueError) as e:
        raise ElfError(f"unreadable module: {e}") from None
    prefix = key.encode() + b"="
    for field in info.split(b"\0"):
        if field.startswith(prefix):
            return field[len(prefix):].decode("utf-8", "replace")
    return None


def module_depends(ko: bytes) -> list[str]:
    """Module names (with '-' or '_') a module needs loaded first."""
    return [d for d in (module_info(ko, "depends") or "").split(",") if d]


def read_module(path: Path) -> bytes:
    """A module file's ELF bytes; Debian compresses its modules with xz."""
    path = Path(path)
    data = path.read_bytes()
    try:
        if path.suffix == ".xz":
            return lzma.decompress(data)
        if path.suffix == ".gz":
            return gzip.decompress(data)
        if path.suffix == ".zst":
            return subprocess.run(["zstd", "-dc", str(path)], check=True,
                                  capture_output=True).stdout
    except (lzma.LZMAError, OSError, EOFError, subprocess.CalledProcessError) as e:
        raise ElfError(f"{path}: cannot decompress: {e}") from None
    return data


def load_order(modules_dir: Path, names: Iterable[str], release: str | None = None
               ) -> list[tuple[str, bytes]]:
    """The named modules and their dependencies (from .modinfo, since a package
    unpacked with dpkg -x has no modules.dep), dependencies first, decompressed
    on the host because busybox insmod passes the file to the kernel as is.
    With `release`, modules built for another kernel are refused (ElfError)."""
    norm = lambda n: n.replace("-", "_")
    index = {}
    for p in Path(modules_dir).rglob("*.ko*"):
        index.setdefault(norm(p.name.split(".ko")[0]), p)
    builtin = set()
    builtin_list = Path(modules_dir) / "modules.builtin"
    if builtin_list.is_file():
        builtin = {norm(Path(l).name.split(".ko")[0])
                   for l in builtin_list.read_text().split()}
    order, done = [], set()

    def visit(name):
        name = norm(name)
        if name in done or name in builtin:
            return
        done.add(name)
        if name not in index:
            raise FileNotFoundError(f"module {name} not found under {modules_dir}")
        data = read_module(index[name])
        vermagic = module_info(data, "vermagic")
        if release and vermagic and vermagic.split()[0] != release:
            raise ElfError(f"{index[name]} is for kernel {vermagic.split()[0]}, "
                           f"not {release}")
        for dep in module_depends(data):
            visit(dep)
        order.append((name, data))

    for n in names:
        if norm(n) in builtin:
            # The caller's kernel builds it as a module: these are another kernel's.
            raise ElfError(f"{n} is built into the kernel of {modules_dir}")
        visit(n)
    return order


def resolve_libraries(program: Path, search_dirs: Iterable[Path]
                      ) -> tuple[Path | None, str | None, dict[str, Path]]:
    """Finds, on the host, every shared library `program` needs, recursively.

    Returns (interpreter host path, interpreter guest path, {soname: host path}).
    DT_RUNPATH/DT_RPATH entries are searched first ($ORIGIN relative to the object
    that names them, as the loader does) so that libraries from a build tree are
    found; then `search_dirs` in order. The interpreter is looked up by file name in
    the same directories, so that ld.so and libc come from the same glibc build.
    Raises FileNotFoundError naming every library that could not be found."""
    search_dirs = [Path(d) for d in search_dirs]
    top = read_elf_file(program)
    if top.machine != EM_AARCH64:
        raise ElfError(f"{program}: not an aarch64 program (e_machine {top.machine})")

    found: dict[str, Path] = {}
    missing: list[str] = []
    queue: list[tuple[Path, ElfInfo]] = [(Path(program), top)]
    while queue:
        obj, info = queue.pop(0)
        origin = str(Path(obj).resolve().parent)
        dirs = [Path(p.replace("$ORIGIN", origin).replace("${ORIGIN}", origin))
                for p in info.runpath] + search_dirs
        for soname in info.needed:
            if soname in found or soname in missing:
                continue
            for d in dirs:
                candidate = d / soname
                if candidate.is_file():
                    lib_info = read_elf_file(candidate)
                    if lib_info.machine != EM_AARCH64:
                        continue  # e.g. a host library in a build tree's RUNPATH
                    found[soname] = candidate
                    queue.append((candidate, lib_info))
                    break
            else:
                missing.append(soname)
    if missing:
        raise FileNotFoundError(
            "shared libraries not found for %s: %s (searched %s)" % (
                program, ", ".join(missing), ", ".join(map(str, search_dirs))))

    interp_host = None
    if top.interp:
        name = PurePosixPath(top.interp).name
        for d in search_dirs:
            if (d / name).is_file():
                interp_host = d / name
                break
        else:
            if Path(top.interp).is_file():
                interp_host = Path(top.interp)
            else:
                raise FileNotFoundError(f"program interpreter {top.interp} not found")
    return interp_host, top.interp, found
