"""A newc cpio writer and reader, for the guest's initramfs. The archive is written
without root and without cpio(1), so that device nodes and ownership come out right
and the same inputs give the same bytes; the reader exists for the tests."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path, PurePosixPath
from typing import BinaryIO


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
