#!/usr/bin/python3
"""`pgtbench import`: a samples document becomes a results file through the harness's
one writer (names, summaries, exit code, Google Benchmark's records), and a malformed
one is refused in one line with nothing written. Needs no root.

Environment: PGTBENCH (the binary).
"""

import copy
import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

GIB = 1 << 30
# A machine and config as `run` records them, so the imported file is a complete one.
_FIXTURE = testlib.load_json(testlib.REPO / "tests/fixtures/results/synthetic_ab/base-m2-vm-16g.json")
SAMPLES = {
    "label": "base",
    "created_utc": "2026-11-22T00:00:00Z",
    "command_line": ["test_import.py"],
    "config": _FIXTURE["pgtbench"]["config"],
    "env": _FIXTURE["pgtbench"]["env"],
    "variants": [
        {"scenario": "fork", "params": {"size_bytes": GIB, "order": 9, "map": "pte"},
         "metrics": [{"name": "fork_ms", "unit": "ms", "samples": [1.0, 2.0, 6.0]},
                     {"name": "tlbi_count", "unit": "count", "samples": [7, 7, 7]}],
         "counters": {"cycles": {"event": "cycles", "kind": "hardware", "samples": [5, None, 9], "reason": "not counted in rep 2"}},
         "extra": {"boots": [{"rep": 1}]}},
        {"scenario": "fork", "params": {"size_bytes": GIB, "order": 4}, "status": "skipped",
         "reason": "no hugepages-64kB", "reps": 3, "metrics": [{"name": "fork_ms", "unit": "ms", "samples": []}]},
    ],
}


@testlib.needs_pgtbench
class Import(testlib.TempDirCase):
    def imported(self, doc, name="out.json"):
        src = self.tmp / f"{name}.samples.json"
        src.write_text(json.dumps(doc))
        out = self.tmp / name
        return testlib.run_pgtbench("import", src, "--out", out), out

    def test_the_writer_names_summarizes_and_dates_every_entry(self):
        proc, out = self.imported(SAMPLES)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = testlib.load_json(out)
        testlib.validate_results(doc)
        ok, skipped = doc["entries"]
        self.assertEqual(ok["name"], "fork/size:1G/order:9/map:pte")
        self.assertEqual(skipped["name"], "fork/size:1G/order:4")
        self.assertEqual(ok["primary_metric"], "fork_ms")
        self.assertEqual(ok["metrics"]["fork_ms"]["summary"]["median"], 2.0)
        self.assertEqual(ok["metrics"]["fork_ms"]["summary"]["mean"], 3.0)
        self.assertEqual(ok["reps"], 3)
        self.assertFalse(ok["counters"]["cycles"]["available"])
        self.assertEqual(ok["boots"], [{"rep": 1}])
        self.assertEqual(skipped["status"], "skipped")
        self.assertEqual(doc["pgtbench"]["exit_code"], 0)
        # No samples, no summary: never a median of 0 that reads as a measurement.
        self.assertIsNone(skipped["metrics"]["fork_ms"]["summary"])
        self.assertEqual(doc["context"]["date"], "2026-11-22T00:00:00Z")
        # One Google Benchmark iteration per sample of a timed primary metric, in a unit
        # where compare.py's integers keep its digits, then Google Benchmark's aggregates.
        runs = [b for b in doc["benchmarks"] if b["run_type"] == "iteration"]
        self.assertEqual([(b["real_time"], b["time_unit"]) for b in runs],
                         [(1000.0, "us"), (2000.0, "us"), (6000.0, "us")])
        self.assertEqual([b["name"] for b in doc["benchmarks"] if b["run_type"] == "aggregate"],
                         [f"{ok['name']}_{a}" for a in ("mean", "median", "stddev", "cv")])

    def test_an_all_skipped_document_records_the_kselftest_skip_code(self):
        doc = copy.deepcopy(SAMPLES)
        doc["variants"] = doc["variants"][1:]
        proc, out = self.imported(doc, "skipped.json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(testlib.load_json(out)["pgtbench"]["exit_code"], 4)

    def test_malformed_documents_are_refused_in_one_line_naming_the_field(self):
        def broken(edit):
            doc = copy.deepcopy(SAMPLES)
            edit(doc)
            return doc
        cases = {
            "label": broken(lambda d: d.update(label="../x")),
            "env": broken(lambda d: d.pop("env")),
            # What compare could not read is refused too: the reader checks the result.
            'pgtbench.env: missing "kernel"': broken(lambda d: d["env"].pop("kernel")),
            "variants[0].metrics[0].unit": broken(lambda d: d["variants"][0]["metrics"][0].pop("unit")),
            "variants[1].reason": broken(lambda d: d["variants"][1].update(reason="")),
            "variants[0].status": broken(lambda d: d["variants"][0].update(status="fine")),
            "variants[0].params.size_bytes": broken(lambda d: d["variants"][0]["params"].update(size_bytes=-1)),
            "variants[0].counters.cycles.kind": broken(
                lambda d: d["variants"][0]["counters"]["cycles"].update(kind="guess")),
            "variants[0].counters.cycles.reason": broken(
                lambda d: d["variants"][0]["counters"]["cycles"].pop("reason")),
            "variants[1].reps": broken(lambda d: d["variants"][1].pop("reps")),
            "variants[0].metrics[1].samples": broken(lambda d: d["variants"][0]["metrics"][1].update(samples=["7"])),
        }
        for field, doc in cases.items():
            with self.subTest(field=field):
                proc, out = self.imported(doc, "bad.json")
                testlib.assert_one_line_error(self, proc, field)
                self.assertFalse(out.exists())

    def test_an_env_without_optional_fields_reads_back(self):
        # The reader needs arch, kernel.release, cpu.model, virtualization.vm and
        # mem_total_bytes; a machine name is made without the hypervisor's.
        doc = copy.deepcopy(SAMPLES)
        doc["env"] = {"arch": "aarch64", "kernel": {"release": "6.12"}, "cpu": {"model": "part 0x051"},
                      "virtualization": {"vm": None}, "mem_total_bytes": 0}
        proc, out = self.imported(doc, "lean.json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        table = testlib.run_pgtbench("compare", out)
        self.assertEqual(table.returncode, 0, table.stderr)

    def test_a_file_that_is_not_json_is_refused(self):
        src = self.tmp / "garbage.samples.json"
        src.write_text("{not json")
        out = self.tmp / "garbage.json"
        proc = testlib.run_pgtbench("import", src, "--out", out)
        testlib.assert_one_line_error(self, proc, "not JSON")
        self.assertFalse(out.exists())


if __name__ == "__main__":
    testlib.main_or_skip()
