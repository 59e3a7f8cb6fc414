"""The result stream the guest sends back after its command, its console framing, and
their decoders.

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
import hashlib
import re
from pathlib import PurePosixPath

# Name of the virtio serial port; the guest finds it in /sys/class/virtio-ports/*/name.
PORT_NAME = "pgtbench"

STREAM_MAGIC = b"PGTBENCH-STREAM 1\n"


class StreamError(Exception):
    """The result stream is missing, truncated or corrupted."""


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
