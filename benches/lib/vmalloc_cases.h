/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pure logic of the vmalloc and test_vmalloc scenarios: lib/test_vmalloc.c's cases
 * as pgtbench.ko runs them (kmod/pgtbench_abi.h, PGTBENCH_IOC_VMALLOC_STORM) and as
 * test_vmalloc.ko itself is asked for them (run_test_mask, its "Summary:" lines), the
 * variants a config asks for in test_vmalloc's vocabulary (p = nr_pages, h = use_huge,
 * loops, threads), the memory a storm holds, the per-operation arithmetic over the
 * threads' results, and the table that puts the two scenarios side by side.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "env.h"
#include "pgtbench_abi.h"
#include "results.h"
#include "scenario.h"

namespace pgt {

/* test_vmalloc's pcpu_alloc_test: objects allocated, then freed, per pass. */
inline constexpr uint64_t kTestVmallocPcpuObjects = 35000;

/*
 * The vmalloc scenario's `context`: where the case runs. The default is left out of the
 * variant's params, so that its names are those of the runs before the choice existed.
 */
inline constexpr const char *kContextThread = "thread";
inline constexpr const char *kContextKthread = "kthread";

struct VmallocCase {
	std::string name;	    /* test_vmalloc's name without "_test": "fix_size_alloc" */
	uint32_t id = 0;	    /* PGTBENCH_VMALLOC_* */
	uint64_t default_pages = 0; /* the size (p:0 = test_vmalloc with nr_pages=0) */
	bool takes_pages = true;    /* test_vmalloc's nr_pages sizes it */
	bool takes_huge = false;    /* test_vmalloc's use_huge applies */
	bool random = false;	    /* draws from the seeded PRNG */
	bool needs_vmalloc_node = false; /* __vmalloc_node(): CONFIG_TEST_VMALLOC=m kernels */
	std::string help;
	/*
	 * Loops the case runs whatever test_loop_count says (pcpu_alloc: its 35000 objects,
	 * allocated then freed), 0 when `loops` counts them; such a case takes no loops.
	 */
	uint64_t fixed_loops = 0;
	/* Its bit in test_vmalloc's run_test_mask (6.12's numbering); 0: not a test_vmalloc case. */
	uint32_t test_vmalloc_mask = 0;
};

/* In PGTBENCH_VMALLOC_* order. */
const std::vector<VmallocCase> &vmallocCases();
/* By name, with or without test_vmalloc's "_test" suffix; nullptr when unknown. */
const VmallocCase *findVmallocCase(std::string_view name);

/*
 * The parameters both scenarios take, named as test_vmalloc's module parameters so that
 * their variants of one case line up: case (its test names without "_test"; with
 * test_vmalloc_only the cases test_vmalloc has), p (nr_pages), h (use_huge), loops
 * (test_loop_count), threads (nr_threads, helped by threads_help); then `more`.
 */
std::vector<ParamSpec> vmallocCaseParams(bool test_vmalloc_only, const std::string &threads_help,
					 std::vector<ParamSpec> more);

/*
 * The scenario's variants: every combination of the configured lists, where a parameter
 * the case does not take is left out (p only sizes fix_size_alloc, vm_map_ram and vmap,
 * h only applies to fix_size_alloc, seed only to the random cases, loops not to
 * pcpu_alloc), p:0 becomes the case's own size, context:thread (the default) is left
 * out too, and the variants that thereby coincide run once. The vmalloc and test_vmalloc scenarios share it, so that their variants of
 * one case have the same parameters.
 */
std::vector<Params> expandVmallocPoints(const ScenarioSpec &spec, const ParamLists &lists);

/*
 * Memory one storm thread can hold at once, for the harness's preflight: the largest
 * allocation (whole PMDs with use_huge), the case's setup (full_fit's pairs,
 * long_busy_list's busy areas, the page array of vm_map_ram/vmap, pcpu_alloc's 35000
 * objects on every CPU), and their page tables.
 */
uint64_t vmallocStormBytes(const VmallocCase &c, uint64_t nr_pages, bool huge, uint64_t page_size,
			   unsigned online_cpus);

/* The loops a storm of this case runs for a variant: `loops`, or the case's fixed count. */
uint64_t stormLoops(const VmallocCase &c, const Params &p);

/* CPUs online (full_fit_alloc's setup grows with them); the PU count when unreadable. */
unsigned vmallocOnlineCpus(const Env &env);

/* What a variant of either scenario holds at once: every thread's (worker's) storm. */
uint64_t vmallocVariantBytes(const Params &p, const Env &env);

/*
 * The threads' results added up; case_ns and clock_ns are their means (each thread ran
 * the whole case and calibrated its own clock).
 */
struct StormTotals {
	unsigned threads = 0;
	uint64_t loops = 0, loops_done = 0;
	uint64_t alloc_calls = 0, free_calls = 0;
	uint64_t alloc_ns = 0, free_ns = 0, loop_ns = 0;
	double case_ns = 0, clock_ns = 0;
	uint64_t failures = 0, bytes_allocated = 0;
	uint64_t pmd_chunks = 0, pmd_chunks_contig = 0;
};
StormTotals sumStorms(const std::vector<pgtbench_vmalloc_storm> &storms);

/* total / ops; nullopt without ops (nothing to divide is no number, not a zero). */
std::optional<double> perOp(uint64_t total, uint64_t ops);

/* --- test_vmalloc.ko ------------------------------------------------------------- */

/* "Summary: fix_size_alloc_test passed: 1 failed: 0 repeat: 1 loops: 1000 avg: 812 usec" */
struct TestVmallocSummary {
	std::string test; /* "fix_size_alloc_test" */
	int64_t passed = 0, failed = 0, repeat = 0, loops = 0;
	uint64_t avg_us = 0;
};
/* One kernel log line, if it is a Summary line in exactly test_vmalloc's format. */
std::optional<TestVmallocSummary> parseTestVmallocSummary(std::string_view line);

/* What test_vmalloc.ko is asked for: its module parameters, from a variant's. */
struct TestVmallocRun {
	const VmallocCase *c = nullptr;
	int64_t loops = 0, repeat = 1, threads = 1;
	int64_t nr_pages = 0; /* 0: the case's own; only for the cases test_vmalloc sizes */
	bool use_huge = false;
};
/* A test_vmalloc variant's run: one repeat per load (a repetition is one load). */
TestVmallocRun testVmallocRun(const Params &p);
/* "run_test_mask=1 test_loop_count=1000 ..." for finit_module(). */
std::string testVmallocParams(const TestVmallocRun &r);

/*
 * The running kernel's test_vmalloc module under root (env.root): the path modules.dep
 * gives, else kernel/lib/test_vmalloc.ko, plain or compressed (.xz, .zst, .gz), as
 * `make modules_install` and distributions place it. "" with *why when there is none.
 */
std::string findTestVmalloc(const std::string &root, const std::string &release, std::string *why);
/* Whether finit_module() must decompress the file (MODULE_INIT_COMPRESSED_FILE). */
bool compressedModule(std::string_view path);

/*
 * One load's Summary lines checked against what was asked: one line per worker
 * (nr_threads), each for the case, with its repeat and loops, none failed and every
 * repeat passed. "" when they are, else the one-line reason.
 */
std::string checkTestVmallocSummaries(const TestVmallocRun &r, const std::vector<TestVmallocSummary> &lines);

/*
 * "pgtbench vs test_vmalloc": for every vmalloc entry of the run with a test_vmalloc
 * entry of the same case and parameters (p, h, loops, threads), both case_us and their
 * ratio. "" when no case ran in both.
 */
std::string formatVsTestVmalloc(const ResultsFile &run);

} /* namespace pgt */
