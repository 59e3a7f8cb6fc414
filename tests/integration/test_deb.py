#!/usr/bin/python3
"""The Debian packages: pgtbench and pgtbench-dkms built from this tree, checked,
installed, used from elsewhere and purged without a trace.

A copy of the source tree (what git tracks plus untracked files it does not ignore: no
build directories) is built once with `dpkg-buildpackage -us -uc -b`, exactly as a user
would build it; lintian must find no error in the result. Both packages are then
installed with dpkg alone (every dependency is one tools/install-deps installs, so
nothing is fetched), and the installed /usr/bin/pgtbench must work from a directory
outside the checkout with a PATH that does not lead back to it: --version, the packaged
quick config (THP knobs put back afterwards), and `vm` handed to the packaged tools.
pgtbench-dkms must register its sources with DKMS; building the module needs arm64
kernel headers, which a machine without them (or with another architecture's) lacks, and
its installation must not fail over that. Purging must leave nothing behind, and the packages are purged whatever happens,
so the machine ends as it began.

Root (dpkg -i), dpkg-buildpackage, lintian and dkms are needed; otherwise every test
skips (exit 77). A package of either name already on the machine also skips: purging it
would change the machine. The build compiles the project once (minutes).

Environment: PGTBENCH_SOURCE (the source tree), PGTBENCH_QEMU_PLUGIN_API (optional:
the directory holding qemu-plugin.h the build under test used; the package then ships
the qemu plugin too, see debian/README.Debian).
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

SOURCE = Path(os.environ.get("PGTBENCH_SOURCE", testlib.REPO)).resolve()
PLUGIN_API = os.environ.get("PGTBENCH_QEMU_PLUGIN_API", "")
PACKAGES = ("pgtbench", "pgtbench-dkms")
DATA = Path("/usr/share/pgtbench")
# Where the installed programs are looked for: the system's, never the checkout's.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def project_version():
    for line in (SOURCE / "meson.build").read_text().splitlines():
        if line.strip().startswith("version:"):
            return line.split("'")[1]
    raise AssertionError("meson.build names no version")


def installed_state(pkg):
    """dpkg's status of pkg ("ii", "rc", ...), "" when dpkg knows nothing of it."""
    p = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", pkg])
    return p.stdout.strip() if p.returncode == 0 else ""


def dkms_status():
    return run(["dkms", "status"]).stdout


def skip_reason():
    if os.geteuid() != 0:
        return "dpkg -i needs root"
    for tool in ("dpkg-buildpackage", "lintian", "dkms", "fakeroot"):
        if not shutil.which(tool):
            return f"{tool} not installed (tools/install-deps --package)"
    taken = [p for p in PACKAGES if installed_state(p)]
    if taken:
        return f"{', '.join(taken)} already known to dpkg: purging it would change the machine"
    return None


def copy_source(dest: Path):
    """The tree as git sees it (tracked and untracked-but-not-ignored files), else all of
    it but build directories."""
    p = run(["git", "-C", SOURCE, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    if p.returncode != 0:
        shutil.copytree(SOURCE, dest, symlinks=True,
                        ignore=shutil.ignore_patterns("build*", "obj-*", ".git", "__pycache__"))
        return
    for rel in filter(None, p.stdout.split("\0")):
        src = SOURCE / rel
        if src.is_file() or src.is_symlink():  # a deleted, uncommitted file is not copied
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel, follow_symlinks=False)


def purge():
    """dpkg --purge of both packages, whatever state they are in."""
    present = [p for p in PACKAGES if installed_state(p)]
    return run(["dpkg", "--purge", *present]) if present else None


class Build:
    """The one package build all the tests share (setUpModule)."""
    tmp: Path
    debs: dict
    changes: Path
    seconds: float


def setUpModule():
    reason = skip_reason()
    if reason:
        raise unittest.SkipTest(reason)
    Build.tmp = Path(tempfile.mkdtemp(prefix="pgtbench-deb-"))
    src = Build.tmp / "pgtbench"
    copy_source(src)
    # No -dbgsym package: nothing here installs it, and it costs time. nocheck: the unit
    # suite is this build's own (the suite this test belongs to ran it); building it
    # again inside the package build would double the test's time. noopt (-O0): what is
    # tested is the packaging, not the compiler's optimisations, and it compiles in about
    # half the time.
    env = {**os.environ, "PGTBENCH_QEMU_PLUGIN_API": PLUGIN_API,
           "DEB_BUILD_OPTIONS": f"parallel={os.cpu_count() or 1} noautodbgsym nocheck noopt"}
    start = time.monotonic()
    with open(Build.tmp / "build.log", "w") as log:
        p = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                           stdout=log, stderr=subprocess.STDOUT, timeout=3000)
    Build.seconds = time.monotonic() - start
    if p.returncode != 0:
        tail = (Build.tmp / "build.log").read_text(errors="replace").splitlines()[-40:]
        shutil.rmtree(Build.tmp, ignore_errors=True)
        raise AssertionError("dpkg-buildpackage failed:\n" + "\n".join(tail))
    print(f"test_deb: dpkg-buildpackage took {Build.seconds:.0f} s", file=sys.stderr)
    Build.debs = {d.name.split("_")[0]: d for d in Build.tmp.glob("*.deb")}
    Build.changes = next(Build.tmp.glob("*.changes"))


