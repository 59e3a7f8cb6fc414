/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the pages of a region are after a reclaim: still present, out on swap, or gone
 * (a lazyfree folio reclaimed is simply dropped). MADV_PAGEOUT is advice - the kernel
 * skips folios it cannot isolate, ones another process still maps and, without swap,
 * every dirty anonymous one - so the scenarios built on it record what it actually did,
 * from /proc/<pid>/pagemap, instead of assuming it.
 */
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "env.h"
#include "folio.h"

namespace pgt {

struct Residency {
	uint64_t present_pages = 0;
	uint64_t swapped_pages = 0;
	uint64_t none_pages = 0; /* neither: never faulted, or dropped */
	std::string when;

	/* The check's form; `expect` names the state every page should be in ("swapped", "none"). */
	nlohmann::json toJson(const std::string &expect) const;
};

/* Counts a pagemap range's entries (bit 63 present, bit 62 swapped). */
Residency classifyResidency(const uint64_t *pagemap, uint64_t n);

/* MADV_PAGEOUT of the whole region. */
void pageOut(AnonRegion &r);
/*
 * Throws unless every page is `expect` ("swapped", "none"): a repetition whose pageout
 * did not happen has nothing to time, and a figure for it would be a fake.
 */
void requireResidency(const Residency &r, const std::string &expect);
/* The region's pages now (`when`: "before", "after"), required to be all `expect`. */
Residency requirePagedOut(const AnonRegion &r, const std::string &when, const std::string &expect);
/* "" when this variant can page anonymous memory out to swap here, else why not. */
std::string swapUnsupported(const Params &p, const Env &env);

} /* namespace pgt */
