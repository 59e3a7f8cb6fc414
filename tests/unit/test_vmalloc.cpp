// SPDX-License-Identifier: GPL-2.0
/*
 * The vmalloc scenario's pure logic: test_vmalloc's cases and vocabulary, the variants a
 * config gives, the preflight's memory, the per-op arithmetic over the storm threads,
 * and the CPUs those threads get.
 */
#include <gtest/gtest.h>

#include "env_fixture.h"

#include <fstream>
#include <sched.h>
#include <unistd.h>

#include "config.h"
#include "runner.h"
#include "thread_cpus.h"
#include "vmalloc_cases.h"

using namespace pgt;

namespace {

const ScenarioSpec &vmallocSpec()
{
	const ScenarioSpec *s = findScenario("vmalloc");
	if (!s)
		throw std::runtime_error("no vmalloc scenario");
	return *s;
}

std::vector<std::string> names(const std::vector<Params> &points)
{
	std::vector<std::string> out;
	for (const auto &p : points)
		out.push_back(variantName(vmallocSpec(), p));
	return out;
}

ParamLists lists(std::vector<std::string> cases, std::vector<int64_t> p, std::vector<int64_t> h,
		 std::vector<int64_t> threads = {1})
{
	/* Whole vectors, as test_plan.cpp builds them (GCC 12 misjudges variant push_back). */
	ParamLists l;
	l["case"] = std::vector<ParamValue>(cases.begin(), cases.end());
	l["p"] = std::vector<ParamValue>(p.begin(), p.end());
	l["h"] = std::vector<ParamValue>(h.begin(), h.end());
	l["loops"] = std::vector<ParamValue>(1, int64_t{100});
	l["threads"] = std::vector<ParamValue>(threads.begin(), threads.end());
	l["seed"] = std::vector<ParamValue>(1, int64_t{7});
	return l;
}

pgtbench_vmalloc_storm storm(uint64_t loops, uint64_t alloc_calls, uint64_t alloc_ns, uint64_t free_ns,
			     uint64_t loop_ns, uint64_t case_ns)
{
	pgtbench_vmalloc_storm s = {};
	s.loops = s.loops_done = loops;
	s.alloc_calls = s.free_calls = alloc_calls;
	s.alloc_ns = alloc_ns;
	s.free_ns = free_ns;
	s.loop_ns = loop_ns;
	s.case_ns = case_ns;
	return s;
}

} /* namespace */

TEST(VmallocCases, NamedAsTestVmallocWithOrWithoutTheTestSuffix)
{
	ASSERT_NE(findVmallocCase("fix_size_alloc"), nullptr);
	EXPECT_EQ(findVmallocCase("fix_size_alloc_test"), findVmallocCase("fix_size_alloc"));
	EXPECT_EQ(findVmallocCase("long_busy_list_alloc_test")->id, PGTBENCH_VMALLOC_LONG_BUSY_LIST_ALLOC);
	EXPECT_EQ(findVmallocCase("kvfree_rcu_1_arg_vmalloc_test"), nullptr);
	EXPECT_EQ(findVmallocCase(""), nullptr);
}

TEST(VmallocCases, TableFollowsTheAbiNumbering)
{
	const auto &cases = vmallocCases();
	ASSERT_EQ(cases.size(), static_cast<size_t>(PGTBENCH_VMALLOC_NR_CASES));
	for (size_t i = 0; i < cases.size(); i++)
		EXPECT_EQ(cases[i].id, i) << cases[i].name;
}

TEST(VmallocCases, SizesAreTestVmallocsOwn)
{
	EXPECT_EQ(findVmallocCase("fix_size_alloc")->default_pages, 1u);
	EXPECT_EQ(findVmallocCase("full_fit_alloc")->default_pages, 1u);
	EXPECT_EQ(findVmallocCase("long_busy_list_alloc")->default_pages, 100u);
	EXPECT_EQ(findVmallocCase("random_size_alloc")->default_pages, 100u);
	EXPECT_EQ(findVmallocCase("fix_align_alloc")->default_pages, 5u);
	EXPECT_EQ(findVmallocCase("random_size_align_alloc")->default_pages, 10u);
	EXPECT_EQ(findVmallocCase("vm_map_ram")->default_pages, 1u);
}

