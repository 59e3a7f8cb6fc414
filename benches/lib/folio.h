/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Anonymous memory populated with folios of one order, and the proof of what the
 * kernel actually gave us.
 *
 * The order is selected the way the mm developers' benchmarks do it: enable exactly
 * one mTHP size ("always") with every other size "never" (or, before per-size
 * controls existed, the global THP switch), and madvise the range accordingly. The
 * kernel may still fall back to smaller folios (fragmentation, a failed compaction),
 * so every populated region is inspected through /proc/self/pagemap + /proc/kpageflags
 * and the achieved folio sizes are recorded with the sample.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "env.h"
#include "scenario.h"

namespace pgt {

/*
 * The parameters, variants and skip rules shared by every scenario that works on
 * anonymous memory populated with folios of one order (fork, munmap, ...): size, order,
 * and for the PMD order how it is mapped (pmd, or pte = PTE-remapped THP).
 */
std::vector<ParamSpec> folioParams();
std::vector<Params> expandFolioPoints(const ParamLists &lists, const Env &env);
/* expandFolioPoints() times every value of each of `extra`, in that order (cow's write, ...). */
std::vector<Params> expandFolioPointsBy(const ParamLists &lists, const Env &env,
					const std::vector<std::string> &extra);
std::string folioPointUnsupported(const Params &p, const Env &env);
std::vector<Knob> folioPointKnobs(const Params &p, const Env &env);
/* The sysfs settings that make anonymous faults allocate folios of `order`. */
std::vector<Knob> thpKnobsForOrder(unsigned order, const Env &env);
/* Why `order` cannot be selected on this kernel ("" = it can). */
std::string thpOrderUnsupported(unsigned order, const Env &env);

struct FolioCheck {
	unsigned target_order = 0;
	uint64_t bytes = 0;
	std::string method;			   /* "kpageflags" or "smaps" */
	std::map<unsigned, uint64_t> order_bytes; /* folio order -> bytes mapped by such folios */
	uint64_t not_present_bytes = 0;
	double achieved_fraction = -1;		   /* of bytes in folios of target_order; -1 unknown */
	double pmd_mapped_fraction = -1;	   /* of bytes mapped by PMD entries; -1 unknown */
	bool expect_pmd_mapped = false;
	/*
	 * When the folios were read: "before" the timed operation (in the harness's own
	 * process), "after" it (the mapping it left is the one it worked on), or on a
	 * "twin" populated the same way just before (munmap leaves nothing to read).
	 */
	std::string when = "before";
	std::string note;

	bool ok() const;
	nlohmann::json toJson() const;
	/* "9:100%", "9:97%!", "0:?" for tables */
	std::string brief() const;
};

/*
 * The folios of [addr, addr+size) in process `pid` (0: this one) from its pagemap and
 * /proc/kpageflags, and the PMD-mapped part from its smaps.
 */
FolioCheck checkFolios(pid_t pid, uint64_t addr, uint64_t size, unsigned order, uint64_t page_size,
		       bool expect_pmd_mapped);

/* A /proc/<pid>/pagemap entry's bits (Documentation/admin-guide/mm/pagemap.rst). */
constexpr uint64_t kPmPresent = 1ull << 63;
constexpr uint64_t kPmSwapped = 1ull << 62;
constexpr uint64_t kPmPfnMask = (1ull << 55) - 1;

/*
 * The pagemap entries of [addr, addr+size) of process `pid` (0: this one); nullopt
 * when the file cannot be opened or read whole.
 */
std::optional<std::vector<uint64_t>> readPagemap(pid_t pid, uint64_t addr, uint64_t size, uint64_t page_size);

/* Page flags of /proc/kpageflags (include/uapi/linux/kernel-page-flags.h). */
constexpr unsigned kKpfCompoundHead = 15;
constexpr unsigned kKpfCompoundTail = 16;

/*
 * Classify a range from its pagemap entries and a kpageflags lookup: consecutive
 * PFNs headed by a compound head form one folio. Exposed for tests with synthetic
 * inputs; pfn 0 in a present entry means "PFNs hidden" (no CAP_SYS_ADMIN).
 */
struct FolioHistogram {
	std::map<unsigned, uint64_t> order_pages;
	uint64_t not_present_pages = 0;
	bool pfns_hidden = false;
};
FolioHistogram classifyFolios(const std::vector<uint64_t> &pagemap,
			      const std::function<uint64_t(uint64_t pfn)> &kpageflags);

class AnonRegion
{
public:
	/* Map `size` bytes aligned for folios of `order` and for PMD mappings. */
	AnonRegion(uint64_t size, unsigned order, const Env &env);
	~AnonRegion();
	AnonRegion(const AnonRegion &) = delete;
	AnonRegion &operator=(const AnonRegion &) = delete;

	/* Fault in every page (writes, so each page gets its own folio, not the zero page). */
	void populate();
	/*
	 * Split every PMD mapping into a PTE table, keeping the folios large: the
	 * "PTE-mapped THP" of the mm threads.
	 */
	void pteRemap();
	FolioCheck check(bool expect_pmd_mapped) const;
	/* munmap() now (the timed operation of some scenarios); the destructor then does nothing. */
	void unmap();

	char *data() const { return addr_; }
	uint64_t size() const { return size_; }
	uint64_t pageSize() const { return page_size_; }
	uint64_t pmdSize() const { return pmd_size_; }

private:
	char *addr_ = nullptr;
	uint64_t size_ = 0;
	unsigned order_ = 0;
	uint64_t page_size_ = 0;
	uint64_t pmd_size_ = 0;
};

/* Map, populate and (for map:pte) PTE-remap the region a folio variant's parameters describe. */
std::unique_ptr<AnonRegion> populateForPoint(const Params &p, const Env &env, FolioCheck *check);
/*
 * A scenario on anonymous memory in folios of one order with the shared parameters,
 * variants, skip rules and THP knobs; memory need = SIZE plus its page tables. Adjust
 * the returned spec for anything else.
 */
ScenarioSpec folioScenario(std::string name, std::string description, MetricSpec metric,
			   PrepareFn prepare);

/* folioParams() without one of them (e.g. "map" where only one mapping makes sense). */
std::vector<ParamSpec> folioParamsWithout(const std::string &name);

using RegionOp = std::function<void(AnonRegion &)>;

/* What one repetition of a region operation does around populating the region. */
struct RegionOpSteps {
	RegionOp prepare; /* untimed, after populating and checking the folios */
	RegionOp op;	  /* the timed operation */
	RegionOp after;	  /* untimed, after the bracket */
	/*
	 * The operation changes how the region is mapped (a remap, a zap, a reclaim): walk
	 * the page table after it too, as the sample's "mapping_after" check.
	 */
	bool remaps = false;
};

/*
 * One repetition of "populate, then time one operation on the region": populate and
 * check the folios (untimed), prepare (untimed), walk the mapping, then the operation
 * inside the clock and counter bracket, then (remaps) walk it again, then `after`
 * (untimed). The time goes to `metric` in ms.
 */
Sample timeRegionOp(const Params &p, const RunContext &ctx, const std::string &metric,
		    const RegionOpSteps &steps);

/*
 * A folioScenario() whose every repetition is timeRegionOp() of `steps`, timed into
 * `metric` (dontneed, mprotect, lazyfree, ...).
 */
ScenarioSpec regionOpScenario(std::string name, std::string description, MetricSpec metric,
			      RegionOpSteps steps);

} /* namespace pgt */
