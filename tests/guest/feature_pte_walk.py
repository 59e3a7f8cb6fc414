"""Guest checks for pgtbench.ko's PTE_WALK and the "mapping" check every folio scenario
records with it (see guest_suite.FEATURES).

In the guest, with the module inserted:
  pte-walk   fork and munmap of 4M at order 0, 4 (64K mTHP), 9 PMD-mapped and 9
             PTE-mapped, and a first-touch fault at order 0 and 4: every sample's
             mapping check is the module's walk and its pages add up to the region;
             order 0 is plain PTEs, 9 PMD-mapped is 2 PMD blocks, a PTE-remapped THP
             has no PMD block left; on 6.12 (contpte) order 4 is 64 contiguous-PTE runs
             and the run table says "cont", and a THP PTE-remapped by mprotect() of
             one of its pages has exactly that page's run unfolded (16 plain PTEs, 31
             runs); on 6.1 there is no contpte and it says "pte" (order 4 needs mTHP
             controls 6.1 lacks: skipped with the reason); walked before and after
             the operation, a PTE-remap leaves no PMD block and mprotect() of the
             first page unfolds exactly one contiguous run (6.12) or PTE-maps exactly
             one THP
Without the module the same check is n/a with the reason (guest_suite's quick run).
"""

import testlib

MB = 1 << 20
SIZE = 4 * MB

WALK_TOML = """\
# tests/guest: the mapping every folio order gets, as pgtbench.ko's PTE walk sees it.
[run]
reps = 2
warmup = 0
counters = false

[fork]
size = "4M"
order = [0, 4, 9]
map = ["pmd", "pte"]

[munmap]
size = "4M"
order = [0, 4, 9]
map = ["pmd", "pte"]

[fault]
size = "4M"
order = [0, 4]

[remap]
size = "4M"

[mprotect]
size = "4M"
order = [0, 4, 9]
map = ["pmd"]
range = ["page"]
"""


def guest_steps(series):
    return "step pte-walk pgtbench run /tests/pte_walk.toml --out /results/pte_walk.json\n"


def guest_files(out_dir, series):
    return testlib.guest_files(out_dir, {"pte_walk.toml": WALK_TOML})


def mappings(entry):
    return [c.get("mapping") for c in entry.get("checks", [])]


