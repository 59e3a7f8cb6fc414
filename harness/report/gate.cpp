// SPDX-License-Identifier: GPL-2.0
/*
 * The regression gate over a Comparison. A regression is what the table marks (R):
 * significant at the comparison's alpha, the mean and the rank shift agreeing, worse
 * for the metric's direction; --fail-on's PCT only raises the bar on its size. A cell
 * is unknown when its variant ran on one side only, failed, or has too few samples
 * for the test: a bisection step must then be skipped, never called good.
 */
#include "gate.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace pgt {

std::optional<double> parseFailOn(const std::string &spec)
{
	const std::string kind = "regression";
	if (spec == kind)
		return 0.0;
	if (spec.rfind(kind + ":", 0) != 0)
		return std::nullopt;
	std::string pct = spec.substr(kind.size() + 1);
	if (!pct.empty() && pct.back() == '%')
		pct.pop_back();
	if (pct.empty())
		return std::nullopt;
	char *end = nullptr;
	double v = std::strtod(pct.c_str(), &end);
	if (*end || !std::isfinite(v) || v < 0 || v >= 1e6)
		return std::nullopt;
	return v;
}

namespace {

/* "patched: fork/size:1G/order:0 fork_ms on Apple M2 VM 16G": the variant as `list` names it. */
std::string cellName(const Comparison &c, size_t row, size_t column)
{
	const Column &col = c.columns[column];
	const RecordedVariant *e = c.cells[row][column].entry;
	for (size_t r = 0; !e && r < c.rows.size(); r++)
		e = c.cells[r][column].entry;
	std::string what = e ? fmt::format("{} {}", e->name, col.metric) : columnTitle(col) + " " + col.metric;
	return fmt::format("{}: {}{}", c.rows[row], what, col.machine.empty() ? "" : " on " + col.machine);
}

/*
 * The smallest two-sided p-value the rank test can reach with n1 and n2 samples, one
 * sample set wholly above the other: 2 / C(n1 + n2, n1). Where even that is not below
 * alpha, "no significant regression" would be said of a test that could not find one.
 */
double smallestP(size_t n1, size_t n2)
{
	double ways = 1;
	for (size_t k = 1; k <= n2 && ways < 1e12; k++)
		ways = ways * static_cast<double>(n1 + k) / static_cast<double>(k);
	return std::min(1.0, 2.0 / ways);
}

/* Why a cell cannot be judged, "" when it can. */
std::string unknownReason(const Cell &base, const Cell &cell, double alpha)
{
	auto state = [](const Cell &x) -> std::string {
		if (!x.present)
			return "did not run";
		if (!x.entry->ok())
			return fmt::format("{}", x.entry->reason.empty() ? "failed" : x.entry->reason);
		return x.summary.n == 0 ? "no samples" : "";
	};
	if (std::string why = state(base); !why.empty())
		return "baseline " + why;
	if (std::string why = state(cell); !why.empty())
		return why;
	if (!cell.change.test || smallestP(base.summary.n, cell.summary.n) >= alpha)
		return fmt::format("too few samples for the test to reach p < {:g} ({} and {})", alpha,
				   base.summary.n, cell.summary.n);
	return {};
}

} /* namespace */

GateVerdict regressionGate(const Comparison &c, double min_percent)
{
	GateVerdict v;
	for (size_t i = 0; i < c.columns.size(); i++) {
		const Cell &base = c.cells[0][i];
		bool anywhere = false;
		for (size_t r = 0; r < c.rows.size(); r++)
			anywhere = anywhere || c.cells[r][i].ok();
		/* A variant no row measured (skipped everywhere alike) says nothing either way. */
		if (!anywhere)
			continue;
		for (size_t r = 1; r < c.rows.size(); r++) {
			if (c.absent(r)) {
				v.unknown.push_back(fmt::format("{}: not measured: {}", cellName(c, r, i), c.row_absent[r]));
				continue;
			}
			const Cell &cell = c.cells[r][i];
			if (std::string why = unknownReason(base, cell, c.options.alpha); !why.empty()) {
				v.unknown.push_back(fmt::format("{}: {}", cellName(c, r, i), why));
				continue;
			}
			v.judged++;
			const Change &ch = cell.change;
			if (ch.mark == Mark::Regression && ch.percent && std::abs(*ch.percent) >= min_percent)
				v.regressions.push_back(fmt::format("{}: {:+.2f}% (p={:.3g}, {} vs {} samples)",
								    cellName(c, r, i), *ch.percent, ch.test->p,
								    cell.summary.n, base.summary.n));
		}
	}
	std::string bar = min_percent > 0 ? fmt::format(" of at least {:g}%", min_percent) : "";
	if (!v.regressions.empty()) {
		v.exit_code = kGateRegression;
		v.summary = fmt::format("{} significant regression{}{} in {} cells compared with {}",
					v.regressions.size(), v.regressions.size() == 1 ? "" : "s", bar, v.judged,
					c.baseline());
	} else if (!v.unknown.empty() || v.judged == 0) {
		v.exit_code = kGateCannotTell;
		v.summary = fmt::format("cannot tell: {} cells could not be compared with {}, none of the {} "
					"compared regressed{}",
					v.unknown.size(), c.baseline(), v.judged, bar);
	} else {
		v.summary = fmt::format("no significant regression{} in {} cells compared with {}", bar, v.judged,
					c.baseline());
	}
	return v;
}

} /* namespace pgt */
