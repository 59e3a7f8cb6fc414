#!/usr/bin/python3
"""The LAVA qemu job for real: lava-run boots Debian's arm64 6.12 kernel under qemu TCG
with pgtbench in the ramdisk, runs lava/pgtbench.yaml, and every variant of
lava/configs/smoke.toml comes back as a LAVA test case.

    tests/guest/test_lava.py --build-root BUILDDIR

Run by `meson test -C BUILDDIR --suite guest` after guest-suite (it reuses its kernels
and cross build). lava/build-ramdisk makes the ramdisk from the cross-built pgtbench;
lava/jobs/qemu-arm64.yaml gets the kernel's and the ramdisk's file:// urls; lava-run
--validate, then lava-run with lava/devices/qemu-local.yaml, its log (one YAML line per
record, on stderr) kept in BUILDDIR/guest-runs/lava/job.log. Checked:
  - the job and the lava-test-shell definition pass (LAVA's results `job`, `0_pgtbench`)
  - each variant `pgtbench list` names has exactly one test case, under the id
    results/README.md defines (fork/size:8M/order:0 -> fork.size-8M.order-0): pass with a numeric measurement and units when the
    variant runs, skip when it is skipped (kmod_nop: no module in this job)
  - the definition's own case for the harness's exit status, pgtbench-run, passes
About 15 s once guest-suite's kernels and cross build exist. Exits 0 passed, 1 failed, 77 when lava-run, qemu or the cross compiler
is missing.
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import guest_suite as gs  # noqa: E402
import testlib  # noqa: E402
from testlib import REPO  # noqa: E402

JOB = REPO / "lava/jobs/qemu-arm64.yaml"
DEVICE = REPO / "lava/devices/qemu-local.yaml"
CONFIG = REPO / "lava/configs/smoke.toml"
DEFINITION = "0_pgtbench"  # lava-test-runner's name for the job's first definition

def lava_id(name):
    """A variant's LAVA test-case id as results/README.md defines it: '/' -> '.', ':' ->
    '-', anything else outside [A-Za-z0-9._-] -> '_', '_' before a leading '-'. The
    names here are unique, so no '.2' suffix is expected."""
    case = re.sub(r"[^A-Za-z0-9._-]", "_", name.replace("/", ".").replace(":", "-"))
    return "_" + case if case.startswith("-") else case


def listed_variants():
    """{variant: "run" | "skip"} as the native pgtbench lists smoke.toml (the names do
    not depend on the machine; whether kmod_nop runs does, but no module is loaded in
    the job or here)."""
    p = testlib.run_pgtbench("list", CONFIG)
    if p.returncode != 0:
        raise gs.Fatal(f"pgtbench list {CONFIG}: {p.stderr.strip()}")
    out = {}
    for line in p.stdout.splitlines():
        m = re.match(r"^\s+(run|skip)\s+(\S+?):?(\s|$)", line)
        if m:
            out[m.group(2)] = m.group(1)
    return out


def lava_records(log_text, level):
    """The msg of every record of one level in lava-run's log (YAML, one per line)."""
    records = []
    for line in log_text.splitlines():
        if f'"lvl": "{level}"' not in line:
            continue
        try:
            records.append(yaml.safe_load(line)["msg"])
        except yaml.YAMLError:
            pass
    return records


