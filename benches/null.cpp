// SPDX-License-Identifier: GPL-2.0
/*
 * null: the timing bracket with nothing inside. Its samples are the floor under every
 * other measurement (two clock reads plus the harness's bookkeeping between them);
 * a scenario whose numbers approach it measures the harness, not the kernel.
 * With counters on it also times the counter bracket itself (start, stop and read of
 * every counter), the cost they add around each measured operation.
 */
#include "scenario.h"

namespace pgt {

namespace {

Sample nullSample(const Params &, const RunContext &ctx)
{
	Sample s;
	s.values["bracket_ns"] = static_cast<double>(elapsed([] {}).ns);
	if (ctx.counters)
		s.values["counters_bracket_ns"] = static_cast<double>(ctx.countingCost(s).ns);
	return s;
}

} /* namespace */

extern const ScenarioSpec null_scenario;
const ScenarioSpec null_scenario = {
	.name = "null",
	.description = "empty timing bracket: the harness's per-sample overhead",
	.params = {},
	.metrics = {{"bracket_ns", "ns", Better::Lower, "time between two clock reads"},
		    {"counters_bracket_ns", "ns", Better::Lower,
		     "start + stop + read of every counter (when counting)"}},
	.expand = {},
	.supported = {},
	.knobs = {},
	.memory_bytes = {},
	.prepare = eachRepetition(nullSample),
};

} /* namespace pgt */
