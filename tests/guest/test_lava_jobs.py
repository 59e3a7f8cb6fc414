#!/usr/bin/python3
"""lava/ without a LAVA run: both job templates and the device configuration pass
lava-dispatcher's own schemas (lava_common.schemas), the jobs carry lava/pgtbench.yaml
inline and unchanged, and the smoke config lists the variants the qemu job expects.

Exits 77 when lava-dispatcher (python3 lava_common) or python3-yaml is missing
(tools/install-deps --guest).
"""

import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import testlib  # noqa: E402
from testlib import REPO  # noqa: E402

try:
    import yaml
    import lava_common.schemas as job_schema
    import lava_common.schemas.device as device_schema
except ImportError:
    yaml = job_schema = device_schema = None

LAVA = REPO / "lava"
JOBS = {name: LAVA / "jobs" / f"{name}.yaml" for name in ("qemu-arm64", "baremetal-arm64-example")}


def load(path):
    return yaml.safe_load(path.read_text())


def inline_definition(job):
    tests = [a["test"] for a in job["actions"] if "test" in a]
    return tests[0]["definitions"][0]


@unittest.skipIf(yaml is None, "needs lava-dispatcher and python3-yaml (tools/install-deps --guest)")
class LavaFiles(unittest.TestCase):
    def test_every_job_template_passes_lava_dispatchers_strict_job_schema(self):
        for name, path in JOBS.items():
            with self.subTest(job=name):
                job_schema.validate(load(path), strict=True)

    def test_the_local_device_configuration_passes_the_device_schema(self):
        device_schema.validate(load(LAVA / "devices/qemu-local.yaml"))

    def test_both_jobs_carry_lava_pgtbench_yaml_inline_with_only_its_params_changed(self):
        want = load(LAVA / "pgtbench.yaml")
        for name, path in JOBS.items():
            d = inline_definition(load(path))
            got = dict(d["repository"])
            with self.subTest(job=name):
                self.assertEqual(d["from"], "inline")
                self.assertEqual(set(got["params"]), set(want["params"]))
                got["params"] = want["params"]
                self.assertEqual(got, want)

    def test_the_definition_runs_pgtbench_with_lava_output_and_then_its_cases(self):
        steps = load(LAVA / "pgtbench.yaml")["run"]["steps"]
        run = [s for s in steps if s.startswith("pgtbench run ")]
        self.assertEqual(len(run), 1, steps)
        self.assertIn("--lava > cases.sh", run[0])
        self.assertIn("sh cases.sh", steps[steps.index(run[0]) + 1])

    def test_no_job_fetches_anything_from_the_network_at_run_time(self):
        for name, path in JOBS.items():
            text = path.read_text()
            with self.subTest(job=name):
                self.assertNotIn("from: git", text)
                self.assertNotIn("http://", text)
                self.assertNotIn("https://", text)

    def test_the_qemu_device_boots_a_virt_machine_under_tcg_with_cpu_max(self):
        qemu = load(LAVA / "devices/qemu-local.yaml")["actions"]["boot"]["methods"]["qemu"]
        options = " ".join(qemu["parameters"]["options"])
        for want in ("-machine virt", "-accel tcg", "-cpu max", "-nic none"):
            self.assertIn(want, options)
        self.assertEqual(qemu["parameters"]["command"], "qemu-system-aarch64")

    @unittest.skipUnless(testlib.PGTBENCH.is_file(), f"needs {testlib.PGTBENCH}")
    def test_the_smoke_config_has_runnable_variants_and_one_that_skips(self):
        p = testlib.run_pgtbench("list", LAVA / "configs/smoke.toml")
        self.assertEqual(p.returncode, 0, p.stderr)
        variants = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("  run ")]
        self.assertGreaterEqual(len(variants), 3, p.stdout)
        self.assertIn("skip  kmod_nop", p.stdout)


if __name__ == "__main__":
    testlib.main_or_skip()