def render_job(out_dir, kernel, ramdisk):
    job = yaml.safe_load(JOB.read_text())
    deploy = next(a["deploy"] for a in job["actions"] if "deploy" in a)
    deploy["images"]["kernel"]["url"] = f"file://{kernel}"
    deploy["images"]["ramdisk"]["url"] = f"file://{ramdisk}"
    path = out_dir / "job.yaml"
    path.write_text(yaml.safe_dump(job, sort_keys=False))
    return path


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-root", required=True, type=Path)
    args = p.parse_args(argv)
    build_root = args.build_root.resolve()
    out_dir = gs.start_guest_test("test-lava", build_root, tools=["lava-run", "cpio"])
    if out_dir is None:
        return gs.EXIT_SKIP
    suite, start = gs.Suite(), time.monotonic()
    try:
        _, kernels, pgtbench, _ = gs.kernels_and_cross_build(build_root, suite)
        variants = listed_variants()

        ramdisk = out_dir / "ramdisk.cpio.gz"
        cmd = [REPO / "lava/build-ramdisk", "--pgtbench", pgtbench, "--out", ramdisk]
        _, secs = gs.run(cmd, "build the LAVA ramdisk")
        suite.timings.append(("build the LAVA ramdisk", secs))
        job = render_job(out_dir, kernels["6.12"]["IMAGE"], ramdisk)

        lava_run = ["lava-run", "--job-id", "1", "--device", DEVICE]
        _, secs = gs.run([*lava_run, "--output-dir", out_dir / "validate", "--validate", job],
                         "lava-run --validate")
        suite.check("lava-run --validate accepts the job on the local qemu device", True)

        t = time.monotonic()
        log_path = out_dir / "job.log"
        gs.log(f"lava-run the qemu job (log: {log_path})")
        with open(log_path, "w") as f:
            r = subprocess.run(["lava-run", "--job-id", "1", "--output-dir",
                                str(out_dir / "output"), "--device", str(DEVICE), str(job)],
                               stdout=f, stderr=subprocess.STDOUT, env=gs.child_env(),
                               timeout=900)
        suite.timings.append(("lava-run (boot, run, power off)", time.monotonic() - t))
        log_text = log_path.read_text(errors="replace")
        results = lava_records(log_text, "results")
        check_results(suite, r.returncode, results, variants)
    except gs.Fatal as e:
        suite.check("setup", False, str(e))
    except subprocess.TimeoutExpired as e:
        suite.check("setup", False, f"timed out: {e.cmd}")
    suite.print_summary("LAVA qemu job", time.monotonic() - start, {})
    return suite.verdict(out_dir)


def check_results(suite, returncode, results, variants):
    lava = {r["case"]: r for r in results if r.get("definition") == "lava"}
    suite.check("lava-run exits 0 and the job passes",
                returncode == 0 and lava.get("job", {}).get("result") == "pass",
                f"exit {returncode}, job {lava.get('job')}")
    ours = [r for r in results if r.get("definition") == DEFINITION]
    suite.check("the pgtbench definition ran to its end",
                lava.get(DEFINITION, {}).get("result") == "pass"
                or any(r["case"] == "pgtbench-run" for r in ours),
                f"{lava.get(DEFINITION)}")
    by_key = {}
    for r in ours:
        by_key.setdefault(r["case"], []).append(r)
    for variant, state in sorted(variants.items()):
        cases = by_key.pop(lava_id(variant), [])
        if not suite.check(f"{variant} is one LAVA test case", len(cases) == 1,
                           f"{len(cases)} cases; ours: {sorted(r['case'] for r in ours)}"):
            continue
        case = cases[0]
        if not re.fullmatch(r"[A-Za-z0-9._-]+", case["case"]):
            suite.check(f"{variant}: its id uses only LAVA's characters", False, case["case"])
        if state == "skip":
            suite.check(f"{variant} is skipped in LAVA, as pgtbench skips it",
                        case["result"] == "skip", str(case))
            continue
        try:
            value = float(case.get("measurement"))
        except (TypeError, ValueError):
            value = None
        suite.check(f"{variant} passes with a measurement and its units",
                    case["result"] == "pass" and value is not None and value >= 0
                    and bool(case.get("units")), str(case))
    run_case = by_key.pop("pgtbench-run", [{}])[0]
    suite.check("the harness's exit status is reported as pgtbench-run: pass",
                run_case.get("result") == "pass", str(run_case))
    suite.check("no case names a variant pgtbench does not list", not by_key,
                ", ".join(sorted(by_key)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
