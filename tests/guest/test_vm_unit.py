#!/usr/bin/python3
"""Unit tests of tools/vm and tools/boot-map-mem that need neither qemu nor an arm64
kernel: the result stream and its console framing, the kernel log scanner, the cpio
writer, ELF and module reading, the command line pieces, and tools/boot-map-mem's
boot-log reader and the results files the harness makes of its samples (on real
captured boot logs, tests/fixtures/boot-logs/). Those results files need a native
pgtbench with `import` ($PGTBENCH, else build/pgtbench): without one, their checks
are skipped.

    /usr/bin/python3 -m unittest tests/guest/test_vm_unit.py     (or run it directly)
"""

import argparse
import gzip
import hashlib
import importlib.machinery
import importlib.util
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import testlib  # noqa: E402
from testlib import REPO  # noqa: E402
from pgtbench_vm.boot_log import (boot_log_complete, not_instrumented_reason,  # noqa: E402
                                  parse_boot_log)
from pgtbench_vm import count  # noqa: E402
from pgtbench_vm.cli import UsageError  # noqa: E402
from pgtbench_vm.cpio import CpioWriter, gzip_bytes, read_cpio  # noqa: E402
from pgtbench_vm.elf import (EM_AARCH64, ElfError, load_order, module_depends,  # noqa: E402
                             read_elf, resolve_libraries)
from pgtbench_vm.initramfs import (GUEST_SWAP_ENV, GUEST_SWAP_MODULES_DIR,  # noqa: E402
                                   GUEST_TRANSPORT_MODULES_DIR, MIRROR_STDERR,
                                   MIRROR_STDOUT, guest_command_script, init_script)
from pgtbench_vm.kernel_log import scan_kernel_log  # noqa: E402
from pgtbench_vm.map_mem_samples import MapMemEntry  # noqa: E402
from pgtbench_vm.specs import (format_size, image_kernel_version,  # noqa: E402
                               image_page_size, kernel_config_value, parse_file_spec,
                               parse_kernel_spec, parse_size)
from pgtbench_vm.swap import SwapPlan, parse_swap_size, plan_swap  # noqa: E402
from pgtbench_vm.stream import (PORT_NAME, STREAM_MAGIC, StreamError,  # noqa: E402
                                decode_stream, deframe_console, encode_stream,
                                frame_for_console)

ALL_BYTES = bytes(range(256)) * 3 + b"\n\r\n\0PGTB 1 AAAA\nZ\n"


# --- tiny ELF builders --------------------------------------------------------

def make_program(machine=EM_AARCH64, interp="/lib/ld-linux-aarch64.so.1",
                 needed=(), runpath=None):
    """A minimal ELF64 executable: PT_LOAD covering the file, PT_INTERP, PT_DYNAMIC."""
    base = 0x400000
    strtab = b"\0"
    offsets = []
    for n in needed:
        offsets.append(len(strtab))
        strtab += n.encode() + b"\0"
    rp_off = None
    if runpath is not None:
        rp_off = len(strtab)
        strtab += runpath.encode() + b"\0"
    interp_b = interp.encode() + b"\0" if interp else b""

    phnum = 3 if interp else 2
    interp_at = 64 + 56 * phnum
    strtab_at = interp_at + len(interp_b)
    dyn_at = (strtab_at + len(strtab) + 7) & ~7
    dyn = b"".join(struct.pack("<qQ", 1, o) for o in offsets)
    dyn += struct.pack("<qQ", 5, base + strtab_at)
    if rp_off is not None:
        dyn += struct.pack("<qQ", 29, rp_off)
    dyn += struct.pack("<qQ", 0, 0)
    total = dyn_at + len(dyn)

    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    header = ident + struct.pack("<HHIQQQIHHHHHH", 3, machine, 1, base, 64, 0, 0,
                                 64, 56, phnum, 64, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, total, total, 0x1000)
    if interp:
        ph += struct.pack("<IIQQQQQQ", 3, 4, interp_at, base + interp_at,
                          base + interp_at, len(interp_b), len(interp_b), 1)
    ph += struct.pack("<IIQQQQQQ", 2, 6, dyn_at, base + dyn_at, base + dyn_at,
                      len(dyn), len(dyn), 8)
    body = header + ph + interp_b + strtab
    body += b"\0" * (dyn_at - len(body))
    return body + dyn


def make_module(modinfo_fields):
    """A minimal relocatable ELF64 with a .modinfo section."""
    modinfo = b"".join(f.encode() + b"\0" for f in modinfo_fields)
    shstrtab = b"\0.shstrtab\0.modinfo\0"
    data_at = 64
    shstr_at = data_at + len(modinfo)
    sh_at = (shstr_at + len(shstrtab) + 7) & ~7
    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    header = ident + struct.pack("<HHIQQQIHHHHHH", 1, EM_AARCH64, 1, 0, 0, sh_at,
                                 0, 64, 0, 0, 64, 3, 1)
    sections = b"\0" * 64
    sections += struct.pack("<IIQQQQIIQQ", 1, 3, 0, 0, shstr_at, len(shstrtab), 0, 0, 1, 0)
    sections += struct.pack("<IIQQQQIIQQ", 11, 1, 2, 0, data_at, len(modinfo), 0, 0, 1, 0)
    body = header + modinfo + shstrtab
    return body + b"\0" * (sh_at - len(body)) + sections


# --- result stream ------------------------------------------------------------

