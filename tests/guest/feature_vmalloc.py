"""Guest checks for pgtbench.ko's VMALLOC_STORM and the vmalloc scenario
(see guest_suite.FEATURES). The same steps run in the 6.12 and the 6.1 guest.

In the guest, with the module inserted:
  vmalloc-einval       one refused storm (kmod_abi_check --vmalloc-einval-once): EINVAL
                       and exactly one line in the kernel log, no splat
  vmalloc-cases        every test_vmalloc case at 50 loops (pcpu_alloc: its one pass of
                       35000 objects), 1 and 2 threads, counters on: each ok with its
                       per-op times (the split pass's, with the clock's cost), cycles and
                       purge count (the two alignment cases run, or skip naming
                       __vmalloc_node where the kernel does not export it), no failed
                       allocation
  vmalloc-huge         fix_size_alloc p:64 and p:512, h:0 and h:1: p:512 h:1 is PMD-mapped
  vmalloc-cases-again  every case again (one thread, no split pass), after an rmmod/insmod,
                       in pgtbench.ko's kernel thread (context:kthread): each case ran in
                       a task other than its storm thread
  vmalloc-kthread      fix_size_alloc from 2 threads, counted, context thread and kthread:
                       a thread's counters count its case; a kthread variant's counters are
                       n/a, naming context:kthread, and its two cases ran in two kthreads
  vmalloc-pcpu         pcpu_alloc from 2 threads: 2 x 35000 objects, as test_vmalloc's
  vmalloc-sigint       Ctrl-C in the middle of a long storm (2 threads): the harness dies
                       of SIGINT long before the storm could have ended; the same again
                       with the storm in the module's kthreads (vmalloc-sigint-kthread)
and around them snapshots of the kernel's vmalloc usage (vmalloc-snap-*): nothing leaks.

What "nothing leaks" can mean here. The kernel keeps caches that a first storm fills and
later ones reuse or trim as they please: percpu keeps chunks (vmalloc'ed, with vmalloc'ed
metadata) and populated pages after pcpu_alloc made it grow, vm_map_ram keeps a vmap
block per CPU, kprobes keep an instruction page, and kworkers (with their vmalloc'ed
stacks) come and go with the lazy purge work. Lazily freed areas have their pages freed
at once and only wait for a purge to give back their addresses ("unpurged" lines). So:
  - no vmalloc area whose caller is in pgtbench exists after any storm (vmalloc, vmap and
    __vmalloc_node areas record their caller);
  - the vmalloc pages of every area but task stacks, percpu chunks and unpurged areas are
    equal, and vm_map_ram blocks no more, between points with the caches warm: after the
    first storms and after the same storms again, before and after the Ctrl-C'd storm,
    and after the two rmmods;
  - Percpu grows by less than 1% of what the big pcpu_alloc storm allocated and freed
    (a leak of 1% of its objects would be more than that; percpu's own caching stays far
    below it).
"""

import json
import re

import testlib
from testlib import key_values, median

CASES = ["fix_size_alloc", "full_fit_alloc", "long_busy_list_alloc", "random_size_alloc",
         "fix_align_alloc", "random_size_align_alloc", "pcpu_alloc", "vm_map_ram", "vmap"]
ALIGN_CASES = {"fix_align_alloc", "random_size_align_alloc"}
PCPU_OBJECTS = 35000  # test_vmalloc's pcpu_alloc_test: one pass, whatever loops says

CASES_TOML = """\
# tests/guest: every test_vmalloc case at its own size, 50 loops, from 1 and 2 threads
# (pcpu_alloc: one pass of 35000 objects, whatever loops says).
[run]
reps = 1
warmup = 0

[vmalloc]
case = [%s]
loops = [50]
threads = [1, 2]
""" % ", ".join(f'"{c}"' for c in CASES)

HUGE_TOML = """\
# tests/guest: vmalloc() vs vmalloc_huge() of 64 pages and of a PMD (512 pages).
[run]
reps = 1
warmup = 0

[vmalloc]
case = ["fix_size_alloc"]
p = [64, 512]
h = [0, 1]
loops = [50]
threads = [1, 2]
"""

