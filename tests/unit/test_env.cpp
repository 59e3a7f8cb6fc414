// SPDX-License-Identifier: GPL-2.0
/* Env parsing against fixture /proc and /sys trees (tests/fixtures/env/<machine>). */
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include "env_fixture.h"

#include "cpu_model.h"
#include "env.h"
#include "errors.h"
#include "kernel_log.h"
#include "kmod.h"
#include "machine_state.h"
#include "table.h"
#include "scratch_dir.h"

using namespace pgt;

namespace {

Env fixture(const std::string &name, const std::string &arch = "aarch64")
{
	return fixtureEnv(name, arch);
}

/* A fixture machine measuring on `cpu`, our own process being `self_pid`. */
Env measuring(const std::string &name, int cpu, int self_pid = 5000, std::optional<bool> tty = false,
	      const std::string &arch = "aarch64")
{
	EnvSources src;
	src.root = std::string(FIXTURES) + "/env/" + name;
	src.arch = arch;
	src.cpu = cpu;
	src.self_pid = self_pid;
	src.stdout_is_terminal = tty;
	return collectEnv(src);
}

std::vector<Severity> severities(const std::vector<Caution> &cs)
{
	std::vector<Severity> out;
	for (const auto &c : cs)
		out.push_back(c.severity);
	return out;
}

std::string texts(const std::vector<Caution> &cs)
{
	std::string out;
	for (const auto &c : cs)
		out += std::string(severityName(c.severity)) + ": " + c.text + "\n";
	return out;
}

} /* namespace */

TEST(Midr, NamesTheCoresOfTheMachinesUsersHave)
{
	EXPECT_EQ(decodeMidr(0x41, 0xd0c).core, "Neoverse-N1");
	EXPECT_EQ(decodeMidr(0x41, 0xd40).core, "Neoverse-V1");
	EXPECT_EQ(decodeMidr(0x41, 0xd4f).core, "Neoverse-V2");
	EXPECT_EQ(decodeMidr(0x61, 0x032).core, "Apple M2 Blizzard");
	EXPECT_EQ(decodeMidr(0x61, 0x033).core, "Apple M2 Avalanche");
	EXPECT_EQ(decodeMidr(0x61, 0x023).core, "Apple M1 Firestorm");
	EXPECT_EQ(decodeMidr(0x41, 0xd0c).vendor, "Arm");
}

TEST(Midr, UnknownPartsPrintAsNumbersNotGuesses)
{
	MidrName n = decodeMidr(0x7f, 0x123);
	EXPECT_EQ(n.vendor, "implementer 0x7f");
	EXPECT_EQ(n.core, "part 0x123");
}

TEST(Env, AltraMetalFromFixture)
{
	Env e = fixture("altra-metal", "aarch64");
	EXPECT_EQ(e.cpu.model, "Neoverse-N1");
	EXPECT_EQ(e.cpu.vendor, "Arm");
	ASSERT_EQ(e.cpu.midr.size(), 1u);
	EXPECT_EQ(e.cpu.midr[0], "0x413fd0c1");
	EXPECT_EQ(e.kernel_release, "6.12.57+deb13-arm64");
	EXPECT_EQ(e.cmdline_notes.at("arm64.nocontpte"), "set");
	EXPECT_EQ(e.cmdline_notes.at("transparent_hugepage"), "madvise");
	/* Not on the command line: taken from the kernel's config. */
	EXPECT_EQ(e.cmdline_notes.at("rodata"), "full (kernel default)");
	EXPECT_EQ(e.mem_available_bytes, 521000000ull << 10);
	EXPECT_EQ(e.numa_nodes, 2u);
	ASSERT_TRUE(e.virt.vm.has_value());
	EXPECT_FALSE(*e.virt.vm);
	EXPECT_EQ(e.perf.paranoid, -1);
	EXPECT_EQ(e.perf.user_access, 0);
	EXPECT_TRUE(e.perf.kprobe_pmu);
	EXPECT_TRUE(e.kmod.loaded);
}

TEST(Env, ThpSizesAndOrdersFromSysfs)
{
	Env e = fixture("altra-metal", "aarch64");
	EXPECT_TRUE(e.thp.present);
	EXPECT_EQ(e.thp.enabled, "madvise");
	EXPECT_EQ(e.thp.defrag, "madvise");
	EXPECT_EQ(e.thp.pmd_order, 9u);
	EXPECT_TRUE(e.thp.per_size_controls);
	ASSERT_EQ(e.thp.sizes.size(), 8u);
	EXPECT_EQ(e.thp.sizes.front().size_bytes, 16u << 10);
	EXPECT_EQ(e.thp.sizes.front().order, 2u);
	EXPECT_EQ(e.thpSize(4)->enabled, "always");
	EXPECT_EQ(e.thpSize(9)->enabled, "inherit");
	EXPECT_TRUE(e.offersOrder(0));
	EXPECT_TRUE(e.offersOrder(4));
	EXPECT_FALSE(e.offersOrder(1));
	EXPECT_FALSE(e.offersOrder(10));
}

