#!/usr/bin/python3
"""`pgtbench stack --git`: a three-commit stack on Debian's linux-source-6.12, built,
booted interleaved and compared, with the emulator's exact counts.

    tests/guest/test_stack.py --build-root BUILDDIR

The tree is Debian's linux-source-6.12 (tools/fetch-kernel --source) committed as
  base     the tree as Debian ships it
  flush    one extra flush_tlb_all() at the start of tlb_finish_mmu(): every munmap
           issues exactly one more TLBI VMALLE1IS, DSB ISHST, DSB ISH and ISB
  revert   git revert of flush
and, on a branch above revert, two stages that must fail without stopping the others:
  break    a compile error in mm/mmu_gather.c (the stage does not build)
  panic    panic() in kernel_init() once the console is up (the kernel panics at boot)
Checks: the main stack (allnoconfig + the guest fragment, --count, 2 rounds) exits 0
with a results file per stage; the munmap's emulated TLBIs (VMALLE1IS) and DSB ISHSTs
are exactly +1 at flush and back to base at revert, in every sample (its other TLBIs, DSB ISH and ISB
also count the context switches a munmap sometimes takes), and compare says so; the stages after the first
were incremental builds of a few objects; the boots were interleaved (the results
files' run records); kmod_nop ran in every stage with the module built against it. The
failure stack exits 1, names the stage that did not build (its log kept) and the one
that panicked (a table row saying why), and still measures the good one. --kernel stages
(Debian's 6.12 with --kdir, the base Image without) shuffled with a seed boot in the order
the seed gives, with the module where --kdir built it. Bad input (a range that is not
one, a reversed range, a dirty tree, a config that is not arm64) is one line and exit 2
before anything is built.
Exits 0 passed, 1 failed, 77 when qemu, the cross compiler, make's tools or the plugin
are missing.
"""

import argparse
import json
import os
import re
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

sys.path.insert(0, str(REPO / "tools"))
from pgtbench_vm.stack_plan import boot_order  # noqa: E402

# Bumped whenever the commits below change: a tree with another tag is rebuilt.
TREE_TAG = "pgtbench-stack-test-v2"
FLUSH_LINE = ("\t/* pgtbench stack test: one extra broadcast TLB flush per unmap. */\n"
              "\tflush_tlb_all();\n")
PANIC_LINE = '\tpanic("pgtbench stack test: this stage panics at boot");\n'

STACK_TOML = """\
# tests/guest: the stack test's config - munmap, where the patch adds a flush; fork,
# where it does not; the module's NOP ioctl, built per stage.
[run]
reps = 4
warmup = 0

[munmap]
size = "16M"
order = [0]

[fork]
size = "16M"
order = [0]

[kmod_nop]
loops = 1000
"""


def git(tree, *args, **kw):
    return subprocess.run(["git", "-C", str(tree), "-c", "user.name=pgtbench test",
                           "-c", "user.email=test@pgtbench.invalid", *args],
                          check=True, capture_output=True, text=True, **kw).stdout.strip()


def edit(path, after, insert):
    """Inserts `insert` after the first line matching the regex `after`."""
    text = path.read_text()
    m = re.search(after, text, re.M)
    if not m:
        raise gs.Fatal(f"{path}: no line matching {after!r} (another linux-source?)")
    end = text.index("\n", m.end()) + 1
    path.write_text(text[:end] + insert + text[end:])


