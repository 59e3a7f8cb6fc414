// SPDX-License-Identifier: GPL-2.0
/*
 * null: the timing bracket with nothing inside. Its samples are the floor under every
 * other measurement (two clock reads plus the harness's bookkeeping between them);
 * a scenario whose numbers approach it measures the harness, not the kernel.
 */
#include "scenario.h"
#include "util.h"

namespace pgt {

namespace {

class NullInstance : public Instance
{
public:
	Sample sample() override
	{
		uint64_t t0 = monotonicNs();
		uint64_t t1 = monotonicNs();
		Sample s;
		s.values["bracket_ns"] = static_cast<double>(t1 - t0);
		return s;
	}
};

} /* namespace */

extern const ScenarioSpec null_scenario;
const ScenarioSpec null_scenario = {
	.name = "null",
	.description = "empty timing bracket: the harness's per-sample overhead",
	.params = {},
	.metrics = {{"bracket_ns", "ns", Better::Lower, "time between two clock reads"}},
	.expand = {},
	.supported = {},
	.knobs = {},
	.memory_bytes = {},
	.prepare = [](const Point &, const RunContext &) -> std::unique_ptr<Instance> {
		return std::make_unique<NullInstance>();
	},
};

} /* namespace pgt */
