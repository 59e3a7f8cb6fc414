#!/usr/bin/python3
"""The layers of the source tree, checked on every quoted #include.

meson gives each layer only the include directories it may use, so a bare
`#include "env.h"` in harness/report/ does not compile. A path written out
(`#include "../measure/env.h"`) would still compile; this test resolves every quoted
include to the file it names and refuses the ones that cross a layer the wrong way:

  base     harness/{datadir,errors.h,util,stats,results*}   uses nothing above it
  measure  harness/measure/                         base
  report   harness/report/                          base (never measure)
  core     harness/{config,listing,scenario,runner,table}   base, measure
  benchkit benches/lib/                             core, measure, base
  benches  benches/*.cpp                            benchkit, core, measure, base
  main     harness/main.cpp                         everything

    /usr/bin/python3 tests/build/test_layering.py
"""

import pathlib
import re
import sys
import tempfile
import unittest

REPO = pathlib.Path(__file__).resolve().parents[2]
BASE_FILES = {"datadir", "errors", "util", "stats", "results", "results_emu", "results_read", "results_import",
              "version"}
ALLOWED = {
    "base": {"base", "abi"},
    "measure": {"base", "measure", "abi"},
    "report": {"base", "report"},
    "core": {"base", "measure", "core", "abi"},
    "benchkit": {"base", "measure", "core", "benchkit", "abi"},
    "benches": {"base", "measure", "core", "benchkit", "abi"},
    "main": {"base", "measure", "report", "core", "benchkit", "abi"},
    "abi": {"abi"},  # the interfaces build on one another only (the subject's on the module's)
}
# Where a bare include is looked up, per layer: the meson include directories.
SEARCH = {
    "base": ["harness", "qemu-plugin"],
    "measure": ["harness/measure", "harness", "kmod", "qemu-plugin"],
    "report": ["harness/report", "harness"],
    "core": ["harness", "harness/measure", "kmod"],
    "benchkit": ["benches/lib", "benches/subject", "harness", "harness/measure", "kmod"],
    "benches": ["benches/lib", "benches/subject", "harness", "harness/measure", "kmod"],
    "abi": ["kmod", "qemu-plugin"],
    "main": ["harness", "harness/measure", "harness/report", "benches/lib", "kmod"],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(rel: pathlib.PurePosixPath) -> str | None:
    parts = rel.parts
    if parts[:2] == ("harness", "measure"):
        return "measure"
    if parts[:2] == ("harness", "report"):
        return "report"
    if parts[:2] == ("benches", "lib"):
        return "benchkit"
    if parts[:2] == ("benches", "subject"):
        return "abi"  # the harness's protocol with its fork subject
    if parts[0] == "benches":
        return "benches"
    if parts[0] in ("kmod", "qemu-plugin"):
        return "abi"
    if parts[0] == "harness" and len(parts) == 2:
        stem = rel.name.split(".")[0]
        if stem == "main":
            return "main"
        return "base" if stem in BASE_FILES else "core"
    return None


def violations(root: pathlib.Path) -> list[str]:
    out = []
    for src in sorted([*root.glob("harness/**/*.[ch]*"), *root.glob("benches/**/*.[ch]*")]):
        rel = pathlib.PurePosixPath(src.relative_to(root).as_posix())
        layer = layer_of(rel)
        if layer is None or src.suffix not in (".h", ".cpp", ".in"):
            continue
        for name in INCLUDE.findall(src.read_text()):
            candidates = [src.parent / name] + [root / d / name for d in SEARCH[layer]]
            target = next((c for c in candidates if c.is_file()), None)
            if target is None:
                if pathlib.PurePosixPath(name).name == "version.h":
                    continue  # generated into the build tree; base
                out.append(f"{rel}: #include \"{name}\": no such file on its layer's path")
                continue
            trel = pathlib.PurePosixPath(target.resolve().relative_to(root.resolve()).as_posix())
            tlayer = layer_of(trel)
            if tlayer not in ALLOWED[layer]:
                out.append(f"{rel} ({layer}) includes {trel} ({tlayer})")
    return out


class Layering(unittest.TestCase):
    def test_the_tree_keeps_its_layers(self):
        self.assertEqual(violations(REPO), [])

    def _tree(self, files: dict[str, str]) -> pathlib.Path:
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="pgt-layers-"))
        for path, text in files.items():
            (tmp / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp / path).write_text(text)
        return tmp

    def test_report_reaching_measure_by_a_relative_path_is_refused(self):
        root = self._tree({"harness/measure/env.h": "", "harness/results.h": "",
                           "harness/report/compare.cpp": '#include "results.h"\n#include "../measure/env.h"\n'})
        self.assertEqual(violations(root),
                         ["harness/report/compare.cpp (report) includes harness/measure/env.h (measure)"])

    def test_base_including_the_runner_is_refused(self):
        root = self._tree({"harness/runner.h": "", "harness/results.cpp": '#include "runner.h"\n'})
        self.assertEqual(violations(root), ["harness/results.cpp (base) includes harness/runner.h (core)"])

    def test_a_scenario_may_use_its_kit_and_the_module_abi(self):
        root = self._tree({"benches/lib/folio.h": "", "kmod/pgtbench_abi.h": "",
                           "benches/fork.cpp": '#include "folio.h"\n#include "pgtbench_abi.h"\n'})
        self.assertEqual(violations(root), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
