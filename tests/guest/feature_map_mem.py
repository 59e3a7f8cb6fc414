"""Guest checks for pgtbench.ko's MAP_MEM_REPLAY and the map_mem scenario
(see guest_suite.FEATURES).

In the guest, with the module inserted:
  map-mem-matrix   every strategy x granularity at small sizes, including ones that end
                   mid-run and mid-table: each entry ok, which means the module's counts
                   equalled harness/map_mem_model's on every repetition (the scenario
                   fails a variant otherwise), and the table counts are right
  map-mem-large    64 GiB simulated (128 MiB of real table pages) with the two cheapest
                   strategies, within the guest's 2 GiB
  map-mem-bad      a config naming an unknown strategy: exit 2, one line naming it
  map-mem-sigint   Ctrl-C in the middle of a 256 GiB base replay: the harness dies of
                   SIGINT, the module frees its 512 MiB of table pages (MemAvailable comes
                   back) and the kernel log stays clean
6.1 runs the matrix only (the same source built against its headers).
"""

import json

import testlib
from testlib import median

GIB = 1 << 30

MATRIX_TOML = """\
# tests/guest: every strategy x granularity at sizes that end mid-run, mid-table, at a
# block boundary and past one; one repetition each, counts checked against the model.
[run]
reps = 1
warmup = 0
counters = false

[map_mem]
size = ["4K", "1052K", "2M", "1G", "3076M"]
strategy = ["base", "no-cont-remap", "batch-barriers", "no-alloc-remap", "lazy-unmap"]
granularity = ["pte", "cont", "block"]
"""

LARGE_TOML = """\
# tests/guest: a large replay within the guest's memory (128 MiB of table pages).
[run]
reps = 1
warmup = 0

[map_mem]
size = "64G"
strategy = ["no-alloc-remap", "lazy-unmap"]
granularity = "pte"
"""

BAD_TOML = """\
[map_mem]
strategy = ["lazy"]
"""

LONG_TOML = """\
# tests/guest: a replay long enough to interrupt (256 GiB at base: 512 MiB of tables).
[run]
reps = 3
warmup = 0
counters = false

[map_mem]
size = "256G"
strategy = "base"
granularity = "pte"
"""

# MemAvailable before, during and after; the elapsed time from SIGINT to exit is reported.
# pgtbench runs in the foreground, as under a terminal: a background job of a
# non-interactive shell starts with SIGINT ignored, which no Ctrl-C ever meets.
SIGINT_SH = r"""
avail() { sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
uptime_cs() { sed 's/^\([0-9]*\)\.\([0-9]*\) .*/\1\2/' /proc/uptime; }
before=$(avail)
echo "before_kb=$before"
(
	# Interrupt once the replay is under way: its table pages are being allocated.
	for i in $(seq 120); do
		[ $(( before - $(avail) )) -gt 300000 ] && break
		sleep 0.25
	done
	echo "during_kb=$(avail)" > /tmp/sigint.during
	pid=$(pidof pgtbench)
	echo "alive_before_kill=$(test -n "$pid" && echo 1 || echo 0)" >> /tmp/sigint.during
	uptime_cs > /tmp/sigint.t0
	kill -INT $pid
) &
pgtbench run /tests/map_mem_long.toml --out /results/map_mem_long.json \
	> /results/map_mem_long.out 2> /results/map_mem_long.err
echo "rc=$?"
t1=$(uptime_cs)
wait
cat /tmp/sigint.during
echo "exit_after_cs=$((t1 - $(cat /tmp/sigint.t0)))"
sleep 1
echo "after_kb=$(avail)"
echo "results_file=$(test -e /results/map_mem_long.json && echo 1 || echo 0)"
"""


def guest_steps(series):
    steps = "step map-mem-matrix pgtbench run /tests/map_mem_matrix.toml --out /results/map_mem_matrix.json\n"
    if series == "6.12":
        steps += (
            "step map-mem-large pgtbench run /tests/map_mem_large.toml --out /results/map_mem_large.json\n"
            "step map-mem-bad pgtbench run /tests/map_mem_bad.toml\n"
            "step map-mem-sigint sh /tests/map_mem_sigint.sh\n")
    return steps


def guest_files(out_dir, series):
    return testlib.guest_files(out_dir, {
        "map_mem_matrix.toml": MATRIX_TOML, "map_mem_large.toml": LARGE_TOML,
        "map_mem_bad.toml": BAD_TOML, "map_mem_long.toml": LONG_TOML,
        "map_mem_sigint.sh": SIGINT_SH})


