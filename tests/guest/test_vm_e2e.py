#!/usr/bin/python3
"""End-to-end tests of tools/vm itself (exit codes, result transport, kernel-log
scanning, timeouts) with a stand-in program: five short boots of the arm64 guest under
qemu, about a minute under TCG. The kernel is $PGTBENCH_VM_KERNEL, else
$PGTBENCH_VM_KERNEL_CACHE/6.12/Image (fetched there with tools/fetch-kernel when
missing; meson sets it to <builddir>/kernels), else build/kernels/6.12/Image.
Skipped (exit 77 when run directly) without qemu-system-aarch64, aarch64-linux-gnu-g++
or a kernel.

    /usr/bin/python3 tests/guest/test_vm_e2e.py
"""

import shutil
import subprocess
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import testlib  # noqa: E402
from testlib import REPO  # noqa: E402

TOOLS_PRESENT = bool(shutil.which("qemu-system-aarch64") and shutil.which("aarch64-linux-gnu-g++"))


KERNEL = testlib.kernel_under_test(fetch=TOOLS_PRESENT)

# A dynamically linked C++ program standing in for pgtbench: it exercises library
# collection, output capture, /results and exit codes.
PROGRAM = r"""
#include <fstream>
#include <iostream>
#include <string>
#include <unistd.h>
int main(int argc, char **argv) {
	int code = argc > 1 ? std::stoi(argv[1]) : 0;
	std::string mode = argc > 2 ? argv[2] : "";
	std::cout << "exiting with " << code << std::endl;
	std::cerr << "to stderr" << std::endl;
	if (mode == "hang")
		for (;;) pause();
	if (mode == "warn")
		std::ofstream("/dev/kmsg") << "WARNING: CPU: 0 PID: 1 at test" << std::endl;
	std::string blob;
	for (int i = 0; i < 200000; i++)
		blob.push_back(char(i * 131 + i / 256));
	std::ofstream("/results/blob.bin", std::ios::binary) << blob;
	return code;
}
"""


def expected_blob():
    return bytes((i * 131 + i // 256) & 0xFF for i in range(200000))


@unittest.skipUnless(TOOLS_PRESENT and KERNEL.is_file(),
                     "needs qemu-system-aarch64, aarch64-linux-gnu-g++ and a kernel")
class GuestRuns(testlib.TempDirCase):
    tmp_prefix = "pgtbench-vm-e2e-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        src = cls.tmp / "prog.cpp"
        src.write_text(PROGRAM)
        cls.prog = cls.tmp / "prog"
        subprocess.run(["aarch64-linux-gnu-g++", "-O2", "-o", str(cls.prog), str(src)],
                       check=True)

    def run_vm(self, name, *args, kernels=None):
        out = self.tmp / name
        kernels = kernels or [str(KERNEL)]
        cmd = ["/usr/bin/python3", str(REPO / "tools/vm"), "--pgtbench", str(self.prog),
               "--out-dir", str(out), "--cpu", "neoverse-n1"]  # the fastest model under TCG
        for k in kernels:
            cmd += ["--kernel", k]
        r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=900)
        return r, out

    def test_two_kernels_exit_code_and_binary_results(self):
        r, out = self.run_vm("two", "--", "pgtbench", "4",
                             kernels=[f"base={KERNEL}", f"patched={KERNEL}"])
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("[base] exiting with 4\n", r.stdout)
        self.assertIn("[patched] exiting with 4\n", r.stdout)
        for label in ("base", "patched"):
            d = out / label
            self.assertEqual((d / "exit_code").read_text(), "4\n")
            self.assertEqual((d / "stdout.txt").read_text(), "exiting with 4\n")
            self.assertEqual((d / "stderr.txt").read_text(), "to stderr\n")
            self.assertEqual((d / "results/blob.bin").read_bytes(), expected_blob())
            self.assertIn("Linux version", (d / "dmesg.txt").read_text())
            timing = testlib.load_json(d / "timing.json")
            self.assertGreater(timing["boot_to_exit_s"], 0)
            self.assertGreater(timing["initramfs_bytes"], 1 << 20)

    def test_console_transport(self):
        r, out = self.run_vm("console", "--transport", "console", "--", "pgtbench", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "exiting with 0\n")
        d = out / KERNEL.parent.name if KERNEL.name == "Image" else out / KERNEL.name
        self.assertEqual(testlib.load_json(d / "run.json")["transport"], "console")
        self.assertEqual((d / "results/blob.bin").read_bytes(), expected_blob())

    def test_kernel_warning_fails_the_run(self):
        r, _ = self.run_vm("warn", "--", "pgtbench", "0", "warn")
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertIn("WARNING: CPU: 0 PID: 1 at test", r.stderr)

    def test_timeout(self):
        r, out = self.run_vm("hang", "--timeout", "20", "--", "pgtbench", "0", "hang")
        self.assertEqual(r.returncode, 3, r.stderr)
        log = next(out.glob("*/console.log")).read_text()
        self.assertIn("pgtbench-out: exiting with 0", log)  # its last words survive


if __name__ == "__main__":
    testlib.main_or_skip()
