#!/usr/bin/python3
"""Exact counts from the emulated arm64 machine: qemu-plugin's libpgtbench-count.so,
loaded by tools/vm --count, checked against what is known independently.

    tests/guest/test_emu.py --build-root BUILDDIR

Run by `meson test -C BUILDDIR --suite guest` after guest-suite (it reuses its kernels
and cross build). One counted boot of Debian's 6.12 guest runs:
  emu_loop 1000 100000    user-space loops of 2N instructions: insn_el0 exactly 2N
  kmod_nop, loops N, 2N   one NOP ioctl per window: the EL1 count grows by exactly 2N
                          (the module's loop body is two instructions)
  map_mem matrix          every strategy x granularity of the guest suite: the TLBI, DSB
                          and ISB counts of the part the module times (its markers)
                          equal the module's own counts, which the scenario has
                          checked against harness/map_mem_model
  munmap 16M..64M order 0 emulated TLBIs against the kprobe flush-site counts
and one uncounted boot runs the same munmap config: markers change nothing but the
windows recorded (same entries, statuses, metrics and counters, no emu.* counters).
Bad input: a plugin that is missing, one qemu refuses, bad plugin arguments and a
guest command that opens no window each end in one line and a non-zero exit.
Exits 0 passed, 1 failed, 77 when qemu, the cross compiler or the plugin is missing.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import guest_suite as gs  # noqa: E402
import testlib  # noqa: E402
from testlib import REPO  # noqa: E402

NOP_LOOPS = 10000
LOOP_NS = (1000, 100000)

NOP_TOML = f"""\
# tests/guest: one NOP ioctl per window, N and 2N loops.
[run]
reps = 5
warmup = 1
counters = false

[kmod_nop]
calls = 1
loops = [{NOP_LOOPS}, {2 * NOP_LOOPS}]
"""

# Three NOP ioctls in each window: the module's three marked parts add up.
NOP3_TOML = f"""\
# tests/guest: three NOP ioctls per window, N loops each.
[run]
reps = 3
warmup = 1
counters = false

[kmod_nop]
calls = 3
loops = {NOP_LOOPS}
"""

MUNMAP_TOML = """\
# tests/guest: munmap of 16M, 32M and 64M at order 0, with the flush-site counters.
[run]
reps = 3
warmup = 1

