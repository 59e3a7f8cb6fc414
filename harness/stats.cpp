// SPDX-License-Identifier: GPL-2.0
#include "stats.h"

#include <algorithm>
#include <cmath>

namespace pgt {

Summary summarize(const std::vector<double> &samples)
{
	Summary s;
	s.n = samples.size();
	if (!s.n)
		return s;
	std::vector<double> v = samples;
	std::sort(v.begin(), v.end());
	s.min = v.front();
	s.max = v.back();
	s.median = s.n % 2 ? v[s.n / 2] : (v[s.n / 2 - 1] + v[s.n / 2]) / 2.0;
	double sum = 0;
	for (double x : v)
		sum += x;
	s.mean = sum / static_cast<double>(s.n);
	if (s.n > 1) {
		double ss = 0;
		for (double x : v)
			ss += (x - s.mean) * (x - s.mean);
		s.stddev = std::sqrt(ss / static_cast<double>(s.n - 1));
	}
	s.cv = s.mean != 0 ? s.stddev / std::fabs(s.mean) : 0;
	return s;
}

nlohmann::json Summary::toJson() const
{
	return {{"n", n},	    {"mean", mean}, {"median", median}, {"stddev", stddev},
		{"cv", cv},	    {"min", min},   {"max", max}};
}

} /* namespace pgt */