def make_tree(tarball, tree):
    """The test's kernel tree, made once (about 2 minutes) and reused while its tag is."""
    if (tree / ".git").is_dir():
        try:
            git(tree, "rev-parse", "--verify", f"refs/tags/{TREE_TAG}")
            git(tree, "checkout", "-q", "--force", "main")
            return
        except subprocess.CalledProcessError:
            pass
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    t = time.monotonic()
    gs.run(["tar", "-xf", tarball, "-C", tree, "--strip-components=1"], "unpack linux-source",
           timeout=900)
    git(tree, "init", "-q", "-b", "main")
    # Debian's .gitignore ignores the whole top level: force-add the tree as shipped.
    git(tree, "add", "-A", "-f")
    git(tree, "commit", "-q", "-m", "base: Debian's linux-source-6.12")
    git(tree, "tag", "stack-base")
    edit(tree / "mm/mmu_gather.c", r"^void tlb_finish_mmu\(struct mmu_gather \*tlb\)\n\{", FLUSH_LINE)
    git(tree, "commit", "-q", "-a", "-m", "mm: flush the whole TLB once more in tlb_finish_mmu")
    git(tree, "tag", "stack-flush")
    git(tree, "revert", "--no-edit", "HEAD")
    git(tree, "tag", "stack-revert")
    git(tree, "checkout", "-q", "-b", "failures")
    edit(tree / "mm/mmu_gather.c", r"^void tlb_finish_mmu\(struct mmu_gather \*tlb\)\n\{",
         "\tthis_does_not_compile();\n")
    git(tree, "commit", "-q", "-a", "-m", "mm: a stage that does not build")
    git(tree, "revert", "--no-edit", "HEAD")
    # After the drivers' initcalls, so that the console is up and shows the panic.
    edit(tree / "init/main.c", r"^\tkernel_init_freeable\(\);", PANIC_LINE)
    git(tree, "commit", "-q", "-a", "--amend", "-m", "init: a stage that panics at boot")
    git(tree, "tag", "stack-panic")
    git(tree, "checkout", "-q", "main")
    git(tree, "tag", TREE_TAG)
    gs.log(f"made the stack test's tree in {time.monotonic() - t:.0f} s")


def stack(args, out_dir, what, timeout=3600):
    cmd = [os.environ["PGTBENCH"], "stack", *[str(a) for a in args]]
    gs.log(f"{what}: {' '.join(cmd)}")
    t = time.monotonic()
    r = subprocess.run(cmd, env=gs.child_env(), text=True, capture_output=True, timeout=timeout)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{what}.log").write_text(f"$ {' '.join(cmd)}\n{r.stdout}\n--- stderr\n{r.stderr}")
    return r, time.monotonic() - t


def counter(entry, name):
    return entry["counters"].get(name, {}).get("samples", [])


