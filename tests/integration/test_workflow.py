#!/usr/bin/python3
""".github/workflows/arm64.yml, as far as this machine can run it: the YAML is
well-formed, it has the two arm64 runners and the steps in their order, every program
and file its `run:` steps name exists, the pgtbench options it passes are ones
`pgtbench SUBCOMMAND --help` lists, its run command works (on the null scenario only),
and its compare step, run by bash on fixture results files, passes, fails and warns
as .ci/gate documents.

Environment: PGTBENCH (the binary). Exits 77 without python3-yaml.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import testlib  # noqa: E402
from testlib import REPO  # noqa: E402

try:
    import yaml
except ImportError:  # python3-yaml (tools/install-deps)
    yaml = None

WORKFLOW = REPO / ".github/workflows/arm64.yml"
FIXTURES = REPO / "tests/fixtures/results"
NO_REGRESSION = (FIXTURES / "synthetic_ab/base-altra-metal-512g.json",
                 FIXTURES / "synthetic_ab/patched-altra-metal-512g.json")
REGRESSION = (FIXTURES / "recorded/default-run-a.json", FIXTURES / "recorded/default-run-b.json")
SHA = "0123456789abcdef0123456789abcdef01234567"
# What the runners provide besides the repository's own programs.
RUNNER_TOOLS = {"sudo", "gh", "echo", "chown", "id", "["}


def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def job():
    return workflow()["jobs"]["quick"]


def step(name):
    return next(s for s in job()["steps"] if s.get("name") == name)


def expand(script, runner="hosted"):
    """The script as the runner sees it, for one matrix entry."""
    return (script.replace("${{ matrix.runner }}", runner)
            .replace("${{ github.sha }}", SHA))


def commands(script):
    """Each line's words, without a leading sudo; shell-only lines are left out."""
    out = []
    for line in expand(script).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line.split("||")[0])
        if words and words[0] == "sudo":
            words = words[1:]
        out.append(words)
    return out


def pgtbench_calls():
    for s in job()["steps"]:
        for words in commands(s.get("run", "")):
            if words and words[0] == "build/pgtbench":
                yield s["name"], words[1:]


@unittest.skipIf(yaml is None, "needs python3-yaml (tools/install-deps)")
class Workflow(unittest.TestCase):
    def test_the_workflow_is_well_formed_yaml_run_on_pushes_to_main_and_pull_requests(self):
        d = workflow()
        on = d.get("on", d.get(True))  # YAML 1.1 reads a bare `on` as true
        self.assertEqual(on["push"]["branches"], ["main"])
        self.assertIn("pull_request", on)
        self.assertEqual(d["permissions"]["actions"], "read")

    def test_it_runs_on_a_hosted_arm64_runner_and_on_a_self_hosted_graviton_metal_runner(self):
        entries = {e["runner"]: e["runs-on"] for e in job()["strategy"]["matrix"]["include"]}
        self.assertEqual(entries["hosted"], "ubuntu-24.04-arm")
        self.assertEqual(entries["metal"], ["self-hosted", "linux", "ARM64", "metal"])
        self.assertEqual(job()["runs-on"], "${{ matrix.runs-on }}")
        self.assertFalse(job()["strategy"]["fail-fast"])

    def test_its_steps_check_out_install_build_run_upload_fetch_the_baseline_and_compare_in_order(self):
        names = [s.get("name") or s["uses"].split("@")[0] for s in job()["steps"]]
        self.assertEqual(names, ["actions/checkout", "Install dependencies", "Build",
                                 "Run configs/quick.toml", "Upload the results",
                                 "Find the baseline run", "Download the baseline results",
                                 "Compare with the baseline", "Upload the comparison"])
        self.assertEqual(step("Upload the results")["uses"], "actions/upload-artifact@v4")
        self.assertEqual(step("Upload the results")["with"]["path"], "results/ci.json")
        download = step("Download the baseline results")
        self.assertEqual(download["uses"], "actions/download-artifact@v4")
        self.assertEqual(download["with"]["name"], step("Upload the results")["with"]["name"])
        self.assertTrue(download["continue-on-error"])
        self.assertIn("--workflow arm64.yml", step("Find the baseline run")["run"])

    def test_every_program_its_run_steps_name_exists_here_or_is_a_runner_tool(self):
        for s in job()["steps"]:
            for words in commands(s.get("run", "")):
                prog = words[0].split("=")[-1].lstrip("$(")
                if "=" in words[0] and prog not in RUNNER_TOOLS:
                    continue  # an assignment of a literal
                with self.subTest(step=s["name"], program=prog):
                    if "/" in prog:
                        path = REPO / prog if prog != "build/pgtbench" else testlib.PGTBENCH
                        self.assertTrue(path.is_file() and os.access(path, os.X_OK), path)
                    else:
                        self.assertIn(prog, RUNNER_TOOLS)

    def test_every_file_its_pgtbench_commands_read_is_in_the_repository(self):
        for name, args in pgtbench_calls():
            for a in args:
                if a.endswith(".toml"):
                    with self.subTest(step=name, file=a):
                        self.assertTrue((REPO / a).is_file(), a)
                        p = testlib.run_pgtbench("list", REPO / a)
                        self.assertEqual(p.returncode, 0, p.stderr)

    @unittest.skipUnless(testlib.PGTBENCH.is_file(), f"needs {testlib.PGTBENCH}")
    def test_every_pgtbench_option_it_passes_is_one_the_subcommands_help_lists(self):
        calls = list(pgtbench_calls())
        self.assertTrue(any(a[0] == "run" for _, a in calls), calls)
        for name, args in calls:
            help_text = testlib.run_pgtbench(args[0], "--help").stdout
            for a in args[1:]:
                if a.startswith("--"):
                    with self.subTest(step=name, option=a):
                        self.assertRegex(help_text, rf"(^|\s){re.escape(a)}[\s,]")

    @unittest.skipUnless(testlib.PGTBENCH.is_file(), f"needs {testlib.PGTBENCH}")
    def test_its_run_command_writes_a_results_file_labelled_with_the_commit(self):
        (_, args), = [c for c in pgtbench_calls() if c[1][0] == "run"]
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "ci.json"
            args = [str(out) if a == "results/ci.json" else a for a in args]
            # Only the null scenario: the same options, seconds instead of minutes.
            p = testlib.run_pgtbench(*args, "--filter", "^null$", "--no-counters")
            self.assertEqual(p.returncode, 0, p.stderr)
            doc = json.loads(out.read_text())
            self.assertEqual(doc["pgtbench"]["label"], SHA)
            self.assertEqual([e["status"] for e in doc["entries"]], ["ok"])

