/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Statistics of one metric's samples, and of two runs of it: descriptive summary,
 * Student t confidence interval of the mean, and the Mann-Whitney U test that decides
 * whether a change between two runs is marked (I)mprovement or (R)egression.
 *
 * Why Mann-Whitney: timings of kernel work are skewed and carry outliers (an interrupt,
 * a migration), so a rank test that assumes no distribution is safer than a t test;
 * Google Benchmark's tools/compare.py makes the same choice. The mean is still what
 * the tables report, as the mm threads do.
 *
 * Everything here is implemented from the textbook definitions (no library offers
 * them in C++ on Debian 12); tests/unit/test_stats.cpp checks them against scipy.
 */
#pragma once

#include <cstddef>
#include <optional>
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

struct Interval {
	double low = 0, high = 0;
};

/*
 * Two-sided confidence interval of the mean (Student t, n - 1 degrees of freedom) at
 * level (0.95 = 95%); nullopt below two samples, where there is no spread to go by.
 */
std::optional<Interval> meanConfidence(const Summary &s, double level = 0.95);

/* Regularized incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1. */
double incompleteBeta(double a, double b, double x);
/* Student t distribution with dof > 0 degrees of freedom: P(T <= t), and its inverse. */
double studentTCdf(double t, double dof);
double studentTQuantile(double p, double dof);
/* Standard normal distribution: P(Z <= z). */
double normalCdf(double z);

struct MannWhitney {
	double u = 0;	    /* U of the first sample: pairs (a, b) with a > b, ties count 1/2 */
	double p = 1;	    /* two-sided */
	bool exact = false; /* exact permutation distribution; else normal approximation */
	bool ties = false;  /* some value occurs more than once across both samples */
};

/*
 * Samples up to this many in total get the exact distribution, beyond it the normal
 * approximation (with tie and continuity correction, as scipy's "asymptotic" method):
 * at 40 the exact count is still instant, and the approximation is good from there on.
 */
constexpr size_t kMannWhitneyExactMax = 40;

/*
 * Two-sided Mann-Whitney U test of a against b; nullopt when either is empty.
 *
 * The exact p is the share of all C(n1 + n2, n1) ways of splitting the pooled samples
 * whose rank sum lies at least as far from its mean as the observed one, with tied
 * values given their mid-rank: the permutation distribution conditional on the ties,
 * so ties need no approximation. Without ties it equals scipy's method="exact".
 */
std::optional<MannWhitney> mannWhitneyU(const std::vector<double> &a, const std::vector<double> &b);

/*
 * The smallest two-sided p the exact test can give for these sample counts, 2 / C(n1 +
 * n2, n1) capped at 1: with 3 against 3 it is 0.1, so no change can reach p < 0.05,
 * and with single samples it is 1. Tables say so instead of printing no marks silently.
 */
double minimumTwoSidedP(size_t n1, size_t n2);

/*
 * Hodges-Lehmann estimate of how far b is shifted from a: the median of all pairwise
 * differences b[j] - a[i], the shift the rank test is about. 0 when either is empty.
 */
double hodgesLehmannShift(const std::vector<double> &a, const std::vector<double> &b);

/*
 * Mann-Kendall's test for a monotonic trend of samples in the order they were taken:
 * tau in [-1, 1] (Kendall's rank correlation with time) and the two-sided p of the
 * normal approximation with tie correction and continuity correction. A machine that
 * drifts (thermal, a neighbour VM, memory fragmenting) shows as a trend that no
 * comparison of means can tell from a real change. nullopt below kMinTrendSamples.
 */
struct Trend {
	double tau = 0;
	double p = 1;
	size_t n = 0;
};
constexpr size_t kMinTrendSamples = 8;
/* Stricter than a comparison's alpha: a run table tests every variant at once. */
constexpr double kDriftAlpha = 0.01;
std::optional<Trend> mannKendall(const std::vector<double> &samples);

enum class Mark { None, Improvement, Regression };

struct Change {
	std::optional<double> percent; /* of the base mean; nullopt when only the base mean is 0 */
	std::optional<MannWhitney> test;
	bool significant = false; /* p < alpha */
	Mark mark = Mark::None;
	/*
	 * Significant, but the mean moved against the rank shift (an outlier dragged it):
	 * neither mark would be honest next to that percentage, so there is none.
	 */
	bool conflicting = false;
};

/*
 * How other differs from base: % change of the mean and, when significant (p < alpha),
 * whether it is an improvement or a regression for a metric where lower (or higher)
 * is better. The mark needs the mean (the number printed next to it) and the
 * Hodges-Lehmann shift (what the test detected) not to move in opposite directions.
 */
Change compareSamples(const std::vector<double> &base, const std::vector<double> &other,
		      bool lower_is_better, double alpha = 0.05);

} /* namespace pgt */
