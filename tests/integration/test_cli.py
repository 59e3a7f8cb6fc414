#!/usr/bin/python3
"""The pgtbench command line end to end on this machine: runs, results files that
validate, exit codes, one-line errors, and THP settings that come back whatever happens.

Environment: PGTBENCH (the binary), PGTBENCH_SOURCE (the repository root).
"""

import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402
from testlib import THP, can_change_thp, load_json, thp_settings, validate_results  # noqa: E402

PGTBENCH = str(testlib.PGTBENCH)
SOURCE = os.environ.get("PGTBENCH_SOURCE", str(testlib.REPO))

KHUGEPAGED_SLEEP = THP + "/khugepaged/scan_sleep_millisecs"
# What run --tune may change on a machine (those that exist).
TUNE_FILES = [KHUGEPAGED_SLEEP, THP + "/khugepaged/alloc_sleep_millisecs",
              "/proc/sys/vm/compaction_proactiveness", "/sys/devices/system/cpu/cpufreq/boost",
              "/sys/devices/system/cpu/intel_pstate/no_turbo"] + \
    sorted(glob.glob("/sys/devices/system/cpu/cpufreq/policy*/scaling_governor"))


def tune_settings():
    out = {}
    for path in TUNE_FILES:
        try:
            with open(path) as fh:
                out[path] = fh.read().strip()
        except OSError:
            pass
    return out


def harness_vmas():
    """The VMAs of a process with many shared libraries (this one): what fork copies there."""
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