TEST(Env, KernelWithoutMthpOffersOnlyOrderZeroAndPmd)
{
	Env e = fixture("qemu-deb61", "aarch64");
	EXPECT_FALSE(e.thp.per_size_controls);
	EXPECT_TRUE(e.offersOrder(0));
	EXPECT_TRUE(e.offersOrder(9));
	EXPECT_FALSE(e.offersOrder(4));
	EXPECT_EQ(e.cpu.model, "QEMU max");
	EXPECT_EQ(e.virt.hypervisor, "QEMU virt");
	EXPECT_TRUE(e.perf.kprobe_pmu);
	EXPECT_FALSE(e.kmod.loaded);
	EXPECT_EQ(e.kmod.detail, "pgtbench.ko not loaded");
}

TEST(Env, AppleClustersAreBothNamed)
{
	Env e = fixture("m2-vm", "aarch64");
	EXPECT_EQ(e.cpu.model, "Apple M2 Blizzard + Apple M2 Avalanche");
	EXPECT_EQ(e.cpu.vendor, "Apple");
	EXPECT_EQ(e.cpu.midr.size(), 2u);
	EXPECT_EQ(e.cpu.logical_cpus, 4u);
	EXPECT_EQ(e.cmdline_notes.at("rodata"), "on");
	ASSERT_TRUE(e.virt.vm.has_value());
	EXPECT_TRUE(*e.virt.vm);
}

TEST(Env, X86GuestWithoutThp)
{
	Env e = fixture("x86-kvm-nothp", "x86_64");
	EXPECT_EQ(e.cpu.model, "AMD EPYC 7R13 Processor");
	EXPECT_EQ(e.cpu.vendor, "AuthenticAMD");
	EXPECT_TRUE(e.virt.vm.value_or(false));
	EXPECT_EQ(e.virt.evidence, "cpuinfo hypervisor flag");
	EXPECT_FALSE(e.thp.present);
	EXPECT_FALSE(e.offersOrder(9));
	EXPECT_TRUE(e.offersOrder(0));
	/* Unreadable values are absent, not zero. */
	EXPECT_FALSE(e.perf.paranoid.has_value());
}

TEST(Env, MissingRootGivesEmptyNotCrash)
{
	Env e = fixture("does-not-exist", "aarch64");
	EXPECT_FALSE(e.thp.present);
	EXPECT_EQ(e.kernel_release, "");
	EXPECT_FALSE(e.virt.vm.has_value());
}

TEST(Env, JsonCarriesNoiseTopologyAndFirmware)
{
	auto j = measuring("altra-metal", 1).toJson();
	EXPECT_EQ(j["noise"]["cpu"], 1);
	EXPECT_EQ(j["noise"]["cpufreq"]["governor"], "schedutil");
	EXPECT_EQ(j["noise"]["load"]["loadavg_1min"], 0.08);
	EXPECT_EQ(j["noise"]["activity"]["khugepaged_pages_collapsed"], 120);
	EXPECT_TRUE(j["topology"].is_object());
	EXPECT_TRUE(j["firmware"]["dmi"].is_object());
}

TEST(Env, JsonCarriesUnitsInNames)
{
	Env e = fixture("altra-metal", "aarch64");
	auto j = e.toJson();
	EXPECT_EQ(j["page_size_bytes"], 4096);
	EXPECT_EQ(j["thp"]["pmd_size_bytes"], 2u << 20);
	EXPECT_EQ(j["thp"]["sizes"][0]["size_bytes"], 16u << 10);
	EXPECT_TRUE(j["perf"]["paranoid"].is_number());
	Env x = fixture("x86-kvm-nothp", "x86_64");
	EXPECT_TRUE(x.toJson()["perf"]["paranoid"].is_null());
}

TEST(Kmod, CapabilitiesAreNamedInBitOrderForEnvJson)
{
	EXPECT_EQ(kmodCapNames(PGTBENCH_CAP_NOP | PGTBENCH_CAP_VMALLOC_STORM | PGTBENCH_CAP_MAP_MEM_REPLAY),
		  (std::vector<std::string>{"nop", "vmalloc_storm", "map_mem_replay"}));
	/* A bit this harness does not know (a newer module) is left out, not misnamed. */
	EXPECT_EQ(kmodCapNames(PGTBENCH_CAP_MAP_MEM_REPLAY | (1ULL << 63)),
		  (std::vector<std::string>{"map_mem_replay"}));
	Env e = fixture("altra-metal", "aarch64");
	e.kmod.caps = PGTBENCH_CAP_NOP;
	EXPECT_EQ(e.toJson()["kmod"]["caps"], nlohmann::json::array({"nop"}));
}

TEST(Kmod, MissingSaysWhetherTheModuleOrTheCapabilityIsAbsent)
{
	KmodInfo k;
	k.detail = "pgtbench.ko not loaded";
	EXPECT_EQ(kmodMissing(k, KmodCap::Nop), "needs pgtbench.ko (--kmod pgtbench, or --kmod FILE): pgtbench.ko not loaded");
	k.usable = true;
	k.caps = PGTBENCH_CAP_NOP | PGTBENCH_CAP_MAP_MEM_REPLAY;
	EXPECT_EQ(kmodMissing(k, KmodCap::Nop), "");
	EXPECT_EQ(kmodMissing(k, KmodCap::MapMemReplay), "");
	EXPECT_EQ(kmodMissing(k, KmodCap::VmallocStorm), "the loaded pgtbench.ko does not offer VMALLOC_STORM");
}

TEST(ThpSelected, ReadsTheBracketedChoice)
{
	EXPECT_EQ(thpSelected("always [madvise] never\n"), "madvise");
	EXPECT_EQ(thpSelected("[always] inherit madvise never"), "always");
	EXPECT_EQ(thpSelected("2097152\n"), "2097152");
}

