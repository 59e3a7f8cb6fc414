// SPDX-License-Identifier: GPL-2.0
/*
 * The statistics behind every table: reference values come from scipy (and, for the
 * Mann-Whitney U test with ties, from enumerating every split), written by
 * tests/fixtures/results/make_stats_oracle.py into stats-oracle.json.
 */
#include <cmath>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "stats.h"

using namespace pgt;

namespace {

/* A reference: a temporary would die before the range-for over one of its members. */
const nlohmann::json &oracle()
{
	static nlohmann::json doc = [] {
		std::ifstream in(FIXTURES "/results/stats-oracle.json");
		EXPECT_TRUE(in.good()) << "missing " FIXTURES "/results/stats-oracle.json";
		return nlohmann::json::parse(in);
	}();
	return doc;
}

/* One table of the oracle; never empty, or a loop over it would test nothing. */
const nlohmann::json &cases(const char *name)
{
	const nlohmann::json &c = oracle()[name];
	EXPECT_GE(c.size(), 5u) << name;
	return c;
}

/*
 * Deterministic samples: mt19937_64's output is fixed by the standard, and the normal
 * deviates come from our own Box-Muller so no library's distribution code is involved.
 */
class Draws
{
public:
	explicit Draws(uint64_t seed) : rng_(seed) {}
	double uniform() { return (static_cast<double>(rng_() >> 11) + 0.5) / 9007199254740992.0; }
	double normal(double mean, double sd)
	{
		double u1 = uniform(), u2 = uniform();
		return mean + sd * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
	}
	std::vector<double> normals(size_t n, double mean, double sd)
	{
		std::vector<double> v;
		for (size_t i = 0; i < n; i++)
			v.push_back(normal(mean, sd));
		return v;
	}
	/* Skewed like kernel timings: log-normal body, now and then a 3x outlier. */
	std::vector<double> timings(size_t n, double median_ms, double cv)
	{
		std::vector<double> v;
		for (size_t i = 0; i < n; i++) {
			double x = median_ms * std::exp(normal(0, cv));
			if (uniform() < 0.05)
				x *= 3;
			v.push_back(x);
		}
		return v;
	}

private:
	std::mt19937_64 rng_;
};

} /* namespace */

TEST(Summary, SampleStandardDeviationAndEvenMedian)
{
	Summary s = summarize({2, 4, 4, 4, 5, 5, 7, 9});
	EXPECT_EQ(s.n, 8u);
	EXPECT_DOUBLE_EQ(s.mean, 5);
	EXPECT_DOUBLE_EQ(s.median, 4.5);
	EXPECT_NEAR(s.stddev, std::sqrt(32.0 / 7), 1e-12);
	EXPECT_NEAR(s.cv, std::sqrt(32.0 / 7) / 5, 1e-12);
	EXPECT_DOUBLE_EQ(s.min, 2);
	EXPECT_DOUBLE_EQ(s.max, 9);
}

TEST(Summary, EmptyAndSingleSampleHaveNoSpread)
{
	EXPECT_EQ(summarize({}).n, 0u);
	Summary one = summarize({3.5});
	EXPECT_DOUBLE_EQ(one.mean, 3.5);
	EXPECT_DOUBLE_EQ(one.stddev, 0);
	EXPECT_FALSE(meanConfidence(one));
}

TEST(Distributions, IncompleteBetaMatchesScipy)
{
	for (const auto &c : cases("incomplete_beta"))
		EXPECT_NEAR(incompleteBeta(c["a"], c["b"], c["x"]), c["value"].get<double>(), 1e-12)
			<< "a=" << c["a"] << " b=" << c["b"] << " x=" << c["x"];
}

/* scipy 1.10's t.ppf itself is off by up to 2e-9 (relative) in the far tails, see below. */
TEST(Distributions, StudentTQuantileMatchesScipy)
{
	for (const auto &c : cases("t_quantile")) {
		double want = c["value"];
		EXPECT_NEAR(studentTQuantile(c["p"], c["dof"]), want, 1e-8 * std::max(1.0, std::fabs(want)))
			<< "p=" << c["p"] << " dof=" << c["dof"];
	}
}

