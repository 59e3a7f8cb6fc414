// SPDX-License-Identifier: GPL-2.0
/*
 * The forms a Comparison is rendered in. cover-letter follows the seeds' layout
 * (multi-line column headers, the unit in a sub-header, "153 (0%)" cells) in plain
 * fixed-width text for an email; markdown and CSV carry the same numbers; JSON carries
 * everything, samples included.
 */
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "compare.h"
#include "compare_text.h"
#include "errors.h"
#include "util.h"

namespace pgt {

const std::vector<std::string> kCompareFormats{"cover-letter", "markdown", "csv", "json", "lkp", "mmtests"};
const std::vector<std::string> kCompareLayouts{"wide", "tall"};

/* --- compare_text.h: the pieces of text every layout shares ---------------------------- */

std::string markText(const Change &c)
{
	switch (c.mark) {
	case Mark::Improvement:
		return "(I)";
	case Mark::Regression:
		return "(R)";
	case Mark::None:
		break;
	}
	return c.conflicting ? "(?)" : "";
}

/* Three significant digits of the baseline: 153, 24.7, 1.67, 0.324 (as the seeds round). */
int decimalsFor(double reference)
{
	double a = std::fabs(reference);
	if (a == 0 || !std::isfinite(a))
		return 2;
	int d = 2 - static_cast<int>(std::floor(std::log10(a)));
	return std::clamp(d, 0, 6);
}

std::vector<std::string> wrapWords(const std::string &s, size_t width)
{
	std::vector<std::string> lines;
	std::string line;
	size_t start = 0;
	while (start <= s.size()) {
		size_t sp = s.find(' ', start);
		std::string word = s.substr(start, sp == std::string::npos ? std::string::npos : sp - start);
		if (!line.empty() && line.size() + 1 + word.size() > width) {
			lines.push_back(line);
			line.clear();
		}
		line += (line.empty() ? "" : " ") + word;
		if (sp == std::string::npos)
			break;
		start = sp + 1;
	}
	if (!line.empty())
		lines.push_back(line);
	return lines;
}

std::string pad(const std::string &s, size_t w)
{
	return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

std::string padLeft(const std::string &s, size_t w)
{
	return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}

std::string rstrip(std::string s)
{
	while (!s.empty() && s.back() == ' ')
		s.pop_back();
	return s;
}

/* Notes wrap like the tables, continuation lines indented. */
std::string wrapNote(const std::string &note, size_t width)
{
	std::string out;
	auto lines = wrapWords(note, width - 4);
	for (size_t i = 0; i < lines.size(); i++)
		out += (i ? "    " : "") + lines[i] + "\n";
	return out;
}

std::string coverLetterNotes(const Comparison &c)
{
	std::string out;
	for (const auto &n : c.notes)
		out += wrapNote(n, c.options.width);
	return out;
}

std::string markdownNotes(const Comparison &c)
{
	std::string out;
	for (const auto &n : c.notes)
		out += n.starts_with("- ") ? "  " + n + "\n" : "- " + n + "\n";
	return out;
}

namespace {

/* Longest header line before it wraps at a space: seeds' columns are about this wide. */
constexpr size_t kHeaderWrap = 18;

bool isParamKey(const std::string &k)
{
	return k != "machine" && k != "kernel" && k != "label";
}

std::string percentText(double p)
{
	std::string s = std::fabs(p) >= 9.95 ? fmt::format("{:+.0f}%", p) : fmt::format("{:+.1f}%", p);
	if (s == "+0.0%" || s == "-0.0%")
		return "0.0%";
	return s;
}

struct Text {
	/* Per column: header lines (by slot), the value and % parts, the stdev part. */
	std::vector<std::vector<std::string>> header;
	std::vector<std::string> unit;
	std::vector<std::vector<std::string>> value, pct, stdev;
	std::vector<std::string> corner;
};

/*
 * A column's keys as header words: kernels and labels as they are, parameters as
 * "order:9". The machine is left out: it has lines of its own.
 */
struct KeyWords {
	std::vector<std::string> values;
	std::vector<std::string> params;
};

KeyWords keyWords(const Column &col)
{
	KeyWords w;
	for (const auto &[k, v] : col.keys) {
		if (k == "machine")
			continue;
		if (isParamKey(k))
			w.params.push_back(k + ":" + v);
		else
			w.values.push_back(v);
	}
	return w;
}

/* Which header lines the columns need; what all columns share goes into the corner. */
struct HeaderPlan {
	bool scenario_line = false; /* several scenarios: each column names its own */
	bool metric_line = false;   /* each column names its metric */
	std::vector<std::string> corner;
};

HeaderPlan planHeaders(const Comparison &c)
{
	std::set<std::string> scenarios;
	std::map<std::string, std::set<std::string>> metrics_of;
	std::set<std::string> metrics;
	bool any_secondary = false;
	for (const auto &col : c.columns) {
		scenarios.insert(col.scenario);
		metrics_of[col.scenario].insert(col.metric);
		metrics.insert(col.metric);
		any_secondary |= !col.primary;
	}
	bool several_per_scenario = false;
	for (const auto &[s, ms] : metrics_of)
		several_per_scenario |= ms.size() > 1;
	HeaderPlan plan;
	plan.scenario_line = scenarios.size() > 1;
	plan.metric_line = several_per_scenario || (any_secondary && metrics.size() > 1);
	if (scenarios.size() == 1)
		plan.corner.push_back(*scenarios.begin());
	if (!plan.metric_line && any_secondary)
		plan.corner.push_back(*metrics.begin());
	return plan;
}

/* Header slots, top to bottom: cpu, machine kind, kernel/label, scenario, parameters, metric. */
constexpr size_t kHeaderSlots = 6;
using HeaderSlots = std::vector<std::vector<std::string>>;

HeaderSlots headerSlots(const Comparison &c, const Column &col, const HeaderPlan &plan)
{
	HeaderSlots s(kHeaderSlots);
	KeyWords words = keyWords(col);
	s[2] = words.values;
	if (!col.machine.empty()) {
		for (const auto &f : c.files)
			if (f.machine.full() == col.machine) {
				s[0].push_back(f.machine.cpu);
				s[1].push_back(f.machine.kind);
				break;
			}
	}
	if (plan.scenario_line)
		s[3].push_back(col.scenario);
	if (!words.params.empty())
		s[4] = wrapWords(fmt::format("{}", fmt::join(words.params, " ")), kHeaderWrap);
	if (plan.metric_line)
		s[5].push_back(col.metric);
	return s;
}

/*
 * Each column's header lines. A slot is as tall in every column (blank where a column
 * says less), so that a header line means the same across the table.
 */
std::vector<std::vector<std::string>> stackSlots(const std::vector<HeaderSlots> &slots)
{
	std::vector<size_t> height(kHeaderSlots, 0);
	for (const auto &s : slots)
		for (size_t k = 0; k < kHeaderSlots; k++)
			height[k] = std::max(height[k], s[k].size());
	std::vector<std::vector<std::string>> header(slots.size());
	for (size_t i = 0; i < slots.size(); i++)
		for (size_t k = 0; k < kHeaderSlots; k++)
			for (size_t l = 0; l < height[k]; l++)
				header[i].push_back(l < slots[i][k].size() ? slots[i][k][l] : "");
	return header;
}

/* Column i's unit line and cells: the value, its (%) and mark, its stdev. */
void addCellTexts(const Comparison &c, size_t i, Text &t)
{
	t.unit.push_back(c.columns[i].unit + " (%)");
	const Cell &base = c.cells[0][i];
	/* decimals from the baseline, or from the first row with a value when it has none */
	double reference = 0;
	for (size_t r = 0; r < c.rows.size() && !reference; r++)
		if (c.cells[r][i].ok())
			reference = c.cells[r][i].summary.mean;
	if (base.ok())
		reference = base.summary.mean;
	int decimals = decimalsFor(reference);
	for (size_t r = 0; r < c.rows.size(); r++) {
		const Cell &cell = c.cells[r][i];
		if (!cell.ok()) {
			/* "-": its files have no value here; "n/a": the row was not measured at all */
			t.value[i][r] = c.absent(r) ? "n/a" : "-";
			continue;
		}
		t.value[i][r] = fmt::format("{:.{}f}", cell.summary.mean, decimals);
		if (r == 0)
			t.pct[i][r] = "(0%)";
		else if (cell.compared && cell.change.percent)
			t.pct[i][r] = "(" + percentText(*cell.change.percent) + ")";
		std::string mark = markText(cell.change);
		if (!mark.empty())
			t.pct[i][r] += " " + mark;
		t.stdev[i][r] = cell.summary.n > 1 ? fmt::format("{:.1f}%", cell.summary.cv * 100) : "-";
	}
}

/* What a column header says, slot by slot; slots no column uses are dropped. */
Text buildText(const Comparison &c)
{
	Text t;
	HeaderPlan plan = planHeaders(c);
	t.corner = plan.corner;
	std::vector<HeaderSlots> slots;
	for (const auto &col : c.columns)
		slots.push_back(headerSlots(c, col, plan));
	t.header = stackSlots(slots);

	t.value.assign(c.columns.size(), std::vector<std::string>(c.rows.size()));
	t.pct = t.stdev = t.value;
	for (size_t i = 0; i < c.columns.size(); i++)
		addCellTexts(c, i, t);
	return t;
}

/* One column's cells as printed: the value right-aligned, then its (%) and mark. */
std::vector<std::string> cellTexts(const Text &t, size_t i, size_t rows)
{
	size_t vw = 0;
	for (size_t r = 0; r < rows; r++)
		vw = std::max(vw, t.value[i][r].size());
	std::vector<std::string> out;
	for (size_t r = 0; r < rows; r++)
		out.push_back(rstrip(padLeft(t.value[i][r], vw) + " " + t.pct[i][r]));
	return out;
}

struct Group {
	std::vector<std::string> header, cells, stdev;
	std::string unit;
	size_t w = 0, sw = 0; /* the value column, the stdev column (0 without --stdev) */

	size_t span() const { return w + (sw ? 3 + sw : 0); }
};

Group makeGroup(const Comparison &c, const Text &t, size_t i)
{
	Group g;
	g.header = t.header[i];
	g.unit = t.unit[i];
	g.cells = cellTexts(t, i, c.rows.size());
	g.w = g.unit.size();
	for (const auto &s : g.cells)
		g.w = std::max(g.w, s.size());
	if (c.options.stdev) {
		g.stdev = t.stdev[i];
		g.sw = 5; /* "stdev" */
		for (const auto &s : g.stdev)
			g.sw = std::max(g.sw, s.size());
	}
	for (const auto &h : g.header)
		if (h.size() > g.span())
			g.w += h.size() - g.span();
	return g;
}

size_t labelWidth(const Comparison &c, const Text &t)
{
	size_t lw = 0;
	for (const auto &r : c.rows)
		lw = std::max(lw, r.size());
	for (const auto &s : t.corner)
		lw = std::max(lw, s.size());
	return lw;
}

std::string renderTable(const Comparison &c, const Text &t, const std::vector<size_t> &cols)
{
	bool sd = c.options.stdev;
	size_t lw = labelWidth(c, t);
	std::vector<Group> groups;
	for (size_t i : cols)
		groups.push_back(makeGroup(c, t, i));
	size_t header_lines = std::max(t.corner.size(), groups.front().header.size());

	std::string out;
	auto line = [&](const std::string &label, auto part) {
		std::string l = pad(label, lw);
		for (const auto &g : groups)
			l += part(g);
		out += rstrip(l) + "\n";
	};
	auto rule = [&]() {
		std::string l(lw + 1, '-');
		for (const auto &g : groups) {
			l += "|" + std::string(g.w + 2, '-');
			if (sd)
				l += "|" + std::string(g.sw + 2, '-');
		}
		out += l + "\n";
	};
	/*
	 * Header lines span neighbours that say the same (the machine over its variants),
	 * as long as everything above them is the same too.
	 */
	auto same = [&](const Group &a, const Group &b, size_t h) {
		for (size_t k = 0; k <= h; k++)
			if (a.header[k] != b.header[k])
				return false;
		return !a.header[h].empty();
	};
	for (size_t h = 0; h < header_lines; h++) {
		std::string l = pad(h < t.corner.size() ? t.corner[h] : "", lw);
		for (size_t g = 0; g < groups.size();) {
			size_t width = groups[g].span(), end = g + 1;
			while (h < groups[g].header.size() && end < groups.size() && same(groups[g], groups[end], h))
				width += 3 + groups[end++].span();
			l += " | " + pad(h < groups[g].header.size() ? groups[g].header[h] : "", width);
			g = end;
		}
		out += rstrip(l) + "\n";
	}
	if (header_lines)
		rule();
	line("", [&](const Group &g) {
		return " | " + pad(g.unit, g.w) + (sd ? " | " + pad("stdev", g.sw) : "");
	});
	rule();
	for (size_t r = 0; r < c.rows.size(); r++)
		line(c.rows[r], [&](const Group &g) {
			return " | " + pad(g.cells[r], g.w) + (sd ? " | " + padLeft(g.stdev[r], g.sw) : "");
		});
	return out;
}

/*
 * Columns split so that each table fits the width. Columns under one spanning header
 * (a machine's variants) stay together when they fit in a table of their own; a
 * table always gets at least one column.
 */
std::vector<std::vector<size_t>> wrapColumns(const Comparison &c, const Text &t)
{
	size_t lw = labelWidth(c, t);
	std::vector<std::vector<size_t>> blocks;
	for (size_t i = 0; i < c.columns.size(); i++) {
		bool joins = i > 0 && !t.header[i].empty() && !t.header[i][0].empty() &&
			     t.header[i][0] == t.header[i - 1][0];
		if (!joins)
			blocks.emplace_back();
		blocks.back().push_back(i);
	}
	std::vector<std::vector<size_t>> tables;
	size_t used = 0;
	auto add = [&](size_t i, size_t w, bool fresh) {
		if (tables.empty() || fresh || used + w > c.options.width) {
			tables.emplace_back();
			used = lw;
		}
		tables.back().push_back(i);
		used += w;
	};
	for (const auto &block : blocks) {
		size_t bw = 0;
		std::vector<size_t> widths;
		for (size_t i : block) {
			widths.push_back(3 + makeGroup(c, t, i).span()); /* " | " + the column */
			bw += widths.back();
		}
		/* start the block on a new table when that keeps it whole */
		bool fresh = used + bw > c.options.width && lw + bw <= c.options.width;
		for (size_t k = 0; k < block.size(); k++)
			add(block[k], widths[k], fresh && k == 0);
	}
	return tables;
}

std::string csvField(const std::string &s)
{
	if (s.find_first_of(",\"\n") == std::string::npos)
		return s;
	std::string q = "\"";
	for (char ch : s)
		q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
	return q + "\"";
}

std::string number(double v)
{
	return fmt::format("{}", v);
}

const char *markName(const Change &ch)
{
	return ch.mark == Mark::Improvement ? "I" : ch.mark == Mark::Regression ? "R" : ch.conflicting ? "?" : "";
}

/* --- comparisonJson's parts ---------------------------------------------------------- */

nlohmann::json filesJson(const Comparison &c)
{
	using nlohmann::json;
	json files = json::array();
	for (const auto &f : c.files)
		files.push_back({{"path", f.path},
				 {"label", f.label},
				 {"kernel", f.kernel},
				 {"arch", f.arch},
				 {"machine", f.machine.full()},
				 {"machine_cpu", f.machine.cpu},
				 {"machine_kind", f.machine.kind},
				 {"machine_source", f.machine.source},
				 {"machine_evidence", f.machine.evidence},
				 {"cpu_model", f.env["cpu"]["model"]},
				 {"vm", f.env["virtualization"]["vm"]},
				 {"mem_total_bytes", f.env["mem_total_bytes"]},
				 {"created_utc", f.created_utc}});
	return files;
}

nlohmann::json rowsJson(const Comparison &c)
{
	using nlohmann::json;
	json rows = json::array();
	for (size_t r = 0; r < c.rows.size(); r++) {
		rows.push_back({{"name", c.rows[r]}, {"files", c.row_files[r]}});
		if (c.absent(r))
			rows.back()["absent"] = c.row_absent[r];
	}
	return rows;
}

nlohmann::json columnsJson(const Comparison &c)
{
	using nlohmann::json;
	json columns = json::array();
	Text t = buildText(c);
	for (size_t i = 0; i < c.columns.size(); i++) {
		const Column &col = c.columns[i];
		/* pairs, not an object: the order is the scenario's declaration order */
		json keys = json::array(), params = json::object();
		for (const auto &[k, v] : col.keys)
			keys.push_back({k, v});
		for (const auto &[k, v] : col.params)
			params[k] = v;
		std::vector<std::string> header;
		for (const auto &h : t.header[i])
			if (!h.empty())
				header.push_back(h);
		columns.push_back({{"title", columnTitle(col)},
				   {"header", header},
				   {"scenario", col.scenario},
				   {"metric", col.metric},
				   {"primary", col.primary},
				   {"unit", col.unit},
				   {"better", col.lower_is_better ? "lower" : "higher"},
				   {"machine", col.machine.empty() ? json(nullptr) : json(col.machine)},
				   {"keys", keys},
				   {"params", params}});
		/* An emulator's counts (qemu plugin): the plot must not pass them for hardware. */
		if (col.emulated)
			columns.back()["emulated"] = true;
	}
	return columns;
}

/* The change against the baseline row; null for a cell without one. */
nlohmann::json changeJson(const Comparison &c, size_t r, size_t i)
{
	using nlohmann::json;
	const Cell &cell = c.cells[r][i];
	if (!cell.compared)
		return nullptr;
	const Change &ch = cell.change;
	json change = {{"percent", ch.percent ? json(*ch.percent) : json(nullptr)},
		       {"significant", ch.significant},
		       {"mark", markName(ch)},
		       {"conflicting", ch.conflicting}};
	/* the baseline row is compared with itself: its test says nothing */
	if (ch.test && r > 0)
		change["test"] = {{"name", "mann-whitney-u"},
				  {"u", ch.test->u},
				  {"p", ch.test->p},
				  {"method", ch.test->exact ? "exact" : "normal"},
				  {"ties", ch.test->ties},
				  {"min_possible_p", minimumTwoSidedP(c.cells[0][i].summary.n, cell.summary.n)}};
	else
		change["test"] = nullptr;
	return change;
}

/*
 * What a plot of the samples in run order needs: each sample's place in its run (its
 * index where the file does not say: samples are stored in the order taken), its run
 * in a merged file, and the trend test the notes flag drift by.
 */
void addRunOrderJson(nlohmann::json &j, const Cell &cell)
{
	using nlohmann::json;
	bool recorded = !cell.run_order.empty() && cell.run_order.size() == cell.samples.size();
	std::vector<int> order = cell.run_order;
	if (!recorded) {
		order.resize(cell.samples.size());
		for (size_t k = 0; k < order.size(); k++)
			order[k] = static_cast<int>(k);
	}
	j["run_order"] = order;
	j["run_order_recorded"] = recorded;
	if (!cell.sample_runs.empty() && cell.sample_runs.size() == cell.samples.size())
		j["sample_runs"] = cell.sample_runs;
	j["drift"] = cell.trend ? json{{"tau", cell.trend->tau}, {"p", cell.trend->p}, {"flagged", cell.drifts()}}
				: json(nullptr);
}

nlohmann::json cellJson(const Comparison &c, size_t r, size_t i)
{
	using nlohmann::json;
	const Cell &cell = c.cells[r][i];
	json j = {{"row", r}, {"column", i}, {"present", cell.present}};
	if (cell.present) {
		j["file"] = cell.file;
		j["entry"] = cell.entry->name;
		j["status"] = statusName(cell.entry->status);
		j["reason"] = cell.entry->reason;
		j["params"] = json::object();
		for (const auto &[k, v] : cell.entry->params)
			j["params"][k] = v;
		j["samples"] = cell.samples;
		j["summary"] = cell.summary.toJson();
		j["ci95"] = cell.ci95 ? json{{"low", cell.ci95->low}, {"high", cell.ci95->high}} : json(nullptr);
		addRunOrderJson(j, cell);
	}
	j["change"] = changeJson(c, r, i);
	return j;
}

nlohmann::json cellsJson(const Comparison &c)
{
	nlohmann::json cells = nlohmann::json::array();
	for (size_t r = 0; r < c.rows.size(); r++)
		for (size_t i = 0; i < c.columns.size(); i++)
			cells.push_back(cellJson(c, r, i));
	return cells;
}

} /* namespace */

/* One line naming a column: "Apple M2 VM 16G fork order:9 map:pte". */
std::string columnTitle(const Column &col)
{
	std::vector<std::string> parts;
	if (!col.machine.empty())
		parts.push_back(col.machine);
	KeyWords words = keyWords(col);
	parts.insert(parts.end(), words.values.begin(), words.values.end());
	parts.push_back(col.scenario);
	parts.insert(parts.end(), words.params.begin(), words.params.end());
	return fmt::format("{}", fmt::join(parts, " "));
}

std::string formatCoverLetter(const Comparison &c)
{
	Text t = buildText(c);
	std::string out;
	auto tables = wrapColumns(c, t);
	for (size_t i = 0; i < tables.size(); i++) {
		if (i)
			out += "\n";
		out += renderTable(c, t, tables[i]);
	}
	return out + "\n" + coverLetterNotes(c);
}

std::string formatMarkdown(const Comparison &c)
{
	Text t = buildText(c);
	bool sd = c.options.stdev;
	std::vector<std::string> head{fmt::format("{}", fmt::join(t.corner, " "))}, align{":---"};
	for (size_t i = 0; i < c.columns.size(); i++) {
		std::vector<std::string> words;
		for (const auto &h : t.header[i])
			if (!h.empty())
				words.push_back(h);
		words.push_back(t.unit[i]);
		head.push_back(fmt::format("{}", fmt::join(words, " ")));
		align.push_back("---:");
		if (sd) {
			head.push_back("stdev");
			align.push_back("---:");
		}
	}
	auto row = [](const std::vector<std::string> &cells) {
		return fmt::format("| {} |\n", fmt::join(cells, " | "));
	};
	std::string out = row(head) + row(align);
	std::vector<std::vector<std::string>> texts;
	for (size_t i = 0; i < c.columns.size(); i++)
		texts.push_back(cellTexts(t, i, c.rows.size()));
	for (size_t r = 0; r < c.rows.size(); r++) {
		std::vector<std::string> cells{c.rows[r]};
		for (size_t i = 0; i < c.columns.size(); i++) {
			cells.push_back(trim(texts[i][r]));
			if (sd)
				cells.push_back(t.stdev[i][r]);
		}
		out += row(cells);
	}
	return out + "\n" + markdownNotes(c);
}

std::string formatCsv(const Comparison &c)
{
	std::string out = "row,column,scenario,entry,metric,unit,better,n,mean,median,stddev,cv_percent,min,max,"
			  "ci95_low,ci95_high,change_percent,p_value,test,mark,status,reason\n";
	for (size_t r = 0; r < c.rows.size(); r++)
		for (size_t i = 0; i < c.columns.size(); i++) {
			const Column &col = c.columns[i];
			const Cell &cell = c.cells[r][i];
			std::vector<std::string> f{c.rows[r], columnTitle(col), col.scenario,
						   cell.present ? cell.entry->name : "", col.metric, col.unit,
						   col.lower_is_better ? "lower" : "higher"};
			if (cell.ok()) {
				const Summary &s = cell.summary;
				f.insert(f.end(), {number(static_cast<double>(s.n)), number(s.mean), number(s.median),
						   number(s.stddev), number(s.cv * 100), number(s.min), number(s.max),
						   cell.ci95 ? number(cell.ci95->low) : "",
						   cell.ci95 ? number(cell.ci95->high) : ""});
			} else {
				f.insert(f.end(), 9, "");
			}
			bool tested = cell.compared && r > 0 && cell.change.test;
			f.push_back(cell.compared && cell.change.percent ? number(*cell.change.percent) : "");
			f.push_back(tested ? number(cell.change.test->p) : "");
			f.push_back(tested ? (cell.change.test->exact ? "exact" : "normal") : "");
			f.push_back(markName(cell.change));
			if (c.absent(r)) {
				f.push_back("n/a");
				f.push_back(c.row_absent[r]);
			} else {
				f.push_back(cell.present ? statusName(cell.entry->status) : "missing");
				f.push_back(cell.present ? cell.entry->reason : "");
			}
			std::vector<std::string> q;
			for (const auto &s : f)
				q.push_back(csvField(s));
			out += fmt::format("{}\n", fmt::join(q, ","));
		}
	return out;
}

nlohmann::json comparisonJson(const Comparison &c)
{
	std::vector<std::string> dims;
	for (const auto &d : c.column_dims)
		dims.push_back(d);
	return {{"pgtbench_compare", 1},
		{"alpha", c.options.alpha},
		{"rows_by", c.options.rows},
		{"column_dims", dims},
		{"baseline", c.baseline()},
		{"files", filesJson(c)},
		{"rows", rowsJson(c)},
		{"columns", columnsJson(c)},
		{"cells", cellsJson(c)},
		{"notes", c.notes}};
}

std::string formatComparison(const Comparison &c, const std::string &format)
{
	const std::string &layout = c.options.layout;
	if (std::find(kCompareLayouts.begin(), kCompareLayouts.end(), layout) == kCompareLayouts.end())
		throw UsageError(fmt::format("--layout {}: expected one of {}", layout, fmt::join(kCompareLayouts, ", ")));
	/* csv and json are a record per cell already: a tall one would be the same records */
	if (layout == "tall" && (format == "csv" || format == "json"))
		throw UsageError(fmt::format("--layout tall: for cover-letter and markdown ({} has a record per cell "
					     "in either layout)",
					     format));
	if (layout == "tall" && format == "cover-letter")
		return formatTallCoverLetter(c);
	if (layout == "tall" && format == "markdown")
		return formatTallMarkdown(c);
	if (format == "lkp")
		return formatLkp(c);
	if (format == "mmtests")
		return formatMmtests(c);
	if (format == "cover-letter")
		return formatCoverLetter(c);
	if (format == "markdown")
		return formatMarkdown(c);
	if (format == "csv")
		return formatCsv(c);
	if (format == "json")
		return comparisonJson(c).dump(2) + "\n";
	throw UsageError(fmt::format("--format {}: expected one of {}", format, fmt::join(kCompareFormats, ", ")));
}

} /* namespace pgt */
