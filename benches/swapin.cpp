// SPDX-License-Identifier: GPL-2.0
/*
 * swapin: page SIZE of anonymous memory in folios of one order out to swap
 * (MADV_PAGEOUT), then time faulting it back in by reading one byte per base page -
 * the large-folio swap-in series' measurement: on a synchronous device (zram) a kernel
 * with large-folio swap-in brings a 64K folio back in one fault instead of sixteen.
 * Which folios came back is the "folio_after" check; the "pageout" check proves every
 * page really was on swap before the clock started (a repetition where the kernel kept
 * some is an error, not a figure). Needs swap; skipped with the reason where there is
 * none.
 */
#include "folio.h"
#include "residency.h"
#include "scenario.h"

namespace pgt {

extern const ScenarioSpec swapin_scenario;
const ScenarioSpec swapin_scenario = [] {
	ScenarioSpec s = folioScenario(
		"swapin", "read faults bringing SIZE of paged-out anonymous memory back from swap, per folio order",
		{"swapin_ms", "ms", Better::Lower, "one read per base page"}, PrepareFn{});
	s.supported = swapUnsupported;
	s.prepare = eachRepetition([](const Params &p, const RunContext &ctx) {
		Residency out;
		FolioCheck back;
		Sample smp = timeRegionOp(
			p, ctx, "swapin_ms",
			{.prepare =
				 [&](AnonRegion &r) {
					 pageOut(r);
					 out = requirePagedOut(r, "before", "swapped");
				 },
			 .op =
				 [](AnonRegion &r) {
					 volatile const char *d = r.data();
					 for (uint64_t off = 0; off < r.size(); off += r.pageSize())
						 (void)d[off];
				 },
			 .after = [&](AnonRegion &r) { back = r.check(false); },
			 .remaps = true});
		smp.checks["pageout"] = out.toJson("swapped");
		back.when = "after";
		smp.checks["folio_after"] = back.toJson();
		return smp;
	});
	return s;
}();

} /* namespace pgt */
