// SPDX-License-Identifier: GPL-2.0
/*
 * mprotect: write-protect all of SIZE in one call. Every mapping entry changes: one per
 * PMD-mapped THP, one per PTE otherwise - and on arm64 with contpte each contiguous range
 * is unfolded, rewritten and folded again, the cost the contpte series had to keep low.
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
const ScenarioSpec mprotect_scenario = regionOpScenario(
	"mprotect", "mprotect(PROT_READ) of SIZE of anonymous memory, per folio order",
	{"mprotect_ms", "ms", Better::Lower, "the mprotect() call"},
	{.op =
		 [](AnonRegion &r) {
			 if (mprotect(r.data(), r.size(), PROT_READ))
				 throw RuntimeError(fmt::format("mprotect: {}", strerror(errno)));
		 },
	 .remaps = true});

} /* namespace pgt */
