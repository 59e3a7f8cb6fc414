// SPDX-License-Identifier: GPL-2.0
/*
 * A run's variants as test results (run --tap, run --lava): the LAVA id mapping, the
 * TAP and LAVA lines of ok, failed and skipped variants and of a metric with no samples,
 * and kselftest's exit codes.
 */
#include <gtest/gtest.h>

#include "errors.h"
#include "testresults.h"

using namespace pgt;

namespace {

RecordedVariant variant(const std::string &name, Status status, const std::string &reason,
			std::vector<double> samples = {})
{
	RecordedVariant v;
	v.name = name;
	v.scenario = name.substr(0, name.find('/'));
	v.status = status;
	v.reason = reason;
	v.primary_metric = "fork_ms";
	v.metric_order = {"fork_ms"};
	v.metrics["fork_ms"] = ResultsMetric{.unit = "ms", .samples = std::move(samples)};
	return v;
}

std::vector<TestOutcome> outcomes(std::vector<RecordedVariant> entries)
{
	ResultsFile f;
	f.entries = std::move(entries);
	return testOutcomes(f);
}

} /* namespace */

TEST(LavaCaseId, SlashesBecomeDotsColonsDashesAndAnythingElseUnderscores)
{
	EXPECT_EQ(lavaCaseId("fork/size:1G/order:9/map:pte"), "fork.size-1G.order-9.map-pte");
	EXPECT_EQ(lavaCaseId("null"), "null");
	EXPECT_EQ(lavaCaseId("a b;$(rm -rf)`x`'\"|&<>#*?\n"), "a_b___rm_-rf__x___________");
	EXPECT_EQ(lavaCaseId("vmalloc/case:fix_size_alloc_test/p:1"), "vmalloc.case-fix_size_alloc_test.p-1");
}

TEST(LavaCaseId, AnIdNeverStartsLikeAnOption)
{
	EXPECT_EQ(lavaCaseId(":x"), "_-x");
	EXPECT_EQ(lavaCaseId(""), "_");
}

TEST(LavaCaseIds, NamesThatMapToOneIdGetNumberedSuffixesThatTakeNoOtherVariantsId)
{
	EXPECT_EQ(lavaCaseIds({"a/b", "a.b", "a:b"}), (std::vector<std::string>{"a.b", "a.b.2", "a-b"}));
	/* "a.b.2" is a variant's own id: the second "a.b" skips it. */
	EXPECT_EQ(lavaCaseIds({"a/b", "a.b", "a.b.2"}), (std::vector<std::string>{"a.b", "a.b.3", "a.b.2"}));
}

TEST(LavaUnit, UnitsKeepToLavasCharactersAndPercentIsSpelledOut)
{
	EXPECT_EQ(lavaUnit("ms"), "ms");
	EXPECT_EQ(lavaUnit("count"), "count");
	EXPECT_EQ(lavaUnit("%"), "percent");
	EXPECT_EQ(lavaUnit("ns/op"), "ns_op");
	EXPECT_EQ(lavaUnit(""), "count");
}

TEST(TestOutcomes, AnOkVariantReportsItsPrimaryMetricsMedian)
{
	auto o = outcomes({variant("fork/size:1G/order:0", Status::Ok, "", {3, 1, 2, 100})});
	ASSERT_EQ(o.size(), 1u);
	EXPECT_EQ(o[0].metric, "fork_ms");
	EXPECT_EQ(o[0].unit, "ms");
	ASSERT_TRUE(o[0].median);
	EXPECT_DOUBLE_EQ(*o[0].median, 2.5);
}

TEST(FormatTap, OkFailedAndSkippedVariantsPrintAsKselftestDoesWithPlanAndTotals)
{
	auto o = outcomes({variant("fork/size:1G/order:0", Status::Ok, "", {1.234, 1.234, 1.5}),
			   variant("fork/size:1G/order:9/map:pte", Status::Error, "fork: ENOMEM\nat rep 3"),
			   variant("fork/size:1G/order:4", Status::Skipped, "order 4 not offered")});
	EXPECT_EQ(formatTap(o), "TAP version 13\n"
				"1..3\n"
				"ok 1 fork/size:1G/order:0 # fork_ms 1.234 ms\n"
				"not ok 2 fork/size:1G/order:9/map:pte # fork: ENOMEM at rep 3\n"
				"ok 3 fork/size:1G/order:4 # SKIP order 4 not offered\n"
				"# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0\n");
}

TEST(FormatTap, AnOkVariantWithoutSamplesOfItsMetricSaysSoAndANameCannotStartADirective)
{
	auto o = outcomes({variant("x/a:#SKIP", Status::Ok, "")});
	EXPECT_FALSE(o[0].median);
	EXPECT_EQ(formatTap(o), "TAP version 13\n1..1\nok 1 x/a:_SKIP # fork_ms not recorded\n"
				"# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n");
}

TEST(FormatLava, PassCarriesTheMedianAndUnitWhileFailAndSkipCarryTheirReasonInAComment)
{
	auto o = outcomes({variant("fork/size:1G/order:0", Status::Ok, "", {1e-5, 1e-5}),
			   variant("fork/size:1G/order:9", Status::Error, "boom $(reboot)\n`x`"),
			   variant("fork/size:1G/order:4", Status::Skipped, "not offered"),
			   variant("null", Status::Ok, "")});
	EXPECT_EQ(formatLava(o), "lava-test-case fork.size-1G.order-0 --result pass --measurement 0.00001 --units ms\n"
				 "# fork.size-1G.order-9: fail: boom $(reboot) `x`\n"
				 "lava-test-case fork.size-1G.order-9 --result fail\n"
				 "# fork.size-1G.order-4: skip: not offered\n"
				 "lava-test-case fork.size-1G.order-4 --result skip\n"
				 "lava-test-case null --result pass\n");
}

TEST(FormatLava, MeasurementsArePlainDecimalsNeverExponents)
{
	auto o = outcomes({variant("a", Status::Ok, "", {123456789.0}), variant("b", Status::Ok, "", {0.5})});
	EXPECT_EQ(formatLava(o), "lava-test-case a --result pass --measurement 123456789 --units ms\n"
				 "lava-test-case b --result pass --measurement 0.5 --units ms\n");
}

TEST(TestExitCode, FollowsKselftestPassWhenSomeRanFailOnAnyErrorSkipWhenNothingRan)
{
	auto ok = variant("a", Status::Ok, "", {1});
	auto skip = variant("b", Status::Skipped, "why");
	auto err = variant("c", Status::Error, "why");
	EXPECT_EQ(testExitCode(outcomes({ok, ok})), 0);
	EXPECT_EQ(testExitCode(outcomes({ok, skip})), 0);
	EXPECT_EQ(testExitCode(outcomes({ok, skip, err})), 1);
	EXPECT_EQ(testExitCode(outcomes({skip, err})), 1);
	EXPECT_EQ(testExitCode(outcomes({skip, skip})), kExitSkipped);
	EXPECT_EQ(kExitSkipped, 4); /* KSFT_SKIP */
}
