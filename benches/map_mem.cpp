// SPDX-License-Identifier: GPL-2.0
/*
 * map_mem: arm64's boot-time linear-map construction, replayed by pgtbench.ko on a
 * running kernel (PGTBENCH_IOC_MAP_MEM_REPLAY, kmod/map_mem.c), per strategy of the
 * "Speed up boot with faster linear map creation" series and per granularity.
 *
 * Developers of that series patched, rebooted and read "map_mem: time=" from dmesg for
 * every step on every machine. The replay builds the same tables the same way into a
 * private tree, so one run gives the whole table - rows = strategies, columns = memory
 * sizes, ms (% vs base) - and the exact TLBI/DSB/ISB counts the posts could only infer.
 * Every repetition's counts are held to harness/map_mem_model's prediction: a module
 * and a model that disagree fail the variant rather than report a number nobody can
 * explain.
 *
 * Each sample is one ioctl: table pages are allocated before the timed walk and freed
 * after it (memblock hands them out for free at boot), so map_mem_ms is the walk alone;
 * call_ms is the whole ioctl as user space waits for it. Counters (cycles) bracket the
 * ioctl and so include both.
 */
#include <cstring>

#include <fmt/format.h>

#include "errors.h"
#include "kmod.h"
#include "map_mem_model.h"
#include "scenario.h"
#include "util.h"

namespace pgt {

namespace {

unsigned pageShift(const Env &env)
{
	uint64_t ps = env.kmod.page_size ? env.kmod.page_size : env.page_size_bytes;
	unsigned shift = 0;
	while ((1ULL << shift) < ps)
		shift++;
	return shift;
}

struct Args {
	uint64_t size;
	unsigned strategy, granularity;
};

Args argsOf(const Params &p)
{
	return {static_cast<uint64_t>(p.integer("size")), *replayStrategy(p.choice("strategy")),
		*replayGranularity(p.choice("granularity"))};
}

/* What the module says it did, in the model's terms. */
ReplayCounts countsOf(const pgtbench_map_mem_replay &arg)
{
	ReplayCounts got;
	for (size_t i = 0; i < got.table_pages.size(); i++)
		got.table_pages[i] = arg.table_pages[i];
	got.slot_maps = arg.slot_maps;
	got.slot_unmaps = arg.slot_unmaps;
	got.entries_written = arg.entries_written;
	got.tlbi = arg.counts.tlbi_count;
	got.dsb = arg.counts.dsb_count;
	got.isb = arg.counts.isb_count;
	return got;
}

class MapMemVariant : public PreparedVariant
{
public:
	MapMemVariant(const Params &p, const RunContext &ctx)
		: ctx_(ctx), args_(argsOf(p)), kmod_(requireKmod(ctx.env, KmodCap::MapMemReplay)),
		  model_(predictReplay(args_.size, args_.granularity, args_.strategy, pageShift(ctx.env)))
	{
	}

