#!/usr/bin/python3
"""The emulated-arm64 test suite: pgtbench and pgtbench.ko in real Debian arm64 kernels.

    tests/guest/guest_suite.py --build-root BUILDDIR

Run by `meson test -C BUILDDIR --suite guest` (or by hand). It
  1. fetches Debian's arm64 6.12 and 6.1 kernels (tools/fetch-kernel, cached in
     BUILDDIR/kernels; $PGTBENCH_KERNEL_CACHE overrides),
  2. cross-builds pgtbench and pgtbench.ko in BUILDDIR/aarch64 (cross/aarch64-linux-gnu.ini,
     -Dkernel_dir=<the 6.12 kdir>; configured once, then only brought up to date), a
     pgtbench.ko for 6.1 with kbuild, and tests/guest/kmod_abi_check.c statically,
  3. boots the 6.12 guest once (tools/vm) and checks, in one guest script:
       pgtbench env --json         arch aarch64, mTHP sizes, kprobe PMU, vm true, no kmod
       pgtbench list quick.toml    kmod_nop skipped without the module, naming --kmod
       pgtbench run quick.toml     exit 0; results valid (results/schema.json); fork order
                                   0, order 9 pmd and pte ok, with samples and folio checks
       pgtbench list order4.toml   order 4 (64K mTHP) runnable
       env/run --kmod PATH         the harness loads the module, the INFO handshake passes,
                                   kmod_nop measures ioctl_ns, the module is unloaded after
       insmod pgtbench.ko          env says loaded and usable; kmod_abi_check passes (INFO,
                                   NOP, EINVAL, ENOTTY, EOPNOTSUPP, EFAULT, EPERM);
                                   --kmod leaves a module it did not load loaded
       rmmod pgtbench              succeeds; env says not loaded; the ctl file is gone
     and that the guest kernel log has no WARNING/BUG/Oops/panic (tools/vm exit 6; the
     step that was running is named),
  4. boots the 6.1 guest once: no per-size mTHP controls; quick.toml's fork and null
     variants runnable; a config asking for order 4 skips it (reason naming the missing
     mTHP controls) while order 0 and 9 run; the 6.1 pgtbench.ko loads and passes
     kmod_abi_check.
It prints a summary with timings and the guest fork figures, and exits 0 when everything
passed, 1 on any failure, 77 (skip) only when qemu-system-aarch64 or the aarch64 cross
compiler is missing. Everything a run leaves is kept in BUILDDIR/guest-runs/last.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import testlib  # noqa: E402
from testlib import REPO, counter_median, median  # noqa: E402
from pgtbench_vm.elf import EM_AARCH64, read_elf_file  # noqa: E402
from pgtbench_vm.kernel_log import scan_kernel_log  # noqa: E402

EXIT_OK, EXIT_FAIL, EXIT_SKIP = 0, 1, 77
QEMU = "qemu-system-aarch64"
CROSS_CC = "aarch64-linux-gnu-gcc-12"
CROSS_CXX = "aarch64-linux-gnu-g++-12"
CROSS_FILE = REPO / "cross/aarch64-linux-gnu.ini"
# Pointer authentication with the architected (QARMA) algorithm is slow under TCG; the
# implementation-defined one keeps -cpu max's features (LPA2, mTHP-relevant contpte...)
# at a fraction of the cost.
GUEST_CPU = "max,pauth-impdef=on"
BOOT_TIMEOUT_S = 480

# A config asking for a 64K mTHP order next to the orders every THP kernel has.
ORDER4_TOML = """\
# tests/guest: order 4 (64K mTHP) needs per-size controls (Linux 6.8+); 0 and 9 do not.
[run]
reps = 2
warmup = 0

[fork]
size = "8M"
order = [0, 4, 9]
map = ["pmd", "pte"]
"""

# Counters in the guest: the emulated PMU counts cycles but not instructions, and the
# kprobe PMU counts flush-site calls, which must grow with the work (munmap of 4x more
# base pages walks 4x more PTE tables).
COUNTERS_TOML = """\
# tests/guest: counters around munmap at two sizes, and the counter bracket's own cost.
[run]
reps = 2
warmup = 0

[null]
reps = 20

[munmap]
size = ["16M", "64M"]
order = [0]
"""

# The mTHP matrix in miniature: a few operations at every order a kernel might offer.
# 6.12 must run 0 and 2..9 (order 1 is never an anonymous size); 6.1 only 0 and 9.
MATRIX_TOML = """\
# tests/guest: every order x fault, munmap, cow (byte) at 4M, one repetition.
[run]
reps = 1
warmup = 0
counters = false

[fault]
size = "4M"
order = [0, 2, 3, 4, 5, 6, 7, 8, 9]

[munmap]
size = "4M"
order = [0, 2, 3, 4, 5, 6, 7, 8, 9]
map = ["pte"]

[cow]
size = "4M"
order = [0, 2, 3, 4, 5, 6, 7, 8, 9]
map = ["pte"]
write = ["byte"]
"""

# The THP settings, to compare before and after a run (stats and counters excluded).
THP_SNAPSHOT_SH = r"""
find /sys/kernel/mm/transparent_hugepage -type f ! -path '*/stats/*' \
	! -name full_scans ! -name pages_collapsed | sort | while read f; do
	echo "$f=$(cat "$f")"
