#!/usr/bin/python3
"""tools/fidelity: the harness's fork and munmap next to tools/fork-ref.c, cell by cell.

A tiny run (2M, one round, two repetitions) must give a ratio for every cell it was asked
for and the reference's A/A ratio against its second run, every sample of the three in
fidelity.json, and a harness results file per cell and round; bad arguments are one line and exit 2. Behaviour only: no ratio is asserted (the
benchmark itself is the tool, run on a quiet machine). Needs root for the THP knobs.

Environment: PGTBENCH (the binary), FORK_REF (tools/fork-ref).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

TOOL = testlib.REPO / "tools" / "fidelity"


def fidelity(*args):
    return subprocess.run([str(TOOL), "--pgtbench", os.environ["PGTBENCH"],
                           "--ref", os.environ["FORK_REF"], *args],
                          capture_output=True, text=True, timeout=600)


class Fidelity(unittest.TestCase):
    @unittest.skipUnless(os.geteuid() == 0, "the harness sets THP knobs: root")
    def test_every_cell_gets_a_ratio_and_the_references_aa_ratio_from_their_samples(self):
        with tempfile.TemporaryDirectory() as d:
            p = fidelity("--sizes", "2M", "--rounds", "1", "--reps", "2", "--seed", "3",
                         "--out-dir", d)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            doc = json.loads((Path(d) / "fidelity.json").read_text())
            self.assertEqual(doc["seed"], 3)
            self.assertEqual(len(doc["cells"]), 6)  # 2 operations x 3 folio modes
            for c in doc["cells"]:
                self.assertEqual(c["error"], "")
                self.assertEqual([len(r) for r in c["harness_ms"]], [2])
                self.assertEqual([len(r) for r in c["reference_ms"]], [2])
                self.assertEqual([len(r) for r in c["reference_b_ms"]], [2])
                self.assertAlmostEqual(c["ratio"], c["harness_median_ms"] / c["reference_median_ms"])
                self.assertAlmostEqual(c["aa_ratio"], c["reference_b_median_ms"] / c["reference_median_ms"])
                name = f"harness-{c['op']}-2M-{c['mode']}-round0.json"
                self.assertTrue((Path(d) / name).is_file(), name)
            rows = [line for line in p.stdout.splitlines() if line.startswith("2M")]
            self.assertEqual(len(rows), 3, p.stdout)  # the ratios, the A/A's, the medians in ms
            self.assertEqual(rows[0].count("x"), 6, p.stdout)
            self.assertEqual(rows[1].count("x"), 6, p.stdout)
            outside = sum(abs(c["ratio"] - 1) > doc["target"] for c in doc["cells"])
            aa = sum(abs(c["aa_ratio"] - 1) > doc["target"] for c in doc["cells"])
            self.assertEqual((doc["cells_outside"], doc["aa_cells_outside"]), (outside, aa))
            self.assertIn(f"harness vs reference: {outside} of 6 cells outside +-3%; "
                          f"reference vs itself (A/A): {aa} of 6", p.stdout)

    def test_a_size_that_is_not_a_multiple_of_a_pmd_is_one_line_and_exit_2(self):
        p = fidelity("--sizes", "3M")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.strip().count("\n"), 0, p.stderr)
        self.assertIn("3M", p.stderr)

    def test_an_unknown_mode_is_refused_naming_the_known_ones(self):
        p = fidelity("--modes", "9cont")
        self.assertEqual(p.returncode, 2)
        self.assertIn("9pmd", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
