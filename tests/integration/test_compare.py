#!/usr/bin/python3
"""`pgtbench compare` and `pgtbench plot` end to end: golden outputs of every format,
the numbers the formats share, the statistics against scipy, one-line refusals of bad
input, and plots that are written whole or not at all. Needs no root: everything runs
on tests/fixtures/results, except one `run --plot` of the null scenario.

Environment: PGTBENCH (the binary; tests/fixtures/results/make_fixtures.py writes the
fixtures with it too), PGTBENCH_SOURCE (the repository root).
PGTBENCH_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing (then review
the diff).
"""

import csv
import functools
import glob
import io
import itertools
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import unittest

import numpy as np
from scipy import stats

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

PGTBENCH = str(testlib.PGTBENCH)
SOURCE = os.environ.get("PGTBENCH_SOURCE", str(testlib.REPO))
FIXTURES = "tests/fixtures/results"  # relative: file paths in the outputs stay stable
GOLDEN = os.path.join(FIXTURES, "golden")
UPDATE = os.environ.get("PGTBENCH_UPDATE_GOLDEN") == "1"


def fixture_files(name):
    return sorted(glob.glob(os.path.join(SOURCE, FIXTURES, name, "*.json")))


def rel(paths):
    return [os.path.relpath(p, SOURCE) for p in paths]


MAP_MEM_V1 = rel(fixture_files("map_mem_v1"))
MAP_MEM_V2 = rel(fixture_files("map_mem_v2"))
AB = rel(fixture_files("synthetic_ab"))
VMALLOC = rel(fixture_files("vmalloc_ab"))
RECORDED = [os.path.join(FIXTURES, "recorded", f"default-run-{x}.json") for x in "ab"]

GOLDENS = {
    "map_mem_v1.txt": ["compare", *MAP_MEM_V1],
    "map_mem_v2.txt": ["compare", *MAP_MEM_V2],
    "map_mem_v2.md": ["compare", *MAP_MEM_V2, "--format", "markdown"],
    "synthetic_ab.txt": ["compare", *AB],
    "synthetic_ab-stdev.txt": ["compare", *AB, "--stdev"],
    "synthetic_ab-all-metrics.txt": ["compare", *AB, "--metric", "all", "--width", "100"],
    "synthetic_ab.md": ["compare", *AB, "--format", "markdown"],
    "synthetic_ab.csv": ["compare", *AB, "--format", "csv"],
    "synthetic_ab.json": ["compare", *AB, "--format", "json"],
    "recorded-default.txt": ["compare", *RECORDED],
    "recorded-default-teardown.txt": ["compare", *RECORDED, "--metric", "teardown", "--stdev"],
    "synthetic_ab-tall.txt": ["compare", *AB, "--layout", "tall"],
    "synthetic_ab-tall.md": ["compare", *AB, "--layout", "tall", "--format", "markdown"],
    "synthetic_ab-all-metrics-tall.txt": ["compare", *AB, "--metric", "all", "--layout", "tall"],
    "synthetic_ab.lkp": ["compare", *AB, "--format", "lkp"],
    "synthetic_ab.mmtests": ["compare", *AB, "--format", "mmtests"],
    "map_mem_v2-tall.txt": ["compare", *MAP_MEM_V2, "--layout", "tall"],
    "map_mem_v2.lkp": ["compare", *MAP_MEM_V2, "--format", "lkp"],
    "map_mem_v2.mmtests": ["compare", *MAP_MEM_V2, "--format", "mmtests"],
    "vmalloc_ab-tall.txt": ["compare", *VMALLOC, "--layout", "tall"],
    "vmalloc_ab-tall.md": ["compare", *VMALLOC, "--layout", "tall", "--format", "markdown"],
    "vmalloc_ab.lkp": ["compare", *VMALLOC, "--format", "lkp"],
    "vmalloc_ab.mmtests": ["compare", *VMALLOC, "--format", "mmtests"],
}


def run_pgt(*args, cwd=SOURCE, timeout=300):
    return testlib.run_pgtbench(*args, cwd=cwd, timeout=timeout)


def halve_size(doc):
    """A results file of synthetic_ab as if run at 512M, labelled "half"."""
    for e in doc["entries"]:
        e["params"]["size_bytes"] //= 2
        e["name"] = e["name"].replace("size:1G", "size:512M")
    doc["pgtbench"]["label"] = "half"


