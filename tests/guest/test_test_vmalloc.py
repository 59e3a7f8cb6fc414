#!/usr/bin/python3
"""The test_vmalloc scenario: lib/test_vmalloc.c itself, next to the vmalloc scenario.

    tests/guest/test_test_vmalloc.py --build-root BUILDDIR

Run by `meson test -C BUILDDIR --suite guest` after guest-suite (it reuses its kernels
and cross build). tools/test-vmalloc-ko builds test_vmalloc.ko from Debian's
linux-source-6.12 (its __vmalloc_node() cases made to fail: not exported there), and one
boot of the 6.12 guest runs, with pgtbench.ko loaded by --kmod:
  absent     list: every test_vmalloc variant skipped, naming CONFIG_TEST_VMALLOC, while
             the kernel has none (every vmalloc variant runnable)
  bad        module = a path that does not exist: exit 2, one line, no results file
  install    the module, xz-compressed, put under /lib/modules/$(uname -r)/kernel/lib
  both       vmalloc (context:kthread, as configs/vmalloc-vs-test_vmalloc.toml) and
             test_vmalloc on the cases both have, 20 loops, 2 repetitions interleaved:
             every variant ok; test_vmalloc's figures from its Summary lines
             (passed == repeat, none failed, loaded from the .ko.xz found by itself);
             vmalloc's with the split pass's per-call times and clock cost; the run ends
             with the "pgtbench vs test_vmalloc" table, a row per case with a ratio
  threads    module = the plain .ko, 2 workers: a Summary line each, both passed
  not-ko     module = a file that is no module: the repetition fails with one line
  unloaded   test_vmalloc never stays loaded
and `pgtbench compare` of the run's file puts both scenarios' case_us in one table.
Behaviour only: no timing is asserted. Exits 0 passed, 1 failed, 77 when qemu or the
cross compiler is missing.
"""

import argparse
import csv
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import guest_suite as gs  # noqa: E402
from testlib import REPO, median  # noqa: E402

CASES = ["fix_size_alloc", "full_fit_alloc", "long_busy_list_alloc", "random_size_alloc",
         "pcpu_alloc", "vm_map_ram"]
LOOPS = 20
REPS = 2
CASE_LIST = ", ".join(f'"{c}"' for c in CASES)

BOTH_TOML = f"""\
# tests/guest: both scenarios on the cases both have, a few loops each.
[run]
reps = {REPS}
warmup = 0
order = "interleave"
counters = false

[vmalloc]
case = [{CASE_LIST}]
loops = [{LOOPS}]
threads = [1]
context = ["kthread"]

[test_vmalloc]
case = [{CASE_LIST}]
loops = [{LOOPS}]
threads = [1]
"""

THREADS_TOML = f"""\
# tests/guest: test_vmalloc.ko named by path, two workers.
[run]
reps = 1
warmup = 0
counters = false

[test_vmalloc]
case = ["fix_size_alloc"]
loops = [{LOOPS}]
threads = [2]
module = "/tests/test_vmalloc.ko"
"""

BAD_TOML = """\
# tests/guest: a module path that does not exist.
[test_vmalloc]
case = ["fix_size_alloc"]
module = "/tests/no-such/test_vmalloc.ko"
"""

NOT_KO_TOML = """\
# tests/guest: a file that is no module.
[run]
reps = 1
warmup = 0
counters = false

[test_vmalloc]
case = ["fix_size_alloc"]
loops = [1]
module = "/tests/not_ko.toml"
"""

GUEST = gs.GUEST_PRELUDE + r"""
KO=/lib/pgtbench/pgtbench.ko
step absent pgtbench list /tests/both.toml --kmod $KO
step bad pgtbench run /tests/bad.toml --out /results/never.json
step install sh -c 'd=/lib/modules/$(uname -r)/kernel/lib; mkdir -p $d && cp /tests/test_vmalloc.ko.xz $d/'
step both pgtbench run /tests/both.toml --kmod $KO --out /results/both.json
step threads pgtbench run /tests/threads.toml --out /results/threads.json
step not-ko pgtbench run /tests/not_ko.toml --out /results/not_ko.json
step unloaded test ! -e /sys/module/test_vmalloc
echo "pgtbench-guest-test: step end" > /dev/kmsg
"""


def build_test_vmalloc(cache, out_dir, suite):
    out, secs = gs.run([REPO / "tools/test-vmalloc-ko", "--cache", cache, "--out",
                        out_dir / "test_vmalloc.ko", "6.12"], "build test_vmalloc.ko", timeout=1800)
    suite.timings.append(("build test_vmalloc.ko (linux-source-6.12)", secs))
    ko = Path(out.strip().splitlines()[-1])
    # Compressed as kbuild compresses modules, so that the kernel can decompress it.
    gs.run(["xz", "--check=crc32", "--lzma2=dict=1MiB", "-k", "-f", ko], "compress test_vmalloc.ko")
    return ko, ko.with_name(ko.name + ".xz")


