// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfree and lazyfree_reclaim: MADV_FREE over SIZE of anonymous memory in folios of
 * one order, and the reclaim of what it marked.
 *
 * lazyfree times the MADV_FREE call: "optimize lazyfreeing with mTHP in madvise_free"
 * made it mark a whole large folio at once instead of splitting it first (16K: -94%).
 * lazyfree_reclaim times the MADV_PAGEOUT that then reclaims the lazyfree folios: they
 * are clean and no longer swap-backed, so reclaim drops them without writing anything
 * (no swap needed) - "batched unmap lazyfree large folios during reclamation" unmaps a
 * large one in one step (64K: 2.5x). Its "pageout" check records where the pages went.
 */
#include <cerrno>
#include <cstring>
#include <sys/mman.h>

#include <fmt/format.h>

#include "errors.h"
#include "folio.h"
#include "residency.h"
#include "scenario.h"

namespace pgt {

namespace {

void lazyFree(AnonRegion &r)
{
	if (madvise(r.data(), r.size(), MADV_FREE))
		throw RuntimeError(fmt::format("madvise(MADV_FREE): {}", strerror(errno)));
}

} /* namespace */

extern const ScenarioSpec lazyfree_scenario;
const ScenarioSpec lazyfree_scenario = regionOpScenario(
	"lazyfree", "one MADV_FREE over SIZE of anonymous memory, per folio order",
	{"lazyfree_ms", "ms", Better::Lower, "the madvise(MADV_FREE) call"},
	{.op = lazyFree, .remaps = true});

extern const ScenarioSpec lazyfree_reclaim_scenario;
const ScenarioSpec lazyfree_reclaim_scenario = [] {
	ScenarioSpec s = folioScenario(
		"lazyfree_reclaim", "MADV_PAGEOUT reclaiming SIZE of lazyfree (MADV_FREE) folios, per folio order",
		{"lazyfree_reclaim_ms", "ms", Better::Lower, "the madvise(MADV_PAGEOUT) call"}, PrepareFn{});
	s.prepare = eachRepetition([](const Params &p, const RunContext &ctx) {
		Residency after;
		Sample smp = timeRegionOp(p, ctx, "lazyfree_reclaim_ms",
					  {.prepare = lazyFree,
					   .op = pageOut,
					   .after =
						   [&](AnonRegion &r) {
							   after = requirePagedOut(r, "after", "none");
						   },
					   .remaps = true});
		smp.checks["pageout"] = after.toJson("none");
		return smp;
	});
	return s;
}();

} /* namespace pgt */
