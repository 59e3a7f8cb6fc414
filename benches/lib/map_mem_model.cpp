// SPDX-License-Identifier: GPL-2.0
#include "map_mem_model.h"

#include <fmt/format.h>

#include "errors.h"

namespace pgt {

const std::array<std::string_view, PGTBENCH_NR_REPLAY_STRATEGIES> kReplayStrategies = {
	"base", "no-cont-remap", "batch-barriers", "no-alloc-remap", "lazy-unmap"};
const std::array<std::string_view, PGTBENCH_NR_GRANS> kReplayGranularities = {"pte", "cont", "block"};

std::optional<unsigned> replayStrategy(std::string_view name)
{
	for (unsigned i = 0; i < kReplayStrategies.size(); i++)
		if (kReplayStrategies[i] == name)
			return i;
	return std::nullopt;
}

std::optional<unsigned> replayGranularity(std::string_view name)
{
	for (unsigned i = 0; i < kReplayGranularities.size(); i++)
		if (kReplayGranularities[i] == name)
			return i;
	return std::nullopt;
}

uint64_t ReplayCounts::tablePagesTotal() const
{
	uint64_t n = 0;
	for (auto t : table_pages)
		n += t;
	return n;
}

namespace {

ReplayCounts &operator+=(ReplayCounts &a, const ReplayCounts &b)
{
	for (size_t i = 0; i < a.table_pages.size(); i++)
		a.table_pages[i] += b.table_pages[i];
	a.slot_maps += b.slot_maps;
	a.slot_unmaps += b.slot_unmaps;
	a.entries_written += b.entries_written;
	a.tlbi += b.tlbi;
	a.dsb += b.dsb;
	a.isb += b.isb;
	return a;
}

ReplayCounts times(ReplayCounts c, uint64_t k)
{
	for (auto &t : c.table_pages)
		t *= k;
	c.slot_maps *= k;
	c.slot_unmaps *= k;
	c.entries_written *= k;
	c.tlbi *= k;
	c.dsb *= k;
	c.isb *= k;
	return c;
}

uint64_t ceilDiv(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/*
 * The price list, one function per kernel primitive the walk uses (see kmod/map_mem.c):
 *   map    pte_set_fixmap(): PTE write, dsb(ishst), isb
 *   unmap  pte_clear_fixmap(): PTE clear, flush_tlb_kernel_range() of one page =
 *          dsb(ishst), tlbi, dsb(ish), isb
 *   link   set_pXd() of a valid table or block entry: store, dsb(ishst), isb
 */
struct Model {
	unsigned strategy;
	bool blocks;
	unsigned page_shift;
	uint64_t cont_ptes, cont_pmds;
	uint64_t pte_table_span, pmd_table_span, pud_table_span; /* bytes one table maps */
	bool has_pud, pud_blocks;
	uint64_t pte_tables = 0; /* for the lazy ring, which spans tables */

	bool at(unsigned s) const { return strategy >= s; }

	static void map(ReplayCounts &c)
	{
		c.slot_maps++;
		c.dsb++;
		c.isb++;
	}
	static void unmap(ReplayCounts &c)
	{
		c.slot_unmaps++;
		c.tlbi++;
		c.dsb += 2;
		c.isb++;
	}
	static void link(ReplayCounts &c, uint64_t n = 1)
	{
		c.entries_written += n;
		c.dsb += n;
		c.isb += n;
	}
	/* BASE: the table mapped and cleared again for every contiguous run of entries. */
	static void remapPerRun(ReplayCounts &c, uint64_t runs)
	{
		c.slot_maps += runs;
		c.slot_unmaps += runs;
		c.tlbi += runs;
		c.dsb += 3 * runs;
		c.isb += 2 * runs;
	}
	/* A new table: linked into its parent; zeroed through the slot until NO_ALLOC_REMAP. */
	void alloc(ReplayCounts &c, int level) const
	{
		c.table_pages[static_cast<size_t>(level)]++;
		link(c);
		if (!at(PGTBENCH_REPLAY_NO_ALLOC_REMAP)) {
			map(c);
			unmap(c);
		}
	}
	/* One mapping of a new table for populating it: zeroed in it from NO_ALLOC_REMAP on. */
	void populateOnce(ReplayCounts &c, bool lazy) const
	{
		map(c);
		if (at(PGTBENCH_REPLAY_NO_ALLOC_REMAP))
			c.dsb++; /* clear_page() and dsb(ishst) */
		if (!lazy)
			unmap(c);
	}

	/* `full` identical tables: price one, count the PTE tables under it `full` times. */
	template <typename Price> ReplayCounts repeated(uint64_t full, Price one)
	{
		if (!full)
			return {};
		uint64_t before = pte_tables;
		ReplayCounts c = one();
		pte_tables += (pte_tables - before) * (full - 1);
		return times(c, full);
	}

	/* A PTE table mapping the first `bytes` of its span. */
	ReplayCounts pteTable(uint64_t bytes)
	{
		ReplayCounts c;
		uint64_t entries = bytes >> page_shift;
		pte_tables++;
		alloc(c, PGTBENCH_LEVEL_PTE);
		if (!at(PGTBENCH_REPLAY_NO_CONT_REMAP)) {
			remapPerRun(c, ceilDiv(entries, cont_ptes));
		} else {
			populateOnce(c, at(PGTBENCH_REPLAY_LAZY_UNMAP));
		}
		c.entries_written += entries;
		if (!at(PGTBENCH_REPLAY_BATCH_BARRIERS)) {
			c.dsb += entries;
			c.isb += entries;
		}
		return c;
	}

	ReplayCounts pmdTable(uint64_t bytes)
	{
		ReplayCounts c;
		alloc(c, PGTBENCH_LEVEL_PMD);
		if (!at(PGTBENCH_REPLAY_NO_CONT_REMAP)) {
			remapPerRun(c, ceilDiv(ceilDiv(bytes, pte_table_span), cont_pmds));
		} else {
			populateOnce(c, false);
		}
		uint64_t full = bytes / pte_table_span, tail = bytes % pte_table_span;
		if (blocks) {
			link(c, full);
		} else {
			c += repeated(full, [&] { return pteTable(pte_table_span); });
		}
		if (tail)
			c += pteTable(tail);
		return c;
	}

	ReplayCounts pudTable(uint64_t bytes)
	{
		ReplayCounts c;
		alloc(c, PGTBENCH_LEVEL_PUD);
		populateOnce(c, false); /* one mapping per call in every strategy */
		uint64_t full = bytes / pmd_table_span, tail = bytes % pmd_table_span;
		if (blocks && pud_blocks) {
			link(c, full);
		} else {
			c += repeated(full, [&] { return pmdTable(pmd_table_span); });
		}
		if (tail)
			c += pmdTable(tail);
		return c;
	}

	ReplayCounts top(uint64_t size)
	{
		ReplayCounts c;
		uint64_t span = has_pud ? pud_table_span : pmd_table_span;
		uint64_t full = size / span, tail = size % span;
		auto table = [&](uint64_t bytes) { return has_pud ? pudTable(bytes) : pmdTable(bytes); };
		c += repeated(full, [&] { return table(span); });
		if (tail)
			c += table(tail);
		if (at(PGTBENCH_REPLAY_LAZY_UNMAP) && pte_tables) {
			/* the ring: one clear per table, one ranged flush per ring-full and at the end */
			uint64_t flushes = ceilDiv(pte_tables, PGTBENCH_REPLAY_LAZY_SLOTS);
			c.slot_unmaps += pte_tables;
			c.tlbi += pte_tables;
			c.dsb += 2 * flushes;
			c.isb += flushes;
		}
		return c;
	}
};

} /* namespace */

ReplayCounts predictReplay(uint64_t size_bytes, unsigned granularity, unsigned strategy,
			   unsigned page_shift)
{
	if (page_shift != 12 && page_shift != 14 && page_shift != 16)
		throw RuntimeError(fmt::format("map_mem model: no layout for {}-byte pages", 1ULL << page_shift));
	if (!size_bytes || size_bytes % (1ULL << page_shift) || granularity >= PGTBENCH_NR_GRANS ||
	    strategy >= PGTBENCH_NR_REPLAY_STRATEGIES)
		throw RuntimeError("map_mem model: bad arguments");
	unsigned bits = page_shift - 3;
	Model m{};
	m.strategy = strategy;
	m.blocks = granularity == PGTBENCH_GRAN_BLOCK;
	m.page_shift = page_shift;
	/* arm64's CONT_PTE_SHIFT/CONT_PMD_SHIFT per page size (asm/pgtable-hwdef.h) */
	m.cont_ptes = page_shift == 12 ? 16 : page_shift == 14 ? 128 : 32;
	m.cont_pmds = page_shift == 12 ? 16 : 32;
	m.pte_table_span = 1ULL << (page_shift + bits);
	m.pmd_table_span = 1ULL << (page_shift + 2 * bits);
	m.pud_table_span = 1ULL << (page_shift + 3 * bits);
	m.has_pud = 48 > page_shift + 3 * bits;
	m.pud_blocks = page_shift == 12;
	return m.top(size_bytes);
}

std::string describeReplayMismatch(const ReplayCounts &module, const ReplayCounts &model)
{
	std::string out;
	auto field = [&](const char *name, uint64_t a, uint64_t b) {
		if (a != b)
			out += fmt::format("{}{} {} (model {})", out.empty() ? "" : ", ", name, a, b);
	};
	static const char *levels[] = {"pgd", "p4d", "pud", "pmd", "pte"};
	for (size_t i = 0; i < module.table_pages.size(); i++)
		field(fmt::format("{}_tables", levels[i]).c_str(), module.table_pages[i], model.table_pages[i]);
	field("slot_maps", module.slot_maps, model.slot_maps);
	field("slot_unmaps", module.slot_unmaps, model.slot_unmaps);
	field("entries", module.entries_written, model.entries_written);
	field("tlbi", module.tlbi, model.tlbi);
	field("dsb", module.dsb, model.dsb);
	field("isb", module.isb, model.isb);
	return out;
}

} /* namespace pgt */