class ResultStream(unittest.TestCase):
    def sample(self):
        return encode_stream(
            {"exit_code": "4", "init_uptime_s": "6.01"},
            {"stdout": b"hello\n", "stderr": b"", "results/run.json": b'{"a": 1}\n',
             "results/sub dir/blob.bin": ALL_BYTES, "dmesg": b"[ 0.0] Booting\n"})

    def test_round_trip_keeps_binary_content_and_exit_code(self):
        report = decode_stream(self.sample())
        self.assertEqual(report.exit_code, 4)
        self.assertEqual(report.files["stderr"], b"")
        self.assertEqual(report.results(), {"run.json": b'{"a": 1}\n',
                                            "sub dir/blob.bin": ALL_BYTES})
        self.assertEqual(report.values["init_uptime_s"], "6.01")

    def test_truncation_anywhere_is_detected(self):
        data = self.sample()
        for cut in (0, 5, len(STREAM_MAGIC) + 3, len(data) // 2, len(data) - 1):
            with self.subTest(cut=cut), self.assertRaises(StreamError):
                decode_stream(data[:cut])

    def test_flipped_byte_in_payload_is_detected(self):
        data = bytearray(self.sample())
        i = data.index(ALL_BYTES) + 100
        data[i] ^= 0x01
        with self.assertRaisesRegex(StreamError, "sha256"):
            decode_stream(bytes(data))

    def test_wrong_length_is_detected(self):
        data = self.sample().replace(b"F 6 ", b"F 5 ", 1)
        with self.assertRaises(StreamError):
            decode_stream(data)

    def test_missing_exit_code_is_an_error(self):
        with self.assertRaisesRegex(StreamError, "exit code"):
            decode_stream(encode_stream({}, {"stdout": b""}))

    def test_unsafe_names_are_rejected(self):
        for name in ("/etc/passwd", "results/../../x"):
            with self.subTest(name=name), self.assertRaisesRegex(StreamError, "unsafe"):
                decode_stream(encode_stream({"exit_code": 0}, {name: b"x"}))

    def test_guest_emit_matches_decoder(self):
        """Runs /init's emit() with the host's sh on real files: the decoder must
        accept what the guest's shell code produces."""
        sh = shutil.which("sh")
        needed = ("sha256sum", "stat", "cat")
        if not sh or not all(shutil.which(t) for t in needed):
            self.skipTest("needs sh, sha256sum, stat")
        script = init_script()
        emit = script[script.index("emit() {"):script.index("\n}\n") + 3]
        with tempfile.TemporaryDirectory() as d:
            Path(d, "blob").write_bytes(ALL_BYTES)
            Path(d, "empty").write_bytes(b"")
            out = subprocess.run(
                [sh, "-c", emit + "printf 'PGTBENCH-STREAM 1\\nV exit_code 0\\n'; "
                 "emit 'results/a b' blob; emit stderr empty; printf 'Z\\n'"],
                cwd=d, capture_output=True, check=True).stdout
        report = decode_stream(out)
        self.assertEqual(report.results(), {"a b": ALL_BYTES})
        self.assertEqual(report.files["stderr"], b"")


class ConsoleFraming(unittest.TestCase):
    stream = encode_stream({"exit_code": 0}, {"results/x": ALL_BYTES * 20})

    def test_round_trip_through_noisy_console(self):
        lines = frame_for_console(self.stream).split("\r\n")
        noisy = ["[    1.000000] Booting Linux", "pgtbench-init: done"]
        for i, line in enumerate(lines):
            noisy.append(line)
            if i % 7 == 3:  # printk lines between frame lines
                noisy.append("[   12.345678] virtio_blk: some message")
            if i == 10:  # a kernel message left without newline before a frame
                noisy[-1] = "[   13.000001] rcu: stall" + line
        noisy.append("[   14.000000] reboot: Power down")
        self.assertEqual(deframe_console("\r\n".join(noisy)), self.stream)

    def test_no_frame_means_none(self):
        self.assertIsNone(deframe_console("[ 0.1] hello\npgtbench-init: done\n"))

    def test_lost_line_is_detected(self):
        lines = frame_for_console(self.stream).splitlines()
        del lines[5]
        with self.assertRaisesRegex(StreamError, "lost"):
            deframe_console("\n".join(lines))

    def test_corrupted_line_is_detected(self):
        lines = frame_for_console(self.stream).splitlines()
        head, seq, b64 = lines[3].split(" ")
        b64 = ("A" if b64[0] != "A" else "B") + b64[1:]
        lines[3] = " ".join([head, seq, b64])
        with self.assertRaisesRegex(StreamError, "sha256|corrupt"):
            deframe_console("\n".join(lines))

    def test_line_split_by_kernel_message_is_detected(self):
        lines = frame_for_console(self.stream).splitlines()
        lines[4:5] = [lines[4][:30] + "[   2.000000] oops in the middle", lines[4][30:]]
        with self.assertRaises(StreamError):
            deframe_console("\n".join(lines))

    def test_missing_end_is_detected(self):
        lines = frame_for_console(self.stream).splitlines()[:-1]
        with self.assertRaisesRegex(StreamError, "incomplete"):
            deframe_console("\n".join(lines))

    def test_last_transfer_wins(self):
        other = encode_stream({"exit_code": 1}, {})
        text = frame_for_console(other)[:-40] + "\n" + frame_for_console(self.stream)
        self.assertEqual(deframe_console(text), self.stream)

    def test_guest_framing_matches_decoder(self):
        """The awk/base64 pipeline of /init, run on the host, must decode."""
        needed = ("sh", "base64", "awk", "stat", "sha256sum")
        if not all(shutil.which(t) for t in needed):
            self.skipTest("needs " + ", ".join(needed))
        script = init_script()
        start = script.index("\tset -- $(stat -c %s $S/stream)")
        frame = script[start:script.index("\nfi\n", start)]
        with tempfile.TemporaryDirectory() as d:
            Path(d, "stream").write_bytes(self.stream)
            out = subprocess.run(["sh", "-c", "S=.\n" + frame], cwd=d,
                                 capture_output=True, text=True, check=True).stdout
        self.assertEqual(deframe_console(out), self.stream)


# --- kernel log scanner ---------------------------------------------------------

class KernelLogScanner(unittest.TestCase):
    def test_finds_each_kind_of_trouble(self):
        cases = [
            "[    8.785337] WARNING: CPU: 0 PID: 1 at test",
            "[    3.1] ------------[ cut here ]------------",
            "[    3.2] BUG: unable to handle page fault for address: 0000",
            "[    3.3] Internal error: Oops: 0000000096000005 [#1] SMP",
            "[    3.4] Kernel panic - not syncing: sysrq triggered crash",
            "[    3.5] Call trace:",
            "[    3.6] BUG: KASAN: slab-out-of-bounds in foo+0x10/0x20",
            "[    3.7] WARNING: possible circular locking dependency detected",
        ]
        for line in cases:
            with self.subTest(line=line):
                self.assertEqual(scan_kernel_log("[ 0.1] ok\n" + line + "\n"), [line])

    def test_a_clean_boot_is_clean(self):
        log = "\n".join([
            "[    0.000000] Kernel command line: console=ttyAMA0 quiet panic=-1",
            "[    0.000000] ftrace: allocating 50743 entries in 200 pages",
            "[    0.512000] panic_on_oops is off; softlockup_panic=0",
            "[    1.000000] Run /init as init process",
            "pgtbench-init: command exited with 0",
            "[    8.543525] reboot: Power down",
        ])
        self.assertEqual(scan_kernel_log(log), [])

    def test_command_output_mirrored_on_console_is_not_the_kernel(self):
        log = (MIRROR_STDOUT + "WARNING: THP is disabled, skipping\n"
               + MIRROR_STDERR + "BUG: in my benchmark\n")
        self.assertEqual(scan_kernel_log(log), [])

    def test_kernel_message_spliced_into_mirrored_output_is_found(self):
        line = MIRROR_STDOUT + "partial[   5.123456] Kernel panic - not syncing: x"
        self.assertEqual(scan_kernel_log(line), [line])

    def test_console_frames_are_ignored(self):
        # base64 can spell "Oops"; a frame line is never a kernel message.
        self.assertEqual(scan_kernel_log("PGTB 12 xOopsBUGWARNINGAAAA\n"), [])

    def test_same_message_in_dmesg_and_console_is_reported_once(self):
        line = "[    8.785337] WARNING: CPU: 0 PID: 1 at test"
        self.assertEqual(scan_kernel_log(line + "\n" + line + "\r\n"), [line])


# --- cpio -------------------------------------------------------------------------

class Cpio(unittest.TestCase):
    def build(self):
        class Sink(bytearray):
            write = bytearray.extend
        out = Sink()
        w = CpioWriter(out)
        w.add_dir("proc")
        w.add_chardev("dev/console", 5, 1)
        w.add_symlink("lib", "usr/lib")
        w.add_file("usr/lib/aarch64-linux-gnu/libc.so.6", b"x" * 5, 0o755)
        w.add_file("init", b"#!/bin/sh\n", 0o755)
        w.add_file("empty", b"")
        w.finish()
        return bytes(out), w

    def test_round_trip_with_parents_and_alignment(self):
        data, w = self.build()
        self.assertEqual(len(data) % 4, 0)
        self.assertEqual(w.bytes_written, len(data))
        entries = read_cpio(data)
        self.assertEqual(entries["init"], (0o100755, b"#!/bin/sh\n"))
        self.assertEqual(entries["lib"], (0o120777, b"usr/lib"))
        self.assertEqual(entries["dev/console"][0], 0o020600)
        self.assertEqual(entries["empty"], (0o100644, b""))
        for parent in ("usr", "usr/lib", "usr/lib/aarch64-linux-gnu", "dev"):
            self.assertEqual(entries[parent][0], 0o040755, parent)
        names = list(entries)
        self.assertLess(names.index("usr/lib/aarch64-linux-gnu"),
                        names.index("usr/lib/aarch64-linux-gnu/libc.so.6"))

    def test_duplicates_are_refused(self):
        _, w = self.build()
        with self.assertRaises(ValueError):
            w.add_file("init", b"again")

    @unittest.skipUnless(shutil.which("cpio"), "needs cpio(1)")
    def test_cpio_tool_agrees(self):
        data, _ = self.build()
        listing = subprocess.run(["cpio", "-it", "--quiet"], input=data,
                                 capture_output=True, check=True).stdout.decode()
        self.assertEqual(sorted(listing.split()), sorted(read_cpio(data)))

    def test_gzip_is_reproducible(self):
        data, _ = self.build()
        self.assertEqual(gzip_bytes(data), gzip_bytes(data))


# --- ELF and modules -------------------------------------------------------------

class Elf(unittest.TestCase):
    def test_reads_interpreter_needed_and_runpath(self):
        info = read_elf(make_program(needed=["libstdc++.so.6", "libc.so.6"],
                                        runpath="$ORIGIN/lib:/opt/x"))
        self.assertEqual(info.machine, EM_AARCH64)
        self.assertEqual(info.interp, "/lib/ld-linux-aarch64.so.1")
        self.assertEqual(info.needed, ["libstdc++.so.6", "libc.so.6"])
        self.assertEqual(info.runpath, ["$ORIGIN/lib", "/opt/x"])

    def test_static_program(self):
        info = read_elf(make_program(interp=None))
        self.assertIsNone(info.interp)
        self.assertEqual(info.needed, [])

    def test_not_elf(self):
        with self.assertRaises(ElfError):
            read_elf(b"#!/bin/sh\n")

    def test_resolve_libraries_recursively(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "sys").mkdir()
            (d / "build" / "lib").mkdir(parents=True)
            (d / "build" / "prog").write_bytes(make_program(
                needed=["libcore.so", "libc.so.6"], runpath="$ORIGIN/lib"))
            (d / "build" / "lib" / "libcore.so").write_bytes(
                make_program(interp=None, needed=["libm.so.6"]))
            for lib in ("libc.so.6", "libm.so.6", "ld-linux-aarch64.so.1"):
                (d / "sys" / lib).write_bytes(make_program(interp=None))
            # An x86 library of the same name earlier in the path must be skipped.
            (d / "x86").mkdir()
            (d / "x86" / "libm.so.6").write_bytes(make_program(machine=62, interp=None))

            interp, guest_interp, libs = resolve_libraries(
                d / "build" / "prog", [d / "x86", d / "sys"])
            self.assertEqual(interp, d / "sys" / "ld-linux-aarch64.so.1")
            self.assertEqual(guest_interp, "/lib/ld-linux-aarch64.so.1")
            self.assertEqual(libs, {"libcore.so": d / "build" / "lib" / "libcore.so",
                                    "libc.so.6": d / "sys" / "libc.so.6",
                                    "libm.so.6": d / "sys" / "libm.so.6"})

            (d / "sys" / "libm.so.6").unlink()
            with self.assertRaisesRegex(FileNotFoundError, "libm.so.6"):
                resolve_libraries(d / "build" / "prog", [d / "sys"])

    def test_x86_program_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "prog"
            p.write_bytes(make_program(machine=62))
            with self.assertRaisesRegex(ElfError, "aarch64"):
                resolve_libraries(p, [])

    def test_module_depends(self):
        ko = make_module(["license=GPL", "depends=virtio,virtio_ring", "name=virtio_console"])
        self.assertEqual(module_depends(ko), ["virtio", "virtio_ring"])
        self.assertEqual(module_depends(make_module(["depends="])), [])

    def test_load_order_puts_dependencies_first_and_skips_builtins(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "kernel" / "drivers").mkdir(parents=True)
            mods = {"virtio_console": "virtio,virtio_ring", "virtio_ring": "",
                    "virtio": "virtio_ring", "pci-host-generic": "pci_host_common",
                    "pci-host-common": ""}
            for name, deps in mods.items():
                ko = make_module(["vermagic=6.1.0-56-arm64 SMP mod_unload aarch64",
                                  "depends=" + deps])
                (d / "kernel" / "drivers" / f"{name}.ko.xz").write_bytes(lzma.compress(ko))
            (d / "modules.builtin").write_text("kernel/drivers/virtio/virtio_ring.ko\n")
            order = [n for n, data in load_order(d, ["virtio_console", "pci-host-generic"],
                                                    "6.1.0-56-arm64")]
            self.assertEqual(order, ["virtio", "virtio_console", "pci_host_common",
                                     "pci_host_generic"])
            data = dict(load_order(d, ["virtio"]))["virtio"]
            self.assertEqual(data[:4], b"\x7fELF")  # decompressed for busybox insmod
            with self.assertRaisesRegex(FileNotFoundError, "nosuch"):
                load_order(d, ["nosuch"])
            with self.assertRaisesRegex(ElfError, "built into"):
                load_order(d, ["virtio_ring"])
            with self.assertRaisesRegex(ElfError, "for kernel 6.1.0-56-arm64"):
                load_order(d, ["virtio"], "6.12.117+deb12-arm64")


# --- command line pieces ------------------------------------------------------------

class CommandLine(unittest.TestCase):
    def test_kernel_specs(self):
        self.assertEqual(parse_kernel_spec("base=/k/Image"), ("base", "/k/Image"))
        self.assertEqual(parse_kernel_spec("build/kernels/6.12/Image"),
                         ("6.12", "build/kernels/6.12/Image"))
        self.assertEqual(parse_kernel_spec("/tmp/vmlinuz-6.12.1"),
                         ("vmlinuz-6.12.1", "/tmp/vmlinuz-6.12.1"))
        # An '=' inside a path is not a label.
        self.assertEqual(parse_kernel_spec("/a=b/Image"), ("a_b", "/a=b/Image"))
        with self.assertRaises(ValueError):
            parse_kernel_spec("bad label=/k/Image")

    def test_file_specs(self):
        self.assertEqual(parse_file_spec("/nonexistent/x.toml"), ("/nonexistent/x.toml",
                                                                     "/x.toml"))
        self.assertEqual(parse_file_spec("/nonexistent/x.toml:/etc/y.toml"),
                         ("/nonexistent/x.toml", "/etc/y.toml"))
        self.assertEqual(parse_file_spec("/nonexistent/x.toml:/configs/"),
                         ("/nonexistent/x.toml", "/configs/x.toml"))
        self.assertEqual(parse_file_spec("x:data/y"), ("x", "/data/y"))
        with self.assertRaises(ValueError):
            parse_file_spec("x:/a/../../etc")

    def test_kernel_config_value(self):
        config = "CONFIG_VIRTIO_CONSOLE=m\n# CONFIG_FOO is not set\nCONFIG_S=\"a b\"\n"
        self.assertEqual(kernel_config_value(config, "CONFIG_VIRTIO_CONSOLE"), "m")
        self.assertIsNone(kernel_config_value(config, "CONFIG_FOO"))
        self.assertEqual(kernel_config_value(config, "CONFIG_S"), "a b")

    def test_image_kernel_version(self):
        head = b"\0" * 100 + b"Linux version 6.12.117+deb12-arm64 (debian-kernel@lists)"
        self.assertEqual(image_kernel_version(head), "6.12.117+deb12-arm64")
        self.assertIsNone(image_kernel_version(b"\0" * 100))

    @unittest.skipUnless(shutil.which("sh"), "needs sh")
    def test_command_script_quotes_every_argument(self):
        argv = ["printf", "%s|", "a  b", "it's", "$HOME", "*", "-- x"]
        out = subprocess.run(["sh", "-c", guest_command_script(argv)],
                             capture_output=True, text=True, check=True).stdout
        self.assertEqual(out, "a  b|it's|$HOME|*|-- x|")

    @unittest.skipUnless(shutil.which("sh"), "needs sh")
    def test_init_script_parses(self):
        for mirror in (True, False):
            subprocess.run(["sh", "-n", "-c", init_script(mirror)], check=True)
            self.assertIn(PORT_NAME, init_script(mirror))
            self.assertNotIn("@", init_script(mirror).replace("$@", ""))

    def test_a_counted_guest_runs_no_output_mirror_beside_the_command(self):
        # tee and awk copying output to the console would run inside counting windows.
        quiet, mirrored = init_script(mirror=False), init_script()
        self.assertIn("tee $S/stdout", mirrored)
        self.assertNotIn("tee", quiet)
        self.assertIn("> $S/stdout 2> $S/stderr", quiet)
        self.assertIn(f'print "{MIRROR_STDOUT}" $0', quiet)  # the console still gets it, after


class Usage(unittest.TestCase):
    """Usage errors exit 2 with one line, before anything is booted."""

    def run_vm(self, *args):
        return subprocess.run(["/usr/bin/python3", str(REPO / "tools" / "vm"), *args],
                              capture_output=True, text=True)

    def test_usage_errors(self):
        with tempfile.NamedTemporaryFile() as f:
            for args in ([], ["--kernel", f.name, "--pgtbench", f.name],
                         ["--kernel", "/nonexistent", "--pgtbench", f.name, "--", "true"],
                         ["--kernel", f.name, "--pgtbench", f.name, "--", "true"],
                         ["--kernel", f.name, "--pgtbench", f.name, "--bogus", "--", "x"]):
                with self.subTest(args=args):
                    testlib.assert_one_line_error(self, self.run_vm(*args), "usage error",
                                                  stdout_empty=True)


class SwapOption(testlib.TempDirCase):
    def test_a_bad_swap_size_is_a_one_line_usage_error(self):
        prog = self.tmp / "prog"
        prog.write_bytes(make_program(interp=None))
        for size in ("lots", "0", "512X", "-1G", "100T"):
            with self.subTest(size=size):
                r = subprocess.run(["/usr/bin/python3", str(REPO / "tools/vm"), "--kernel",
                                    str(prog), "--pgtbench", str(prog), "--swap", size,
                                    "--", "true"], capture_output=True, text=True)
                testlib.assert_one_line_error(self, r, "usage error", "--swap",
                                              stdout_empty=True)


class CountOption(testlib.TempDirCase):
    """tools/vm --count's pieces: the plugin is checked before qemu starts, qemu's refusal
    is found in its stderr, and the merge needs a results file with windows."""

    def test_a_missing_or_non_elf_plugin_is_a_usage_error(self):
        text = self.tmp / "notes.so"
        text.write_text("not a plugin\n")
        for path, needle in ((self.tmp / "none.so", "not found"), (text, "not an ELF file")):
            with self.subTest(path=path.name):
                with self.assertRaises(UsageError) as cm:
                    count.check_plugin(path)
                self.assertIn(needle, str(cm.exception))

    def test_qemu_cannot_take_a_comma_in_the_plugin_or_log_path(self):
        with self.assertRaises(UsageError):
            count.qemu_args(Path("/tmp/a,b.so"), Path("/tmp/log"))
        self.assertEqual(count.qemu_args(Path("/p.so"), Path("/l")), ["-plugin", "/p.so,out=/l"])

    def test_the_plugins_own_refusal_line_is_reported(self):
        err = ("qemu-system-aarch64: warning: x\n"
               "pgtbench-count: unknown argument 'bogus=1' (only out=PATH)\n"
               "qemu-system-aarch64: Could not load plugin /p.so\n")
        self.assertEqual(count.plugin_refusal(err), "pgtbench-count: unknown argument 'bogus=1' "
                                                    "(only out=PATH)")
        self.assertIn("Could not load plugin", count.plugin_refusal(
            "qemu-system-aarch64: Could not load plugin /usr/lib/libm.so.6: bad\n"))
        self.assertIsNone(count.plugin_refusal("qemu-system-aarch64: -m 99T: too big\n"))

    def test_a_command_that_wrote_no_results_with_windows_is_a_problem(self):
        results = self.tmp / "results"
        results.mkdir()
        (results / "env.json").write_text('{"arch": "aarch64"}')
        (results / "native.json").write_text('{"pgtbench": {"label": "x"}, "entries": []}')
        merged, problem = count.merge_all(testlib.PGTBENCH, results, self.tmp / "w.jsonl")
        self.assertEqual(merged, [])
        self.assertIn("opened no counting windows", problem)


# --- zram swap (--swap) --------------------------------------------------------------

def load_vm_module():
    """tools/vm as a module (it has no .py suffix), for its initramfs and cache key."""
    loader = importlib.machinery.SourceFileLoader("pgtbench_vm_tool", str(REPO / "tools/vm"))
    spec = importlib.util.spec_from_loader("pgtbench_vm_tool", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


V612, V61 = "6.12.118+deb12-arm64", "6.1.0-57-arm64"
# The zram lines of Debian's arm64 configs (6.12 has zram backends, 6.1 the crypto API).
CONFIG_612 = ('CONFIG_ZRAM=m\nCONFIG_ZRAM_BACKEND_LZ4=y\n# CONFIG_ZRAM_BACKEND_LZO is not set\n'
              'CONFIG_ZRAM_DEF_COMP="lz4"\nCONFIG_CRYPTO_LZO=y\nCONFIG_CRYPTO_LZ4=m\n')
CONFIG_61 = 'CONFIG_ZRAM=m\nCONFIG_ZRAM_DEF_COMP="lzo-rle"\nCONFIG_CRYPTO_LZO=y\n'


def write_modules(d, release, mods, builtin=()):
    """A lib/modules/<release> of fake .ko.xz files: {name: depends}."""
    (d / "kernel").mkdir(parents=True, exist_ok=True)
    for name, deps in mods.items():
        ko = make_module([f"vermagic={release} SMP mod_unload aarch64", "depends=" + deps])
        (d / "kernel" / f"{name}.ko.xz").write_bytes(lzma.compress(ko))
    (d / "modules.builtin").write_text("".join(f"kernel/{b}.ko\n" for b in builtin))
    return d


class SwapPlanning(testlib.TempDirCase):
    """Which modules and compressor zram needs, from a kernel's config and modules."""

    def names(self, plan):
        self.assertIsNone(plan.error)
        return [n for n, _ in plan.modules]

    def test_swap_sizes_take_suffixes_and_bad_ones_are_refused(self):
        self.assertEqual(parse_swap_size("512M"), 512 << 20)
        self.assertEqual(parse_swap_size("1G"), 1 << 30)
        self.assertEqual(parse_swap_size("256"), 256 << 20)  # bare: MiB, as --mem
        for bad in ("", "abc", "0", "-5M", "512X", "1M2", "100K"):
            with self.subTest(size=bad), self.assertRaisesRegex(ValueError, "--swap"):
                parse_swap_size(bad)

    def test_on_6_12_zram_loads_after_its_backends_libraries(self):
        d = write_modules(self.tmp / "612", V612, {
            "zram": "lz4_compress,lz4hc_compress", "lz4_compress": "", "lz4hc_compress": "",
            "lz4": "lz4_compress,lz4_decompress"}, builtin=["lib/lz4/lz4_decompress"])
        plan = plan_swap(256 << 20, CONFIG_612, [d], V612)
        self.assertEqual(self.names(plan), ["lz4_compress", "lz4hc_compress", "zram"])
        self.assertEqual(plan.algo, "lz4")

    def test_on_6_1_a_built_in_crypto_compressor_needs_no_module(self):
        d = write_modules(self.tmp / "61", V61, {"zram": "zsmalloc", "zsmalloc": ""},
                          builtin=["crypto/lzo-rle", "crypto/lzo"])
        plan = plan_swap(256 << 20, CONFIG_61, [d], V61)
        self.assertEqual(self.names(plan), ["zsmalloc", "zram"])
        self.assertEqual(plan.algo, "lzo-rle")

    def test_on_6_1_a_modular_crypto_compressor_is_loaded_before_zram(self):
        # zram would request_module() it, which the busybox guest cannot serve.
        d = write_modules(self.tmp / "61m", V61, {
            "zram": "zsmalloc", "zsmalloc": "", "lzo-rle": "lzo_compress,lzo_decompress",
            "lzo_compress": "", "lzo_decompress": ""})
        config = CONFIG_61.replace("CONFIG_CRYPTO_LZO=y", "CONFIG_CRYPTO_LZO=m")
        self.assertEqual(self.names(plan_swap(1 << 30, config, [d], V61)),
                         ["lzo_compress", "lzo_decompress", "lzo_rle", "zsmalloc", "zram"])
        missing = write_modules(self.tmp / "61-missing", V61, {"zram": ""})
        self.assertIn("lzo_rle", plan_swap(1 << 30, config, [missing], V61).error)

    def test_built_in_zram_needs_no_module_and_absent_zram_is_an_error(self):
        config = CONFIG_61.replace("CONFIG_ZRAM=m", "CONFIG_ZRAM=y")
        plan = plan_swap(1 << 30, config, [], V61)
        self.assertEqual((plan.modules, plan.error, plan.algo), ([], None, "lzo-rle"))
        plan = plan_swap(1 << 30, "# CONFIG_ZRAM is not set\n", [self.tmp], V61)
        self.assertIn("CONFIG_ZRAM is not set", plan.error)
        self.assertIn("no modules directory", plan_swap(1 << 30, CONFIG_612, [], V612).error)

    def test_modules_of_another_kernel_are_passed_over(self):
        other = write_modules(self.tmp / "other", V61, {"zram": ""})
        mine = write_modules(self.tmp / "mine", V612, {"zram": ""})
        plan = plan_swap(1 << 30, CONFIG_612, [other, mine], V612)
        self.assertEqual(self.names(plan), ["zram"])
        self.assertIn(str(mine), plan.note)
        self.assertIn("for kernel", plan_swap(1 << 30, CONFIG_612, [other], V612).error)

    def test_fetched_debian_kernels_get_their_zram_modules_and_default_compressor(self):
        """The real modules and configs (tools/fetch-kernel 6.12 6.1), when present."""
        expected = {"6.12": (["lz4_compress", "lz4hc_compress", "zram"], "lz4"),
                    "6.1": (["zsmalloc", "zram"], "lzo-rle")}
        for series, (modules, algo) in expected.items():
            d = REPO / "build/kernels" / series
            with self.subTest(series=series):
                if not (d / "config").is_file() or not (d / "modules").is_dir():
                    self.skipTest(f"needs tools/fetch-kernel {series}")
                release = (d / "modules").resolve().name
                plan = plan_swap(256 << 20, (d / "config").read_text(), [d / "modules"],
                                 release)
                self.assertEqual((self.names(plan), plan.algo), (modules, algo))


class SwapInit(testlib.TempDirCase):
    """/init's zram_swap, run with the host's sh on a fake zram0 sysfs directory, with
    insmod, mkswap and swapon replaced by functions that log their calls."""

    STUBS = r"""
say() { echo "pgtbench-init: $*"; }
insmod() { echo "insmod ${1##*/}" >> $T/calls; [ "${1##*/}" != "$FAIL" ]; }
mkswap() { echo "mkswap $1" >> $T/calls; [ mkswap != "$FAIL" ]; }
swapon() {
	echo "swapon $1" >> $T/calls
	[ swapon != "$FAIL" ] || { echo "swapon: $1: Invalid argument" >&2; return 1; }
}
"""

    def run_init(self, plan, fail="", make_zram=True, kos=("00-zsmalloc.ko", "01-zram.ko")):
        t = Path(tempfile.mkdtemp(dir=self.tmp))
        (t / "mods").mkdir()
        for ko in kos:
            (t / "mods" / ko).write_bytes(b"")
        if make_zram:
            (t / "zram0").mkdir()
            (t / "zram0" / "disksize").write_text("0\n")
            (t / "zram0" / "comp_algorithm").write_text("lzo [lzo-rle] lz4\n")
        (t / "env").write_text(plan.env())
        script = init_script(swap=True)
        fn = script[script.index("zram_swap() {"):script.index("\nzram_swap\n") + 11]
        fn = (fn.replace(GUEST_SWAP_ENV, str(t / "env"))
              .replace(GUEST_SWAP_MODULES_DIR, str(t / "mods"))
              .replace("/sys/block/zram0", str(t / "zram0")))
        r = subprocess.run(["sh", "-c", self.STUBS + fn], capture_output=True, text=True,
                           env={**os.environ, "T": str(t), "FAIL": fail})
        calls = (t / "calls").read_text().splitlines() if (t / "calls").exists() else []
        return r, calls, t

    def setUp(self):
        if not shutil.which("sh") or not shutil.which("sed"):
            self.skipTest("needs sh and sed")

    def test_modules_are_loaded_in_order_then_zram0_is_sized_and_swapped_on(self):
        r, calls, t = self.run_init(SwapPlan(256 << 20, "lzo-rle"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(calls, ["insmod 00-zsmalloc.ko", "insmod 01-zram.ko",
                                 "mkswap /dev/zram0", "swapon /dev/zram0"])
        self.assertEqual((t / "zram0" / "disksize").read_text(), f"{256 << 20}\n")
        self.assertEqual((t / "zram0" / "comp_algorithm").read_text(), "lzo-rle\n")
        self.assertEqual(r.stdout, "pgtbench-init: swap: zram0 256M (lzo-rle)\n")

    def test_each_failing_step_is_one_line_and_stops_before_swapon(self):
        for fail, needle in (("01-zram.ko", "insmod 01-zram.ko failed"),
                             ("mkswap", "mkswap /dev/zram0 failed"),
                             ("swapon", "swapon /dev/zram0 failed: swapon: /dev/zram0: "
                                        "Invalid argument")):
            with self.subTest(fail=fail):
                r, calls, _ = self.run_init(SwapPlan(1 << 30, "lz4"), fail=fail)
                lines = r.stdout.splitlines()
                self.assertEqual(len(lines), 1, r.stdout)
                self.assertTrue(lines[0].startswith("pgtbench-init: swap: " + needle), lines)
                self.assertTrue(lines[0].endswith("running without swap"), lines)
                self.assertNotEqual(r.returncode, 0)
                if fail != "swapon":
                    self.assertNotIn("swapon /dev/zram0", calls)

    def test_no_zram0_and_a_planned_error_are_said_without_loading_anything_more(self):
        r, calls, _ = self.run_init(SwapPlan(1 << 30, "lz4"), make_zram=False)
        self.assertIn("swap: no ", r.stdout)
        self.assertNotIn("mkswap /dev/zram0", calls)
        r, calls, _ = self.run_init(SwapPlan(1 << 30, error="CONFIG_ZRAM is not set"))
        self.assertEqual(r.stdout, "pgtbench-init: swap: CONFIG_ZRAM is not set; "
                                   "running without swap\n")
        self.assertEqual(calls, [])

    def test_without_swap_init_has_no_trace_of_it(self):
        for mirror in (True, False):
            plain = init_script(mirror)
            self.assertEqual(plain, init_script(mirror, swap=False))
            for needle in ("zram", "swap", "mkswap"):
                self.assertNotIn(needle, plain)
            swap = init_script(mirror, swap=True)
            self.assertLess(swap.index("zram_swap\n"), swap.index("sh /etc/pgtbench/command"))
            self.assertLess(swap.index(GUEST_TRANSPORT_MODULES_DIR), swap.index("zram_swap\n"))
            subprocess.run(["sh", "-n", "-c", swap], check=True)
            self.assertNotIn("@", swap.replace("$@", ""))


class SwapInitramfs(testlib.TempDirCase):
    """tools/vm's initramfs and its cache key, with and without --swap."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vm = load_vm_module()
        try:
            cls.vm.find_busybox()
        except cls.vm.UsageError as e:
            raise unittest.SkipTest(str(e))
        cls.prog = cls.tmp / "prog"
        cls.prog.write_bytes(make_program(interp=None))

    def content(self, swap):
        args = argparse.Namespace(pgtbench=str(self.prog), kmod=None, files=[], count=False,
                                  command=["true"], swap=swap,
                                  swap_bytes=parse_swap_size(swap) if swap else None)
        return self.vm.InitramfsContent(args)

    def entries(self, data):
        return read_cpio(gzip.decompress(data))

    def test_without_swap_the_initramfs_has_no_zram_and_its_key_is_the_modules_alone(self):
        transport = [("virtio_console", b"ko")]
        entries = self.entries(self.content(None).build(transport))
        self.assertFalse([n for n in entries if "swap" in n or "zram" in n], list(entries))
        self.assertNotIn(b"zram", entries["init"][1])
        self.assertEqual(self.vm.initramfs_key(transport),
                         (("virtio_console", hashlib.sha256(b"ko").hexdigest()),))

    def test_with_swap_the_initramfs_has_the_modules_in_order_and_the_plan(self):
        plan = SwapPlan(256 << 20, "lz4", [("lz4_compress", b"a"), ("zram", b"b")])
        entries = self.entries(self.content("256M").build([], plan))
        self.assertEqual(entries[f"usr{GUEST_SWAP_MODULES_DIR}/00-lz4_compress.ko"][1], b"a")
        self.assertEqual(entries[f"usr{GUEST_SWAP_MODULES_DIR}/01-zram.ko"][1], b"b")
        env = entries[GUEST_SWAP_ENV.lstrip("/")][1].decode()
        self.assertIn(f"swap_bytes={256 << 20}\n", env)
        self.assertIn("swap_algo=lz4\n", env)
        self.assertIn(b"zram_swap\n", entries["init"][1])

    def test_the_cache_key_tells_swap_plans_apart(self):
        transport = [("virtio_console", b"ko")]
        plain = self.vm.initramfs_key(transport)
        a = self.vm.initramfs_key(transport, SwapPlan(256 << 20, "lz4", [("zram", b"1")]))
        self.assertNotEqual(plain, a)
        for other in (SwapPlan(512 << 20, "lz4", [("zram", b"1")]),
                      SwapPlan(256 << 20, "lzo-rle", [("zram", b"1")]),
                      SwapPlan(256 << 20, "lz4", [("zram", b"2")])):
            with self.subTest(other=other):
                self.assertNotEqual(a, self.vm.initramfs_key(transport, other))


# --- boot-time map_mem (tools/boot-map-mem) ----------------------------------------

GIB = 1 << 30
TINY_RELEASE = "6.1.192-pgtbench-mapmem"
TINY_612_RELEASE = "6.12.117-pgtbench-mapmem"

# Captured logs of the instrumented kernels: (file stem, release, map_mem us, -m, rodata).
INSTRUMENTED_LOGS = [
    ("6.1-tiny-1G-rodata_full", TINY_RELEASE, 18741, 1 * GIB, "full"),
    ("6.1-tiny-1G-rodata_on", TINY_RELEASE, 386, 1 * GIB, "on"),
    ("6.1-tiny-16G-rodata_full", TINY_RELEASE, 295876, 16 * GIB, "full"),
    ("6.1-tiny-16G-rodata_on", TINY_RELEASE, 429, 16 * GIB, "on"),
    ("6.1-tiny-64G-rodata_full", TINY_RELEASE, 1343692, 64 * GIB, "full"),
    ("6.1-tiny-256G-rodata_full", TINY_RELEASE, 5466966, 256 * GIB, "full"),
    ("6.12-tiny-16G-rodata_full", TINY_612_RELEASE, 207592, 16 * GIB, "full"),
    ("6.12-tiny-16G-rodata_on", TINY_612_RELEASE, 1033, 16 * GIB, "on"),
    ("6.12-tiny-64G-rodata_full", TINY_612_RELEASE, 473749, 64 * GIB, "full"),
]
STOCK_LOGS = [("debian-6.1-1G-rodata_full", "6.1.0-56-arm64"),
              ("debian-6.12-1G-rodata_full", "6.12.117+deb12-arm64")]


def cut_before(text, marker):
    """The log as it stood when the kernel had not yet printed `marker`."""
    return text[:text.index(marker)]


class BootMapMem(unittest.TestCase):
    def test_instrumented_logs_give_time_memory_rodata_and_release(self):
        for stem, release, us, mem, rodata in INSTRUMENTED_LOGS:
            with self.subTest(stem):
                log = parse_boot_log(testlib.captured_boot_log(stem))
                self.assertTrue(log.instrumented)
                self.assertEqual(log.map_mem_us, us)
                self.assertEqual(log.mem_total_bytes, mem)  # what -m gave
                self.assertLess(log.mem_available_bytes, mem)
                self.assertEqual(log.rodata, rodata)
                self.assertEqual(log.release, release)
                self.assertTrue(log.version.startswith("#1 SMP"))
                self.assertEqual(log.cmdline, f"console=ttyAMA0 panic=-1 rodata={rodata}")
                self.assertTrue(boot_log_complete(log))
                self.assertEqual(log.splats, [])

    def test_stock_debian_kernels_are_not_instrumented(self):
        for stem, release in STOCK_LOGS:
            with self.subTest(stem):
                log = parse_boot_log(testlib.captured_boot_log(stem))
                self.assertFalse(log.instrumented)
                self.assertIsNone(log.map_mem_us)
                self.assertTrue(log.past_map_mem)
                self.assertTrue(boot_log_complete(log))
                self.assertEqual(log.release, release)
                self.assertEqual(log.mem_total_bytes, GIB)
                self.assertEqual(log.rodata, "full")
                reason = not_instrumented_reason(log)
                self.assertTrue(reason.startswith("not instrumented: "), reason)
                self.assertIn(release, reason)
                self.assertIn("no 'map_mem: time=' line", reason)

    def test_panic_after_the_memory_summary_is_not_the_measurements(self):
        # Without a root file system the kernel panics by design, after map_mem().
        text = testlib.captured_boot_log("6.1-tiny-1G-rodata_full-to-panic")
        self.assertTrue(any("Kernel panic" in l for l in scan_kernel_log(text)))
        log = parse_boot_log(text)
        self.assertEqual(log.splats, [])
        self.assertEqual(log.map_mem_us, 44042)

    def test_panic_before_the_memory_summary_is_reported(self):
        text = testlib.captured_boot_log("6.1-tiny-1G-rodata_full-to-panic")
        panic = next(l for l in text.splitlines(True) if "Kernel panic" in l)
        log = parse_boot_log(cut_before(text, "Memory:") + panic)
        self.assertFalse(boot_log_complete(log))
        self.assertEqual(len(log.splats), 1)

    def test_a_log_cut_before_paging_init_returned_is_not_called_uninstrumented(self):
        for stem in ("debian-6.12-1G-rodata_full", "6.1-tiny-16G-rodata_full"):
            with self.subTest(stem):
                text = testlib.captured_boot_log(stem)
                early = parse_boot_log(text[:text.index("Machine model")])
                self.assertFalse(early.past_map_mem)
                self.assertFalse(boot_log_complete(early))
                self.assertIsNotNone(early.release)

    def test_a_half_printed_memory_summary_is_not_complete(self):
        # The console is read while the kernel writes it.
        text = testlib.captured_boot_log("6.1-tiny-16G-rodata_full")
        log = parse_boot_log(text[:text.index("Memory:") + len("Memory: 164864")])
        self.assertFalse(boot_log_complete(log))
        self.assertEqual(log.map_mem_us, 295876)

    def test_timestamps_and_carriage_returns_are_optional(self):
        # dmesg -t, or a kernel without CONFIG_PRINTK_TIME, prints no "[ 0.000000] ".
        text = testlib.captured_boot_log("6.1-tiny-64G-rodata_full")
        bare = re.sub(r"(?m)^\[\s*\d+\.\d+\] ", "", text.replace("\r", ""))
        self.assertNotEqual(bare, text)
        self.assertEqual(parse_boot_log(bare), parse_boot_log(text))

    def test_a_second_boot_does_not_complete_the_first(self):
        first = testlib.captured_boot_log("debian-6.12-1G-rodata_full")
        first = first[:first.index("Kernel command line")]
        log = parse_boot_log(first + testlib.captured_boot_log("6.1-tiny-16G-rodata_full"))
        self.assertEqual(log.release, "6.12.117+deb12-arm64")
        self.assertFalse(boot_log_complete(log))
        self.assertIsNone(log.map_mem_us)

    def test_sizes(self):
        self.assertEqual(parse_size("16G"), 16 * GIB)
        self.assertEqual(parse_size("512m"), 512 << 20)
        self.assertEqual(parse_size("1024"), GIB)  # bare numbers are MiB, as for qemu
        self.assertEqual(format_size(16 * GIB), "16G")
        self.assertEqual(format_size(1536 << 20), "1536M")
        with self.assertRaises(ValueError):
            parse_size("16 GB please")

    def test_image_page_size(self):
        def header(flags):
            return b"\0" * 24 + struct.pack("<Q", flags) + b"\0" * 24 + b"ARM\x64" + b"\0" * 4
        self.assertEqual(image_page_size(header(0b1010)), 4096)  # LE, 4K, anywhere
        self.assertEqual(image_page_size(header(0b0100)), 16384)
        self.assertEqual(image_page_size(header(0b0110)), 65536)
        self.assertIsNone(image_page_size(header(0)))
        self.assertIsNone(image_page_size(b"\0" * 64))


@testlib.needs_pgtbench
class BootMapMemResults(testlib.TempDirCase):
    """The results files `pgtbench import` makes of tools/boot-map-mem's samples."""
    tmp_prefix = "pgtbench-mapmem-results-"

    def results_for(self, stems, label="tiny"):
        """A results document from captured boots, one entry per log."""
        return testlib.map_mem_boot_results(label, stems, self.tmp / f"{label}.json")

    def test_results_file_has_an_entry_per_size_and_rodata(self):
        doc = self.results_for(s for s, r, *_ in INSTRUMENTED_LOGS if r == TINY_RELEASE)
        self.assertEqual(doc["pgtbench"]["exit_code"], 0)
        by_name = {e["name"]: e for e in doc["entries"]}
        e = by_name["map_mem_boot/mem:16G/rodata:full"]
        self.assertEqual(e["scenario"], "map_mem_boot")
        self.assertEqual(e["params"], {"mem_bytes": 16 * GIB, "rodata": "full"})
        self.assertEqual((e["status"], e["reason"]), ("ok", ""))
        self.assertEqual(e["primary_metric"], "map_mem_ms")
        self.assertEqual(e["metrics"]["map_mem_ms"]["samples"], [295.876])
        self.assertEqual(e["metrics"]["map_mem_ms"]["unit"], "ms")
        self.assertEqual(e["counters"], {})
        self.assertIn("map_mem_boot/mem:256G/rodata:full", by_name)
        self.assertEqual(len(doc["benchmarks"]), 6)  # a run per sample
        env = doc["pgtbench"]["env"]
        self.assertEqual(env["kernel"]["release"], TINY_RELEASE)
        self.assertEqual(env["cpu"]["model"], "QEMU max")
        if testlib.jsonschema:
            self.assertEqual(testlib.schema_errors(doc), [])

    def test_results_file_of_a_stock_kernel_says_not_instrumented(self):
        doc = self.results_for(["debian-6.12-1G-rodata_full"], label="stock")
        self.assertEqual(doc["pgtbench"]["exit_code"], 4)
        [e] = doc["entries"]
        self.assertEqual(e["status"], "skipped")
        self.assertTrue(e["reason"].startswith("not instrumented: "))
        self.assertEqual(e["metrics"]["map_mem_ms"]["samples"], [])
        self.assertIsNone(e["metrics"]["map_mem_ms"]["summary"])
        if testlib.jsonschema:
            self.assertEqual(testlib.schema_errors(doc), [])

    def summarize(self, samples_ms):
        """The summary the harness computes of these map_mem_ms samples."""
        e = MapMemEntry(GIB, "full", boots=[{"map_mem_us": ms * 1000} for ms in samples_ms])
        if not samples_ms:
            e.status, e.reason = "skipped", "no samples"
        doc = testlib.import_map_mem_entries("summary", [e], self.tmp / "summary.json")
        return doc["entries"][0]["metrics"]["map_mem_ms"]["summary"]

    def test_summary_matches_the_harness(self):
        s = self.summarize([1.0, 2.0, 4.0])
        self.assertEqual((s["n"], s["median"], s["min"], s["max"]), (3, 2.0, 1.0, 4.0))
        self.assertAlmostEqual(s["mean"], 7 / 3)
        self.assertAlmostEqual(s["stddev"], (7 / 3) ** 0.5)  # n - 1, as harness/stats.cpp
        self.assertIsNone(self.summarize([]))  # no samples: no summary, not a median of 0


# A stand-in for qemu-system-aarch64 that replays a captured console log: the log
# matching its -m and rodata= from $FAKE_QEMU_LOGS/$FAKE_QEMU_KERNEL-<mem>-rodata_<r>,
# then it idles like a guest that runs on, until the runner stops it.
FAKE_QEMU = r"""#!/usr/bin/python3
import os, re, sys, time
argv = sys.argv[1:]
if argv[:2] == ["-cpu", "help"]:
    print("Available CPUs:\n  cortex-a57\n  max\n  neoverse-n1")
    sys.exit(0)
mode = os.environ.get("FAKE_QEMU_MODE", "replay")
if mode == "no-memory":
    print("qemu-system-aarch64: cannot set up guest memory 'pgtbram': Cannot allocate memory",
          file=sys.stderr)
    sys.exit(1)
mem = int(argv[argv.index("-m") + 1].rstrip("M"))
mem = f"{mem // 1024}G" if mem % 1024 == 0 else f"{mem}M"
rodata = re.search(r"rodata=(\S+)", argv[argv.index("-append") + 1])[1]
path = os.path.join(os.environ["FAKE_QEMU_LOGS"],
                    f"{os.environ['FAKE_QEMU_KERNEL']}-{mem}-rodata_{rodata}.console.log")
data = open(path, "rb").read()
if mode == "stall":  # a kernel that stops before its memory summary
    data = data[:data.index(b"Kernel command line")]
sys.stdout.buffer.write(data)
sys.stdout.flush()
time.sleep(120)
"""


class BootMapMemRunner(testlib.TempDirCase):
    """tools/boot-map-mem with qemu replaced by a replay of captured logs: the
    runner's decisions (stop, skip, fail) and the files it has the harness write."""
    tmp_prefix = "pgtbench-mapmem-unit-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        bindir = cls.tmp / "bin"
        bindir.mkdir()
        fake = bindir / "qemu-system-aarch64"
        fake.write_text(FAKE_QEMU)
        fake.chmod(0o755)
        cls.image = cls.tmp / "Image"
        # Only the header is read (page size); the fake qemu boots nothing.
        cls.image.write_bytes(b"\0" * 24 + struct.pack("<Q", 0b1010) + b"\0" * 24
                              + b"ARM\x64" + b"\0" * 4)
        cls.env = dict(os.environ, PATH=f"{bindir}:{os.environ.get('PATH', '')}",
                       FAKE_QEMU_LOGS=str(testlib.BOOT_LOGS))

    def boot_map_mem(self, *args, env=None):
        return subprocess.run(["/usr/bin/python3", str(REPO / "tools/boot-map-mem"),
                               "--harness", str(testlib.PGTBENCH), *args],
                              capture_output=True, text=True, env=env or self.env,
                              timeout=300)

    def run_vm(self, name, kernel, *args, mode="replay"):
        out = self.tmp / name
        env = dict(self.env, FAKE_QEMU_KERNEL=kernel, FAKE_QEMU_MODE=mode)
        r = self.boot_map_mem("--kernel", f"{name}={self.image}", "--cpu", "max",
                              "--out", str(out / "results.json"), "--out-dir", str(out),
                              *args, env=env)
        doc = None
        if (out / "results.json").is_file():
            doc = testlib.load_json(out / "results.json")
        return r, doc, out

    @testlib.needs_pgtbench
    def test_instrumented_kernel_gives_a_sample_per_boot(self):
        r, doc, out = self.run_vm("tiny", "6.1-tiny", "--mem", "1G", "--mem", "16G",
                                  "--rodata", "full", "--rodata", "on", "--reps", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(doc["pgtbench"]["label"], "tiny")
        samples = {e["name"]: e["metrics"]["map_mem_ms"]["samples"] for e in doc["entries"]}
        self.assertEqual(samples, {
            "map_mem_boot/mem:1G/rodata:full": [18.741, 18.741],
            "map_mem_boot/mem:1G/rodata:on": [0.386, 0.386],
            "map_mem_boot/mem:16G/rodata:full": [295.876, 295.876],
            "map_mem_boot/mem:16G/rodata:on": [0.429, 0.429]})
        for e in doc["entries"]:
            self.assertEqual(e["status"], "ok")
            self.assertEqual([b["outcome"] for b in e["boots"]], ["complete"] * 2)
            self.assertEqual({b["mem_total_bytes_seen"] for b in e["boots"]},
                             {e["params"]["mem_bytes"]})
        self.assertEqual(len(list((out / "tiny").glob("*.console.log"))), 8)
        self.assertEqual(doc["pgtbench"]["env"]["kernel"]["release"], TINY_RELEASE)
        self.assertIn("map_mem_boot/mem:16G/rodata:full  295.876 295.876 ms", r.stdout)
        if testlib.jsonschema:
            self.assertEqual(testlib.schema_errors(doc), [])

    @testlib.needs_pgtbench
    def test_uninstrumented_kernel_is_booted_once_and_skipped(self):
        r, doc, out = self.run_vm("stock", "debian-6.12", "--mem", "1G", "--reps", "3")
        self.assertEqual(r.returncode, 4, r.stderr)
        [e] = doc["entries"]
        self.assertEqual(e["status"], "skipped")
        self.assertTrue(e["reason"].startswith("not instrumented: kernel "
                                               "6.12.117+deb12-arm64"), e["reason"])
        self.assertEqual(len(e["boots"]), 1)
        self.assertEqual(len(list((out / "stock").glob("*.console.log"))), 1)
        if testlib.jsonschema:
            self.assertEqual(testlib.schema_errors(doc), [])

    @testlib.needs_pgtbench
    def test_kernel_that_never_prints_its_memory_summary_times_out(self):
        r, doc, _ = self.run_vm("stall", "6.1-tiny", "--mem", "1G", "--timeout", "2",
                                mode="stall")
        self.assertEqual(r.returncode, 3, r.stderr)
        [e] = doc["entries"]
        self.assertEqual(e["status"], "error")
        self.assertIn("no memory summary within 2 s", e["reason"])
        self.assertEqual(e["metrics"]["map_mem_ms"]["samples"], [])
        self.assertEqual(doc["pgtbench"]["exit_code"], 1)
        if testlib.jsonschema:
            self.assertEqual(testlib.schema_errors(doc), [])

    @testlib.needs_pgtbench
    def test_qemu_that_cannot_start_is_a_runner_failure(self):
        r, doc, _ = self.run_vm("nomem", "6.1-tiny", "--mem", "1T", mode="no-memory")
        self.assertEqual(r.returncode, 125, r.stderr)
        [e] = doc["entries"]
        self.assertEqual(e["status"], "error")
        self.assertIn("cannot set up guest memory", e["reason"])

    def test_usage_errors(self):
        f = str(self.image)
        for args in ([],  # no --kernel
                     ["--kernel", f, "--mem", "lots"],
                     ["--kernel", f, "--rodata", "maybe"],
                     ["--kernel", f, "--rodata", "on", "--append", "rodata=full"],
                     ["--kernel", f, "--reps", "0"],
                     ["--kernel", f"a={f}", "--kernel", f"b={f}", "--out", "x.json"],
                     ["--kernel", f"-bad={f}"],
                     ["--kernel", f, "--", "pgtbench", "run"]):
            with self.subTest(args=args):
                testlib.assert_one_line_error(self, self.boot_map_mem(*args), "usage error")


if __name__ == "__main__":
    unittest.main()
