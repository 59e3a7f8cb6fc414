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

#include "results.h"
#include "stats.h"

namespace pgt {

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
	/*
	 * "wide": variants across, a row per label (the seeds' tables); "tall": a line per
	 * variant and metric, a column per label, one table however many variants.
	 */
	std::string layout = "wide";
	/*
	 * Stages that could not be measured (the build failed, the kernel did not boot), as
	 * (label, reason): a row each after the files' rows, every cell n/a, and the reason
	 * in the notes, so that a table of a patch stack still lists every stage.
	 */
	std::vector<std::pair<std::string, std::string>> absent;
};

struct Column {
	std::string scenario;
	std::string metric;
	std::string unit;
	bool lower_is_better = true;
	bool primary = true; /* the metric is its entries' primary metric */
	bool emulated = false; /* an emulator's count (qemu plugin), not a hardware figure */
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
	/* The samples' trend in the order they were taken; nullopt below kMinTrendSamples. */
	std::optional<Trend> trend;
	/*
	 * Per sample, its place among its run's repetitions and (merged files) its run, as
	 * the entry records them; empty where it does not (older files).
	 */
	std::vector<int> run_order, sample_runs;

	bool ok() const { return present && entry->ok() && summary.n > 0; }
	bool drifts() const { return trend && trend->p < kDriftAlpha; }
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
	std::vector<std::string> row_absent; /* per row: why it was not measured (--absent); "" */
	std::vector<std::string> column_dims; /* resolved: "machine", "kernel", "label", param keys */
	std::vector<Column> columns;
	std::vector<std::vector<Cell>> cells; /* [row][column] */
	std::vector<std::string> notes;	      /* what a reader of the table needs to know */

	const std::string &baseline() const { return rows.front(); }
	bool absent(size_t row) const { return !row_absent[row].empty(); }
};

/* Throws UsageError for unknown metrics or dimensions and for mismatched parameters. */
Comparison buildComparison(std::vector<ResultsFile> files, const CompareOptions &options);

/* The rendered forms; each ends with a newline. */
std::string formatCoverLetter(const Comparison &c);
std::string formatMarkdown(const Comparison &c);
std::string formatCsv(const Comparison &c);
nlohmann::json comparisonJson(const Comparison &c);

/* One line naming a column: "Apple M2 VM 16G fork order:9 map:pte". */
std::string columnTitle(const Column &col);

/*
 * The tall layouts (compare_tall.cpp), a line per variant and metric: Arm's
 * Benchmark | Result Class table as text and markdown, LKP's %stddev %change table,
 * mmtests compare-kernels' Amean rows. Each ends with the notes.
 */
std::string formatTallCoverLetter(const Comparison &c);
std::string formatTallMarkdown(const Comparison &c);
std::string formatLkp(const Comparison &c);
std::string formatMmtests(const Comparison &c);

/* A tall cell of a compared row: "(I) -33.27%", "+5.10%", "-0.40%"; "-" without a %. */
std::string changeCellText(const Change &ch);
/* The geometric mean; nullopt when empty or when a value is <= 0 or not finite. */
std::optional<double> geometricMean(const std::vector<double> &values);

/*
 * "cover-letter", "markdown", "csv", "json", "lkp", "mmtests"; c.options.layout picks
 * wide or tall for cover-letter and markdown (lkp and mmtests are tall by nature, csv
 * and json a record per cell). Throws UsageError for a format or layout it has not.
 */
std::string formatComparison(const Comparison &c, const std::string &format);
extern const std::vector<std::string> kCompareFormats;
extern const std::vector<std::string> kCompareLayouts;

} /* namespace pgt */
