/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Plots are drawn by plots/pgtbench_plot.py with Debian's matplotlib for
 * /usr/bin/python3 (not whatever python3 is first on PATH): the harness hands it the
 * comparison as JSON, so a plot shows exactly the numbers and marks of the table.
 */
#pragma once

#include <string>

#include "compare.h"

namespace pgt {

/* <source>/plots/pgtbench_plot.py */
std::string plotScript();

/*
 * Refuse up front what would make the plot fail after a long run: a name not ending
 * in .png or .svg, a directory that cannot be created, no matplotlib (UsageError).
 */
void checkPlotOutput(const std::string &out);

struct PlotOptions {
	/* The primary metrics' samples in run order, a small plot per variant: drift shows. */
	bool order_panel = true;
};

/* Draw the comparison into out; RuntimeError with the script's one-line reason. */
void plotComparison(const Comparison &c, const std::string &out, const PlotOptions &options = {});

/* "results/base-20261122-030000.json" -> "results/base-20261122-030000.png" */
std::string plotPathFor(const std::string &results_path);

} /* namespace pgt */
