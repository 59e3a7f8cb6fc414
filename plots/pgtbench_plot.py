#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Draws a pgtbench comparison: the JSON `pgtbench compare --format json` writes (so a
plot and its table agree on every mean, interval and mark). `pgtbench plot` and
`pgtbench run --plot` call this script; run by hand:

    build/pgtbench compare a.json b.json --format json > cmp.json
    /usr/bin/python3 plots/pgtbench_plot.py --in cmp.json --out cmp.png

One figure, one panel per metric: a bar per row (label) for each column (variant,
machine), the 95% confidence interval of the mean as error bar, and the % change of
the mean vs the first row with its (I)/(R) mark above each bar. When the columns sweep
size or folio order (three values or more), a line panel per swept parameter shows
the metric against it, one line per label and remaining variant. For each primary
metric, a panel of its samples in run order, a small plot per variant and label (at
most 24, in the bars' colours): a machine that drifted shows as a slope, and the cells
whose trend test flags drift (compare's notes) say so in red; the runs of a merged
file (pgtbench merge) are shaded in turn. --no-order-panel leaves it out. The title
names the machines and kernels.

Needs Debian's python3-matplotlib (for /usr/bin/python3); uses the Agg backend, so no
display. Writes through a temporary file and a rename: never a half-written plot.
Exit codes: 0 written, 1 failed, 2 unusable input.
"""

import argparse
import json
import math
import os
import sys
import tempfile
import textwrap

PROG = "pgtbench_plot"
FORMATS = (".png", ".svg")
SWEEPS = (("size_bytes", "size"), ("order", "folio order"))
MIN_SWEEP_VALUES = 3
# The run-order panel: beyond this many variants it draws the first ones and says so,
# in a grid at most ORDER_COLUMNS wide (fewer when the figure is narrow).
MAX_ORDER_CELLS = 24
ORDER_COLUMNS = 6
ORDER_CELL_WIDTH = 2.3  # inches: below it the small plots' ticks collide
COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c"]
DRIFT_COLOR = "#b00000"


class UsageError(Exception):
    pass


def fail(code, message):
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(code)


def import_matplotlib():
    try:
        import matplotlib
    except ImportError as e:
        raise UsageError(f"needs matplotlib for {sys.executable} "
                         f"(apt-get install python3-matplotlib): {e}") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def format_size(n):
    for shift, unit in ((40, "T"), (30, "G"), (20, "M"), (10, "K")):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def load(path):
    try:
        if path == "-":
            doc = json.load(sys.stdin)
        else:
            with open(path) as fh:
                doc = json.load(fh)
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: not JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(doc, dict) or doc.get("pgtbench_compare") != 1:
        raise UsageError(f"{path}: not the output of `pgtbench compare --format json`")
    for key in ("rows", "columns", "cells", "files"):
        if not isinstance(doc.get(key), list):
            raise UsageError(f"{path}: missing \"{key}\"")
    # Rows that were not measured (compare --absent: a stage that did not build or boot)
    # have nothing to draw: they leave the bars and legend and are named in the title.
    measured = [i for i, r in enumerate(doc["rows"]) if not r.get("absent")]
    doc["absent"] = [(r["name"], r["absent"]) for r in doc["rows"] if r.get("absent")]
    renumber = {old: new for new, old in enumerate(measured)}
    doc["rows"] = [doc["rows"][i] for i in measured]
    doc["cells"] = [dict(c, row=renumber[c["row"]]) for c in doc["cells"] if c["row"] in renumber]
    return doc


def figure_title(doc, width_chars):
    """Machines and kernels, the context every plot must carry."""
    files = doc["files"]
    machines = []
    arches = sorted({f["arch"] for f in files})
    for f in files:
        m = f["machine"] if len(arches) == 1 else f"{f['machine']} ({f['arch']})"
        if m not in machines:
            machines.append(m)
    per_row = []
    kernels = []
    named = True  # rows labelled with their kernel release (the default label)
    for row in doc["rows"]:
        ks = []
        for i in row["files"]:
            if files[i]["kernel"] not in ks:
                ks.append(files[i]["kernel"])
            named &= files[i]["kernel"] == row["name"] or doc["rows_by"] == "kernel"
        kernels += [k for k in ks if k not in kernels]
        per_row.append((row["name"], ks))
    if len(kernels) == 1:
        kernel = f"kernel {kernels[0]}"
    elif named:
        kernel = "kernels " + ", ".join(kernels)
    else:
        kernel = "kernels: " + "; ".join(f"{name} {', '.join(ks)}" for name, ks in per_row)
    where = ", ".join(machines) + (f" ({arches[0]})" if len(arches) == 1 else "")
    lines = textwrap.wrap(where, width_chars, break_on_hyphens=False) + \
        textwrap.wrap(kernel, width_chars, break_on_hyphens=False)
    if doc.get("absent"):
        lines += textwrap.wrap("not measured: " + "; ".join(n for n, _ in doc["absent"]),
                               width_chars, break_on_hyphens=False)
    return "\n".join(lines)


def metric_groups(doc):
    """Columns by metric, in the order they first appear."""
    groups = {}
    for i, col in enumerate(doc["columns"]):
        groups.setdefault((col["metric"], col["unit"], col["better"]), []).append(i)
    return groups


def cell_map(doc):
    return {(c["row"], c["column"]): c for c in doc["cells"]}


def usable(cell):
    return cell is not None and cell.get("present") and cell.get("status") == "ok" and cell["summary"]["n"] > 0


def interval(cell):
    """(mean, minus, plus) for an error bar; no bar without a confidence interval."""
    mean = cell["summary"]["mean"]
    ci = cell.get("ci95")
    if not ci:
        return mean, 0.0, 0.0
    return mean, mean - ci["low"], ci["high"] - mean


def change_text(cell):
    ch = cell.get("change")
    if not ch or ch.get("percent") is None:
        return ""
    p = ch["percent"]
    text = f"{p:+.0f}%" if abs(p) >= 9.95 else f"{p:+.1f}%"
    if text in ("+0.0%", "-0.0%"):
        text = "0.0%"
    if ch.get("mark"):
        text += f" ({ch['mark']})"
    return text


def tick_label(doc, col, single_scenario):
    """The column's header, one parameter a line so that neighbours do not collide."""
    lines = []
    if col.get("machine"):
        f = next((f for f in doc["files"] if f["machine"] == col["machine"]), None)
        lines += [f["machine_cpu"], f["machine_kind"]] if f else [col["machine"]]
    for k, v in col["keys"]:
        if k == "machine":
            continue
        lines.append(v if k in ("kernel", "label") else f"{k}:{v}")
    if not single_scenario:
        lines.insert(0, col["scenario"])
    return "\n".join(l for l in lines if l) or col["scenario"]


def draw_bars(ax, doc, cols, cells, colors, metric, unit, better):
    rows = doc["rows"]
    nrows = len(rows)
    scenarios = {doc["columns"][i]["scenario"] for i in cols}
    width = 0.8 / nrows
    many = len(cols) * nrows > 10
    tops = []
    means = []
    for r, row in enumerate(rows):
        xs, ys, lo, hi, notes = [], [], [], [], []
        for x, i in enumerate(cols):
            cell = cells.get((r, i))
            if not usable(cell):
                continue
            mean, minus, plus = interval(cell)
            xs.append(x + (r - (nrows - 1) / 2) * width)
            ys.append(mean)
            lo.append(minus)
            hi.append(plus)
            notes.append(change_text(cell) if r > 0 else "")
            means.append(mean)
        if not xs:
            continue
        ax.bar(xs, ys, width * 0.92, color=colors[r % len(colors)], label=row["name"], zorder=2)
        # Error bars only where there is an interval: a single sample has none.
        with_ci = [(x, y, m, p) for x, y, m, p in zip(xs, ys, lo, hi) if m or p]
        if with_ci:
            ax.errorbar([w[0] for w in with_ci], [w[1] for w in with_ci],
                        yerr=[[w[2] for w in with_ci], [w[3] for w in with_ci]], fmt="none",
                        capsize=3 if not many else 1.5, elinewidth=1, ecolor="#333333", zorder=3)
        for x, y, h, note in zip(xs, ys, hi, notes):
            tops.append(y + h)
            if note:
                mark = note.endswith("(I)") or note.endswith("(R)")
                ax.annotate(note, (x, y + h), xytext=(0, 3), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7 if many else 8,
                            rotation=90 if many else 0,
                            fontweight="bold" if mark else "normal",
                            color="#b00000" if note.endswith("(R)") else "#006000" if note.endswith("(I)") else "#222222")
    positive = [m for m in means if m > 0]
    if positive and max(positive) / min(positive) > 50:
        ax.set_yscale("log")
        scale = ", log scale"
    else:
        scale = ""
        if tops:
            ax.set_ylim(0, max(tops) * (1.25 if not many else 1.4))
    # Few groups would make wide slabs of bars: keep at least three groups' room.
    room = max(len(cols), 3)
    ax.set_xlim(-room / 2 + (len(cols) - 1) / 2, room / 2 + (len(cols) - 1) / 2)
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels([tick_label(doc, doc["columns"][i], len(scenarios) == 1) for i in cols], fontsize=8)
    ax.set_ylabel(f"{metric} [{unit}]{scale}")
    direction = "lower is better" if better == "lower" else "higher is better"
    # An emulator's exact counts must not pass for hardware figures.
    emulated = any(doc["columns"][i].get("emulated") for i in cols)
    title = f"{'/'.join(sorted(scenarios))}: {metric}{' (emulated: qemu plugin)' if emulated else ''}, " \
        f"mean and 95% CI ({direction})"
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", color="#dddddd", zorder=0)
    ax.set_axisbelow(True)
    # Outside the axes: inside, it would sit on some bar's annotation sooner or later.
    ax.legend(fontsize=8, title=doc["rows_by"], title_fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1))


def sweeps(doc, cols, cells):
    """Parameters swept across these columns: [(key, name, series)] where some line has
    MIN_SWEEP_VALUES points (a size that only changes with the machine is no sweep)."""
    out = []
    for key, name in SWEEPS:
        series = sweep_series(doc, cols, cells, key, name)
        if any(len({x for x, _ in pts}) >= MIN_SWEEP_VALUES for pts in series.values()):
            out.append((key, name, series))
    return out


def sweep_series(doc, cols, cells, key, name):
    """One line per row and combination of the other variant parameters (and machine).
    A variant without one of them (order 0 has no map) belongs to every line that has it."""
    rows = doc["rows"]
    other = []
    for i in cols:
        for k, _ in doc["columns"][i]["keys"]:
            if k not in ("machine", "kernel", "label") and k != name and k != key.replace("_bytes", "") \
                    and k not in other:
                other.append(k)
    series = {}
    for r in range(len(rows)):
        points = []
        for i in cols:
            cell = cells.get((r, i))
            if not usable(cell) or key not in cell["params"]:
                continue
            keys = dict(doc["columns"][i]["keys"])
            tag = tuple((k, keys.get(k)) for k in other)
            machine = doc["columns"][i].get("machine")
            points.append((machine, tag, cell["params"][key], cell))
        tags = {(m, t) for m, t, _, _ in points}

        def covers(general, specific):
            return general[0] == specific[0] and \
                all(v is None or dict(specific[1]).get(k) == v for k, v in general[1])

        # Lines only for the most specific variants; the others join each line they fit.
        lines = [t for t in tags if not any(o != t and covers(t, o) for o in tags)]
        for machine, tag, x, cell in points:
            for target in [t for t in lines if covers((machine, tag), t)]:
                series.setdefault((r, target), []).append((x, cell))
    return series


def draw_sweep(ax, doc, series, colors, key, name, metric, unit):
    rows = doc["rows"]
    styles = ["-", "--", ":", "-."]
    markers = ["o", "s", "^", "D", "v"]
    variants = sorted({t for _, t in series}, key=str)
    for (r, target), pts in series.items():
        pts.sort(key=lambda p: p[0])
        if len(pts) < 2:
            continue
        xs = [p[0] for p in pts]
        ys, lo, hi = [], [], []
        for _, cell in pts:
            mean, minus, plus = interval(cell)
            ys.append(mean)
            lo.append(minus)
            hi.append(plus)
        v = variants.index(target)
        machine, tag = target
        parts = [rows[r]["name"]] + ([machine] if machine else []) + \
            [f"{k}:{val}" for k, val in tag if val is not None]
        ax.errorbar(xs, ys, yerr=[lo, hi], color=colors[r % len(colors)], linestyle=styles[v % len(styles)],
                    marker=markers[v % len(markers)], markersize=4, capsize=3, linewidth=1.3,
                    label=" ".join(parts))
    if key == "size_bytes":
        ax.set_xscale("log", base=2)
        ticks = sorted({x for pts in series.values() for x, _ in pts})
        ax.set_xticks(ticks)
        ax.set_xticklabels([format_size(int(t)) for t in ticks], fontsize=8)
        ax.set_xlabel("size")
    else:
        ticks = sorted({x for pts in series.values() for x, _ in pts})
        ax.set_xticks(ticks)
        ax.set_xlabel(name)
    ax.set_ylabel(f"{metric} [{unit}]")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{metric} vs {name}, mean and 95% CI", fontsize=10)
    ax.grid(color="#dddddd")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1))


