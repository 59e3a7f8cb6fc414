#!/usr/bin/python3
"""The module where users load it: DKMS builds it, `--kmod pgtbench` finds it by name.

    tests/guest/test_kmod_install.py --build-root BUILDDIR

Run by `meson test -C BUILDDIR --suite guest` after guest-suite (it reuses its kernels
and cross build). On the host: `meson install` into a scratch DESTDIR gives
share/pgtbench/kmod, a DKMS source tree; `dkms add` and `dkms build --arch arm64` in
scratch DKMS trees build it against the fetched arm64 6.12 headers (nothing of the
machine's own DKMS state is touched); the module must be an aarch64 ELF whose vermagic
is that kernel's. It is installed, xz-compressed as kbuild compresses modules, into a
staging /lib/modules/<release>/updates/dkms and indexed there by the host's depmod -b,
and pgtbench.ko is also built for 6.1. One boot of the 6.12 guest then:
  by-name     `pgtbench env --json --kmod pgtbench`: found through modules.dep by libkmod,
              loaded (the ABI handshake passed), unloaded after
  by-file     `--kmod FILE.ko.xz`: a compressed file, loaded and unloaded
  wrong-rel   `--kmod` of the 6.1 build: exit 1, one line naming both releases
  not-ours    `--kmod` of another module's file: exit 2, one line
  env         `pgtbench env --json`: module signature enforcement, lockdown, Secure Boot
              and the config source reported (null where unknown)
Behaviour only: no timing is asserted. Exits 0 passed, 1 failed, 77 when qemu, the cross
compiler or dkms is missing.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import guest_suite as gs  # noqa: E402
from testlib import REPO  # noqa: E402

GUEST = gs.GUEST_PRELUDE + r"""
step by-name pgtbench env --json --kmod pgtbench
step unloaded-by-name test ! -e /sys/module/pgtbench
step by-file pgtbench env --json --kmod /tests/pgtbench.ko.xz
step unloaded-by-file test ! -e /sys/module/pgtbench
step wrong-rel pgtbench env --json --kmod /tests/pgtbench-6.1.ko
step not-ours pgtbench env --json --kmod /tests/test_vmalloc.ko
step env pgtbench env --json
echo "pgtbench-guest-test: step end" > /dev/kmsg
"""


def project_version(build_root):
    return json.loads((build_root / "meson-info/intro-projectinfo.json").read_text())["version"]


def dkms_build(build_root, out_dir, kver, kdir, suite):
    """pgtbench.ko built by DKMS from the installed source tree, in scratch trees."""
    dest = out_dir / "dest"
    gs.run([*gs.meson_cmd(), "install", "-C", build_root, "--no-rebuild", "--quiet",
            "--destdir", dest], "meson install into a scratch DESTDIR")
    kmod_src = next(dest.glob("**/share/pgtbench/kmod"))
    version = project_version(build_root)
    source_tree, dkms_tree = out_dir / "src", out_dir / "dkms"
    shutil.copytree(kmod_src, source_tree / f"pgtbench-{version}")
    dkms_tree.mkdir()  # dkms refuses a tree that is not there
    common = ["--sourcetree", source_tree, "--dkmstree", dkms_tree]
    gs.run(["dkms", "add", "-m", "pgtbench", "-v", version, *common], "dkms add")
    _, secs = gs.run(["dkms", "build", "-m", "pgtbench", "-v", version, "-k", kver, "-a", "arm64",
                      "--kernelsourcedir", kdir, *common], "dkms build (arm64 6.12)",
                     log_file=out_dir / "dkms-build.log", timeout=900)
    suite.timings.append(("dkms build for 6.12", secs))
    kos = list((dkms_tree / "pgtbench" / version / kver).glob("**/pgtbench.ko*"))
    return kos[0] if kos else None, version


def check_dkms_module(suite, ko, kver):
    if not suite.check("dkms build: pgtbench.ko built", ko is not None and ko.is_file(), str(ko)):
        return False
    head = ko.read_bytes()[:20]
    machine = int.from_bytes(head[18:20], "little") if len(head) == 20 else None
    info = subprocess.run(["modinfo", "-F", "vermagic", str(ko)], capture_output=True, text=True)
    vermagic = info.stdout.strip()
    return suite.check(f"dkms build: an aarch64 module for {kver}",
                       head[:4] == b"\x7fELF" and machine == 183 and vermagic.split(" ")[0] == kver,
                       f"ELF machine {machine}; vermagic {vermagic!r} {info.stderr.strip()}")


def stage_modules(out_dir, ko, kver):
    """/lib/modules/<kver>/updates/dkms/pgtbench.ko.xz and depmod's indexes, as files
    for the guest."""
    stage = out_dir / "stage"
    mod_dir = stage / "lib/modules" / kver
    (mod_dir / "updates/dkms").mkdir(parents=True)
    xz = mod_dir / "updates/dkms/pgtbench.ko.xz"
    subprocess.run(["xz", "--check=crc32", "--lzma2=dict=1MiB", "-c", str(ko)], check=True,
                   stdout=xz.open("wb"))
    gs.run(["depmod", "-b", stage, kver], "depmod -b the staging tree")
    return [(p, "/" + str(p.relative_to(stage))) for p in mod_dir.rglob("*") if p.is_file()], xz


def check_env_json(suite, b):
    L = f"[{b.label}] env:"
    if not gs.check_step(suite, b, "env"):
        return
    kernel = b.step_json("env").get("kernel", {})
    suite.check(f"{L} signature enforcement, lockdown and Secure Boot reported (or null), and "
                "the config's source",
                all(k in kernel for k in ("module_sig_enforce", "lockdown", "secure_boot",
                                          "config_source")) and
                kernel["module_sig_enforce"] in (True, False, None) and
                kernel["secure_boot"] in (True, False, None),
                json.dumps({k: kernel.get(k) for k in ("module_sig_enforce", "lockdown",
                                                       "secure_boot", "config_source")}))


def check_one_line(suite, b, step, rc, *needles):
    err = [line for line in b.step_out(step, "err").splitlines() if line.strip()]
    suite.check(f"[{b.label}] {step}: exit {rc}, one line naming {', '.join(needles)}",
                b.step_rc(step) == rc and len(err) == 1 and all(n in err[0] for n in needles),
                f"exit {b.step_rc(step)}; stderr {err}")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-root", required=True, type=Path)
    args = p.parse_args(argv)
    build_root = args.build_root.resolve()
    out_dir = gs.start_guest_test("test-kmod-install", build_root, tools=["xz", "dkms", "depmod", "modinfo"])
    if out_dir is None:
        return gs.EXIT_SKIP
    suite, figures = gs.Suite(), {}
    start = time.monotonic()
    try:
        cache, kernels, pgtbench, _ = gs.kernels_and_cross_build(build_root, suite)
        k = kernels["6.12"]
        ko, version = dkms_build(build_root, out_dir, k["KVER"], k["KDIR"], suite)
        figures["dkms module"] = f"pgtbench/{version} for {k['KVER']}"
        if check_dkms_module(suite, ko, k["KVER"]):
            files, xz = stage_modules(out_dir, ko, k["KVER"])
            ko_61 = gs.build_kmod_61(out_dir, Path(kernels["6.1"]["KDIR"]), suite)
            # libkmod names a module file after itself: any file will do.
            tv = out_dir / "test_vmalloc.ko"
            tv.write_bytes(b"not pgtbench\n")
            files += [(xz, "/tests/pgtbench.ko.xz"), (ko_61, "/tests/pgtbench-6.1.ko"), (tv, "/tests/test_vmalloc.ko")]
            b, vm_output = gs.boot("6.12", k["IMAGE"], pgtbench, out_dir, GUEST, files)
            suite.timings.append(("boot 6.12", b.seconds))
            gs.check_boot_clean(suite, b, vm_output)
            for step in ("by-name", "by-file"):
                gs.check_env_kmod(suite, b, step, loaded=True)
                gs.check_step(suite, b, f"unloaded-{step}")
            check_one_line(suite, b, "wrong-rel", 1, f"built for {kernels['6.1']['KVER']}",
                           f"this kernel is {k['KVER']}")
            check_one_line(suite, b, "not-ours", 2, "--kmod /tests/test_vmalloc.ko: that is module "
                           "test_vmalloc, not pgtbench")
            check_env_json(suite, b)
    except gs.Fatal as e:
        suite.check("setup", False, str(e))
    except (OSError, ValueError, KeyError, StopIteration, subprocess.SubprocessError) as e:
        suite.check("results came back and parse", False, repr(e)[:400])
    suite.print_summary("kmod install", time.monotonic() - start, figures, width=30)
    return suite.verdict(out_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
