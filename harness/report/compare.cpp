// SPDX-License-Identifier: GPL-2.0
#include "compare.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "errors.h"
#include "util.h"

namespace pgt {

/* --- building the comparison -------------------------------------------------------- */

namespace {

constexpr const char *kAbsent = "-";

/* Appends x unless v has it already; either way, its index in v. Keeps first-seen order. */
template <typename T>
size_t addOnce(std::vector<T> &v, const T &x)
{
	auto it = std::find(v.begin(), v.end(), x);
	if (it != v.end())
		return static_cast<size_t>(it - v.begin());
	v.push_back(x);
	return v.size() - 1;
}

std::string paramValueOr(const RecordedVariant &e, const std::string &key)
{
	const nlohmann::json *v = e.param(key);
	return v ? paramDisplayValue(key, *v) : kAbsent;
}

bool paramRows(const CompareOptions &o)
{
	return o.rows != "label" && o.rows != "kernel";
}

/*
 * The row an entry belongs to: its file's label or kernel, or with a parameter as the
 * rows (--rows strategy: the seeds' map_mem table) the entry's value of it; nullopt for
 * entries that do not have that parameter.
 */
std::optional<std::string> rowKey(const ResultsFile &f, const RecordedVariant &e,
				  const CompareOptions &o, const std::string &row_param)
{
	if (o.rows == "kernel")
		return f.kernel;
	if (o.rows == "label")
		return f.label;
	const nlohmann::json *v = e.param(row_param);
	if (!v)
		return std::nullopt;
	return paramDisplayValue(row_param, *v);
}

/* Every parameter key in the files, in first-seen order. */
std::vector<std::string> allParamKeys(const std::vector<ResultsFile> &files)
{
	std::vector<std::string> keys;
	for (const auto &f : files)
		for (const auto &e : f.entries)
			for (const auto &[k, v] : e.params)
				addOnce(keys, k);
	return keys;
}

/* The parameter key --rows names ("strategy"), empty for rows by label or kernel. */
std::string resolveRowParam(const std::vector<ResultsFile> &files, const CompareOptions &o)
{
	if (!paramRows(o))
		return "";
	std::string row_param;
	for (const auto &k : allParamKeys(files))
		if (k == o.rows || paramDisplayName(k) == o.rows)
			row_param = k;
	if (row_param.empty()) {
		std::vector<std::string> known{"label", "kernel"};
		for (const auto &k : allParamKeys(files))
			known.push_back(paramDisplayName(k));
		throw UsageError(fmt::format("--rows {}: expected label, kernel or a parameter of these "
					     "files (known: {})",
					     o.rows, fmt::join(known, ", ")));
	}
	return row_param;
}

/*
 * Rows in first-seen order: the first file's label, or the first value of the parameter,
 * each with the files that have entries in it. Returns how many entries have no row
 * (without the rows' parameter).
 */
size_t assignRows(Comparison &c, const std::string &row_param)
{
	size_t left_out = 0;
	for (size_t fi = 0; fi < c.files.size(); fi++)
		for (const auto &e : c.files[fi].entries) {
			auto key = rowKey(c.files[fi], e, c.options, row_param);
			if (!key) {
				left_out++;
				continue;
			}
			size_t row = addOnce(c.rows, *key);
			if (row == c.row_files.size())
				c.row_files.emplace_back();
			addOnce(c.row_files[row], fi);
		}
	if (c.rows.empty())
		throw UsageError(fmt::format("--rows {}: no entry has that parameter", c.options.rows));
	return left_out;
}

/*
 * Stages that could not be measured, as rows after the measured ones that no file fills.
 * Refused where such a row could pass for a measured one or for another row.
 */
void addAbsentRows(Comparison &c)
{
	c.row_absent.assign(c.rows.size(), "");
	if (c.options.absent.empty())
		return;
	if (c.options.rows != "label")
		throw UsageError(fmt::format("--absent: its rows are labels, not --rows {}", c.options.rows));
	for (const auto &[label, reason] : c.options.absent) {
		if (label.empty())
			throw UsageError(fmt::format("--absent ={}: expected LABEL=REASON, the label of the stage "
						     "not measured",
						     reason));
		try {
			checkLabel(label);
		} catch (const UsageError &e) {
			throw UsageError(fmt::format("--absent {}: {}", label, e.what()));
		}
		if (reason.empty())
			throw UsageError(fmt::format("--absent {}=: expected the reason it was not measured", label));
		for (const auto &f : c.files)
			if (f.label == label)
				throw UsageError(fmt::format("--absent {}: the label of {}, which was measured", label,
							     f.path));
		if (std::find(c.rows.begin(), c.rows.end(), label) != c.rows.end())
			throw UsageError(fmt::format("--absent {}: given twice", label));
		c.rows.push_back(label);
		c.row_files.emplace_back();
		c.row_absent.push_back(reason);
	}
}

/*
 * Machines a name alone does not tell apart get a number each ("Neoverse-N1 #2 Metal
 * 512G"): files named by their CPU whose firmware differs (an Altra and a Graviton2
 * recorded before env.platform) are two machines, and a column holds one machine. A
 * known platform is one machine whatever named it (DMI on one box, the SoC ID on
 * another): its notes list each evidence.
 */
void numberNamesakes(std::vector<ResultsFile> &files)
{
	std::map<std::string, std::vector<MachineName>> seen; /* full name -> distinct machines */
	for (const auto &f : files) {
		auto &machines = seen[f.machine.full()];
		if (std::none_of(machines.begin(), machines.end(), [&](const auto &m) { return m.sameMachine(f.machine); }))
			machines.push_back(f.machine);
	}
	for (auto &f : files) {
		const auto &machines = seen[f.machine.full()];
		if (machines.size() < 2)
			continue;
		auto it = std::find_if(machines.begin(), machines.end(),
				       [&](const auto &m) { return m.sameMachine(f.machine); });
		f.machine.cpu += fmt::format(" #{}", it - machines.begin() + 1);
	}
}

/* Without --columns: a row whose files come from several machines spreads over a column each. */
std::vector<std::string> automaticDims(const std::vector<ResultsFile> &files,
				       const std::vector<std::vector<size_t>> &row_files)
{
	for (const auto &rf : row_files) {
		std::set<std::string> machines;
		for (size_t fi : rf)
			machines.insert(files[fi].machine.full());
		if (machines.size() > 1)
			return {"machine"};
	}
	return {};
}

/* One --columns name as a dimension: "machine", the other axis, or a parameter key. */
std::string resolveDim(const std::string &name, const CompareOptions &o, const std::vector<std::string> &keys)
{
	std::string other_axis = o.rows == "kernel" ? "label" : "kernel";
	std::string dim;
	if (name == "machine" || name == other_axis || (paramRows(o) && name == "label")) {
		dim = name;
	} else {
		for (const auto &k : keys)
			if (k == name || paramDisplayName(k) == name)
				dim = k;
	}
	if (!dim.empty() && paramRows(o) && (dim == o.rows || paramDisplayName(dim) == o.rows))
		throw UsageError(fmt::format("--columns {}: it is already the rows (--rows)", name));
	if (dim.empty()) {
		std::vector<std::string> known{"machine", other_axis};
		for (const auto &k : keys)
			known.push_back(paramDisplayName(k));
		throw UsageError(fmt::format("--columns: no dimension '{}' in these files (known: {})", name,
					     fmt::join(known, ", ")));
	}
	return dim;
}

std::vector<std::string> resolveDims(const std::vector<ResultsFile> &files, const CompareOptions &o,
				     const std::vector<std::vector<size_t>> &row_files)
{
	if (o.columns.empty())
		return automaticDims(files, row_files);
	std::vector<std::string> keys = allParamKeys(files);
	std::vector<std::string> dims;
	for (const auto &name : o.columns)
		addOnce(dims, resolveDim(name, o, keys));
	return dims;
}

/* The metrics of an entry that the table shows. */
std::vector<std::string> selectMetrics(const RecordedVariant &e, const std::vector<std::string> &wanted)
{
	if (wanted.empty())
		return {e.primary_metric};
	std::vector<std::string> out;
	for (const auto &w : wanted) {
		if (w == "all") {
			for (const auto &m : e.metric_order)
				addOnce(out, m);
		} else if (w == "primary") {
			addOnce(out, e.primary_metric);
		} else {
			for (const auto &m : e.metric_order) {
				/* "teardown" finds teardown_ms: names carry their unit, users may not */
				auto us = m.rfind('_');
				if (m == w || (us != std::string::npos && m.substr(0, us) == w))
					addOnce(out, m);
			}
		}
	}
	return out;
}

void checkMetricsExist(const std::vector<ResultsFile> &files, const std::vector<std::string> &wanted)
{
	std::vector<std::string> known;
	for (const auto &f : files)
		for (const auto &e : f.entries)
			for (const auto &m : e.metric_order)
				addOnce(known, m);
	for (const auto &w : wanted) {
		if (w == "all" || w == "primary")
			continue;
		bool found = false;
		for (const auto &f : files)
			for (const auto &e : f.entries)
				found |= !selectMetrics(e, {w}).empty();
		if (!found)
			throw UsageError(fmt::format("--metric: no metric '{}' in these files (known: {})", w,
						     fmt::join(known, ", ")));
	}
}

/* Parameters that tell a file's entries of one scenario apart: the variant matrix. */
std::map<std::string, std::set<std::string>> variantParams(const std::vector<ResultsFile> &files)
{
	std::map<std::string, std::set<std::string>> out;
	for (const auto &f : files) {
		std::map<std::string, std::vector<const RecordedVariant *>> by_scenario;
		for (const auto &e : f.entries)
			by_scenario[e.scenario].push_back(&e);
		for (const auto &[scenario, entries] : by_scenario) {
			std::set<std::string> keys;
			for (const auto *e : entries)
				for (const auto &[k, v] : e->params)
					keys.insert(k);
			for (const auto &k : keys) {
				std::set<std::string> values;
				for (const auto *e : entries)
					values.insert(paramValueOr(*e, k));
				if (values.size() > 1)
					out[scenario].insert(k);
			}
		}
	}
	return out;
}

std::string dimValue(const std::string &dim, const ResultsFile &f, const RecordedVariant &e)
{
	if (dim == "machine")
		return f.machine.full();
	if (dim == "kernel")
		return f.kernel;
	if (dim == "label")
		return f.label;
	return paramValueOr(e, dim);
}

std::string dimDisplay(const std::string &dim)
{
	return dim == "machine" || dim == "kernel" || dim == "label" ? dim : paramDisplayName(dim);
}

std::string suggestColumns(const std::vector<std::string> &dims, const std::string &add)
{
	std::vector<std::string> names;
	for (const auto &d : dims)
		names.push_back(dimDisplay(d));
	names.push_back(add);
	return fmt::format("{}", fmt::join(names, ","));
}

/* An entry where it was read: c.files[file].entries holds it. */
struct Placed {
	size_t file;
	const RecordedVariant *entry;
};

/*
 * Where entries go, once the rows and column dimensions are known: an entry's row, and
 * how its parameters count. Dimensions (the column dimensions, and the rows' parameter:
 * it never splits columns or blocks a cell) and the variant matrix of its scenario split
 * columns; every other parameter must be the same throughout a column.
 */
struct Axes {
	const Comparison &c;
	const std::string &row_param;
	std::map<std::string, std::set<std::string>> variants;