TEST(VmallocCases, NrPagesAndUseHugeReachTheCasesTheyReachInTestVmalloc)
{
	std::vector<std::string> sized, huge;
	for (const auto &c : vmallocCases()) {
		if (c.takes_pages)
			sized.push_back(c.name);
		if (c.takes_huge)
			huge.push_back(c.name);
	}
	EXPECT_EQ(sized, (std::vector<std::string>{"fix_size_alloc", "vm_map_ram", "vmap"}));
	EXPECT_EQ(huge, (std::vector<std::string>{"fix_size_alloc"}));
}

TEST(VmallocPoints, ParametersACaseDoesNotTakeAreLeftOutOfItsVariants)
{
	auto got = names(expandVmallocPoints(
		vmallocSpec(), lists({"fix_size_alloc", "pcpu_alloc", "vm_map_ram", "random_size_alloc"},
				     {512}, {0, 1})));
	EXPECT_EQ(got, (std::vector<std::string>{
			       "vmalloc/case:fix_size_alloc/p:512/h:0/loops:100/threads:1",
			       "vmalloc/case:fix_size_alloc/p:512/h:1/loops:100/threads:1",
			       "vmalloc/case:pcpu_alloc/loops:100/threads:1/seed:7",
			       "vmalloc/case:vm_map_ram/p:512/loops:100/threads:1",
			       "vmalloc/case:random_size_alloc/loops:100/threads:1/seed:7",
		       }));
}

TEST(VmallocPoints, PZeroBecomesTheCasesSizeAndCoincidingVariantsRunOnce)
{
	auto got = names(expandVmallocPoints(
		vmallocSpec(), lists({"fix_size_alloc", "vmap"}, {0, 1, 256}, {0}, {1, 2})));
	EXPECT_EQ(got, (std::vector<std::string>{
			       "vmalloc/case:fix_size_alloc/p:1/h:0/loops:100/threads:1",
			       "vmalloc/case:fix_size_alloc/p:1/h:0/loops:100/threads:2",
			       "vmalloc/case:fix_size_alloc/p:256/h:0/loops:100/threads:1",
			       "vmalloc/case:fix_size_alloc/p:256/h:0/loops:100/threads:2",
			       "vmalloc/case:vmap/p:256/loops:100/threads:1",
			       "vmalloc/case:vmap/p:256/loops:100/threads:2",
			       "vmalloc/case:vmap/p:1/loops:100/threads:1",
			       "vmalloc/case:vmap/p:1/loops:100/threads:2",
		       }));
}

TEST(VmallocPlan, SkipsWithoutTheModuleNamingKmod)
{
	RunConfig c = defaultConfig();
	c.scenarios.erase(std::remove_if(c.scenarios.begin(), c.scenarios.end(),
					 [](const ScenarioConfig &s) { return s.spec->name != "vmalloc"; }),
			  c.scenarios.end());
	ASSERT_EQ(c.scenarios.size(), 1u);
	auto entries = planVariants(c, fixtureEnv("altra-metal"));
	/* The default storm: test_vmalloc's default run_test_mask 7 (its first three cases). */
	ASSERT_EQ(entries.size(), 3u);
	for (const auto &e : entries) {
		EXPECT_EQ(e.status, Status::Skipped) << e.name;
		EXPECT_NE(e.reason.find("--kmod"), std::string::npos) << e.reason;
	}
}

TEST(VmallocMemory, UseHugeHoldsWholePmds)
{
	const VmallocCase &c = *findVmallocCase("fix_size_alloc");
	uint64_t small = vmallocStormBytes(c, 1, false, 4096, 2);
	uint64_t huge = vmallocStormBytes(c, 1, true, 4096, 2);
	EXPECT_GE(small, 4096u);
	EXPECT_LT(small, 8192u);
	EXPECT_GE(huge, 2u << 20);
	EXPECT_EQ(vmallocStormBytes(c, 512, true, 4096, 2), vmallocStormBytes(c, 512, false, 4096, 2));
}

