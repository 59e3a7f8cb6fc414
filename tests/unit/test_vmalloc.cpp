// SPDX-License-Identifier: GPL-2.0
/*
 * The vmalloc and test_vmalloc scenarios' pure logic: test_vmalloc's cases and
 * vocabulary, the variants a config gives, the preflight's memory, the per-op arithmetic
 * over the storm threads, the CPUs those threads get, what test_vmalloc.ko is asked and
 * what its Summary lines say, and the table that puts the two side by side.
 */
#include <gtest/gtest.h>

#include "env_fixture.h"

#include <filesystem>
#include <fstream>
#include <sched.h>
#include <unistd.h>

#include "config.h"
#include "errors.h"
#include "runner.h"
#include "thread_cpus.h"
#include "vmalloc_cases.h"
#include "scratch_dir.h"

using namespace pgt;

namespace {

const ScenarioSpec &spec(const std::string &name)
{
	const ScenarioSpec *s = findScenario(name);
	if (!s)
		throw std::runtime_error("no scenario " + name);
	return *s;
}

const ScenarioSpec &vmallocSpec()
{
	return spec("vmalloc");
}

/* The default config with one scenario in it. */
RunConfig defaultConfigOf(const std::string &scenario)
{
	RunConfig c = defaultConfig();
	std::erase_if(c.scenarios, [&](const ScenarioConfig &s) { return s.spec->name != scenario; });
	if (c.scenarios.size() != 1)
		throw std::runtime_error("no scenario " + scenario + " in the default config");
	return c;
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
			       "vmalloc/case:pcpu_alloc/threads:1/seed:7",
			       "vmalloc/case:vm_map_ram/p:512/loops:100/threads:1",
			       "vmalloc/case:random_size_alloc/loops:100/threads:1/seed:7",
		       }));
}