AGAIN_TOML = """\
# tests/guest: every case again, one thread, in the module's kthread: usage must come
# back to where it was.
[run]
reps = 1
warmup = 0
counters = false

[vmalloc]
case = [%s]
loops = [50]
threads = [1]
split = 0
context = ["kthread"]
""" % ", ".join(f'"{c}"' for c in CASES)

KTHREAD_TOML = """\
# tests/guest: counted storms in the storm threads and in the module's kthreads.
[run]
reps = 1
warmup = 0

[vmalloc]
case = ["fix_size_alloc"]
loops = [50]
threads = [2]
split = 0
context = ["thread", "kthread"]
"""

PCPU_TOML = """\
# tests/guest: two threads each allocating and freeing 35000 percpu objects.
[run]
reps = 1
warmup = 0
counters = false

[vmalloc]
case = ["pcpu_alloc"]
threads = [2]
split = 0
"""

# Far longer than the guest may run (a million loops of 64 pages, 2 threads, 10 times):
# only an early stop on the signal lets the harness end.
LONG_TOML = """\
# tests/guest: a storm to interrupt.
[run]
reps = 10
warmup = 0
counters = false

[vmalloc]
case = ["fix_size_alloc"]
p = [64]
loops = [1000000]
threads = [2]
split = 0
"""
LONG_LOOPS = 1000000
LONG_KTHREAD_TOML = LONG_TOML + 'context = ["kthread"]\n'

# key=value lines; the vmallocinfo copy is kept for the failure messages.
SNAPSHOT_SH = r"""
name=$1
cp /proc/vmallocinfo /results/vmallocinfo-$name.txt
# Task stacks (kernel_clone on 6.12) and percpu chunks are the kernel's to keep or drop.
skip='kernel_clone|copy_process|dup_task_struct|alloc_thread_stack_node|pcpu_|unpurged'
echo "vmallocused_kb=$(sed -n 's/^VmallocUsed: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
echo "percpu_kb=$(sed -n 's/^Percpu: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
echo "pages_counted=$(awk -v s="$skip" '$0 !~ s {
	for (i = 1; i <= NF; i++) if ($i ~ /^pages=/) { sub("pages=", "", $i); n += $i } }
	END { print n + 0 }' /results/vmallocinfo-$name.txt)"
echo "pages_skipped=$(awk -v s="$skip" '$0 ~ s {
	for (i = 1; i <= NF; i++) if ($i ~ /^pages=/) { sub("pages=", "", $i); n += $i } }
	END { print n + 0 }' /results/vmallocinfo-$name.txt)"
echo "vm_map_ram_blocks=$(grep -c ' vm_map_ram$' /results/vmallocinfo-$name.txt)"
echo "pgtbench_areas=$(grep -c '\[pgtbench\]' /results/vmallocinfo-$name.txt)"
echo "unpurged=$(grep -c unpurged /results/vmallocinfo-$name.txt)"
"""

# The harness with its storm threads running (3 threads: main + 2), then SIGINT. The
# harness runs in the foreground and a background subshell sends the signal: a
# non-interactive shell starts background commands with SIGINT ignored, which would
# make the signal a no-op.
SIGINT_SH = r"""
# $1: which config, "" (vmalloc_long.toml) or "_kthread".
uptime_cs() { sed 's/^\([0-9]*\)\.\([0-9]*\) .*/\1\2/' /proc/uptime; }
(
	i=0
	pid=
	while [ $i -lt 600 ]; do
		pid=$(pidof pgtbench)
		[ -n "$pid" ] && [ "$(ls /proc/$pid/task 2>/dev/null | wc -l)" -ge 3 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	echo "threads_before_kill=$(ls /proc/$pid/task 2>/dev/null | wc -l)"
	sleep 2
	echo "alive_before_kill=$(test -n "$pid" && test -d /proc/$pid && echo 1 || echo 0)"
	uptime_cs > /tmp/vmalloc_sigint_sent
	kill -INT $pid
) &
killer=$!
pgtbench run /tests/vmalloc_long$1.toml --out /results/vmalloc_long$1.json \
	> /results/vmalloc_long$1.out 2> /results/vmalloc_long$1.err
echo "rc=$?"
t1=$(uptime_cs)
wait $killer
echo "exit_after_cs=$((t1 - $(cat /tmp/vmalloc_sigint_sent)))"
echo "results_file=$(test -e /results/vmalloc_long$1.json && echo 1 || echo 0)"
"""