# Samples in the order taken: a 2% rise a repetition, a flat zigzag, and too few to test.
RISING = [2.5 * (1 + 0.02 * i) for i in range(12)]
FLAT = [2.5, 2.6, 2.4, 2.55, 2.45, 2.52, 2.48, 2.58, 2.42, 2.53, 2.47, 2.51]
FEW = [0.9, 0.95, 0.92, 0.91, 0.93]


def samples_document(label, variants):
    """A samples document for `pgtbench import` of fork variants {order: samples}, on the
    machine of a synthetic_ab file."""
    base = testlib.load_json(os.path.join(SOURCE, AB[0]))
    return {"label": label, "created_utc": "2026-11-22T00:00:00Z", "command_line": ["test_compare.py"],
            "config": base["pgtbench"]["config"], "env": base["pgtbench"]["env"],
            "variants": [{"scenario": "fork", "params": {"size_bytes": 1 << 30, "order": order},
                          "metrics": [{"name": "fork_ms", "unit": "ms", "samples": samples}]}
                         for order, samples in variants.items()]}


def cover_letter_cells(text):
    """{(row, n): cell} from every table of a cover letter (n counts columns across tables)."""
    cells, offset, width = {}, 0, 0
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if not any(l.startswith("---") for l in lines):
            continue
        body = lines[[i for i, l in enumerate(lines) if l.startswith("---")][-1] + 1:]
        for line in body:
            parts = [p.strip() for p in line.split("|")]
            for i, cell in enumerate(parts[1:]):
                cells[(parts[0], offset + i)] = cell
            width = len(parts) - 1
        offset += width
    return cells