TEST(VmallocPoints, TheThreadContextKeepsTheNamesOfOldRunsAndKthreadIsNamed)
{
	ParamLists l = lists({"pcpu_alloc", "vm_map_ram"}, {0}, {0});
	l["context"] = {std::string(kContextThread), std::string(kContextKthread)};
	auto points = expandVmallocPoints(vmallocSpec(), l);
	EXPECT_EQ(names(points), (std::vector<std::string>{
					 "vmalloc/case:pcpu_alloc/threads:1/seed:7",
					 "vmalloc/case:pcpu_alloc/threads:1/seed:7/context:kthread",
					 "vmalloc/case:vm_map_ram/p:1/loops:100/threads:1",
					 "vmalloc/case:vm_map_ram/p:1/loops:100/threads:1/context:kthread",
				 }));
	EXPECT_FALSE(points[0].has("context"));
	EXPECT_EQ(points[1].choice("context"), "kthread");
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
	auto entries = planVariants(defaultConfigOf("vmalloc"), fixtureEnv("altra-metal"));
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

TEST(VmallocTotals, EachThreadCalibratesItsOwnClockAndTheirMeanIsStated)
{
	auto a = storm(10, 10, 0, 0, 1, 1), b = storm(10, 10, 0, 0, 1, 1);
	a.clock_ns = 300;
	b.clock_ns = 500;
	EXPECT_DOUBLE_EQ(sumStorms({a, b}).clock_ns, 400.0);
}

TEST(VmallocPoints, PcpuAllocRunsTestVmallocsOnePassWhateverLoopsSays)
{
	const VmallocCase &pcpu = *findVmallocCase("pcpu_alloc");
	EXPECT_EQ(pcpu.fixed_loops, kTestVmallocPcpuObjects);
	Params p;
	p.values = {{"case", std::string("pcpu_alloc")}, {"threads", int64_t{1}}};
	EXPECT_EQ(stormLoops(pcpu, p), 35000u);
	/* Two loop counts give one variant: the pass does not depend on them. */
	auto l = lists({"pcpu_alloc"}, {0}, {0});
	l["loops"] = std::vector<ParamValue>{int64_t{100}, int64_t{1000}};
	EXPECT_EQ(names(expandVmallocPoints(vmallocSpec(), l)),
		  std::vector<std::string>{"vmalloc/case:pcpu_alloc/threads:1/seed:7"});
}

/* --- test_vmalloc.ko ------------------------------------------------------------- */

TEST(TestVmallocScenario, TakesTheVmallocScenariosCaseParametersUnderTheSameNames)
{
	const ScenarioSpec &ours = vmallocSpec(), &theirs = spec("test_vmalloc");
	for (const char *name : {"case", "p", "h", "loops", "threads"}) {
		ASSERT_NE(theirs.param(name), nullptr) << name;
		EXPECT_EQ(theirs.param(name)->min, ours.param(name)->min) << name;
		EXPECT_EQ(theirs.param(name)->max, ours.param(name)->max) << name;
		EXPECT_EQ(theirs.param(name)->defaults, ours.param(name)->defaults) << name;
	}
	/* Its cases are test_vmalloc's: vmap is pgtbench's own. */
	std::vector<std::string> want;
	for (const auto &c : vmallocCases())
		if (c.name != "vmap")
			want.push_back(c.name);
	EXPECT_EQ(theirs.param("case")->choices, want);
	EXPECT_EQ(theirs.param("seed"), nullptr);
	EXPECT_EQ(theirs.metrics.front().name, "case_us");
}

TEST(TestVmallocScenario, RunTestMaskBitsAreTestVmallocsNumbering)
{
	/* 6.12's test_case_array: align_shift (64) and the kvfree_rcu pair (256, 512) are not ours. */
	std::map<std::string, uint32_t> want = {
		{"fix_size_alloc", 1},	       {"full_fit_alloc", 2},		 {"long_busy_list_alloc", 4},
		{"random_size_alloc", 8},      {"fix_align_alloc", 16},		 {"random_size_align_alloc", 32},
		{"pcpu_alloc", 128},	       {"vm_map_ram", 1024},		 {"vmap", 0},
	};
	for (const auto &c : vmallocCases())
		EXPECT_EQ(c.test_vmalloc_mask, want.at(c.name)) << c.name;
}

TEST(TestVmallocScenario, ItsModuleParametersComeFromTheVariant)
{
	TestVmallocRun r{.c = findVmallocCase("fix_size_alloc"), .loops = 1000, .threads = 2, .nr_pages = 512,
			 .use_huge = true};
	EXPECT_EQ(testVmallocParams(r), "run_test_mask=1 test_loop_count=1000 test_repeat_count=1 nr_threads=2 "
					"sequential_test_order=1 nr_pages=512 use_huge=1");
	/* Where test_vmalloc would ignore them, they are not passed. */
	TestVmallocRun busy{.c = findVmallocCase("long_busy_list_alloc"), .loops = 10, .nr_pages = 100};
	EXPECT_EQ(testVmallocParams(busy), "run_test_mask=4 test_loop_count=10 test_repeat_count=1 nr_threads=1 "
					   "sequential_test_order=1");
	Params p;
	p.values = {{"case", std::string("pcpu_alloc")}, {"threads", int64_t{1}}, {"module", std::string("auto")}};
	TestVmallocRun pcpu = testVmallocRun(p);
	EXPECT_EQ(pcpu.loops, 35000);
	EXPECT_EQ(pcpu.repeat, 1);
	EXPECT_EQ(testVmallocParams(pcpu), "run_test_mask=128 test_loop_count=35000 test_repeat_count=1 "
					   "nr_threads=1 sequential_test_order=1");
}

TEST(TestVmallocSummary, ExactlyItsLineParses)
{
	auto s = parseTestVmallocSummary(
		"Summary: vm_map_ram_test passed: 1 failed: 0 repeat: 1 loops: 1000 avg: 11532 usec");
	ASSERT_TRUE(s.has_value());
	EXPECT_EQ(s->test, "vm_map_ram_test");
	EXPECT_EQ(s->passed, 1);
	EXPECT_EQ(s->failed, 0);
	EXPECT_EQ(s->repeat, 1);
	EXPECT_EQ(s->loops, 1000);
	EXPECT_EQ(s->avg_us, 11532u);
	for (const char *other : {"All test took worker0=123456 cycles",
				  "Summary: vm_map_ram_test passed: 1 failed: 0 repeat: 1 loops: 1000 avg: 11532",
				  "Summary: vm_map_ram_test passed: 1 failed: 0 repeat: 1 loops: 1000 avg: x usec",
				  "test: Summary: vm_map_ram_test passed: 1 failed: 0 repeat: 1 loops: 1 avg: 1 usec",
				  "Summary: vm_map_ram passed: 1 failed: 0 repeat: 1 loops: 1000 avg: 1 usec", ""})
		EXPECT_FALSE(parseTestVmallocSummary(other).has_value()) << other;
}

namespace {

TestVmallocSummary summary(const std::string &test, int64_t passed, int64_t failed, int64_t loops = 1000)
{
	return {.test = test, .passed = passed, .failed = failed, .repeat = 1, .loops = loops, .avg_us = 812};
}

} /* namespace */

TEST(TestVmallocSummary, ALoadPassesWithOnePassedLinePerWorkerForTheCaseAsked)
{
	TestVmallocRun r{.c = findVmallocCase("full_fit_alloc"), .loops = 1000, .threads = 2};
	EXPECT_EQ(checkTestVmallocSummaries(r, {summary("full_fit_alloc_test", 1, 0),
						 summary("full_fit_alloc_test", 1, 0)}),
		  "");
	EXPECT_EQ(checkTestVmallocSummaries(r, {}),
		  "no \"Summary: full_fit_alloc_test ...\" line from test_vmalloc.ko in the kernel log");
	EXPECT_EQ(checkTestVmallocSummaries(r, {summary("full_fit_alloc_test", 1, 0)}),
		  "1 \"Summary: full_fit_alloc_test\" lines in the kernel log, one per worker expected (2)");
	EXPECT_EQ(checkTestVmallocSummaries(r, {summary("full_fit_alloc_test", 0, 1), summary("full_fit_alloc_test", 1, 0)}),
		  "test_vmalloc.ko: full_fit_alloc_test failed 1 of 1 repeats (passed 0)");
	EXPECT_EQ(checkTestVmallocSummaries(r, {summary("full_fit_alloc_test", 1, 0, 10)}),
		  "test_vmalloc.ko ran full_fit_alloc_test with repeat 1 loops 10, asked 1 and 1000");
	EXPECT_EQ(checkTestVmallocSummaries(r, {summary("fix_size_alloc_test", 1, 0)}),
		  "test_vmalloc.ko ran fix_size_alloc_test for run_test_mask=2 (asked full_fit_alloc_test): its "
		  "cases are numbered otherwise than 6.12's");
}

namespace {

/* A directory tree standing for a machine's root, removed with the test. */
struct FakeRoot {
	ScratchDir scratch{"modules"};
	const std::filesystem::path dir = scratch.path();
	void file(const std::string &rel, const std::string &text = "") { scratch.put("/" + rel, text); }
};

} /* namespace */

TEST(TestVmallocModule, TheRunningKernelsModuleIsWhereModulesDepSays)
{
	FakeRoot r;
	const std::string mods = "lib/modules/6.12.1";
	r.file(mods + "/modules.dep", "kernel/lib/crc7.ko.xz:\nextra/test/test_vmalloc.ko.zst:\n");
	r.file(mods + "/extra/test/test_vmalloc.ko.zst");
	r.file(mods + "/kernel/lib/test_vmalloc.ko");
	std::string why;
	EXPECT_EQ(findTestVmalloc(r.dir, "6.12.1", &why), r.dir.string() + "/" + mods + "/extra/test/test_vmalloc.ko.zst");
}

TEST(TestVmallocModule, WithoutModulesDepItIsUnderKernelLibPlainOrCompressed)
{
	FakeRoot r;
	r.file("lib/modules/6.12.1/kernel/lib/test_vmalloc.ko.xz");
	std::string why;
	EXPECT_EQ(findTestVmalloc(r.dir, "6.12.1", &why), r.dir.string() + "/lib/modules/6.12.1/kernel/lib/test_vmalloc.ko.xz");
	EXPECT_EQ(findTestVmalloc(r.dir, "6.13", &why), "");
	EXPECT_EQ(why, "no test_vmalloc.ko under /lib/modules/6.13 (a kernel built with CONFIG_TEST_VMALLOC=m has it; "
		       "or module = PATH)");
	/* A name that only begins like it is another module. */
	r.file("lib/modules/6.13/modules.dep", "kernel/lib/test_vmalloc.ko.old:\n");
	r.file("lib/modules/6.13/kernel/lib/test_vmalloc.ko.old");
	EXPECT_EQ(findTestVmalloc(r.dir, "6.13", &why), "");
}

TEST(TestVmallocModule, CompressedFilesAreDecompressedByTheKernel)
{
	for (const char *c : {"/a/test_vmalloc.ko.xz", "x.ko.zst", "x.ko.gz"})
		EXPECT_TRUE(compressedModule(c)) << c;
	for (const char *c : {"/a/test_vmalloc.ko", "x.xz", "x.ko.bz2", ""})
		EXPECT_FALSE(compressedModule(c)) << c;
}

TEST(TestVmallocPlan, SkipsWhereTheKernelHasNoTestVmallocNamingTheConfig)
{
	auto entries = planVariants(defaultConfigOf("test_vmalloc"), fixtureEnv("altra-metal"));
	ASSERT_EQ(entries.size(), 3u);
	for (const auto &e : entries) {
		EXPECT_EQ(e.status, Status::Skipped) << e.name;
		EXPECT_NE(e.reason.find("CONFIG_TEST_VMALLOC=m"), std::string::npos) << e.reason;
	}
}

TEST(TestVmallocPlan, AModuleThatIsNotThereIsAConfigError)
{
	RunConfig c = defaultConfigOf("test_vmalloc");
	c.scenarios[0].lists["module"] = {std::string("/nonexistent/test_vmalloc.ko")};
	try {
		planVariants(c, fixtureEnv("altra-metal"));
		FAIL() << "planned";
	} catch (const UsageError &e) {
		EXPECT_STREQ(e.what(), "test_vmalloc: module /nonexistent/test_vmalloc.ko: No such file or directory");
	}
}

namespace {

RecordedVariant entry(const std::string &scenario, const std::string &c, std::vector<double> case_us,
		      Status status = Status::Ok)
{
	RecordedVariant e;
	e.scenario = scenario;
	e.status = status;
	e.params = {{"case", c}};
	if (c == "fix_size_alloc")
		e.params.emplace_back("p", 1);
	if (c != "pcpu_alloc")
		e.params.emplace_back("loops", 1000);
	e.params.emplace_back("threads", 1);
	if (scenario == "vmalloc" && c == "pcpu_alloc")
		e.params.emplace_back("seed", 1);
	if (scenario == "vmalloc")
		e.params.emplace_back("split", 1);
	else
		e.params.emplace_back("module", "auto");
	e.name = recordName(scenario, e.params);
	e.primary_metric = "case_us";
	if (!case_us.empty())
		e.metrics["case_us"] = {.unit = "us", .samples = case_us};
	return e;
}

} /* namespace */

TEST(VsTestVmalloc, EachCaseBothRanIsOneRowWithBothMediansAndTheirRatio)
{
	ResultsFile run;
	run.entries = {entry("vmalloc", "fix_size_alloc", {1100, 1200, 1150}),
		       entry("vmalloc", "vm_map_ram", {11000, 12000}),
		       entry("vmalloc", "vmap", {5000}),
		       entry("vmalloc", "pcpu_alloc", {40000}),
		       entry("test_vmalloc", "pcpu_alloc", {50000}),
		       entry("test_vmalloc", "vm_map_ram", {11500, 11500}),
		       entry("test_vmalloc", "fix_size_alloc", {1000, 1000, 1000})};
	EXPECT_EQ(formatVsTestVmalloc(run),
		  "# pgtbench vs test_vmalloc: case_us (median of the repetitions, us) of vmalloc (pgtbench.ko) and "
		  "test_vmalloc (test_vmalloc.ko's \"avg: N usec\"); ratio = pgtbench / test_vmalloc\n"
		  "# variant                                         pgtbench  test_vmalloc   ratio\n"
		  "case:fix_size_alloc/p:1/loops:1000/threads:1  1150.0 (n=3)  1000.0 (n=3)   1.150\n"
		  "case:vm_map_ram/loops:1000/threads:1         11500.0 (n=2) 11500.0 (n=2)   1.000\n"
		  "case:pcpu_alloc/threads:1                    40000.0 (n=1) 50000.0 (n=1)   0.800\n"
		  "# pcpu_alloc: one pass of 35000 objects in both (test_vmalloc ignores test_loop_count for it)\n");
}

TEST(VsTestVmalloc, EachContextIsARowAgainstTheOneTestVmallocEntry)
{
	ResultsFile run;
	RecordedVariant kthread = entry("vmalloc", "pcpu_alloc", {30000});
	kthread.params.emplace_back("context", "kthread");
	kthread.name = recordName("vmalloc", kthread.params);
	run.entries = {entry("vmalloc", "pcpu_alloc", {36000}), kthread,
		       entry("test_vmalloc", "pcpu_alloc", {30000})};
	std::string t = formatVsTestVmalloc(run);
	EXPECT_NE(t.find("case:pcpu_alloc/threads:1                 36000.0 (n=1) 30000.0 (n=1)   1.200\n"),
		  std::string::npos)
		<< t;
	EXPECT_NE(t.find("case:pcpu_alloc/threads:1/context:kthread 30000.0 (n=1) 30000.0 (n=1)   1.000\n"),
		  std::string::npos)
		<< t;
}

TEST(VsTestVmalloc, ACaseThatFailedOnOneSideSaysSoAndARunWithoutPairsHasNoTable)
{
	ResultsFile run;
	run.entries = {entry("vmalloc", "full_fit_alloc", {900}),
		       entry("test_vmalloc", "full_fit_alloc", {}, Status::Error)};
	std::string t = formatVsTestVmalloc(run);
	EXPECT_NE(t.find("case:full_fit_alloc/loops:1000/threads:1 900.0 (n=1)   n/a: error     n/a\n"),
		  std::string::npos)
		<< t;
	run.entries.pop_back();
	EXPECT_EQ(formatVsTestVmalloc(run), "");
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