def order_cells(doc, cols, cells):
    """The cells of the run-order panel, variant by variant and row by row: those with
    two samples or more (one sample has no order to show)."""
    return [cells[(r, i)] for i in cols for r in range(len(doc["rows"]))
            if usable(cells.get((r, i))) and len(cells[(r, i)]["samples"]) >= 2]


def run_positions(cell):
    """x of each sample, and the spans [(first x, last x)] of the runs of a merged file.
    A merged file's run_order restarts with each run: the runs are laid side by side,
    each as wide as the positions it used. Without run_order a sample's index stands in
    (samples are stored in the order taken)."""
    n = len(cell["samples"])
    order = cell.get("run_order")
    recorded = bool(cell.get("run_order_recorded")) and isinstance(order, list) and len(order) == n
    if not recorded:
        order = list(range(n))
    runs = cell.get("sample_runs")
    if not isinstance(runs, list) or len(runs) != n:
        return order, []
    xs, spans, offset, start = [], [], 0, 0
    for k, (pos, run) in enumerate(zip(order, runs)):
        if k and run != runs[k - 1]:
            spans.append((xs[start], xs[-1]))
            if recorded:
                offset = max(xs[start:]) + 1
            start = k
        xs.append(offset + pos)
    spans.append((xs[start], xs[-1]))
    return xs, spans