def check_main(suite, r, out_dir, labels, figures):
    suite.check("[stack] the three-commit stack exits 0", r.returncode == 0,
                r.stderr.strip()[-800:])
    state = json.loads((out_dir / "stack.json").read_text())
    stages = state["stages"]
    suite.check("[stack] stages are BASE and each commit after it, labelled by short hash and "
                "subject", [s["label"] for s in stages] == labels and
                all(re.fullmatch(r"[0-9a-f]{7,}-\S+", l) for l in labels), str(labels))
    docs = {}
    for s in stages:
        path = out_dir / "results" / f"{s['label']}.json"
        if suite.check(f"[stack] {s['label']}: a results file", path.is_file(), str(path)):
            docs[s["label"]] = json.loads(path.read_text())
    if len(docs) != 3:
        return
    base, flush, revert = (docs[l] for l in labels)

    # Builds: one from scratch (or its cache), then two incremental ones of a few objects.
    builds = [s["build"] for s in stages]
    figures["builds (kind, s, objects)"] = [(b["kind"], b["seconds"], b["objects_compiled"])
                                            for b in builds]
    suite.check("[stack] the second and third builds were incremental: mm/mmu_gather.o "
                "recompiled, a handful of objects in all",
                all(b["kind"] == "incremental" and "mm/mmu_gather.o" in b["compiled"] and
                    b["objects_compiled"] <= 12 for b in builds[1:]),
                json.dumps([(b["kind"], b["objects_compiled"], b["compiled"][:12])
                            for b in builds]))
    suite.check("[stack] every fragment symbol made it into the config",
                all(not b["config_missing"] for b in builds),
                json.dumps([b["config_missing"] for b in builds]))

    # Interleaving, from what the results files recorded.
    boots = {l: [run["boot"] for run in d["pgtbench"].get("runs", [])] for l, d in docs.items()}
    suite.check("[stack] boots interleaved: stage i booted as boots i and i+3 (rounds 1, 2)",
                [boots[l] for l in labels] == [[0, 3], [1, 4], [2, 5]], json.dumps(boots))
    munmaps = [gs.find_entry(d, "munmap", order=0, size_bytes=16 << 20) for d in (base, flush, revert)]
    if not suite.check("[stack] munmap ran in every stage, 4 samples each, 2 from each boot",
                       all(e and e["status"] == "ok" and e.get("sample_runs") == [0, 0, 1, 1]
                           for e in munmaps), json.dumps([e and e.get("sample_runs") for e in munmaps])):
        return
    counts = {n: [counter(e, n) for e in munmaps] for n in
              ("emu.tlbi.vmalle1is", "emu.tlbi", "emu.dsb.ishst", "emu.dsb.ish", "emu.isb",
               "emu.context_switches")}
    figures["munmap 16M emulated (base, flush, revert)"] = counts
    b, f, v = counts["emu.tlbi.vmalle1is"]
    tb, tf, tv = counts["emu.tlbi"]
    # The munmap's other TLBIs are not the same in every sample (one base run had 9, 9, 9
    # and 2, the 2 with no context switch, while its VMALLE1IS and DSB ISHST stayed
    # exact): the flush's signature is the VMALLE1IS, pinned in every sample.
    suite.check("[stack] flush stage: every munmap issues exactly one TLBI VMALLE1IS, base and "
                "revert none; flush's other TLBIs are kinds base issues too",
                len(b) == 4 and b == v == [0] * 4 and f == [1] * 4 and len(tb) == len(tf) == len(tv) == 4 and
                all(t >= 1 for t in tf) and all(t - 1 <= max(tb + tv) for t in tf), json.dumps(counts))
    # flush_tlb_all()'s DSB ISHST is the only barrier of its kind in the munmap path; DSB ISH
    # and ISB are also issued by the context switches an emulated munmap sometimes takes
    # (emu.context_switches), whose barriers vary with the task switched to.
    sb, sf, sv = counts["emu.dsb.ishst"]
    suite.check("[stack] flush stage: exactly one more DSB ISHST than base in every munmap; "
                "revert: exactly base's", len(set(sb)) == 1 and sf == [x + 1 for x in sb] and
                sv == sb, json.dumps(counts))
    forks = [gs.find_entry(d, "fork", order=0, size_bytes=16 << 20) for d in (base, flush, revert)]
    suite.check("[stack] fork (no tlb_finish_mmu in the parent) issues no TLBI VMALLE1IS in any stage",
                all(e and counter(e, "emu.tlbi.vmalle1is") == [0] * 4 for e in forks),
                json.dumps([e and counter(e, "emu.tlbi.vmalle1is") for e in forks]))
    nops = [gs.find_entry(d, "kmod_nop") for d in (base, flush, revert)]
    suite.check("[stack] kmod_nop ran in every stage (pgtbench.ko built against each tree)",
                all(e and e["status"] == "ok" for e in nops),
                json.dumps([e and (e["status"], e["reason"]) for e in nops]))

    table = (out_dir / "table.txt").read_text() if (out_dir / "table.txt").is_file() else ""
    rows = [l.split("|")[0].strip() for l in table.splitlines() if "|" in l]
    suite.check("[stack] the table has a row per stage in stack order and shows emu.tlbi",
                all(l in rows for l in labels) and
                [rows.index(l) for l in labels] == sorted(rows.index(l) for l in labels) and
                "emu.tlbi" in table, table[-1500:])
    suite.check("[stack] the plot was drawn", (out_dir / "stack.png").is_file(), "")
    cmp = subprocess.run([os.environ["PGTBENCH"], "compare", *[out_dir / "results" / f"{l}.json"
                                                              for l in labels],
                          "--metric", "emu.dsb.ishst", "--format", "json"], capture_output=True, text=True)
    try:
        doc = json.loads(cmp.stdout)
        col = next(i for i, c in enumerate(doc["columns"]) if c["scenario"] == "munmap")
        change = {c["row"]: c["change"]["percent"] for c in doc["cells"] if c["column"] == col}
    except (ValueError, KeyError, StopIteration) as e:
        suite.check("[stack] compare --format json of the stage files parses", False,
                    f"{e!r}: {cmp.stderr[-300:]}")
        return
    # DSB ISHST, exact in every sample (above), so its mean moves by exactly one.
    figures["compare --metric emu.dsb.ishst, munmap: % change per row"] = change
    ishst = counters_of(munmaps, "emu.dsb.ishst")
    suite.check("[stack] compare: munmap's emu.dsb.ishst changes by exactly 1/base at flush and 0% "
                "at revert", abs(change.get(1, 0) - 100.0 / ishst[0]) < 1e-6 and change.get(2) == 0,
                json.dumps(change))


def counters_of(entries, name):
    return [counter(e, name)[0] for e in entries]


