// SPDX-License-Identifier: GPL-2.0
/*
 * The layouts of a Comparison that run down the page: a line per variant and metric,
 * a column per row of the comparison (label, kernel or stage). The wide cover letter
 * puts variants across, which past a handful of variants (vmalloc's twenty-odd cases)
 * becomes a dozen stacked tables; these stay one table however many variants there are.
 *
 *   tall     Arm's CI reports and the vmalloc series' table: Benchmark | Result Class |
 *            base | patched, the baseline as its number, the others as "(I) -33.27%"
 *   lkp      the 0-day bot's comparison: mean ±%stddev, %change, mean ±%stddev, name
 *   mmtests  compare-kernels: Min/Amean/Stddev/CoeffVar/Max rows per benchmark, the
 *            change as a gain, *x%* where it is significant
 *
 * Every layout reads the same Comparison as the wide one, so a number, a mark or a note
 * is never computed twice.
 */
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "compare.h"
#include "compare_text.h"

namespace pgt {

std::string changeCellText(const Change &ch)
{
	if (!ch.percent)
		return "-";
	std::string s = fmt::format("{:+.2f}%", *ch.percent);
	if (s == "+0.00%" || s == "-0.00%")
		s = "0.00%";
	std::string mark = markText(ch);
	return mark.empty() ? s : mark + " " + s;
}

std::optional<double> geometricMean(const std::vector<double> &values)
{
	/* log of 0 or of a negative ratio has no meaning: no mean rather than a wrong one */
	if (values.empty())
		return std::nullopt;
	double logs = 0;
	for (double v : values) {
		if (!(v > 0) || !std::isfinite(v))
			return std::nullopt;
		logs += std::log(v);
	}
	return std::exp(logs / static_cast<double>(values.size()));
}

namespace {

/* --- the grid every tall layout reads ------------------------------------------------ */

/* One variant and metric: the comparison's column of it on each machine, if any. */
struct VariantLine {
	size_t first = 0; /* a column of it: scenario, metric, unit and keys */
	std::vector<std::optional<size_t>> by_machine;
};

/* The lines of one scenario and metric: the set a geometric mean is taken over. */
struct MetricGroup {
	std::string scenario, metric;
	bool several_metrics = false; /* its scenario shows more than this metric */
	std::vector<VariantLine> lines;
};

struct TallGrid {
	std::vector<std::string> machines; /* one "" when machine is no column dimension */
	std::vector<MetricGroup> groups;   /* scenarios in order of appearance, then metrics */
};

std::string lineId(const Column &col)
{
	std::string id = col.scenario + "\x1f" + col.metric;
	for (const auto &[k, v] : col.keys)
		if (k != "machine")
			id += "\x1f" + k + "=" + v;
	return id;
}

size_t indexOf(std::vector<std::string> &names, const std::string &name)
{
	auto it = std::find(names.begin(), names.end(), name);
	if (it != names.end())
		return static_cast<size_t>(it - names.begin());
	names.push_back(name);
	return names.size() - 1;
}

TallGrid tallGrid(const Comparison &c)
{
	TallGrid g;
	for (const auto &col : c.columns)
		indexOf(g.machines, col.machine);
	std::vector<std::string> scenarios, group_ids, line_ids;
	std::vector<std::pair<size_t, size_t>> line_at; /* line id -> (group, line) */
	for (size_t i = 0; i < c.columns.size(); i++) {
		const Column &col = c.columns[i];
		indexOf(scenarios, col.scenario);
		size_t gi = indexOf(group_ids, col.scenario + "\x1f" + col.metric);
		if (gi == g.groups.size())
			g.groups.push_back({col.scenario, col.metric, false, {}});
		size_t li = indexOf(line_ids, lineId(col));
		if (li == line_at.size()) {
			line_at.emplace_back(gi, g.groups[gi].lines.size());
			g.groups[gi].lines.push_back({i, std::vector<std::optional<size_t>>(g.machines.size())});
		}
		auto [lg, ll] = line_at[li];
		g.groups[lg].lines[ll].by_machine[indexOf(g.machines, col.machine)] = i;
	}
	std::stable_sort(g.groups.begin(), g.groups.end(), [&](const MetricGroup &a, const MetricGroup &b) {
		return indexOf(scenarios, a.scenario) < indexOf(scenarios, b.scenario);
	});
	for (auto &group : g.groups)
		for (const auto &other : g.groups)
			group.several_metrics |= other.scenario == group.scenario && other.metric != group.metric;
	return g;
}

/* The variant's words: "order:9 map:pte", the metric first when it needs naming. */
std::vector<std::string> variantWords(const Comparison &c, const MetricGroup &group, const VariantLine &line)
{
	const Column &col = c.columns[line.first];
	std::vector<std::string> words;
	if (group.several_metrics || !col.primary)
		words.push_back(col.metric);
	for (const auto &[k, v] : col.keys) {
		if (k == "machine")
			continue;
		words.push_back(k == "kernel" || k == "label" ? v : k + ":" + v);
	}
	if (words.empty())
		words.push_back(col.metric);
	return words;
}

/*
 * Row r's geometric mean of the variants' ratios to the baseline on machine m. Left
 * out (nullopt) for a single variant (it would repeat the line above) and when any
 * variant lacks either value or has a mean <= 0: a mean over the variants that happen
 * to be there would not be the same summary as on the other rows.
 */
std::optional<double> groupRatio(const Comparison &c, const MetricGroup &group, size_t m, size_t r)
{
	if (group.lines.size() < 2)
		return std::nullopt;
	std::vector<double> ratios;
	for (const auto &line : group.lines) {
		if (!line.by_machine[m])
			return std::nullopt;
		const Cell &base = c.cells[0][*line.by_machine[m]], &cell = c.cells[r][*line.by_machine[m]];
		if (!base.ok() || !cell.ok() || !(base.summary.mean > 0))
			return std::nullopt;
		ratios.push_back(cell.summary.mean / base.summary.mean);
	}
	return geometricMean(ratios);
}

/* The value of a cell as the baseline shows it, or why there is none. */
std::string valueText(const Comparison &c, size_t r, size_t i, int decimals)
{
	const Cell &cell = c.cells[r][i];
	if (!cell.ok())
		return c.absent(r) ? "n/a" : "-";
	return fmt::format("{:.{}f}", cell.summary.mean, decimals);
}

int lineDecimals(const Comparison &c, size_t i)
{
	for (size_t r = 0; r < c.rows.size(); r++)
		if (c.cells[r][i].ok())
			return decimalsFor(c.cells[r][i].summary.mean);
	return 2;
}

/* --- tall: Benchmark | Result Class | base | patched --------------------------------- */

struct TallTable {
	/* Benchmark, Result Class; Machine between them when machines are lines */
	std::vector<std::string> label_head;
	std::vector<std::string> machine_head, row_head; /* per data column */
	std::vector<std::vector<std::string>> lines;     /* the labels, then the data */
	bool geomean = false;
};

std::string tallCell(const Comparison &c, size_t r, size_t i)
{
	const Cell &cell = c.cells[r][i];
	if (r == 0 || !cell.ok())
		return valueText(c, r, i, lineDecimals(c, i));
	return cell.compared ? changeCellText(cell.change) : "-";
}

std::string ratioChangeText(std::optional<double> ratio)
{
	if (!ratio)
		return "-";
	Change ch;
	ch.percent = (*ratio - 1) * 100;
	return changeCellText(ch); /* no test of significance: never a mark */
}

/*
 * A group's lines over the machines ms, in columns; with machine_label the machine (one
 * of ms) is named in a label column of its own instead.
 */
void addTallGroup(const Comparison &c, const MetricGroup &group, const std::vector<size_t> &ms,
		  bool machine_label, TallTable &t)
{
	auto labels = [&](std::string result_class) {
		std::vector<std::string> cells{""};
		if (machine_label)
			cells.push_back("");
		cells.push_back(std::move(result_class));
		return cells;
	};
	for (const auto &line : group.lines) {
		if (ms.size() == 1 && !line.by_machine[ms[0]])
			continue;
		const Column &col = c.columns[line.first];
		auto cells = labels(fmt::format("{} ({})", fmt::join(variantWords(c, group, line), " "), col.unit));
		for (size_t m : ms)
			for (size_t r = 0; r < c.rows.size(); r++)
				cells.push_back(line.by_machine[m] ? tallCell(c, r, *line.by_machine[m]) : "");
		t.lines.push_back(std::move(cells));
	}
	auto gm = labels("geomean " + group.metric + " ratio");
	bool any = false;
	for (size_t m : ms)
		for (size_t r = 0; r < c.rows.size(); r++) {
			auto ratio = r ? groupRatio(c, group, m, r) : std::nullopt;
			any |= ratio.has_value();
			gm.push_back(r ? ratioChangeText(ratio) : "");
		}
	if (any) {
		t.lines.push_back(std::move(gm));
		t.geomean = true;
	}
}

/*
 * Machines are column groups when each is two columns (base and patched: the vmalloc
 * series' and Arm's tables); a stack of stages on several machines would multiply its
 * columns, so there each machine gets lines of its own and the stages stay one set.
 */
TallTable tallTable(const Comparison &c)
{
	TallGrid g = tallGrid(c);
	bool machine_lines = g.machines.size() > 1 && c.rows.size() > 2;
	TallTable t;
	t.label_head = machine_lines ? std::vector<std::string>{"Benchmark", "Machine", "Result Class"}
				     : std::vector<std::string>{"Benchmark", "Result Class"};
	std::vector<size_t> all;
	for (size_t m = 0; m < g.machines.size(); m++) {
		all.push_back(m);
		for (const auto &row : c.rows) {
			if (machine_lines && m)
				break;
			t.machine_head.push_back(machine_lines ? "" : g.machines[m]);
			t.row_head.push_back(row);
		}
	}
	std::string scenario;
	for (const auto &group : g.groups) {
		size_t first = t.lines.size();
		if (!machine_lines)
			addTallGroup(c, group, all, false, t);
		for (size_t m = 0; machine_lines && m < g.machines.size(); m++) {
			size_t at = t.lines.size();
			addTallGroup(c, group, {m}, true, t);
			if (at < t.lines.size())
				t.lines[at][1] = g.machines[m];
		}
		/* the benchmark is named on its first line only, as Arm's reports do */
		if (group.scenario != scenario && first < t.lines.size())
			t.lines[first][0] = group.scenario;
		scenario = group.scenario;
	}
	return t;
}

const char *kGeomeanNote = "geomean: the geometric mean of the variants' ratios to the baseline, as a % change "
			   "(no test of significance, so no mark); left out where a variant has no value";

std::string tallNotes(const Comparison &c, bool geomean, bool markdown)
{
	std::string out = markdown ? markdownNotes(c) : coverLetterNotes(c);
	if (!geomean)
		return out;
	return out + (markdown ? std::string("- ") + kGeomeanNote + "\n" : wrapNote(kGeomeanNote, c.options.width));
}

/* The columns' widths; a machine's name wider than its columns widens the last. */
std::vector<size_t> tallWidths(const Comparison &c, const TallTable &t, bool machines)
{
	size_t labels = t.label_head.size();
	std::vector<size_t> w;
	for (const auto &h : t.label_head)
		w.push_back(h.size());
	for (const auto &h : t.row_head)
		w.push_back(h.size());
	for (const auto &line : t.lines)
		for (size_t k = 0; k < line.size(); k++)
			w[k] = std::max(w[k], line[k].size());
	size_t n = c.rows.size();
	for (size_t k = 0; machines && k < t.machine_head.size(); k += n) {
		size_t span = 3 * (n - 1);
		for (size_t j = 0; j < n; j++)
			span += w[labels + k + j];
		if (t.machine_head[k].size() > span)
			w[labels + k + n - 1] += t.machine_head[k].size() - span;
	}
	return w;
}

} /* namespace */

std::string formatTallCoverLetter(const Comparison &c)
{
	TallTable t = tallTable(c);
	size_t labels = t.label_head.size(), n = c.rows.size();
	bool machines = !t.machine_head.empty() && !t.machine_head.front().empty();
	std::vector<size_t> w = tallWidths(c, t, machines);
	std::string out;
	auto text = [&](const std::vector<std::string> &cells, bool right) {
		std::string l;
		for (size_t k = 0; k < cells.size(); k++)
			l += (k ? " | " : "") + (right && k >= labels ? padLeft(cells[k], w[k]) : pad(cells[k], w[k]));
		out += rstrip(l) + "\n";
	};
	if (machines) {
		std::string l;
		for (size_t k = 0; k < labels; k++)
			l += (k ? " | " : "") + pad("", w[k]);
		for (size_t k = 0; k < t.machine_head.size(); k += n) {
			size_t span = 3 * (n - 1);
			for (size_t j = 0; j < n; j++)
				span += w[labels + k + j];
			l += " | " + pad(t.machine_head[k], span);
		}
		out += rstrip(l) + "\n";
	}
	std::vector<std::string> head = t.label_head;
	head.insert(head.end(), t.row_head.begin(), t.row_head.end());
	text(head, false);
	std::string rule;
	for (size_t k = 0; k < w.size(); k++)
		rule += (k ? "|" : "") + std::string(w[k] + (k ? 2 : 1), '-');
	out += rule + "\n";
	for (const auto &line : t.lines)
		text(line, true);
	return out + "\n" + tallNotes(c, t.geomean, false);
}

std::string formatTallMarkdown(const Comparison &c)
{
	TallTable t = tallTable(c);
	std::vector<std::string> head = t.label_head, align(head.size(), ":---");
	for (size_t k = 0; k < t.row_head.size(); k++) {
		head.push_back(t.machine_head[k].empty() ? t.row_head[k] : t.machine_head[k] + " " + t.row_head[k]);
		align.push_back("---:");
	}
	auto row = [](const std::vector<std::string> &cells) {
		return fmt::format("| {} |\n", fmt::join(cells, " | "));
	};
	std::string out = row(head) + row(align);
	for (const auto &line : t.lines)
		out += row(line);
	return out + "\n" + tallNotes(c, t.geomean, true);
}

namespace {

/* --- lkp: the 0-day bot's %stddev %change %stddev table ------------------------------- */

/*
 * LKP's fields: the baseline's mean in 10 and " ±  2%" in 6 (16, under its first rule),
 * then per other commit the change in 11, the mean in 11, " ±  2%" in 6 (27 and a space).
 */
constexpr size_t kLkpMean = 10, kLkpStddev = 6, kLkpChange = 11, kLkpOtherMean = 11;

std::string lkpStddev(const Cell &cell)
{
	if (!cell.ok() || cell.summary.n < 2)
		return std::string(kLkpStddev, ' ');
	/* "±" is two bytes: the field is built to its width, not padded */
	return fmt::format(" \u00b1{:3.0f}%", cell.summary.cv * 100);
}

std::string lkpPercent(std::optional<double> p)
{
	if (!p)
		return "";
	std::string s = fmt::format("{:+.1f}%", *p);
	return s == "-0.0%" ? "+0.0%" : s;
}

std::string lkpName(const Comparison &c, const MetricGroup &group, const VariantLine &line)
{
	std::vector<std::string> parts{group.scenario};
	for (const auto &[k, v] : c.columns[line.first].keys)
		if (k != "machine")
			parts.push_back(k == "kernel" || k == "label" ? v : k + ":" + v);
	parts.push_back(group.metric);
	return fmt::format("{}", fmt::join(parts, "."));
}

std::string lkpLine(const Comparison &c, size_t i, const std::string &name)
{
	int decimals = lineDecimals(c, i);
	std::string l = padLeft(valueText(c, 0, i, decimals), kLkpMean) + lkpStddev(c.cells[0][i]);
	for (size_t r = 1; r < c.rows.size(); r++) {
		const Cell &cell = c.cells[r][i];
		l += padLeft(cell.compared ? lkpPercent(cell.change.percent) : "", kLkpChange);
		l += padLeft(valueText(c, r, i, decimals), kLkpOtherMean) + lkpStddev(cell);
	}
	return l + "  " + name + "\n";
}

std::string lkpGeomeanLine(const Comparison &c, const MetricGroup &group, size_t m)
{
	std::string l(kLkpMean + kLkpStddev, ' ');
	bool any = false;
	for (size_t r = 1; r < c.rows.size(); r++) {
		auto ratio = groupRatio(c, group, m, r);
		any |= ratio.has_value();
		l += padLeft(ratio ? lkpPercent((*ratio - 1) * 100) : "", kLkpChange) +
		     std::string(kLkpOtherMean + kLkpStddev, ' ');
	}
	return any ? l + "  " + group.scenario + ".geomean." + group.metric + "\n" : "";
}

/* The block's heading: what LKP puts above its table (the box, then the commits). */
std::string lkpHeading(const Comparison &c, const std::string &machine)
{
	std::string out = std::string(89, '=') + "\n";
	if (!machine.empty())
		out += "machine:\n  " + machine + "\n\n";
	out += "commit: \n";
	for (size_t r = 0; r < c.rows.size(); r++) {
		std::string kernel = c.row_files[r].empty() ? "" : c.files[c.row_files[r].front()].kernel;
		out += "  " + c.rows[r] + (kernel.empty() || kernel == c.rows[r] ? "" : " (" + kernel + ")") + "\n";
	}
	std::string labels = pad(c.rows[0], 16), rules(16, '-'), stats = "         %stddev",
		    arrows = "             \\  ";
	for (size_t r = 1; r < c.rows.size(); r++) {
		labels += " " + pad(c.rows[r], 27);
		rules += " " + std::string(27, '-');
		stats += "     %change         %stddev";
		arrows += "        |                \\  ";
	}
	return out + "\n" + rstrip(labels) + "\n" + rules + "\n" + stats + "\n" + arrows + "\n";
}

} /* namespace */

std::string formatLkp(const Comparison &c)
{
	TallGrid g = tallGrid(c);
	std::string out;
	bool geomean = false;
	for (size_t m = 0; m < g.machines.size(); m++) {
		out += (m ? "\n" : "") + lkpHeading(c, g.machines[m]);
		for (const auto &group : g.groups) {
			for (const auto &line : group.lines)
				if (line.by_machine[m])
					out += lkpLine(c, *line.by_machine[m], lkpName(c, group, line));
			std::string gm = lkpGeomeanLine(c, group, m);
			geomean |= !gm.empty();
			out += gm;
		}
	}
	return out + "\n" + tallNotes(c, geomean, false);
}

namespace {

/* --- mmtests: compare-kernels' Amean rows with *x%* ----------------------------------- */

/*
 * mmtests prints the change as a gain, positive when better: (base - new) / base for
 * a time, (new - base) / base for a rate. The spread rows (Stddev, CoeffVar) are better
 * lower whatever the metric.
 */
double gain(double base, double value, bool lower_is_better)
{
	if (base == 0)
		return 0;
	double p = (value - base) / base * 100;
	return lower_is_better ? -p : p;
}

/* Harmonic mean: mmtests' summary of a rate; nullopt if a sample is <= 0. */
std::optional<double> harmonicMean(const std::vector<double> &samples)
{
	double inv = 0;
	for (double s : samples) {
		if (!(s > 0))
			return std::nullopt;
		inv += 1 / s;
	}
	return samples.empty() ? std::nullopt : std::optional<double>(samples.size() / inv);
}

std::optional<double> mmValue(const Cell &cell, const std::string &stat)
{
	if (!cell.ok())
		return std::nullopt;
	const Summary &s = cell.summary;
	if (stat == "Min")
		return s.min;
	if (stat == "Amean")
		return s.mean;
	if (stat == "Hmean")
		return harmonicMean(cell.samples);
	if (stat == "Stddev")
		return s.stddev;
	if (stat == "CoeffVar")
		return s.cv * 100;
	return s.max;
}

struct MmRow {
	std::string stat, name;
	std::vector<std::string> cells; /* per comparison row: "1.23 (   0.00%)" */
};

/* One value and its gain: "(  -2.90%)", or "*  -2.90%*" where the change is significant. */
std::string mmCell(double value, int decimals, double pct, bool significant)
{
	std::string v = fmt::format("{:.{}f}", value, decimals);
	std::string p = fmt::format("{:7.2f}%", pct);
	if (p == "  -0.00%")
		p = "   0.00%";
	return v + (significant ? " *" + p + "*" : " (" + p + ")");
}

MmRow mmRow(const Comparison &c, size_t i, const std::string &stat, const std::string &name)
{
	const Column &col = c.columns[i];
	bool spread = stat == "Stddev" || stat == "CoeffVar";
	bool lower = spread || col.lower_is_better;
	int decimals = std::max(2, lineDecimals(c, i));
	MmRow row{stat, name, {}};
	auto base = mmValue(c.cells[0][i], stat);
	for (size_t r = 0; r < c.rows.size(); r++) {
		const Cell &cell = c.cells[r][i];
		auto v = mmValue(cell, stat);
		if (!v) {
			row.cells.push_back(c.absent(r) ? "n/a" : "-");
			continue;
		}
		/* the mark is the test's, and the test compared means: only on the Amean row */
		bool sig = r > 0 && stat == "Amean" && cell.compared && cell.change.significant &&
			   !cell.change.conflicting;
		/* no baseline value: a gain of 0% would claim a comparison that was not made */
		if (r && !base) {
			row.cells.push_back(fmt::format("{:.{}f} (      -)", *v, decimals));
			continue;
		}
		row.cells.push_back(mmCell(*v, decimals, r ? gain(*base, *v, lower) : 0, sig));
	}
	return row;
}

/* Gmean: the variants' ratios to the baseline, the baseline 1.0000 by definition. */
std::optional<MmRow> mmGmeanRow(const Comparison &c, const MetricGroup &group, size_t m)
{
	bool lower = c.columns[group.lines.front().first].lower_is_better;
	MmRow row{"Gmean", group.metric + "-ratio", {}};
	bool any = false;
	for (size_t r = 0; r < c.rows.size(); r++) {
		auto ratio = r ? groupRatio(c, group, m, r) : std::optional<double>(1.0);
		any |= r && ratio;
		row.cells.push_back(ratio ? mmCell(*ratio, 4, gain(1, *ratio, lower), false) : "-");
	}
	return any ? std::optional<MmRow>(row) : std::nullopt;
}

/* The statistics a block shows: spread rows only where some cell has n > 1. */
std::vector<std::string> mmStats(const Comparison &c, const std::vector<size_t> &cols)
{
	bool samples = false, rate = false;
	for (size_t i : cols) {
		rate |= !c.columns[i].lower_is_better;
		for (size_t r = 0; r < c.rows.size(); r++)
			samples |= c.cells[r][i].ok() && c.cells[r][i].summary.n > 1;
	}
	std::vector<std::string> stats;
	if (samples)
		stats.push_back("Min");
	stats.push_back("Amean");
	if (rate)
		stats.push_back("Hmean");
	if (samples)
		stats.insert(stats.end(), {"Stddev", "CoeffVar", "Max"});
	return stats;
}

/* The block's rows, statistic by statistic as compare-kernels orders them. */
std::vector<MmRow> mmRows(const Comparison &c, const TallGrid &g, const std::string &scenario, size_t m)
{
	std::vector<std::pair<size_t, std::string>> cols; /* (column, name) */
	std::vector<size_t> indexes;
	for (const auto &group : g.groups)
		if (group.scenario == scenario)
			for (const auto &line : group.lines)
				if (line.by_machine[m]) {
					cols.emplace_back(*line.by_machine[m],
							  fmt::format("{}", fmt::join(variantWords(c, group, line), "-")));
					indexes.push_back(*line.by_machine[m]);
				}
	std::vector<MmRow> rows;
	for (const auto &stat : mmStats(c, indexes))
		for (const auto &[i, name] : cols)
			if (stat != "Hmean" || !c.columns[i].lower_is_better)
				rows.push_back(mmRow(c, i, stat, name));
	for (const auto &group : g.groups)
		if (group.scenario == scenario)
			if (auto gm = mmGmeanRow(c, group, m))
				rows.push_back(*gm);
	return rows;
}

/* "1.23 (   0.00%)" cells re-aligned: values right-aligned in the widest value. */
std::string mmBlock(const Comparison &c, const std::string &title, std::vector<MmRow> rows)
{
	size_t nw = 0;
	std::vector<std::string> kernel(c.rows.size());
	std::vector<size_t> cw(c.rows.size(), 0);
	bool kernel_line = false;
	for (size_t r = 0; r < c.rows.size(); r++) {
		/* compare-kernels heads a column with the kernel, then the name it was given */
		if (!c.row_files[r].empty())
			kernel[r] = c.files[c.row_files[r].front()].kernel;
		kernel_line |= !kernel[r].empty() && kernel[r] != c.rows[r];
		cw[r] = std::max(c.rows[r].size(), kernel[r].size());
	}
	for (const auto &row : rows) {
		nw = std::max(nw, row.name.size());
		for (size_t r = 0; r < row.cells.size(); r++)
			cw[r] = std::max(cw[r], row.cells[r].size());
	}
	std::string kernels = pad("", 10 + nw), labels = kernels;
	for (size_t r = 0; r < c.rows.size(); r++) {
		kernels += "  " + padLeft(kernel[r], cw[r]);
		labels += "  " + padLeft(c.rows[r], cw[r]);
	}
	std::string out = title + "\n" + (kernel_line ? rstrip(kernels) + "\n" : "") + rstrip(labels) + "\n";
	for (const auto &row : rows) {
		std::string l = pad(row.stat, 9) + " " + pad(row.name, nw);
		for (size_t r = 0; r < row.cells.size(); r++)
			l += "  " + padLeft(row.cells[r], cw[r]);
		out += rstrip(l) + "\n";
	}
	return out;
}

const char *kMmtestsNote = "mmtests: % are gains vs the baseline (positive = better: lower for a time, "
			   "higher for a rate; lower for Stddev and CoeffVar), *x%* where the Mann-Whitney U test "
			   "finds the change significant; Gmean: the geometric mean of the variants' ratios to the "
			   "baseline";

} /* namespace */

std::string formatMmtests(const Comparison &c)
{
	TallGrid g = tallGrid(c);
	std::vector<std::string> scenarios;
	for (const auto &group : g.groups)
		indexOf(scenarios, group.scenario);
	std::string out;
	for (size_t m = 0; m < g.machines.size(); m++)
		for (const auto &scenario : scenarios) {
			auto rows = mmRows(c, g, scenario, m);
			if (rows.empty())
				continue;
			std::string title = g.machines[m].empty() ? scenario : scenario + " (" + g.machines[m] + ")";
			out += (out.empty() ? "" : "\n") + mmBlock(c, title, std::move(rows));
		}
	return out + "\n" + coverLetterNotes(c) + wrapNote(kMmtestsNote, c.options.width);
}

} /* namespace pgt */