def expected(series, order, mapped):
    """What every page of the region must be mapped by: {"kind_pages": pages}, blocks."""
    pages = SIZE // 4096
    if order == 0:
        return {"pte_pages": pages}, {}
    if order == 4:
        if series == "6.12":
            return {"cont_pages": pages}, {"cont_blocks": SIZE // (64 << 10)}
        return {"pte_pages": pages}, {}
    thps = SIZE // (2 * MB)
    if mapped == "pmd":
        return {"pmd_pages": pages}, {"pmd_blocks": thps}
    if series == "6.12":
        # PTE-remapped by mprotect() of one page per THP and back: the split maps the
        # THP with contiguous PTEs, and the mprotect unfolds exactly the one run that
        # holds its page, which stays unfolded.
        return ({"pte_pages": 16 * thps, "cont_pages": pages - 16 * thps},
                {"pmd_blocks": 0, "cont_blocks": pages // 16 - thps})
    return {"pte_pages": pages}, {"pmd_blocks": 0}


def check_entry(series, e):
    """'' when every sample's mapping is what its order and mapping must give, else why."""
    p = e["params"]
    order, mapped = p.get("order"), p.get("map", "pmd")
    pages = SIZE // 4096
    want_pages, want_blocks = expected(series, order, mapped)
    ms = mappings(e)
    if not ms or any(m is None for m in ms):
        return f"samples without a mapping check: {ms}"
    for m in ms:
        if not m.get("available") or m.get("source") != "module":
            return f"not the module's walk: {m}"
        total = sum(m[k] for k in ("pud_pages", "pmd_pages", "cont_pages", "pte_pages", "absent_pages"))
        if total != pages or m.get("length_bytes") != SIZE or m.get("cont_ptes") != 16:
            return f"pages do not add up to {pages}: {m}"
        if want_pages is not None and any(m[k] != v for k, v in want_pages.items()):
            return f"want {want_pages}: {m}"
        if any(m[k] != v for k, v in want_blocks.items()):
            return f"want {want_blocks}: {m}"
        if series != "6.12" and m["cont_pages"]:
            return f"6.1 has no contpte: {m}"
    return ""


def expected_change(series, e):
    """(before, after) the walks of a remap or a one-page mprotect must give, as
    {field: value}; None where the order is not run here."""
    order = e["params"]["order"]
    pages, thps = SIZE // 4096, SIZE // (2 * MB)
    cont = series == "6.12"
    if e["scenario"] == "remap":
        after = ({"pmd_blocks": 0, "pte_pages": 16 * thps, "cont_pages": pages - 16 * thps}
                 if cont else {"pmd_blocks": 0, "pte_pages": pages})
        return {"pmd_blocks": thps, "pmd_pages": pages}, after
    if order == 0:
        return {"pte_pages": pages}, {"pte_pages": pages}
    if order == 4:
        # The first page's run only: the other 63 stay folded.
        return ({"cont_blocks": pages // 16, "cont_pages": pages},
                {"cont_blocks": pages // 16 - 1, "cont_pages": pages - 16, "pte_pages": 16})
    # The first THP is PTE-mapped (on 6.12 with contiguous runs but the first page's),
    # the other stays a PMD block.
    first = ({"cont_pages": 512 - 16, "pte_pages": 16} if cont else {"pte_pages": 512})
    return {"pmd_blocks": thps, "pmd_pages": pages}, \
        dict(first, pmd_blocks=thps - 1, pmd_pages=pages - 512)


def check_change(series, e):
    """'' when the walks before and after the operation are what it must give, else why."""
    want_before, want_after = expected_change(series, e)
    for c in e.get("checks", []):
        for key, want in (("mapping", want_before), ("mapping_after", want_after)):
            m = c.get(key) or {}
            if not m.get("available"):
                return f"no {key} walk: {m}"
            if any(m.get(k) != v for k, v in want.items()):
                return f"{key}: want {want}: {m}"
    return ""


def check(suite, b, series, figures, g):
    L = f"[{b.label}] pte_walk:"
    doc = g.step_results(suite, b, "pte-walk", "pte_walk.json")
    if doc is None:
        return
    entries = [e for e in doc["entries"] if e.get("scenario") in ("fork", "munmap", "fault")]
    ran = [e for e in entries if e["status"] == "ok"]
    skipped = [e for e in entries if e["status"] == "skipped"]
    order4 = [e for e in entries if e["params"].get("order") == 4]
    if series == "6.12":
        suite.check(f"{L} every variant ran", len(ran) == len(entries) and entries,
                    "; ".join(f"{e['name']}: {e['status']} {e.get('reason', '')}" for e in entries))
    else:
        suite.check(f"{L} order 4 skipped with the reason (no mTHP controls), the others ran",
                    order4 and all(e["status"] == "skipped" and "mTHP" in e.get("reason", "")
                                   for e in order4) and len(ran) + len(order4) == len(entries),
                    "; ".join(f"{e['name']}: {e['status']} {e.get('reason', '')}" for e in entries))
    bad = [f"{e['name']}: {why}" for e in ran if (why := check_entry(series, e))]
    suite.check(f"{L} every sample's mapping is the module's walk, adding up to the region, as its "
                "order and mapping must give (" + ("order 4 contiguous PTEs" if series == "6.12"
                                                    else "no contiguous PTEs") + ")",
                ran and not bad, "; ".join(bad[:3]))
    changes = [e for e in doc["entries"] if e.get("scenario") in ("remap", "mprotect")]
    changed = [e for e in changes if e["status"] == "ok"]
    bad = [f"{e['name']}: {why}" for e in changed if (why := check_change(series, e))]
    suite.check(f"{L} walked before and after: a PTE-remap leaves no PMD block, mprotect() of "
                "one page " + ("unfolds exactly one contiguous run" if series == "6.12"
                               else "PTE-maps exactly one THP"),
                changed and not bad and len(changed) == len(changes) - (series != "6.12"),
                "; ".join(bad[:3]) or "; ".join(f"{e['name']}: {e['status']}" for e in changes))
    out = b.step_out("pte-walk")
    rows = {line.split()[0]: line for line in out.splitlines()
            if line.startswith(("fork/", "munmap/", "fault/"))}
    order4_row = rows.get("fork/size:4M/order:4", "")
    pmd_row = rows.get("fork/size:4M/order:9/map:pmd", "")
    if series == "6.12":
        suite.check(f"{L} the run table names the mapping next to the folios: order 4 cont, 9 pmd",
                    order4_row.rstrip().endswith("4:100% cont") and pmd_row.rstrip().endswith("9:100% pmd"),
                    f"{order4_row!r} {pmd_row!r}")
    else:
        suite.check(f"{L} the run table names the mapping next to the folios: 9 pmd, order 0 pte",
                    pmd_row.rstrip().endswith("9:100% pmd") and
                    rows.get("fork/size:4M/order:0", "").rstrip().endswith("0:100% pte"),
                    f"{pmd_row!r} {rows.get('fork/size:4M/order:0')!r}")
    for e in ran:
        m = (mappings(e) or [None])[0]
        if m and m.get("available"):
            figures[f"{b.label} {e['name']} mapping"] = {k: m[k] for k in (
                "pmd_blocks", "cont_blocks", "pte_pages", "cont_pages", "absent_pages")}