def check_failures(suite, r, out_dir, labels):
    revert, broken, panics = labels
    suite.check("[stack] a stack with a stage that does not build and one that panics exits 1",
                r.returncode == 1, f"exit {r.returncode}: {r.stderr.strip()[-600:]}")
    errors = [l for l in r.stderr.splitlines() if "ERROR" in l]
    build_err = [l for l in errors if f"[{broken}]" in l and "build failed" in l]
    suite.check("[stack] the stage that does not build: one line naming it and its kept log",
                len(build_err) == 1 and "this_does_not_compile" in build_err[0], "\n".join(errors))
    state = json.loads((out_dir / "stack.json").read_text())
    by = {s["label"]: s for s in state["stages"]}
    log_path = Path(by.get(broken, {}).get("log", "/nonexistent"))
    suite.check("[stack] its build log is kept", log_path.is_file() and
                "this_does_not_compile" in log_path.read_text(errors="replace"), str(log_path))
    suite.check("[stack] the stage that panics is marked failed with the panic",
                by.get(panics, {}).get("status") == "failed" and
                "panic" in by[panics].get("reason", ""), json.dumps(by.get(panics))[:500])
    suite.check("[stack] the good stage was still measured",
                by.get(revert, {}).get("status") == "measured" and
                (out_dir / "results" / f"{revert}.json").is_file(), json.dumps(by.get(revert))[:300])
    table = (out_dir / "table.txt").read_text() if (out_dir / "table.txt").is_file() else ""
    suite.check("[stack] the table has a row for each failed stage saying why",
                all(re.search(rf"^{re.escape(l)}\s.*n/a", table, re.M) for l in (broken, panics))
                and f"{panics}: not measured" in table and "panic" in table, table[-1500:])


def check_kernels(suite, r, out_dir, labels):
    """--kernel stages: Debian's 6.12 with --kdir (the module built against its headers) and
    the stack's base Image without one; shuffled with a recorded seed."""
    suite.check("[stack] --kernel stages, one with --kdir, shuffled: exit 0", r.returncode == 0,
                r.stderr.strip()[-600:])
    state = json.loads((out_dir / "stack.json").read_text())
    order = [b["stage"] for b in state.get("boots", [])]
    want = [labels[b.stage] for b in boot_order(len(labels), 2, "shuffle", state.get("seed"))]
    suite.check("[stack] the shuffled boot order is the one its recorded seed gives",
                state.get("order") == "shuffle" and state.get("seed") == 7 and order == want,
                f"{order} vs {want}")
    docs = {l: json.loads((out_dir / "results" / f"{l}.json").read_text()) for l in labels
            if (out_dir / "results" / f"{l}.json").is_file()}
    nop = {l: gs.find_entry(d, "kmod_nop") for l, d in docs.items()}
    suite.check("[stack] kmod_nop ran where --kdir built the module and is skipped, naming it, "
                "where none was given", len(nop) == 2 and nop["debian"]["status"] == "ok" and
                nop["base"]["status"] == "skipped" and "pgtbench.ko" in nop["base"]["reason"],
                json.dumps({l: e and (e["status"], e["reason"]) for l, e in nop.items()}))