def guest_steps(series):
    return "\n".join([
        "step vmalloc-einval /tests/kmod_abi_check --vmalloc-einval-once",
        "step vmalloc-cases pgtbench run /tests/vmalloc_cases.toml --out /results/vmalloc_cases.json",
        "step vmalloc-huge pgtbench run /tests/vmalloc_huge.toml --out /results/vmalloc_huge.json",
        "step vmalloc-snap-1 sh /tests/vmalloc_snapshot.sh 1",
        "step vmalloc-rmmod-1 rmmod pgtbench",
        "step vmalloc-snap-unloaded-1 sh /tests/vmalloc_snapshot.sh unloaded-1",
        "step vmalloc-insmod-1 insmod /lib/pgtbench/pgtbench.ko",
        "step vmalloc-cases-again pgtbench run /tests/vmalloc_again.toml --out /results/vmalloc_again.json",
        "step vmalloc-kthread pgtbench run /tests/vmalloc_kthread.toml --out /results/vmalloc_kthread.json",
        "step vmalloc-snap-2 sh /tests/vmalloc_snapshot.sh 2",
        "step vmalloc-pcpu pgtbench run /tests/vmalloc_pcpu.toml --out /results/vmalloc_pcpu.json",
        "step vmalloc-snap-3 sh /tests/vmalloc_snapshot.sh 3",
        "step vmalloc-sigint sh /tests/vmalloc_sigint.sh",
        "step vmalloc-sigint-kthread sh /tests/vmalloc_sigint.sh _kthread",
        "step vmalloc-snap-4 sh /tests/vmalloc_snapshot.sh 4",
        "step vmalloc-rmmod-2 rmmod pgtbench",
        "step vmalloc-snap-unloaded-2 sh /tests/vmalloc_snapshot.sh unloaded-2",
        # Loaded again, as the rest of the guest script expects it.
        "step vmalloc-insmod-2 insmod /lib/pgtbench/pgtbench.ko",
    ]) + "\n"


def guest_files(out_dir, series):
    return testlib.guest_files(out_dir, {
        "vmalloc_cases.toml": CASES_TOML, "vmalloc_huge.toml": HUGE_TOML,
        "vmalloc_again.toml": AGAIN_TOML, "vmalloc_kthread.toml": KTHREAD_TOML,
        "vmalloc_pcpu.toml": PCPU_TOML,
        "vmalloc_long.toml": LONG_TOML, "vmalloc_long_kthread.toml": LONG_KTHREAD_TOML,
        "vmalloc_snapshot.sh": SNAPSHOT_SH,
        "vmalloc_sigint.sh": SIGINT_SH})


def kernel_lines_of_step(b, step):
    """The kernel log lines written while a guest step ran (between its marker and the
    next one), timestamps stripped."""
    lines, inside = [], False
    for line in b.dmesg().splitlines():
        m = re.search(r"pgtbench-guest-test: step (\S+)", line)
        if m:
            inside = m.group(1) == step
            continue
        if inside:
            lines.append(re.sub(r"^\[\s*[0-9.]+\]\s*", "", line))
    return lines