done
"""

# Shared by both guest scripts: each step's stdout, stderr and exit status land in
# /results/steps/NAME.{out,err,rc}; a marker in the kernel log tells which step a
# warning belongs to.
GUEST_PRELUDE = r"""
mkdir -p /results/steps
step() {
	name=$1; shift
	echo "pgtbench-guest-test: step $name" > /dev/kmsg
	"$@" > /results/steps/$name.out 2> /results/steps/$name.err
	echo $? > /results/steps/$name.rc
}
"""

GUEST_612 = GUEST_PRELUDE + r"""
KO=/lib/pgtbench/pgtbench.ko
step env pgtbench env --json
step list-quick pgtbench list /configs/quick.toml
step quick pgtbench run /configs/quick.toml --out /results/quick.json
step list-order4 pgtbench list /tests/order4.toml
step counters pgtbench run /tests/counters.toml --out /results/counters.json
step thp-before sh /tests/thp-snapshot.sh
step matrix pgtbench run /tests/matrix.toml --out /results/matrix.json
step thp-after sh /tests/thp-snapshot.sh
# The harness loads the module itself (--kmod) and unloads it after.
step env-kmod-option pgtbench env --json --kmod $KO
step unloaded-after-env test ! -e /sys/module/pgtbench
step kmod-nop pgtbench run /configs/quick.toml --kmod $KO --filter '^kmod_nop' --out /results/kmod_nop.json
step unloaded-after-run test ! -e /sys/module/pgtbench
# Loaded by hand: the ABI from a program of its own, and a harness that leaves it loaded.
step insmod insmod $KO
step env-kmod pgtbench env --json
step abi-check /tests/kmod_abi_check
@FEATURE_STEPS@
step env-kmod-preloaded pgtbench env --json --kmod $KO
step still-loaded test -e /sys/module/pgtbench
step rmmod rmmod pgtbench
step env-after-rmmod pgtbench env --json
step ctl-gone test ! -e /sys/kernel/debug/pgtbench
echo "pgtbench-guest-test: step end" > /dev/kmsg
"""

GUEST_61 = GUEST_PRELUDE + r"""
step env pgtbench env --json
step list-quick pgtbench list /configs/quick.toml
step list-order4 pgtbench list /tests/order4.toml
step run-order4 pgtbench run /tests/order4.toml --out /results/order4.json
step thp-before sh /tests/thp-snapshot.sh
step matrix pgtbench run /tests/matrix.toml --out /results/matrix.json
step thp-after sh /tests/thp-snapshot.sh
# The module built against the 6.1 headers.
step insmod insmod /lib/pgtbench/pgtbench.ko
step env-kmod pgtbench env --json
step abi-check /tests/kmod_abi_check
@FEATURE_STEPS@
step rmmod rmmod pgtbench
echo "pgtbench-guest-test: step end" > /dev/kmsg
"""


# ---------------------------------------------------------------------------
# Module commands: one file each (tests/guest/feature_*.py), so that a new command's
# guest checks are one file plus one line here. Each provides
#   guest_steps(series) -> str       shell, run in the guest with pgtbench.ko inserted
#                                    (the `step` function of GUEST_PRELUDE is defined)
#   guest_files(out_dir, series) -> [(host path, guest path)]   extra files to ship
#   check(suite, boot, series, figures, g)   the host-side checks of what came back; g is
#                                    this module (check_step, validate_results, ...)
# ---------------------------------------------------------------------------

import feature_large_folio  # noqa: E402
import feature_map_mem  # noqa: E402
import feature_pte_walk  # noqa: E402
import feature_vmalloc  # noqa: E402

FEATURES = [feature_map_mem, feature_vmalloc, feature_pte_walk, feature_large_folio]


def features_swap():
    """The guest's zram (tools/vm --swap) a feature asks for with SWAP; None: no swap."""
    sizes = [f.SWAP for f in FEATURES if getattr(f, "SWAP", None)]
    return sizes[0] if sizes else None


def with_features(script, out_dir, series, files):
    steps = "\n".join(f.guest_steps(series) for f in FEATURES)
    for f in FEATURES:
        files = files + f.guest_files(out_dir, series)
    return script.replace("@FEATURE_STEPS@", steps), files


def check_features(suite, b, series, figures):
    for f in FEATURES:
        f.check(suite, b, series, figures, sys.modules[__name__])


# ---------------------------------------------------------------------------
# Bookkeeping
# ---------------------------------------------------------------------------