def cell_title(doc, cell, single_scenario, width_chars):
    """The row and the variant, "base: order:9 map:pte", wrapped to the small plot."""
    col = doc["columns"][cell["column"]]
    parts = [doc["rows"][cell["row"]]["name"] + ":"]
    if not single_scenario:
        parts.append(col["scenario"])
    if col.get("machine"):
        parts.append(col["machine"])
    parts += [v if k in ("kernel", "label") else f"{k}:{v}" for k, v in col["keys"] if k != "machine"]
    return "\n".join(textwrap.wrap(" ".join(parts), width_chars, break_on_hyphens=False))


def order_columns(shown, width):
    """Columns of the run-order grid: as many as fit the figure, at most ORDER_COLUMNS."""
    return min(shown, ORDER_COLUMNS, max(2, int(width // ORDER_CELL_WIDTH)))


def draw_order(fig, doc, drawn, left_out, ncols, width, metric, unit):
    """A small plot per cell of its samples against their place in the run."""
    scenarios = {doc["columns"][c["column"]]["scenario"] for c in drawn}
    nrows = math.ceil(len(drawn) / ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(drawn):
            ax.set_visible(False)
            continue
        cell = drawn[k]
        xs, spans = run_positions(cell)
        # A merged file's runs (boots) in turn shaded: a step between them is a boot's.
        for s, (lo, hi) in enumerate(spans):
            if s % 2:
                ax.axvspan(lo - 0.5, hi + 0.5, color="#eeeeee", zorder=0, linewidth=0)
        ax.plot(xs, cell["samples"], color=COLORS[cell["row"] % len(COLORS)], marker="o", markersize=3,
                linewidth=0.7, zorder=2)
        title = cell_title(doc, cell, len(scenarios) == 1, int(width / ncols * 14))
        drift = cell.get("drift")
        flagged = bool(drift and drift.get("flagged"))
        if flagged:
            title += f"\ndrift tau={drift['tau']:+.2f} p={drift['p']:.2g}"
        ax.set_title(title, fontsize=7, color=DRIFT_COLOR if flagged else "#222222",
                     fontweight="bold" if flagged else "normal")
        if flagged:
            for spine in ax.spines.values():
                spine.set_edgecolor(DRIFT_COLOR)
        ax.tick_params(labelsize=6)
        ax.grid(color="#eeeeee", zorder=0)
        if k % ncols == 0:
            ax.set_ylabel(f"[{unit}]", fontsize=7)
        if k >= len(drawn) - ncols:
            ax.set_xlabel("run position", fontsize=7)
    title = f"{metric}: samples in run order"
    if any(not c.get("run_order_recorded") for c in drawn):
        title += " (sample index where the run order is not recorded)"
    if left_out:
        title += f" ({left_out} more not drawn)"
    fig.suptitle(title, fontsize=10)


def plot(doc, out, order_panel=True):
    plt = import_matplotlib()
    cells = cell_map(doc)
    groups = metric_groups(doc)
    panels = []
    for (metric, unit, better), cols in groups.items():
        if not any(usable(cells.get((r, i))) for i in cols for r in range(len(doc["rows"]))):
            continue
        panels.append(("bars", metric, unit, better, cols, None))
        for key, name, series in sweeps(doc, cols, cells):
            panels.append(("sweep", metric, unit, better, cols, (key, name, series)))
        primary = [i for i in cols if doc["columns"][i].get("primary", True)]
        if order_panel and order_cells(doc, primary, cells):
            panels.append(("order", metric, unit, better, primary, None))
    if not panels:
        raise UsageError("nothing to plot: no cell has samples")
    widest = max(len(p[4]) for p in panels)
    width = min(16.0, max(7.0, 1.6 + 0.45 * widest * max(1, len(doc["rows"]))))
    heights = []
    for p in panels:
        if p[0] == "order":
            shown = min(len(order_cells(doc, p[4], cells)), MAX_ORDER_CELLS)
            heights.append(0.5 + 1.9 * math.ceil(shown / order_columns(shown, width)))
        else:
            heights.append(3.9)
    fig = plt.figure(figsize=(width, sum(heights) + 0.9), layout="constrained")
    subfigs = fig.subfigures(len(panels), 1, height_ratios=heights, squeeze=False)[:, 0]
    for sub, (kind, metric, unit, better, cols, sweep) in zip(subfigs, panels):
        if kind == "order":
            every = order_cells(doc, cols, cells)
            drawn = every[:MAX_ORDER_CELLS]
            draw_order(sub, doc, drawn, len(every) - len(drawn), order_columns(len(drawn), width), width,
                       metric, unit)
            continue
        ax = sub.subplots()
        if kind == "bars":
            draw_bars(ax, doc, cols, cells, COLORS, metric, unit, better)
        else:
            draw_sweep(ax, doc, sweep[2], COLORS, sweep[0], sweep[1], metric, unit)
    fig.suptitle(figure_title(doc, int(width * 11)), fontsize=11)
    notes = [n for n in doc.get("notes", []) if n.startswith("(I)") or n.startswith("no (I)")
             or n.startswith("single") or n.startswith("mean of")]
    if notes:
        fig.supxlabel("; ".join(notes), fontsize=7, color="#444444")

    directory = os.path.dirname(os.path.abspath(out))
    suffix = os.path.splitext(out)[1]
    fd, tmp = tempfile.mkstemp(prefix=".pgtbench-plot-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        metadata = {"Software": None} if suffix == ".png" else {"Date": None}
        # SVG text stays text rather than glyph paths: searchable, and editable later.
        with plt.rc_context({"svg.fonttype": "none"}):
            fig.savefig(tmp, dpi=130, metadata=metadata)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp made it 0600; a plot is for sharing
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    finally:
        plt.close(fig)


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--in", dest="input", help="comparison JSON (- for stdin)")
    ap.add_argument("--out", help="FILE.png or FILE.svg")
    ap.add_argument("--no-order-panel", dest="order_panel", action="store_false",
                    help="leave out the panel of each variant's samples in run order")
    ap.add_argument("--check", action="store_true", help="only check that matplotlib can be used")
    args = ap.parse_args()
    try:
        if args.check:
            import_matplotlib()
            return 0
        if not args.input or not args.out:
            raise UsageError("needs --in and --out")
        if os.path.splitext(args.out)[1] not in FORMATS:
            raise UsageError(f"{args.out}: the plot file must end in {' or '.join(FORMATS)}")
        if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
            raise UsageError(f"{args.out}: no such directory")
        plot(load(args.input), args.out, order_panel=args.order_panel)
    except UsageError as e:
        fail(2, str(e))
    except Exception as e:  # one line, whatever matplotlib raised
        fail(1, f"{type(e).__name__}: {e}".splitlines()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
