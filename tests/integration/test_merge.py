#!/usr/bin/python3
"""`pgtbench merge`: several runs of one config on one kernel (the boots of a
`pgtbench stack` stage) become one results file through the one writer, every sample
keeping the index of its run (entries[].sample_runs -> pgtbench.runs[]); runs that are
not of one label, kernel and config are refused in one line with nothing written.
Needs no root.

Environment: PGTBENCH (the binary).
"""

import copy
import json
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

FIXTURE = testlib.REPO / "tests/fixtures/results/synthetic_ab/base-m2-vm-16g.json"
PATCHED = testlib.REPO / "tests/fixtures/results/synthetic_ab/patched-m2-vm-16g.json"


def samples(run, n, offset=0.0):
    """Run `run`'s n samples, told apart from every other run's by their hundreds."""
    return [100.0 * (run + 1) + j + offset for j in range(n)]


def counter(values, kind="hardware", reason="", enabled=100, running=100, in_group=True):
    """A counter as the writer writes it (results.cpp counterJson)."""
    available = bool(values) and None not in values
    return {"event": "cycles", "kind": kind, "unit": "count", "available": available,
            "reason": "" if available else reason, "samples": values, "summary": None,
            "in_group": in_group, "time_enabled_ns": enabled, "time_running_ns": running}


def boot(run, n=3):
    """The fixture as boot `run` of the stage wrote it: n repetitions of every entry."""
    doc = copy.deepcopy(testlib.load_json(FIXTURE))
    doc["pgtbench"]["created_utc"] = f"2026-11-22T0{run}:00:00Z"
    doc["pgtbench"]["command_line"] = ["pgtbench", "run", "--out", f"boot-{run}.json"]
    for e in doc["entries"]:
        e["reps"] = n
        for offset, m in enumerate(e["metrics"].values()):
            m["samples"] = samples(run, n, offset / 2)
    return doc


