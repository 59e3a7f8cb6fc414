#!/usr/bin/python3
"""`pgtbench merge-emu`: the qemu plugin's window log (qemu-plugin/count.c) joined to a
guest's results file as exact counters of kind "emulator", and everything wrong with
either refused in one line with the results file left byte for byte as it was. Also:
a native (non-arm64) run emits no markers and records no windows. Needs no root.

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
SESSION = "1a2b3c4d"
TLBI_EL1 = [f"{b}{s}" for s in ("os", "is", "") for b in
            ("vmalle1", "vae1", "aside1", "vaae1", "vale1", "vaale1")] + \
    [f"{b}{s}" for s in ("is", "os", "") for b in ("rvae1", "rvaae1", "rvale1", "rvaale1")]
DSB = ["oshld", "oshst", "osh", "nshld", "nshst", "nsh", "ishld", "ishst", "ish", "ld", "st", "sy"]


def window(k, session=SESSION, vale1is=0, aside1is=0, insn_el1=1000, isb=0):
    tlbi = {n: 0 for n in TLBI_EL1}
    tlbi.update(vale1is=vale1is, aside1is=aside1is)
    return {"event": "window", "session": session, "window": k, "insn_el0": 10,
            "insn_el1": insn_el1, "tlbi": tlbi, "tlbi_broadcast": vale1is + aside1is,
            "tlbi_local": 0, "dsb": {n: (1 if n == "ish" else 0) for n in DSB}, "isb": isb,
            "irq_entries": 0, "irq_insn_el1": 0, "context_switches": 0,
            "kthread": {"insn_el0": 0, "insn_el1": 50, "tlbi": {"vae1is": 2}, "tlbi_broadcast": 2,
                        "tlbi_local": 0, "dsb": {"ish": 1}, "isb": 0}}


def start_line(version=1):
    return {"pgtbench_count": version, "event": "start",
            "qemu_plugin_api": {"min": 0, "cur": 1, "built": 1}, "vcpus": 2}


def guest_results():
    """The fixture as an arm64 guest's run writes it: a session, and per repetition of
    the first entry its fork and teardown windows."""
    doc = testlib.load_json(FIXTURE)
    doc["pgtbench"]["emu_session"] = SESSION
    first = doc["entries"][0]
    n = len(first["metrics"][first["primary_metric"]]["samples"])
    first["emu_windows"] = [{"": 2 * r, "teardown.": 2 * r + 1} for r in range(n)]
    return doc, n


@testlib.needs_pgtbench
class MergeEmu(testlib.TempDirCase):
    def write(self, name, doc):
        path = self.tmp / name
        path.write_text(json.dumps(doc))
        return path

    def write_log(self, lines, name="windows.jsonl"):
        path = self.tmp / name
        path.write_text("".join(json.dumps(l) + "\n" for l in lines))
        return path

    def full_log(self, n, session=SESSION):
        lines = [start_line(), {"event": "session", "session": session}]
        for r in range(n):
            lines.append(window(2 * r, session, vale1is=3 + r, aside1is=1, insn_el1=5000 + r))
            lines.append(window(2 * r + 1, session, vale1is=1, insn_el1=7000))
        return lines + [{"event": "exit", "sessions": 1, "windows": 2 * n}]

    def assert_refused(self, results, log, *needles):
        before = results.read_bytes()
        proc = testlib.run_pgtbench("merge-emu", results, log)
        testlib.assert_one_line_error(self, proc, *needles)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(results.read_bytes(), before, "the results file changed")

    def test_windows_become_exact_emulator_counters_of_each_repetition(self):
        doc, n = guest_results()
        results = self.write("guest.json", doc)
        log = self.write_log(self.full_log(n))
        proc = testlib.run_pgtbench("merge-emu", results, log)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        merged = testlib.load_json(results)
        testlib.validate_results(merged)
        counters = merged["entries"][0]["counters"]
        self.assertEqual(counters["emu.tlbi.vale1is"]["samples"], [3 + r for r in range(n)])
        self.assertEqual(counters["emu.tlbi.aside1is"]["samples"], [1] * n)
        self.assertEqual(counters["emu.tlbi"]["samples"], [4 + r for r in range(n)])
        self.assertEqual(counters["emu.insn_el1"]["samples"], [5000 + r for r in range(n)])
        self.assertEqual(counters["teardown.emu.tlbi.vale1is"]["samples"], [1] * n)
        self.assertEqual(counters["emu.dsb.ish"]["samples"], [1] * n)
        # What kernel threads ran meanwhile comes apart (vfree's lazy purge runs there).
        self.assertEqual(counters["emu.kthread.tlbi"]["samples"], [2] * n)
        for name, c in counters.items():
            if "emu." in name:
                self.assertEqual(c["kind"], "emulator", name)
                self.assertIn("qemu TCG plugin", c["event"])
        self.assertEqual(counters["emu.tlbi.vale1is"]["summary"]["min"], 3)
        # Entries without windows get none; the file says where the counts came from.
        self.assertFalse(any(k.startswith("emu.") for k in merged["entries"][1]["counters"]))
        self.assertEqual(merged["pgtbench"]["emu_counts"]["log_complete"], True)

    def test_compare_reads_merged_counts_as_metrics_marked_emulated(self):
        doc, n = guest_results()
        results = self.write("guest.json", doc)
        self.assertEqual(testlib.run_pgtbench(
            "merge-emu", results, self.write_log(self.full_log(n))).returncode, 0)
        other = copy.deepcopy(testlib.load_json(results))
        other["pgtbench"]["label"] = "patched"
        patched = self.write("patched.json", other)
        proc = testlib.run_pgtbench("compare", results, patched, "--metric", "emu.tlbi")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("emu.tlbi", proc.stdout)
        self.assertIn("emulated", proc.stdout)

    def test_a_window_missing_from_the_log_is_refused_and_nothing_written(self):
        doc, n = guest_results()
        lines = self.full_log(n)
        del lines[5]  # window 3: repetition 1's teardown
        self.assert_refused(self.write("guest.json", doc), self.write_log(lines),
                            "window 3", "not in")

    def test_a_log_without_the_results_session_is_refused(self):
        doc, n = guest_results()
        self.assert_refused(self.write("guest.json", doc),
                            self.write_log(self.full_log(n, session="00000000")),
                            "no session 1a2b3c4d")

    def test_results_without_windows_are_refused(self):
        doc = testlib.load_json(FIXTURE)
        self.assert_refused(self.write("native.json", doc), self.write_log(self.full_log(1)),
                            "emu_session")

    def test_a_marker_protocol_error_in_the_session_is_refused(self):
        doc, n = guest_results()
        lines = self.full_log(n)
        lines.insert(3, {"event": "error", "session": SESSION, "what": "close without open"})
        self.assert_refused(self.write("guest.json", doc), self.write_log(lines),
                            "close without open")

    def test_merging_twice_is_refused(self):
        doc, n = guest_results()
        results = self.write("guest.json", doc)
        log = self.write_log(self.full_log(n))
        self.assertEqual(testlib.run_pgtbench("merge-emu", results, log).returncode, 0)
        self.assert_refused(results, log, "merged before")

    def test_what_is_not_a_window_log_of_this_version_is_refused(self):
        doc, n = guest_results()
        results = self.write("guest.json", doc)
        cases = {
            "empty": "",
            "no start line": json.dumps(window(0)) + "\n",
            "version 2": json.dumps(start_line(2)) + "\n",
            "line 2": json.dumps(start_line()) + "\n{not json\n",
            "not a count": json.dumps(start_line()) + "\n" + json.dumps(
                {**window(0), "isb": -1}) + "\n",
        }
        for needle, text in cases.items():
            with self.subTest(needle):
                log = self.tmp / "bad.jsonl"
                log.write_text(text)
                self.assert_refused(results, log, needle)
        self.assert_refused(results, self.tmp / "missing.jsonl", "cannot read")

    def test_repetitions_and_windows_must_agree(self):
        doc, n = guest_results()
        doc["entries"][0]["emu_windows"].pop()
        self.assert_refused(self.write("guest.json", doc), self.write_log(self.full_log(n)),
                            f"{n - 1} repetitions with windows but {n} samples")

    def test_a_native_run_emits_no_markers_and_records_no_windows(self):
        config = self.tmp / "null.toml"
        config.write_text("[run]\nreps = 2\nwarmup = 0\ncounters = false\n[null]\n")
        out = self.tmp / "null.json"
        proc = testlib.run_pgtbench("run", config, "--filter", "^null", "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = testlib.load_json(out)
        self.assertNotIn("emu_session", doc["pgtbench"])
        self.assertFalse(any("emu_windows" in e for e in doc["entries"]))


if __name__ == "__main__":
    testlib.main_or_skip()
