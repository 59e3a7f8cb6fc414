/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `pgtbench compare`: results files from any machines and kernels merged into the
 * table kernel developers paste into a cover letter. Rows are labels (or kernels),
 * the first row is the baseline at 0%; columns are what differs between the entries
 * compared: the machine, and the parameters that make up the variant matrix
 * (order:9 map:pte).
 *
 * A cell only ever compares like with like: every entry in a column has the same
 * scenario, metric and parameters, except for those named as column dimensions. When
 * two results would meet in one column with different parameters (1G in one file,
 * 512M in the other), the comparison is refused with the parameter to put in
 * --columns, rather than a percentage between different measurements.
 *
 * The model (Comparison) is built once and rendered as cover-letter text, markdown,
 * CSV or JSON; the JSON is also what plots/pgtbench_plot.py draws from, so tables and
 * plots agree on every number and mark.
 */
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "stats.h"

namespace pgt {

/* What compare needs of a results file (results/schema.json); the rest stays in json. */
struct ResultsMetric {
	std::string unit;
	bool lower_is_better = true;
	std::vector<double> samples;
	std::string reason; /* why there are no samples (an unavailable counter) */
};

struct RecordedVariant {
	std::string name; /* "fork/size:1G/order:9/map:pte" */
	std::string scenario;
	std::string status; /* "ok", "skipped", "error" */
	std::string reason;
	std::string primary_metric;
	/* Parameters in the order the name lists them (the scenario's declaration order). */
	std::vector<std::pair<std::string, nlohmann::json>> params;
	/*
	 * Metric names, primary first, then as the file lists them, then the entry's
	 * counters (cycles, tlb_flush_calls.<site>): a count is compared like any metric,
	 * fewer being better.
	 */
	std::vector<std::string> metric_order;
	std::map<std::string, ResultsMetric> metrics;

	const nlohmann::json *param(const std::string &key) const;
};

/* "Apple M2" / "VM 16G": the two lines a column header gives a machine. */
struct MachineName {
	std::string cpu;
	std::string kind; /* "VM 16G", "Metal 512G", "16G" when it is not known which */

	std::string full() const { return kind.empty() ? cpu : cpu + " " + kind; }
};

struct ResultsFile {
	std::string path;
	std::string label;
	std::string kernel; /* env.kernel.release */
	std::string arch;
	MachineName machine;
	nlohmann::json env;
	std::string created_utc;
	std::vector<RecordedVariant> entries;
};

/* Reads and checks one results file; UsageError "<path>: <where>: <what>" when unusable. */
ResultsFile loadResultsFile(const std::string &path);
ResultsFile parseResultsFile(const nlohmann::json &doc, const std::string &path);

/*
 * Short, stable names for a results file's machine, like the seeds' "M2 VM 16G" and
 * "Altra Metal 512G": the CPU without marketing noise, VM or Metal, and MemTotal
 * rounded up to the memory size it came from.
 */
MachineName machineName(const nlohmann::json &env);
std::string shortCpuName(const std::string &model);
/* MemTotal is what the kernel left after its reservations: 527937536 kB -> "512G". */
std::string installedMemory(uint64_t mem_total_bytes);

/* "size_bytes": 1073741824 -> "size", "1G"; "order": 9 -> "order", "9". */
std::string paramDisplayName(const std::string &key);
std::string paramDisplayValue(const std::string &key, const nlohmann::json &value);

struct CompareOptions {
	/* Empty: each entry's primary metric. Names, stems ("teardown"), "primary", "all". */
	std::vector<std::string> metrics;
	/* "label", "kernel", or a parameter (its values become the rows: "strategy") */
	std::string rows = "label";
	/* Empty: automatic (machine when a row's files come from several machines). */
	std::vector<std::string> columns;
	double alpha = 0.05;
	bool stdev = false;
	size_t width = 80; /* cover-letter tables wrap into several beyond this */
};

struct Column {
	std::string scenario;
	std::string metric;
	std::string unit;
	bool lower_is_better = true;
	bool primary = true; /* the metric is its entries' primary metric */
	/* Column dimension and variant parameter values, display form: {"order", "9"}. */
	std::vector<std::pair<std::string, std::string>> keys;
	std::string machine; /* set when machine is a column dimension */
	/* Parameters shared by every entry of the column (those not in keys too). */
	std::vector<std::pair<std::string, nlohmann::json>> params;
};

struct Cell {
	bool present = false;
	size_t file = 0;
	const RecordedVariant *entry = nullptr;
	std::vector<double> samples;
	Summary summary;
	std::optional<Interval> ci95;
	bool compared = false; /* the baseline row has a value to compare with */
	Change change;

	bool ok() const { return present && entry->status == "ok" && summary.n > 0; }
};

/* Cells point into files: a Comparison moves, it is never copied. */
struct Comparison {
	Comparison() = default;
	Comparison(Comparison &&) = default;
	Comparison &operator=(Comparison &&) = default;
	Comparison(const Comparison &) = delete;
	Comparison &operator=(const Comparison &) = delete;

	CompareOptions options;
	std::vector<ResultsFile> files;
	std::vector<std::string> rows;
	std::vector<std::vector<size_t>> row_files;
	std::vector<std::string> column_dims; /* resolved: "machine", "kernel", "label", param keys */
	std::vector<Column> columns;
	std::vector<std::vector<Cell>> cells; /* [row][column] */
	std::vector<std::string> notes;	      /* what a reader of the table needs to know */

	const std::string &baseline() const { return rows.front(); }
};

/* Throws UsageError for unknown metrics or dimensions and for mismatched parameters. */
Comparison buildComparison(std::vector<ResultsFile> files, const CompareOptions &options);

/* The rendered forms; each ends with a newline. */
std::string formatCoverLetter(const Comparison &c);
std::string formatMarkdown(const Comparison &c);
std::string formatCsv(const Comparison &c);
nlohmann::json comparisonJson(const Comparison &c);

/* "cover-letter", "markdown", "csv", "json" */
std::string formatComparison(const Comparison &c, const std::string &format);
extern const std::vector<std::string> kCompareFormats;

} /* namespace pgt */