def summary_lines(e):
    return [line for c in e.get("checks", []) for line in c.get("test_vmalloc", {}).get("summary", [])]


def check_absent(suite, b, kver):
    L = f"[{b.label}] absent:"
    if not gs.check_step(suite, b, "absent"):
        return
    out = b.step_out("absent")
    skips = re.findall(r"^\s*skip\s+(test_vmalloc/\S+): (.*)$", out, re.M)
    runs = re.findall(r"^\s*run\s+(vmalloc/\S+)\s*$", out, re.M)
    suite.check(f"{L} every test_vmalloc variant skipped, naming CONFIG_TEST_VMALLOC=m and "
                f"/lib/modules/{kver}",
                len(skips) == len(CASES) and
                all("CONFIG_TEST_VMALLOC=m" in why and f"/lib/modules/{kver}" in why for _, why in skips),
                f"{len(skips)} skips: {skips[:2]}")
    suite.check(f"{L} every vmalloc variant runnable", len(runs) == len(CASES), f"runs {runs}")


def check_bad(suite, b):
    err = [l for l in b.step_out("bad", "err").splitlines() if l.strip()]
    suite.check(f"[{b.label}] bad: a module that is not there is exit 2 and one line, nothing written",
                b.step_rc("bad") == 2 and len(err) == 1 and
                "test_vmalloc: module /tests/no-such/test_vmalloc.ko: No such file or directory" in err[0] and
                not (b.results / "never.json").exists(),
                f"exit {b.step_rc('bad')}; stderr {err}")


def check_test_vmalloc_entry(suite, b, e, what, workers, module_suffix):
    L = f"[{b.label}] {what}:"
    lines = summary_lines(e)
    want = f"Summary: {e['params']['case']}_test passed: 1 failed: 0 repeat: 1 loops: "
    passed = e.get("metrics", {}).get("passed", {}).get("samples", [])
    modules = [c.get("test_vmalloc", {}).get("module", "") for c in e.get("checks", [])]
    suite.check(f"{L} {e['name']}: ok, {workers} passed Summary line(s) per repetition, "
                f"case_us from them, loaded from the {module_suffix}",
                e.get("status") == "ok" and len(lines) == workers * e["reps"] and
                all(l.startswith(want) and l.endswith(" usec") for l in lines) and
                passed == [workers] * e["reps"] and
                all(m.endswith(module_suffix) for m in modules) and
                (median(e, "case_us") or 0) > 0 and median(e, "failed") == 0,
                f"status {e.get('status')} {e.get('reason')}; lines {lines[:3]}; passed {passed}; "
                f"modules {modules[:1]}")


def check_both(suite, b, figures):
    L = f"[{b.label}] both:"
    if not gs.check_step(suite, b, "both"):
        return None
    doc = b.file_json("both.json")
    if not gs.validate_results(suite, b.label, doc, "both.json"):
        return None
    for case in CASES:
        ours = gs.find_entry(doc, "vmalloc", case=case)
        theirs = gs.find_entry(doc, "test_vmalloc", case=case)
        if not suite.check(f"{L} {case}: an entry of each scenario", ours and theirs,
                           f"vmalloc {bool(ours)} test_vmalloc {bool(theirs)}"):
            continue
        check_test_vmalloc_entry(suite, b, theirs, "both", 1, "/kernel/lib/test_vmalloc.ko.xz")
        m = {k: median(ours, k) for k in ("case_us", "ns_per_op", "alloc_ns_per_op",
                                          "free_ns_per_op", "clock_ns")}
        suite.check(f"{L} vmalloc {case}: ok, case_us and ns_per_op from the plain storm, "
                    "per-call times and the clock's cost from the split one",
                    ours.get("status") == "ok" and all(isinstance(v, (int, float)) and v > 0
                                                       for v in m.values()),
                    f"status {ours.get('status')} {ours.get('reason')}; {m}")
        if ours.get("status") == "ok" and theirs.get("status") == "ok":
            figures[f"{case} case_us pgtbench | test_vmalloc ({LOOPS} loops)"] = \
                f"{median(ours, 'case_us'):.0f} | {median(theirs, 'case_us'):.0f} us"
    # The run's stdout ends with both side by side.
    out = b.step_out("both")
    head = out.find("# pgtbench vs test_vmalloc")
    table = out[head:] if head >= 0 else ""
    rows = {c: re.search(rf"^case:{c}/\S*\s+\d+\.\d \(n={REPS}\)\s+\d+\.\d \(n={REPS}\)\s+\d+\.\d{{3}}$",
                         table, re.M) for c in CASES}
    suite.check(f"{L} the run prints the pgtbench vs test_vmalloc table: a row per case with "
                "both medians and the ratio",
                head >= 0 and all(rows.values()),
                f"missing {[c for c, r in rows.items() if not r]}; table: {table[:600]!r}")
    suite.check(f"{L} the table names pcpu_alloc's one pass of 35000 objects",
                "# pcpu_alloc: one pass of 35000 objects in both" in table, table[-300:])
    return b.results / "both.json"


