/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `compare --fail-on regression[:PCT]`: a comparison as a verdict a script can branch
 * on, in the exit codes `git bisect run` reads: 0 no significant regression, 1 a
 * significant regression of at least PCT % in some cell, 125 cannot tell (a variant
 * failed or is missing on one side, too few samples for the test, an unreadable file).
 * Every row after the baseline is judged against the baseline, as the table shows it.
 */
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compare.h"

namespace pgt {

/* git bisect run's codes: good, bad, skip this commit. */
constexpr int kGateNoRegression = 0;
constexpr int kGateRegression = 1;
constexpr int kGateCannotTell = 125;

struct GateVerdict {
	int exit_code = kGateNoRegression;
	std::vector<std::string> regressions; /* one line per regressed cell */
	std::vector<std::string> unknown;     /* one line per cell that could not be judged */
	size_t judged = 0;		      /* cells compared with the baseline */
	std::string summary;		      /* the last line: what was decided and why */
};

/* "regression" (any significant regression) or "regression:PCT" ("regression:5", "5%"); nullopt otherwise. */
std::optional<double> parseFailOn(const std::string &spec);

GateVerdict regressionGate(const Comparison &c, double min_percent);

} /* namespace pgt */