/* --- what makes a run noisy ------------------------------------------------------- */

TEST(Noise, TheMeasuringCpusGovernorAndDriverAreReadAndAMissingBoostControlIsUnknown)
{
	NoiseFacts n = measuring("altra-metal", 1).noise;
	EXPECT_EQ(n.cpu, 1);
	EXPECT_TRUE(n.cpufreq.available);
	EXPECT_EQ(n.cpufreq.governor, "schedutil");
	EXPECT_EQ(n.cpufreq.driver, "cppc_cpufreq");
	EXPECT_FALSE(n.cpufreq.boost.has_value());
	EXPECT_EQ(n.smt.active, false);
	EXPECT_EQ(n.smt.control, "notsupported");
	EXPECT_EQ(n.smt.siblings, std::vector<int>{});
	EXPECT_EQ(n.isolation.isolated, false);
	/* "(null)": a kernel with NO_HZ_FULL and no nohz_full= CPUs. */
	EXPECT_EQ(n.isolation.nohz_full, false);
	EXPECT_EQ(n.thp_defrag, "madvise");
	EXPECT_EQ(n.khugepaged_defrag, true);
	EXPECT_EQ(n.activity, (MmActivity{{"compact_daemon_wake", 17}, {"compact_stall", 3},
					   {"khugepaged_full_scans", 35}, {"khugepaged_pages_collapsed", 120},
					   {"thp_collapse_alloc", 118}}));
}

TEST(Noise, LoadAverageAndTheOtherRunnableTasksOnTheMeasuringCpuAreCounted)
{
	LoadState l = measuring("altra-metal", 1).noise.load;
	EXPECT_DOUBLE_EQ(*l.avg_1min, 0.08);
	EXPECT_DOUBLE_EQ(*l.avg_15min, 0.09);
	EXPECT_EQ(l.runnable, 3u);
	EXPECT_EQ(l.tasks, 612u);
	EXPECT_EQ(l.online_cpus, 2u);
	/* 4242's thread on CPU 1 only: its other thread is on CPU 0, 1 sleeps, 5000 is us. */
	EXPECT_EQ(l.others_runnable_on_cpu, 1u);
	/* Our own two threads count when the caller is someone else. */
	EXPECT_EQ(measuring("altra-metal", 1, 0).noise.load.others_runnable_on_cpu, 3u);
	EXPECT_EQ(measuring("altra-metal", 0).noise.load.others_runnable_on_cpu, 1u);
}

TEST(Noise, AVmWithoutCpufreqSaysWhyAndNoVisibleProcessLeavesTheCountUnknown)
{
	NoiseFacts n = measuring("m2-vm", 3).noise;
	EXPECT_FALSE(n.cpufreq.available);
	EXPECT_EQ(n.cpufreq.reason, "no cpufreq driver for CPU 3: the firmware or the hypervisor sets its clock");
	EXPECT_FALSE(n.cpufreq.boost.has_value());
	EXPECT_FALSE(n.load.others_runnable_on_cpu.has_value());
	EXPECT_EQ(n.thp_defrag, "always");
	/* No nohz_full file: not "not nohz_full", unknown. */
	EXPECT_FALSE(n.isolation.nohz_full.has_value());
	auto j = n.toJson();
	EXPECT_TRUE(j["cpufreq"]["governor"].is_null());
	EXPECT_TRUE(j["cpufreq"]["boost"].is_null());
	EXPECT_TRUE(j["load"]["others_runnable_on_cpu"].is_null());
	EXPECT_TRUE(j["isolation"]["nohz_full"].is_null());
}

TEST(Noise, IntelPstateTurboTheSmtSiblingAndIsolationAreRead)
{
	NoiseFacts n = measuring("x86-intel-metal", 3, 0, false, "x86_64").noise;
	EXPECT_EQ(n.cpufreq.governor, "powersave");
	EXPECT_EQ(n.cpufreq.driver, "intel_pstate");
	/* no_turbo 0: turbo is on. */
	EXPECT_EQ(n.cpufreq.boost, true);
	EXPECT_EQ(n.cpufreq.boost_control, "intel_pstate/no_turbo");
	EXPECT_EQ(n.smt.active, true);
	EXPECT_EQ(n.smt.siblings, std::vector<int>{1});
	EXPECT_EQ(n.isolation.isolated, true);
	EXPECT_EQ(n.isolation.nohz_full, true);
	EXPECT_EQ(measuring("x86-intel-metal", 2, 0, false, "x86_64").noise.isolation.isolated, false);
}

TEST(Noise, AnUnknownCpuLeavesEveryPerCpuFactNullWithTheReason)
{
	auto j = measuring("altra-metal", -1).noise.toJson();
	EXPECT_TRUE(j["cpu"].is_null());
	EXPECT_EQ(j["reason"], "measuring CPU unknown");
	EXPECT_EQ(j["cpufreq"]["available"], false);
	EXPECT_EQ(j["cpufreq"]["reason"], "measuring CPU unknown");
	EXPECT_TRUE(j["isolation"]["isolated"].is_null());
	EXPECT_TRUE(j["smt"]["siblings"].is_null());
	EXPECT_TRUE(j["load"]["others_runnable_on_cpu"].is_null());
	/* Machine-wide facts are still there. */
	EXPECT_EQ(j["load"]["tasks"], 612);
	EXPECT_TRUE(j["stdout_is_terminal"].is_boolean());
	EXPECT_TRUE(fixture("altra-metal").noise.toJson()["stdout_is_terminal"].is_null());
}

