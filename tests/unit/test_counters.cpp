// SPDX-License-Identifier: GPL-2.0
/* Counters: honest names, real counts where the machine has them, reasons where not. */
#include <gtest/gtest.h>

#include "env_fixture.h"

#include <sys/mman.h>
#include <unistd.h>

#include "counters.h"
#include "scenario.h"

using namespace pgt;

namespace {

Env fixture(const std::string &name, const std::string &arch = "aarch64")
{
	return fixtureEnv(name, arch);
}

const CounterReading *find(const std::vector<CounterReading> &r, const std::string &name)
{
	for (const auto &c : r)
		if (c.name == name)
			return &c;
	return nullptr;
}

/* Base pages never touched yet: touching each takes one page fault. */
class FreshPages
{
public:
	explicit FreshPages(size_t pages) : pages_(pages), ps_(static_cast<size_t>(sysconf(_SC_PAGESIZE)))
	{
		void *p = mmap(nullptr, pages_ * ps_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p_ = p == MAP_FAILED ? nullptr : static_cast<char *>(p);
		if (p_)
			madvise(p_, pages_ * ps_, MADV_NOHUGEPAGE);
	}
	~FreshPages()
	{
		if (p_)
			munmap(p_, pages_ * ps_);
	}
	bool mapped() const { return p_; }
	void touch()
	{
		for (size_t i = 0; i < pages_; i++)
			p_[i * ps_] = 1;
	}

private:
	size_t pages_, ps_;
	char *p_;
};

} /* namespace */

TEST(CounterNames, CarryWhatIsCounted)
{
	EXPECT_EQ(counterName("cycles"), "cycles");
	EXPECT_EQ(counterName("arm_n1::L1D_TLB_REFILL"), "l1d_tlb_refill");
	EXPECT_EQ(counterName("perf::PERF_COUNT_SW_PAGE_FAULTS"), "page_faults");
	EXPECT_EQ(counterName("perf::PAGE-FAULTS"), "page_faults");
	EXPECT_EQ(counterName("r0034"), "r0034");
}

TEST(CounterDefaults, FlushSitesAreArm64CallersNotInlineHelpers)
{
	auto sites = defaultFlushSites("aarch64");
	for (const char *s : {"tlb_finish_mmu", "flush_tlb_batched_pending", "contpte_convert",
			      "__purge_vmap_area_lazy"})
		EXPECT_NE(std::find(sites.begin(), sites.end(), s), sites.end()) << s;
	/* static inline on arm64: a kprobe could never fire there. */
	EXPECT_EQ(std::find(sites.begin(), sites.end(), "flush_tlb_mm"), sites.end());
}

TEST(CounterDefaults, TlbEventsOnlyForDetectedNeoverseModels)
{
	Env e = fixture("qemu-deb61");
	EXPECT_EQ(defaultEvents(e).size(), 3u);
	e.perf.pfm_pmus = {"perf", "arm_n1"};
	auto events = defaultEvents(e);
	EXPECT_NE(std::find(events.begin(), events.end(), "arm_n1::L1D_TLB_REFILL"), events.end());
	EXPECT_NE(std::find(events.begin(), events.end(), "arm_n1::DTLB_WALK"), events.end());
}

TEST(Counters, SoftwarePageFaultsMoveWithTheWork)
{
	Env env = probeEnv();
	Counters c({"perf::PERF_COUNT_SW_PAGE_FAULTS"}, {}, env, {});
	const size_t pages = 64;
	FreshPages p(pages);
	ASSERT_TRUE(p.mapped());
	c.start();
	p.touch();
	c.stop();
	auto r = c.read();
	const CounterReading *pf = find(r, "page_faults");
	ASSERT_TRUE(pf);
	if (!pf->value)
		GTEST_SKIP() << "software events unavailable here: " << pf->reason;
	EXPECT_GE(*pf->value, pages);
	EXPECT_LT(*pf->value, pages * 4);
	EXPECT_GT(pf->time_running_ns, 0u);

	/* Restarting counts only the new interval. */
	c.start();
	c.stop();
	EXPECT_LT(*find(c.read(), "page_faults")->value, 4u);
}

TEST(Timed, RunsTheOperationOnceAndCountsNothingWithCountingOff)
{
	Env env = fixture("qemu-deb61");
	RunContext ctx{env};
	Sample s;
	int runs = 0;
	Elapsed e = ctx.timed(s, [&] { runs++; });
	EXPECT_EQ(runs, 1);
	EXPECT_TRUE(s.counters.empty());
	EXPECT_DOUBLE_EQ(e.ms(), static_cast<double>(e.ns) / 1e6);
}

TEST(Timed, CountsTheOperationAndPutsReadingsUnderTheirPrefix)
{
	Env env = probeEnv();
	Counters c({"perf::PERF_COUNT_SW_PAGE_FAULTS"}, {}, env, {});
	RunContext ctx{env, -1, &c};
	const size_t pages = 64;
	FreshPages p(pages);
	ASSERT_TRUE(p.mapped());
	Sample s;
	ctx.timed(s, [&] { p.touch(); });
	ctx.timed(s, [] {}, {.counters_prefix = "teardown."});
	const CounterReading *pf = find(s.counters, "page_faults");
	const CounterReading *none = find(s.counters, "teardown.page_faults");
	ASSERT_TRUE(pf && none);
	if (!pf->value)
		GTEST_SKIP() << "software events unavailable here: " << pf->reason;
	EXPECT_GE(*pf->value, pages);
	EXPECT_LT(*none->value, 4u);
}

TEST(Counters, UnavailableCountersSayWhyAndAreNeverZero)
{
	Env env = probeEnv();
	Counters c({"cycles", "no_such_event_anywhere"}, {}, env, {});
	c.start();
	c.stop();
	auto r = c.read();
	const CounterReading *bogus = find(r, "no_such_event_anywhere");
	ASSERT_TRUE(bogus);
	EXPECT_FALSE(bogus->value);
	EXPECT_NE(bogus->reason.find("libpfm4"), std::string::npos) << bogus->reason;
	const CounterReading *cycles = find(r, "cycles");
	ASSERT_TRUE(cycles);
	if (cycles->value)
		EXPECT_GT(*cycles->value, 0u); /* a hardware counter that works counts something */
	else
		EXPECT_FALSE(cycles->reason.empty());
}

TEST(Counters, FlushSitesNeedTheKprobePmuAndTheSymbol)
{
	/* The fixture has a kprobe PMU but no /proc/kallsyms: symbol lookup fails first. */
	Counters with_pmu({}, {"tlb_finish_mmu"}, fixture("altra-metal"), {});
	auto r = with_pmu.read();
	ASSERT_EQ(r.size(), 1u);
	EXPECT_EQ(r[0].name, "tlb_flush_calls.tlb_finish_mmu");
	EXPECT_EQ(r[0].kind, "flush_site");
	EXPECT_FALSE(r[0].value);
	EXPECT_NE(r[0].reason.find("kallsyms"), std::string::npos) << r[0].reason;

	Counters without_pmu({}, {"tlb_finish_mmu"}, fixture("x86-kvm-nothp"), {});
	auto q = without_pmu.read();
	EXPECT_NE(q[0].reason.find("no kprobe PMU"), std::string::npos) << q[0].reason;
}

TEST(Counters, JsonShowsUnavailableAsNull)
{
	CounterReading r;
	r.name = "cycles";
	r.reason = "no such event";
	auto j = r.toJson();
	EXPECT_TRUE(j["value"].is_null());
	EXPECT_EQ(j["reason"], "no such event");
}

TEST(Cmn, DvmEventIsFoundAndEncodedFromSysfs)
{
	std::string root = std::string(FIXTURES) + "/env/altra-metal";
	auto events = cmnDvmEvents(root);
	ASSERT_EQ(events, std::vector<std::string>{"arm_cmn_0/dn_rxreq_dvmop/"});
	EXPECT_EQ(counterName(events[0]), "dvm_ops.arm_cmn_0");
	SysfsEvent e = encodeSysfsEvent(root, events[0]);
	EXPECT_EQ(e.error, "");
	EXPECT_EQ(e.type, 12u);
	EXPECT_EQ(e.config, 0x5ull | (0x1ull << 32));
	EXPECT_EQ(e.cpu, 0);
	/* Offered by default where the mesh exists... */
	auto defaults = defaultEvents(fixtureEnv("altra-metal"));
	EXPECT_NE(std::find(defaults.begin(), defaults.end(), events[0]), defaults.end());
	/* ...and nowhere else. */
	EXPECT_TRUE(cmnDvmEvents(std::string(FIXTURES) + "/env/qemu-deb61").empty());
}

TEST(Cmn, BadSysfsEventsSayWhy)
{
	std::string root = std::string(FIXTURES) + "/env/altra-metal";
	EXPECT_NE(encodeSysfsEvent(root, "arm_cmn_0/no_such/").error.find("no event"), std::string::npos);
	EXPECT_NE(encodeSysfsEvent(root, "arm_cmn_9/dn_rxreq_dvmop/").error.find("no PMU"), std::string::npos);
	EXPECT_NE(encodeSysfsEvent(root, "/x/").error.find("pmu/event/"), std::string::npos);
}

TEST(Apple, EachClusterPmuIsAskedForCyclesAndInstructions)
{
	Env e = fixtureEnv("m1-asahi");
	EXPECT_EQ(e.cpu.model, "Apple M1 Icestorm + Apple M1 Firestorm");
	auto events = defaultEvents(e);
	for (const char *want : {"apple_icestorm_pmu/cycles/", "apple_firestorm_pmu/cycles/",
				 "apple_icestorm_pmu/instructions/", "apple_firestorm_pmu/instructions/"})
		EXPECT_NE(std::find(events.begin(), events.end(), want), events.end()) << want;
	EXPECT_EQ(counterName("apple_firestorm_pmu/cycles/"), "cycles.apple_firestorm_pmu");
	SysfsEvent cyc = encodeSysfsEvent(e.root, "apple_firestorm_pmu/cycles/");
	EXPECT_EQ(cyc.error, "");
	EXPECT_EQ(cyc.type, 10u);
	EXPECT_EQ(cyc.config, 0x02u);
	EXPECT_EQ(cyc.cpu, -1); /* a core PMU: counted per thread, not system-wide */
	EXPECT_EQ(encodeSysfsEvent(e.root, "apple_icestorm_pmu/instructions/").config, 0x8cu);
}
