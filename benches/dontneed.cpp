// SPDX-License-Identifier: GPL-2.0
/*
 * dontneed and pte_dontneed: MADV_DONTNEED over SIZE of anonymous memory in folios of
 * one order, once over the whole range or once per base page.
 */
#include <cerrno>
#include <cstring>
#include <sys/mman.h>

#include <fmt/format.h>

#include "errors.h"
#include "scenario.h"
#include "folio.h"

namespace pgt {

namespace {

void dontneed(char *addr, uint64_t len)
{
	if (madvise(addr, len, MADV_DONTNEED))
		throw RuntimeError(fmt::format("madvise(MADV_DONTNEED): {}", strerror(errno)));
}

} /* namespace */

/* Zaps whole folios in one pass, like munmap but keeping the VMA. */
extern const ScenarioSpec dontneed_scenario;
const ScenarioSpec dontneed_scenario = regionOpScenario(
	"dontneed", "one MADV_DONTNEED over SIZE of anonymous memory, per folio order",
	{"dontneed_ms", "ms", Better::Lower, "the madvise() call"},
	{.op = [](AnonRegion &r) { dontneed(r.data(), r.size()); }, .remaps = true});

/*
 * One base page at a time: every large folio is first partially unmapped (queued for
 * deferred split, a contpte range unfolded) before its last page goes - the per-page
 * path that batching cannot help, measured as the mm threads do.
 */
extern const ScenarioSpec pte_dontneed_scenario;
const ScenarioSpec pte_dontneed_scenario = regionOpScenario(
	"pte_dontneed", "MADV_DONTNEED of each base page of SIZE of anonymous memory, per folio order",
	{"pte_dontneed_ms", "ms", Better::Lower, "all the per-page madvise() calls"},
	{.op =
		 [](AnonRegion &r) {
			 for (uint64_t off = 0; off < r.size(); off += r.pageSize())
				 dontneed(r.data() + off, r.pageSize());
		 },
	 .remaps = true});

} /* namespace pgt */