def check_threads(suite, b):
    if not gs.check_step(suite, b, "threads"):
        return
    doc = b.file_json("threads.json")
    e = gs.find_entry(doc, "test_vmalloc", case="fix_size_alloc", threads=2)
    if suite.check(f"[{b.label}] threads: the entry is there", e is not None, str(doc.get("entries"))[:300]):
        check_test_vmalloc_entry(suite, b, e, "threads", 2, "/tests/test_vmalloc.ko")


def check_not_ko(suite, b):
    L = f"[{b.label}] not-ko:"
    gs.check_step(suite, b, "not-ko", want_rc=1)
    try:
        e = gs.find_entry(b.file_json("not_ko.json"), "test_vmalloc")
    except (OSError, ValueError):
        e = None
    reason = (e or {}).get("reason", "")
    suite.check(f"{L} a file that is no module fails the variant with one line naming it",
                e is not None and e.get("status") == "error" and "\n" not in reason and
                reason.startswith("loading /tests/not_ko.toml: "),
                f"{e and e.get('status')}: {reason!r}")


def check_compare(suite, both_json):
    """compare, run natively on the file that came back: both scenarios' case_us in the
    same row, a column each."""
    harness = os.environ.get("PGTBENCH", str(REPO / "build/pgtbench"))
    r = subprocess.run([harness, "compare", str(both_json), "--metric", "case_us", "--format", "csv"],
                       text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    rows = list(csv.DictReader(io.StringIO(r.stdout))) if r.returncode == 0 else []
    have = {(x["scenario"], x["column"].split(" ")[1]) for x in rows
            if x.get("metric") == "case_us" and x.get("median") and " " in x.get("column", "")}
    missing = [(sc, c) for c in CASES for sc in ("vmalloc", "test_vmalloc") if (sc, f"case:{c}") not in have]
    suite.check("compare --metric case_us: one row, a vmalloc and a test_vmalloc column for "
                "every case", r.returncode == 0 and len({x["row"] for x in rows}) == 1 and not missing,
                f"exit {r.returncode}; {r.stderr.strip()[-300:]}; missing {missing}")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-root", required=True, type=Path)
    args = p.parse_args(argv)
    build_root = args.build_root.resolve()
    out_dir = gs.start_guest_test("test-test-vmalloc", build_root, tools=["xz"])
    if out_dir is None:
        return gs.EXIT_SKIP
    suite, figures = gs.Suite(), {}
    start = time.monotonic()
    try:
        cache, kernels, pgtbench, ko = gs.kernels_and_cross_build(build_root, suite)
        k = kernels["6.12"]
        tv_ko, tv_xz = build_test_vmalloc(cache, out_dir, suite)
        files = [(tv_ko, "/tests/test_vmalloc.ko"), (tv_xz, "/tests/test_vmalloc.ko.xz")]
        for name, text in (("both.toml", BOTH_TOML), ("threads.toml", THREADS_TOML),
                           ("bad.toml", BAD_TOML), ("not_ko.toml", NOT_KO_TOML)):
            (out_dir / name).write_text(text)
            files.append((out_dir / name, f"/tests/{name}"))
        b, vm_output = gs.boot("6.12", k["IMAGE"], pgtbench, out_dir, GUEST, files, kmod=ko)
        suite.timings.append(("boot 6.12", b.seconds))
        gs.check_boot_clean(suite, b, vm_output)
        check_absent(suite, b, k["KVER"])
        check_bad(suite, b)
        gs.check_step(suite, b, "install")
        both = check_both(suite, b, figures)
        check_threads(suite, b)
        check_not_ko(suite, b)
        gs.check_step(suite, b, "unloaded")
        if both:
            check_compare(suite, both)
    except gs.Fatal as e:
        suite.check("setup", False, str(e))
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
        suite.check("results came back and parse", False, repr(e)[:400])
    suite.print_summary("test_vmalloc", time.monotonic() - start, figures, width=45)
    return suite.verdict(out_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
