// SPDX-License-Identifier: GPL-2.0
#include "stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

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

namespace {

/*
 * Continued fraction of the incomplete beta function, evaluated with the modified
 * Lentz method (Numerical Recipes, 3rd ed., 6.4); converges fast for x < (a+1)/(a+b+2).
 */
double betaContinuedFraction(double a, double b, double x)
{
	constexpr double tiny = 1e-300;
	constexpr double eps = 1e-16;
	double qab = a + b, qap = a + 1, qam = a - 1;
	double c = 1, d = 1 - qab * x / qap;
	if (std::fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	double h = d;
	for (int m = 1; m <= 10000; m++) {
		double m2 = 2.0 * m;
		double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		d = 1 + aa * d;
		if (std::fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (std::fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1 + aa * d;
		if (std::fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (std::fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		double del = d * c;
		h *= del;
		if (std::fabs(del - 1) < eps)
			break;
	}
	return h;
}

/* P(T > t) for t >= 0, computed on the tail so that small probabilities stay exact. */
double studentTUpperTail(double t, double dof)
{
	return 0.5 * incompleteBeta(dof / 2, 0.5, dof / (dof + t * t));
}

} /* namespace */

double incompleteBeta(double a, double b, double x)
{
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	double lnfront = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
			 b * std::log1p(-x);
	double front = std::exp(lnfront);
	/* The fraction converges on one side of the mean; use the symmetry on the other. */
	if (x < (a + 1) / (a + b + 2))
		return front * betaContinuedFraction(a, b, x) / a;
	return 1 - front * betaContinuedFraction(b, a, 1 - x) / b;
}

double studentTCdf(double t, double dof)
{
	double tail = studentTUpperTail(std::fabs(t), dof);
	return t >= 0 ? 1 - tail : tail;
}

double studentTQuantile(double p, double dof)
{
	if (p <= 0)
		return -std::numeric_limits<double>::infinity();
	if (p >= 1)
		return std::numeric_limits<double>::infinity();
	if (p == 0.5)
		return 0;
	/* Solve P(T > t) = q on the tail (monotone in t) by bisection: slow but never wrong. */
	double q = p < 0.5 ? p : 1 - p;
	double lo = 0, hi = 1;
	while (studentTUpperTail(hi, dof) > q && hi < 1e300)
		hi *= 2;
	for (int i = 0; i < 2000 && hi - lo > 1e-15 * hi; i++) {
		double mid = (lo + hi) / 2;
		if (studentTUpperTail(mid, dof) > q)
			lo = mid;
		else
			hi = mid;
	}
	double t = (lo + hi) / 2;
	return p < 0.5 ? -t : t;
}

double normalCdf(double z)
{
	return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

std::optional<Interval> meanConfidence(const Summary &s, double level)
{
	if (s.n < 2)
		return std::nullopt;
	double dof = static_cast<double>(s.n - 1);
	double half = studentTQuantile(0.5 + level / 2, dof) * s.stddev / std::sqrt(static_cast<double>(s.n));
	return Interval{s.mean - half, s.mean + half};
}

namespace {

/*
 * Twice the mid-ranks of the pooled samples (integers, so the exact distribution can
 * be counted by rank sum without rounding), in the order a then b, plus the tie term
 * sum(t^3 - t) over groups of t equal values.
 */
std::vector<long> doubledMidRanks(const std::vector<double> &a, const std::vector<double> &b,
				  double &tie_term)
{
	size_t n = a.size() + b.size();
	std::vector<double> pooled(a);
	pooled.insert(pooled.end(), b.begin(), b.end());
	std::vector<size_t> order(n);
	std::iota(order.begin(), order.end(), 0);
	std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return pooled[i] < pooled[j]; });
	std::vector<long> ranks(n);
	tie_term = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && pooled[order[j + 1]] == pooled[order[i]])
			j++;
		/* positions i..j (0-based) share the mid-rank (i+1 + j+1) / 2 */
		long doubled = static_cast<long>(i + 1 + j + 1);
		for (size_t k = i; k <= j; k++)
			ranks[order[k]] = doubled;
		double t = static_cast<double>(j - i + 1);
		tie_term += t * t * t - t;
		i = j + 1;
	}
	return ranks;
}

/*
 * Exact two-sided p: count, over every way of picking k of the pooled scores, how
 * many rank sums are at least as far from the mean as the observed one. ways[j][s] is
 * the number of j-subsets of the scores seen so far with sum s.
 */
double exactP(const std::vector<long> &scores, size_t k, long observed)
{
	size_t n = scores.size();
	long total = std::accumulate(scores.begin(), scores.end(), 0L);
	std::vector<std::vector<double>> ways(k + 1, std::vector<double>(static_cast<size_t>(total) + 1, 0));
	ways[0][0] = 1;
	for (size_t i = 0; i < n; i++) {
		long c = scores[i];
		for (size_t j = std::min(i + 1, k); j >= 1; j--) {
			auto &to = ways[j];
			const auto &from = ways[j - 1];
			for (long s = total - c; s >= 0; s--)
				if (from[static_cast<size_t>(s)] != 0)
					to[static_cast<size_t>(s + c)] += from[static_cast<size_t>(s)];
		}
	}
	/* The mid-rank multiset is symmetric about (n+1)/2, so is the sum's distribution. */
	long mean = static_cast<long>(k) * static_cast<long>(n + 1);
	long dev = std::labs(observed - mean);
	double hit = 0, all = 0;
	for (long s = 0; s <= total; s++) {
		double w = ways[k][static_cast<size_t>(s)];
		all += w;
		if (std::labs(s - mean) >= dev)
			hit += w;
	}
	return std::min(1.0, hit / all);
}

} /* namespace */

std::optional<MannWhitney> mannWhitneyU(const std::vector<double> &a, const std::vector<double> &b)
{
	if (a.empty() || b.empty())
		return std::nullopt;
	size_t n1 = a.size(), n2 = b.size(), n = n1 + n2;
	double tie_term = 0;
	std::vector<long> ranks = doubledMidRanks(a, b, tie_term);
	long r1_doubled = std::accumulate(ranks.begin(), ranks.begin() + static_cast<long>(n1), 0L);
	double dn1 = static_cast<double>(n1), dn2 = static_cast<double>(n2), dn = static_cast<double>(n);

	MannWhitney r;
	r.u = r1_doubled / 2.0 - dn1 * (dn1 + 1) / 2;
	r.ties = tie_term > 0;
	if (n <= kMannWhitneyExactMax) {
		r.exact = true;
		/* Count subsets of the smaller side: same distribution, less work. */
		if (n1 <= n2) {
			r.p = exactP(ranks, n1, r1_doubled);
		} else {
			long r2_doubled = std::accumulate(ranks.begin() + static_cast<long>(n1), ranks.end(), 0L);
			r.p = exactP(ranks, n2, r2_doubled);
		}
		return r;
	}
	double mu = dn1 * dn2 / 2;
	double var = dn1 * dn2 / 12 * ((dn + 1) - tie_term / (dn * (dn - 1)));
	if (var <= 0) {
		r.p = 1; /* every value equal: nothing to tell apart */
		return r;
	}
	double u = std::max(r.u, dn1 * dn2 - r.u);
	double z = (u - mu - 0.5) / std::sqrt(var);
	r.p = std::clamp(2 * normalCdf(-z), 0.0, 1.0);
	return r;
}

double minimumTwoSidedP(size_t n1, size_t n2)
{
	if (!n1 || !n2)
		return 1;
	/* C(n1 + n2, n1) in floating point: only its size matters here. */
	double lnc = std::lgamma(static_cast<double>(n1 + n2 + 1)) - std::lgamma(static_cast<double>(n1 + 1)) -
		     std::lgamma(static_cast<double>(n2 + 1));
	return std::min(1.0, 2 * std::exp(-lnc));
}

double hodgesLehmannShift(const std::vector<double> &a, const std::vector<double> &b)
{
	std::vector<double> d;
	d.reserve(a.size() * b.size());
	for (double x : a)
		for (double y : b)
			d.push_back(y - x);
	if (d.empty())
		return 0;
	size_t mid = d.size() / 2;
	std::nth_element(d.begin(), d.begin() + static_cast<long>(mid), d.end());
	double upper = d[mid];
	if (d.size() % 2)
		return upper;
	double lower = *std::max_element(d.begin(), d.begin() + static_cast<long>(mid));
	return (lower + upper) / 2;
}

Change compareSamples(const std::vector<double> &base, const std::vector<double> &other,
		      bool lower_is_better, double alpha)
{
	Change c;
	Summary b = summarize(base), o = summarize(other);
	if (b.n && o.n && b.mean != 0)
		c.percent = (o.mean - b.mean) / std::fabs(b.mean) * 100.0;
	else if (b.n && o.n && o.mean == 0)
		c.percent = 0.0; /* nothing both times (a counter that stayed at 0) */
	c.test = mannWhitneyU(base, other);
	c.significant = c.test && c.test->p < alpha;
	if (!c.significant)
		return c;
	double shift = hodgesLehmannShift(base, other);
	double moved = o.mean - b.mean;
	/* A zero shift is what heavily tied samples (timer ticks) give: the mean decides. */
	if (moved != 0 && (shift == 0 || (shift > 0) == (moved > 0))) {
		bool better = lower_is_better ? moved < 0 : moved > 0;
		c.mark = better ? Mark::Improvement : Mark::Regression;
	} else {
		c.conflicting = true;
	}
	return c;
}

std::optional<Trend> mannKendall(const std::vector<double> &x)
{
	const size_t n = x.size();
	if (n < kMinTrendSamples)
		return std::nullopt;
	double s = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			s += (x[j] > x[i]) - (x[j] < x[i]);
	/* Ties shrink the variance of S: each group of t equal values takes t(t-1)(2t+5). */
	std::vector<double> sorted = x;
	std::sort(sorted.begin(), sorted.end());
	double ties = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && sorted[j] == sorted[i])
			j++;
		double t = static_cast<double>(j - i);
		ties += t * (t - 1) * (2 * t + 5);
		i = j;
	}
	double dn = static_cast<double>(n);
	double var = (dn * (dn - 1) * (2 * dn + 5) - ties) / 18;
	Trend r;
	r.n = n;
	r.tau = s / (dn * (dn - 1) / 2);
	if (var <= 0)
		return r; /* every sample equal: no trend */
	double z = s > 0 ? (s - 1) / std::sqrt(var) : s < 0 ? (s + 1) / std::sqrt(var) : 0;
	r.p = std::clamp(2 * normalCdf(-std::fabs(z)), 0.0, 1.0);
	return r;
}

} /* namespace pgt */
