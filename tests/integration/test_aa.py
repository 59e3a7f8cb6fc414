#!/usr/bin/python3
"""tools/aa: two labels measuring the same config, compared as an A/B would be.

A tiny run (fork of 2M at order 0 and 9, two rounds alternating a and b, interleaved)
must give a comparison of every cell from the merged rounds, the round files and aa.json;
bad arguments are one line and exit 2. Behaviour only: how many cells are flagged is
the benchmark's figure, not asserted (run it on a quiet machine). Needs root for the THP
knobs.

Environment: PGTBENCH (the binary).
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

TOOL = testlib.REPO / "tools" / "aa"
TINY = """\
[run]
reps = 4
warmup = 0
counters = false

[fork]
size = "2M"
order = [0, 9]
map = ["pmd"]
"""


def aa(*args):
    return subprocess.run([str(TOOL), "--pgtbench", os.environ["PGTBENCH"], *map(str, args)],
                          capture_output=True, text=True, timeout=600)


class AA(unittest.TestCase):
    @unittest.skipUnless(os.geteuid() == 0, "the harness sets THP knobs: root")
    def test_rounds_alternate_the_labels_and_every_cell_is_compared_from_the_merged_runs(self):
        with tempfile.TemporaryDirectory() as d:
            cfg = Path(d) / "tiny.toml"
            cfg.write_text(TINY)
            p = aa("--config", cfg, "--rounds", "2", "--order", "interleave", "--out-dir", d)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            for name in ("a-round1.json", "b-round1.json", "a-round2.json", "b-round2.json"):
                self.assertTrue((Path(d) / name).is_file(), name)
            doc = json.loads((Path(d) / "aa.json").read_text())
            self.assertEqual((doc["rounds"], doc["order"], doc["cells"]), (2, "interleave", 2))
            self.assertEqual(sorted(doc["p"]), ["fork/size:2M/order:0", "fork/size:2M/order:9/map:pmd"])
            a = testlib.load_json(Path(d) / "a.json")
            # Each round ran half of every variant's repetitions; merged they are all there.
            self.assertEqual([len(e["metrics"]["fork_ms"]["samples"]) for e in a["entries"]], [4, 4])
            self.assertEqual(a["entries"][0]["sample_runs"], [0, 0, 1, 1])
            self.assertRegex(p.stdout, rf"A/A: {doc['flagged']} of 2 cells flagged \(2 round\(s\), order interleave\)")

    def test_an_unknown_order_is_one_line_and_exit_2(self):
        p = aa("--order", "sideways")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.strip().count("\n"), 0, p.stderr)
        self.assertIn("variants, interleave, shuffle", p.stderr)

    def test_repetitions_that_cannot_be_shared_over_the_rounds_are_refused_before_any_run(self):
        with tempfile.TemporaryDirectory() as d:
            cfg = Path(d) / "tiny.toml"
            cfg.write_text(TINY)
            p = aa("--config", cfg, "--rounds", "5", "--out-dir", d)  # 4 repetitions over 5 rounds
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertEqual(p.stderr.strip().count("\n"), 0, p.stderr)
            self.assertFalse(list(Path(d).glob("*-round*.json")))


if __name__ == "__main__":
    unittest.main()