/* One and two degrees of freedom have closed forms: these pin the last digits. */
TEST(Distributions, StudentTQuantileMatchesClosedForms)
{
	for (double p : {0.0005, 0.025, 0.1, 0.4, 0.6, 0.9, 0.975, 0.99, 0.9995}) {
		double cauchy = std::tan(M_PI * (p - 0.5));
		double two = (2 * p - 1) / std::sqrt(2 * p * (1 - p));
		EXPECT_NEAR(studentTQuantile(p, 1), cauchy, 1e-12 * std::fabs(cauchy)) << "p=" << p;
		EXPECT_NEAR(studentTQuantile(p, 2), two, 1e-12 * std::fabs(two)) << "p=" << p;
	}
}

TEST(Distributions, StudentTCdfMatchesScipy)
{
	for (const auto &c : cases("t_cdf"))
		EXPECT_NEAR(studentTCdf(c["t"], c["dof"]), c["value"].get<double>(), 1e-12)
			<< "t=" << c["t"] << " dof=" << c["dof"];
}

TEST(Distributions, StudentTQuantileKnownTableValues)
{
	/* The 97.5% column every statistics textbook prints. */
	EXPECT_NEAR(studentTQuantile(0.975, 1), 12.7062047, 1e-6);
	EXPECT_NEAR(studentTQuantile(0.975, 9), 2.2621572, 1e-6);
	EXPECT_NEAR(studentTQuantile(0.025, 9), -2.2621572, 1e-6);
	EXPECT_NEAR(studentTQuantile(0.975, 1e6), 1.959966, 1e-5);
}

TEST(Distributions, NormalCdfMatchesScipy)
{
	for (const auto &c : cases("normal_cdf"))
		EXPECT_NEAR(normalCdf(c["z"]), c["value"].get<double>(), 1e-14) << "z=" << c["z"];
}

TEST(Confidence, MeanIntervalMatchesScipyTInterval)
{
	for (const auto &c : cases("mean_ci")) {
		auto samples = c["samples"].get<std::vector<double>>();
		auto ci = meanConfidence(summarize(samples), c["level"]);
		ASSERT_TRUE(ci);
		EXPECT_NEAR(ci->low, c["low"].get<double>(), 1e-9) << "n=" << samples.size();
		EXPECT_NEAR(ci->high, c["high"].get<double>(), 1e-9) << "n=" << samples.size();
	}
}

TEST(MannWhitney, UAndPMatchScipyOrEnumeration)
{
	for (const auto &c : cases("mann_whitney")) {
		auto a = c["a"].get<std::vector<double>>();
		auto b = c["b"].get<std::vector<double>>();
		auto r = mannWhitneyU(a, b);
		ASSERT_TRUE(r) << c["name"];
		EXPECT_DOUBLE_EQ(r->u, c["u"].get<double>()) << c["name"];
		double want = c["p"];
		EXPECT_NEAR(r->p, want, 1e-9 + 1e-7 * want) << c["name"];
		EXPECT_EQ(r->exact, a.size() + b.size() <= kMannWhitneyExactMax) << c["name"];
	}
}

TEST(MannWhitney, SymmetricInItsArguments)
{
	Draws d(7);
	auto a = d.normals(9, 1, 0.1);
	auto b = d.normals(13, 1.05, 0.1);
	auto ab = mannWhitneyU(a, b), ba = mannWhitneyU(b, a);
	EXPECT_NEAR(ab->p, ba->p, 1e-12);
	EXPECT_DOUBLE_EQ(ab->u + ba->u, 9.0 * 13);
}

TEST(MannWhitney, EmptySampleHasNoTest)
{
	EXPECT_FALSE(mannWhitneyU({}, {1, 2}));
	EXPECT_FALSE(mannWhitneyU({1}, {}));
}

TEST(MannWhitney, SmallestPossiblePBoundsWhatTheExactTestCanReach)
{
	EXPECT_DOUBLE_EQ(minimumTwoSidedP(1, 1), 1);
	EXPECT_NEAR(minimumTwoSidedP(3, 3), 0.1, 1e-12);
	EXPECT_NEAR(minimumTwoSidedP(10, 10), 2.0 / 184756, 1e-15);
	/* and the test reaches that bound when the samples do not overlap at all */
	EXPECT_NEAR(mannWhitneyU({1, 2, 3}, {4, 5, 6})->p, 0.1, 1e-12);
	EXPECT_DOUBLE_EQ(mannWhitneyU({1}, {2})->p, 1);
}