@testlib.needs_pgtbench
class Merge(testlib.TempDirCase):
    def write(self, name, doc):
        path = self.tmp / name
        path.write_text(json.dumps(doc))
        return path

    def boots(self, *docs):
        return [self.write(f"boot-{i}.json", d) for i, d in enumerate(docs)]

    def merged(self, paths, *extra, name="merged.json"):
        out = self.tmp / name
        proc = testlib.run_pgtbench("merge", *paths, "--out", out, *extra)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout + proc.stderr, "")
        return testlib.load_json(out), out

    def assert_refused(self, paths, *needles, extra=()):
        """Exit 2, one line naming the file, no new file, and an existing --out untouched."""
        out = self.tmp / "refused.json"
        if out.exists():
            out.unlink()
        proc = testlib.run_pgtbench("merge", *paths, "--out", out, *extra)
        testlib.assert_one_line_error(self, proc, *needles, stdout_empty=True)
        self.assertFalse(out.exists())
        out.write_text("an earlier merge\n")
        proc = testlib.run_pgtbench("merge", *paths, "--out", out, *extra)
        testlib.assert_one_line_error(self, proc, *needles)
        self.assertEqual(out.read_bytes(), b"an earlier merge\n")
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir() if ".tmp." in p.name), [])
        out.unlink()

    # --- what the merged file holds -------------------------------------------------

    def test_samples_follow_one_another_in_input_order_and_keep_their_run(self):
        doc, _ = self.merged(self.boots(boot(0, 2), boot(1, 3), boot(2, 1)))
        e = doc["entries"][0]
        self.assertEqual(e["metrics"]["fork_ms"]["samples"], samples(0, 2) + samples(1, 3) + samples(2, 1))
        self.assertEqual(e["metrics"]["teardown_ms"]["samples"],
                         samples(0, 2, 0.5) + samples(1, 3, 0.5) + samples(2, 1, 0.5))
        self.assertEqual(e["sample_runs"], [0, 0, 1, 1, 1, 2])
        self.assertEqual(e["reps"], 6)
        self.assertEqual(e["metrics"]["fork_ms"]["summary"]["n"], 6)
        self.assertEqual(e["status"], "ok")
        # One Google Benchmark iteration record per merged sample, as for `import` (in us).
        records = [b["real_time"] / 1000 for b in doc["benchmarks"] if b["name"] == e["name"]]
        self.assertEqual(records, e["metrics"]["fork_ms"]["samples"])
        self.assertEqual(doc["pgtbench"]["label"], "base")
        self.assertEqual(doc["pgtbench"]["env"], testlib.load_json(FIXTURE)["pgtbench"]["env"])

    def test_runs_carry_their_file_their_record_and_the_runs_info_members(self):
        paths = self.boots(boot(0), boot(1))
        info = self.write("info.json", [{"boot": 1, "console_log": "boot-1.log"},
                                        {"boot": 2, "console_log": "boot-2.log"}])
        doc, _ = self.merged(paths, "--runs-info", info)
        runs = doc["pgtbench"]["runs"]
        self.assertEqual([r["file"] for r in runs], [str(p) for p in paths])
        self.assertEqual([r["boot"] for r in runs], [1, 2])
        self.assertEqual(runs[1]["console_log"], "boot-2.log")
        self.assertEqual([r["created_utc"] for r in runs], ["2026-11-22T00:00:00Z", "2026-11-22T01:00:00Z"])
        self.assertEqual(runs[1]["command_line"], ["pgtbench", "run", "--out", "boot-1.json"])
        self.assertEqual([r["exit_code"] for r in runs], [0, 0])
        self.assertEqual(doc["pgtbench"]["command_line"][1:3], ["merge", str(paths[0])])

    def test_each_runs_kernel_log_is_kept_and_the_merged_one_warns_of_any_and_says_which_was_not_watched(self):
        docs = [boot(0), boot(1), boot(2)]
        log = {"available": True, "reason": "", "lines": [], "warnings": 0, "lost": False}
        docs[0]["pgtbench"]["kernel_log"] = dict(log)
        docs[1]["pgtbench"]["kernel_log"] = dict(log, lines=["WARNING: CPU: 0 PID: 1 at mm/x.c:1 f"],
                                                 warnings=1, lost=True)
        doc, out = self.merged(self.boots(*docs))
        testlib.validate_results(doc)
        runs = doc["pgtbench"]["runs"]
        self.assertEqual(runs[1]["kernel_log"]["warnings"], 1)
        self.assertNotIn("kernel_log", runs[2])
        merged = doc["pgtbench"]["kernel_log"]
        self.assertEqual(merged["lines"], ["WARNING: CPU: 0 PID: 1 at mm/x.c:1 f"])
        self.assertEqual((merged["warnings"], merged["lost"], merged["available"]), (1, True, False))
        self.assertIn("run 2 (", merged["reason"])
        self.assertIn("not watched", merged["reason"])
        proc = testlib.run_pgtbench("compare", out)
        self.assertIn("base: the kernel logged 1 warning during the run", proc.stdout)

    def test_the_merged_file_is_a_results_file_that_compare_reads(self):
        doc, out = self.merged(self.boots(boot(0), boot(1)))
        testlib.validate_results(doc)
        proc = testlib.run_pgtbench("compare", out, PATCHED)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("mean of 6-10 runs", proc.stdout)  # 2 x 3 merged, 10 in the other file

    def test_a_counter_one_run_did_not_count_is_null_there_with_the_reason(self):
        docs = [boot(0, 2), boot(1, 3), boot(2, 1)]
        docs[0]["entries"][0]["counters"]["cycles"] = counter([5, 6], enabled=100, running=80)
        docs[2]["entries"][0]["counters"]["cycles"] = counter([7], enabled=50, running=50)
        doc, _ = self.merged(self.boots(*docs))
        testlib.validate_results(doc)
        c = doc["entries"][0]["counters"]["cycles"]
        self.assertEqual(c["samples"], [5, 6, None, None, None, 7])
        self.assertFalse(c["available"])
        self.assertEqual(c["reason"], "not counted in run 1")
        self.assertFalse(c["in_group"])
        self.assertEqual((c["time_enabled_ns"], c["time_running_ns"]), (150, 130))
        self.assertEqual(c["kind"], "hardware")

    def test_a_counter_every_run_counted_stays_available_with_its_samples_in_order(self):
        docs = [boot(0, 2), boot(1, 1)]
        docs[0]["entries"][1]["counters"]["cycles"] = counter([5, 6])
        docs[1]["entries"][1]["counters"]["cycles"] = counter([9])
        doc, _ = self.merged(self.boots(*docs))
        c = doc["entries"][1]["counters"]["cycles"]
        self.assertEqual((c["samples"], c["available"], c["in_group"]), ([5, 6, 9], True, True))
        self.assertEqual(c["summary"]["n"], 3)

    def test_statuses_join_an_error_or_a_partial_skip_into_an_error(self):
        docs = [boot(0, 2), boot(1, 2), boot(2, 2)]
        docs[1]["entries"][0].update(status="error", reason="the child died")
        for d in docs[1:]:
            d["entries"][1].update(status="skipped", reason="no THP")
            d["entries"][1]["metrics"]["fork_ms"]["samples"] = []
            d["entries"][1]["metrics"]["teardown_ms"]["samples"] = []
        for d in docs:
            d["entries"][2].update(status="skipped", reason=f"nothing here {d['pgtbench']['created_utc']}")
            for m in d["entries"][2]["metrics"].values():
                m["samples"] = []
        paths = self.boots(*docs)
        doc, _ = self.merged(paths)
        testlib.validate_results(doc)
        failed, partial, skipped = doc["entries"]
        self.assertEqual((failed["status"], failed["reason"]), ("error", f"run 1 ({paths[1]}): the child died"))
        self.assertEqual((partial["status"], partial["reason"]),
                         ("error", f"skipped in run 1 ({paths[1]}): no THP; ran in the others"))
        self.assertEqual(partial["sample_runs"], [0, 0])
        self.assertEqual((skipped["status"], skipped["reason"]), ("skipped", "nothing here 2026-11-22T00:00:00Z"))
        self.assertEqual(skipped["reps"], 2)
        self.assertNotIn("sample_runs", skipped)
        self.assertEqual(doc["pgtbench"]["exit_code"], 1)

    def test_real_runs_of_the_null_scenario_merge_and_one_run_gives_back_its_entries(self):
        config = self.tmp / "null.toml"
        config.write_text("[run]\nreps = 2\nwarmup = 0\ncounters = false\n[null]\n")
        runs = []
        for k in range(2):
            out = self.tmp / f"null-{k}.json"
            proc = testlib.run_pgtbench("run", config, "--filter", "^null", "--label", "stage", "--out", out)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            runs.append(out)
        doc, _ = self.merged(runs)
        testlib.validate_results(doc)
        inputs = [testlib.load_json(p)["entries"][0] for p in runs]
        e = doc["entries"][0]
        self.assertEqual(e["sample_runs"], [0, 0, 1, 1])
        for m in inputs[0]["metrics"]:
            self.assertEqual(e["metrics"][m]["samples"],
                             inputs[0]["metrics"][m]["samples"] + inputs[1]["metrics"][m]["samples"])
        alone, _ = self.merged(runs[:1], name="alone.json")
        got = alone["entries"][0]
        self.assertEqual(got.pop("sample_runs"), [0, 0])
        self.assertEqual(got, inputs[0])

    # --- refusals ------------------------------------------------------------------

    def test_runs_of_another_label_kernel_arch_or_entry_list_are_refused_naming_the_file(self):
        def other(edit):
            doc = boot(1)
            edit(doc)
            return doc

        def swap(d):
            d["entries"][1], d["entries"][2] = d["entries"][2], d["entries"][1]

        def primary(d):
            d["entries"][2]["primary_metric"] = "teardown_ms"

        def kind(d):
            d["entries"][0]["counters"]["cycles"] = counter([1, 2, 3], kind="software")

        cases = {
            "label patched differs from": other(lambda d: d["pgtbench"].update(label="patched")),
            "kernel 6.12.1 differs from": other(
                lambda d: d["pgtbench"]["env"]["kernel"].update(release="6.12.1")),
            "arch x86_64 differs from": other(lambda d: d["pgtbench"]["env"].update(arch="x86_64")),
            "entries differ from": other(swap),
            "entries[2] is nothing here, fork/size:1G/order:9/map:pte there": other(
                lambda d: d["entries"].pop()),
            "primary metric teardown_ms differs": other(primary),
            "counter cycles is of kind software here, hardware in": other(kind),
            "no metric teardown_ms": other(lambda d: d["entries"][0]["metrics"].pop("teardown_ms")),
        }
        first = boot(0)
        first["entries"][0]["counters"]["cycles"] = counter([1, 2, 3])
        for needle, doc in cases.items():
            with self.subTest(needle):
                paths = self.boots(first, doc)
                self.assert_refused(paths, str(paths[1]) + ": ", needle)

    def test_what_the_reader_refuses_is_refused_with_its_message(self):
        bad = boot(1)
        bad["entries"][0]["metrics"]["fork_ms"].pop("unit")
        paths = self.boots(boot(0), bad)
        self.assert_refused(paths, f"{paths[1]}: entries[0].metrics.fork_ms: missing \"unit\"")
        garbage = self.tmp / "garbage.json"
        garbage.write_text("{not json")
        self.assert_refused([paths[0], garbage], f"{garbage}: not JSON")
        self.assert_refused([paths[0], self.tmp / "missing.json"], "missing.json: cannot read")
        schema = testlib.SCHEMA
        self.assert_refused([schema], f"{schema}: top level: missing \"pgtbench\"")

    def test_runs_info_must_be_one_object_per_results_file(self):
        paths = self.boots(boot(0), boot(1))
        for name, info in (("short", [{"boot": 1}]), ("scalars", [1, 2]), ("object", {"boot": 1})):
            with self.subTest(name):
                self.assert_refused(paths, "--runs-info", "2 objects",
                                    extra=("--runs-info", self.write(f"{name}.json", info)))
        self.assert_refused(paths, "info-missing.json: cannot read",
                            extra=("--runs-info", self.tmp / "info-missing.json"))

    def test_no_results_files_or_no_out_is_a_usage_error(self):
        proc = testlib.run_pgtbench("merge", "--out", self.tmp / "x.json")
        testlib.assert_one_line_error(self, proc, "RESULTS")
        proc = testlib.run_pgtbench("merge", self.boots(boot(0))[0])
        testlib.assert_one_line_error(self, proc, "--out")
        self.assertFalse((self.tmp / "x.json").exists())


if __name__ == "__main__":
    testlib.main_or_skip()
