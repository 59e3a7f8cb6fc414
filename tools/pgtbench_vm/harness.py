"""The native pgtbench that turns measurements made outside it into results files.

Python writes no results files: tools/boot-map-mem (and the fixture generator of
tests/fixtures/results) describe what they measured in a samples document, and
`pgtbench import SAMPLES.json --out RESULTS.json` names the entries, computes every
summary and Google Benchmark's records, validates the label and writes the file
atomically. So one implementation decides what a results file holds."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from . import paths


class HarnessError(Exception):
    """The harness is missing, too old, or refused a samples document (one line)."""


def default_harness() -> Path:
    """$PGTBENCH if set, else the build tools/setup makes (<repo>/build/pgtbench), or the
    installed binary next to installed tools."""
    return Path(os.environ.get("PGTBENCH") or paths.built("pgtbench", "pgtbench"))


def check_harness(harness: Path, subcommand: str = "import") -> None:
    """Refuses, before anything is measured, a harness without `subcommand`."""
    if not harness.is_file() or not os.access(harness, os.X_OK):
        raise HarnessError(f"{harness} does not exist or is not executable (build it with "
                           "ninja -C build, or name it with --harness or $PGTBENCH)")
    r = subprocess.run([str(harness), subcommand, "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        raise HarnessError(f"{harness} has no '{subcommand}' subcommand (an older build? "
                           "ninja -C build)")


def _run_import(harness: Path, samples_path: Path, out_path: Path):
    return subprocess.run([str(harness), "import", str(samples_path), "--out", str(out_path)],
                          capture_output=True, text=True)


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no message"


def import_samples(harness: Path, doc: dict, samples_path: Path, out_path: Path) -> None:
    """Writes `doc` to samples_path (kept: it can be imported again by hand) and has
    the harness write the results file out_path from it."""
    samples_path.parent.mkdir(parents=True, exist_ok=True)
    samples_path.write_text(json.dumps(doc, indent=2) + "\n")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    r = _run_import(harness, samples_path, out_path)
    if r.returncode != 0:
        raise HarnessError(f"pgtbench import exited {r.returncode}: {_last_line(r.stderr)}")


def label_problem(harness: Path, label: str) -> str | None:
    """What the harness says against `label` as a results file's label, None when it
    takes it. Asked with a one-sample document before any boot, so that a bad label
    is a usage error, not the end of an hour of booting."""
    # The least env the harness's reader accepts: import refuses what compare could not read.
    env = {"arch": "aarch64", "kernel": {"release": "unknown"}, "cpu": {"model": "unknown"},
           "virtualization": {"vm": None}, "mem_total_bytes": 0}
    probe = {"label": label, "command_line": ["label check"], "config": {}, "env": env,
             "variants": [{"scenario": "label_check", "params": {},
                           "metrics": [{"name": "x", "unit": "ms", "better": "lower",
                                        "samples": [1.0]}]}]}
    with tempfile.TemporaryDirectory(prefix="pgtbench-label-") as tmp:
        samples = Path(tmp) / "samples.json"
        samples.write_text(json.dumps(probe))
        r = _run_import(harness, samples, Path(tmp) / "results.json")
    if r.returncode == 0:
        return None
    if r.returncode != 2:
        raise HarnessError(f"pgtbench import exited {r.returncode}: {_last_line(r.stderr)}")
    # "pgtbench: <samples>: label: <why>": the why is the harness's, the rest is the probe's.
    message = _last_line(r.stderr)
    return message.partition(f"{samples}: ")[2].removeprefix("label: ") or message


def merge_emu(harness: Path, results: Path, window_log: Path) -> None:
    """Has the harness add the window log's counts to `results` (replaced whole, or left
    as it was when the harness refuses)."""
    r = subprocess.run([str(harness), "merge-emu", str(results), str(window_log)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise HarnessError(_last_line(r.stderr).removeprefix("pgtbench: "))