TEST(Noise, AMachineWithNothingToReadHasNullsNotZeros)
{
	auto j = measuring("x86-kvm-nothp", 1, 0, std::nullopt, "x86_64").noise.toJson();
	EXPECT_EQ(j["cpufreq"]["available"], false);
	EXPECT_TRUE(j["smt"]["active"].is_null());
	EXPECT_TRUE(j["load"]["loadavg_1min"].is_null());
	EXPECT_TRUE(j["load"]["online_cpus"].is_null());
	EXPECT_TRUE(j["thp"]["defrag"].is_null());
	EXPECT_TRUE(j["stdout_is_terminal"].is_null());
	EXPECT_EQ(j["activity"], nlohmann::json::object());
}

TEST(TaskStat, TheCommMayHoldSpacesAndParenthesesSoItEndsAtTheLastOne)
{
	std::string rest;
	for (int f = 4; f <= 52; f++)
		rest += " " + std::to_string(f == 39 ? 7 : f);
	auto t = parseTaskStat("42 (a) (b c) R" + rest);
	ASSERT_TRUE(t.has_value());
	EXPECT_EQ(t->pid, 42);
	EXPECT_EQ(t->comm, "a) (b c");
	EXPECT_EQ(t->state, 'R');
	EXPECT_EQ(t->processor, 7);
	/* Old kernels' shorter lines, a missing comm, a mangled state: not a task. */
	EXPECT_FALSE(parseTaskStat("42 (a) R 1 2 3").has_value());
	EXPECT_FALSE(parseTaskStat("42 a R" + rest).has_value());
	EXPECT_FALSE(parseTaskStat("42 (a) RR" + rest).has_value());
	EXPECT_FALSE(parseTaskStat("x (a) R" + rest).has_value());
}

TEST(Activity, TheChangeIsEndMinusStartAndNullWhereEitherLacksIt)
{
	MmActivity start{{"compact_stall", 3}, {"khugepaged_full_scans", 35}, {"thp_collapse_alloc", 9}};
	MmActivity end{{"compact_stall", 5}, {"khugepaged_full_scans", 35}, {"compact_daemon_wake", 4},
		       {"thp_collapse_alloc", 1}};
	EXPECT_EQ(activityDelta(start, end), (nlohmann::json{{"compact_stall", 2}, {"khugepaged_full_scans", 0},
							     {"compact_daemon_wake", nullptr},
							     {"thp_collapse_alloc", nullptr}}));
}

TEST(Topology, ClustersCapacitiesAndPackagesArePerCpuAndNullWhereMissing)
{
	auto j = fixture("altra-metal").toJson()["topology"];
	EXPECT_EQ(j["numa_nodes"], 2);
	ASSERT_EQ(j["cpus"].size(), 2u);
	EXPECT_EQ(j["cpus"][1], (nlohmann::json{{"cpu", 1}, {"package_id", 0}, {"cluster_id", 1}, {"cpu_capacity", 1024}}));
	auto m = fixture("m2-vm").toJson()["topology"]["cpus"];
	ASSERT_EQ(m.size(), 4u);
	EXPECT_TRUE(m[3]["cpu_capacity"].is_null());
	EXPECT_TRUE(m[3]["cluster_id"].is_null());
	EXPECT_EQ(fixture("x86-kvm-nothp", "x86_64").toJson()["topology"]["cpus"], nlohmann::json::array());
}

TEST(Firmware, DmiAndTheSocIdAreRecordedWithNullWhereMissing)
{
	auto f = fixture("altra-metal").toJson()["firmware"];
	EXPECT_EQ(f["dmi"]["sys_vendor"], "Ampere(R)");
	EXPECT_EQ(f["dmi"]["bios_version"], "2.09.20221028");
	EXPECT_TRUE(f["dmi"]["product_version"].is_null());
	EXPECT_EQ(f["soc"]["soc_id"], "jep106:0a16:0001");
	EXPECT_TRUE(f["soc"]["machine"].is_null());
	auto x = fixture("x86-kvm-nothp", "x86_64").toJson()["firmware"];
	EXPECT_TRUE(x["soc"].is_null());
	EXPECT_EQ(x["dmi"].size(), 8u);
	EXPECT_TRUE(x["dmi"]["bios_date"].is_null());
}

TEST(Env, EnvPrintsTheNoiseLoadTopologyAndFirmwareLines)
{
	std::string out = formatEnv(measuring("altra-metal", 1));
	EXPECT_NE(out.find("CPU 1: cpufreq schedutil (cppc_cpufreq), boost n/a; SMT notsupported, no sibling; "
			   "isolated no, nohz_full no"),
		  std::string::npos)
		<< out;
	EXPECT_NE(out.find("0.08 0.10 0.09 (3/612 runnable), 1 other runnable on CPU 1; stdout not a terminal"),
		  std::string::npos)
		<< out;
	EXPECT_NE(out.find("2 CPUs, 1 package(s), 2 cluster(s), capacity 1024"), std::string::npos) << out;
	EXPECT_NE(out.find("BIOS Ampere(R) 2.09.20221028 (10/28/2022); SoC jep106:0a16:0001"), std::string::npos)
		<< out;
}

