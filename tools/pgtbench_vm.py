"""Building blocks of tools/vm, the arm64 guest runner.

Everything here is free of qemu and of global state so that it can be unit tested
on any host (tests/guest/test_vm_unit.py):

  * ELF reading: the interpreter and DT_NEEDED libraries of the guest program, the
    .modinfo of kernel modules (to load the transport's modules in dependency order);
  * a newc cpio writer (the initramfs is written without root and without cpio(1),
    so device nodes and ownership come out right and the archive is reproducible);
  * the guest's /init script;
  * the result stream the guest sends back, its console framing, and their decoders;
  * the scanner that finds kernel warnings, BUGs, oopses and panics in a log;
  * the boot-log reader of --boot-map-mem (parse_boot_log, map_mem_results).

The result stream
-----------------
After the command has run, /init writes one stream, line-oriented headers followed by
raw payloads so that binary files survive:

    PGTBENCH-STREAM 1
    V <key> <value>                      scalar: exit_code, init_uptime_s, ...
    F <size> <sha256> <name>             then exactly <size> bytes, then "\\n"
    Z                                    end of stream

It travels over a virtio serial port named "pgtbench" (a host file behind qemu's
virtserialport: binary-clean, and separate from the console, where printk output
interleaves with user output). When the guest has no such port (a kernel without
virtio-console), the same stream is printed on the console, base64-encoded and framed:

    PGTB-BEGIN <size> <sha256>
    PGTB <n> <base64 line>               n = 1, 2, ...
    PGTB-END <count>

Frames are recognised anywhere on a console line, so kernel messages between frame
lines are ignored; anything that corrupts a frame is caught by the sequence numbers,
the size or the checksum, and decoding then fails loudly instead of returning bad data.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import gzip
import hashlib
import lzma
import os
import re
import shlex
import stat
import struct
import subprocess
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterable

# Name of the virtio serial port; the guest finds it in /sys/class/virtio-ports/*/name.
PORT_NAME = "pgtbench"

STREAM_MAGIC = b"PGTBENCH-STREAM 1\n"

# Where things live inside the guest.
GUEST_PGTBENCH = "/usr/bin/pgtbench"
GUEST_KMOD = "/lib/pgtbench/pgtbench.ko"
GUEST_TRANSPORT_MODULES_DIR = "/lib/pgtbench/transport"
GUEST_LIBDIR = "/usr/lib/aarch64-linux-gnu"
GUEST_CONFIGS = "/configs"
GUEST_RESULTS = "/results"

# Prefixes of the command's output mirrored on the console.
MIRROR_STDOUT = "pgtbench-out: "
MIRROR_STDERR = "pgtbench-err: "


class StreamError(Exception):
    """The result stream is missing, truncated or corrupted."""


class ElfError(Exception):
    """A file is not an ELF file this tool can read."""


# ---------------------------------------------------------------------------
# ELF
# ---------------------------------------------------------------------------

EM_AARCH64 = 183
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_RPATH, _DT_RUNPATH = 0, 1, 5, 15, 29


@dataclasses.dataclass
class ElfInfo:
    machine: int
    interp: str | None  # PT_INTERP, e.g. /lib/ld-linux-aarch64.so.1; None if static
    needed: list[str]  # DT_NEEDED sonames, in order
    runpath: list[str]  # DT_RUNPATH, else DT_RPATH entries (may contain $ORIGIN)


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
    (machine,) = struct.unpack_from("<H", data, 18)
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
    return ElfInfo(machine, interp, needed, runpath)


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


# ---------------------------------------------------------------------------
# newc cpio
# ---------------------------------------------------------------------------

class CpioWriter:
    """Writes a newc ("070701") cpio archive, the format the kernel unpacks into its
    initramfs. Parent directories are added automatically; every entry is owned by
    root and has mtime 0, so the same inputs give the same archive."""

    def __init__(self, out: BinaryIO):
        self._out = out
        self._ino = 300000
        self._paths: set[str] = set()
        self.bytes_written = 0

    def _write(self, b: bytes):
        self._out.write(b)
        self.bytes_written += len(b)

    def _entry(self, path: str, mode: int, data: bytes = b"",
               rdev: tuple[int, int] = (0, 0), nlink: int = 1):
        name = path.strip("/").encode() if path != "TRAILER!!!" else b"TRAILER!!!"
        self._ino += 1
        fields = [self._ino, mode, 0, 0, nlink, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(name) + 1, 0]
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self._write(header + name + b"\0")
        self._write(b"\0" * (-(len(header) + len(name) + 1) % 4))
        self._write(data)
        self._write(b"\0" * (-len(data) % 4))

    def _parents(self, path: str):
        parts = PurePosixPath("/" + path.strip("/")).parts[1:-1]
        for i in range(1, len(parts) + 1):
            self.add_dir("/".join(parts[:i]))

    def add_dir(self, path: str, mode: int = 0o755):
        key = path.strip("/")
        if key in self._paths or not key:
            return
        self._parents(key)
        self._paths.add(key)
        self._entry(key, stat.S_IFDIR | mode, nlink=2)

    def add_file(self, path: str, data: bytes, mode: int = 0o644):
        key = path.strip("/")
        if key in self._paths:
            raise ValueError(f"duplicate initramfs entry /{key}")
        self._parents(key)
        self._paths.add(key)
        self._entry(key, stat.S_IFREG | mode, data)

    def add_symlink(self, path: str, target: str):
        key = path.strip("/")
        if key in self._paths:
            raise ValueError(f"duplicate initramfs entry /{key}")
        self._parents(key)
        self._paths.add(key)
        self._entry(key, stat.S_IFLNK | 0o777, target.encode())

    def add_chardev(self, path: str, major: int, minor: int, mode: int = 0o600):
        key = path.strip("/")
        self._parents(key)
        self._paths.add(key)
        self._entry(key, stat.S_IFCHR | mode, rdev=(major, minor))

    def add_tree(self, src: Path, dest: str):
        """Copies a host file or directory tree (regular files, dirs, symlinks)."""
        src = Path(src)
        if src.is_symlink():
            self.add_symlink(dest, os.readlink(src))
        elif src.is_dir():
            self.add_dir(dest)
            for child in sorted(src.iterdir()):
                self.add_tree(child, f"{dest.rstrip('/')}/{child.name}")
        else:
            self.add_file(dest, src.read_bytes(), stat.S_IMODE(src.stat().st_mode))

    def __contains__(self, path: str) -> bool:
        return path.strip("/") in self._paths

    def finish(self):
        self._entry("TRAILER!!!", 0)


def read_cpio(data: bytes) -> dict[str, tuple[int, bytes]]:
    """Parses a newc archive into {path: (mode, data)}; used by the tests."""
    out = {}
    pos = 0
    while True:
        if data[pos:pos + 6] != b"070701":
            raise ValueError(f"bad cpio magic at {pos}")
        fields = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[pos + 110:pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        if name == "TRAILER!!!":
            return out
        out[name] = (mode, data[pos:pos + size])
        pos += size
        pos += -pos % 4


def gzip_bytes(data: bytes) -> bytes:
    # mtime=0 keeps the archive reproducible; level 6 is as small as 9 here, and faster.
    return gzip.compress(data, compresslevel=6, mtime=0)


# ---------------------------------------------------------------------------
# Guest /init
# ---------------------------------------------------------------------------

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

S=/run/pgtbench
mkdir -p $S @RESULTS@
say "running: $(cat /etc/pgtbench/command | tail -n 1)"
read cmd_start _ < /proc/uptime
# Output goes to files and, prefixed, to the console: a run that never finishes
# still leaves its last words in the host's console.log.
mkfifo $S/stderr.pipe
tee $S/stderr < $S/stderr.pipe | awk '{ print "@ERR@" $0; fflush() }' &
set -o pipefail
sh /etc/pgtbench/command < /dev/null 2> $S/stderr.pipe | tee $S/stdout |
	awk '{ print "@OUT@" $0; fflush() }'
rc=$?
set +o pipefail
wait
read cmd_end _ < /proc/uptime
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


def init_script() -> str:
    return (INIT_SCRIPT.replace("@PORT@", PORT_NAME)
            .replace("@RESULTS@", GUEST_RESULTS)
            .replace("@TRANSPORT_DIR@", GUEST_TRANSPORT_MODULES_DIR)
            .replace("@OUT@", MIRROR_STDOUT).replace("@ERR@", MIRROR_STDERR))


# ---------------------------------------------------------------------------
# Result stream
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class GuestReport:
    files: dict[str, bytes]  # "stdout", "stderr", "dmesg", "results/<path>"
    values: dict[str, str]

    @property
    def exit_code(self) -> int:
        return int(self.values["exit_code"])

    def results(self) -> dict[str, bytes]:
        return {k[len("results/"):]: v for k, v in self.files.items()
                if k.startswith("results/")}


def encode_stream(values: dict[str, str], files: dict[str, bytes]) -> bytes:
    """Host-side twin of what /init writes (used by the tests)."""
    out = [STREAM_MAGIC]
    for k, v in values.items():
        out.append(b"V %s %s\n" % (k.encode(), str(v).encode()))
    for name, data in files.items():
        out.append(b"F %d %s %s\n" % (len(data), hashlib.sha256(data).hexdigest().encode(),
                                       name.encode()))
        out.append(data + b"\n")
    out.append(b"Z\n")
    return b"".join(out)


def decode_stream(data: bytes) -> GuestReport:
    """Parses and verifies a result stream; raises StreamError on any defect."""
    if not data:
        raise StreamError("empty result stream (the guest sent nothing)")
    if not data.startswith(STREAM_MAGIC):
        raise StreamError("result stream does not start with %r" % STREAM_MAGIC)
    pos = len(STREAM_MAGIC)
    files: dict[str, bytes] = {}
    values: dict[str, str] = {}
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise StreamError("result stream truncated after %d bytes" % pos)
        line = data[pos:nl].decode("utf-8", "surrogateescape")
        pos = nl + 1
        if line == "Z":
            break
        kind, _, rest = line.partition(" ")
        if kind == "V":
            key, _, value = rest.partition(" ")
            values[key] = value
        elif kind == "F":
            m = re.fullmatch(r"(\d+) ([0-9a-f]{64}) (.+)", rest)
            if not m:
                raise StreamError("bad file record %r" % line)
            size, digest, name = int(m[1]), m[2], m[3]
            if pos + size + 1 > len(data):
                raise StreamError("result stream truncated inside %s" % name)
            payload = data[pos:pos + size]
            if data[pos + size:pos + size + 1] != b"\n":
                raise StreamError("%s: length mismatch" % name)
            if hashlib.sha256(payload).hexdigest() != digest:
                raise StreamError("%s: sha256 mismatch" % name)
            if name in files:
                raise StreamError("%s sent twice" % name)
            files[name] = payload
            pos += size + 1
        else:
            raise StreamError("unknown record %r" % line[:80])
    if "exit_code" not in values or not re.fullmatch(r"-?\d+", values["exit_code"]):
        raise StreamError("result stream has no exit code")
    for name in files:
        parts = PurePosixPath(name).parts
        if PurePosixPath(name).is_absolute() or ".." in parts:
            raise StreamError("unsafe file name %r" % name)
    return GuestReport(files, values)


_FRAME_BEGIN = re.compile(r"PGTB-BEGIN (\d+) ([0-9a-f]{64})\s*$")
_FRAME_LINE = re.compile(r"PGTB (\d+) ([A-Za-z0-9+/=]+)\s*$")
_FRAME_END = re.compile(r"PGTB-END (\d+)\s*$")


def frame_for_console(stream: bytes) -> str:
    """Host-side twin of the console framing in /init (used by the tests)."""
    b64 = base64.encodebytes(stream).decode().splitlines()
    lines = ["PGTB-BEGIN %d %s" % (len(stream), hashlib.sha256(stream).hexdigest())]
    lines += ["PGTB %d %s" % (i + 1, l) for i, l in enumerate(b64)]
    lines.append("PGTB-END %d" % len(b64))
    return "\r\n".join(lines) + "\r\n"


def deframe_console(text: str) -> bytes | None:
    """Extracts the framed stream from a console log. Returns None when the log has no
    PGTB-BEGIN at all (the stream went elsewhere, or the guest never got that far);
    raises StreamError when a frame was started but cannot be recovered intact."""
    begin = None
    chunks: dict[int, str] = {}
    end = None
    for raw in text.splitlines():
        line = raw.replace("\r", "")
        m = _FRAME_BEGIN.search(line)
        if m:
            # A later BEGIN starts over: only the last transfer counts.
            begin, chunks, end = (int(m[1]), m[2]), {}, None
            continue
        if begin is None or end is not None:
            continue
        m = _FRAME_LINE.search(line)
        if m:
            n = int(m[1])
            if n in chunks and chunks[n] != m[2]:
                raise StreamError("console frame %d received twice, differently" % n)
            chunks[n] = m[2]
            continue
        m = _FRAME_END.search(line)
        if m:
            end = int(m[1])
    if begin is None:
        return None
    if end is None:
        raise StreamError("console transfer incomplete: no PGTB-END (got %d lines)"
                          % len(chunks))
    lost = [n for n in range(1, end + 1) if n not in chunks]
    if lost or len(chunks) != end:
        raise StreamError("console transfer lost %d of %d lines (first: %s)"
                          % (len(lost), end, lost[:5]))
    try:
        data = base64.b64decode("".join(chunks[n] for n in range(1, end + 1)),
                                validate=True)
    except binascii.Error as e:
        raise StreamError("console transfer corrupted: %s" % e) from None
    size, digest = begin
    if len(data) != size:
        raise StreamError("console transfer: %d bytes, expected %d" % (len(data), size))
    if hashlib.sha256(data).hexdigest() != digest:
        raise StreamError("console transfer: sha256 mismatch")
    return data


# ---------------------------------------------------------------------------
# Kernel log scanner
# ---------------------------------------------------------------------------

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

_TIMESTAMP = re.compile(r"^\s*(<\d+>)?\[\s*\d+\.\d+\]\s?")
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
        body = _TIMESTAMP.sub("", line)
        if any(p.search(body) for _, p in SPLAT_PATTERNS) and body not in seen:
            seen.add(body)
            hits.append(line)
    return hits


# ---------------------------------------------------------------------------
# Command line pieces
# ---------------------------------------------------------------------------

def default_label(image: str) -> str:
    """build/kernels/6.12/Image -> "6.12"; /tmp/vmlinuz-6.12.1 -> "vmlinuz-6.12.1"."""
    p = Path(image)
    name = p.name
    if name == "Image" and p.parent.name:
        name = p.parent.resolve().name if p.parent.name == ".." else p.parent.name
    # A label names an output directory: keep it to a tame alphabet.
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name).strip(".") or "kernel"


_LABEL_OK = re.compile(r"[A-Za-z0-9._+-]+")


def parse_kernel_spec(spec: str) -> tuple[str, str]:
    """[LABEL=]IMAGE -> (label, image). An '=' belongs to the label only if what
    precedes it has no '/', so paths containing '=' still work."""
    label, sep, image = spec.partition("=")
    if not sep or "/" in label or not label:
        return default_label(spec), spec
    if not image:
        raise ValueError(f"--kernel {spec!r}: no image")
    if not _LABEL_OK.fullmatch(label) or label in (".", ".."):
        raise ValueError(f"--kernel {spec!r}: label {label!r} must match [A-Za-z0-9._+-]+")
    return label, image


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


# ---------------------------------------------------------------------------
# Boot-time map_mem (tools/vm --boot-map-mem)
# ---------------------------------------------------------------------------

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
        line = _TIMESTAMP.sub("", raw.replace("\r", "").rstrip())
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


def format_size(n: int) -> str:
    """The harness's formatSize: 17179869184 -> "16G"; what entry names use."""
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def parse_size(text: str) -> int:
    """"16G", "512M", "1.5G" (qemu's -m suffixes, powers of 1024) -> bytes."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)B?", text.strip(), re.I)
    if not m:
        raise ValueError(f"{text!r} is not a size like 16G or 512M")
    shift = {"": 20, "K": 10, "M": 20, "G": 30, "T": 40}[m[2].upper()]  # bare: MiB, as qemu
    return int(float(m[1]) * (1 << shift))


def summarize(samples: list[float]) -> dict:
    """The harness's summary (harness/stats.cpp): sample stddev, cv = stddev/|mean|."""
    n = len(samples)
    if not n:
        return {"n": 0, "mean": 0.0, "median": 0.0, "stddev": 0.0, "cv": 0.0,
                "min": 0.0, "max": 0.0}
    v = sorted(samples)
    mean = sum(v) / n
    median = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    stddev = (sum((x - mean) ** 2 for x in v) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return {"n": n, "mean": mean, "median": median, "stddev": stddev,
            "cv": stddev / abs(mean) if mean else 0.0, "min": v[0], "max": v[-1]}


MAP_MEM_SCENARIO = "map_mem_boot"
MAP_MEM_METRIC = "map_mem_ms"


@dataclasses.dataclass
class MapMemEntry:
    """One (kernel, memory size, rodata) of a --boot-map-mem run: a sample per boot."""
    mem_bytes: int
    rodata: str
    status: str = "ok"  # ok | skipped | error
    reason: str = ""
    boots: list[dict] = dataclasses.field(default_factory=list)  # one per boot, see below

    @property
    def name(self) -> str:
        return f"{MAP_MEM_SCENARIO}/mem:{format_size(self.mem_bytes)}/rodata:{self.rodata}"

    def samples_ms(self) -> list[float]:
        return [b["map_mem_us"] / 1000.0 for b in self.boots
                if b.get("map_mem_us") is not None]


def map_mem_results(label: str, entries: list[MapMemEntry], *, release: str | None,
                    version: str | None, cmdline: str, cpu_model: str, accel: str,
                    smp: int, page_size: int, reps: int, command_line: list[str],
                    created_utc: str, host_name: str, pgtbench_version: str) -> dict:
    """A results file (results/schema.json) for one kernel's boots: the layout of
    harness/results.cpp, with one entry per memory size and rodata setting.

    env describes the guest as far as the host knows it without running anything in
    it: the memory size is a parameter of each entry, so mem_total_bytes is 0 and
    the entries' boots[] carry what each kernel reported."""
    doc_entries, benchmarks = [], []
    for e in entries:
        samples = e.samples_ms() if e.status == "ok" else []
        doc_entries.append({
            "name": e.name,
            "scenario": MAP_MEM_SCENARIO,
            "params": {"mem_bytes": e.mem_bytes, "rodata": e.rodata},
            "status": e.status,
            "reason": e.reason if e.status != "ok" else "",
            "reps": reps, "warmup": 0,
            "cpu": 0,  # map_mem() runs on the boot CPU, before the others are up
            "primary_metric": MAP_MEM_METRIC,
            "metrics": {MAP_MEM_METRIC: {"unit": "ms", "better": "lower",
                                         "samples": samples,
                                         "summary": summarize(samples)}},
            "knobs_changed": [], "checks": [], "counters": {},
            "boots": e.boots,
        })
        for i, ms in enumerate(samples):
            # Google Benchmark's shape, so that its tools/compare.py can read the file.
            benchmarks.append({"name": e.name, "run_name": e.name, "run_type": "iteration",
                               "repetitions": len(samples), "repetition_index": i,
                               "threads": 1, "iterations": 1, "real_time": ms,
                               "cpu_time": ms, "time_unit": "ms"})
    statuses = {e.status for e in entries}
    exit_code = 1 if "error" in statuses else 4 if statuses == {"skipped"} else 0
    rodata_notes = {}
    m = re.findall(r"(?:^|\s)rodata=(\S+)", cmdline)
    if m:
        rodata_notes["rodata"] = m[-1]
    model = cpu_model.split(",")[0]
    return {
        "context": {"date": created_utc, "host_name": host_name,
                    "executable": "tools/vm --boot-map-mem", "num_cpus": smp},
        "benchmarks": benchmarks,
        "pgtbench": {
            "schema_version": 1,
            "version": pgtbench_version,
            "label": label,
            "created_utc": created_utc,
            "command_line": command_line,
            "cpu": 0,
            "exit_code": exit_code,
            "config": {
                "path": "", "reps": reps, "warmup": 0, "label": label, "cpu": 0,
                "filter": "",
                "scenarios": {MAP_MEM_SCENARIO: {
                    "mem": sorted({e.mem_bytes for e in entries}),
                    "rodata": sorted({e.rodata for e in entries})}},
            },
            "env": {
                "arch": "aarch64",
                # What pgtbench env says in a -cpu max guest ("QEMU max"); other
                # models keep qemu's name for them.
                "cpu": {"model": f"QEMU {model}", "vendor": "QEMU", "midr": []},
                "cores": smp, "pus": smp, "numa_nodes": 1,
                "page_size_bytes": page_size,
                "kernel": {"release": release or "unknown", "version": version or "",
                           "cmdline": cmdline, "cmdline_notes": rodata_notes},
                "virtualization": {
                    "vm": True,
                    "hypervisor": "QEMU TCG" if accel == "tcg" else "KVM",
                    "evidence": f"tools/vm --boot-map-mem booted it: qemu-system-aarch64 "
                                f"-M virt -accel {accel} -cpu {cpu_model}"},
                # Not probed (null): nothing runs in the guest.
                "thp": {"present": None, "enabled": None, "defrag": None,
                        "pmd_size_bytes": None, "pmd_order": None,
                        "per_size_controls": None, "sizes": []},
                "mem_total_bytes": 0,
                "mem_available_bytes": 0,
                "perf": {"paranoid": None, "pmus": [], "kprobe_pmu": False,
                         "user_access": None, "pfm_pmus": [],
                         "pfm_error": "not probed: nothing runs in the guest"},
                "kmod": {"loaded": False, "detail": "not used: the kernel itself prints "
                                                    "the time"},
            },
        },
        "entries": doc_entries,
    }


def test_kernel(fetch: bool) -> Path:
    """The arm64 kernel the tests boot: $PGTBENCH_VM_KERNEL, else 6.12 from the kernel
    cache ($PGTBENCH_VM_KERNEL_CACHE, default build/kernels), fetched there when `fetch`
    (cheap when another test fetched it already: fetch-kernel takes a lock)."""
    if os.environ.get("PGTBENCH_VM_KERNEL"):
        return Path(os.environ["PGTBENCH_VM_KERNEL"])
    repo = Path(__file__).resolve().parents[1]
    cache = os.environ.get("PGTBENCH_VM_KERNEL_CACHE")
    if not cache:
        return repo / "build/kernels/6.12/Image"
    image = Path(cache) / "6.12/Image"
    if fetch and not image.is_file():
        subprocess.run([str(repo / "tools/fetch-kernel"), "--cache", cache, "6.12"], check=True)
    return image