TEST(Change, PercentOfTheBaseMeanWithDirectionPerMetric)
{
	Change slower = compareSamples({10, 10.1, 9.9}, {12, 12.1, 11.9}, true);
	EXPECT_NEAR(*slower.percent, 20, 1e-9);
	/* 3 vs 3 cannot reach p < 0.05: no mark however clear the change looks */
	EXPECT_FALSE(slower.significant);
	EXPECT_EQ(slower.mark, Mark::None);

	std::vector<double> base{10, 10.1, 9.9, 10.2, 9.8}, more{12, 12.1, 11.9, 12.2, 11.8};
	EXPECT_EQ(compareSamples(base, more, true).mark, Mark::Regression);
	EXPECT_EQ(compareSamples(base, more, false).mark, Mark::Improvement);
	EXPECT_EQ(compareSamples(more, base, true).mark, Mark::Improvement);
	EXPECT_FALSE(compareSamples({0, 0}, {1, 1}, true).percent);
	EXPECT_EQ(compareSamples({0, 0}, {0, 0}, true).percent, 0.0);
}

TEST(Change, TimerTicksTieTheShiftAtZeroAndTheMeanDecides)
{
	/* 20 and 30 ns ticks: the median difference is 0, the means differ clearly */
	std::vector<double> base(60, 20.0), other(60, 20.0);
	for (size_t i = 0; i < 30; i++)
		base[i] = 30;
	for (size_t i = 0; i < 10; i++)
		other[i] = 30;
	Change c = compareSamples(base, other, true);
	EXPECT_DOUBLE_EQ(hodgesLehmannShift(base, other), 0);
	EXPECT_TRUE(c.significant);
	EXPECT_EQ(c.mark, Mark::Improvement);
	EXPECT_FALSE(c.conflicting);
}

TEST(Change, SingleSamplesGiveAPercentButNeverAMark)
{
	Change c = compareSamples({153}, {77}, true);
	EXPECT_NEAR(*c.percent, (77.0 - 153) / 153 * 100, 1e-12);
	ASSERT_TRUE(c.test);
	EXPECT_DOUBLE_EQ(c.test->p, 1);
	EXPECT_EQ(c.mark, Mark::None);
}

/*
 * A/A: the same distribution twice, at the default 10 repetitions, 20 times over; a
 * test at alpha 0.05 may flag about 1 of them, more means it is miscalibrated.
 */
TEST(Calibration, AATwentyComparisonsFlagAtMostOne)
{
	Draws d(20261122);
	int flagged = 0;
	for (int i = 0; i < 20; i++) {
		auto a = d.timings(10, 2.5, 0.01);
		auto b = d.timings(10, 2.5, 0.01);
		flagged += compareSamples(a, b, true).significant;
	}
	EXPECT_LE(flagged, 1);
}

/* The same over many comparisons: the false-positive rate is near alpha, not above it. */
TEST(Calibration, AAFalsePositiveRateStaysAtAlpha)
{
	Draws d(42);
	int flagged = 0, trials = 2000;
	for (int i = 0; i < trials; i++) {
		auto a = d.normals(10, 100, 1);
		auto b = d.normals(10, 100, 1);
		flagged += compareSamples(a, b, true).significant;
	}
	double rate = static_cast<double>(flagged) / trials;
	/* the exact test is conservative (its real size at n=10 is 0.043); 2000 trials: sd 0.0045 */
	EXPECT_LE(rate, 0.06);
	EXPECT_GE(rate, 0.025);
}

TEST(Calibration, AAWithLargeSamplesUsesTheNormalApproximationAndStaysAtAlpha)
{
	Draws d(43);
	int flagged = 0, trials = 1000;
	for (int i = 0; i < trials; i++) {
		auto a = d.timings(30, 1, 0.02);
		auto b = d.timings(30, 1, 0.02);
		auto r = compareSamples(a, b, true);
		EXPECT_FALSE(r.test->exact);
		flagged += r.significant;
	}
	EXPECT_LE(static_cast<double>(flagged) / trials, 0.07);
}

/* A/B: a 2% slowdown with 1% noise, at the default 10 repetitions, is found and is an (R). */
TEST(Calibration, ABTwoPercentShiftIsDetectedAsRegression)
{
	Draws d(20261123);
	int detected = 0;
	for (int i = 0; i < 20; i++) {
		auto a = d.normals(10, 2.5, 0.025);
		auto b = d.normals(10, 2.5 * 1.02, 2.5 * 1.02 * 0.01);
		Change c = compareSamples(a, b, true);
		detected += c.mark == Mark::Regression;
		EXPECT_NE(c.mark, Mark::Improvement);
	}
	EXPECT_GE(detected, 19);
}