/* --- the run table's cautions ----------------------------------------------------- */

TEST(Cautions, AltraWarnsOfSchedutilAndTheCompetingTaskAndNotesItIsNotIsolated)
{
	auto cs = runCautions(measuring("altra-metal", 1), nullptr, nullptr);
	EXPECT_EQ(texts(cs),
		  "warning: cpufreq governor schedutil on CPU 1: frequency changes under the benchmark (performance: "
		  "echo performance > /sys/devices/system/cpu/cpu1/cpufreq/scaling_governor)\n"
		  "warning: 1 other runnable task last ran on CPU 1: the benchmark competes for the CPU\n"
		  "note: CPU 1 is not isolated (isolcpus=, nohz_full=): other tasks and the tick may run there\n");
}

TEST(Cautions, IntelMetalWarnsOfPowersaveTurboTheSmtSiblingAndTheLoad)
{
	auto cs = runCautions(measuring("x86-intel-metal", 3, 0, false, "x86_64"), nullptr, nullptr);
	std::string t = texts(cs);
	EXPECT_EQ(severities(cs), std::vector<Severity>(4, Severity::Warning)) << t;
	EXPECT_NE(t.find("cpufreq governor powersave on CPU 3"), std::string::npos) << t;
	EXPECT_NE(t.find("turbo is on: the clock follows temperature and the other cores' load (off: echo 1 > "
			 "/sys/devices/system/cpu/intel_pstate/no_turbo)"),
		  std::string::npos)
		<< t;
	EXPECT_NE(t.find("CPU 3 shares its core with CPU 1 (SMT)"), std::string::npos) << t;
	/* 2.5 > half of 4 online CPUs. */
	EXPECT_NE(t.find("1-min load average 2.50 on 4 online CPUs"), std::string::npos) << t;
	/* Isolated: nothing to note. */
	EXPECT_EQ(t.find("isolated"), std::string::npos) << t;
}

TEST(Cautions, AVmIsNotedAndATerminalAndDefragAlwaysAreWarnings)
{
	auto cs = runCautions(measuring("m2-vm", 3, 0, true), nullptr, nullptr);
	EXPECT_EQ(texts(cs),
		  "warning: stdout is a terminal: redirect it to a file (forks measured 5-10% slower with a "
		  "terminal on stdout)\n"
		  "warning: THP defrag is \"always\": faults that want a THP stall in direct reclaim and compaction "
		  "(madvise: echo madvise > /sys/kernel/mm/transparent_hugepage/defrag)\n"
		  "note: CPU 3 is not isolated (isolcpus=, nohz_full=): other tasks and the tick may run there\n"
		  "note: running in a VM (QEMU virt): the host's scheduling and its stage-2 page tables are in every number\n");
}

TEST(Cautions, KhugepagedAndCompactionAtWorkDuringTheRunAreAWarningWithTheChanges)
{
	Env e = measuring("altra-metal", 0);
	MmActivity end = e.noise.activity;
	EXPECT_EQ(texts(runCautions(e, &end, nullptr)).find("khugepaged"), std::string::npos);
	end["khugepaged_pages_collapsed"] += 512;
	end["compact_daemon_wake"] += 2;
	std::string t = texts(runCautions(e, &end, nullptr));
	EXPECT_NE(t.find("warning: khugepaged/compaction at work during the run (compact_daemon_wake +2, "
			 "khugepaged_pages_collapsed +512)"),
		  std::string::npos)
		<< t;
}

TEST(Cautions, KernelWarningsComeFirstAndALogNotWatchedIsANoteNeverClean)
{
	Env e = measuring("altra-metal", 0);
	KernelLogScan log;
	log.available = true;
	log.add("4,10,100,-;------------[ cut here ]------------");
	log.add("4,11,101,-;WARNING: CPU: 0 PID: 1 at mm/memory.c:42 zap_pte_range+0x1c/0x40");
	log.add("4,12,102,-;Call trace:");
	auto cs = runCautions(e, nullptr, &log);
	ASSERT_FALSE(cs.empty());
	EXPECT_EQ(cs.front(), (Caution{Severity::Alarm,
				       "the kernel logged 1 warning during the run (first: WARNING: CPU: 0 PID: 1 at "
				       "mm/memory.c:42 zap_pte_range+0x1c/0x40): these results may not be trustworthy"}));
	KernelLogScan unwatched;
	unwatched.reason = "cannot open /dev/kmsg: Operation not permitted";
	std::string t = texts(runCautions(e, nullptr, &unwatched));
	EXPECT_NE(t.find("note: kernel log not watched (cannot open /dev/kmsg: Operation not permitted)"),
		  std::string::npos)
		<< t;
	KernelLogScan lost;
	lost.available = true;
	lost.lost = true;
	EXPECT_NE(texts(runCautions(e, nullptr, &lost)).find("warning: kernel log records were overwritten"),
		  std::string::npos);
}

TEST(RunTable, CautionsFollowTheTableOneLinePerCondition)
{
	Env e = measuring("altra-metal", 1);
	std::string out = formatRunTable({}, e, "base", 1,
					 {{Severity::Alarm, "a"}, {Severity::Warning, "b"}, {Severity::Note, "c"}});
	EXPECT_NE(out.find("\n# WARNING: a\n# warning: b\n# note: c\n"), std::string::npos) << out;
}

/* --- the kernel log -------------------------------------------------------------- */

