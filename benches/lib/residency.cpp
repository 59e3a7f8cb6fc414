// SPDX-License-Identifier: GPL-2.0
#include "residency.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>

#include <fmt/format.h>

#include "errors.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

namespace pgt {

nlohmann::json Residency::toJson(const std::string &expect) const
{
	uint64_t total = present_pages + swapped_pages + none_pages;
	uint64_t want = expect == "swapped" ? swapped_pages : expect == "none" ? none_pages : present_pages;
	return {{"when", when},
		{"present_pages", present_pages},
		{"swapped_pages", swapped_pages},
		{"none_pages", none_pages},
		{"expect", expect},
		{"ok", total && want == total},
		{"source", "pagemap"}};
}

Residency classifyResidency(const uint64_t *pagemap, uint64_t n)
{
	Residency r;
	for (uint64_t i = 0; i < n; i++) {
		if (pagemap[i] & kPmPresent)
			r.present_pages++;
		else if (pagemap[i] & kPmSwapped)
			r.swapped_pages++;
		else
			r.none_pages++;
	}
	return r;
}

Residency requirePagedOut(const AnonRegion &r, const std::string &when, const std::string &expect)
{
	auto entries = readPagemap(0, reinterpret_cast<uintptr_t>(r.data()), r.size(), r.pageSize());
	if (!entries)
		throw RuntimeError("/proc/self/pagemap could not be read: where the pages went is unknown");
	Residency out = classifyResidency(entries->data(), entries->size());
	out.when = when;
	requireResidency(out, expect);
	return out;
}

void pageOut(AnonRegion &r)
{
	if (madvise(r.data(), r.size(), MADV_PAGEOUT))
		throw RuntimeError(fmt::format("madvise(MADV_PAGEOUT): {}{}", strerror(errno),
					       errno == EINVAL ? " (kernel before 5.4?)" : ""));
}

void requireResidency(const Residency &r, const std::string &expect)
{
	if (r.toJson(expect)["ok"].get<bool>())
		return;
	throw RuntimeError(fmt::format("MADV_PAGEOUT left {} pages present, {} on swap, {} dropped of {} "
				       "(want every page {}): nothing to time",
				       r.present_pages, r.swapped_pages, r.none_pages,
				       r.present_pages + r.swapped_pages + r.none_pages,
				       expect == "none" ? "dropped" : "on swap"));
}

std::string swapUnsupported(const Params &p, const Env &env)
{
	if (std::string why = env.swap.unavailable(); !why.empty())
		return why;
	/* zram stores what it compresses: a variant needs about its size of swap, and headroom. */
	uint64_t size = static_cast<uint64_t>(p.integer("size")), free = 0;
	for (const auto &a : env.swap.areas)
		free += a.size_bytes > a.used_bytes ? a.size_bytes - a.used_bytes : 0;
	if (free < size)
		return fmt::format("{} of swap free, less than the region's {}", formatSize(free),
				   formatSize(size));
	return folioPointUnsupported(p, env);
}

} /* namespace pgt */
