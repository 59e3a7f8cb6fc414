// SPDX-License-Identifier: GPL-2.0
/*
 * fault: first touch of SIZE of fresh anonymous memory with folios of one order: the
 * allocation, zeroing and mapping of every folio, the cost that mTHP sizes trade
 * against fewer faults.
 */
#include "scenario.h"
#include "folio.h"
#include "mapping.h"

namespace pgt {

namespace {

Sample faultSample(const Params &p, const RunContext &ctx)
{
	unsigned order = static_cast<unsigned>(p.integer("order"));
	AnonRegion region(static_cast<uint64_t>(p.integer("size")), order, ctx.env);
	/*
	 * MADV_POPULATE_WRITE faults the whole range from one system call: every folio
	 * goes through the same write-fault path a first touch takes, without 262144
	 * user-space exception entries per GiB drowning the per-folio differences.
	 */
	Sample s;
	s.values["fault_ms"] = ctx.timed(s, [&] { region.populate(); }).ms();
	s.checks["folio"] = region.check(order > 0 && order == ctx.env.thp.pmd_order).toJson();
	s.checks["mapping"] = walkOwnMapping(ctx.env, reinterpret_cast<uintptr_t>(region.data()), region.size(), "after");
	return s;
}

} /* namespace */

extern const ScenarioSpec fault_scenario;
const ScenarioSpec fault_scenario = [] {
	ScenarioSpec s = folioScenario("fault", "first write to SIZE of fresh anonymous memory, per folio order",
				       {"fault_ms", "ms", Better::Lower, "populating the whole range"},
				       eachRepetition(faultSample));
	/* A fault maps a PMD-order folio with a PMD entry: there is no PTE-mapped variant. */
	s.params = folioParamsWithout("map");
	return s;
}();

} /* namespace pgt */