def check_bad_input(suite, tree, pgtbench, toml, out_dir):
    def refused(what, args, needle):
        r, _ = stack(args + ["--config", toml, "--rounds", "2", "--pgtbench", pgtbench], out_dir,
                     re.sub(r"\W+", "-", what), timeout=300)
        lines = r.stderr.strip().splitlines()
        suite.check(f"[stack] {what}: exit 2, one line ({needle!r})",
                    r.returncode == 2 and len(lines) == 1 and needle in lines[0],
                    f"exit {r.returncode}: {r.stderr.strip()[-400:]}")

    refused("a range naming no commit", ["--git", tree, "--commits", "stack-base..no-such-tip",
                                         "--kconfig", "allnoconfig"], "is not a commit")
    refused("a reversed range", ["--git", tree, "--commits", "stack-revert..stack-base",
                                 "--kconfig", "allnoconfig"], "is not an ancestor")
    refused("not a range", ["--git", tree, "--commits", "stack-base", "--kconfig", "allnoconfig"],
            "expected BASE..TIP")
    x86 = out_dir / "x86.config"
    x86.write_text("CONFIG_X86_64=y\nCONFIG_X86=y\nCONFIG_64BIT=y\n")
    refused("a config that is not arm64", ["--git", tree, "--commits", "stack-base..stack-revert",
                                           "--kconfig", x86], "not an arm64 kernel config")
    readme = tree / "README"
    original = readme.read_bytes()
    try:
        readme.write_bytes(original + b"\nlocal change\n")
        refused("a dirty tree", ["--git", tree, "--commits", "stack-base..stack-revert",
                                 "--kconfig", "allnoconfig"], "uncommitted changes")
    finally:
        readme.write_bytes(original)
    refused("--kdir for a stage that is not there",
            ["--kernel", f"a={pgtbench}", "--kdir", f"b={tree}"], "no --kernel is labelled 'b'")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-root", required=True, type=Path)
    args = p.parse_args(argv)
    build_root = args.build_root.resolve()
    plugin = build_root / "qemu-plugin" / "libpgtbench-count.so"
    out_dir = gs.start_guest_test("test-stack", build_root, tools=("flex", "bison", "bc", "make"),
                                  files=[plugin])
    if out_dir is None:
        return gs.EXIT_SKIP
    suite, figures = gs.Suite(), {}
    start = time.monotonic()
    try:
        cache = Path(os.environ.get("PGTBENCH_KERNEL_CACHE", build_root / "kernels")).resolve()
        kernels = gs.fetch_kernels(cache, suite)
        pgtbench, _ = gs.cross_build(build_root, Path(kernels["6.12"]["KDIR"]), suite)
        gs.run([REPO / "tools/fetch-kernel", "--cache", cache, "--source", "6.12"],
               "fetch linux-source-6.12", timeout=1200)
        tarball = next(cache.glob("6.12/source/linux-source-6.12.tar.xz"))
        tree = build_root / "stack-test" / "linux-6.12"
        make_tree(tarball, tree)
        toml = out_dir / "stack.toml"
        toml.write_text(STACK_TOML)
        check_bad_input(suite, tree, pgtbench, toml, out_dir)

        common = ["--kconfig", "allnoconfig", "--config", toml, "--pgtbench", pgtbench,
                  "--cpu", gs.GUEST_CPU, "--cache", build_root / "stack-test" / "cache"]
        main_dir = out_dir / "main"
        r, secs = stack(["--git", tree, "--commits", "stack-base..stack-revert", "--rounds", "2",
                         "--count", "--out-dir", main_dir] + common, out_dir, "main")
        suite.timings.append(("the three-commit stack (--count, 2 rounds)", secs))
        print(r.stdout, flush=True)
        labels = [s["label"] for s in json.loads((main_dir / "stack.json").read_text())["stages"]] \
            if (main_dir / "stack.json").is_file() else []
        check_main(suite, r, main_dir, labels, figures)

        kernels_dir = out_dir / "kernels"
        base_image = json.loads((main_dir / "stack.json").read_text())["stages"][0]["image"]
        r, secs = stack(["--kernel", f"debian={kernels['6.12']['IMAGE']}", "--kernel",
                         f"base={base_image}", "--kdir", f"debian={kernels['6.12']['KDIR']}",
                         "--rounds", "2", "--order", "shuffle", "--seed", "7", "--out-dir",
                         kernels_dir, "--no-plot", "--config", toml, "--pgtbench", pgtbench,
                         "--cpu", gs.GUEST_CPU], out_dir, "kernels")
        suite.timings.append(("--kernel stages (2 rounds)", secs))
        check_kernels(suite, r, kernels_dir, ["debian", "base"])

        fail_dir = out_dir / "failures"
        r, secs = stack(["--git", tree, "--commits", "stack-revert..stack-panic", "--rounds", "1",
                         "--out-dir", fail_dir, "--no-plot"] + common, out_dir, "failures")
        suite.timings.append(("the stack with failing stages", secs))
        flabels = [s["label"] for s in json.loads((fail_dir / "stack.json").read_text())["stages"]] \
            if (fail_dir / "stack.json").is_file() else []
        if suite.check("[stack] the failure stack has three stages", len(flabels) == 3, str(flabels)):
            check_failures(suite, r, fail_dir, flabels)
    except gs.Fatal as e:
        suite.check("setup", False, str(e))
    except (OSError, ValueError, KeyError, StopIteration, subprocess.SubprocessError) as e:
        suite.check("results came back and parse", False, repr(e)[:400])
    suite.print_summary("stack", time.monotonic() - start, figures, width=45,
                        render=lambda v: json.dumps(v)[:600])
    return suite.verdict(out_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
