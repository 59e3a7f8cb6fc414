/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What pgtbench.ko's map_mem replay (kmod/map_mem.c) must issue, predicted from its
 * arguments alone: table pages per level, slot maps and clears, descriptors written and
 * every TLBI, DSB and ISB, for each strategy of the linear-map series and each
 * granularity. The module's counts are checked against this on every repetition, so a
 * change to either side that is not made to both fails loudly.
 *
 * The prediction is derived differently from how the module runs: the module walks
 * entry by entry; the model prices one table of each shape (full, or the prefix the
 * tail of the range leaves) and multiplies. Both describe the same v6.9-era walk
 * (__create_pgd_mapping into a 48-bit layout at the kernel's page size, range aligned
 * at every block size).
 */
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pgtbench_abi.h"

namespace pgt {

struct ReplayCounts {
	std::array<uint64_t, PGTBENCH_NR_LEVELS> table_pages{};
	uint64_t slot_maps = 0;
	uint64_t slot_unmaps = 0;
	uint64_t entries_written = 0;
	uint64_t tlbi = 0;
	uint64_t dsb = 0;
	uint64_t isb = 0;

	uint64_t tablePagesTotal() const;
	bool operator==(const ReplayCounts &) const = default;
};

/* page_shift 12, 14 or 16; size a non-zero multiple of the page size. */
ReplayCounts predictReplay(uint64_t size_bytes, unsigned granularity, unsigned strategy,
			   unsigned page_shift);

/* Names as the config and results spell them: "base", "no-cont-remap", ...; "pte", ... */
extern const std::array<std::string_view, PGTBENCH_NR_REPLAY_STRATEGIES> kReplayStrategies;
extern const std::array<std::string_view, PGTBENCH_NR_GRANS> kReplayGranularities;
std::optional<unsigned> replayStrategy(std::string_view name);
std::optional<unsigned> replayGranularity(std::string_view name);

/* "tlbi 33 (model 32), dsb ..." for each field that differs; "" when equal. */
std::string describeReplayMismatch(const ReplayCounts &module, const ReplayCounts &model);

} /* namespace pgt */
