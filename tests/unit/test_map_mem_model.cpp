// SPDX-License-Identifier: GPL-2.0
/*
 * The map_mem replay model: counts worked out by hand from the v6.9 walk for small
 * trees, and the properties the series' commit messages state for large ones.
 */
#include <gtest/gtest.h>

#include "errors.h"
#include "map_mem_model.h"

namespace pgt {
namespace {

constexpr uint64_t K = 1024, M = K * K, G = K * M;
constexpr unsigned kBase = PGTBENCH_REPLAY_BASE, kNoCont = PGTBENCH_REPLAY_NO_CONT_REMAP,
		   kBatch = PGTBENCH_REPLAY_BATCH_BARRIERS, kNoAlloc = PGTBENCH_REPLAY_NO_ALLOC_REMAP,
		   kLazy = PGTBENCH_REPLAY_LAZY_UNMAP;

ReplayCounts counts(std::array<uint64_t, 5> tables, uint64_t maps, uint64_t unmaps, uint64_t entries,
		    uint64_t tlbi, uint64_t dsb, uint64_t isb)
{
	ReplayCounts c;
	c.table_pages = tables;
	c.slot_maps = maps;
	c.slot_unmaps = unmaps;
	c.entries_written = entries;
	c.tlbi = tlbi;
	c.dsb = dsb;
	c.isb = isb;
	return c;
}

ReplayCounts predict(uint64_t size, unsigned gran, unsigned strategy, unsigned page_shift = 12)
{
	return predictReplay(size, gran, strategy, page_shift);
}

/*
 * 2 MiB at PTE granularity, base: one PUD, PMD and PTE table each.
 *   each new table: linked (dsb+isb), zeroed through the slot (map dsb+isb, clear tlbi
 *   + 2 dsb + isb); PUD mapped once more to populate; PMD once per run of 16 entries
 *   (1 run); PTE once per run of 16 PTEs (32 runs); 512 PTEs with dsb+isb each.
 *   maps = 3 (zeroing) + 1 + 1 + 32 = 37 = unmaps = tlbi
 *   dsb = 3 links + 37 maps + 2 * 37 unmaps + 512 PTEs = 626 - 1 ... counted below
 */
TEST(MapMemModel, BaseRemapsThePteTableForEveryContiguousRun)
{
	uint64_t maps = 3 + 1 + 1 + 32;
	uint64_t entries = 3 + 512;
	uint64_t dsb = 3 + maps + 2 * maps + 512;
	uint64_t isb = 3 + maps + maps + 512;
	EXPECT_EQ(predict(2 * M, PGTBENCH_GRAN_PTE, kBase),
		  counts({0, 0, 1, 1, 1}, maps, maps, entries, maps, dsb, isb));
}

TEST(MapMemModel, NoContRemapMapsEachTableTwiceOnly)
{
	/* zero + populate for each of the three tables: 6 maps, 6 TLBIs */
	EXPECT_EQ(predict(2 * M, PGTBENCH_GRAN_PTE, kNoCont),
		  counts({0, 0, 1, 1, 1}, 6, 6, 515, 6, 3 + 6 + 12 + 512, 3 + 6 + 6 + 512));
}

TEST(MapMemModel, BatchBarriersDropsThePerPteBarriers)
{
	EXPECT_EQ(predict(2 * M, PGTBENCH_GRAN_PTE, kBatch),
		  counts({0, 0, 1, 1, 1}, 6, 6, 515, 6, 3 + 6 + 12, 3 + 6 + 6));
}

TEST(MapMemModel, NoAllocRemapZeroesInThePopulatingMap)
{
	/* one map per table, plus clear_page's dsb for each */
	EXPECT_EQ(predict(2 * M, PGTBENCH_GRAN_PTE, kNoAlloc),
		  counts({0, 0, 1, 1, 1}, 3, 3, 515, 3, 3 + 3 + 3 + 6, 3 + 3 + 3));
}

/*
 * 64 MiB, lazy-unmap: 32 PTE tables through the ring of 16 (two ranged flushes of 16
 * TLBIs, each with one dsb pair and one isb); PUD and PMD cleared one by one.
 */
TEST(MapMemModel, LazyUnmapClearsPteSlotsSixteenAtATime)
{
	uint64_t tables = 32, flushes = 2;
	uint64_t maps = 2 + tables;
	uint64_t dsb = (2 + tables) /* links */ + maps + (2 + tables) /* clear_page */ + 2 * 2 /* PUD, PMD */ +
		       2 * flushes;
	uint64_t isb = (2 + tables) + maps + 2 + flushes;
	EXPECT_EQ(predict(64 * M, PGTBENCH_GRAN_PTE, kLazy),
		  counts({0, 0, 1, 1, tables}, maps, maps, 2 + tables + tables * 512, maps, dsb, isb));
}

TEST(MapMemModel, LazyRingFlushesAPartialRingAtTheEnd)
{
	ReplayCounts c = predict(17 * 2 * M, PGTBENCH_GRAN_PTE, kLazy);
	EXPECT_EQ(c.table_pages[PGTBENCH_LEVEL_PTE], 17u);
	/* 17 PTE tables: a full ring and one more, i.e. two flushes; PUD + PMD clear alone */
	EXPECT_EQ(c.tlbi, 17u + 2u);
	EXPECT_EQ(c.isb, (2 + 17) + (2 + 17) + 2 + 2u);
}

/*
 * Block granularity, 1G + 2M + 4K: a PUD block for the first GiB, a PMD table holding
 * one 2M block and a PTE table holding one page. Base strategy.
 */
TEST(MapMemModel, BlocksMapWhatIsAlignedAndTablesTheTail)
{
	/* maps: 3 zeroing + PUD 1 + PMD 1 run + PTE 1 run = 6; entries: 3 links, 2 blocks, 1 PTE */
	EXPECT_EQ(predict(G + 2 * M + 4 * K, PGTBENCH_GRAN_BLOCK, kBase),
		  counts({0, 0, 1, 1, 1}, 6, 6, 6, 6, 5 + 6 + 12 + 1, 5 + 6 + 6 + 1));
	/* exactly 16G: PUD blocks only, one PUD table */
	ReplayCounts c = predict(16 * G, PGTBENCH_GRAN_BLOCK, kBase);
	EXPECT_EQ(c.table_pages, (std::array<uint64_t, 5>{0, 0, 1, 0, 0}));
	EXPECT_EQ(c.entries_written, 1u + 16u);
}

TEST(MapMemModel, ContiguousHintChangesNoCount)
{
	for (unsigned s = 0; s < PGTBENCH_NR_REPLAY_STRATEGIES; s++)
		EXPECT_EQ(predict(3 * G + 6 * M + 20 * K, PGTBENCH_GRAN_CONT, s),
			  predict(3 * G + 6 * M + 20 * K, PGTBENCH_GRAN_PTE, s))
			<< kReplayStrategies[s];
}

/* ~2 MiB of tables per GiB at PTE granularity: 512 PTE tables + 1 PMD per GiB. */
TEST(MapMemModel, PteGranularityNeedsAboutTwoMegabytesOfTablesPerGigabyte)
{
	for (uint64_t gib : {1, 16, 64, 256, 512, 1024}) {
		ReplayCounts c = predict(gib * G, PGTBENCH_GRAN_PTE, kBase);
		EXPECT_EQ(c.table_pages[PGTBENCH_LEVEL_PTE], gib * 512);
		EXPECT_EQ(c.table_pages[PGTBENCH_LEVEL_PMD], gib);
		EXPECT_EQ(c.table_pages[PGTBENCH_LEVEL_PUD], (gib + 511) / 512);
		EXPECT_EQ(c.entries_written, gib * G / (4 * K) + c.tablePagesTotal());
	}
}

/* "each table has 2 TLB invalidations issued against it ... halving the number of TLBIs" */
TEST(MapMemModel, EachStepOfTheSeriesIssuesNoMoreThanTheOneBefore)
{
	for (uint64_t size : {16 * G, 64 * G + 3 * M, 512 * G}) {
		ReplayCounts prev = predict(size, PGTBENCH_GRAN_PTE, kBase);
		for (unsigned s = 1; s < PGTBENCH_NR_REPLAY_STRATEGIES; s++) {
			ReplayCounts c = predict(size, PGTBENCH_GRAN_PTE, s);
			EXPECT_LE(c.tlbi, prev.tlbi) << kReplayStrategies[s];
			EXPECT_LE(c.dsb, prev.dsb) << kReplayStrategies[s];
			EXPECT_LE(c.isb, prev.isb) << kReplayStrategies[s];
			EXPECT_EQ(c.table_pages, prev.table_pages);
			EXPECT_EQ(c.entries_written, prev.entries_written);
			prev = c;
		}
	}
	ReplayCounts nocont = predict(64 * G, PGTBENCH_GRAN_PTE, kNoCont);
	ReplayCounts noalloc = predict(64 * G, PGTBENCH_GRAN_PTE, kNoAlloc);
	EXPECT_EQ(nocont.tlbi, 2 * nocont.tablePagesTotal());
	EXPECT_EQ(noalloc.tlbi, noalloc.tablePagesTotal());
	/*
	 * base: per PTE table (2M), 1 zeroing clear + 32 runs of 16 PTEs; per PMD table (1G),
	 * 1 + 32 runs of 16 entries; the PUD table zeroed and populated: 2.
	 */
	EXPECT_EQ(predict(64 * G, PGTBENCH_GRAN_PTE, kBase).tlbi, 64 * 512 * 33 + 64 * 33 + 2);
}

TEST(MapMemModel, SixtyFourKPagesHaveNoPudLevel)
{
	ReplayCounts c = predict(16 * G, PGTBENCH_GRAN_PTE, kNoAlloc, 16);
	/* a PTE table maps 512M with 64K pages; one PMD table maps 4T */
	EXPECT_EQ(c.table_pages, (std::array<uint64_t, 5>{0, 0, 0, 1, 32}));
	ReplayCounts b = predict(16 * G, PGTBENCH_GRAN_BLOCK, kNoAlloc, 16);
	EXPECT_EQ(b.table_pages, (std::array<uint64_t, 5>{0, 0, 0, 1, 0}));
	/* 16K: PUD blocks are not allowed, so a PMD table per 64G */
	ReplayCounts s = predict(128 * G, PGTBENCH_GRAN_BLOCK, kNoAlloc, 14);
	EXPECT_EQ(s.table_pages, (std::array<uint64_t, 5>{0, 0, 1, 2, 0}));
}

TEST(MapMemModel, RejectsWhatTheModuleRejects)
{
	EXPECT_THROW(predict(0, PGTBENCH_GRAN_PTE, kBase), RuntimeError);
	EXPECT_THROW(predict(4 * K + 1, PGTBENCH_GRAN_PTE, kBase), RuntimeError);
	EXPECT_THROW(predict(G, PGTBENCH_NR_GRANS, kBase), RuntimeError);
	EXPECT_THROW(predict(G, PGTBENCH_GRAN_PTE, PGTBENCH_NR_REPLAY_STRATEGIES), RuntimeError);
	EXPECT_THROW(predict(G, PGTBENCH_GRAN_PTE, kBase, 13), RuntimeError);
}

TEST(MapMemModel, NamesRoundTrip)
{
	for (unsigned s = 0; s < kReplayStrategies.size(); s++)
		EXPECT_EQ(replayStrategy(kReplayStrategies[s]), s);
	for (unsigned g = 0; g < kReplayGranularities.size(); g++)
		EXPECT_EQ(replayGranularity(kReplayGranularities[g]), g);
	EXPECT_FALSE(replayStrategy("lazy"));
	EXPECT_FALSE(replayGranularity("pmd"));
}

TEST(MapMemModel, MismatchNamesEachDifferingCount)
{
	ReplayCounts a = predict(2 * M, PGTBENCH_GRAN_PTE, kBase), b = a;
	EXPECT_EQ(describeReplayMismatch(a, b), "");
	b.tlbi++;
	b.table_pages[PGTBENCH_LEVEL_PTE]++;
	EXPECT_EQ(describeReplayMismatch(a, b), "pte_tables 1 (model 2), tlbi 37 (model 38)");
}

} /* namespace */
} /* namespace pgt */