def expected_tables(size, granularity):
    """Table pages per level for a range aligned at every block size (4K pages)."""
    if granularity == "block":
        pmd_left = size % GIB
        pte_left = size % (2 << 20)
        return {"pud": -(-size // (512 * GIB)), "pmd": 1 if pmd_left else 0,
                "pte": 1 if pte_left else 0}
    return {"pud": -(-size // (512 * GIB)), "pmd": -(-size // GIB), "pte": -(-size // (2 << 20))}


def check_entries(suite, b, doc, what):
    L = f"[{b.label}] {what}:"
    bad, wrong_tables = [], []
    for e in doc["entries"]:
        checks = e.get("checks") or []
        if e.get("status") != "ok" or not checks or not all(
                c.get("model", {}).get("ok") is True for c in checks):
            bad.append(f"{e.get('name')}: {e.get('status')} {e.get('reason')}")
            continue
        p = e["params"]
        want = expected_tables(p["size_bytes"], p["granularity"])
        got = {lvl: median(e, f"{lvl}_table_pages") for lvl in want}
        if got != want:
            wrong_tables.append(f"{e['name']}: {got} want {want}")
    suite.check(f"{L} every variant ok, its counts equal to the model's on every repetition",
                doc["entries"] and not bad, "; ".join(bad)[:500])
    suite.check(f"{L} table pages per level as the range and granularity imply",
                not wrong_tables, "; ".join(wrong_tables)[:500])
    return not bad


def check(suite, b, series, figures, g):
    L = f"[{b.label}] map_mem:"
    if g.check_step(suite, b, "map-mem-matrix"):
        try:
            doc = b.file_json("map_mem_matrix.json")
            if g.validate_results(suite, b.label, doc, "map_mem_matrix.json"):
                n = len(doc["entries"])
                suite.check(f"{L} matrix has 5 sizes x 5 strategies x 3 granularities", n == 75, f"{n} entries")
                check_entries(suite, b, doc, "map_mem matrix")
        except (OSError, ValueError, KeyError, TypeError) as ex:
            suite.check(f"{L} map_mem_matrix.json came back and parses", False, repr(ex))
        out = b.step_out("map-mem-matrix")
        suite.check(f"{L} the run prints the strategies x sizes table",
                    "no-cont-remap" in out and "| ms (%)" in out and "size:3076M" in out,
                    out[-300:])
    if series != "6.12":
        return

    if g.check_step(suite, b, "map-mem-large"):
        try:
            doc = b.file_json("map_mem_large.json")
            if g.validate_results(suite, b.label, doc, "map_mem_large.json") and \
                    check_entries(suite, b, doc, "map_mem 64G"):
                for e in doc["entries"]:
                    figures[f"map_mem 64G {e['params']['strategy']} ms"] = median(e, "map_mem_ms")
                    figures[f"map_mem 64G {e['params']['strategy']} tlbi"] = median(e, "tlbi_count")
        except (OSError, ValueError, KeyError, TypeError) as ex:
            suite.check(f"{L} map_mem_large.json came back and parses", False, repr(ex))

    if g.check_step(suite, b, "map-mem-bad", want_rc=2):
        err = b.step_out("map-mem-bad", "err").strip().splitlines()
        suite.check(f"{L} an unknown strategy is one line naming it and the choices",
                    len(err) == 1 and "'lazy'" in err[0] and "lazy-unmap" in err[0], " | ".join(err))

    if g.check_step(suite, b, "map-mem-sigint"):
        kv = testlib.key_values(b.step_out("map-mem-sigint"))
        try:
            before, during, after = (int(kv[k]) for k in ("before_kb", "during_kb", "after_kb"))
        except (KeyError, ValueError):
            suite.check(f"{L} Ctrl-C script reported its figures", False, json.dumps(kv))
            return
        suite.check(f"{L} the replay was under way when interrupted (its tables allocated)",
                    kv.get("alive_before_kill") == "1" and before - during > 256 * 1024,
                    f"alive {kv.get('alive_before_kill')}, MemAvailable {before} -> {during} kB")
        suite.check(f"{L} Ctrl-C ends the run (killed by SIGINT, no results file)",
                    kv.get("rc") == "130" and kv.get("results_file") == "0",
                    f"rc {kv.get('rc')}, results file {kv.get('results_file')}")
        suite.check(f"{L} after Ctrl-C the table pages are freed (MemAvailable back)",
                    after > before - 64 * 1024, f"before {before} kB, after {after} kB")
        figures["map_mem Ctrl-C to exit (s)"] = int(kv.get("exit_after_cs", "0")) / 100.0
