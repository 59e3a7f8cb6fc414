// SPDX-License-Identifier: GPL-2.0
/*
 * mprotect: write-protect all of SIZE in one call, or only its first base page. Over the
 * whole range every mapping entry changes: one per PMD-mapped THP, one per PTE otherwise
 * - and on arm64 with contpte each contiguous range is unfolded, rewritten and folded
 * again, the cost the contpte series had to keep low. One page (range:page) is the
 * partial case: a PMD-mapped THP must be PTE-mapped first, a contiguous range unfolded
 * - exactly one block, which the walk after it shows.
 */
#include <cerrno>
#include <cstring>
#include <sys/mman.h>

#include <fmt/format.h>

#include "errors.h"
#include "scenario.h"
#include "folio.h"

namespace pgt {

extern const ScenarioSpec mprotect_scenario;
const ScenarioSpec mprotect_scenario = [] {
	ScenarioSpec s = folioScenario(
		"mprotect", "mprotect(PROT_READ) of SIZE of anonymous memory (or its first page), per folio order",
		{"mprotect_ms", "ms", Better::Lower, "the mprotect() call"}, PrepareFn{});
	s.params.push_back({.name = "range",
			    .kind = ParamKind::Choice,
			    .help = "all: the whole region; page: its first base page only",
			    .choices = {"all", "page"},
			    .defaults = {"all"},
			    .list = true});
	s.expand = [](const ParamLists &lists, const Env &env) {
		return expandFolioPointsBy(lists, env, {"range"});
	};
	s.prepare = eachRepetition([](const Params &p, const RunContext &ctx) {
		bool page = p.choice("range") == "page";
		return timeRegionOp(p, ctx, "mprotect_ms",
				    {.op =
					     [page](AnonRegion &r) {
						     if (mprotect(r.data(), page ? r.pageSize() : r.size(), PROT_READ))
							     throw RuntimeError(
								     fmt::format("mprotect: {}", strerror(errno)));
					     },
				     .remaps = true});
	});
	return s;
}();

} /* namespace pgt */
