/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vmalloc scenario's pure logic: lib/test_vmalloc.c's cases as pgtbench.ko runs them
 * (kmod/pgtbench_abi.h, PGTBENCH_IOC_VMALLOC_STORM), the variants a config asks for in
 * test_vmalloc's vocabulary (p = nr_pages, h = use_huge, loops, threads), the memory a
 * storm holds, and the per-operation arithmetic over the threads' results.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgtbench_abi.h"
#include "scenario.h"

namespace pgt {

struct VmallocCase {
	std::string name;	    /* test_vmalloc's name without "_test": "fix_size_alloc" */
	uint32_t id = 0;	    /* PGTBENCH_VMALLOC_* */
	uint64_t default_pages = 0; /* the size (p:0 = test_vmalloc with nr_pages=0) */
	bool takes_pages = true;    /* test_vmalloc's nr_pages sizes it */
	bool takes_huge = false;    /* test_vmalloc's use_huge applies */
	bool random = false;	    /* draws from the seeded PRNG */
	bool needs_vmalloc_node = false; /* __vmalloc_node(): CONFIG_TEST_VMALLOC=m kernels */
	std::string help;
};

/* In PGTBENCH_VMALLOC_* order. */
const std::vector<VmallocCase> &vmallocCases();
/* By name, with or without test_vmalloc's "_test" suffix; nullptr when unknown. */
const VmallocCase *findVmallocCase(std::string_view name);

/*
 * The scenario's variants: every combination of the configured lists, where a parameter
 * the case does not take is left out (p only sizes fix_size_alloc, vm_map_ram and vmap,
 * h only applies to fix_size_alloc, seed only to the random cases), p:0 becomes the
 * case's own size, and the variants that thereby coincide run once.
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

/* The threads' results added up; case_ns is their mean (each thread ran the whole case). */
struct StormTotals {
	unsigned threads = 0;
	uint64_t loops = 0, loops_done = 0;
	uint64_t alloc_calls = 0, free_calls = 0;
	uint64_t alloc_ns = 0, free_ns = 0, loop_ns = 0;
	double case_ns = 0;
	uint64_t failures = 0, bytes_allocated = 0;
	uint64_t pmd_chunks = 0, pmd_chunks_contig = 0;
};
StormTotals sumStorms(const std::vector<pgtbench_vmalloc_storm> &storms);

/* total / ops; nullopt without ops (nothing to divide is no number, not a zero). */
std::optional<double> perOp(uint64_t total, uint64_t ops);

} /* namespace pgt */
