"""tools/vm --count: the qemu plugin that counts TLBIs, barriers and instructions in the
harness's counting windows (qemu-plugin/count.c), and what the host does with its log.

qemu runs TCG single-threaded with the plugin (-accel tcg,thread=single): the plugin's
inline counters are plain memory adds, exact only when vCPUs take turns. Its window log
goes to LABEL/emu-windows.jsonl; afterwards every results file the command wrote that
has counting windows (pgtbench.emu_session) gets their counts merged in by the native
harness (`pgtbench merge-emu`)."""

from __future__ import annotations

import json
from pathlib import Path

from . import paths
from .cli import UsageError
from .elf import ElfError, read_elf_file
from .harness import HarnessError, check_harness, default_harness, merge_emu

WINDOW_LOG = "emu-windows.jsonl"
ET_DYN = 3


def default_plugin() -> Path:
    return paths.built("plugin", "qemu-plugin/libpgtbench-count.so")


def check_plugin(plugin: Path) -> None:
    """A shared object that exists; whether qemu accepts it, qemu says at start-up."""
    if not plugin.is_file():
        hint = " (tools/setup builds it where qemu-system-arm is installed)" \
            if plugin == default_plugin() else ""
        raise UsageError(f"--count: plugin {plugin} not found{hint}")
    try:
        elf = read_elf_file(plugin)
    except ElfError as e:
        raise UsageError(f"--plugin {plugin}: {e}")
    if elf.type != ET_DYN:
        raise UsageError(f"--plugin {plugin} is not a shared object")


def check_merge_harness(harness: Path) -> None:
    try:
        check_harness(harness, "merge-emu")
    except HarnessError as e:
        raise UsageError(f"--harness {e}")


def qemu_args(plugin: Path, log: Path) -> list[str]:
    # A comma inside a path would split qemu's option list.
    for p in (plugin, log):
        if "," in str(p):
            raise UsageError(f"--count: qemu cannot take a path with a comma: {p}")
    return ["-plugin", f"{plugin},out={log}"]


def plugin_refusal(qemu_stderr: str) -> str | None:
    """The line in which qemu or the plugin refused to load, if one did."""
    for line in qemu_stderr.splitlines():
        if "pgtbench-count:" in line:
            return line[line.index("pgtbench-count:"):].strip()
    for line in qemu_stderr.splitlines():
        if "plugin" in line.lower():
            return line.strip()
    return None


def results_with_windows(results_dir: Path) -> list[Path]:
    """The results files under results_dir that name a counting session."""
    found = []
    for path in sorted(results_dir.rglob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("pgtbench"), dict) and \
                doc["pgtbench"].get("emu_session"):
            found.append(path)
    return found


def merge_all(harness: Path, results_dir: Path, log: Path) -> tuple[list[Path], str | None]:
    """Merges the log into every results file with windows. Returns (merged, problem):
    problem is one line when a file could not be merged or none had windows."""
    files = results_with_windows(results_dir)
    if not files:
        return [], ("--count: the command opened no counting windows (no results file of an "
                    "arm64 `pgtbench run` came back)")
    merged = []
    for f in files:
        try:
            merge_emu(harness, f, log)
        except HarnessError as e:
            return merged, f"merge-emu {f.name}: {e}"
        merged.append(f)
    return merged, None


__all__ = ["WINDOW_LOG", "default_plugin", "default_harness", "check_plugin",
           "check_merge_harness", "qemu_args", "plugin_refusal", "merge_all"]