	const ResultsFile &file(const Placed &p) const { return c.files[p.file]; }
	std::optional<std::string> row(const ResultsFile &f, const RecordedVariant &e) const
	{
		return rowKey(f, e, c.options, row_param);
	}
	bool isDim(const std::string &k) const
	{
		const auto &dims = c.column_dims;
		return k == row_param || std::find(dims.begin(), dims.end(), k) != dims.end();
	}
	const std::set<std::string> &variantKeys(const std::string &scenario) const
	{
		static const std::set<std::string> none;
		auto it = variants.find(scenario);
		return it == variants.end() ? none : it->second;
	}
	/* "fork/size:1G (base, a.json)", for messages about an entry */
	std::string describe(const Placed &p) const
	{
		return fmt::format("{} ({}, {})", p.entry->name, row(file(p), *p.entry).value_or(kAbsent),
				   file(p).path);
	}
};

/* The column one metric of an entry belongs to, and what its header says. */
Column columnFor(const Axes &a, const Placed &p, const std::string &metric)
{
	const ResultsFile &f = a.file(p);
	const RecordedVariant &e = *p.entry;
	Column col;
	col.scenario = e.scenario;
	col.metric = metric;
	const ResultsMetric &rm = e.metrics.at(metric);
	col.unit = rm.unit;
	col.lower_is_better = rm.lower_is_better;
	col.primary = metric == e.primary_metric;
	col.emulated = rm.kind == "emulator";
	for (const auto &d : a.c.column_dims) {
		col.keys.emplace_back(dimDisplay(d), dimValue(d, f, e));
		if (d == "machine")
			col.machine = f.machine.full();
	}
	/* The variant's own parameters, in declaration order. */
	const auto &vkeys = a.variantKeys(e.scenario);
	for (const auto &[k, v] : e.params)
		if (vkeys.count(k) && !a.isDim(k))
			col.keys.emplace_back(paramDisplayName(k), paramDisplayValue(k, v));
	return col;
}

/* What makes two columns the same column: scenario, metric and keys. */
std::string columnId(const Axes &a, const RecordedVariant &e, const Column &col)
{
	std::string id = e.scenario + "\x1f" + col.metric;
	for (const auto &[k, v] : col.keys)
		id += "\x1f" + k + "=" + v;
	/* A variant without a parameter others have (order 0 has no map) differs too. */
	for (const auto &k : a.variantKeys(e.scenario))
		if (!a.isDim(k) && !e.param(k))
			id += "\x1f" + k + "=" + kAbsent;
	return id;
}

/* Which entry fills each cell, as entries are placed one by one. */
struct Placement {
	std::vector<std::string> column_ids;
	std::vector<Placed> column_first; /* the entry that opened each column */
	std::vector<std::vector<std::optional<Placed>>> cells; /* [row][column] */
};

/* The index of the column with this id; a new column opened by p when there is none. */
size_t findOrAddColumn(Comparison &c, Placement &placement, const std::string &id, Column col,
		       const Placed &p)
{
	size_t ci = addOnce(placement.column_ids, id);
	if (ci == c.columns.size()) {
		col.params = p.entry->params;
		c.columns.push_back(std::move(col));
		placement.column_first.push_back(p);
		for (auto &row : placement.cells)
			row.emplace_back();
	}
	return ci;
}

void checkSameUnit(const Axes &a, const Column &have, const Column &col, const Placed &p, const Placed &first)
{
	if (have.unit != col.unit || have.lower_is_better != col.lower_is_better)
		throw UsageError(fmt::format("{} has {} in {} ({} is better) but {} has it in {} ({} is better)",
					     a.describe(p), col.metric, col.unit,
					     col.lower_is_better ? "lower" : "higher", a.describe(first), have.unit,
					     have.lower_is_better ? "lower" : "higher"));
}

/*
 * Like with like: every parameter that is neither a dimension nor in the variant matrix
 * must match the column's first entry. A percentage between 1G and 512M would look like
 * a result; the refusal names the parameter to put in --columns instead.
 */
void checkLikeWithLike(const Axes &a, const Placed &p, const Placed &first)
{
	const RecordedVariant &e = *p.entry, &fe = *first.entry;
	const auto &vkeys = a.variantKeys(e.scenario);
	std::set<std::string> keys;
	for (const auto &[k, v] : e.params)
		keys.insert(k);
	for (const auto &[k, v] : fe.params)
		keys.insert(k);
	for (const auto &k : keys) {
		if (a.isDim(k) || vkeys.count(k))
			continue;
		std::string want = paramValueOr(fe, k), have = paramValueOr(e, k);
		if (want != have)
			throw UsageError(fmt::format("cannot compare {} with {}: {} differs ({} vs {}); "
						     "to show each {} in its own column: --columns {}",
						     a.describe(p), a.describe(first), paramDisplayName(k), have,
						     want, paramDisplayName(k),
						     suggestColumns(a.c.column_dims, paramDisplayName(k))));
	}
}

/* Two results for one cell: refused with what tells them apart, to put in --columns. */
void checkCellIsFree(const Axes &a, const std::optional<Placed> &slot, size_t row, const Placed &p)
{
	if (!slot)
		return;
	const ResultsFile &of = a.file(*slot), &f = a.file(p);
	const auto &dims = a.c.column_dims;
	const std::string &rows = a.c.options.rows;
	std::string differs;
	if (of.machine.full() != f.machine.full())
		differs = suggestColumns(dims, "machine");
	else if (of.kernel != f.kernel && rows != "kernel")
		differs = suggestColumns(dims, "kernel");
	else if (of.label != f.label && rows != "label")
		differs = suggestColumns(dims, "label");
	throw UsageError(fmt::format("row {} has two results for {}: {} and {}; {}", a.c.rows[row],
				     p.entry->name, of.path, f.path,
				     differs.empty() ? std::string("give the runs different --label values")
						     : "to show them side by side: --columns " + differs));
}

/* One metric of an entry into its cell, opening its column when it is the first. */
void placeMetric(Comparison &c, const Axes &a, Placement &placement, size_t row, const Placed &p,
		 const std::string &metric)
{
	Column col = columnFor(a, p, metric);
	std::string id = columnId(a, *p.entry, col);
	size_t ci = findOrAddColumn(c, placement, id, col, p);
	const Placed &first = placement.column_first[ci];
	checkSameUnit(a, c.columns[ci], col, p, first);
	checkLikeWithLike(a, p, first);
	checkCellIsFree(a, placement.cells[row][ci], row, p);
	placement.cells[row][ci] = p;
}

/* Every entry with a row into its columns (one per metric shown), in file order. */
Placement placeEntries(Comparison &c, const Axes &a)
{
	Placement placement;
	placement.cells.resize(c.rows.size());
	for (size_t fi = 0; fi < c.files.size(); fi++)
		for (const auto &e : c.files[fi].entries) {
			auto key = a.row(c.files[fi], e);
			if (!key)
				continue;
			auto row = static_cast<size_t>(std::find(c.rows.begin(), c.rows.end(), *key) - c.rows.begin());
			for (const auto &metric : selectMetrics(e, c.options.metrics))
				placeMetric(c, a, placement, row, Placed{fi, &e}, metric);
		}
	return placement;
}

/* The cells of the table: each placed entry's samples, summary and confidence interval. */
void fillCells(Comparison &c, const Placement &placement)
{
	c.cells.assign(c.rows.size(), std::vector<Cell>(c.columns.size()));
	for (size_t r = 0; r < c.rows.size(); r++)
		for (size_t col = 0; col < c.columns.size(); col++) {
			const auto &placed = placement.cells[r][col];
			if (!placed)
				continue;
			Cell &cell = c.cells[r][col];
			cell.present = true;
			cell.file = placed->file;
			cell.entry = placed->entry;
			if (cell.entry->ok())
				cell.samples = cell.entry->metrics.at(c.columns[col].metric).samples;
			cell.summary = summarize(cell.samples);
			cell.ci95 = meanConfidence(cell.summary);
			cell.trend = mannKendall(cell.samples);
			cell.run_order = cell.entry->run_order;
			cell.sample_runs = cell.entry->sample_runs;
		}
}

/* Why columns have no value: entries not run, by name; metrics not counted, by reason. */
struct EmptyReasons {
	std::vector<std::string> not_run;
	std::vector<std::pair<std::string, std::vector<std::string>>> uncounted; /* reason -> metrics */
};

void noteWhyEmpty(const Comparison &c, size_t col, EmptyReasons &why)
{
	for (size_t r = 0; r < c.rows.size(); r++) {
		const Cell &cell = c.cells[r][col];
		if (!cell.present)
			continue;
		if (!cell.entry->reason.empty()) {
			addOnce(why.not_run, fmt::format("not run: {}: {}", cell.entry->name, cell.entry->reason));
			continue;
		}
		const std::string &metric = c.columns[col].metric;
		std::string reason = cell.entry->metrics.at(metric).reason;
		if (reason.empty())
			reason = "no samples";
		auto it = std::find_if(why.uncounted.begin(), why.uncounted.end(),
				       [&](const auto &u) { return u.first == reason; });
		if (it == why.uncounted.end())
			it = why.uncounted.insert(why.uncounted.end(), {reason, {}});
		addOnce(it->second, metric);
	}
}

/* The table reduced to the columns listed, in their order. */
void keepColumns(Comparison &c, const std::vector<size_t> &keep)
{
	std::vector<Column> columns;
	std::vector<std::vector<Cell>> cells(c.rows.size());
	for (size_t col : keep) {
		columns.push_back(std::move(c.columns[col]));
		for (size_t r = 0; r < c.rows.size(); r++)
			cells[r].push_back(std::move(c.cells[r][col]));
	}
	c.columns = std::move(columns);
	c.cells = std::move(cells);
}

/*
 * Columns with no value in any row only say why, in the notes: skipped entries by
 * name, metrics nobody could count (a counter the CPU lacks) once per reason. Returns
 * those notes; refuses a comparison left without columns.
 */
std::vector<std::string> dropEmptyColumns(Comparison &c)
{
	EmptyReasons why;
	std::vector<size_t> keep;
	for (size_t col = 0; col < c.columns.size(); col++) {
		bool any = false;
		for (size_t r = 0; r < c.rows.size(); r++)
			any |= c.cells[r][col].ok();
		if (any)
			keep.push_back(col);
		else
			noteWhyEmpty(c, col, why);
	}
	for (const auto &[reason, metrics] : why.uncounted)
		why.not_run.push_back(fmt::format("no {}: {}", fmt::join(metrics, ", "), reason));
	keepColumns(c, keep);
	if (c.columns.empty())
		throw UsageError(fmt::format("nothing to compare: no entry has samples ({})",
					     why.not_run.empty() ? "no entries" : why.not_run.front()));
	return why.not_run;
}

/* Each cell against the baseline row's cell of its column: the change and its mark. */
void compareWithBaseline(Comparison &c)
{
	for (size_t col = 0; col < c.columns.size(); col++) {
		const Cell &base = c.cells[0][col];
		for (size_t r = 0; r < c.rows.size(); r++) {
			Cell &cell = c.cells[r][col];
			if (!cell.ok() || !base.ok())
				continue;
			cell.compared = true;
			cell.change = compareSamples(base.samples, cell.samples, c.columns[col].lower_is_better,
						     c.options.alpha);
			if (r == 0)
				cell.change.percent = 0.0;
		}
	}
}

/* --- the notes under the table ------------------------------------------------------- */

std::string formatCount(const std::set<size_t> &ns, const char *what)
{
	if (ns.empty())
		return "";
	if (ns.size() == 1)
		return fmt::format("{} {}{}", *ns.begin(), what, *ns.begin() == 1 ? "" : "s");
	return fmt::format("{}-{} {}s", *ns.begin(), *ns.rbegin(), what);
}

/* What the compared cells allow the Mann-Whitney test to say, for the legend. */
struct TestReach {
	std::set<size_t> counts; /* runs per cell with a value */
	bool any_compared = false, any_testable = false, any_untestable = false, conflicts = false;
	double smallest_min_p = 1;
	std::set<size_t> untestable_n; /* the smaller run count of pairs that cannot reach alpha */
};

TestReach testReach(const Comparison &c)
{
	TestReach t;
	for (size_t r = 0; r < c.rows.size(); r++)
		for (size_t col = 0; col < c.columns.size(); col++) {
			const Cell &cell = c.cells[r][col];
			if (!cell.ok())
				continue;
			t.counts.insert(cell.summary.n);
			if (r == 0 || !cell.compared)
				continue;
			t.any_compared = true;
			size_t base_n = c.cells[0][col].summary.n;
			double min_p = minimumTwoSidedP(base_n, cell.summary.n);
			t.smallest_min_p = std::min(t.smallest_min_p, min_p);
			if (min_p < c.options.alpha) {
				t.any_testable = true;
			} else {
				t.any_untestable = true;
				t.untestable_n.insert(std::min(base_n, cell.summary.n));
			}
			t.conflicts |= cell.change.conflicting;
		}
	return t;
}

/* What a cell shows, and what its marks mean or why there can be none. */
void addStatisticsNotes(Comparison &c)
{
	const double alpha = c.options.alpha;
	TestReach t = testReach(c);
	c.notes.push_back(fmt::format("mean of {}, (%) change of the mean vs {}", formatCount(t.counts, "run"),
				      c.baseline()));
	if (t.any_testable) {
		c.notes.push_back(fmt::format("(I)/(R): improvement/regression, Mann-Whitney U two-sided p < {}",
					      alpha));
		if (t.any_untestable)
			c.notes.push_back(fmt::format("cells from {} cannot reach p < {}: no mark possible there",
						      formatCount(t.untestable_n, "run"), alpha));
	} else if (t.any_compared) {
		if (*t.counts.rbegin() <= 1)
			c.notes.push_back("single samples: no test of significance, so no (I)/(R) marks");
		else
			c.notes.push_back(fmt::format("no (I)/(R) marks possible: with {} the smallest Mann-Whitney "
						      "p is {:.3g}, not below {}",
						      formatCount(t.untestable_n, "run"), t.smallest_min_p, alpha));
	}
	if (t.conflicts)
		c.notes.push_back(fmt::format("(?): p < {} but an outlier moved the mean against the shift of "
					      "the other samples: no mark",
					      alpha));
}

/* The machine, unless the columns name it: context a reader would otherwise ask for. */
void addMachineNote(Comparison &c)
{
	if (std::find(c.column_dims.begin(), c.column_dims.end(), "machine") != c.column_dims.end())
		return;
	std::vector<std::string> machines;
	for (const auto &f : c.files)
		addOnce(machines, fmt::format("{} ({})", f.machine.full(), f.arch));
	if (machines.size() == 1) {
		c.notes.push_back("machine: " + machines.front());
		return;
	}
	std::vector<std::string> per_row;
	for (size_t r = 0; r < c.rows.size(); r++) {
		if (c.absent(r))
			continue; /* on no machine: its own note says why */
		std::set<std::string> ms;
		for (size_t fi : c.row_files[r])
			ms.insert(c.files[fi].machine.full());
		per_row.push_back(fmt::format("{} on {}", c.rows[r], fmt::join(ms, ", ")));
	}
	c.notes.push_back(fmt::format("rows from different machines: {}", fmt::join(per_row, "; ")));
}

/*
 * What named each machine: "Ampere Altra Metal 512G: named by DMI sys_vendor Ampere(R),
 * ...". One named by its CPU says its firmware too: what tells namesakes apart.
 */
void addMachineEvidenceNotes(Comparison &c)
{
	std::vector<const MachineName *> machines;
	std::map<std::string, std::vector<std::string>> evidence;
	for (const auto &f : c.files) {
		if (evidence.find(f.machine.full()) == evidence.end())
			machines.push_back(&f.machine);
		addOnce(evidence[f.machine.full()], f.machine.evidence);
	}
	for (const auto *m : machines) {
		std::string note = fmt::format("{}: named by {}", m->full(), fmt::join(evidence[m->full()], "; "));
		if (!m->firmware.empty())
			note += "; firmware " + m->firmware;
		c.notes.push_back(note);
	}
}

/* The kernels, unless the rows are kernels or labels that say them already. */
void addKernelNote(Comparison &c)
{
	if (paramRows(c.options)) {
		std::vector<std::string> ks;
		for (const auto &f : c.files)
			addOnce(ks, f.kernel);
		c.notes.push_back(fmt::format("kernel{}: {}", ks.size() > 1 ? "s" : "", fmt::join(ks, ", ")));
		return;
	}
	if (c.options.rows != "label")
		return;
	std::vector<std::string> per_row;
	std::set<std::string> all;
	for (size_t r = 0; r < c.rows.size(); r++) {
		if (c.absent(r))
			continue;
		std::vector<std::string> ks;
		for (size_t fi : c.row_files[r])
			addOnce(ks, c.files[fi].kernel);
		all.insert(ks.begin(), ks.end());
		per_row.push_back(fmt::format("{} {}", c.rows[r], fmt::join(ks, ", ")));
	}
	/* rows labelled with their kernel release (the default label) say it already */
	bool named = true;
	for (size_t r = 0; r < c.rows.size(); r++)
		for (size_t fi : c.row_files[r])
			named &= c.files[fi].kernel == c.rows[r];
	if (all.size() == 1)
		c.notes.push_back("kernel: " + *all.begin());
	else if (!named)
		c.notes.push_back(fmt::format("kernels: {}", fmt::join(per_row, "; ")));
}

/* Why a cell of a kept column has no value or no change; empty when it has both. */
std::string whyNoValue(const Comparison &c, size_t r, size_t col)
{
	const Cell &cell = c.cells[r][col];
	const std::string &row = c.rows[r], &metric = c.columns[col].metric;
	if (!cell.present)
		return fmt::format("{}: not in its files", row);
	const RecordedVariant &e = *cell.entry;
	if (!e.ok())
		return fmt::format("{}: {} {}: {}", row, e.name, statusName(e.status), e.reason);
	if (!cell.summary.n) {
		const auto &m = e.metrics.at(metric);
		return m.reason.empty() ? fmt::format("{}: {} has no {} samples", row, e.name, metric)
					: fmt::format("{}: {}: no {}: {}", row, e.name, metric, m.reason);
	}
	if (r > 0 && !cell.compared)
		return fmt::format("{}: no {} value to compare {} with", row, c.baseline(), e.name);
	return "";
}

/* Cells without a value say why, once per reason; a row not measured says it once. */
void addMissingCellNotes(Comparison &c)
{
	for (size_t r = 0; r < c.rows.size(); r++)
		if (c.absent(r))
			c.notes.push_back(fmt::format("{}: not measured: {}", c.rows[r], c.row_absent[r]));
	std::vector<std::string> missing;
	for (size_t r = 0; r < c.rows.size(); r++)
		for (size_t col = 0; col < c.columns.size() && !c.absent(r); col++) {
			std::string why = whyNoValue(c, r, col);
			if (!why.empty())
				addOnce(missing, why);
		}
	for (const auto &m : missing)
		c.notes.push_back("- " + m);
}

/* What is not in the table: entries without a row, columns without a value. */
void addLeftOutNotes(Comparison &c, const std::string &row_param, size_t left_out,
		     const std::vector<std::string> &not_run)
{
	if (left_out)
		c.notes.push_back(fmt::format("- left out: {} entr{} without {}", left_out, left_out == 1 ? "y" : "ies",
					      paramDisplayName(row_param)));
	for (const auto &n : not_run)
		c.notes.push_back("- " + n);
}

/* Counts from an emulator are exact but no hardware figure: the table says so. */
void addEmulatedNote(Comparison &c)
{
	std::vector<std::string> names;
	for (const auto &col : c.columns)
		if (col.emulated)
			addOnce(names, col.metric);
	if (!names.empty())
		c.notes.push_back(fmt::format("emulated: {} counted exactly by qemu's TCG plugin in an emulated "
					      "arm64 machine, not by hardware",
					      fmt::join(names, ", ")));
}

/* A run during which the kernel warned may not be measuring what it claims. */
void addKernelLogNotes(Comparison &c)
{
	for (const auto &f : c.files) {
		if (!f.kernel_log || f.kernel_log->lines.empty())
			continue;
		unsigned n = f.kernel_log->warnings;
		c.notes.push_back(fmt::format("{}: the kernel logged {} warning{} during the run ({})", f.label, n,
					      n == 1 ? "" : "s", f.path));
	}
}

/* A cell whose samples trend in the order they were taken was measured on a moving machine. */
void addDriftNotes(Comparison &c)
{
	for (size_t r = 0; r < c.rows.size(); r++)
		for (size_t i = 0; i < c.columns.size(); i++) {
			const Cell &cell = c.cells[r][i];
			if (!cell.ok() || !c.columns[i].primary || !cell.drifts())
				continue;
			c.notes.push_back(fmt::format("{} {}: samples drift in the order they were taken "
						      "(Kendall tau {:+.2f}, p {:.2g}): interleave (run --order "
						      "interleave) or repeat",
						      c.rows[r], cell.entry->name, cell.trend->tau, cell.trend->p));
		}
}

void addNotes(Comparison &c, const std::string &row_param, size_t left_out,
	      const std::vector<std::string> &not_run)
{
	addKernelLogNotes(c);
	addDriftNotes(c);
	addStatisticsNotes(c);
	addEmulatedNote(c);
	addMachineNote(c);
	addMachineEvidenceNotes(c);
	addKernelNote(c);
	addMissingCellNotes(c);
	addLeftOutNotes(c, row_param, left_out, not_run);
}

} /* namespace */

Comparison buildComparison(std::vector<ResultsFile> files, const CompareOptions &options)
{
	if (files.empty())
		throw UsageError("nothing to compare: no results files");
	std::string row_param = resolveRowParam(files, options);
	if (!(options.alpha > 0 && options.alpha < 1))
		throw UsageError(fmt::format("--alpha {}: expected a probability between 0 and 1", options.alpha));
	checkMetricsExist(files, options.metrics);

	Comparison c;
	c.options = options;
	c.files = std::move(files);
	numberNamesakes(c.files);
	size_t left_out = assignRows(c, row_param);
	addAbsentRows(c);
	c.column_dims = resolveDims(c.files, options, c.row_files);
	Axes axes{c, row_param, variantParams(c.files)};
	fillCells(c, placeEntries(c, axes));
	std::vector<std::string> not_run = dropEmptyColumns(c);
	compareWithBaseline(c);
	addNotes(c, row_param, left_out, not_run);
	return c;
}

} /* namespace pgt */