	Sample sample() override
	{
		pgtbench_map_mem_replay arg = {};
		arg.size_bytes = args_.size;
		arg.granularity = args_.granularity;
		arg.strategy = args_.strategy;
		Sample s;
		int rc = 0;
		Elapsed call = ctx_.timed(s, [&] { rc = kmod_->ioctl(PGTBENCH_IOC_MAP_MEM_REPLAY, &arg); });
		if (rc)
			throw RuntimeError(fmt::format("MAP_MEM_REPLAY ioctl: {}{}", strerror(-rc),
						       rc == -ENOMEM ? " (the table pages did not fit)" : ""));

		ReplayCounts got = countsOf(arg);
		if (!(got == model_))
			throw RuntimeError("pgtbench.ko and the map_mem model disagree: " +
					   describeReplayMismatch(got, model_));

		s.values["map_mem_ms"] = static_cast<double>(arg.total_ns) / 1e6;
		s.values["ns_per_gib"] = static_cast<double>(arg.ns_per_gib);
		s.values["call_ms"] = call.ms();
		s.values["tlbi_count"] = static_cast<double>(got.tlbi);
		s.values["dsb_count"] = static_cast<double>(got.dsb);
		s.values["isb_count"] = static_cast<double>(got.isb);
		s.values["slot_map_count"] = static_cast<double>(got.slot_maps);
		s.values["slot_unmap_count"] = static_cast<double>(got.slot_unmaps);
		s.values["entry_count"] = static_cast<double>(got.entries_written);
		s.values["pud_table_pages"] = static_cast<double>(got.table_pages[PGTBENCH_LEVEL_PUD]);
		s.values["pmd_table_pages"] = static_cast<double>(got.table_pages[PGTBENCH_LEVEL_PMD]);
		s.values["pte_table_pages"] = static_cast<double>(got.table_pages[PGTBENCH_LEVEL_PTE]);
		s.checks["model"] = {{"ok", true}, {"what", "every count equals harness/map_mem_model's prediction"}};
		return s;
	}

private:
	RunContext ctx_; /* a copy: the runner's lives only through prepare() */
	Args args_;
	std::unique_ptr<Kmod> kmod_;
	ReplayCounts model_;
};

std::string mapMemSupported(const Params &p, const Env &env)
{
	if (std::string why = kmodMissing(env.kmod, KmodCap::MapMemReplay); !why.empty())
		return why;
	unsigned shift = pageShift(env);
	if (shift != 12 && shift != 14 && shift != 16)
		return fmt::format("no arm64 layout for {}-byte pages", env.kmod.page_size);
	uint64_t size = static_cast<uint64_t>(p.integer("size"));
	if (size % (1ULL << shift))
		return fmt::format("size {} is not a multiple of the kernel's {}-byte pages", formatSize(size),
				   1ULL << shift);
	return {};
}

/* The table pages the module allocates for the variant, for the runner's preflight. */
uint64_t mapMemMemory(const Params &p, const Env &env)
{
	unsigned shift = pageShift(env);
	if (shift != 12 && shift != 14 && shift != 16)
		return 0;
	Args a = argsOf(p);
	if (a.size % (1ULL << shift))
		return 0;
	return (predictReplay(a.size, a.granularity, a.strategy, shift).tablePagesTotal() + 1) << shift;
}

std::vector<std::string> names(const auto &list)
{
	return {list.begin(), list.end()};
}

} /* namespace */

extern const ScenarioSpec map_mem_scenario;
const ScenarioSpec map_mem_scenario = {
	.name = "map_mem",
	.description = "arm64 boot-time linear-map creation replayed in pgtbench.ko, per strategy",
	.params =
		{
			{.name = "size",
			 .kind = ParamKind::Size,
			 .help = "memory the linear map describes (never touched; tables need ~2M per G at pte)",
			 .min = 4096,
			 .max = static_cast<int64_t>(PGTBENCH_REPLAY_MAX_BYTES),
			 .defaults = {"16G", "64G", "256G", "512G"},
			 .list = true},
			{.name = "strategy",
			 .kind = ParamKind::Choice,
			 .help = "step of the linear-map series (each includes the ones before it)",
			 .choices = names(kReplayStrategies),
			 .defaults = names(kReplayStrategies),
			 .list = true},
			{.name = "granularity",
			 .kind = ParamKind::Choice,
			 .help = "pte (rodata=full), cont (contiguous hint), block (rodata=on)",
			 .choices = names(kReplayGranularities),
			 .defaults = {"pte"},
			 .list = true},
		},
	.metrics =
		{
			{"map_mem_ms", "ms", Better::Lower, "building the tables (the walk alone)"},
			{"ns_per_gib", "ns", Better::Lower, "map_mem_ms per GiB mapped"},
			{"call_ms", "ms", Better::Lower, "the whole ioctl: table pages allocated, walk, freed"},
			{"tlbi_count", "count", Better::Lower, "TLB invalidations the walk issued"},
			{"dsb_count", "count", Better::Lower, "DSBs the walk issued"},
			{"isb_count", "count", Better::Lower, "ISBs the walk issued"},
			{"slot_map_count", "count", Better::Lower, "table pages mapped into a fixmap slot"},
			{"slot_unmap_count", "count", Better::Lower, "fixmap slot clears"},
			{"entry_count", "count", Better::Lower, "descriptors written (page, block, table)"},
			{"pud_table_pages", "pages", Better::Lower, "PUD table pages allocated"},
			{"pmd_table_pages", "pages", Better::Lower, "PMD table pages allocated"},
			{"pte_table_pages", "pages", Better::Lower, "PTE table pages allocated"},
		},
	.expand = {},
	.supported = mapMemSupported,
	.knobs = {},
	.memory_bytes = mapMemMemory,
	.prepare = prepareVariant<MapMemVariant>(),
	.cover = {.rows = "strategy", .columns = {"size"}},
};

} /* namespace pgt */