/*
 * The same in skewed timings with outliers: the rank test still finds the 2% speed-up,
 * and where an outlier drags the mean the wrong way there is no mark rather than an (R).
 */
TEST(Calibration, ABTwoPercentShiftInSkewedTimingsIsDetected)
{
	Draws d(99);
	int detected = 0;
	for (int i = 0; i < 20; i++) {
		auto a = d.timings(10, 2.5, 0.01);
		auto b = d.timings(10, 2.5 * 0.98, 0.01);
		Change c = compareSamples(a, b, true);
		detected += c.mark == Mark::Improvement;
		EXPECT_NE(c.mark, Mark::Regression);
	}
	EXPECT_GE(detected, 16);
}

TEST(Change, NoMarkWhenAnOutlierDragsTheMeanAgainstTheShift)
{
	/* every other sample is 1% faster, but one 3x outlier makes the mean 17% slower */
	std::vector<double> base{2.50, 2.51, 2.49, 2.52, 2.48, 2.50, 2.51, 2.49, 2.50, 2.52};
	std::vector<double> other{2.47, 2.48, 2.46, 2.49, 2.45, 2.47, 2.48, 2.46, 2.47, 7.40};
	Change c = compareSamples(base, other, true);
	EXPECT_TRUE(c.significant);
	EXPECT_GT(*c.percent, 10);
	EXPECT_LT(hodgesLehmannShift(base, other), 0);
	EXPECT_EQ(c.mark, Mark::None);
	EXPECT_TRUE(c.conflicting);
}

TEST(Change, HodgesLehmannIsTheMedianPairwiseDifference)
{
	EXPECT_DOUBLE_EQ(hodgesLehmannShift({1, 2, 3}, {11, 12, 13}), 10);
	EXPECT_DOUBLE_EQ(hodgesLehmannShift({0, 10}, {1, 2}), -3.5); /* {1, 2, -9, -8} */
	EXPECT_DOUBLE_EQ(hodgesLehmannShift({}, {1}), 0);
}

TEST(Trend, StrictlyRisingSamplesAreATrendWithTheTextbookStatistic)
{
	/* n = 10, S = 45, Var(S) = 10*9*25/18 = 125, z = 44/sqrt(125) = 3.9355. */
	auto t = mannKendall({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
	ASSERT_TRUE(t);
	EXPECT_DOUBLE_EQ(t->tau, 1.0);
	EXPECT_NEAR(t->p, 2 * normalCdf(-44 / std::sqrt(125.0)), 1e-12);
	EXPECT_LT(t->p, kDriftAlpha);
	auto down = mannKendall({10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
	EXPECT_DOUBLE_EQ(down->tau, -1.0);
	EXPECT_NEAR(down->p, t->p, 1e-12);
}

TEST(Trend, NoiseAroundALevelAndEqualSamplesAreNoTrend)
{
	auto t = mannKendall({5, 7, 4, 6, 5, 7, 4, 6, 5, 7, 4, 6});
	ASSERT_TRUE(t);
	EXPECT_GT(t->p, 0.5);
	auto flat = mannKendall(std::vector<double>(12, 3.0));
	ASSERT_TRUE(flat);
	EXPECT_EQ(flat->tau, 0);
	EXPECT_EQ(flat->p, 1);
}

TEST(Trend, TooFewSamplesAreNotTested)
{
	EXPECT_FALSE(mannKendall({1, 2, 3, 4, 5, 6, 7}));
}

TEST(Trend, TiesShrinkTheVarianceAsTheTieCorrectionSays)
{
	/* 1 1 2 2 ... 5 5 in order: S = 40 (the 5 tied pairs count 0), Var = (10*9*25 - 5*2*1*9)/18 = 120. */
	auto t = mannKendall({1, 1, 2, 2, 3, 3, 4, 4, 5, 5});
	ASSERT_TRUE(t);
	EXPECT_NEAR(t->tau, 40.0 / 45.0, 1e-12);
	EXPECT_NEAR(t->p, 2 * normalCdf(-39 / std::sqrt(120.0)), 1e-12);
}