TEST(Kmsg, ARecordSplitsIntoLevelFacilitySequenceTimeAndText)
{
	auto r = parseKmsgRecord("6,1234,5678,-;text");
	ASSERT_TRUE(r.has_value());
	EXPECT_EQ(r->level, 6u);
	EXPECT_EQ(r->facility, 0u);
	EXPECT_EQ(r->seq, 1234u);
	EXPECT_EQ(r->usec, 5678u);
	EXPECT_EQ(r->text, "text");
	/* User space's writes carry facility 1 and up; dictionary lines are not the message. */
	auto u = parseKmsgRecord("12,7,8,c,caller=T1;a; b\n SUBSYSTEM=mem\n DEVICE=c1:1\n");
	ASSERT_TRUE(u.has_value());
	EXPECT_EQ(u->level, 4u);
	EXPECT_EQ(u->facility, 1u);
	EXPECT_EQ(u->text, "a; b");
	for (const char *bad : {"", "text", "6,1;x", "6,x,5,-;x", "-6,1,2,-;x"})
		EXPECT_FALSE(parseKmsgRecord(bad).has_value()) << bad;
}

TEST(Kmsg, EveryKindOfKernelTroubleIsRecognised)
{
	for (const char *headline :
	     {"WARNING: CPU: 3 PID: 812 at mm/huge_memory.c:2450 __split_huge_pmd+0x2c0/0x2d0",
	      "BUG: Bad page state in process fork  pfn:1a2b3", "Internal error: Oops: 0000000096000005 [#1] SMP",
	      "Kernel panic - not syncing: Fatal exception",
	      "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", "rcu: INFO: rcu_sched self-detected stall on CPU",
	      "watchdog: BUG: soft lockup - CPU#2 stuck for 26s! [fork:1234]",
	      "Watchdog detected hard LOCKUP on cpu 5",
	      "INFO: task khugepaged:61 blocked for more than 120 seconds."})
		EXPECT_EQ(classifyKernelLine(headline), KernelLine::Headline) << headline;
	for (const char *context : {"------------[ cut here ]------------", "Call trace:", "Call Trace:",
				    "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message."})
		EXPECT_EQ(classifyKernelLine(context), KernelLine::Context) << context;
	EXPECT_EQ(classifyKernelLine("EXT4-fs (vda): mounted filesystem"), KernelLine::Other);
}

TEST(Kmsg, TheKernelsTroubleLinesAreKeptAndAWarnWithItsBacktraceCountsOnce)
{
	KernelLogScan scan;
	scan.add("4,1,1,-;------------[ cut here ]------------");
	scan.add("4,2,2,-;WARNING: CPU: 1 PID: 9 at mm/memory.c:1 f+0x0/0x4");
	scan.add("4,3,3,-;Modules linked in: pgtbench");
	scan.add("4,4,4,-;Call trace:");
	scan.add("0,5,5,-;watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [fork:7]");
	/* Anyone can write "WARNING:" to /dev/kmsg; only facility 0 is the kernel. */
	scan.add("12,6,6,-;WARNING: from user space");
	scan.add("not a record");
	EXPECT_EQ(scan.lines, (std::vector<std::string>{"------------[ cut here ]------------",
							"WARNING: CPU: 1 PID: 9 at mm/memory.c:1 f+0x0/0x4", "Call trace:",
							"watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [fork:7]"}));
	EXPECT_EQ(scan.warnings(), 2u);
	EXPECT_EQ(scan.first(), "WARNING: CPU: 1 PID: 9 at mm/memory.c:1 f+0x0/0x4");
	/* A backtrace whose headline came before the watch is still one report. */
	KernelLogScan tail;
	tail.add("4,9,9,-;Call trace:");
	EXPECT_EQ(tail.warnings(), 1u);
	EXPECT_EQ(tail.toJson()["warnings"], 1);
}

TEST(KernelLogWatch, ALogThatCannotBeOpenedIsUnavailableWithTheReasonNotClean)
{
	KernelLogWatch watch(std::string(FIXTURES) + "/env/does-not-exist/dev/kmsg");
	KernelLogScan scan = watch.finish();
	EXPECT_FALSE(scan.available);
	EXPECT_NE(scan.reason.find("No such file or directory"), std::string::npos) << scan.reason;
	auto j = scan.toJson();
	EXPECT_EQ(j["available"], false);
	EXPECT_EQ(j["lines"], nlohmann::json::array());
}

namespace {

/* A file standing for /dev/kmsg, holding one record logged before any watch; removed with it. */
struct FakeKmsg {
	std::string path;
	explicit FakeKmsg(const std::string &before)
	{
		char t[] = "/tmp/pgtbench-kmsg-XXXXXX";
		int fd = mkstemp(t);
		if (fd < 0)
			throw std::runtime_error("mkstemp");
		close(fd);
		path = t;
		std::ofstream(path) << before;
	}
	~FakeKmsg() { unlink(path.c_str()); }
	void log(const std::string &record) const { std::ofstream(path, std::ios::app) << record; }
};

} /* namespace */

TEST(KernelLogWatch, OnlyWhatIsLoggedAfterTheWatchBeganIsRead)
{
	FakeKmsg kmsg("4,1,1,-;WARNING: before the run");
	KernelLogWatch watch(kmsg.path);
	kmsg.log("4,2,2,-;BUG: during the run");
	KernelLogScan scan = watch.finish();
	EXPECT_TRUE(scan.available) << scan.reason;
	EXPECT_EQ(scan.lines, std::vector<std::string>{"BUG: during the run"});
	EXPECT_FALSE(scan.lost);
}

