// SPDX-License-Identifier: GPL-2.0
/*
 * munmap: one munmap() of SIZE of anonymous memory populated with folios of one order,
 * the mm threads' "munmap" mode. It is the cost of zapping the page tables, freeing the
 * folios and the TLB flush batching at the end (tlb_finish_mmu), which the large-folio
 * batching series cut by up to 58% for 2M folios.
 */
#include "scenario.h"
#include "folio.h"

namespace pgt {

extern const ScenarioSpec munmap_scenario;
const ScenarioSpec munmap_scenario = regionOpScenario(
	"munmap", "munmap() of SIZE of anonymous memory in folios of one order",
	{"munmap_ms", "ms", Better::Lower, "the munmap() call"}, [](AnonRegion &r) { r.unmap(); });

} /* namespace pgt */
