// SPDX-License-Identifier: GPL-2.0
#include "folio.h"

#include "mapping.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include "errors.h"
#include "util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace pgt {

namespace {

std::string thpDir(const Env &env)
{
	return rooted(env.root, "/sys/kernel/mm/transparent_hugepage");
}

std::string procFile(pid_t pid, const char *name)
{
	return pid ? fmt::format("/proc/{}/{}", pid, name) : fmt::format("/proc/self/{}", name);
}

/* Bytes of PMD-mapped anonymous THP in the VMAs overlapping [start, end). */
int64_t smapsAnonHuge(pid_t pid, uintptr_t start, uintptr_t end)
{
	std::ifstream in(procFile(pid, "smaps"));
	if (!in)
		return -1;
	std::string line;
	bool inside = false;
	int64_t total = 0;
	while (std::getline(in, line)) {
		uintptr_t lo, hi;
		if (sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
			inside = lo < end && hi > start;
			continue;
		}
		if (inside && startsWith(line, "AnonHugePages:")) {
			std::istringstream v(line.substr(14));
			int64_t kb = 0;
			v >> kb;
			total += kb << 10;
		}
	}
	return total;
}

} /* namespace */

std::optional<std::vector<uint64_t>> readPagemap(pid_t pid, uint64_t addr, uint64_t size, uint64_t page_size)
{
	int fd = open(procFile(pid, "pagemap").c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return std::nullopt;
	std::vector<uint64_t> entries(size / page_size);
	size_t want = entries.size() * 8;
	ssize_t got = pread(fd, entries.data(), want, static_cast<off_t>(addr / page_size * 8));
	close(fd);
	if (got != static_cast<ssize_t>(want))
		return std::nullopt;
	return entries;
}

std::string thpOrderUnsupported(unsigned order, const Env &env)
{
	if (order == 0)
		return {};
	if (!env.thp.present)
		return "kernel without transparent hugepages (no /sys/kernel/mm/transparent_hugepage)";
	if (env.offersOrder(order))
		return {};
	uint64_t kb = (env.page_size_bytes << order) >> 10;
	if (!env.thp.per_size_controls)
		return fmt::format("order {} ({}K folios) needs per-size mTHP controls (Linux 6.8+); this "
				   "kernel offers only order 0 and the PMD order {}",
				   order, kb, env.thp.pmd_order);
	if (env.thpSize(order))
		return fmt::format("order {} ({}K) folios are not offered for anonymous memory by this "
				   "kernel (no hugepages-{}kB/enabled)",
				   order, kb, kb);
	return fmt::format("order {} not offered by this kernel: no {}/hugepages-{}kB", order,
			   "/sys/kernel/mm/transparent_hugepage", kb);
}

std::vector<Knob> thpKnobsForOrder(unsigned order, const Env &env)
{
	std::vector<Knob> knobs;
	if (!env.thp.present)
		return knobs;
	std::string dir = thpDir(env);
	if (env.thp.per_size_controls) {
		/*
		 * Per-size settings that say "inherit" follow the global switch; setting
		 * every size explicitly makes the global switch irrelevant, so it is left
		 * as the machine had it.
		 */
		for (const auto &s : env.thp.sizes) {
			if (!s.anon)
				continue;
			bool want = order > 0 && s.order == order;
			knobs.push_back({fmt::format("{}/hugepages-{}kB/enabled", dir, s.size_bytes >> 10),
					 want ? "always" : "never"});
		}
	} else {
		knobs.push_back({dir + "/enabled", order > 0 ? "always" : "never"});
	}
	return knobs;
}

FolioHistogram classifyFolios(const std::vector<uint64_t> &pagemap,
			      const std::function<uint64_t(uint64_t)> &kpageflags)
{
	FolioHistogram h;
	const uint64_t head = 1ull << kKpfCompoundHead, tail = 1ull << kKpfCompoundTail;
	size_t n = pagemap.size();
	for (size_t i = 0; i < n;) {
		uint64_t e = pagemap[i];
		if (!(e & kPmPresent)) {
			h.not_present_pages++;
			i++;
			continue;
		}
		uint64_t pfn = e & kPmPfnMask;
		if (pfn == 0) {
			h.pfns_hidden = true;
			return h;
		}
		uint64_t flags = kpageflags(pfn);
		if (!(flags & (head | tail))) {
			h.order_pages[0]++;
			i++;
			continue;
		}
		/*
		 * A folio = a run of physically consecutive pages mapped at consecutive
		 * addresses. A run may start with a tail when the folio began before the
		 * range; it ends at the next head or at a PFN discontinuity.
		 */
		size_t run = 1;
		while (i + run < n) {
			uint64_t next = pagemap[i + run];
			if (!(next & kPmPresent) || (next & kPmPfnMask) != pfn + run)
				break;
			if (!(kpageflags(pfn + run) & tail))
				break;
			run++;
		}
		h.order_pages[static_cast<unsigned>(std::bit_width(run)) - 1] += run;
		i += run;
	}
	return h;
}

bool FolioCheck::ok() const
{
	if (achieved_fraction < 1.0)
		return false;
	if (expect_pmd_mapped && pmd_mapped_fraction >= 0 && pmd_mapped_fraction < 1.0)
		return false;
	if (!expect_pmd_mapped && pmd_mapped_fraction > 0)
		return false;
	return true;
}

nlohmann::json FolioCheck::toJson() const
{
	nlohmann::json orders = nlohmann::json::object();
	for (auto [o, b] : order_bytes)
		orders[std::to_string(o)] = b;
	auto frac = [](double f) { return f < 0 ? nlohmann::json(nullptr) : nlohmann::json(f); };
	return {{"target_order", target_order},
		{"bytes", bytes},
		{"method", method},
		{"order_bytes", orders},
		{"not_present_bytes", not_present_bytes},
		{"achieved_fraction", frac(achieved_fraction)},
		{"pmd_mapped_fraction", frac(pmd_mapped_fraction)},
		{"expect_pmd_mapped", expect_pmd_mapped},
		{"ok", ok()},
		{"when", when},
		{"note", note}};
}

std::string FolioCheck::brief() const
{
	if (achieved_fraction < 0)
		return fmt::format("{}:?", target_order);
	return fmt::format("{}:{:.0f}%{}", target_order, achieved_fraction * 100.0, ok() ? "" : "!");
}

AnonRegion::AnonRegion(uint64_t size, unsigned order, const Env &env)
	: size_(size), order_(order), page_size_(env.page_size_bytes),
	  pmd_size_(env.thp.pmd_size_bytes ? env.thp.pmd_size_bytes : 2ull << 20)
{
	uint64_t folio = page_size_ << order;
	uint64_t align = std::max(folio, pmd_size_);
	if (size == 0 || size % folio)
		throw RuntimeError(fmt::format("size {} is not a multiple of the {} folio size",
					       formatSize(size), formatSize(folio)));
	/* Over-map and trim, so folios and PMD mappings can line up with the range. */
	void *raw = mmap(nullptr, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (raw == MAP_FAILED)
		throw RuntimeError(fmt::format("mmap of {} failed: {}", formatSize(size), strerror(errno)));
	uintptr_t base = reinterpret_cast<uintptr_t>(raw);
	uintptr_t start = (base + align - 1) & ~(align - 1);
	if (start > base)
		munmap(raw, start - base);
	uintptr_t end = start + size;
	uintptr_t raw_end = base + size + align;
	if (raw_end > end)
		munmap(reinterpret_cast<void *>(end), raw_end - end);
	addr_ = reinterpret_cast<char *>(start);
	/*
	 * MADV_NOHUGEPAGE makes order 0 independent of any setting we might have missed;
	 * MADV_HUGEPAGE makes the kernel try harder (direct compaction under the default
	 * defrag=madvise) to give large folios when they are what we asked for.
	 */
	if (madvise(addr_, size_, order ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) && order)
		throw RuntimeError(fmt::format("madvise(MADV_HUGEPAGE): {}", strerror(errno)));
}

AnonRegion::~AnonRegion()
{
	if (addr_)
		munmap(addr_, size_);
}

void AnonRegion::unmap()
{
	if (addr_ && munmap(addr_, size_))
		throw RuntimeError(fmt::format("munmap: {}", strerror(errno)));
	addr_ = nullptr;
}

void AnonRegion::populate()
{
	/* One syscall faults the whole range in the kernel (5.14+); touch pages before that. */
	if (madvise(addr_, size_, MADV_POPULATE_WRITE) == 0)
		return;
	if (errno != EINVAL)
		throw RuntimeError(fmt::format("madvise(MADV_POPULATE_WRITE) of {}: {}", formatSize(size_),
					       strerror(errno)));
	for (uint64_t off = 0; off < size_; off += page_size_)
		reinterpret_cast<volatile char *>(addr_)[off] = 1;
}

void AnonRegion::pteRemap()
{
	/*
	 * Changing the protection of one subpage cannot be expressed by a PMD entry, so
	 * the kernel replaces the PMD mapping of that THP with a PTE table while the
	 * folio stays order 9. Restoring the protection at once lets the VMAs merge
	 * again: the PTE-mapped variant then differs from the PMD-mapped one only in
	 * its page tables, not in its number of VMAs.
	 */
	for (uint64_t off = 0; off < size_; off += pmd_size_) {
		if (mprotect(addr_ + off, page_size_, PROT_READ) ||
		    mprotect(addr_ + off, page_size_, PROT_READ | PROT_WRITE))
			throw RuntimeError(fmt::format("mprotect for PTE-remap: {}", strerror(errno)));
	}
}

FolioCheck AnonRegion::check(bool expect_pmd_mapped) const
{
	return checkFolios(0, reinterpret_cast<uintptr_t>(addr_), size_, order_, page_size_, expect_pmd_mapped);
}

FolioCheck checkFolios(pid_t pid, uint64_t addr, uint64_t size, unsigned order, uint64_t page_size,
		       bool expect_pmd_mapped)
{
	FolioCheck c;
	c.target_order = order;
	c.bytes = size;
	c.expect_pmd_mapped = expect_pmd_mapped;
	int64_t huge = smapsAnonHuge(pid, addr, addr + size);
	if (huge >= 0)
		c.pmd_mapped_fraction = static_cast<double>(huge) / static_cast<double>(size);

	auto pagemap = readPagemap(pid, addr, size, page_size);
	int kf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	bool readable = pagemap && kf >= 0;
	FolioHistogram h;
	if (readable) {
		/* kpageflags is read in aligned windows: folio PFNs are consecutive. */
		std::vector<uint64_t> window(512);
		uint64_t window_base = UINT64_MAX;
		auto flags = [&](uint64_t pfn) -> uint64_t {
			uint64_t base = pfn & ~uint64_t{511};
			if (base != window_base) {
				std::fill(window.begin(), window.end(), 0);
				if (pread(kf, window.data(), 512 * 8, static_cast<off_t>(base * 8)) < 0)
					return 0;
				window_base = base;
			}
			return window[pfn - base];
		};
		h = classifyFolios(*pagemap, flags);
		readable = !h.pfns_hidden;
	}
	if (kf >= 0)
		close(kf);

	if (readable) {
		c.method = "kpageflags";
		for (auto [o, pages] : h.order_pages)
			c.order_bytes[o] = pages * page_size;
		c.not_present_bytes = h.not_present_pages * page_size;
		c.achieved_fraction = static_cast<double>(c.order_bytes[order]) / static_cast<double>(size);
		if (c.achieved_fraction < 1.0)
			c.note = "fell back to smaller folios for part of the range";
	} else {
		c.method = "smaps";
		c.note = "/proc/kpageflags or PFNs not readable (needs root): only PMD mappings checked";
		if (expect_pmd_mapped && huge >= 0)
			c.achieved_fraction = c.pmd_mapped_fraction;
	}
	return c;
}

std::vector<ParamSpec> folioParams()
{
	return {
		{.name = "size",
		 .kind = ParamKind::Size,
		 .help = "populated anonymous memory",
		 .min = 2 << 20,
		 .max = int64_t{1} << 40,
		 .defaults = {"1G"},
		 .list = true},
		{.name = "order",
		 .kind = ParamKind::Int,
		 .help = "folio order (0 = base pages; 9 = 2M THP with 4K pages)",
		 .min = 0,
		 .max = 20,
		 .defaults = {"0", "9"},
		 .list = true},
		{.name = "map",
		 .kind = ParamKind::Choice,
		 .help = "how PMD-order folios are mapped: pmd, or pte (PTE-remapped THP)",
		 .choices = {"pmd", "pte"},
		 .defaults = {"pmd", "pte"},
		 .list = true},
	};
}

std::vector<Params> expandFolioPoints(const ParamLists &lists, const Env &env)
{
	/* "map" only means something for the PMD order; smaller folios are always PTE-mapped. */
	std::vector<Params> points;
	for (const auto &size : lists.at("size"))
		for (const auto &order : lists.at("order")) {
			bool pmd = env.thp.pmd_order && std::get<int64_t>(order) == env.thp.pmd_order;
			if (!pmd || !lists.count("map")) {
				points.push_back({{{"size", size}, {"order", order}}});
				continue;
			}
			for (const auto &map : lists.at("map"))
				points.push_back({{{"size", size}, {"order", order}, {"map", map}}});
		}
	return points;
}

std::vector<Params> expandFolioPointsBy(const ParamLists &lists, const Env &env,
					const std::vector<std::string> &extra)
{
	std::vector<Params> points = expandFolioPoints(lists, env);
	for (const auto &name : extra) {
		std::vector<Params> more;
		for (const auto &base : points)
			for (const auto &v : lists.at(name)) {
				Params q = base;
				q.values.emplace_back(name, v);
				more.push_back(std::move(q));
			}
		points = std::move(more);
	}
	return points;
}

std::string folioPointUnsupported(const Params &p, const Env &env)
{
	unsigned order = static_cast<unsigned>(p.integer("order"));
	std::string why = thpOrderUnsupported(order, env);
	if (!why.empty())
		return why;
	uint64_t folio = env.page_size_bytes << order;
	uint64_t size = static_cast<uint64_t>(p.integer("size"));
	if (size % folio)
		return fmt::format("size {} is not a multiple of the order-{} folio size {}", formatSize(size),
				   order, formatSize(folio));
	if (p.has("map") && p.choice("map") == "pte" && size % env.thp.pmd_size_bytes)
		return "size must be a multiple of the PMD size";
	return {};
}

std::vector<Knob> folioPointKnobs(const Params &p, const Env &env)
{
	return thpKnobsForOrder(static_cast<unsigned>(p.integer("order")), env);
}

ScenarioSpec folioScenario(std::string name, std::string description, MetricSpec metric,
			   PrepareFn prepare)
{
	return {
		.name = std::move(name),
		.description = std::move(description),
		.params = folioParams(),
		.metrics = {std::move(metric)},
		.expand = expandFolioPoints,
		.supported = folioPointUnsupported,
		.knobs = folioPointKnobs,
		.memory_bytes = [](const Params &p, const Env &) {
			uint64_t size = static_cast<uint64_t>(p.integer("size"));
			return size + size / 512;
		},
		.prepare = std::move(prepare),
	};
}

ScenarioSpec regionOpScenario(std::string name, std::string description, MetricSpec metric,
			      RegionOpSteps steps)
{
	std::string key = metric.name;
	return folioScenario(std::move(name), std::move(description), std::move(metric),
			     eachRepetition([key, steps](const Params &p, const RunContext &ctx) {
				     return timeRegionOp(p, ctx, key, steps);
			     }));
}

std::vector<ParamSpec> folioParamsWithout(const std::string &name)
{
	std::vector<ParamSpec> params = folioParams();
	params.erase(std::remove_if(params.begin(), params.end(),
				    [&](const ParamSpec &p) { return p.name == name; }),
		     params.end());
	return params;
}

Sample timeRegionOp(const Params &p, const RunContext &ctx, const std::string &metric,
		    const RegionOpSteps &steps)
{
	FolioCheck folio;
	auto region = populateForPoint(p, ctx.env, &folio);
	if (steps.prepare)
		steps.prepare(*region);
	Sample s;
	uint64_t addr = reinterpret_cast<uintptr_t>(region->data());
	s.checks["mapping"] = walkOwnMapping(ctx.env, addr, region->size(), "before");
	Elapsed e = ctx.timed(s, [&] { steps.op(*region); });
	if (steps.remaps)
		s.checks["mapping_after"] = walkOwnMapping(ctx.env, addr, region->size(), "after");
	if (steps.after)
		steps.after(*region);
	s.values[metric] = e.ms();
	s.checks["folio"] = folio.toJson();
	return s;
}

std::unique_ptr<AnonRegion> populateForPoint(const Params &p, const Env &env, FolioCheck *check)
{
	unsigned order = static_cast<unsigned>(p.integer("order"));
	bool pmd_order = order > 0 && order == env.thp.pmd_order;
	bool pte_mapped = p.has("map") ? p.choice("map") == "pte" : order > 0;
	auto region = std::make_unique<AnonRegion>(static_cast<uint64_t>(p.integer("size")), order, env);
	region->populate();
	if (pmd_order && pte_mapped)
		region->pteRemap();
	*check = region->check(pmd_order && !pte_mapped);
	return region;
}

} /* namespace pgt */