def check_storm_doc(suite, b, doc, what, want_cases, threads, counted=True, split=True):
    """Every wanted case ran (or, for the alignment cases, skipped for the missing
    export) from each number of threads, each pinned to its own CPU, with its numbers
    (with split, the per-call times and the clock's cost; when counted, its cycles and
    purge count)."""
    L = f"[{b.label}] {what}:"
    bad, ran = [], {}
    for e in doc["entries"]:
        case, n = e["params"].get("case"), e["params"].get("threads")
        if e["status"] == "skipped" and case in ALIGN_CASES and "__vmalloc_node" in e["reason"]:
            ran.setdefault(case, set()).add(n)
            continue
        if e["status"] != "ok":
            bad.append(f"{e['name']}: {e['status']} {e['reason']}")
            continue
        m = {k: median(e, k) for k in ("ns_per_op", "alloc_ns_per_op", "free_ns_per_op", "clock_ns",
                                      "cycles_per_op", "case_us", "failures", "purge_count")}
        vm = [c.get("vmalloc", {}) for c in e.get("checks", [])]
        cpus = [t.get("cpu") for t in (vm[0].get("threads", []) if vm else [])]
        loops = [t.get("loops_done") for t in (vm[0].get("threads", []) if vm else [])]
        positive = ("ns_per_op", "case_us") + \
            (("alloc_ns_per_op", "free_ns_per_op", "clock_ns") if split else ()) + \
            (("cycles_per_op",) if counted else ())
        # pcpu_alloc takes no loops: test_vmalloc's one pass of 35000 objects.
        want_loops = e["params"].get("loops", PCPU_OBJECTS)
        if not all(isinstance(m[k], (int, float)) and m[k] > 0 for k in positive) \
                or (not split and any(e["metrics"].get(k, {}).get("samples")
                                      for k in ("alloc_ns_per_op", "free_ns_per_op", "clock_ns"))) \
                or m["failures"] != 0 \
                or (counted and (m["purge_count"] is None or m["purge_count"] < 0)) \
                or len(set(cpus)) != n or len(cpus) != n or loops != [want_loops] * n:
            bad.append(f"{e['name']}: {json.dumps(m)} cpus {cpus} loops {loops}")
            continue
        ran.setdefault(case, set()).add(n)
    suite.check(f"{L} every variant ok: per-op times{', cycles, purge count' if counted else ''}, "
                "no failure, one CPU per thread", doc["entries"] and not bad, "; ".join(bad)[:600])
    missing = [c for c in want_cases if ran.get(c) != threads]
    suite.check(f"{L} {len(want_cases)} case{'s' if len(want_cases) > 1 else ''} from "
                f"{' and '.join(map(str, sorted(threads)))} thread{'s' if max(threads) > 1 else ''}",
                not missing,
                f"missing {missing}; ran {sorted((k, sorted(v)) for k, v in ran.items())}")


def storm_tasks(e):
    """(storm thread, task that ran its case) per thread and repetition, with the context."""
    return [(c.get("vmalloc", {}).get("context"), t.get("tid"), t.get("worker_tid"))
            for c in e.get("checks", []) for t in c.get("vmalloc", {}).get("threads", [])]


def ran_in_kthreads(e):
    """Every repetition's every case ran in a task of its own (a kthread per thread)."""
    tasks = storm_tasks(e)
    return bool(tasks) and all(ctx == "kthread" and w and w != t for ctx, t, w in tasks) and \
        all(len({w for _, _, w in storm_tasks({"checks": [c]})}) == len(c["vmalloc"]["threads"])
            for c in e["checks"])


def check_kthread_counters(suite, b, doc, L):
    """A thread's counters count its case; a kthread's are n/a and say why."""
    th = next((e for e in doc["entries"] if e["status"] == "ok" and "context" not in e["params"]), None)
    kt = next((e for e in doc["entries"] if e["status"] == "ok" and
               e["params"].get("context") == "kthread"), None)
    if not suite.check(f"{L} context thread and kthread both ran", th and kt,
                       "; ".join(f"{e['name']}: {e['status']} {e.get('reason')}" for e in doc["entries"])):
        return
    suite.check(f"{L} context:thread: each case ran in its storm thread, whose cycles count it",
                all(ctx == "thread" and w == t for ctx, t, w in storm_tasks(th)) and
                (median(th, "cycles_per_op") or 0) > 0,
                f"{storm_tasks(th)}; cycles_per_op {median(th, 'cycles_per_op')}")
    counters = kt.get("counters", {})
    suite.check(f"{L} context:kthread: two cases in two kthreads, every counter n/a naming "
                "context:kthread, no cycles_per_op",
                ran_in_kthreads(kt) and counters and
                all(c.get("available") is False and c.get("samples") and
                    all(v is None for v in c["samples"]) and "context:kthread" in c.get("reason", "")
                    for c in counters.values()) and median(kt, "cycles_per_op") is None,
                f"{storm_tasks(kt)}; counters { {k: (c.get('samples'), c.get('reason')) for k, c in counters.items()} }"[:600])