TEST(KernelLogWatch, ReadGivesTheRecordsSinceTheLastReadAndTheWatchGoesOn)
{
	FakeKmsg kmsg("6,1,1,-;before the load");
	KernelLogWatch watch(kmsg.path);
	kmsg.log("6,2,2,-;Summary: one");
	auto first = watch.read();
	kmsg.log("6,3,3,-;Summary: two");
	auto second = watch.read();
	KernelLogScan scan = watch.finish();
	EXPECT_EQ(first.reason, "");
	ASSERT_EQ(first.records.size(), 1u);
	EXPECT_EQ(first.records[0].text, "Summary: one");
	ASSERT_EQ(second.records.size(), 1u);
	EXPECT_EQ(second.records[0].seq, 3u);
	EXPECT_TRUE(scan.available);
	/* After finish() there is nothing more to read, and read() says why. */
	EXPECT_EQ(watch.read().reason, "already read");
}

/* --- the kernel's config and what refuses modules ------------------------------------------ */

namespace {

/* A scratch root for the files these tests write; removed afterwards. */
struct ScratchRoot : ::testing::Test {
	ScratchDir dir{"env"};
	const std::string root = dir.path();
	void put(const std::string &rel, const std::string &text) { dir.put(rel, text); }
	void putGzip(const std::string &rel, const std::string &text)
	{
		dir.put(rel);
		gzFile f = gzopen(dir.at(rel).c_str(), "wb");
		gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
		gzclose(f);
	}
};

using KernelConfigFrom = ScratchRoot;
using KernelSecurityFrom = ScratchRoot;
using KmodLoad = ScratchRoot;

} /* namespace */

TEST_F(KernelConfigFrom, BootConfigOfTheReleaseComesFirst)
{
	put("/boot/config-6.12.0-test", "CONFIG_RODATA_FULL_DEFAULT_ENABLED=y\n");
	putGzip("/proc/config.gz", "# CONFIG_RODATA_FULL_DEFAULT_ENABLED is not set\n");
	KernelConfig c = kernelConfig(root, "6.12.0-test");
	EXPECT_EQ(c.source, "/boot/config-6.12.0-test");
	EXPECT_EQ(c.text, "CONFIG_RODATA_FULL_DEFAULT_ENABLED=y\n");
}

TEST_F(KernelConfigFrom, ProcConfigGzWhereBootHasNoneAsOnACustomKernel)
{
	putGzip("/proc/config.gz", "CONFIG_ARM64_CONTPTE=y\nCONFIG_RODATA_FULL_DEFAULT_ENABLED=y\n");
	put("/proc/sys/kernel/osrelease", "6.13.0-rc1-custom\n");
	put("/proc/cmdline", "console=ttyAMA0\n");
	KernelConfig c = kernelConfig(root, "6.13.0-rc1-custom");
	EXPECT_EQ(c.source, "/proc/config.gz");
	EXPECT_EQ(c.text, "CONFIG_ARM64_CONTPTE=y\nCONFIG_RODATA_FULL_DEFAULT_ENABLED=y\n");
	/* And the facts taken from it: the rodata default, and where it came from. */
	EnvSources src;
	src.root = root;
	src.arch = "aarch64";
	Env e = collectEnv(src);
	EXPECT_EQ(e.kernel_config_source, "/proc/config.gz");
	EXPECT_EQ(e.cmdline_notes.at("rodata"), "full (kernel default)");
	EXPECT_EQ(e.toJson()["kernel"]["config_source"], "/proc/config.gz");
}

TEST_F(KernelConfigFrom, ATruncatedConfigGzIsNoConfigNotHalfOfOne)
{
	std::string big;
	for (int i = 0; i < 20000; i++)
		big += "CONFIG_OPTION_" + std::to_string(i) + "=y\n";
	putGzip("/proc/config.gz", big);
	std::filesystem::resize_file(root + "/proc/config.gz", std::filesystem::file_size(root + "/proc/config.gz") / 2);
	EXPECT_FALSE(readGzipFile(root + "/proc/config.gz").has_value()); /* not its first half */
	EXPECT_EQ(kernelConfig(root, "6.13.0").source, "");
}

