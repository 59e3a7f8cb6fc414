/* SPDX-License-Identifier: GPL-2.0 */
/* Descriptive statistics of one metric's samples. */
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgt {

struct Summary {
	size_t n = 0;
	double mean = 0, median = 0, stddev = 0, cv = 0, min = 0, max = 0;

	nlohmann::json toJson() const;
};

/* stddev is the sample standard deviation (n - 1); cv = stddev / mean. */
Summary summarize(const std::vector<double> &samples);

} /* namespace pgt */
