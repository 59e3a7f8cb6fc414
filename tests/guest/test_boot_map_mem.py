#!/usr/bin/python3
"""End-to-end checks of tools/boot-map-mem that CI can afford:

  * the stock Debian 6.12 kernel (no map_mem instrumentation) boots once under qemu
    and its results file says "not instrumented" (a few seconds under TCG). The
    instrumented path needs a patched kernel build, too slow for CI: it is covered by
    the captured boot logs (tests/fixtures/boot-logs/, test_vm_unit.py BootMapMem*);
  * pgtbench compare accepts map_mem_boot results files, built here from those logs.

The kernel is $PGTBENCH_VM_KERNEL, else $PGTBENCH_VM_KERNEL_CACHE/6.12/Image (fetched
there with tools/fetch-kernel when missing; meson sets it to <builddir>/kernels), else
build/kernels/6.12/Image; pgtbench (which writes the results files, and which compare
runs) is $PGTBENCH, else build/pgtbench. Checks whose tools are missing are skipped
(exit 77 when all are).

    /usr/bin/python3 tests/guest/test_boot_map_mem.py
"""

import json
import shutil
import subprocess
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import testlib  # noqa: E402
from testlib import PGTBENCH, REPO  # noqa: E402
from pgtbench_vm.boot_log import parse_boot_log  # noqa: E402

QEMU_PRESENT = bool(shutil.which("qemu-system-aarch64"))
KERNEL = testlib.kernel_under_test(fetch=QEMU_PRESENT)


class Tmp(testlib.TempDirCase):
    tmp_prefix = "pgtbench-mapmem-e2e-"


@unittest.skipUnless(QEMU_PRESENT and KERNEL.is_file(), "needs qemu-system-aarch64 and a kernel")
@testlib.needs_pgtbench
class StockKernel(Tmp):
    def test_stock_kernel_boots_once_and_is_skipped_as_not_instrumented(self):
        out = self.tmp / "stock"
        r = subprocess.run(
            ["/usr/bin/python3", str(REPO / "tools/boot-map-mem"), "--harness", str(PGTBENCH),
             "--kernel", f"stock={KERNEL}", "--cpu", "max,pauth-impdef=on", "--mem", "1G",
             "--reps", "2", "--out", str(out / "{label}.json"), "--out-dir", str(out)],
            capture_output=True, text=True, timeout=900)
        self.assertEqual(r.returncode, 4, r.stderr)  # nothing could be measured
        doc = testlib.load_json(out / "stock.json")
        if testlib.jsonschema:
            self.assertEqual(testlib.schema_errors(doc), [])
        [e] = doc["entries"]
        self.assertEqual(e["scenario"], "map_mem_boot")
        self.assertEqual(e["params"], {"mem_bytes": 1 << 30, "rodata": "full"})
        self.assertEqual(e["status"], "skipped")
        self.assertTrue(e["reason"].startswith("not instrumented: "), e["reason"])
        self.assertIn("no 'map_mem: time=' line", e["reason"])
        # The line cannot appear on a second boot: the kernel was booted once.
        [boot] = e["boots"]
        self.assertEqual(boot["outcome"], "complete")
        self.assertEqual(boot["mem_total_bytes_seen"], 1 << 30)
        log = parse_boot_log(Path(boot["console_log"]).read_text(errors="replace"))
        self.assertEqual(doc["pgtbench"]["env"]["kernel"]["release"], log.release)
        self.assertTrue(log.release.startswith("6.12."), log.release)


@testlib.needs_pgtbench
class Compare(Tmp):
    """pgtbench compare reads scenarios it has no registry entry for: it goes by the
    entries' params and metrics alone."""

    def write(self, label, stems):
        path = self.tmp / f"{label}.json"
        testlib.map_mem_boot_results(label, stems, path)
        return str(path)

    def compare(self, *args):
        return testlib.run_pgtbench("compare", *args, timeout=60)

    def test_compare_tabulates_map_mem_boot_per_size_and_rodata(self):
        # The 6.1 and 6.12 kernels built with the patch, booted at the same sizes.
        sizes = ["16G-rodata_full", "16G-rodata_on", "64G-rodata_full"]
        a = self.write("v6.1", [f"6.1-tiny-{s}" for s in sizes])
        b = self.write("v6.12", [f"6.12-tiny-{s}" for s in sizes])
        r = self.compare(a, b, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        table = json.dumps(json.loads(r.stdout))
        for cell in ("map_mem_boot", "map_mem_ms", "16G", "64G", "rodata", "v6.12"):
            self.assertIn(cell, table)
        r = self.compare(a, b)
        self.assertEqual(r.returncode, 0, r.stderr)
        # 6.1 at 16G, rodata=full: 295876 us; 6.12: 207592 us, i.e. -30%.
        self.assertRegex(r.stdout, r"v6\.1 +\| +296 \(0%\)")
        self.assertRegex(r.stdout, r"v6\.12 +\| +208 \(-30%\)")

    def test_compare_of_only_uninstrumented_kernels_says_why_there_is_nothing(self):
        a = self.write("stock", ["debian-6.12-1G-rodata_full"])
        r = self.compare(a)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("not instrumented", r.stderr)


if __name__ == "__main__":
    testlib.main_or_skip()