[munmap]
size = ["16M", "32M", "64M"]
order = [0]
"""

GUEST_COUNTED = gs.GUEST_PRELUDE + r"""
step loop /tests/emu_loop 1000 100000
step insmod insmod /lib/pgtbench/pgtbench.ko
step nop pgtbench run /tests/nop.toml --out /results/nop.json
step nop3 pgtbench run /tests/nop3.toml --out /results/nop3.json
step map-mem pgtbench run /tests/map_mem.toml --out /results/map_mem.json
step rmmod rmmod pgtbench
step munmap pgtbench run /tests/munmap.toml --out /results/munmap.json
"""

GUEST_UNCOUNTED = gs.GUEST_PRELUDE + r"""
step munmap pgtbench run /tests/munmap.toml --out /results/munmap.json
"""


def vm(out_dir, label, image, pgtbench, extra, timeout=gs.BOOT_TIMEOUT_S + 120):
    cmd = ["/usr/bin/python3", REPO / "tools/vm", "--kernel", f"{label}={image}",
           "--pgtbench", pgtbench, "--cpu", gs.GUEST_CPU, "--timeout", str(gs.BOOT_TIMEOUT_S),
           "--out-dir", out_dir] + extra
    gs.log(f"{label}: {' '.join(str(c) for c in cmd)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    r = subprocess.run([str(c) for c in cmd], env=gs.child_env(), text=True,
                       capture_output=True, timeout=timeout)
    (out_dir / f"{label}.vm.log").write_text(r.stdout + r.stderr)
    return r, time.monotonic() - t


def window_log(path):
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def emu(entry, name):
    return entry["counters"].get(name, {}).get("samples", [])


def dsb_total(entry, rep, prefix="emu."):
    return sum(c["samples"][rep] for n, c in entry["counters"].items()
               if n.startswith(prefix + "dsb."))


def check_loop(suite, b, log):
    windows = [w for w in log if w.get("event") == "window" and w.get("session") == "e1007e57"]
    got = [w["insn_el0"] for w in windows]
    want = [2 * n for n in LOOP_NS for _ in range(3)]
    suite.check("[emu] a user-space loop of N iterations counts exactly 2N EL0 instructions",
                gs.check_step(suite, b, "loop") and got == want, f"got {got}, want {want}")


def check_nop(suite, b):
    doc = b.file_json("nop.json")
    by_loops = {e["params"]["loops"]: e for e in doc["entries"] if e["scenario"] == "kmod_nop"}
    n, n2 = by_loops.get(NOP_LOOPS), by_loops.get(2 * NOP_LOOPS)
    if not suite.check("[emu] kmod_nop ran with N and 2N loops", n and n2 and
                       n["status"] == n2["status"] == "ok", json.dumps(list(by_loops))):
        return None
    # The module marks its loop: that part is exactly 2 instructions an iteration (plus
    # the loop's setup), whatever the ioctl path around it does.
    el1_n, el1_2n = emu(n, "emu.module.insn_el1"), emu(n2, "emu.module.insn_el1")
    suite.check(f"[emu] NOP ioctl: the module's EL1 instructions grow by exactly 2 x {NOP_LOOPS} "
                "from N to 2N loops, identical in every repetition",
                len(set(el1_n)) == 1 and len(set(el1_2n)) == 1 and
                el1_2n[0] - el1_n[0] == 2 * NOP_LOOPS, f"N: {el1_n}, 2N: {el1_2n}")
    suite.check("[emu] NOP ioctl: the module issues no TLBI, DSB or ISB of its own",
                all(v == 0 for v in n["metrics"]["tlbi_count"]["samples"]), "")
    return el1_n


def check_nop3(suite, b, el1_one):
    """Three module calls in one window: three marked parts, summed."""
    doc = b.file_json("nop3.json")
    e = next((e for e in doc["entries"] if e["scenario"] == "kmod_nop"), None)
    el1 = emu(e, "emu.module.insn_el1") if e else []
    suite.check("[emu] three NOP ioctls in one window: the module's part is exactly three "
                "times one call's", e and e["status"] == "ok" and el1_one and
                el1 == [3 * el1_one[0]] * len(el1), f"3 calls: {el1}, 1 call: {el1_one}")


def check_map_mem(suite, b):
    """TLBIs: equal in every variant. DSB and ISB: equal where nothing else happened inside
    the module's part (a context switch issues its own: __switch_to's dsb ish...)."""
    doc = b.file_json("map_mem.json")
    entries = [e for e in doc["entries"] if e["scenario"] == "map_mem" and e["status"] == "ok"]
    bad, switched = [], 0
    for e in entries:
        for rep in range(len(e["metrics"]["tlbi_count"]["samples"])):
            module = {k: e["metrics"][f"{k}_count"]["samples"][rep] for k in ("tlbi", "dsb", "isb")}
            plugin = {"tlbi": emu(e, "emu.module.tlbi")[rep],
                      "dsb": dsb_total(e, rep, "emu.module."),
                      "isb": emu(e, "emu.module.isb")[rep]}
            if emu(e, "emu.module.context_switches")[rep] or emu(e, "emu.module.irq_entries")[rep]:
                switched += 1
                plugin = {"tlbi": plugin["tlbi"]}
                module = {"tlbi": module["tlbi"]}
            if plugin != module:
                bad.append(f"{e['name']}: plugin {plugin} module {module}")
    suite.check(f"[emu] map_mem replay ({len(entries)} variants, {switched} with an interrupt or "
                "a context switch, where only TLBIs are compared): the plugin's TLBI/DSB/ISB "
                "counts equal the module's and the model's",
                entries and not bad and switched < len(entries) / 2,
                "; ".join(bad[:4]) + (f" (+{len(bad) - 4})" if len(bad) > 4 else ""))


def modal(xs):
    """The most frequent value (the smallest of equals); None for no values."""
    return min(set(xs), key=lambda x: (-xs.count(x), x)) if xs else None


def check_munmap(suite, b, figures):
    """With FEAT_TLBIRANGE (-cpu max) TLBIs follow the mmu_gather's flushes, not the
    pages: a flush of a range is a handful of range TLBIs whatever its length. 16M and
    32M, one gather flush each (tlb_finish_mmu, no tlb_flush_mmu), issue one rvale1is
    (tlb_end_vma's last-level flush at the end of the VMA: arm64 does not merge VMAs in
    a gather) and one rvae1is (tlb_finish_mmu's, the page tables freed); 64M, whose
    gather fills once (one tlb_flush_mmu more), issues more.

    Now and then (6 of 400 windows in one boot, in 16M and 32M alike) a window has one
    or two rvae1is more, issued by the window's own task at the very instruction of
    tlb_finish_mmu's flush (mm/mmu_gather.c's tlb_flush) without another call of either
    probed site: the page-table freeing flushing on its own, which tlb_remove_table does
    when the GFP_NOWAIT page for its batch is refused. The kernel did issue them, so the
    counts stay exact; what is pinned is every sample's rvale1is, the rvae1is of most
    samples, and that the extra ones are only ever rvae1is."""
    doc = b.file_json("munmap.json")
    es = {mb: gs.find_entry(doc, "munmap", order=0, size_bytes=mb << 20) for mb in (16, 32, 64)}
    if not suite.check("[emu] munmap 16M, 32M and 64M ran",
                       all(e and e["status"] == "ok" for e in es.values()), ""):
        return
    flushes, tlbi, rvae = {}, {}, {}
    for mb, e in es.items():
        calls = [e["counters"].get(f"tlb_flush_calls.{s}", {}).get("samples") or [None]
                 for s in ("tlb_finish_mmu", "tlb_flush_mmu")]
        flushes[mb] = [a + b if a is not None and b is not None else None
                       for a, b in zip(*calls)]
        tlbi[mb] = emu(e, "emu.tlbi")
        rvae[mb] = emu(e, "emu.tlbi.rvae1is")
        figures[f"munmap {mb}M order 0: emu.tlbi / mmu_gather flushes"] = (tlbi[mb], flushes[mb])
    small = (16, 32)
    one_flush = all(flushes[mb] == [1] * len(flushes[mb]) for mb in small)
    leaf = all(emu(es[mb], "emu.tlbi.rvale1is") == [1] * len(tlbi[mb]) for mb in small)
    # Every TLBI beyond the rvale1is is an rvae1is, at least one, one in most samples.
    tables = all(rvae[mb] and all(t == 1 + r and r >= 1 for t, r in zip(tlbi[mb], rvae[mb])) and
                 rvae[mb].count(1) * 2 > len(rvae[mb]) for mb in small)
    suite.check("[emu] munmap 16M and 32M: one gather flush each, the same TLBIs (1 rvale1is + "
                "1 rvae1is, an extra rvae1is only from the page-table freeing's own flush): "
                "range TLBIs do not scale with the size",
                one_flush and leaf and tables, f"flushes {flushes}, tlbi {tlbi}, rvae1is {rvae}")
    suite.check("[emu] munmap 64M: one gather flush more, more TLBIs",
                all(f == 2 for f in flushes[64]) and tlbi[32] and
                min(tlbi[64]) > modal(tlbi[32]), f"flushes {flushes[64]}, tlbi {tlbi[64]}")


def check_markers_change_nothing(suite, counted, plain):
    def shape(doc):
        return [(e["name"], e["status"], sorted(e["metrics"]),
                 sorted(k for k in e["counters"] if "emu." not in k), len(e.get("emu_windows", [])))
                for e in doc["entries"]]
    suite.check("[emu] without the plugin the run is as before: same entries, statuses, metrics "
                "and counters, windows recorded, no emulator counts",
                shape(counted) == shape(plain) and plain["pgtbench"].get("emu_session") and
                not any("emu." in k for e in plain["entries"] for k in e["counters"]),
                f"{shape(counted)} vs {shape(plain)}"[:400])


def check_bad_input(suite, out_dir, image, pgtbench, plugin):
    def one_line(r):
        lines = [l for l in r.stderr.strip().splitlines() if "error" in l.lower()]
        return len(lines) == 1, r.stderr.strip()[-300:]

    r, _ = vm(out_dir / "missing", "missing", image, pgtbench,
              ["--plugin", out_dir / "no-such-plugin.so", "--", "true"], timeout=60)
    ok, text = one_line(r)
    suite.check("[emu] a missing plugin: exit 2 and one line", r.returncode == 2 and ok and
                "not found" in r.stderr, text)
    foreign = next(Path(p) for p in ("/usr/lib/x86_64-linux-gnu/libm.so.6",
                                      "/lib/x86_64-linux-gnu/libm.so.6") if Path(p).is_file())
    r, _ = vm(out_dir / "refused", "refused", image, pgtbench,
              ["--plugin", foreign, "--", "true"], timeout=120)
    suite.check("[emu] a plugin qemu refuses: exit 125 and one line naming the plugin",
                r.returncode == 125 and "refused the plugin" in r.stderr and
                sum("ERROR" in l for l in r.stderr.splitlines()) == 1, r.stderr.strip()[-300:])
    for arg, needle in (("out=/tmp/x,bogus=1", "unknown argument 'bogus=1'"),
                        ("", "no out=PATH")):
        spec = f"{plugin},{arg}" if arg else str(plugin)
        q = subprocess.run([gs.QEMU, "-M", "virt", "-nographic", "-nodefaults", "-plugin", spec],
                           capture_output=True, text=True, timeout=60)
        suite.check(f"[emu] plugin argument {arg or '(none)'}: qemu exits non-zero, the plugin "
                    "says why in one line", q.returncode != 0 and
                    sum("pgtbench-count:" in l for l in q.stderr.splitlines()) == 1 and
                    needle in q.stderr, q.stderr.strip()[-300:])
    r, _ = vm(out_dir / "nowindows", "nowindows", image, pgtbench,
              ["--count", "--", "pgtbench", "env", "--json"])
    suite.check("[emu] a guest command without counting windows: exit 125 and one line",
                r.returncode == 125 and "opened no counting windows" in r.stderr,
                r.stderr.strip()[-300:])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-root", required=True, type=Path)
    args = p.parse_args(argv)
    build_root = args.build_root.resolve()
    plugin = build_root / "qemu-plugin" / "libpgtbench-count.so"
    out_dir = gs.start_guest_test("test-emu", build_root, files=[plugin])
    if out_dir is None:
        return gs.EXIT_SKIP
    suite, figures = gs.Suite(), {}
    start = time.monotonic()
    try:
        cache = Path(os.environ.get("PGTBENCH_KERNEL_CACHE", build_root / "kernels")).resolve()
        kernels = gs.fetch_kernels(cache, suite)
        pgtbench, ko = gs.cross_build(build_root, Path(kernels["6.12"]["KDIR"]), suite)
        loop = out_dir / "emu_loop"
        gs.run([gs.CROSS_CC, "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-static",
                "-I", REPO / "qemu-plugin", "-o", loop, REPO / "tests/guest/emu_loop.c"],
               "build emu_loop (static)")
        files = []
        for name, text in (("nop.toml", NOP_TOML), ("nop3.toml", NOP3_TOML),
                           ("munmap.toml", MUNMAP_TOML),
                           ("map_mem.toml", gs.feature_map_mem.MATRIX_TOML)):
            (out_dir / name).write_text(text)
            files += ["--file", f"{out_dir / name}:/tests/{name}"]
        image = kernels["6.12"]["IMAGE"]
        for label, script, extra in (("counted", GUEST_COUNTED, ["--count", "--kmod", ko]),
                                     ("plain", GUEST_UNCOUNTED, [])):
            (out_dir / f"{label}.sh").write_text(script)
            r, secs = vm(out_dir, label, image, pgtbench,
                         files + ["--file", f"{loop}:/tests/emu_loop",
                                  "--file", f"{out_dir / label}.sh:/tests/guest.sh"] + extra +
                         ["--", "sh", "/tests/guest.sh"])
            suite.timings.append((f"boot {label}", secs))
            suite.check(f"[emu] {label} boot: tools/vm exit 0", r.returncode == 0,
                        r.stderr.strip()[-400:])
        counted = gs.Boot("counted", out_dir, 0, 0)
        plain = gs.Boot("plain", out_dir, 0, 0)
        log = window_log(counted.dir / "emu-windows.jsonl")
        check_loop(suite, counted, log)
        el1_one = check_nop(suite, counted) if gs.check_step(suite, counted, "nop") else None
        if gs.check_step(suite, counted, "nop3"):
            check_nop3(suite, counted, el1_one)
        if gs.check_step(suite, counted, "map-mem"):
            check_map_mem(suite, counted)
        if gs.check_step(suite, counted, "munmap"):
            check_munmap(suite, counted, figures)
        if gs.check_step(suite, plain, "munmap") and counted.ran("munmap"):
            check_markers_change_nothing(suite, counted.file_json("munmap.json"),
                                         plain.file_json("munmap.json"))
        check_bad_input(suite, out_dir, image, pgtbench, plugin)
    except gs.Fatal as e:
        suite.check("setup", False, str(e))
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
        suite.check("results came back and parse", False, repr(e)[:400])
    suite.print_summary("emulator counts", time.monotonic() - start, figures)
    return suite.verdict(out_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