TEST(VmallocMemory, SetupCountsAsTheModuleMakesIt)
{
	/* full_fit: pairs over fls(CPUs) * 32 MiB: 2 CPUs -> 2 * 8192 pairs of one page. */
	uint64_t fit = vmallocStormBytes(*findVmallocCase("full_fit_alloc"), 1, false, 4096, 2);
	EXPECT_GE(fit, 2ull * 16384 * 4096);
	EXPECT_LT(fit, 2ull * 16384 * 4096 * 101 / 100);
	/* pcpu: 35000 objects of up to a quarter page, on every CPU. */
	EXPECT_GE(vmallocStormBytes(*findVmallocCase("pcpu_alloc"), 0, false, 4096, 4), 35000ull * 1024 * 4);
	EXPECT_GE(vmallocStormBytes(*findVmallocCase("long_busy_list_alloc"), 100, false, 4096, 1),
		  15101ull * 4096);
}

TEST(VmallocTotals, PerOpDividesTheThreadsSumsByTheirCalls)
{
	auto t = sumStorms({storm(100, 100, 1000000, 500000, 2000000, 3000000),
			    storm(100, 200, 3000000, 500000, 4000000, 5000000)});
	EXPECT_EQ(t.threads, 2u);
	EXPECT_EQ(t.loops_done, 200u);
	EXPECT_DOUBLE_EQ(*perOp(t.loop_ns, t.loops_done), 30000.0);
	EXPECT_DOUBLE_EQ(*perOp(t.alloc_ns, t.alloc_calls), 4000000.0 / 300.0);
	EXPECT_DOUBLE_EQ(*perOp(t.free_ns, t.free_calls), 1000000.0 / 300.0);
	/* Each thread ran the whole case: their mean, as test_vmalloc reports per worker. */
	EXPECT_DOUBLE_EQ(t.case_ns, 4000000.0);
}

TEST(VmallocTotals, NothingToDivideIsNoNumber)
{
	EXPECT_FALSE(perOp(123, 0).has_value());
	EXPECT_FALSE(perOp(0, 0).has_value());
	EXPECT_DOUBLE_EQ(*perOp(0, 5), 0.0);
	EXPECT_EQ(sumStorms({}).threads, 0u);
	EXPECT_DOUBLE_EQ(sumStorms({}).case_ns, 0.0);
}

TEST(ThreadCpus, CpuListsParseAsTheKernelWritesThem)
{
	EXPECT_EQ(parseCpuList("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
	EXPECT_EQ(parseCpuList("5"), (std::vector<int>{5}));
	EXPECT_EQ(parseCpuList(" 2,0 "), (std::vector<int>{0, 2}));
	EXPECT_TRUE(parseCpuList("").empty());
	EXPECT_TRUE(parseCpuList("3-1").empty());
	EXPECT_TRUE(parseCpuList("a-b").empty());
	EXPECT_TRUE(parseCpuList("1,,2").empty());
}

TEST(ThreadCpus, MeasuringCpuFirstThenTheOthersFromTheHighest)
{
	std::vector<int> allowed = {0, 1, 2, 3};
	EXPECT_EQ(chooseThreadCpus(allowed, 1, 1), (std::vector<int>{1}));
	EXPECT_EQ(chooseThreadCpus(allowed, 1, 3), (std::vector<int>{1, 3, 2}));
	EXPECT_EQ(chooseThreadCpus(allowed, 3, 4), (std::vector<int>{3, 2, 1, 0}));
	/* Unpinned or pinned outside the set: the highest first. */
	EXPECT_EQ(chooseThreadCpus(allowed, -1, 2), (std::vector<int>{3, 2}));
	EXPECT_EQ(chooseThreadCpus(allowed, 9, 2), (std::vector<int>{3, 2}));
}

TEST(ThreadCpus, NoCpusWhenThereAreFewerThanThreads)
{
	EXPECT_TRUE(chooseThreadCpus({0, 1}, 1, 3).empty());
	EXPECT_TRUE(chooseThreadCpus({0, 1}, 1, 0).empty());
	EXPECT_TRUE(chooseThreadCpus({}, -1, 1).empty());
}

TEST(ThreadCpus, StartCpusIsTheAffinityTheProcessBeganWith)
{
	/* Nothing in this test program pins its main thread: the two must agree. */
	cpu_set_t set;
	CPU_ZERO(&set);
	ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
	std::vector<int> now;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			now.push_back(c);
	EXPECT_EQ(startCpus(), now);
}