def tearDownModule():
    if hasattr(Build, "tmp"):
        shutil.rmtree(Build.tmp, ignore_errors=True)


def install():
    return run(["dpkg", "-i", *(Build.debs[p] for p in PACKAGES)])


def deb_files(pkg):
    """The paths in a .deb, as they will be installed ("/usr/bin/pgtbench", ...)."""
    listing = run(["dpkg-deb", "-c", Build.debs[pkg]]).stdout.splitlines()
    return {line.split()[5].lstrip(".").rstrip("/") for line in listing}


class Built(unittest.TestCase):
    def test_both_packages_are_built_from_the_tree(self):
        self.assertEqual(sorted(Build.debs), sorted(PACKAGES))
        self.assertIn(f"_{project_version()}_all.deb", Build.debs["pgtbench-dkms"].name)

    def test_lintian_finds_no_error(self):
        p = run(["lintian", "--no-tag-display-limit", Build.changes], timeout=900)
        print(f"test_deb: lintian:\n{p.stdout}", file=sys.stderr, end="")
        errors = [line for line in p.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual(errors, [], p.stdout + p.stderr)
        self.assertIn(p.returncode, (0, 1), p.stderr)  # 1: tags were emitted (warnings)

    def test_pgtbench_holds_what_meson_install_installs(self):
        files = deb_files("pgtbench")
        for path in ("/usr/bin/pgtbench", "/usr/libexec/pgtbench/fork-ref",
                     "/usr/share/man/man1/pgtbench.1.gz",
                     "/usr/share/bash-completion/completions/pgtbench"):
            self.assertIn(path, files)
        for rel in ("plots/pgtbench_plot.py", "configs/quick.toml", "results/schema.json",
                    "tools/vm", "tools/pgtbench_vm/paths.py", "kmod/dkms.conf",
                    "qemu-plugin/pgtbench_marker.h", "install.json"):
            self.assertIn(str(DATA / rel), files)
        plugin = [f for f in files if f.endswith("/pgtbench/libpgtbench-count.so")]
        if PLUGIN_API:  # built against the header the build under test used
            self.assertEqual(len(plugin), 1, sorted(files))
        else:
            self.assertEqual(plugin, [])

    def test_pgtbench_dkms_holds_a_dkms_source_tree_named_after_the_version(self):
        tree = f"/usr/src/pgtbench-{project_version()}"
        files = deb_files("pgtbench-dkms")
        for rel in ("dkms.conf", "Kbuild", "Makefile", "core.c", "pgtbench_abi.h",
                    "pgtbench_marker.h"):
            self.assertIn(f"{tree}/{rel}", files)
        self.assertNotIn(f"{tree}/meson.build", files)


class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.addClassCleanup(purge)  # runs even when installing fails half-way
        p = install()
        if p.returncode != 0:
            raise AssertionError(f"dpkg -i: {p.stdout}{p.stderr}")
        cls.install_output = p.stdout + p.stderr
        cls.cwd = Path(tempfile.mkdtemp(prefix="pgtbench-deb-run-"))
        cls.addClassCleanup(shutil.rmtree, cls.cwd, ignore_errors=True)

    def run_installed(self, *args, timeout=600):
        env = {"PATH": SYSTEM_PATH, "HOME": str(self.cwd), "LANG": "C.UTF-8",
               "XDG_CACHE_HOME": str(self.cwd / "cache")}
        return run(["pgtbench", *args], cwd=self.cwd, env=env, timeout=timeout)

    def test_the_installed_binary_names_its_version_and_packaged_data(self):
        p = self.run_installed("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines()[:2],
                         [f"pgtbench {project_version()}", f"data: {DATA}"])

    @unittest.skipUnless(testlib.can_change_thp(), "needs root and writable THP sysfs")
    def test_the_packaged_quick_config_runs_from_elsewhere_and_puts_thp_back(self):
        before = testlib.thp_settings()
        p = self.run_installed("run", DATA / "configs/quick.toml", "--out", "quick.json",
                               "--label", "packaged")
        self.assertEqual(testlib.thp_settings(), before)
        self.assertIn(p.returncode, (0, 4), p.stderr)  # 4: some variant skipped, with its reason
        doc = testlib.load_json(self.cwd / "quick.json")
        testlib.validate_results(doc)
        self.assertGreater(len(doc["entries"]), 0)

    def test_vm_is_handed_to_the_packaged_guest_tools(self):
        p = self.run_installed("vm", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("--kernel", p.stdout)

    def test_the_installed_install_json_points_at_the_packaged_binaries(self):
        places = json.loads((DATA / "install.json").read_text())
        self.assertEqual((DATA / places["pgtbench"]).resolve(), Path("/usr/bin/pgtbench"))
        self.assertTrue(os.access((DATA / places["fork_ref"]).resolve(), os.X_OK))

    def test_dkms_knows_the_module_sources_even_without_kernel_headers(self):
        tree = Path(f"/usr/src/pgtbench-{project_version()}")
        self.assertTrue((tree / "dkms.conf").is_file())
        self.assertIn(f"pgtbench/{project_version()}", dkms_status(), self.install_output)

    def test_kernel_headers_of_another_architecture_are_skipped_not_a_failed_install(self):
        """The module is arm64's (BUILD_EXCLUSIVE_ARCH): an x86 machine with its own
        headers (linux-headers-amd64 comes with lava-dispatcher) must still install."""
        if platform.machine() in ("aarch64", "arm64"):
            self.skipTest("an arm64 machine builds the module for its headers")
        if not any(Path("/lib/modules").glob("*/build")):
            self.skipTest("no kernel headers installed here: dkms has nothing to build for")
        # dkms says why on a line of its own ("Error! ... BUILD_EXCLUSIVE directive which
        # does not match"), then the postinst's verdict.
        self.assertIn("BUILD_EXCLUSIVE", self.install_output)
        self.assertIn("Skipped.", self.install_output)


class Purged(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.addClassCleanup(purge)
        p = install()
        if p.returncode != 0:
            raise AssertionError(f"dpkg -i: {p.stdout}{p.stderr}")
        p = purge()
        if p.returncode != 0:
            raise AssertionError(f"dpkg --purge: {p.stdout}{p.stderr}")

    def test_dpkg_forgets_both_packages(self):
        self.assertEqual({p: installed_state(p) for p in PACKAGES}, {p: "" for p in PACKAGES})

    def test_no_file_of_either_package_remains(self):
        for path in (Path("/usr/bin/pgtbench"), DATA, Path("/usr/libexec/pgtbench"),
                     Path("/usr/share/doc/pgtbench"), Path("/var/lib/dkms/pgtbench")):
            self.assertFalse(path.exists(), path)
        self.assertEqual(sorted(Path("/usr/src").glob("pgtbench-*")), [])
        self.assertEqual(sorted(Path("/usr/lib").glob("*/pgtbench")), [])

    def test_dkms_no_longer_lists_the_module(self):
        self.assertNotIn("pgtbench", dkms_status())


if __name__ == "__main__":
    testlib.main_or_skip()
