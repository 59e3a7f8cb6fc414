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
				if (std::find(keys.begin(), keys.end(), k) == keys.end())
					keys.push_back(k);
	return keys;
}

std::vector<std::string> resolveDims(const std::vector<ResultsFile> &files, const CompareOptions &o,
				     const std::vector<std::string> &rows,
				     const std::vector<std::vector<size_t>> &row_files)
{
	std::vector<std::string> dims;
	std::vector<std::string> keys = allParamKeys(files);
	if (o.columns.empty()) {
		/* A row whose files come from several machines spreads over a column each. */
		for (size_t r = 0; r < rows.size(); r++) {
			std::set<std::string> machines;
			for (size_t fi : row_files[r])
				machines.insert(files[fi].machine.full());
			if (machines.size() > 1) {
				dims.push_back("machine");
				break;
			}
		}
		return dims;
	}
	std::string other_axis = o.rows == "kernel" ? "label" : "kernel";
	for (const auto &name : o.columns) {
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
		if (std::find(dims.begin(), dims.end(), dim) == dims.end())
			dims.push_back(dim);
	}
	return dims;
}

/* The metrics of an entry that the table shows. */
std::vector<std::string> selectMetrics(const RecordedVariant &e, const std::vector<std::string> &wanted)
{
	if (wanted.empty())
		return {e.primary_metric};
	std::vector<std::string> out;
	auto add = [&](const std::string &m) {
		if (std::find(out.begin(), out.end(), m) == out.end())
			out.push_back(m);
	};
	for (const auto &w : wanted) {
		if (w == "all") {
			for (const auto &m : e.metric_order)
				add(m);
		} else if (w == "primary") {
			add(e.primary_metric);
		} else {
			for (const auto &m : e.metric_order) {
				/* "teardown" finds teardown_ms: names carry their unit, users may not */
				auto us = m.rfind('_');
				if (m == w || (us != std::string::npos && m.substr(0, us) == w))
					add(m);
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
				if (std::find(known.begin(), known.end(), m) == known.end())
					known.push_back(m);
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

std::string describe(const ResultsFile &f, const RecordedVariant &e, const std::string &row)
{
	return fmt::format("{} ({}, {})", e.name, row, f.path);
}

std::string suggestColumns(const std::vector<std::string> &dims, const std::string &add)
{
	std::vector<std::string> names;
	for (const auto &d : dims)
		names.push_back(dimDisplay(d));
	names.push_back(add);
	return fmt::format("{}", fmt::join(names, ","));
}

struct Placed {
	size_t file;
	const RecordedVariant *entry;
};

std::string formatCount(const std::set<size_t> &ns, const char *what)
{
	if (ns.empty())
		return "";
	if (ns.size() == 1)
		return fmt::format("{} {}{}", *ns.begin(), what, *ns.begin() == 1 ? "" : "s");
	return fmt::format("{}-{} {}s", *ns.begin(), *ns.rbegin(), what);
}

void addNotes(Comparison &c)
{
	const auto &o = c.options;
	std::set<size_t> counts;
	bool any_compared = false, any_testable = false, any_untestable = false, conflicts = false;
	double smallest_min_p = 1;
	std::set<size_t> untestable_n;
	for (size_t r = 0; r < c.rows.size(); r++) {
		for (size_t col = 0; col < c.columns.size(); col++) {
			const Cell &cell = c.cells[r][col];
			if (!cell.ok())
				continue;
			counts.insert(cell.summary.n);
			if (r == 0 || !cell.compared)
				continue;
			any_compared = true;
			double min_p = minimumTwoSidedP(c.cells[0][col].summary.n, cell.summary.n);
			smallest_min_p = std::min(smallest_min_p, min_p);
			if (min_p < o.alpha) {
				any_testable = true;
			} else {
				any_untestable = true;
				untestable_n.insert(std::min(c.cells[0][col].summary.n, cell.summary.n));
			}
			conflicts |= cell.change.conflicting;
		}
	}
	c.notes.push_back(fmt::format("mean of {}, (%) change of the mean vs {}", formatCount(counts, "run"),
				      c.baseline()));
	if (any_testable) {
		c.notes.push_back(fmt::format("(I)/(R): improvement/regression, Mann-Whitney U two-sided p < {}",
					      o.alpha));
		if (any_untestable)
			c.notes.push_back(fmt::format("cells from {} cannot reach p < {}: no mark possible there",
						      formatCount(untestable_n, "run"), o.alpha));
	} else if (any_compared) {
		if (*counts.rbegin() <= 1)
			c.notes.push_back("single samples: no test of significance, so no (I)/(R) marks");
		else
			c.notes.push_back(fmt::format("no (I)/(R) marks possible: with {} the smallest Mann-Whitney "
						      "p is {:.3g}, not below {}",
						      formatCount(untestable_n, "run"), smallest_min_p, o.alpha));
	}
	if (conflicts)
		c.notes.push_back(fmt::format("(?): p < {} but an outlier moved the mean against the shift of "
					      "the other samples: no mark",
					      o.alpha));

	/* Context a reader would otherwise have to ask for. */
	bool machine_dim = std::find(c.column_dims.begin(), c.column_dims.end(), "machine") != c.column_dims.end();
	std::vector<std::string> machines, kernels;
	for (const auto &f : c.files) {
		std::string m = fmt::format("{} ({})", f.machine.full(), f.arch);
		if (std::find(machines.begin(), machines.end(), m) == machines.end())
			machines.push_back(m);
	}
	if (!machine_dim) {
		if (machines.size() == 1) {
			c.notes.push_back("machine: " + machines.front());
		} else {
			std::vector<std::string> per_row;
			for (size_t r = 0; r < c.rows.size(); r++) {
				std::set<std::string> ms;
				for (size_t fi : c.row_files[r])
					ms.insert(c.files[fi].machine.full());
				per_row.push_back(fmt::format("{} on {}", c.rows[r], fmt::join(ms, ", ")));
			}
			c.notes.push_back(fmt::format("rows from different machines: {}", fmt::join(per_row, "; ")));
		}
	}
	if (paramRows(o)) {
		std::vector<std::string> ks;
		for (const auto &f : c.files)
			if (std::find(ks.begin(), ks.end(), f.kernel) == ks.end())
				ks.push_back(f.kernel);
		c.notes.push_back(fmt::format("kernel{}: {}", ks.size() > 1 ? "s" : "", fmt::join(ks, ", ")));
	} else if (o.rows == "label") {
		std::vector<std::string> per_row;
		std::set<std::string> all;
		for (size_t r = 0; r < c.rows.size(); r++) {
			std::vector<std::string> ks;
			for (size_t fi : c.row_files[r])
				if (std::find(ks.begin(), ks.end(), c.files[fi].kernel) == ks.end())
					ks.push_back(c.files[fi].kernel);
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

	/* Cells without a value say why, once per reason. */
	std::vector<std::string> missing;
	for (size_t r = 0; r < c.rows.size(); r++)
		for (size_t col = 0; col < c.columns.size(); col++) {
			const Cell &cell = c.cells[r][col];
			std::string why;
			if (!cell.present)
				why = fmt::format("{}: not in its files", c.rows[r]);
			else if (!cell.entry->ok())
				why = fmt::format("{}: {} {}: {}", c.rows[r], cell.entry->name, statusName(cell.entry->status),
						  cell.entry->reason);
			else if (!cell.summary.n) {
				const auto &m = cell.entry->metrics.at(c.columns[col].metric);
				why = m.reason.empty() ? fmt::format("{}: {} has no {} samples", c.rows[r],
								     cell.entry->name, c.columns[col].metric)
						       : fmt::format("{}: {}: no {}: {}", c.rows[r], cell.entry->name,
								     c.columns[col].metric, m.reason);
			}
			else if (r > 0 && !cell.compared)
				why = fmt::format("{}: no {} value to compare {} with", c.rows[r], c.baseline(),
						  cell.entry->name);
			if (!why.empty() && std::find(missing.begin(), missing.end(), why) == missing.end())
				missing.push_back(why);
		}
	for (const auto &m : missing)
		c.notes.push_back("- " + m);
}

} /* namespace */

Comparison buildComparison(std::vector<ResultsFile> files, const CompareOptions &options)
{
	if (files.empty())
		throw UsageError("nothing to compare: no results files");
	std::string row_param;
	if (paramRows(options)) {
		for (const auto &k : allParamKeys(files))
			if (k == options.rows || paramDisplayName(k) == options.rows)
				row_param = k;
		if (row_param.empty()) {
			std::vector<std::string> known{"label", "kernel"};
			for (const auto &k : allParamKeys(files))
				known.push_back(paramDisplayName(k));
			throw UsageError(fmt::format("--rows {}: expected label, kernel or a parameter of these "
						     "files (known: {})",
						     options.rows, fmt::join(known, ", ")));
		}
	}
	if (!(options.alpha > 0 && options.alpha < 1))
		throw UsageError(fmt::format("--alpha {}: expected a probability between 0 and 1", options.alpha));
	checkMetricsExist(files, options.metrics);

	Comparison c;
	c.options = options;
	c.files = std::move(files);
	/* Rows in first-seen order: the first file's label, or the first value of the parameter. */
	size_t left_out = 0;
	for (size_t fi = 0; fi < c.files.size(); fi++)
		for (const auto &e : c.files[fi].entries) {
			auto key = rowKey(c.files[fi], e, options, row_param);
			if (!key) {
				left_out++;
				continue;
			}
			auto it = std::find(c.rows.begin(), c.rows.end(), *key);
			if (it == c.rows.end()) {
				c.rows.push_back(*key);
				c.row_files.emplace_back();
				it = c.rows.end() - 1;
			}
			auto &rf = c.row_files[static_cast<size_t>(it - c.rows.begin())];
			if (std::find(rf.begin(), rf.end(), fi) == rf.end())
				rf.push_back(fi);
		}
	if (c.rows.empty())
		throw UsageError(fmt::format("--rows {}: no entry has that parameter", options.rows));
	c.column_dims = resolveDims(c.files, options, c.rows, c.row_files);
	auto variants = variantParams(c.files);
	/* The rows' parameter is a dimension too: it never splits columns or blocks a cell. */
	auto isDim = [&](const std::string &k) {
		return k == row_param ||
		       std::find(c.column_dims.begin(), c.column_dims.end(), k) != c.column_dims.end();
	};

	std::vector<std::string> column_ids;
	std::vector<std::vector<std::optional<Placed>>> placed(c.rows.size());
	std::vector<Placed> column_first;
	for (size_t fi = 0; fi < c.files.size(); fi++) {
		const ResultsFile &f = c.files[fi];
		for (const auto &e : f.entries) {
			auto key = rowKey(f, e, options, row_param);
			if (!key)
				continue;
			size_t row = static_cast<size_t>(std::find(c.rows.begin(), c.rows.end(), *key) - c.rows.begin());
			const auto &vkeys = variants[e.scenario];
			for (const auto &metric : selectMetrics(e, options.metrics)) {
				Column col;
				col.scenario = e.scenario;
				col.metric = metric;
				const ResultsMetric &rm = e.metrics.at(metric);
				col.unit = rm.unit;
				col.lower_is_better = rm.lower_is_better;
				col.primary = metric == e.primary_metric;
				for (const auto &d : c.column_dims) {
					col.keys.emplace_back(dimDisplay(d), dimValue(d, f, e));
					if (d == "machine")
						col.machine = f.machine.full();
				}
				/* The variant's own parameters, in declaration order. */
				for (const auto &[k, v] : e.params)
					if (vkeys.count(k) && !isDim(k))
						col.keys.emplace_back(paramDisplayName(k), paramDisplayValue(k, v));
				std::string id = e.scenario + "\x1f" + metric;
				for (const auto &[k, v] : col.keys)
					id += "\x1f" + k + "=" + v;
				/* A variant without a parameter others have (order 0 has no map) differs too. */
				for (const auto &k : vkeys)
					if (!isDim(k) && !e.param(k))
						id += "\x1f" + k + "=" + kAbsent;

				auto it = std::find(column_ids.begin(), column_ids.end(), id);
				size_t ci = static_cast<size_t>(it - column_ids.begin());
				if (it == column_ids.end()) {
					column_ids.push_back(id);
					col.params = e.params;
					c.columns.push_back(col);
					column_first.push_back({fi, &e});
					for (auto &p : placed)
						p.emplace_back();
				}
				Column &have = c.columns[ci];
				const Placed &first = column_first[ci];
				const RecordedVariant &fe = *first.entry;
				const ResultsFile &ff = c.files[first.file];
				std::string frow = rowKey(ff, fe, options, row_param).value_or(kAbsent);
				if (have.unit != col.unit || have.lower_is_better != col.lower_is_better)
					throw UsageError(fmt::format(
						"{} has {} in {} ({} is better) but {} has it in {} ({} is better)",
						describe(f, e, c.rows[row]), metric, col.unit,
						col.lower_is_better ? "lower" : "higher", describe(ff, fe, frow), have.unit,
						have.lower_is_better ? "lower" : "higher"));
				/* Like with like: every other parameter must match the column's. */
				std::set<std::string> keys;
				for (const auto &[k, v] : e.params)
					keys.insert(k);
				for (const auto &[k, v] : fe.params)
					keys.insert(k);
				for (const auto &k : keys) {
					if (isDim(k) || vkeys.count(k))
						continue;
					std::string a = paramValueOr(fe, k), b = paramValueOr(e, k);
					if (a != b)
						throw UsageError(fmt::format(
							"cannot compare {} with {}: {} differs ({} vs {}); "
							"to show each {} in its own column: --columns {}",
							describe(f, e, c.rows[row]), describe(ff, fe, frow),
							paramDisplayName(k), b, a, paramDisplayName(k),
							suggestColumns(c.column_dims, paramDisplayName(k))));
				}
				auto &slot = placed[row][ci];
				if (slot) {
					const ResultsFile &of = c.files[slot->file];
					std::string differs;
					if (of.machine.full() != f.machine.full())
						differs = suggestColumns(c.column_dims, "machine");
					else if (of.kernel != f.kernel && options.rows != "kernel")
						differs = suggestColumns(c.column_dims, "kernel");
					else if (of.label != f.label && options.rows != "label")
						differs = suggestColumns(c.column_dims, "label");
					throw UsageError(fmt::format(
						"row {} has two results for {}: {} and {}; {}", c.rows[row], e.name, of.path,
						f.path,
						differs.empty() ? std::string("give the runs different --label values")
								: "to show them side by side: --columns " + differs));
				}
				slot = Placed{fi, &e};
			}
		}
	}

	c.cells.assign(c.rows.size(), std::vector<Cell>(c.columns.size()));
	for (size_t r = 0; r < c.rows.size(); r++)
		for (size_t col = 0; col < c.columns.size(); col++) {
			if (!placed[r][col])
				continue;
			Cell &cell = c.cells[r][col];
			cell.present = true;
			cell.file = placed[r][col]->file;
			cell.entry = placed[r][col]->entry;
			if (cell.entry->ok())
				cell.samples = cell.entry->metrics.at(c.columns[col].metric).samples;
			cell.summary = summarize(cell.samples);
			cell.ci95 = meanConfidence(cell.summary);
		}

	/*
	 * Columns with no value in any row only say why, in the notes: skipped entries by
	 * name, metrics nobody could count (a counter the CPU lacks) once per reason.
	 */
	std::vector<std::string> not_run;
	std::vector<std::pair<std::string, std::vector<std::string>>> uncounted; /* reason -> metrics */
	std::vector<size_t> keep;
	for (size_t col = 0; col < c.columns.size(); col++) {
		bool any = false;
		for (size_t r = 0; r < c.rows.size(); r++)
			any |= c.cells[r][col].ok();
		if (any) {
			keep.push_back(col);
			continue;
		}
		for (size_t r = 0; r < c.rows.size(); r++) {
			const Cell &cell = c.cells[r][col];
			if (!cell.present)
				continue;
			if (!cell.entry->reason.empty()) {
				std::string why = fmt::format("not run: {}: {}", cell.entry->name, cell.entry->reason);
				if (std::find(not_run.begin(), not_run.end(), why) == not_run.end())
					not_run.push_back(why);
				continue;
			}
			const std::string &metric = c.columns[col].metric;
			std::string why = cell.entry->metrics.at(metric).reason;
			if (why.empty())
				why = "no samples";
			auto it = std::find_if(uncounted.begin(), uncounted.end(),
					       [&](const auto &u) { return u.first == why; });
			if (it == uncounted.end())
				it = uncounted.insert(uncounted.end(), {why, {}});
			if (std::find(it->second.begin(), it->second.end(), metric) == it->second.end())
				it->second.push_back(metric);
		}
	}
	for (const auto &[why, metrics] : uncounted)
		not_run.push_back(fmt::format("no {}: {}", fmt::join(metrics, ", "), why));
	std::vector<Column> columns;
	std::vector<std::vector<Cell>> cells(c.rows.size());
	for (size_t col : keep) {
		columns.push_back(std::move(c.columns[col]));
		for (size_t r = 0; r < c.rows.size(); r++)
			cells[r].push_back(std::move(c.cells[r][col]));
	}
	c.columns = std::move(columns);
	c.cells = std::move(cells);
	if (c.columns.empty())
		throw UsageError(fmt::format("nothing to compare: no entry has samples ({})",
					     not_run.empty() ? "no entries" : not_run.front()));

	for (size_t col = 0; col < c.columns.size(); col++) {
		const Cell &base = c.cells[0][col];
		for (size_t r = 0; r < c.rows.size(); r++) {
			Cell &cell = c.cells[r][col];
			if (!cell.ok() || !base.ok())
				continue;
			cell.compared = true;
			cell.change = compareSamples(base.samples, cell.samples, c.columns[col].lower_is_better,
						     options.alpha);
			if (r == 0)
				cell.change.percent = 0.0;
		}
	}
	addNotes(c);
	if (left_out)
		c.notes.push_back(fmt::format("- left out: {} entr{} without {}", left_out, left_out == 1 ? "y" : "ies",
					      paramDisplayName(row_param)));
	for (const auto &n : not_run)
		c.notes.push_back("- " + n);
	return c;
}

} /* namespace pgt */
