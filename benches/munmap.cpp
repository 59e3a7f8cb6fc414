// SPDX-License-Identifier: GPL-2.0
/*
 * munmap: one munmap() of SIZE of anonymous memory populated with folios of one order,
 * the mm threads' "munmap" mode. It is the cost of zapping the page tables, freeing the
 * folios and the TLB flush batching at the end (tlb_finish_mmu), which the large-folio
 * batching series cut by up to 58% for 2M folios.
 */
#include "scenario.h"
#include "thp.h"
#include "util.h"

namespace pgt {

namespace {

class MunmapInstance : public Instance
{
public:
	MunmapInstance(const Point &p, const RunContext &ctx) : point_(p), ctx_(ctx) {}

	Sample sample() override
	{
		FolioCheck folio;
		auto region = populateForPoint(point_, ctx_.env, &folio);
		Sample s;
		ctx_.countersStart();
		uint64_t t0 = monotonicNs();
		region->unmap();
		uint64_t t1 = monotonicNs();
		ctx_.countersStop(s);
		s.values["munmap_ms"] = static_cast<double>(t1 - t0) / 1e6;
		s.checks["folio"] = folio.toJson();
		return s;
	}

private:
	Point point_;
	RunContext ctx_;
};

} /* namespace */

extern const ScenarioSpec munmap_scenario;
const ScenarioSpec munmap_scenario = {
	.name = "munmap",
	.description = "munmap() of SIZE of anonymous memory in folios of one order",
	.params = folioParams(),
	.metrics = {{"munmap_ms", "ms", Better::Lower, "the munmap() call"}},
	.expand = expandFolioPoints,
	.supported = folioPointUnsupported,
	.knobs = folioPointKnobs,
	.memory_bytes = [](const Point &p, const Env &) {
		uint64_t size = static_cast<uint64_t>(p.integer("size"));
		return size + size / 512;
	},
	.prepare = [](const Point &p, const RunContext &ctx) -> std::unique_ptr<Instance> {
		return std::make_unique<MunmapInstance>(p, ctx);
	},
};

} /* namespace pgt */