class Cli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="pgtbench-cli-")
        self.env = dict(os.environ, PGTBENCH_JOURNAL=os.path.join(self.tmp.name, "journal"))

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def run_pgt(self, *args, timeout=600):
        return testlib.run_pgtbench(*args, cwd=SOURCE, env=self.env, timeout=timeout)

    def write(self, name, text):
        with open(self.path(name), "w") as fh:
            fh.write(text)
        return self.path(name)

    assert_usage_error = testlib.assert_one_line_error

    # --- the main run ------------------------------------------------------------

    @unittest.skipUnless(can_change_thp(), "needs root and writable THP sysfs")
    def test_quick_config_runs_every_variant_and_restores_thp(self):
        before = thp_settings()
        out = self.path("quick.json")
        proc = self.run_pgt("run", "configs/quick.toml", "--out", out, "--label", "quick")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(thp_settings(), before)
        doc = load_json(out)
        validate_results(doc)
        self.assertEqual(doc["pgtbench"]["label"], "quick")
        entries = {e["name"]: e for e in doc["entries"]}
        for name in ("fork/size:64M/order:0", "fork/size:64M/order:9/map:pmd",
                     "fork/size:64M/order:9/map:pte"):
            e = entries[name]
            if e["status"] == "skipped":
                self.assertTrue(e["reason"])
                continue
            self.assertEqual(e["status"], "ok", e["reason"])
            self.assertEqual(len(e["metrics"]["fork_ms"]["samples"]), 3)
            self.assertEqual(len(e["metrics"]["teardown_ms"]["samples"]), 3)
            self.assertEqual(len(e["checks"]), 3)
            for c in e["checks"]:
                self.assertEqual(c["folio"]["target_order"], e["params"]["order"])
                self.assertEqual(c["folio"]["bytes"], 64 << 20)
                # Read after the fork, in the lean subject, not in pgtbench itself.
                self.assertEqual(c["folio"]["when"], "after")
                self.assertEqual(c["subject"]["process"], "pgtbench-subject")
                self.assertLess(c["subject"]["vma_count"], harness_vmas(), name)
        # The PTE-mapped variant really is PTE-mapped, and the PMD one PMD-mapped.
        pte = entries["fork/size:64M/order:9/map:pte"]["checks"][0]["folio"]
        pmd = entries["fork/size:64M/order:9/map:pmd"]["checks"][0]["folio"]
        self.assertEqual(pte["pmd_mapped_fraction"], 0)
        self.assertGreater(pmd["pmd_mapped_fraction"], 0)
        self.assertEqual(len(entries["null"]["metrics"]["bracket_ns"]["samples"]), 100)
        # The counter bracket's own cost is recorded next to the harness's.
        self.assertEqual(len(entries["null"]["metrics"]["counters_bracket_ns"]["samples"]), 100)
        for name in ("munmap/size:64M/order:0", "munmap/size:64M/order:9/map:pte"):
            self.assertEqual(entries[name]["status"], "ok", entries[name]["reason"])
            # munmap leaves nothing to read: the folios come from a twin populated just before.
            self.assertEqual(entries[name]["checks"][0]["folio"]["when"], "twin")
            self.assertEqual(len(entries[name]["metrics"]["munmap_ms"]["samples"]), 3)
        # Counters: every one either counted or n/a with its reason, never a bare zero.
        fork0 = entries["fork/size:64M/order:0"]["counters"]
        self.assertIn("cycles", fork0)
        self.assertIn("tlb_flush_calls.tlb_finish_mmu", fork0)
        for name, c in fork0.items():
            if c["available"]:
                self.assertTrue(all(v is not None for v in c["samples"]), name)
            else:
                self.assertTrue(c["reason"], name)
                self.assertTrue(all(v is None for v in c["samples"]), name)
        if fork0["page_faults"]["available"]:
            # The parent's first write after fork() hits its now write-protected stack.
            self.assertGreaterEqual(min(fork0["page_faults"]["samples"]), 1)
        # The human table names every variant.
        for name in entries:
            self.assertIn(name, proc.stdout)
        # Google Benchmark's own layout is kept for its tools.
        runs = [b for b in doc["benchmarks"] if b["run_type"] == "iteration"]
        self.assertTrue(all(b["iterations"] == 1 for b in runs))

    @unittest.skipUnless(can_change_thp(), "needs root and writable THP sysfs")
    def test_mthp_matrix_every_cell_verified_or_skipped_and_thp_restored(self):
        ops = ["fault", "fork", "munmap", "dontneed", "pte_dontneed", "cow", "cow_reuse",
               "remap", "mprotect"]
        cfg = "[run]\nreps = 1\nwarmup = 0\n" + "".join(
            f"[{op}]\nsize = \"4M\"\norder = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n" for op in ops
            if op != "remap") + "[remap]\nsize = \"4M\"\norder = [0, 9]\n"
        before = thp_settings()
        out = self.path("matrix.json")
        proc = self.run_pgt("run", self.write("matrix.toml", cfg), "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(thp_settings(), before)
        doc = load_json(out)
        validate_results(doc)
        seen = set()
        for e in doc["entries"]:
            seen.add(e["scenario"])
            if e["status"] == "skipped":
                self.assertTrue(e["reason"], e["name"])
                continue
            self.assertEqual(e["status"], "ok", f"{e['name']}: {e['reason']}")
            samples = e["metrics"][e["primary_metric"]]["samples"]
            self.assertEqual(len(samples), 1, e["name"])
            folio = e["checks"][0]["folio"]
            self.assertEqual(folio["target_order"], e["params"]["order"], e["name"])
            # Verified, not assumed: the fraction comes from pagemap + kpageflags.
            self.assertEqual(folio["method"], "kpageflags", e["name"])
            self.assertIsNotNone(folio["achieved_fraction"], e["name"])
        self.assertEqual(seen, set(ops))
        names = {e["name"]: e for e in doc["entries"]}
        # Order 1 is never an anonymous mTHP size; remap only exists for the PMD order.
        self.assertEqual(names["fault/size:4M/order:1"]["status"], "skipped")
        self.assertIn("PMD", names["remap/size:4M/order:0"]["reason"])
        self.assertEqual(names["cow/size:4M/order:9/map:pte/write:byte"]["status"], "ok")

    @unittest.skipUnless(can_change_thp(), "needs root and writable THP sysfs")
    def test_large_folio_scenarios_run_or_skip_for_want_of_swap_and_prove_what_they_did(self):
        before = thp_settings()
        with open(os.path.join(SOURCE, "configs/large-folio.toml")) as fh:
            text = fh.read()
        # The shipped config at a size and repetition count a test can afford.
        text = text.replace('"1G"', '"4M"').replace("reps = 10", "reps = 2").replace(
            "toggles = 40", "toggles = 3")
        out = self.path("lf.json")
        proc = self.run_pgt("run", self.write("lf.toml", text), "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(thp_settings(), before)
        doc = load_json(out)
        validate_results(doc)
        swap = doc["pgtbench"]["env"]["swap"]
        entries = doc["entries"]
        scenarios = {e["scenario"] for e in entries}
        self.assertEqual(scenarios, {"mprotect_toggle", "lazyfree", "lazyfree_reclaim", "swapin",
                                     "munmap_swapped_forked", "reuse_byte", "child_reuse_byte"})
        pages = (4 << 20) // 4096
        for e in entries:
            name = e["name"]
            if e["scenario"] in ("swapin", "munmap_swapped_forked") and not swap["areas"]:
                self.assertEqual(e["status"], "skipped", name)
                self.assertIn("no swap", e["reason"], name)
                continue
            if e["status"] == "skipped":  # an order this kernel does not offer
                self.assertIn("order", e["reason"], name)
                continue
            self.assertEqual(e["status"], "ok", f"{name}: {e.get('reason')}")
            metric = e["scenario"] + "_ms"
            self.assertEqual(len(e["metrics"][metric]["samples"]), 2, name)
            for c in e["checks"]:
                self.assertEqual(c["folio"]["target_order"], e["params"]["order"], name)
                # No module here: the walks say so instead of guessing.
                self.assertFalse(c["mapping"]["available"], name)
                if e["scenario"] != "munmap_swapped_forked":
                    self.assertIn("mapping_after", c, name)
            if e["scenario"] == "mprotect_toggle":
                self.assertEqual(e["params"]["toggles"], 3)
            if e["scenario"] == "lazyfree_reclaim":
                # Lazyfree folios are clean: reclaim drops every one, swap or not.
                for c in e["checks"]:
                    self.assertEqual(c["pageout"]["none_pages"], pages, name)
                    self.assertTrue(c["pageout"]["ok"], name)
            if e["scenario"] in ("swapin", "munmap_swapped_forked"):
                for c in e["checks"]:
                    self.assertEqual(c["pageout"]["swapped_pages"], pages, name)
            if e["scenario"] == "reuse_byte" and e["counters"]["page_faults"]["available"]:
                # One write fault per page: each finds its page write-protected by the fork
                # (the subject may take one or two of its own in the bracket besides).
                for n in e["counters"]["page_faults"]["samples"]:
                    self.assertTrue(pages <= n <= pages + 2, f"{name}: {n} faults")
            if e["scenario"] in ("reuse_byte", "child_reuse_byte"):
                for c in e["checks"]:
                    self.assertEqual(c["subject"]["process"], "pgtbench-subject", name)

    @unittest.skipUnless(can_change_thp(), "needs root and writable THP sysfs")
    def test_a_child_writing_after_its_parent_exited_runs_in_a_new_subject_each_time(self):
        text = '[run]\nreps = 3\nwarmup = 0\n[child_reuse_byte]\nsize = "2M"\norder = [0]\n'
        out = self.path("crb.json")
        proc = self.run_pgt("run", self.write("crb.toml", text), "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        e = load_json(out)["entries"][0]
        self.assertEqual(e["status"], "ok", e.get("reason"))
        self.assertEqual(len(e["metrics"]["child_reuse_byte_ms"]["samples"]), 3)
        # Every old subject was reaped: no zombie and no stray subject outlives the run.
        ps = subprocess.run(["ps", "-eo", "stat,comm"], capture_output=True, text=True).stdout
        self.assertFalse([l for l in ps.splitlines() if "pgtbench" in l and l.startswith("Z")], ps)

    def test_shipped_configs_list_cleanly(self):
        for cfg in ("configs/default.toml", "configs/quick.toml", "configs/mthp.toml",
                    "configs/large-folio.toml"):
            proc = self.run_pgt("list", cfg)
            self.assertEqual(proc.returncode, 0, f"{cfg}: {proc.stderr}")
            self.assertIn("  run ", proc.stdout)

    def test_module_configs_list_every_variant_as_skipped_naming_kmod(self):
        proc = self.run_pgt("list", "configs/map_mem.toml")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        skips = [l for l in proc.stdout.splitlines() if l.strip().startswith("skip  map_mem/")]
        self.assertEqual(len(skips), 4 * 5, proc.stdout)  # 4 sizes x 5 strategies
        self.assertTrue(all("--kmod" in l for l in skips), skips[:2])
        proc = self.run_pgt("list", "configs/vmalloc.toml")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        skips = [l for l in proc.stdout.splitlines() if l.strip().startswith("skip  vmalloc/")]
        self.assertTrue(skips and all("--kmod" in l for l in skips), proc.stdout[-400:])

    def test_map_mem_bad_strategy_granularity_or_size_are_config_errors(self):
        for line, what in (('strategy = ["lazy"]', "'lazy' is not one of base, no-cont-remap"),
                           ('granularity = "pmd"', "'pmd' is not one of pte, cont, block"),
                           ('size = "0"', "out of range"),
                           ('size = "2T"', "out of range [4K, 1T]")):
            cfg = self.write("mm.toml", f"[map_mem]\n{line}\n")
            out = self.path("never.json")
            self.assert_usage_error(self.run_pgt("run", cfg, "--out", out), f"{cfg}:2:", what)
            self.assertFalse(os.path.exists(out))

    def test_schema_rejects_a_broken_file(self):
        """The validation above means something: a damaged file fails it."""
        doc = {"context": {}, "benchmarks": [], "entries": [],
               "pgtbench": {"schema_version": 1}}
        with self.assertRaises(testlib.jsonschema.ValidationError):
            validate_results(doc)

    def test_all_skipped_exits_4_and_still_writes_reasons(self):
        # Order 1 is never offered for anonymous memory (anon mTHP starts at order 2).
        cfg = self.write("o1.toml", "[fork]\nsize = \"2M\"\norder = [1]\n")
        out = self.path("o1.json")
        proc = self.run_pgt("run", cfg, "--out", out)
        self.assertEqual(proc.returncode, 4, proc.stderr)
        doc = load_json(out)
        validate_results(doc)
        self.assertEqual(doc["entries"][0]["status"], "skipped")
        self.assertTrue(doc["entries"][0]["reason"])

    def test_share_runs_each_rounds_part_of_every_variants_repetitions(self):
        # 5 repetitions over 2 rounds: 3 then 2; [null]'s own 4: 2 and 2.
        cfg = self.write("share.toml", "[run]\nreps = 5\nwarmup = 0\ncounters = false\n"
                                       "[null]\nreps = 4\n[kmod_nop]\n")
        got = {}
        for part in (1, 2):
            out = self.path(f"share{part}.json")
            proc = self.run_pgt("run", cfg, "--share", f"{part}/2", "--out", out)
            self.assertIn(proc.returncode, (0, 1), proc.stderr)
            doc = load_json(out)
            validate_results(doc)
            self.assertEqual(doc["pgtbench"]["config"]["share"], f"{part}/2")
            null = next(e for e in doc["entries"] if e["scenario"] == "null")
            got[part] = (null["reps"], len(null["metrics"]["bracket_ns"]["samples"]),
                         doc["pgtbench"]["config"]["reps"])
        self.assertEqual(got, {1: (2, 2, 3), 2: (2, 2, 2)})

    @unittest.skipUnless(can_change_thp(), "needs root and writable THP sysfs")
    def test_interleaved_and_shuffled_runs_visit_every_variant_each_round(self):
        cfg = self.write("order.toml", "[run]\nreps = 3\nwarmup = 0\ncounters = false\n"
                                       "[null]\n[munmap]\nsize = \"2M\"\norder = [0]\n")

        def run(*extra):
            out = self.path("order.json")
            proc = self.run_pgt("run", cfg, *extra, "--out", out)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            doc = load_json(out)
            validate_results(doc)
            return doc, {e["scenario"]: e["run_order"] for e in doc["entries"]}

        doc, order = run("--order", "variants")
        self.assertEqual(order, {"null": [0, 1, 2], "munmap": [3, 4, 5]})
        self.assertEqual(doc["pgtbench"]["config"]["order"], "variants")
        doc, order = run()  # interleaved unless told otherwise
        self.assertEqual(order, {"null": [0, 2, 4], "munmap": [1, 3, 5]})
        self.assertEqual(doc["pgtbench"]["config"]["order"], "interleave")
        # Google Benchmark's records still say 3 repetitions of each variant.
        reps = {(b["name"], b["repetitions"]) for b in doc["benchmarks"] if b["run_type"] == "iteration"}
        self.assertEqual({r for _, r in reps}, {3})
        self.assertEqual(len([b for b in doc["benchmarks"] if b["run_type"] == "iteration"]), 6)
        doc, first = run("--order", "shuffle", "--seed", "5")
        self.assertEqual(doc["pgtbench"]["config"]["seed"], 5)
        self.assertEqual(run("--order", "shuffle", "--seed", "5")[1], first)
        for r in range(3):  # every round holds one repetition of each
            self.assertEqual(sorted(o[r] // 2 for o in first.values()), [r, r])
        doc, _ = run("--order", "shuffle")
        self.assertIsInstance(doc["pgtbench"]["config"]["seed"], int)
        self.assert_usage_error(self.run_pgt("run", cfg, "--order", "random"), "--order", "interleave")
        self.assert_usage_error(self.run_pgt("run", cfg, "--seed", "3"), "--order shuffle")

    @unittest.skipUnless(can_change_thp(), "needs root and writable THP sysfs")
    def test_benchmarks_records_are_what_google_benchmarks_compare_py_reads(self):
        # tools/compare.py (google/benchmark) reads benchmarks[] alone: a record per
        # repetition and Google Benchmark's aggregates, times in a unit fine enough for
        # its integer columns, the same in every file of a variant (it pairs only records
        # of one time_unit): a thousandth of the primary metric's unit, ns at the finest.
        cfg = self.write("gbench.toml", "[run]\nreps = 3\nwarmup = 0\ncounters = false\n"
                                        "[null]\n[munmap]\nsize = \"2M\"\norder = [0]\n")
        out = self.path("gbench.json")
        proc = self.run_pgt("run", cfg, "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = load_json(out)
        validate_results(doc)
        self.assertIsInstance(doc["context"], dict)
        seconds = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
        entries = {e["name"]: e for e in doc["entries"] if e["status"] == "ok"}
        self.assertEqual(set(entries), {"null", "munmap/size:2M/order:0"})
        records = doc["benchmarks"]
        self.assertTrue(records)
        for b in records:
            self.assertIsInstance(b["name"], str)
            self.assertIn(b["run_type"], ("iteration", "aggregate"), b["name"])
            self.assertIn(b["time_unit"], seconds, b["name"])
            for field in ("real_time", "cpu_time"):
                self.assertIsInstance(b[field], (int, float), b["name"])
                self.assertNotIsInstance(b[field], bool, b["name"])
            self.assertEqual(b["repetitions"], 3, b["name"])
        # Per variant: its name, one record per repetition in order, then its aggregates.
        self.assertEqual({b["run_name"] for b in records}, set(entries))
        for name, e in entries.items():
            samples = e["metrics"][e["primary_metric"]]["samples"]
            unit = e["metrics"][e["primary_metric"]]["unit"]
            runs = [b for b in records if b["name"] == name]
            self.assertEqual([b["run_type"] for b in runs], ["iteration"] * 3, name)
            self.assertEqual([b["repetition_index"] for b in runs], [0, 1, 2], name)
            time_unit = runs[0]["time_unit"]
            for b, sample in zip(runs, samples, strict=True):
                self.assertEqual(b["time_unit"], time_unit, name)
                # real_time is the primary metric: the timed operation alone.
                self.assertAlmostEqual(b["real_time"] * seconds[time_unit] / seconds[unit], sample,
                                       delta=abs(sample) * 1e-9, msg=name)
                self.assertEqual(b["iterations"], 1, name)
            self.assertEqual(time_unit, {"s": "ms", "ms": "us", "us": "ns", "ns": "ns"}[unit], name)
            aggregates = {b["aggregate_name"]: b for b in records
                          if b["run_type"] == "aggregate" and b["run_name"] == name}
            self.assertEqual(set(aggregates), {"mean", "median", "stddev", "cv"}, name)
            for what, b in aggregates.items():
                self.assertEqual(b["name"], f"{name}_{what}")
                self.assertNotIn("repetition_index", b, name)
                self.assertEqual(b["aggregate_unit"], "percentage" if what == "cv" else "time", name)
                self.assertEqual(b["time_unit"], time_unit, name)
            self.assertAlmostEqual(aggregates["mean"]["real_time"], sum(b["real_time"] for b in runs) / 3,
                                   delta=aggregates["mean"]["real_time"] * 1e-9, msg=name)

    def test_a_share_that_leaves_a_round_without_repetitions_is_refused_by_run_and_list(self):
        cfg = self.write("few.toml", "[run]\nreps = 2\n[null]\nreps = 6\n[fork]\nsize = \"2M\"\n")
        for cmd in ("run", "list"):
            self.assert_usage_error(self.run_pgt(cmd, cfg, "--share", "1/3"),
                                    "[run] has 2 repetitions, fewer than the 3 rounds")
        self.assertEqual(self.run_pgt("list", cfg, "--share", "2/2").returncode, 0)
        for bad in ("0/2", "3/2", "1", "1/2x", "a/b"):
            self.assert_usage_error(self.run_pgt("list", cfg, "--share", bad), "expected K/R")

    # --- machine-readable output: TAP, LAVA, JSON lists; progress in CI logs -----------

    # One variant that runs (null) and one that never can (anon order 1): cheap, no knobs.
    MIXED = "[run]\nreps = 3\nwarmup = 0\ncounters = false\n[null]\n[fork]\nsize = \"2M\"\norder = [1]\n"
    SKIPPED = "[fork]\nsize = \"2M\"\norder = [1]\n"

    def test_tap_has_a_plan_a_line_per_variant_and_the_results_file_is_still_written(self):
        cfg = self.write("mixed.toml", self.MIXED)
        out = self.path("tap.json")
        proc = self.run_pgt("run", cfg, "--tap", "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.splitlines()
        doc = load_json(out)
        validate_results(doc)
        names = [e["name"] for e in doc["entries"]]
        self.assertEqual(lines[:2], ["TAP version 13", f"1..{len(names)}"])
        results = [line for line in lines if not line.startswith("#")][2:]
        self.assertEqual(len(results), len(names), proc.stdout)
        self.assertRegex(results[0], r"^ok 1 null # bracket_ns [0-9.]+ ns$")
        self.assertRegex(results[1], r"^ok 2 fork/size:2M/order:1 # SKIP \S")
        self.assertEqual(lines[-1], "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0")
        # The table a person reads went to stderr.
        self.assertIn("bracket_ns", proc.stderr)

    def test_tap_of_a_run_where_nothing_could_run_exits_4_like_ksft_skip(self):
        cfg = self.write("skipped.toml", self.SKIPPED)
        proc = self.run_pgt("run", cfg, "--tap", "--out", self.path("skip.json"))
        self.assertEqual(proc.returncode, 4, proc.stderr)
        self.assertEqual(proc.stdout.splitlines()[:2], ["TAP version 13", "1..1"])
        self.assertRegex(proc.stdout.splitlines()[2], r"^ok 1 fork/size:2M/order:1 # SKIP \S")

    def test_lava_lines_run_under_sh_call_lava_test_case_once_per_variant_with_safe_ids(self):
        cfg = self.write("mixed.toml", self.MIXED)
        out = self.path("lava.json")
        proc = self.run_pgt("run", cfg, "--lava", "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        cases = self.write("cases.sh", proc.stdout)
        bin_dir = self.path("bin")
        os.mkdir(bin_dir)
        record = self.path("calls")
        # LAVA's lava-test-case, faked: one line per call, its arguments tab-separated.
        fake = self.write("bin/lava-test-case", f"#!/bin/sh\nIFS='\t'; printf '%s\\n' \"$*\" >> {record}\n")
        os.chmod(fake, 0o755)
        sh = subprocess.run(["sh", cases], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PATH=bin_dir + ":" + os.environ["PATH"]))
        self.assertEqual(sh.returncode, 0, sh.stderr)
        with open(record) as fh:
            calls = [line.rstrip("\n").split("\t") for line in fh]
        doc = load_json(out)
        self.assertEqual(len(calls), len(doc["entries"]))
        self.assertEqual(calls[0][:3], ["null", "--result", "pass"])
        self.assertEqual(calls[0][3], "--measurement")
        float(calls[0][4])
        self.assertEqual(calls[0][5:], ["--units", "ns"])
        self.assertEqual(calls[1], ["fork.size-2M.order-1", "--result", "skip"])
        for call in calls:
            self.assertRegex(call[0], r"^[A-Za-z0-9._-]+$")

    def test_tap_and_lava_together_are_a_usage_error(self):
        self.assert_usage_error(self.run_pgt("run", "--tap", "--lava"), "--tap", "--lava")

    def test_progress_goes_to_a_pipe_as_a_line_per_finished_variant(self):
        cfg = self.write("progress.toml", self.MIXED)
        proc = self.run_pgt("run", cfg, "--order", "variants", "--out", self.path("p1.json"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        progress = [line for line in proc.stderr.splitlines() if line.startswith("pgtbench: ")]
        self.assertEqual(len(progress), 1, proc.stderr)
        self.assertRegex(progress[0], r"^pgtbench: \[1/1\] null done, [0-9.]+ s elapsed, ETA \S+$")

    @unittest.skipUnless(can_change_thp(), "needs root and writable THP sysfs")
    def test_interleaved_progress_is_a_line_per_round_then_per_finished_variant(self):
        cfg = self.write("rounds.toml", "[run]\nreps = 3\nwarmup = 0\ncounters = false\n"
                                        "[null]\n[munmap]\nsize = \"2M\"\norder = [0]\n")
        proc = self.run_pgt("run", cfg, "--out", self.path("rounds.json"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        progress = [line for line in proc.stderr.splitlines() if line.startswith("pgtbench: ")]
        tail = r", [0-9.]+ s elapsed, ETA \S+$"
        self.assertEqual(len(progress), 4, proc.stderr)  # rounds 1 and 2, then both variants
        self.assertRegex(progress[0], r"^pgtbench: round 1/3 done" + tail)
        self.assertRegex(progress[1], r"^pgtbench: round 2/3 done" + tail)
        self.assertRegex(progress[2], r"^pgtbench: \[1/2\] null done" + tail)
        self.assertRegex(progress[3], r"^pgtbench: \[2/2\] munmap/size:2M/order:0 done" + tail)

    def test_list_json_and_the_text_list_say_the_same(self):
        text = self.run_pgt("list", "configs/quick.toml")
        proc = self.run_pgt("list", "configs/quick.toml", "--json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = json.loads(proc.stdout)
        self.assertEqual([s["name"] for s in doc["scenarios"]],
                         [line.split(" - ")[0] for line in text.stdout.splitlines() if not line.startswith(" ")])
        fork = next(s for s in doc["scenarios"] if s["name"] == "fork")
        size = next(p for p in fork["params"] if p["name"] == "size")
        self.assertEqual((size["kind"], size["defaults"]), ("size", ["1G"]))
        self.assertLess(size["min"], size["max"])
        self.assertEqual(fork["metrics"][0]["name"], "fork_ms")
        self.assertEqual(fork["metrics"][0]["unit"], "ms")
        variants = [v for s in doc["scenarios"] for v in s["variants"]]
        self.assertTrue(variants)
        for v in variants:
            if v["runnable"]:
                self.assertIn(f"  run   {v['name']}\n", text.stdout)
            else:
                self.assertIn(f"  skip  {v['name']}: {v['reason']}\n", text.stdout)
        params = next(v for v in fork["variants"] if v["name"] == "fork/size:64M/order:0")["params"]
        self.assertEqual((params["size_bytes"], params["order"]), (64 << 20, 0))

    def test_events_json_and_the_text_events_say_the_same(self):
        text = self.run_pgt("events")
        proc = self.run_pgt("events", "--json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = json.loads(proc.stdout)
        self.assertTrue(doc["flush_sites"])
        for site in doc["flush_sites"]:
            state = "probe-able" if site["probeable"] else "n/a: " + site["reason"]
            self.assertRegex(text.stdout, rf"\n  {re.escape(site['site'])} +{re.escape(state)}\n")
        for pmu in doc["pmus"]:
            self.assertIn(f"{pmu['name']} ({pmu['description']}): {pmu['events_total']} events\n", text.stdout)
            for event in pmu["events"]:
                self.assertIn(f"  {event}\n", text.stdout)

    # --- bad input: one line, exit 2, nothing written ------------------------------

    def test_config_errors_name_file_and_line_and_write_nothing(self):
        cfg = self.write("bad.toml", "[run]\nreps = 3\n[fork]\nsize = \"1G\"\nszie = 2\n")
        out = self.path("never.json")
        proc = self.run_pgt("run", cfg, "--out", out)
        self.assert_usage_error(proc, f"{cfg}:5:", "unknown key 'szie'")
        self.assertFalse(os.path.exists(out))

    def test_bad_command_line_values_are_usage_errors(self):
        self.assert_usage_error(self.run_pgt("run", "--size", "1X"), "not a size")
        self.assert_usage_error(self.run_pgt("run", "--size", "1K"), "out of range")
        self.assert_usage_error(self.run_pgt("run", "--reps", "0"))
        self.assert_usage_error(self.run_pgt("run", "--filter", "("), "--filter")
        self.assert_usage_error(self.run_pgt("run", "--filter", "no-such-variant"), "matches no variant")
        self.assert_usage_error(self.run_pgt("run", "--label", "a/b"), "label")
        self.assert_usage_error(self.run_pgt("run", "/no/such.toml"))
        self.assert_usage_error(self.run_pgt("frobnicate"))
        self.assert_usage_error(self.run_pgt())

    def test_unwritable_output_fails_before_running(self):
        proc = self.run_pgt("run", "configs/quick.toml", "--out", "/proc/pgtbench.json")
        self.assert_usage_error(proc, "--out")

    @unittest.skipUnless(os.path.exists(os.path.join(THP, "enabled")), "no THP sysfs")
    def test_changing_thp_without_root_is_refused_before_anything_changes(self):
        before = thp_settings()
        # As root, drop to nobody for this one run (the results go to a writable place).
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        os.chmod(self.tmp.name, 0o777)
        proc = subprocess.run([*drop, PGTBENCH, "run", "configs/quick.toml", "--out", self.path("x.json")],
                              capture_output=True, text=True, cwd=SOURCE, env=self.env, timeout=60)
        if thp_settings() == before and proc.returncode == 0:
            self.skipTest("every setting already had the wanted value")
        self.assert_usage_error(proc, "needs root")
        self.assertEqual(thp_settings(), before)
        self.assertFalse(os.path.exists(self.path("x.json")))

    # --- signals and crashes -----------------------------------------------------

    def start_long_run(self, out):
        """A run that spends long enough with THP settings changed to be interrupted."""
        before = thp_settings()
        proc = subprocess.Popen([PGTBENCH, "run", "--filter", "order:9/map:pte", "--size", "512M",
                                 "--reps", "1000", "--out", out], cwd=SOURCE, env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while thp_settings() == before:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                self.fail("the run never changed a THP setting: " + proc.stderr.read())
            time.sleep(0.05)
        time.sleep(0.3)  # well inside a repetition
        return proc, before

    @unittest.skipUnless(can_change_thp(), "needs root and writable THP sysfs")
    def test_sigint_mid_run_restores_thp_and_writes_no_results(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            out = self.path(f"int{sig}.json")
            proc, before = self.start_long_run(out)
            proc.send_signal(sig)
            proc.wait(timeout=60)
            self.assertEqual(proc.returncode, -sig)
            self.assertEqual(thp_settings(), before)
            self.assertFalse(os.path.exists(out))
            self.assertFalse(os.path.exists(self.env["PGTBENCH_JOURNAL"]))

    @unittest.skipUnless(can_change_thp(), "needs root and writable THP sysfs")
    def test_sigkill_leaves_a_journal_that_restore_replays(self):
        out = self.path("kill.json")
        proc, before = self.start_long_run(out)
        proc.kill()
        proc.wait(timeout=60)
        try:
            self.assertNotEqual(thp_settings(), before)
            self.assertTrue(os.path.exists(self.env["PGTBENCH_JOURNAL"]))
            # A new run refuses to start on top of the changed settings...
            again = self.run_pgt("run", "configs/quick.toml", "--out", self.path("again.json"))
            self.assert_usage_error(again, "pgtbench restore")
        finally:
            # ...and restore puts everything back.
            proc = self.run_pgt("restore")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("restored", proc.stdout)
        self.assertEqual(thp_settings(), before)
        self.assertIn("nothing to restore", self.run_pgt("restore").stdout)

    @unittest.skipUnless(can_change_thp() and os.path.exists(KHUGEPAGED_SLEEP),
                         "needs root and khugepaged's sysfs")
    def test_tune_pauses_khugepaged_for_every_variant_and_puts_it_back(self):
        before = tune_settings()
        cfg = self.write("tune.toml", "[run]\nreps = 3\nwarmup = 0\ncounters = false\n[null]\n")
        out = self.path("tune.json")
        proc = self.run_pgt("run", cfg, "--tune", "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(tune_settings(), before)
        doc = load_json(out)
        validate_results(doc)
        tune = doc["pgtbench"]["config"]["tune"]
        planned = {k["path"]: k["value"] for k in tune["knobs"]}
        self.assertEqual(planned[KHUGEPAGED_SLEEP], "86400000")
        changed = {k["path"]: (k["original"], k["value"]) for k in doc["entries"][0]["knobs_changed"]}
        if before[KHUGEPAGED_SLEEP] != "86400000":
            self.assertEqual(changed[KHUGEPAGED_SLEEP], (before[KHUGEPAGED_SLEEP], "86400000"))
        self.assertIn("# note: tuned for every variant, put back after it: ", proc.stdout)
        for s in tune["skipped"]:
            self.assertIn(s["what"], proc.stdout)

    @unittest.skipUnless(can_change_thp() and os.path.exists(KHUGEPAGED_SLEEP),
                         "needs root and khugepaged's sysfs")
    def test_tune_after_sigkill_is_put_back_by_restore(self):
        before = tune_settings()
        proc = subprocess.Popen([PGTBENCH, "run", "--filter", "^null", "--reps", "100000", "--tune",
                                 "--out", self.path("tk.json")], cwd=SOURCE, env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while tune_settings() == before:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                self.fail("the run never paused khugepaged: " + proc.stderr.read())
            time.sleep(0.05)
        proc.kill()
        proc.wait(timeout=60)
        proc.stderr.close()
        self.assertNotEqual(tune_settings(), before)
        restored = self.run_pgt("restore")
        self.assertEqual(restored.returncode, 0, restored.stderr)
        self.assertEqual(tune_settings(), before)

    # --- the other subcommands ---------------------------------------------------

    def test_env_json_describes_this_machine(self):
        proc = self.run_pgt("env", "--json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        env = json.loads(proc.stdout)
        self.assertEqual(env["arch"], os.uname().machine)
        self.assertEqual(env["page_size_bytes"], os.sysconf("SC_PAGE_SIZE"))
        self.assertEqual(env["kernel"]["release"], os.uname().release)
        self.assertGreaterEqual(env["pus"], 1)
        self.assertGreater(env["mem_available_bytes"], 0)
        # The noise facts are those of the CPU `run` would pin to: the last one allowed.
        self.assertEqual(env["noise"]["cpu"], max(os.sched_getaffinity(0)))
        self.assertIn("topology", env)
        self.assertIn("firmware", env)
        human = self.run_pgt("env")
        self.assertEqual(human.returncode, 0)
        self.assertIn(os.uname().release, human.stdout)
        self.assertRegex(human.stdout, r"\nnoise +CPU \d+: ")

    def test_a_run_records_the_machines_noise_topology_firmware_and_kernel_log(self):
        out = self.path("noise.json")
        proc = self.run_pgt("run", "--filter", "^null$", "--reps", "3", "--no-counters", "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = load_json(out)
        validate_results(doc)
        pgt = doc["pgtbench"]
        noise = pgt["env"]["noise"]
        # The facts are the measuring CPU's, and this run's stdout is a pipe.
        self.assertEqual(noise["cpu"], pgt["cpu"])
        self.assertIs(noise["stdout_is_terminal"], False)
        self.assertGreaterEqual(noise["load"]["online_cpus"], len(os.sched_getaffinity(0)))
        cpus = [c["cpu"] for c in pgt["env"]["topology"]["cpus"]]
        self.assertIn(pgt["cpu"], cpus)
        self.assertEqual(set(pgt["env"]["firmware"]["dmi"]),
                         {"sys_vendor", "product_name", "product_version", "board_vendor", "board_name",
                          "bios_vendor", "bios_version", "bios_date"})
        # What khugepaged/compaction did meanwhile: the end counters and their change.
        after = pgt["noise_after"]
        self.assertEqual(set(after["activity_delta"]), set(after["activity"]))
        self.assertEqual(set(after["activity"]), set(noise["activity"]))
        # The kernel log was watched, or the file and the table say why not: never "clean".
        log = pgt["kernel_log"]
        if log["available"]:
            self.assertEqual(log["reason"], "")
        else:
            self.assertTrue(log["reason"])
            self.assertIn("# note: kernel log not watched (", proc.stdout)
        self.assertEqual(bool(log["lines"]), "# WARNING: the kernel logged" in proc.stdout)

    def test_machine_names_the_machine_in_the_file_and_in_compare_and_a_blank_one_is_refused(self):
        out = self.path("machine.json")
        proc = self.run_pgt("run", "--filter", "^null$", "--reps", "3", "--no-counters", "--machine", "lab-altra",
                            "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = load_json(out)
        validate_results(doc)
        self.assertEqual(doc["pgtbench"]["env"]["platform"],
                         {"name": "lab-altra", "evidence": "--machine", "source": "override"})
        table = self.run_pgt("compare", out)
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertRegex(table.stdout, r"\nmachine: lab-altra (VM |Metal )?\d+[GM] \(")
        self.assertRegex(table.stdout, r"\nlab-altra (VM |Metal )?\d+[GM]: named by --machine\n")
        for blank in ("", "  "):
            never = self.path("never.json")
            proc = self.run_pgt("run", "--filter", "^null$", "--machine", blank, "--out", never)
            self.assert_usage_error(proc, "--machine")
            self.assertFalse(os.path.exists(never))

    def test_env_names_the_platform_and_what_named_it(self):
        proc = self.run_pgt("env", "--json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        platform = json.loads(proc.stdout)["platform"]
        self.assertTrue(platform["name"].strip())
        self.assertIn(platform["source"], {"ec2", "dmi", "soc0", "devicetree", "midr", "cpu"})
        self.assertTrue(platform["evidence"])

    def test_no_counters_means_none_opened(self):
        out = self.path("nc.json")
        proc = self.run_pgt("run", "--filter", "^null$", "--reps", "3", "--no-counters", "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = load_json(out)
        validate_results(doc)
        self.assertEqual(doc["entries"][0]["counters"], {})
        self.assertEqual(doc["entries"][0]["metrics"]["counters_bracket_ns"]["samples"], [])
        self.assert_usage_error(self.run_pgt("run", "--events", ","), "--events")

    def test_events_lists_what_can_be_counted(self):
        proc = self.run_pgt("events")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("flush sites", proc.stdout)
        self.assertIn("tlb_finish_mmu", proc.stdout)

    def test_list_marks_every_variant(self):
        proc = self.run_pgt("list", "configs/default.toml")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("fork/size:1G/order:0", proc.stdout)
        self.assertIn("fork/size:1G/order:9/map:pte", proc.stdout)
        for line in proc.stdout.splitlines():
            if line.startswith("  skip "):
                self.assertRegex(line, r"skip  \S+: \S")


if __name__ == "__main__":
    unittest.main(verbosity=2)
