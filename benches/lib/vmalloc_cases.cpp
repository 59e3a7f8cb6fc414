// SPDX-License-Identifier: GPL-2.0
#include "vmalloc_cases.h"

#include <bit>
#include <set>

namespace pgt {

const std::vector<VmallocCase> &vmallocCases()
{
	/*
	 * The sizes are test_vmalloc's own; kmod/vmalloc_storm.c has the same table. As in
	 * test_vmalloc, p (nr_pages) sizes only fix_size_alloc and vm_map_ram (and vmap, which
	 * test_vmalloc lacks) and h (use_huge) only fix_size_alloc: the other cases run at
	 * their fixed sizes, so a config reads like a test_vmalloc command line.
	 */
	static const std::vector<VmallocCase> cases = {
		{"fix_size_alloc", PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, 1, true, true, false, false,
		 "vmalloc(p pages) or vmalloc_huge() with h:1, touch, vfree"},
		{"full_fit_alloc", PGTBENCH_VMALLOC_FULL_FIT_ALLOC, 1, false, false, false, false,
		 "one-page allocations that exactly fit holes between busy areas"},
		{"long_busy_list_alloc", PGTBENCH_VMALLOC_LONG_BUSY_LIST_ALLOC, 100, false, false, false,
		 false, "100 pages and one page per loop while 15000 areas stay busy"},
		{"random_size_alloc", PGTBENCH_VMALLOC_RANDOM_SIZE_ALLOC, 100, false, false, true, false,
		 "vmalloc of 1..100 pages"},
		{"fix_align_alloc", PGTBENCH_VMALLOC_FIX_ALIGN_ALLOC, 5, false, false, false, true,
		 "__vmalloc_node(5 pages, THREAD_ALIGN << 1)"},
		{"random_size_align_alloc", PGTBENCH_VMALLOC_RANDOM_SIZE_ALIGN_ALLOC, 10, false, false,
		 true, true, "__vmalloc_node() of 1..10 pages, alignment up to 4 MiB"},
		{"pcpu_alloc", PGTBENCH_VMALLOC_PCPU_ALLOC, 0, false, false, true, false,
		 "__alloc_percpu() of up to PAGE_SIZE/4, 35000 held at once"},
		{"vm_map_ram", PGTBENCH_VMALLOC_VM_MAP_RAM, 1, true, false, false, false,
		 "vm_map_ram()/vm_unmap_ram() of p pages"},
		{"vmap", PGTBENCH_VMALLOC_VMAP, 1 << 8, true, false, false, false,
		 "vmap()/vunmap() of p pages (not a test_vmalloc case)"},
	};
	return cases;
}

const VmallocCase *findVmallocCase(std::string_view name)
{
	if (name.ends_with("_test"))
		name.remove_suffix(5);
	for (const auto &c : vmallocCases())
		if (c.name == name)
			return &c;
	return nullptr;
}

std::vector<Params> expandVmallocPoints(const ScenarioSpec &spec, const ParamLists &lists)
{
	std::vector<Params> out;
	std::set<std::string> seen;
	for (const Params &p : cartesian(spec, lists)) {
		const VmallocCase *c = findVmallocCase(p.choice("case"));
		if (!c)
			continue;
		Params q;
		for (const auto &[name, value] : p.values) {
			if ((name == "p" && !c->takes_pages) || (name == "h" && !c->takes_huge) ||
			    (name == "seed" && !c->random))
				continue;
			if (name == "p" && std::get<int64_t>(value) == 0)
				q.values.emplace_back(name, static_cast<int64_t>(c->default_pages));
			else
				q.values.emplace_back(name, value);
		}
		if (seen.insert(variantName(spec, q)).second)
			out.push_back(std::move(q));
	}
	return out;
}

uint64_t vmallocStormBytes(const VmallocCase &c, uint64_t nr_pages, bool huge, uint64_t page_size,
			   unsigned online_cpus)
{
	/* A page table maps page_size / 8 entries: 2 MiB PMDs with 4K pages. */
	const uint64_t pmd_size = page_size * (page_size / 8);
	uint64_t size = nr_pages * page_size;
	if (huge)
		size = (size + pmd_size - 1) / pmd_size * pmd_size;
	uint64_t cpus = online_cpus ? online_cpus : 1;
	uint64_t bytes = size;
	switch (c.id) {
	case PGTBENCH_VMALLOC_FULL_FIT_ALLOC: {
		/* As the module: pairs of areas filling fls(CPUs) * 32 MiB of pages. */
		uint64_t junk = static_cast<uint64_t>(std::bit_width(cpus)) * ((32ull << 20) / page_size);
		bytes += 2 * junk * nr_pages * page_size;
		break;
	}
	case PGTBENCH_VMALLOC_LONG_BUSY_LIST_ALLOC:
		bytes += (15000 + 1) * page_size;
		break;
	case PGTBENCH_VMALLOC_PCPU_ALLOC:
		bytes = 35000 * (page_size / 4) * cpus;
		break;
	default:
		break;
	}
	return bytes + bytes / 256;
}

StormTotals sumStorms(const std::vector<pgtbench_vmalloc_storm> &storms)
{
	StormTotals t;
	for (const auto &s : storms) {
		t.threads++;
		t.loops += s.loops;
		t.loops_done += s.loops_done;
		t.alloc_calls += s.alloc_calls;
		t.free_calls += s.free_calls;
		t.alloc_ns += s.alloc_ns;
		t.free_ns += s.free_ns;
		t.loop_ns += s.loop_ns;
		t.case_ns += static_cast<double>(s.case_ns);
		t.failures += s.failures;
		t.bytes_allocated += s.bytes_allocated;
		t.pmd_chunks += s.pmd_chunks;
		t.pmd_chunks_contig += s.pmd_chunks_contig;
	}
	if (t.threads)
		t.case_ns /= t.threads;
	return t;
}

std::optional<double> perOp(uint64_t total, uint64_t ops)
{
	if (!ops)
		return std::nullopt;
	return static_cast<double>(total) / static_cast<double>(ops);
}

} /* namespace pgt */
