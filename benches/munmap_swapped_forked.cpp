// SPDX-License-Identifier: GPL-2.0
/*
 * munmap_swapped_forked: page SIZE of anonymous memory in folios of one order out to
 * swap (MADV_PAGEOUT), fork() and keep the child, then time the parent's munmap() - the
 * contpte thread's munmap-swapped-forked mode. Every entry is a swap entry the child
 * shares, so the munmap drops swap references (free_swap_and_cache_nr) rather than
 * folios: the path batched for large folios' swap entries. The "pageout" check proves
 * every page was on swap. Needs swap; skipped with the reason where there is none.
 */
#include <memory>

#include "folio.h"
#include "held_child.h"
#include "residency.h"
#include "scenario.h"

namespace pgt {

extern const ScenarioSpec munmap_swapped_forked_scenario;
const ScenarioSpec munmap_swapped_forked_scenario = [] {
	ScenarioSpec s = folioScenario(
		"munmap_swapped_forked",
		"munmap() of SIZE paged out to swap, with a forked child still sharing it, per folio order",
		{"munmap_swapped_forked_ms", "ms", Better::Lower, "the parent's munmap() call"}, PrepareFn{});
	s.supported = swapUnsupported;
	s.prepare = eachRepetition([](const Params &p, const RunContext &ctx) {
		Residency out;
		std::unique_ptr<HeldChild> child;
		Sample smp = timeRegionOp(p, ctx, "munmap_swapped_forked_ms",
					  {.prepare =
						   [&](AnonRegion &r) {
							   pageOut(r);
							   out = requirePagedOut(r, "before", "swapped");
							   child = std::make_unique<HeldChild>();
						   },
					   .op = [](AnonRegion &r) { r.unmap(); },
					   .after = [&](AnonRegion &) { child.reset(); }});
		smp.checks["pageout"] = out.toJson("swapped");
		return smp;
	});
	return s;
}();

} /* namespace pgt */
