"""What the Python tests share (tests/guest/*.py, tests/integration/*.py), so that each
states its checks and none re-implements the plumbing: where the repository and its
fixtures are, the pgtbench under test and running it, the arm64 test kernel, files for
the guest, results files (reading, checking against results/schema.json, a metric's
median), map_mem_boot results files made from captured boot logs, the THP sysfs settings
(a run must put them back), and the one-line usage error every program here answers
bad input with.

A test puts tests/ on sys.path and imports it; it puts tools/ there in turn, so that
tools/pgtbench_vm's modules import after it:

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import testlib  # noqa: E402
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from pgtbench_vm.boot_log import not_instrumented_reason, parse_boot_log  # noqa: E402
from pgtbench_vm.harness import default_harness, import_samples  # noqa: E402
from pgtbench_vm.map_mem_samples import MapMemEntry, samples_document  # noqa: E402

try:
    import jsonschema
except ImportError:  # python3-jsonschema (tools/install-deps)
    jsonschema = None

BOOT_LOGS = REPO / "tests/fixtures/boot-logs"
SCHEMA = REPO / "results/schema.json"
# The native pgtbench under test: $PGTBENCH (meson passes its build's), else build/pgtbench.
PGTBENCH = default_harness()

needs_pgtbench = unittest.skipUnless(PGTBENCH.is_file(), f"needs {PGTBENCH} (ninja -C build)")


# --- programs -------------------------------------------------------------------

def run_pgtbench(*args, cwd=REPO, env=None, timeout=300):
    """pgtbench ARGS..., its output captured as text."""
    return subprocess.run([str(PGTBENCH), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def assert_one_line_error(test, proc, *needles, stdout_empty=False):
    """Exit 2 and a single line on stderr holding every needle: how pgtbench and the
    tools refuse bad input (callers grep for that line)."""
    test.assertEqual(proc.returncode, 2, proc.stderr)
    if stdout_empty:
        test.assertEqual(proc.stdout, "")
    lines = proc.stderr.strip().splitlines()
    test.assertEqual(len(lines), 1, proc.stderr)
    for n in needles:
        test.assertIn(n, lines[0])


def main_or_skip():
    """unittest.main, then exit 77 (meson's "skipped") when every test was skipped,
    instead of reporting a pass for checks that never ran."""
    result = unittest.main(exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    # A skip in setUpModule or setUpClass is recorded once, for no test that ran.
    skipped_tests = [t for t, _ in result.skipped if isinstance(t, unittest.TestCase)]
    sys.exit(77 if result.skipped and len(skipped_tests) == result.testsRun else 0)


class TempDirCase(unittest.TestCase):
    """A test class with a scratch directory, self.tmp, for all its tests."""
    tmp_prefix = "pgtbench-test-"

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix=cls.tmp_prefix))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)


# --- THP settings ----------------------------------------------------------------

THP = "/sys/kernel/mm/transparent_hugepage"
# Event counters, not settings: khugepaged moves them on its own.
THP_COUNTERS = {"full_scans", "pages_collapsed"}


def thp_settings():
    """Every setting under the THP sysfs tree (stats and counters excluded)."""
    out = {}
    for root, dirs, files in os.walk(THP):
        dirs[:] = [d for d in dirs if d != "stats"]
        for f in files:
            if f in THP_COUNTERS:
                continue
            path = os.path.join(root, f)
            try:
                with open(path) as fh:
                    out[path] = fh.read()
            except OSError:
                pass
    return out


def can_change_thp():
    return os.geteuid() == 0 and os.access(os.path.join(THP, "enabled"), os.W_OK)


# --- the guest --------------------------------------------------------------------

def kernel_under_test(fetch: bool) -> Path:
    """The arm64 kernel the tests boot: $PGTBENCH_VM_KERNEL, else 6.12 from the kernel
    cache ($PGTBENCH_VM_KERNEL_CACHE, default build/kernels), fetched there when `fetch`
    (cheap when another test fetched it already: fetch-kernel takes a lock)."""
    if os.environ.get("PGTBENCH_VM_KERNEL"):
        return Path(os.environ["PGTBENCH_VM_KERNEL"])
    cache = os.environ.get("PGTBENCH_VM_KERNEL_CACHE")
    if not cache:
        return REPO / "build/kernels/6.12/Image"
    image = Path(cache) / "6.12/Image"
    if fetch and not image.is_file():
        subprocess.run([str(REPO / "tools/fetch-kernel"), "--cache", cache, "6.12"], check=True)
    return image


def guest_files(out_dir: Path, texts: dict[str, str]) -> list[tuple[Path, str]]:
    """Writes each NAME: text to out_dir/NAME, for the guest as /tests/NAME: the
    (host path, guest path) pairs of tools/vm --file."""
    files = []
    for name, text in texts.items():
        path = out_dir / name
        path.write_text(text)
        files.append((path, f"/tests/{name}"))
    return files


def key_values(text: str) -> dict[str, str]:
    """The KEY=VALUE lines a guest script printed (the rest is passed over)."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def captured_boot_log(stem: str) -> str:
    """A console log of tests/fixtures/boot-logs/ (see its README)."""
    return (BOOT_LOGS / f"{stem}.console.log").read_text(errors="replace")


# --- results files --------------------------------------------------------------

def load_json(path):
    return json.loads(Path(path).read_text())


def _validator():
    if jsonschema is None:
        raise unittest.SkipTest("needs python3-jsonschema (tools/install-deps)")
    if not hasattr(_validator, "cached"):
        _validator.cached = jsonschema.Draft202012Validator(load_json(SCHEMA))
    return _validator.cached


def validate_results(doc):
    """Raises jsonschema.ValidationError unless doc is a results file (results/schema.json)."""
    _validator().validate(doc)


def schema_errors(doc) -> list[str]:
    """Every way doc is not a results file, as "path: message", sorted by path."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.path)))
    return [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors]


def median(entry, metric):
    """The median of a results entry's metric; None when it has no such metric or no samples of it."""
    return (entry.get("metrics", {}).get(metric, {}).get("summary") or {}).get("median")


def counter_median(entry, counter):
    """The median of a results entry's counter; None when it was not counted."""
    c = entry.get("counters", {}).get(counter, {})
    return (c.get("summary") or {}).get("median") if c.get("available") else None


def import_map_mem_entries(label: str, entries, out_path: Path, *, release=None,
                           version=None) -> dict:
    """The results file the pgtbench under test writes at out_path from a
    tools/boot-map-mem samples document of `entries` (MapMemEntry), as read back."""
    doc = samples_document(
        label, entries, release=release, version=version,
        cmdline="console=ttyAMA0 panic=-1", cpu_model="max,pauth-impdef=on",
        accel="tcg", smp=1, page_size=4096, reps=1,
        command_line=["tools/boot-map-mem"], created_utc="2026-11-22T05:30:00Z",
        host_name="test")
    out_path = Path(out_path)
    import_samples(PGTBENCH, doc, out_path.with_suffix(".samples.json"), out_path)
    return load_json(out_path)


def map_mem_boot_results(label: str, stems, out_path: Path) -> dict:
    """import_map_mem_entries as if each captured boot log of `stems` had been one
    boot (an entry each; a skipped one for a kernel without the map_mem line)."""
    entries = []
    for stem in stems:
        log = parse_boot_log(captured_boot_log(stem))
        e = MapMemEntry(log.mem_total_bytes, log.rodata)
        e.boots.append({"rep": 1, "outcome": "complete", "map_mem_us": log.map_mem_us})
        if not log.instrumented:
            e.status, e.reason = "skipped", not_instrumented_reason(log)
        entries.append(e)
    return import_map_mem_entries(label, entries, out_path, release=log.release,
                                  version=log.version)