TEST_F(KernelSecurityFrom, NothingEnforcedOnADebianKernelWithoutSecureBoot)
{
	put("/sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
	put("/sys/module/module/parameters/sig_enforce", "N\n");
	KernelSecurity k = parseKernelSecurity(root);
	EXPECT_EQ(k.lockdown, "none");
	EXPECT_EQ(k.sig_enforce, false);
	EXPECT_EQ(k.secure_boot, false); /* no /sys/firmware/efi: no Secure Boot */
	EXPECT_EQ(moduleRefusalReason(k), "");
}

TEST_F(KernelSecurityFrom, SecureBootWithItsLockdownAndEnforcementAreAllNamed)
{
	put("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n");
	put("/sys/module/module/parameters/sig_enforce", "Y\n");
	put("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", std::string("\x06\0\0\0\x01", 5));
	KernelSecurity k = parseKernelSecurity(root);
	EXPECT_EQ(k.lockdown, "integrity");
	EXPECT_EQ(k.sig_enforce, true);
	EXPECT_EQ(k.secure_boot, true);
	EXPECT_EQ(moduleRefusalReason(k), "module.sig_enforce=1, lockdown=integrity, Secure Boot");
}

TEST_F(KernelSecurityFrom, EfiWithoutTheVariableLeavesSecureBootUnknown)
{
	put("/sys/firmware/efi/runtime", "");
	KernelSecurity k = parseKernelSecurity(root);
	EXPECT_EQ(k.secure_boot, std::nullopt);
	EXPECT_EQ(k.sig_enforce, std::nullopt);
	EXPECT_EQ(k.lockdown, "");
	nlohmann::json j = Env{.security = k}.toJson()["kernel"];
	EXPECT_TRUE(j["secure_boot"].is_null() && j["module_sig_enforce"].is_null() && j["lockdown"].is_null());
}

TEST(KmodSpec, ANameIsLookedUpAndAnythingWithASlashOrAModuleSuffixIsAFile)
{
	EXPECT_FALSE(kmodSpecIsPath("pgtbench"));
	EXPECT_TRUE(kmodSpecIsPath("pgtbench.ko"));
	EXPECT_TRUE(kmodSpecIsPath("pgtbench.ko.xz"));
	EXPECT_TRUE(kmodSpecIsPath("pgtbench.ko.zst"));
	EXPECT_TRUE(kmodSpecIsPath("build/kmod/pgtbench.ko"));
	EXPECT_TRUE(kmodSpecIsPath("./pgtbench"));
	EXPECT_EQ(vermagicRelease("6.12.57+deb13-arm64 SMP preempt mod_unload modversions aarch64"), "6.12.57+deb13-arm64");
}

TEST(KmodLoadError, AModuleForAnotherReleaseNamesBoth)
{
	EXPECT_EQ(kmodLoadError("pgtbench.ko", ENOEXEC, "6.1.0-40-arm64", "6.12.57+deb13-arm64", {}),
		  "loading pgtbench.ko: Exec format error (built for 6.1.0-40-arm64, this kernel is "
		  "6.12.57+deb13-arm64: build it against this kernel's headers, or install pgtbench-dkms)");
}

TEST(KmodLoadError, AnUnsignedModuleRefusedSaysWhatEnforcesSignaturesAndThatLockdownBlocksDebugfs)
{
	KernelSecurity k{.lockdown = "none", .sig_enforce = true, .secure_boot = false};
	std::string e = kmodLoadError("pgtbench.ko", EKEYREJECTED, "6.12.0", "6.12.0", k);
	EXPECT_NE(e.find("unsigned modules are refused here: module.sig_enforce=1; sign it"), std::string::npos) << e;
	EXPECT_EQ(e.find("debugfs"), std::string::npos) << e;
	k.lockdown = "integrity";
	k.secure_boot = true;
	e = kmodLoadError("pgtbench.ko", EPERM, "6.12.0", "6.12.0", k);
	EXPECT_NE(e.find("module.sig_enforce=1, lockdown=integrity, Secure Boot"), std::string::npos) << e;
	EXPECT_NE(e.find("lockdown also refuses the debugfs ioctls"), std::string::npos) << e;
	EXPECT_EQ(e.find('\n'), std::string::npos);
	/* Nothing enforcing: no made-up reason. */
	EXPECT_EQ(kmodLoadError("pgtbench.ko", EPERM, "6.12.0", "6.12.0", {}), "loading pgtbench.ko: Operation not permitted");
}

TEST_F(KmodLoad, AFileThatIsMissingOrNotPgtbenchIsAUsageErrorNamingIt)
{
	if (access("/sys/module/pgtbench", F_OK) == 0)
		GTEST_SKIP() << "pgtbench.ko is loaded: the loader would use it";
	try {
		KmodLoader l(root + "/none.ko");
		FAIL() << "loaded a file that does not exist";
	} catch (const UsageError &e) {
		EXPECT_EQ(std::string(e.what()), "--kmod " + root + "/none.ko: No such file or directory");
	}
	put("/other.ko", "not a module\n");
	try {
		KmodLoader l(root + "/other.ko");
		FAIL() << "loaded a module that is not pgtbench";
	} catch (const UsageError &e) {
		EXPECT_EQ(std::string(e.what()), "--kmod " + root + "/other.ko: that is module other, not pgtbench");
	}
}

TEST(Swap, AreasAreReadFromProcSwapsAndNoneIsAReasonToSkip)
{
	SwapInfo none = parseSwaps("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", true);
	EXPECT_TRUE(none.areas.empty());
	EXPECT_NE(none.unavailable().find("no active swap area"), std::string::npos);
	SwapInfo zram = parseSwaps("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
				   "/dev/zram0                              partition\t262140\t\t1024\t\t-2\n",
				   true);
	ASSERT_EQ(zram.areas.size(), 1u);
	EXPECT_EQ(zram.areas[0].name, "/dev/zram0");
	EXPECT_EQ(zram.areas[0].type, "partition");
	EXPECT_EQ(zram.areas[0].size_bytes, 262140ull << 10);
	EXPECT_EQ(zram.areas[0].used_bytes, 1024ull << 10);
	EXPECT_EQ(zram.areas[0].priority, -2);
	EXPECT_EQ(zram.total_bytes, 262140ull << 10);
	EXPECT_EQ(zram.unavailable(), "");
	EXPECT_NE(parseSwaps("", false).unavailable().find("no /proc/swaps"), std::string::npos);
}