@unittest.skipIf(yaml is None, "needs python3-yaml (tools/install-deps)")
@unittest.skipUnless(testlib.PGTBENCH.is_file(), f"needs {testlib.PGTBENCH}")
class CompareStep(testlib.TempDirCase):
    """The compare step's own script, run by bash in a checkout-like directory."""

    def run_step(self, baseline=None, committed=None, runner="hosted"):
        work = Path(tempfile.mkdtemp(dir=self.tmp))
        (work / ".ci").mkdir()
        shutil.copy(REPO / ".ci/gate", work / ".ci/gate")
        (work / "build").mkdir()
        os.symlink(testlib.PGTBENCH, work / "build/pgtbench")
        (work / "results").mkdir()
        if baseline:
            (work / "baseline").mkdir()
            shutil.copy(baseline[0], work / "baseline/ci.json")
            shutil.copy(baseline[1], work / "results/ci.json")
        if committed:
            (work / "results/baselines").mkdir()
            shutil.copy(committed[0], work / f"results/baselines/arm64-{runner}.json")
            shutil.copy(committed[1], work / "results/ci.json")
        summary = work / "summary.md"
        env = {k: v for k, v in os.environ.items() if k != "PGTBENCH"}
        env["GITHUB_STEP_SUMMARY"] = str(summary)
        p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c",
                            expand(step("Compare with the baseline")["run"], runner)],
                           cwd=work, env=env, capture_output=True, text=True, timeout=120)
        return p, summary.read_text() if summary.exists() else ""

    def test_no_regression_against_the_baseline_artifact_passes(self):
        p, summary = self.run_step(baseline=NO_REGRESSION)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("gate: no significant regression of at least 5%", p.stdout)
        self.assertIn("exit 0", summary)

    def test_a_regression_of_5_percent_or_more_fails_the_job_with_an_error_annotation(self):
        p, summary = self.run_step(baseline=REGRESSION)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("::error title=pgtbench gate::gate: 1 significant regression", p.stdout)
        self.assertIn("exit 1", summary)

    def test_cannot_tell_passes_with_a_warning_annotation(self):
        same = (NO_REGRESSION[0], NO_REGRESSION[0])  # one label on both sides
        p, summary = self.run_step(baseline=same)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("::warning title=pgtbench gate::gate: cannot tell", p.stdout)
        self.assertIn("exit 125", summary)

    def test_no_baseline_at_all_passes_with_a_warning_naming_the_missing_file(self):
        p, summary = self.run_step()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("::warning title=pgtbench gate::no baseline results file (baseline/ci.json)",
                      p.stdout)

    def test_a_committed_baseline_for_the_runner_is_used_before_the_artifact(self):
        p, _ = self.run_step(committed=REGRESSION, runner="metal")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("compared with run-a", p.stdout)


if __name__ == "__main__":
    testlib.main_or_skip()