class Suite:
    def __init__(self):
        self.failures = []
        self.passed = 0
        self.timings = []  # (what, seconds)
        self.notes = []

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"  ok    {what}", flush=True)
        else:
            self.failures.append(f"{what}: {detail}" if detail else what)
            print(f"  FAIL  {what}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def note(self, msg):
        self.notes.append(msg)
        print(f"  note  {msg}", flush=True)

    def print_summary(self, title, seconds, figures, width=40, render=str):
        """The timings and figures a guest test program ends with."""
        print(f"\n=== {title}: {seconds:.0f} s ===")
        for what, secs in self.timings:
            print(f"  {what:<{width}} {secs:7.1f} s")
        for k, v in figures.items():
            print(f"  {k:<45} {render(v)}")

    def verdict(self, out_dir):
        """Prints where the outputs are and the failures; the exit status."""
        print(f"  outputs: {out_dir}")
        if self.failures:
            print(f"\nFAILED: {len(self.failures)} of {len(self.failures) + self.passed} checks:")
            for f in self.failures:
                print(f"  - {f}")
            return EXIT_FAIL
        print(f"\nPASSED: {self.passed} checks")
        return EXIT_OK


class Fatal(Exception):
    """A step the rest depends on failed; the message says what to do."""


def log(msg):
    print(f"guest-suite: {msg}", flush=True)


def child_env():
    env = dict(os.environ)
    # meson test sets MALLOC_PERTURB_, which makes compilers and qemu slower and is no
    # part of what is tested here.
    env.pop("MALLOC_PERTURB_", None)
    return env


def run(cmd, what, cwd=None, log_file=None, timeout=None):
    """Runs a host command; raises Fatal with the tail of its output on failure."""
    t = time.monotonic()
    log(f"{what}: {shlex.join(str(c) for c in cmd)}")
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=child_env(), text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if log_file:
        Path(log_file).write_text(r.stdout)
    if r.returncode != 0:
        tail = "\n".join(r.stdout.strip().splitlines()[-25:])
        raise Fatal(f"{what} failed (exit {r.returncode}):\n{tail}")
    return r.stdout, time.monotonic() - t


def start_guest_test(name, build_root, tools=(), files=()):
    """The common start of a guest test program: its output directory, emptied, or
    None (having said SKIP and why) when a host tool or a built file it needs is missing."""
    missing = [t for t in (QEMU, CROSS_CC, CROSS_CXX, *tools) if shutil.which(t) is None]
    missing += [str(f) for f in files if not Path(f).is_file()]
    if missing:
        print(f"{name}: SKIP: {', '.join(missing)} missing "
              "(tools/install-deps --guest; tools/setup)", flush=True)
        return None
    out_dir = build_root / "guest-runs" / name.removeprefix("test-")
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    return out_dir


# ---------------------------------------------------------------------------
# Host side: kernels, cross build, ABI checker
# ---------------------------------------------------------------------------

def fetch_kernels(cache, suite):
    out, secs = run([REPO / "tools/fetch-kernel", "--cache", cache, "--print", "6.12", "6.1"],
                    "fetch kernels", timeout=1200)
    suite.timings.append(("fetch kernels (6.12, 6.1)", secs))
    kernels = {}
    for series in ("6.12", "6.1"):
        env = {}
        for line in (cache / series / "env").read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = shlex.split(v)[0] if v else ""
        kernels[series] = env
        log(f"kernel {series}: {env.get('KVER')} ({env.get('PKG_VERSION')})")
    return kernels


def meson_cmd():
    meson = shutil.which("meson")
    if meson:
        return [meson]
    return [sys.executable, "-m", "mesonbuild.mesonmain"]


def configured_kernel_dir(cross_dir):
    try:
        opts = json.loads((cross_dir / "meson-info/intro-buildoptions.json").read_text())
    except (OSError, ValueError):
        return None
    for o in opts:
        if o.get("name") == "kernel_dir":
            return o.get("value")
    return None


def cross_build(build_root, kdir, suite):
    """BUILDDIR/aarch64: configured once, then ninja brings it up to date (a no-op when
    nothing changed). Only the two targets the guest needs are built."""
    cross_dir = build_root / "aarch64"
    t = time.monotonic()
    if not (cross_dir / "build.ninja").is_file() or \
            not (cross_dir / "meson-private/coredata.dat").is_file():
        shutil.rmtree(cross_dir, ignore_errors=True)
        try:
            run(meson_cmd() + ["setup", cross_dir, REPO, "--cross-file", CROSS_FILE,
                               "-Dwerror=true", f"-Dkernel_dir={kdir}"],
                "configure the aarch64 cross build",
                log_file=build_root / "guest-runs/setup.log")
        except Fatal as e:
            shutil.rmtree(cross_dir, ignore_errors=True)  # configure again next time
            raise Fatal(f"{e}\n(an arm64 library missing? tools/install-deps --guest "
                        "installs them; full log in "
                        f"{build_root / 'guest-runs/setup.log'})")
    elif configured_kernel_dir(cross_dir) != str(kdir):
        run(meson_cmd() + ["configure", cross_dir, f"-Dkernel_dir={kdir}"],
            "point the cross build at the fetched 6.12 kdir")
    ninja = shutil.which("ninja") or "ninja"
    out, _ = run([ninja, "-C", cross_dir, "pgtbench", "kmod/pgtbench.ko"],
                 "cross-build pgtbench and pgtbench.ko",
                 log_file=build_root / "guest-runs/ninja.log", timeout=1800)
    secs = time.monotonic() - t
    suite.timings.append(("cross build (pgtbench, pgtbench.ko)", secs))
    pgtbench, ko = cross_dir / "pgtbench", cross_dir / "kmod/pgtbench.ko"
    for p in (pgtbench, ko):
        if not p.is_file():
            raise Fatal(f"{p} was not built (see {build_root / 'guest-runs/ninja.log'}); "
                        "is the 6.12 kdir complete?")
        if read_elf_file(p).machine != EM_AARCH64:
            raise Fatal(f"{p} is not an aarch64 ELF file")
    return pgtbench, ko


def kernels_and_cross_build(build_root, suite):
    """What a guest test program after guest-suite starts from: the kernel cache, the
    kernels (fetched, or found there), and pgtbench and pgtbench.ko for the 6.12 guest."""
    cache = Path(os.environ.get("PGTBENCH_KERNEL_CACHE", build_root / "kernels")).resolve()
    kernels = fetch_kernels(cache, suite)
    pgtbench, ko = cross_build(build_root, Path(kernels["6.12"]["KDIR"]), suite)
    return cache, kernels, pgtbench, ko


def build_kmod_61(out_dir, kdir, suite):
    """pgtbench.ko for the 6.1 guest: kbuild straight from a copy of kmod/ (the meson
    cross build has room for one kernel_dir only). About 3 s."""
    d = out_dir / "kmod-6.1"
    d.mkdir()
    for f in (REPO / "kmod").iterdir():
        if f.suffix in (".c", ".h") or f.name in ("Kbuild", "Makefile"):
            shutil.copy(f, d / f.name)
    shutil.copy(REPO / "qemu-plugin/pgtbench_marker.h", d)
    _, secs = run(["make", "-C", d, f"KDIR={kdir}"], "build pgtbench.ko for 6.1",
                  log_file=out_dir / "kmod-6.1.log", timeout=600)
    suite.timings.append(("build pgtbench.ko for 6.1", secs))
    return d / "pgtbench.ko"


def build_abi_check(out_dir, suite):
    exe = out_dir / "kmod_abi_check"
    _, secs = run([CROSS_CC, "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-static",
                   "-I", REPO / "kmod", "-o", exe, REPO / "tests/guest/kmod_abi_check.c"],
                  "build kmod_abi_check (static)")
    suite.timings.append(("build kmod_abi_check", secs))
    return exe


# ---------------------------------------------------------------------------
# Guest runs
# ---------------------------------------------------------------------------

class Boot:
    """One tools/vm run and what it brought back."""

    def __init__(self, label, out_dir, rc, seconds):
        self.label, self.rc, self.seconds = label, rc, seconds
        self.dir = out_dir / label
        self.results = self.dir / "results"
        try:
            self.timing = json.loads((self.dir / "timing.json").read_text())
        except (OSError, ValueError):
            self.timing = {}

    def step_rc(self, name):
        try:
            return int((self.results / "steps" / f"{name}.rc").read_text().strip())
        except (OSError, ValueError):
            return None

    def step_out(self, name, stream="out"):
        try:
            return (self.results / "steps" / f"{name}.{stream}").read_text(errors="replace")
        except OSError:
            return ""

    def step_json(self, name):
        return json.loads(self.step_out(name))

    def ran(self, name):
        return (self.results / "steps" / f"{name}.rc").is_file()

    def file_json(self, rel):
        return testlib.load_json(self.results / rel)

    def dmesg(self):
        try:
            return (self.dir / "dmesg.txt").read_text(errors="replace")
        except OSError:
            return ""


def boot(label, image, pgtbench, out_dir, script, files, kmod=None, swap=None):
    script_path = out_dir / f"{label}.sh"
    script_path.write_text(script)
    cmd = ["/usr/bin/python3", REPO / "tools/vm", "--kernel", f"{label}={image}",
           "--pgtbench", pgtbench, "--cpu", GUEST_CPU, "--timeout", str(BOOT_TIMEOUT_S),
           "--out-dir", out_dir, "--file", f"{script_path}:/tests/guest.sh"]
    for src, dest in files:
        cmd += ["--file", f"{src}:{dest}"]
    if kmod:
        cmd += ["--kmod", kmod]
    if swap:
        cmd += ["--swap", swap]  # zram swap of that size (tools/vm --swap)
    cmd += ["--", "sh", "/tests/guest.sh"]
    log(f"boot {label}: {shlex.join(str(c) for c in cmd)}")
    t = time.monotonic()
    r = subprocess.run([str(c) for c in cmd], env=child_env(), text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=BOOT_TIMEOUT_S + 120)
    secs = time.monotonic() - t
    (out_dir / f"{label}.vm.log").write_text(r.stdout)
    for line in r.stdout.splitlines():
        if line.startswith("vm:"):
            print(f"    {line}", flush=True)
    return Boot(label, out_dir, r.returncode, secs), r.stdout


def splats_by_step(b):
    """Kernel-log splats grouped by the guest step that was running (markers written
    to /dev/kmsg by the guest script)."""
    groups, step = {}, "boot"
    for line in b.dmesg().splitlines():
        m = re.search(r"pgtbench-guest-test: step (\S+)", line)
        if m:
            step = m.group(1)
            continue
        hits = scan_kernel_log(line)
        if hits:
            groups.setdefault(step, []).extend(hits)
    return groups


def check_boot_clean(suite, b, vm_output):
    """tools/vm exits 6 for a clean command with a dirty kernel log; the guest script
    always exits 0, so anything else is the runner's or the guest's failure."""
    rc_meaning = {0: "clean", 3: "timeout", 6: "kernel WARN/BUG/Oops in the guest log",
                  125: "runner failed (qemu or result transfer)", 2: "usage error"}
    detail = f"tools/vm exit {b.rc} ({rc_meaning.get(b.rc, 'guest script failed')})"
    if b.rc not in (0, 6):
        tail = "\n".join("      " + l for l in vm_output.strip().splitlines()[-20:])
        detail += f"; see {b.dir}/console.log\n{tail}"
    suite.check(f"[{b.label}] guest ran to completion and its kernel log is clean",
                b.rc == 0, detail)
    if b.rc == 6:
        for step, lines in splats_by_step(b).items():
            suite.check(f"[{b.label}] kernel log clean during step {step}", False,
                        "; ".join(lines[:5]))


def check_step(suite, b, name, want_rc=0):
    rc = b.step_rc(name)
    detail = f"exit {rc}, want {want_rc}"
    err = b.step_out(name, "err").strip()
    if rc != want_rc and err:
        detail += f"; stderr: {' | '.join(err.splitlines()[-6:])}"
    if rc is None:
        detail = "did not run (no exit status came back)"
    return suite.check(f"[{b.label}] `{name}` exits {want_rc}", rc == want_rc, detail)


def check_env(suite, b, name, kernel_612):
    try:
        env = b.step_json(name)
    except ValueError as e:
        suite.check(f"[{b.label}] {name}: env --json parses", False, str(e))
        return None
    L = f"[{b.label}] {name}:"
    suite.check(f"{L} arch aarch64", env.get("arch") == "aarch64", repr(env.get("arch")))
    suite.check(f"{L} page size 4K", env.get("page_size_bytes") == 4096,
                repr(env.get("page_size_bytes")))
    thp = env.get("thp", {})
    suite.check(f"{L} THP present, PMD order 9", thp.get("present") and
                thp.get("pmd_order") == 9, json.dumps(thp)[:200])
    anon_orders = sorted(s["order"] for s in thp.get("sizes", []) if s.get("anon"))
    if kernel_612:
        suite.check(f"{L} mTHP per-size controls with orders 2..9",
                    thp.get("per_size_controls") is True and
                    set(range(2, 10)) <= set(anon_orders),
                    f"per_size_controls={thp.get('per_size_controls')} anon orders {anon_orders}")
    else:
        suite.check(f"{L} no per-size mTHP controls (6.1)",
                    thp.get("per_size_controls") is False,
                    f"per_size_controls={thp.get('per_size_controls')} anon orders {anon_orders}")
    perf = env.get("perf", {})
    suite.check(f"{L} kprobe PMU present", perf.get("kprobe_pmu") is True,
                f"pmus {perf.get('pmus')}")
    virt = env.get("virtualization", {})
    suite.check(f"{L} virtualization.vm true", virt.get("vm") is True, json.dumps(virt))
    rel = env.get("kernel", {}).get("release", "")
    suite.check(f"{L} kernel release {'6.12' if kernel_612 else '6.1'}",
                rel.startswith("6.12." if kernel_612 else "6.1."), rel)
    return env


# -- results files ---------------------------------------------------------------

def validate_results(suite, label, doc, what):
    if testlib.SCHEMA.is_file():
        if testlib.jsonschema is None:
            suite.note("results/schema.json exists but python3-jsonschema is missing "
                       "(tools/install-deps); checked the structure only")
        else:
            errors = testlib.schema_errors(doc)
            suite.check(f"[{label}] {what} validates against results/schema.json",
                        not errors, "; ".join(e[:200] for e in errors[:5]))
    else:
        if not getattr(validate_results, "noted", False):
            suite.note("results/schema.json does not exist yet; checked the structure only")
            validate_results.noted = True
    ok = (isinstance(doc, dict) and isinstance(doc.get("context"), dict) and
          isinstance(doc.get("benchmarks"), list) and
          isinstance(doc.get("pgtbench"), dict) and
          isinstance(doc["pgtbench"].get("env"), dict) and
          isinstance(doc.get("entries"), list) and doc["entries"])
    suite.check(f"[{label}] {what} has context, benchmarks, pgtbench.env, entries", ok,
                f"top-level keys {sorted(doc) if isinstance(doc, dict) else type(doc)}")
    return ok


def step_results(suite, b, step, rel):
    """The results file a step wrote, once the step passed and the file came back whole and
    valid; None (each failure checked and named) otherwise."""
    if not check_step(suite, b, step):
        return None
    try:
        doc = b.file_json(rel)
    except (OSError, ValueError) as e:
        suite.check(f"[{b.label}] {rel} came back and parses", False, str(e))
        return None
    return doc if validate_results(suite, b.label, doc, rel) else None


def find_entry(doc, scenario, **params):
    for e in doc.get("entries", []):
        if e.get("scenario") != scenario:
            continue
        p = e.get("params", {})
        if all(p.get(k) == v for k, v in params.items()) and \
                ("map" in params or "map" not in p):
            return e
    return None


def check_counters(suite, label, doc, figures):
    """cycles counts, instructions is n/a with a reason (never 0), flush sites count and
    grow with the work, and the counter bracket's own cost is recorded."""
    L = f"[{label}] counters.json:"
    small = find_entry(doc, "munmap", order=0, size_bytes=16 << 20)
    large = find_entry(doc, "munmap", order=0, size_bytes=64 << 20)
    if not suite.check(f"{L} munmap 16M and 64M ran", small and large and
                       small["status"] == large["status"] == "ok",
                       json.dumps([e and {k: e[k] for k in ("name", "status", "reason")}
                                   for e in (small, large)])[:300]):
        return

    def counter(e, name):
        return e.get("counters", {}).get(name, {})

    cyc = counter(large, "cycles")
    suite.check(f"{L} cycles counted (emulated PMU)", cyc.get("available") and
                all(v and v > 0 for v in cyc.get("samples", [])), json.dumps(cyc)[:200])
    ins = counter(large, "instructions")
    suite.check(f"{L} instructions unavailable, with a reason, never a zero",
                ins.get("available") is False and ins.get("reason") and
                all(v is None for v in ins.get("samples", [None])), json.dumps(ins)[:200])
    fin_s, fin_l = counter_median(small, "tlb_flush_calls.tlb_finish_mmu"), \
        counter_median(large, "tlb_flush_calls.tlb_finish_mmu")
    suite.check(f"{L} tlb_finish_mmu: one call per munmap (kprobe PMU works)",
                fin_s == 1 and fin_l == 1, f"16M {fin_s}, 64M {fin_l}")
    pend_s, pend_l = counter_median(small, "tlb_flush_calls.flush_tlb_batched_pending"), \
        counter_median(large, "tlb_flush_calls.flush_tlb_batched_pending")
    suite.check(f"{L} flush_tlb_batched_pending grows with the size unmapped",
                pend_s is not None and pend_l is not None and pend_l > pend_s > 0,
                f"16M {pend_s}, 64M {pend_l}")
    null = next((e for e in doc["entries"] if e.get("scenario") == "null"), None)
    bracket = (null or {}).get("metrics", {}).get("counters_bracket_ns", {})
    suite.check(f"{L} the counter bracket's cost is recorded", bool(bracket.get("samples")),
                json.dumps(bracket)[:200])
    figures["munmap 16M order 0 flush_tlb_batched_pending"] = pend_s
    figures["munmap 64M order 0 flush_tlb_batched_pending"] = pend_l
    figures["counter bracket ns (median)"] = median(null or {}, "counters_bracket_ns")


def check_matrix(suite, b, kernel_612):
    """Every cell ran with a verified folio size or was skipped with a reason, the orders
    each kernel offers ran, and the THP settings are exactly as they were."""
    L = f"[{b.label}] matrix:"
    if check_step(suite, b, "thp-before") and check_step(suite, b, "thp-after"):
        before, after = b.step_out("thp-before"), b.step_out("thp-after")
        suite.check(f"{L} THP sysfs tree identical before and after",
                    before == after and before.strip() != "",
                    "; ".join(sorted(set(after.splitlines()) ^ set(before.splitlines())))[:300])
    doc = step_results(suite, b, "matrix", "matrix.json")
    if doc is None:
        return
    want = {0, 2, 3, 4, 5, 6, 7, 8, 9} if kernel_612 else {0, 9}
    bad, ran = [], {}
    for e in doc["entries"]:
        order = e["params"].get("order")
        if e["status"] == "skipped":
            if not e["reason"] or order in want:
                bad.append(f"{e['name']}: skipped ({e['reason']})")
            continue
        folio = (e.get("checks") or [{}])[0].get("folio", {})
        if e["status"] != "ok" or folio.get("method") != "kpageflags" or \
                folio.get("target_order") != order or folio.get("achieved_fraction") is None:
            bad.append(f"{e['name']}: {e['status']} {e['reason']} folio={folio.get('method')}")
            continue
        ran.setdefault(e["scenario"], set()).add(order)
        if folio.get("achieved_fraction") < 1:
            suite.note(f"{b.label} {e['name']}: only {folio['achieved_fraction']:.0%} at order {order}")
    suite.check(f"{L} every cell ran with a verified folio size or skipped with a reason",
                not bad, "; ".join(bad)[:400])
    for op in ("fault", "munmap", "cow"):
        suite.check(f"{L} {op} ran at orders {sorted(want)}", ran.get(op) == want,
                    f"ran {sorted(ran.get(op, []))}")


def check_fork_entry(suite, label, doc, order, mapping=None, reps=None):
    params = {"order": order}
    if mapping:
        params["map"] = mapping
    name = f"fork order {order}" + (f" map {mapping}" if mapping else "")
    e = find_entry(doc, "fork", **params)
    if not suite.check(f"[{label}] {name}: entry present", e is not None,
                       f"entries: {[x.get('name') for x in doc.get('entries', [])]}"):
        return None
    suite.check(f"[{label}] {name}: status ok", e.get("status") == "ok",
                f"status {e.get('status')!r}, reason {e.get('reason')!r}")
    fork = e.get("metrics", {}).get("fork_ms", {})
    samples = fork.get("samples", [])
    want_n = reps if reps is not None else e.get("reps")
    suite.check(f"[{label}] {name}: {want_n} fork_ms samples, all positive",
                len(samples) == want_n and all(isinstance(s, (int, float)) and s > 0
                                               for s in samples), f"samples {samples}")
    folios = [c.get("folio") for c in e.get("checks", []) if isinstance(c, dict)]
    bad = [f for f in folios if not (isinstance(f, dict) and f.get("ok") is True and
                                     f.get("target_order") == order and
                                     f.get("expect_pmd_mapped") == (mapping == "pmd"))]
    suite.check(f"[{label}] {name}: folio check per sample, all ok",
                len(folios) == len(samples) and folios and not bad,
                f"{len(folios)} checks for {len(samples)} samples; failing: "
                f"{json.dumps(bad[:1])[:300]}")
    return median(e, "fork_ms")


# ---------------------------------------------------------------------------
# The two boots
# ---------------------------------------------------------------------------

def check_env_kmod(suite, b, name, loaded):
    """The kmod part of `pgtbench env --json`: loaded and usable (the INFO handshake
    passed) or absent."""
    L = f"[{b.label}] {name}:"
    if not check_step(suite, b, name):
        return
    try:
        env = b.step_json(name)
    except ValueError as e:
        suite.check(f"{L} env --json parses", False, str(e))
        return
    kmod = env.get("kmod", {})
    if not loaded:
        suite.check(f"{L} kmod.loaded false", kmod.get("loaded") is False, json.dumps(kmod))
        return
    release = env.get("kernel", {}).get("release")
    suite.check(f"{L} kmod.loaded true", kmod.get("loaded") is True, json.dumps(kmod))
    suite.check(f"{L} kmod usable: ABI 1, 4K pages, NOP, release {release}",
                kmod.get("usable") is True and kmod.get("abi_version") == 1 and
                kmod.get("page_size_bytes") == 4096 and "nop" in kmod.get("caps", []) and
                kmod.get("release") == release, json.dumps(kmod))


def check_abi(suite, b, figures=None):
    rc = b.step_rc("abi-check")
    out = b.step_out("abi-check")
    failing = [l for l in out.splitlines() if "=FAIL" in l]
    summary = next((l for l in out.splitlines() if l.startswith("summary=")), "no summary")
    err = b.step_out("abi-check", "err").strip()
    detail = [f"exit {rc}"] + failing[:8] + ([f"stderr: {err[:300]}"] if err else [])
    suite.check(f"[{b.label}] kmod ABI check ({summary})", rc == 0 and not failing,
                "; ".join(detail))
    m = re.search(r"^nop_1000_total_ns=(\d+)", out, re.M)
    if m and figures is not None:
        figures["kmod NOP ioctl, 1000 loops: total_ns"] = int(m.group(1))


def check_612(suite, b, vm_output):
    L = f"[{b.label}]"
    check_boot_clean(suite, b, vm_output)
    figures = {}

    if check_step(suite, b, "env"):
        env = check_env(suite, b, "env", kernel_612=True)
        if env is not None:
            suite.check(f"{L} env: kmod not loaded at boot",
                        env.get("kmod", {}).get("loaded") is False, json.dumps(env.get("kmod")))

    if check_step(suite, b, "list-quick"):
        out = b.step_out("list-quick")
        m = re.search(r"^\s*skip\s+(kmod_nop\S*):\s*(.*)$", out, re.M)
        suite.check(f"{L} list quick.toml without the module: kmod_nop skipped, naming --kmod",
                    m is not None and "--kmod" in m.group(2),
                    m.group(0).strip() if m else "no skip line for kmod_nop")

    if check_step(suite, b, "quick"):
        try:
            doc = b.file_json("quick.json")
        except (OSError, ValueError) as e:
            suite.check(f"{L} quick.json came back and parses", False, str(e))
            doc = None
        if doc is not None and validate_results(suite, b.label, doc, "quick.json"):
            suite.check(f"{L} quick.json: pgtbench.env.arch aarch64",
                        doc["pgtbench"]["env"].get("arch") == "aarch64",
                        repr(doc["pgtbench"]["env"].get("arch")))
            for order, mapping, key in ((0, None, "fork order 0"),
                                        (9, "pmd", "fork order 9 pmd"),
                                        (9, "pte", "fork order 9 pte")):
                figures[key] = check_fork_entry(suite, b.label, doc, order, mapping, reps=3)
            null = next((e for e in doc["entries"] if e.get("scenario") == "null"), None)
            suite.check(f"{L} quick.json: null scenario ok",
                        null is not None and null.get("status") == "ok",
                        json.dumps(null)[:200] if null else "no null entry")
            nop = next((e for e in doc["entries"] if e.get("scenario") == "kmod_nop"), None)
            if nop is not None:  # quick.toml lists it; without --kmod it must skip
                suite.check(f"{L} quick.json: kmod_nop skipped without --kmod",
                            nop.get("status") == "skipped", json.dumps(nop)[:200])

    if check_step(suite, b, "list-order4"):
        out = b.step_out("list-order4")
        suite.check(f"{L} order 4 (64K mTHP) is runnable on 6.12",
                    re.search(r"^\s*run\s+fork/size:8M/order:4\s*$", out, re.M) is not None,
                    "; ".join(l.strip() for l in out.splitlines() if "order:4" in l))

    check_matrix(suite, b, kernel_612=True)

    if check_step(suite, b, "counters"):
        try:
            doc = b.file_json("counters.json")
            if validate_results(suite, b.label, doc, "counters.json"):
                check_counters(suite, b.label, doc, figures)
        except (OSError, ValueError, KeyError, TypeError) as ex:
            suite.check(f"{L} counters.json came back and parses", False, repr(ex))

    # pgtbench --kmod: loads, handshakes, unloads what it loaded.
    check_env_kmod(suite, b, "env-kmod-option", loaded=True)
    check_step(suite, b, "unloaded-after-env")
    if check_step(suite, b, "kmod-nop"):
        try:
            doc = b.file_json("kmod_nop.json")
            validate_results(suite, b.label, doc, "kmod_nop.json")
            entries = [x for x in doc["entries"] if x.get("scenario") == "kmod_nop"]
            bad = [x for x in entries if x.get("status") != "ok" or
                   not x.get("metrics", {}).get("ioctl_ns", {}).get("samples")]
            suite.check(f"{L} kmod_nop with --kmod: ok, with ioctl_ns samples",
                        entries and not bad and doc["pgtbench"]["env"]["kmod"].get("usable"),
                        json.dumps([{k: x.get(k) for k in ("name", "status", "reason")}
                                    for x in (bad or entries)])[:300])
            if entries and not bad:
                figures["kmod_nop ioctl_ns (median)"] = median(entries[0], "ioctl_ns")
        except (OSError, ValueError, KeyError, TypeError) as ex:
            suite.check(f"{L} kmod_nop.json came back and parses", False, repr(ex))
    check_step(suite, b, "unloaded-after-run")

    # insmod by hand: the ABI itself, and a harness that must leave it loaded.
    if check_step(suite, b, "insmod"):
        check_env_kmod(suite, b, "env-kmod", loaded=True)
        check_abi(suite, b, figures)
        check_env_kmod(suite, b, "env-kmod-preloaded", loaded=True)
        check_step(suite, b, "still-loaded")
        check_step(suite, b, "rmmod")
        check_env_kmod(suite, b, "env-after-rmmod", loaded=False)
        check_step(suite, b, "ctl-gone")
    return figures


def check_61(suite, b, vm_output):
    L = f"[{b.label}]"
    check_boot_clean(suite, b, vm_output)
    if check_step(suite, b, "env"):
        check_env(suite, b, "env", kernel_612=False)
    check_matrix(suite, b, kernel_612=False)

    if check_step(suite, b, "list-quick"):
        out = b.step_out("list-quick")
        for variant in ("fork/size:64M/order:0", "fork/size:64M/order:9/map:pmd",
                        "fork/size:64M/order:9/map:pte", "null"):
            suite.check(f"{L} list quick.toml: {variant} runnable",
                        re.search(rf"^\s*run\s+{re.escape(variant)}\s*$", out, re.M) is not None,
                        "; ".join(l.strip() for l in out.splitlines()
                                  if l.strip().startswith(("run", "skip"))))

    if check_step(suite, b, "list-order4"):
        out = b.step_out("list-order4")
        m = re.search(r"^\s*skip\s+fork/size:8M/order:4:\s*(.*)$", out, re.M)
        suite.check(f"{L} list order4.toml: order 4 skipped for the missing mTHP controls",
                    m is not None and "mTHP" in m.group(1),
                    m.group(1) if m else "no skip line for order 4")

    if check_step(suite, b, "run-order4"):
        try:
            doc = b.file_json("order4.json")
        except (OSError, ValueError) as e:
            suite.check(f"{L} order4.json came back and parses", False, str(e))
            doc = None
        if doc is not None and validate_results(suite, b.label, doc, "order4.json"):
            e4 = find_entry(doc, "fork", order=4)
            suite.check(f"{L} run order4.toml: order 4 skipped, reason names the mTHP controls",
                        e4 is not None and e4.get("status") == "skipped" and
                        "mTHP" in e4.get("reason", "") and not e4.get("metrics", {}).get(
                            "fork_ms", {}).get("samples"),
                        json.dumps({k: e4.get(k) for k in ("status", "reason")}) if e4
                        else "no order 4 entry")
            for order, mapping in ((0, None), (9, "pmd"), (9, "pte")):
                check_fork_entry(suite, b.label, doc, order, mapping, reps=2)

    # The module built against 6.1's headers.
    if check_step(suite, b, "insmod"):
        check_env_kmod(suite, b, "env-kmod", loaded=True)
        check_abi(suite, b)
        check_step(suite, b, "rmmod")


# ---------------------------------------------------------------------------

def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-root", required=True, type=Path,
                   help="the meson build directory (kernels and the cross build go inside)")
    args = p.parse_args(argv)
    build_root = args.build_root.resolve()
    start = time.monotonic()

    missing = [t for t in (QEMU, CROSS_CC, CROSS_CXX) if shutil.which(t) is None]
    if missing:
        print(f"guest-suite: SKIP: {', '.join(missing)} not installed "
              "(tools/install-deps --guest)", flush=True)
        return EXIT_SKIP

    out_dir = build_root / "guest-runs" / "last"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    cache = Path(os.environ.get("PGTBENCH_KERNEL_CACHE", build_root / "kernels")).resolve()
    suite = Suite()
    figures = {}
    boots = []
    try:
        kernels = fetch_kernels(cache, suite)
        kdir = Path(kernels["6.12"]["KDIR"])
        pgtbench, ko = cross_build(build_root, kdir, suite)
        abi_check = build_abi_check(out_dir, suite)
        ko_61 = build_kmod_61(out_dir, Path(kernels["6.1"]["KDIR"]), suite)
        order4 = out_dir / "order4.toml"
        order4.write_text(ORDER4_TOML)
        counters = out_dir / "counters.toml"
        counters.write_text(COUNTERS_TOML)
        matrix = out_dir / "matrix.toml"
        matrix.write_text(MATRIX_TOML)
        snapshot = out_dir / "thp-snapshot.sh"
        snapshot.write_text(THP_SNAPSHOT_SH)
        common = [(matrix, "/tests/matrix.toml"), (snapshot, "/tests/thp-snapshot.sh")]

        log("booting the 6.12 guest (quick run, kmod)")
        script, files = with_features(
            GUEST_612, out_dir, "6.12",
            [(abi_check, "/tests/kmod_abi_check"), (order4, "/tests/order4.toml"),
             (counters, "/tests/counters.toml")] + common)
        b, out = boot("6.12", kernels["6.12"]["IMAGE"], pgtbench, out_dir, script, files,
                      kmod=ko, swap=features_swap())
        boots.append(b)
        figures = check_612(suite, b, out)
        if b.ran("insmod"):
            check_features(suite, b, "6.12", figures)

        log("booting the 6.1 guest (no mTHP controls)")
        script, files = with_features(
            GUEST_61, out_dir, "6.1",
            [(abi_check, "/tests/kmod_abi_check"), (order4, "/tests/order4.toml")] + common)
        b, out = boot("6.1", kernels["6.1"]["IMAGE"], pgtbench, out_dir, script, files,
                      kmod=ko_61, swap=features_swap())
        boots.append(b)
        check_61(suite, b, out)
        if b.ran("insmod"):
            check_features(suite, b, "6.1", figures)
    except Fatal as e:
        suite.check("setup", False, str(e))
    except subprocess.TimeoutExpired as e:
        suite.check("setup", False, f"timed out: {shlex.join(map(str, e.cmd))}")

    total = time.monotonic() - start
    print("\n=== guest suite summary ===")
    for what, secs in suite.timings:
        print(f"  {what:<40} {secs:7.1f} s")
    for b in boots:
        t = b.timing
        print(f"  boot {b.label:<35} {b.seconds:7.1f} s  (boot to results "
              f"{t.get('boot_to_exit_s', float('nan')):.1f} s, init at "
              f"{t.get('guest_init_uptime_s', float('nan')):.1f} s, guest commands "
              f"{t.get('command_s', float('nan')):.1f} s)")
    print(f"  {'total':<40} {total:7.1f} s")
    if figures:
        print("  guest figures (6.12, emulated: TCG -cpu " + GUEST_CPU + "; not comparable "
              "with hardware):")
        for k, v in figures.items():
            if k.endswith(" ms") and isinstance(v, (int, float)):
                v = f"{v:.1f} ms"
            elif k.endswith("(s)") and isinstance(v, (int, float)):
                v = f"{v:.2f} s"
            elif k.endswith(" tlbi") and isinstance(v, (int, float)):
                v = f"{v:.0f} TLBIs"
            elif isinstance(v, float):
                v = f"{v:.3f} ms" if k.startswith("fork") else (f"{v:.0f} calls" if "flush" in k else f"{v:.0f} ns")
            print(f"    {k:<38} {v}")
    for n in suite.notes:
        print(f"  note: {n}")
    return suite.verdict(out_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
