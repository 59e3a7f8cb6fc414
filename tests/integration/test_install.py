#!/usr/bin/python3
"""`meson install`: a self-contained pgtbench that never looks back into the checkout.

The build directory is installed into a scratch DESTDIR, and the installed prefix is
then moved elsewhere, so that neither the prefix meson was given nor the source tree can
be what the installed binary and tools use: they must find their files from their own
place. From a working directory outside the checkout, the moved binary runs a config of
its own data directory and plots it, hands `vm` to its installed tools/vm, and its bash
completion and manual page are there. Needs root for the run (THP knobs).

Environment: PGTBENCH_BUILD (the build directory), PGTBENCH_SOURCE (the source tree).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

BUILD = Path(os.environ.get("PGTBENCH_BUILD", testlib.REPO / "build"))
SOURCE = Path(os.environ.get("PGTBENCH_SOURCE", testlib.REPO)).resolve()


def meson_info(name):
    return json.loads((BUILD / "meson-info" / f"intro-{name}.json").read_text())


class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="pgtbench-install-")
        cls.tmp = Path(cls._tmp.name)
        meson = shutil.which("meson")
        if not meson:
            raise unittest.SkipTest("meson not on PATH")
        p = subprocess.run([meson, "install", "-C", str(BUILD), "--no-rebuild", "--quiet",
                            "--destdir", str(cls.tmp / "dest")], capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError(f"meson install: {p.stdout}{p.stderr}")
        opts = {o["name"]: o["value"] for o in meson_info("buildoptions")}
        cls.opts = opts
        # Moved away from the prefix it was installed for: only relative lookups work.
        cls.prefix = cls.tmp / "moved"
        shutil.move(str(cls.tmp / "dest" / opts["prefix"].lstrip("/")), str(cls.prefix))
        cls.bin = cls.prefix / opts["bindir"] / "pgtbench"
        cls.share = cls.prefix / opts["datadir"] / "pgtbench"
        cls.cwd = cls.tmp / "elsewhere"
        cls.cwd.mkdir()

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def run_installed(self, *args, env=None, timeout=600):
        e = dict(os.environ)
        e.pop("PGTBENCH", None)
        e.pop("PGTBENCH_DATADIR", None)
        e["HOME"] = str(self.tmp / "home")
        e.update(env or {})
        return subprocess.run([str(self.bin), *map(str, args)], cwd=self.cwd, env=e,
                              capture_output=True, text=True, timeout=timeout)

    def test_the_data_tools_and_module_sources_are_installed_beside_the_binary(self):
        for rel in ("plots/pgtbench_plot.py", "configs/default.toml", "configs/quick.toml",
                    "results/schema.json", "kmod/Kbuild", "kmod/Makefile", "kmod/pgtbench_abi.h",
                    "kmod/vmalloc_storm.c", "qemu-plugin/pgtbench_marker.h", "tools/vm",
                    "tools/stack", "tools/fetch-kernel", "tools/fidelity", "tools/aa",
                    "tools/pgtbench_vm/paths.py", "tools/kconfig/pgtbench-guest.config",
                    "install.json"):
            self.assertTrue((self.share / rel).is_file(), rel)
        self.assertTrue(os.access(self.share / "tools/vm", os.X_OK))
        self.assertFalse((self.share / "kmod/meson.build").exists())
        self.assertFalse((self.share / "kmod/.gitignore").exists())
        self.assertTrue(os.access(self.prefix / self.opts["libexecdir"] / "pgtbench/fork-ref", os.X_OK))
        places = json.loads((self.share / "install.json").read_text())
        self.assertEqual((self.share / places["pgtbench"]).resolve(), self.bin.resolve())
        self.assertEqual((self.share / places["fork_ref"]).resolve(),
                         (self.prefix / self.opts["libexecdir"] / "pgtbench/fork-ref").resolve())

    def test_version_names_the_moved_data_directory_not_the_source_tree(self):
        p = self.run_installed("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertRegex(lines[0], r"^pgtbench \d+\.\d+\.\d+$")
        self.assertEqual(lines[1], f"data: {self.share}")
        self.assertNotIn(str(SOURCE), p.stdout)

    def test_a_data_directory_named_by_the_environment_that_is_not_one_is_refused(self):
        p = self.run_installed("plot", "x.json", "--out", "x.png",
                               env={"PGTBENCH_DATADIR": str(self.tmp / "nothing")})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(f"PGTBENCH_DATADIR={self.tmp / 'nothing'}: no plots/pgtbench_plot.py", p.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "the run sets THP knobs: root")
    def test_the_moved_binary_runs_an_installed_config_and_plots_it_from_elsewhere(self):
        p = self.run_installed("run", self.share / "configs/quick.toml", "--filter", "^null",
                               "--reps", "3", "--label", "installed", "--out", "r.json", "--plot")
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = testlib.load_json(self.cwd / "r.json")
        testlib.validate_results(doc)
        self.assertEqual([e["scenario"] for e in doc["entries"]], ["null"])
        self.assertGreater((self.cwd / "r.png").stat().st_size, 0)

    def test_vm_is_handed_to_the_installed_tools_whose_work_goes_to_the_users_cache(self):
        p = self.run_installed("vm", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("--kernel", p.stdout)
        probe = ("import sys; sys.path.insert(0, sys.argv[1]); from pgtbench_vm import paths; "
                 "print(paths.work_dir('vm-runs')); print(paths.built('pgtbench', 'pgtbench'))")
        q = subprocess.run([sys.executable, "-c", probe, str(self.share / "tools")],
                           env={**os.environ, "XDG_CACHE_HOME": str(self.tmp / "cache")},
                           capture_output=True, text=True)
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertEqual(q.stdout.splitlines(), [str(self.tmp / "cache/pgtbench/vm-runs"),
                                                 str(self.bin.resolve())])

    def test_bash_completes_subcommands_and_options_from_the_installed_binary(self):
        completion = self.prefix / self.opts["datadir"] / "bash-completion/completions/pgtbench"
        script = (f'source {completion}; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
                  '_pgtbench; printf "%s\\n" "${COMPREPLY[@]}"')

        def complete(*words):
            p = subprocess.run(["bash", "-c", script, "bash", *words], capture_output=True, text=True,
                               env={**os.environ, "PATH": f"{self.bin.parent}:{os.environ['PATH']}"})
            self.assertEqual(p.returncode, 0, p.stderr)
            return sorted(p.stdout.split())

        self.assertEqual(complete("pgtbench", "re"), ["restore"])
        self.assertIn("stack", complete("pgtbench", "s"))
        self.assertEqual(complete("pgtbench", "run", "--ord"), ["--order"])
        self.assertEqual(complete("pgtbench", "run", "--order", "int"), ["interleave"])

    @unittest.skipUnless(shutil.which("help2man"), "help2man not installed: no manual page built")
    def test_the_manual_page_describes_every_subcommand(self):
        page = (self.prefix / self.opts["mandir"] / "man1/pgtbench.1").read_text()
        self.assertIn(".SH DESCRIPTION", page)
        for sub in ("run", "compare", "plot", "stack"):
            self.assertIn(sub, page)
        self.assertNotIn(str(SOURCE), page)


if __name__ == "__main__":
    unittest.main()