class Compare(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="pgtbench-compare-")

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    assert_usage_error = functools.partialmethod(testlib.assert_one_line_error, stdout_empty=True)

    # --- goldens -----------------------------------------------------------------

    def test_every_format_matches_its_golden_file(self):
        for name, args in GOLDENS.items():
            with self.subTest(golden=name):
                proc = run_pgt(*args)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                golden = os.path.join(SOURCE, GOLDEN, name)
                if UPDATE:
                    os.makedirs(os.path.dirname(golden), exist_ok=True)
                    with open(golden, "w") as fh:
                        fh.write(proc.stdout)
                    continue
                with open(golden) as fh:
                    self.assertEqual(proc.stdout, fh.read())

    def test_fixtures_are_what_their_generators_write(self):
        out = self.path("fixtures")
        # The pgtbench under test writes them (pgtbench import): the same one as here.
        subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, FIXTURES, "make_fixtures.py"), out], check=True,
                       env=dict(os.environ, PGTBENCH=os.path.join(SOURCE, PGTBENCH)))
        for sub in ("map_mem_v1", "map_mem_v2", "synthetic_ab", "vmalloc_ab"):
            made = sorted(os.listdir(os.path.join(out, sub)))
            self.assertEqual(made, sorted(os.path.basename(p) for p in fixture_files(sub)), sub)
            for name in made:
                with open(os.path.join(out, sub, name)) as a, \
                        open(os.path.join(SOURCE, FIXTURES, sub, name)) as b:
                    self.assertEqual(a.read(), b.read(), f"{sub}/{name}")
        oracle = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, FIXTURES, "make_stats_oracle.py"),
                                 "--stdout"], check=True, capture_output=True, text=True).stdout
        with open(os.path.join(SOURCE, FIXTURES, "stats-oracle.json")) as fh:
            self.assertEqual(oracle, fh.read())

    def test_fixtures_are_valid_results_files(self):
        for path in [p for d in ("map_mem_v1", "map_mem_v2", "synthetic_ab", "vmalloc_ab", "recorded") for p in fixture_files(d)]:
            with self.subTest(path=path):
                testlib.validate_results(testlib.load_json(path))

    # --- the formats agree ----------------------------------------------------------

    def test_markdown_and_csv_carry_the_cover_letters_numbers(self):
        letter = cover_letter_cells(run_pgt("compare", *AB).stdout)
        md = run_pgt("compare", *AB, "--format", "markdown").stdout
        rows = list(csv.DictReader(io.StringIO(run_pgt("compare", *AB, "--format", "csv").stdout)))
        md_rows = [l for l in md.splitlines() if l.startswith("| ") and not l.startswith("| :")][1:]
        md_cells = {}
        for line in md_rows:
            parts = [p.strip() for p in line.strip("|").split("|")]
            for i, cell in enumerate(parts[1:]):
                md_cells[(parts[0], i)] = cell
        self.assertEqual(md_cells, letter)
        columns = []
        for r in rows:
            if r["column"] not in columns:
                columns.append(r["column"])
        self.assertEqual(len(letter), len(rows))
        for r in rows:
            cell = letter[(r["row"], columns.index(r["column"]))]
            value, rest = cell.split(" ", 1)
            decimals = len(value.split(".")[1]) if "." in value else 0
            self.assertEqual(f"{float(r['mean']):.{decimals}f}", value, cell)
            pct = float(r["change_percent"])
            shown = float(re.search(r"\(([-+]?[\d.]+)%\)", rest).group(1))
            self.assertAlmostEqual(shown, pct, delta=0.5 if abs(pct) >= 9.95 else 0.05)
            self.assertEqual(f"({r['mark']})" in rest, bool(r["mark"]), cell)

    def test_json_statistics_agree_with_scipy(self):
        for files in (AB, RECORDED):
            doc = json.loads(run_pgt("compare", *files, "--format", "json").stdout)
            cells = {(c["row"], c["column"]): c for c in doc["cells"]}
            checked = 0
            for (r, col), cell in cells.items():
                if not cell["present"] or cell["status"] != "ok":
                    continue
                x = np.array(cell["samples"])
                if len(x) > 1:
                    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
                    self.assertAlmostEqual(cell["ci95"]["low"], lo, delta=1e-9 * abs(lo) + 1e-12)
                    self.assertAlmostEqual(cell["ci95"]["high"], hi, delta=1e-9 * abs(hi) + 1e-12)
                if r == 0 or not cell["change"]:
                    continue
                base = np.array(cells[(0, col)]["samples"])
                test = cell["change"]["test"]
                tied = len(np.unique(np.concatenate([base, x]))) < len(base) + len(x)
                if test["method"] == "normal":
                    want = stats.mannwhitneyu(base, x, method="asymptotic").pvalue
                elif not tied:
                    want = stats.mannwhitneyu(base, x, method="exact").pvalue
                else:
                    continue  # exact with ties: tests/unit/test_stats.cpp enumerates those
                self.assertAlmostEqual(test["p"], want, delta=1e-9 + 1e-7 * want, msg=cell["entry"])
                self.assertAlmostEqual(cell["change"]["percent"], (x.mean() - base.mean()) / base.mean() * 100)
                checked += 1
            self.assertGreater(checked, 2)

    # --- refusals --------------------------------------------------------------------

    def write_variant(self, name, src, edit):
        doc = testlib.load_json(os.path.join(SOURCE, src))
        edit(doc)
        with open(self.path(name), "w") as fh:
            json.dump(doc, fh)
        return self.path(name)

    def test_bad_input_is_one_line_and_exit_2(self):
        half = self.write_variant("half.json", AB[0], halve_size)
        with open(self.path("broken.json"), "w") as fh:
            fh.write('{"pgtbench": {')
        cases = [
            (["compare", "/nonexistent/x.json"], "/nonexistent/x.json: cannot read"),
            (["compare", AB[0], self.path("broken.json")], "not JSON"),
            (["compare", AB[0], "results/schema.json"], "results/schema.json: top level: missing \"pgtbench\""),
            (["compare", AB[0], half], "size differs (512M vs 1G)", "--columns size"),
            (["compare", *AB, "--metric", "tlbi_count"], "no metric 'tlbi_count'"),
            (["compare", *AB, "--columns", "granularity"], "no dimension 'granularity'"),
            (["compare", *AB, "--format", "pdf"], "--format"),
            (["compare", *AB, "--alpha", "2"], "--alpha"),
            (["compare", *AB, "--rows", "machine"], "--rows"),
            (["compare"], "files"),
        ]
        for args, *needles in cases:
            with self.subTest(args=args):
                self.assert_usage_error(run_pgt(*args), *needles)

    def test_a_cell_whose_samples_trend_in_the_order_taken_is_named_in_the_notes(self):
        doc = testlib.load_json(os.path.join(SOURCE, AB[1]))
        entry = doc["entries"][0]
        metric = entry["metrics"][entry["primary_metric"]]
        base = sorted(metric["samples"])
        metric["samples"] = [base[0] * (1 + 0.02 * i) for i in range(12)]  # rising 2% a repetition
        entry["reps"] = 12
        rising = self.path("rising.json")
        with open(rising, "w") as fh:
            json.dump(doc, fh)
        proc = run_pgt("compare", AB[0], rising)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        notes = " ".join(proc.stdout.split())
        self.assertIn(f"{entry['name']}: samples drift in the order they were taken (Kendall tau +1.00",
                      notes)
        self.assertNotIn("drift", run_pgt("compare", *AB[:2]).stdout)

    def test_a_stage_not_measured_is_a_row_of_na_after_the_measured_ones_with_its_reason(self):
        absent = ["--absent", "p2=build failed: see build.log", "--absent", "p3=kernel did not boot"]
        proc = run_pgt("compare", *AB[:2], *absent)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        first_table = proc.stdout.split("\n\n")[0].splitlines()
        body = first_table[[i for i, l in enumerate(first_table) if l.startswith("---")][-1] + 1:]
        self.assertEqual([l.split("|")[0].strip() for l in body], ["base", "p2", "p3"])
        cells = cover_letter_cells(proc.stdout)
        self.assertTrue(all(cells[("p2", n)] == "n/a" for n in range(6)), cells)
        self.assertIn("p2: not measured: build failed: see build.log\n", proc.stdout)
        self.assertIn("p3: not measured: kernel did not boot\n", proc.stdout)
        md = run_pgt("compare", *AB[:2], *absent, "--format", "markdown").stdout
        self.assertIn("| p3 | n/a | n/a |", md)
        rows = list(csv.DictReader(io.StringIO(run_pgt("compare", *AB[:2], *absent, "--format", "csv").stdout)))
        p2 = [r for r in rows if r["row"] == "p2"]
        self.assertEqual({(r["status"], r["reason"], r["mean"]) for r in p2},
                         {("n/a", "build failed: see build.log", "")})
        doc = json.loads(run_pgt("compare", *AB[:2], *absent, "--format", "json").stdout)
        self.assertEqual([(r["name"], r.get("absent")) for r in doc["rows"]],
                         [("base", None), ("p2", "build failed: see build.log"), ("p3", "kernel did not boot")])
        self.assertFalse(any(c["present"] for c in doc["cells"] if c["row"] > 0))

    def test_bad_absent_values_are_one_line_and_exit_2(self):
        cases = [
            (["--absent", "p2"], "--absent p2: expected LABEL=REASON"),
            (["--absent", "=build failed"], "--absent =build failed", "label"),
            (["--absent", "base=build failed"], "--absent base", AB[0]),
            (["--absent", "p2=x", "--rows", "kernel"], "--absent", "--rows kernel"),
        ]
        for args, *needles in cases:
            with self.subTest(args=args):
                self.assert_usage_error(run_pgt("compare", *AB[:2], *args), *needles)
        self.assert_usage_error(run_pgt("compare", "--absent", "p2=x"), "files")

    # --- tall layouts ------------------------------------------------------------------

    def test_a_tall_table_carries_the_csvs_percentages_and_marks(self):
        tall = run_pgt("compare", *VMALLOC, "--layout", "tall").stdout
        rows = list(csv.DictReader(io.StringIO(run_pgt("compare", *VMALLOC, "--format", "csv").stdout)))
        patched = [r for r in rows if r["row"] == "patched"]
        cells = [c.strip() for line in tall.splitlines() if " | " in line and "(us)" in line
                 and "geomean" not in line for c in line.split("|")[3::2]]
        self.assertEqual(len(cells), len(patched))
        # the table runs machine by machine across, the csv column by column
        want = sorted((f"({r['mark']}) " if r["mark"] else "") + f"{float(r['change_percent']):+.2f}%"
                      for r in patched)
        self.assertEqual(sorted(c.replace("+0.00%", "0.00%") for c in cells),
                         sorted(w.replace("+0.00%", "0.00%").replace("-0.00%", "0.00%") for w in want))

    def test_many_variants_make_one_tall_table_not_stacked_ones(self):
        tall = run_pgt("compare", *VMALLOC, "--layout", "tall").stdout
        wide = run_pgt("compare", *VMALLOC).stdout
        self.assertEqual(sum(l.startswith("----") for l in tall.splitlines()), 1)
        self.assertGreater(sum(l.startswith("----") for l in wide.splitlines()), 4)

    def test_the_geometric_mean_line_is_the_mean_of_the_variants_log_ratios(self):
        doc = json.loads(run_pgt("compare", *VMALLOC, "--format", "json").stdout)
        ratios = {}
        for col, column in enumerate(doc["columns"]):
            base, patched = (next(c for c in doc["cells"] if c["row"] == r and c["column"] == col) for r in (0, 1))
            ratios.setdefault(column["machine"], []).append(patched["summary"]["mean"] / base["summary"]["mean"])
        lkp = run_pgt("compare", *VMALLOC, "--format", "lkp").stdout
        shown = [float(l.split()[0].rstrip("%")) for l in lkp.splitlines() if l.endswith("vmalloc.geomean.case_us")]
        want = [(stats.gmean(r) - 1) * 100 for r in ratios.values()]
        self.assertEqual(len(shown), len(want))
        for s, w in zip(shown, want):
            self.assertAlmostEqual(s, w, delta=0.05)

    def test_mmtests_marks_a_significant_amean_with_stars_and_shows_gains(self):
        out = run_pgt("compare", *AB, "--format", "mmtests").stdout
        # order:9 map:pte is 4% faster on the Altra: a positive gain, significant
        line = next(l for l in out.splitlines() if l.startswith("Amean") and "order:9-map:pte" in l)
        self.assertRegex(line, r"\*\s+[34]\.\d\d%\*$")
        self.assertNotIn("*", next(l for l in out.splitlines() if l.startswith("Max")))

    def test_a_tall_csv_or_json_and_an_unknown_layout_are_one_line_and_exit_2(self):
        cases = [
            (["--layout", "tall", "--format", "csv"], "--layout tall", "csv"),
            (["--layout", "tall", "--format", "json"], "--layout tall", "json"),
            (["--layout", "sideways"], "--layout", "sideways"),
            (["--format", "lkp2"], "--format", "lkp2"),
        ]
        for args, *needles in cases:
            with self.subTest(args=args):
                self.assert_usage_error(run_pgt("compare", *AB, *args), *needles)

    def test_fail_on_regression_exits_with_git_bisect_runs_codes(self):
        regressed = run_pgt("compare", *AB, "--fail-on", "regression")
        self.assertEqual(regressed.returncode, 1, regressed.stderr)
        self.assertIn("base", regressed.stdout)  # the table as without --fail-on
        self.assertIn("gate: regression: patched: fork/size:1G/order:0 fork_ms on Ampere Altra Metal 512G: +2.90%",
                      regressed.stderr)
        self.assertTrue(regressed.stderr.rstrip().splitlines()[-1].startswith("gate: 2 significant regressions"))
        small = run_pgt("compare", *AB, "--fail-on", "regression:5%")
        self.assertEqual(small.returncode, 0, small.stderr)
        self.assertIn("gate: no significant regression of at least 5%", small.stderr)
        absent = run_pgt("compare", *AB[:2], "--absent", "p2=build failed", "--fail-on", "regression:5")
        self.assertEqual(absent.returncode, 125, absent.stderr)
        self.assertIn("gate: unknown: p2: fork/size:1G/order:0 fork_ms on Ampere Altra Metal 512G: not measured: "
                      "build failed", absent.stderr)
        unreadable = run_pgt("compare", AB[0], "/nonexistent/x.json", "--fail-on", "regression")
        self.assertEqual(unreadable.returncode, 125, unreadable.stderr)
        self.assertEqual(unreadable.stderr.splitlines(),
                         ["pgtbench: /nonexistent/x.json: cannot read: No such file or directory",
                          "gate: cannot tell: the files could not be compared"])
        for bad in ("regresion", "regression:", "regression:-3", "regression:x"):
            with self.subTest(fail_on=bad):
                self.assert_usage_error(run_pgt("compare", *AB, "--fail-on", bad), "--fail-on",
                                        "regression:PCT")

    def test_git_bisect_run_on_the_gate_finds_the_first_commit_that_regressed(self):
        """The recipe of README.md: each commit's results compared with the good one's."""
        repo = self.path("repo")
        os.mkdir(repo)
        git = functools.partial(subprocess.run, cwd=repo, check=True, capture_output=True, text=True)
        git(["git", "init", "-q"])
        git(["git", "config", "user.email", "t@example.org"])
        git(["git", "config", "user.name", "t"])
        good = testlib.load_json(os.path.join(SOURCE, AB[0]))
        bad = testlib.load_json(os.path.join(SOURCE, AB[2]))
        for i, doc in enumerate([good, good, good, bad, bad]):
            doc = json.loads(json.dumps(doc))
            doc["pgtbench"]["label"] = "candidate"
            with open(os.path.join(repo, "candidate.json"), "w") as fh:
                json.dump(doc, fh)
            git(["git", "add", "candidate.json"])
            git(["git", "commit", "-q", "--allow-empty", "-m", f"stage {i}"])
        git(["git", "bisect", "start", "HEAD", "HEAD~4"])
        proc = git(["git", "bisect", "run", os.path.abspath(PGTBENCH), "compare", os.path.join(SOURCE, AB[0]),
                    "candidate.json", "--fail-on", "regression"])
        self.assertIn("is the first bad commit", proc.stdout)
        self.assertIn("stage 3", proc.stdout)

    def test_columns_size_puts_different_sizes_side_by_side(self):
        half = self.write_variant("half.json", AB[0], halve_size)
        proc = run_pgt("compare", AB[0], half, "--columns", "size")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("size:512M", proc.stdout)
        self.assertIn("half: no base value to compare", proc.stdout)

    def test_an_altra_and_a_graviton2_of_one_size_are_two_columns_named_by_their_platforms(self):
        def graviton2(doc):
            doc["pgtbench"]["env"]["platform"] = {"name": "Graviton2", "evidence": "EC2 instance type r6g.metal",
                                                  "source": "ec2"}
        altra = [f for f in AB if "altra" in f]
        gravitons = [self.write_variant(f"g2-{i}.json", f, graviton2) for i, f in enumerate(altra)]
        proc = run_pgt("compare", *altra, *gravitons)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # Three variants a machine: a table each, headed by the machine's platform.
        self.assertRegex(proc.stdout, r"(?m)^fork +\| Ampere Altra\n +\| Metal 512G$")
        self.assertRegex(proc.stdout, r"(?m)^fork +\| Graviton2\n +\| Metal 512G$")
        self.assertIn("\nGraviton2 Metal 512G: named by EC2 instance type r6g.metal\n", proc.stdout)

        # Recorded before env.platform: both are Neoverse-N1, their DMI tells them apart.
        def before_platform(vendor, product):
            def edit(doc):
                env = doc["pgtbench"]["env"]
                del env["platform"]
                env["firmware"] = {"dmi": {"sys_vendor": vendor, "product_name": product}, "soc": None}
            return edit
        old = [self.write_variant("old-altra.json", altra[0], before_platform("Ampere(R)", "Mt.Jade")),
               self.write_variant("old-g2.json", altra[0], before_platform("Amazon EC2", "r6g.metal"))]
        proc = run_pgt("compare", *old)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout, r"(?m)^fork +\| Neoverse-N1 #1$")
        self.assertRegex(proc.stdout, r"(?m)^fork +\| Neoverse-N1 #2$")
        self.assertIn("firmware Amazon EC2 r6g.metal", proc.stdout)

    # --- plots -----------------------------------------------------------------------

    def assert_plot(self, path, magic):
        with open(path, "rb") as fh:
            data = fh.read()
        self.assertTrue(data.startswith(magic) or magic in data[:200], path)
        self.assertGreater(len(data), 10000, path)
        self.assertTrue(os.stat(path).st_mode & stat.S_IROTH, "a plot should be readable by others")
        leftovers = [f for f in os.listdir(os.path.dirname(path)) if f.startswith(".pgtbench-plot-")]
        self.assertEqual(leftovers, [])

    def test_plot_writes_png_and_svg(self):
        for files, extra, name in ((AB, [], "ab.png"), (MAP_MEM_V2, [], "map_mem.svg"),
                                   (AB, ["--metric", "all"], "ab-all.png"), (RECORDED, [], "recorded.png")):
            with self.subTest(name=name):
                proc = run_pgt("plot", *files, *extra, "--out", self.path(name))
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(proc.stderr.strip(), f"plot: {self.path(name)}")
                self.assert_plot(self.path(name), b"\x89PNG" if name.endswith(".png") else b"<svg")

    def imported(self, name, doc):
        """The results file `pgtbench import` writes from a samples document."""
        src, out = self.path(name + ".samples.json"), self.path(name)
        with open(src, "w") as fh:
            json.dump(doc, fh)
        proc = run_pgt("import", src, "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return out

    def drifting_files(self):
        return [self.imported("base.json", samples_document("base", {0: FLAT, 4: FEW})),
                self.imported("drift.json", samples_document("drift", {0: RISING, 4: FEW}))]

    def test_json_cells_carry_each_samples_run_position_and_the_drift_test_the_notes_flag(self):
        doc = json.loads(run_pgt("compare", *self.drifting_files(), "--format", "json").stdout)
        cells = {(doc["rows"][c["row"]]["name"], c["params"]["order"]): c for c in doc["cells"]}
        flat, rising, few = cells[("base", 0)], cells[("drift", 0)], cells[("drift", 4)]
        # No run_order in these files (imported, as older runs): each sample's index, said so.
        for cell in (flat, rising, few):
            self.assertEqual(cell["run_order"], list(range(len(cell["samples"]))))
            self.assertIs(cell["run_order_recorded"], False)
            self.assertNotIn("sample_runs", cell)
        self.assertIs(rising["drift"]["flagged"], True)
        self.assertLess(rising["drift"]["p"], 0.01)
        self.assertIs(flat["drift"]["flagged"], False)
        self.assertGreater(flat["drift"]["p"], 0.01)
        for cell in (flat, rising):  # no ties: Mann-Kendall's tau is Kendall's with time
            want = stats.kendalltau(range(len(cell["samples"])), cell["samples"])[0]
            self.assertAlmostEqual(cell["drift"]["tau"], want)
        self.assertIsNone(few["drift"])  # below 8 samples no trend is tested
        flagged = [c["entry"] for c in doc["cells"] if c.get("drift") and c["drift"]["flagged"]]
        self.assertEqual([n for n in doc["notes"] if "drift" in n],
                         [f"drift {e}: samples drift in the order they were taken (Kendall tau +1.00, p "
                          f"{rising['drift']['p']:.2g}): interleave (run --order interleave) or repeat"
                          for e in flagged])

    def test_json_cells_pass_on_the_run_order_and_runs_a_results_file_records(self):
        doc = testlib.load_json(os.path.join(SOURCE, AB[0]))
        entry = doc["entries"][0]
        n = len(entry["metrics"][entry["primary_metric"]]["samples"])
        entry["run_order"] = [2 * k for k in range(n)]
        entry["sample_runs"] = [k * 2 // n for k in range(n)]
        path = self.path("recorded.json")
        with open(path, "w") as fh:
            json.dump(doc, fh)
        out = json.loads(run_pgt("compare", path, "--format", "json").stdout)
        cell = next(c for c in out["cells"] if c["entry"] == entry["name"])
        self.assertEqual(cell["run_order"], entry["run_order"])
        self.assertIs(cell["run_order_recorded"], True)
        self.assertEqual(cell["sample_runs"], entry["sample_runs"])

    def test_plot_draws_each_variants_samples_in_run_order_and_marks_drift_unless_told_not_to(self):
        files = self.drifting_files()
        with_panel, without = self.path("order.svg"), self.path("no-order.svg")
        for out, extra in ((with_panel, []), (without, ["--no-order-panel"])):
            proc = run_pgt("plot", *files, *extra, "--out", out)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assert_plot(out, b"<svg")
        with open(with_panel) as fh:
            svg = fh.read()
        self.assertIn("fork_ms: samples in run order", svg)
        self.assertEqual(re.findall(r"drift tau=[-+][\d.]+ p=[\d.e-]+", svg), ["drift tau=+1.00 p=8.3e-06"])
        self.assertIn("fork_ms: samples in run order (sample index where the run order is not recorded)", svg)
        with open(without) as fh:
            svg = fh.read()
        self.assertIn("fork_ms, mean and 95% CI", svg)
        self.assertNotIn("samples in run order", svg)
        self.assertNotIn("drift tau", svg)

    def test_plot_draws_the_first_24_variants_in_run_order_and_says_how_many_it_left_out(self):
        doc = samples_document("base", {0: FLAT})
        doc["variants"] = [dict(doc["variants"][0], params={"size_bytes": (1 << 20) * (k + 1), "order": 0})
                           for k in range(30)]
        out = self.path("many.svg")
        proc = run_pgt("plot", self.imported("many.json", doc), "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(out) as fh:
            self.assertIn("fork_ms: samples in run order (sample index where the run order is not recorded) "
                          "(6 more not drawn)", fh.read())

    def test_merged_runs_are_laid_side_by_side_in_the_run_order_panel(self):
        sys.path.insert(0, os.path.join(SOURCE, "plots"))
        import pgtbench_plot
        # Two boots, each interleaved with another variant: positions restart with each run.
        cell = {"samples": [1, 2, 3, 4, 5, 6], "run_order": [0, 2, 4, 1, 3, 5], "run_order_recorded": True,
                "sample_runs": [0, 0, 0, 1, 1, 1]}
        self.assertEqual(pgtbench_plot.run_positions(cell), ([0, 2, 4, 6, 8, 10], [(0, 4), (6, 10)]))
        # Without run_order the index is each sample's place, runs and all.
        cell = dict(cell, run_order=list(range(6)), run_order_recorded=False)
        self.assertEqual(pgtbench_plot.run_positions(cell), ([0, 1, 2, 3, 4, 5], [(0, 2), (3, 5)]))
        cell = {"samples": [1, 2, 3], "run_order": [0, 3, 6], "run_order_recorded": True}
        self.assertEqual(pgtbench_plot.run_positions(cell), ([0, 3, 6], []))

    def test_plot_leaves_rows_not_measured_out_of_the_bars_and_names_them_in_the_title(self):
        proc = run_pgt("plot", *AB[:2], "--absent", "p2=did not boot", "--out", self.path("abs.png"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assert_plot(self.path("abs.png"), b"\x89PNG")
        sys.path.insert(0, os.path.join(SOURCE, "plots"))
        import pgtbench_plot
        doc_path = self.path("abs.json")
        with open(doc_path, "w") as fh:
            fh.write(run_pgt("compare", *AB[:2], "--absent", "p2=did not boot", "--format", "json").stdout)
        doc = pgtbench_plot.load(doc_path)
        self.assertEqual([r["name"] for r in doc["rows"]], ["base"])
        self.assertTrue(doc["cells"] and all(c["row"] == 0 for c in doc["cells"]))
        self.assertIn("not measured: p2", pgtbench_plot.figure_title(doc, 200))

    def test_plot_refuses_bad_names_and_writes_nothing(self):
        for out, needle in ((self.path("x.pdf"), "must end in .png or .svg"),
                            ("/proc/pgtbench/x.png", "cannot create")):
            with self.subTest(out=out):
                self.assert_usage_error(run_pgt("plot", *AB, "--out", out), needle)
        self.assertEqual(os.listdir(self.tmp.name), [])
        self.assert_usage_error(run_pgt("plot", *AB, "--metric", "nope", "--out", self.path("y.png")), "nope")
        self.assertEqual(os.listdir(self.tmp.name), [])

    def test_plot_script_refuses_what_is_not_a_comparison(self):
        proc = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, "plots", "pgtbench_plot.py"),
                               "--in", os.path.join(SOURCE, AB[0]), "--out", self.path("z.png")],
                              capture_output=True, text=True)
        self.assert_usage_error(proc, "not the output of `pgtbench compare --format json`")
        self.assertEqual(os.listdir(self.tmp.name), [])

    def test_run_plot_draws_the_results_it_just_wrote(self):
        out = self.path("r.json")
        env = dict(os.environ, PGTBENCH_JOURNAL=self.path("journal"))
        proc = subprocess.run([PGTBENCH, "run", "--filter", "^null$", "--reps", "50", "--label", "t",
                               "--out", out, "--plot"], capture_output=True, text=True, cwd=SOURCE, env=env,
                              timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(f"plot: {self.path('r.png')}", proc.stderr)
        self.assert_plot(self.path("r.png"), b"\x89PNG")
        proc = subprocess.run([PGTBENCH, "run", "--filter", "^null$", "--reps", "5", "--out", self.path("s.json"),
                               "--plot", self.path("s.svg")], capture_output=True, text=True, cwd=SOURCE,
                              env=env, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assert_plot(self.path("s.svg"), b"<svg")

    def test_run_refuses_a_bad_plot_name_before_running(self):
        proc = run_pgt("run", "--filter", "^null$", "--out", self.path("r.json"), "--plot", self.path("r.pdf"))
        self.assert_usage_error(proc, "must end in .png or .svg")
        self.assertEqual(os.listdir(self.tmp.name), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