def check_snapshots(suite, b, a, z, what):
    sa, sz = key_values(b.step_out(f"vmalloc-snap-{a}")), key_values(b.step_out(f"vmalloc-snap-{z}"))
    keys = ("pages_counted", "vm_map_ram_blocks")
    detail = ", ".join(f"{k} {sa.get(k)} -> {sz.get(k)}"
                       for k in keys + ("vmallocused_kb", "pages_skipped", "percpu_kb", "unpurged"))
    try:
        # The kernel may free a cached vmap block between two points; a storm must not
        # leave one more.
        ok = sa["pages_counted"] == sz["pages_counted"] and \
            int(sz["vm_map_ram_blocks"]) <= int(sa["vm_map_ram_blocks"])
    except (KeyError, ValueError):
        ok = False
    suite.check(f"[{b.label}] vmalloc: {what}", ok, detail)
    return sa, sz


def check(suite, b, series, figures, g):
    L = f"[{b.label}] vmalloc:"

    # A bad argument: EINVAL and one line in the kernel log, nothing else.
    if g.check_step(suite, b, "vmalloc-einval"):
        lines = [l for l in kernel_lines_of_step(b, "vmalloc-einval") if l.strip()]
        suite.check(f"{L} a refused storm leaves exactly one kernel log line",
                    len(lines) == 1 and "VMALLOC_STORM refused" in lines[0], " | ".join(lines)[:300])

    docs = {}
    for step, name in (("vmalloc-cases", "vmalloc_cases.json"), ("vmalloc-huge", "vmalloc_huge.json"),
                       ("vmalloc-cases-again", "vmalloc_again.json"),
                       ("vmalloc-kthread", "vmalloc_kthread.json"),
                       ("vmalloc-pcpu", "vmalloc_pcpu.json")):
        if not g.check_step(suite, b, step):
            continue
        try:
            doc = b.file_json(name)
        except (OSError, ValueError) as ex:
            suite.check(f"{L} {name} came back and parses", False, repr(ex))
            continue
        if g.validate_results(suite, b.label, doc, name):
            docs[step] = doc

    if "vmalloc-cases" in docs:
        doc = docs["vmalloc-cases"]
        check_storm_doc(suite, b, doc, "every case", CASES, threads={1, 2})
        for case in CASES:
            t = [g.find_entry(doc, "vmalloc", case=case, threads=n) for n in (1, 2)]
            v = [median(e, "ns_per_op") if e and e["status"] == "ok" else None for e in t]
            key = f"vmalloc {series} {case} ns/op 1|2 thr"
            if all(x is not None for x in v):
                figures[key] = f"{v[0]:.0f} | {v[1]:.0f} ns"
            else:
                figures[key] = "skipped: " + ((t[0] or {}).get("reason") or "?")[:60]
    if "vmalloc-cases-again" in docs:
        doc = docs["vmalloc-cases-again"]
        check_storm_doc(suite, b, doc, "every case again", CASES, threads={1}, counted=False,
                        split=False)
        ran = [e for e in doc["entries"] if e["status"] == "ok"]
        suite.check(f"{L} every case again: named context:kthread, and ran in a task other "
                    "than its storm thread",
                    ran and all(e["name"].endswith("/context:kthread") and ran_in_kthreads(e)
                                for e in ran),
                    "; ".join(f"{e['name']}: {storm_tasks(e)}" for e in ran)[:600])
    if "vmalloc-kthread" in docs:
        check_kthread_counters(suite, b, docs["vmalloc-kthread"], L)

    long_ns = None
    if "vmalloc-huge" in docs:
        doc = docs["vmalloc-huge"]
        check_storm_doc(suite, b, doc, "p:64/p:512 x h:0/h:1", ["fix_size_alloc"], threads={1, 2})
        for n in (1, 2):
            huge = g.find_entry(doc, "vmalloc", p=512, h=1, threads=n)
            pct = median(huge, "pmd_mapped_pct") if huge else None
            suite.check(f"{L} p:512 h:1 ({n} thread{'s' if n > 1 else ''}) is PMD-mapped "
                        "(aligned, physically contiguous)", pct == 100, f"pmd_mapped_pct {pct}")
        v = {h: median(g.find_entry(doc, "vmalloc", p=512, h=h, threads=1) or {}, "ns_per_op")
             for h in (0, 1)}
        if None not in v.values():
            figures[f"vmalloc {series} fix_size p:512 h:0|h:1 ns/op"] = f"{v[0]:.0f} | {v[1]:.0f} ns"
        long_ns = median(g.find_entry(doc, "vmalloc", p=64, h=0, threads=2) or {}, "ns_per_op")

    # percpu: a leak of even 1% of 70000 objects would outgrow what percpu itself keeps.
    if "vmalloc-pcpu" in docs:
        doc = docs["vmalloc-pcpu"]
        check_storm_doc(suite, b, doc, "pcpu_alloc 2 x 35000", ["pcpu_alloc"], threads={2},
                        counted=False, split=False)
        e = g.find_entry(doc, "vmalloc", case="pcpu_alloc")
        threads = ((e or {}).get("checks") or [{}])[0].get("vmalloc", {}).get("threads", [])
        cpus = doc["pgtbench"]["env"].get("pus") or 1  # every possible CPU gets a copy
        churned = sum(t.get("bytes_allocated", 0) for t in threads) * cpus
        s2, s3 = key_values(b.step_out("vmalloc-snap-2")), key_values(b.step_out("vmalloc-snap-3"))
        try:
            grew = (int(s3["percpu_kb"]) - int(s2["percpu_kb"])) * 1024
        except (KeyError, ValueError):
            grew = None
        suite.check(f"{L} percpu after 70000 objects allocated and freed: grew by less than "
                    "1% of them", grew is not None and churned > 0 and grew < churned / 100,
                    f"Percpu {s2.get('percpu_kb')} -> {s3.get('percpu_kb')} kB; the storm "
                    f"allocated {churned / 1024:.0f} kB over {cpus} CPUs")

    # Ctrl-C: killed by SIGINT, no results, and long before the storm could have ended.
    for step, where in (("vmalloc-sigint", ""), ("vmalloc-sigint-kthread", " (context:kthread)")):
        if not g.check_step(suite, b, step):
            continue
        kv = key_values(b.step_out(step))
        suite.check(f"{L} the storm threads were running when interrupted{where}",
                    kv.get("alive_before_kill") == "1" and
                    int(kv.get("threads_before_kill", "0")) >= 3, json.dumps(kv))
        suite.check(f"{L} Ctrl-C ends the storm{where} (killed by SIGINT, no results file)",
                    kv.get("rc") == "130" and kv.get("results_file") == "0", json.dumps(kv))
        exit_s = int(kv.get("exit_after_cs", "0")) / 100.0
        figures[f"vmalloc {series} Ctrl-C to exit{where}"] = f"{exit_s:.2f} s"
        if long_ns:
            # Relative to the storm's own length on this machine (a million loops at the
            # per-op time measured above), so that no absolute time is assumed: a module
            # that ignored the signal would make the harness outlive the storm.
            storm_s = LONG_LOOPS * long_ns / 1e9
            suite.check(f"{L} Ctrl-C returned within a tenth of one storm's length{where}",
                        exit_s < storm_s / 10,
                        f"{exit_s:.2f} s after SIGINT; one storm takes about {storm_s:.0f} s")

    # Nothing leaks: no area of the module's, and equal usage with the caches warm.
    for step in ("vmalloc-snap-1", "vmalloc-rmmod-1", "vmalloc-snap-unloaded-1",
                 "vmalloc-insmod-1", "vmalloc-snap-2", "vmalloc-snap-3", "vmalloc-snap-4",
                 "vmalloc-rmmod-2", "vmalloc-snap-unloaded-2", "vmalloc-insmod-2"):
        g.check_step(suite, b, step)
    areas = {n: key_values(b.step_out(f"vmalloc-snap-{n}")).get("pgtbench_areas")
             for n in ("1", "2", "3", "4")}
    suite.check(f"{L} no vmalloc area allocated by pgtbench is left after any storm",
                all(v == "0" for v in areas.values()), json.dumps(areas))
    check_snapshots(suite, b, "1", "2", "the same storms again leave vmalloc usage as it was")
    check_snapshots(suite, b, "3", "4", "a Ctrl-C'd storm leaves vmalloc usage as it was")
    check_snapshots(suite, b, "unloaded-1", "unloaded-2",
                    "after rmmod, vmalloc usage is back where it was after the previous rmmod")
