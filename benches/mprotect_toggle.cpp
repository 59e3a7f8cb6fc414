// SPDX-License-Identifier: GPL-2.0
/*
 * mprotect_toggle: mprotect(PROT_READ) then mprotect(PROT_READ|PROT_WRITE) of all of
 * SIZE, TOGGLES times over - the benchmark of "Optimize mprotect() for large folios",
 * which reported it on 1 GiB, 40 toggles, as T1 (a PMD THP PTE-mapped: order 9 map:pte),
 * T2 (64K mTHP: order 4) and T3 (4K: order 0). Every toggle rewrites every entry: per
 * PTE the generic code reads, modifies and commits it, and on arm64 each contiguous
 * range is unfolded and folded again - the per-folio batching that series adds.
 */
#include <cerrno>
#include <cstring>
#include <sys/mman.h>

#include <fmt/format.h>

#include "errors.h"
#include "folio.h"
#include "scenario.h"

namespace pgt {

namespace {

void protect(AnonRegion &r, int prot)
{
	if (mprotect(r.data(), r.size(), prot))
		throw RuntimeError(fmt::format("mprotect: {}", strerror(errno)));
}

} /* namespace */

extern const ScenarioSpec mprotect_toggle_scenario;
const ScenarioSpec mprotect_toggle_scenario = [] {
	ScenarioSpec s = folioScenario(
		"mprotect_toggle",
		"TOGGLES x mprotect(PROT_READ) + mprotect(PROT_READ|PROT_WRITE) of SIZE, per folio order "
		"(the mprotect series' T1 = order 9 map:pte, T2 = order 4 64K, T3 = order 0 4K)",
		{"mprotect_toggle_ms", "ms", Better::Lower, "all the mprotect() calls"},
		PrepareFn{});
	s.params.push_back({.name = "toggles",
			    .kind = ParamKind::Int,
			    .help = "read-only / read-write round trips per repetition",
			    .min = 1,
			    .max = 100000,
			    .defaults = {"40"}});
	s.expand = [](const ParamLists &lists, const Env &env) {
		return expandFolioPointsBy(lists, env, {"toggles"});
	};
	s.prepare = eachRepetition([](const Params &p, const RunContext &ctx) {
		int64_t toggles = p.integer("toggles");
		return timeRegionOp(p, ctx, "mprotect_toggle_ms",
				    {.op =
					     [toggles](AnonRegion &r) {
						     for (int64_t i = 0; i < toggles; i++) {
							     protect(r, PROT_READ);
							     protect(r, PROT_READ | PROT_WRITE);
						     }
					     },
				     /* Whether the contiguous ranges came back folded. */
				     .remaps = true});
	});
	return s;
}();

} /* namespace pgt */
