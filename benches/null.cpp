// SPDX-License-Identifier: GPL-2.0
/*
 * null: the timing bracket with nothing inside. Its samples are the floor under every
 * other measurement (two clock reads plus the harness's bookkeeping between them);
 * a scenario whose numbers approach it measures the harness, not the kernel.
 * With counters on it also times the counter bracket itself (start, stop and read of
 * every counter), the cost they add around each measured operation.
 */
#include "scenario.h"
#include "util.h"

namespace pgt {

namespace {

class NullVariant : public PreparedVariant
{
public:
	explicit NullVariant(const RunContext &ctx) : ctx_(ctx) {}

	Sample sample() override
	{
		Sample s;
		uint64_t t0 = monotonicNs();
		uint64_t t1 = monotonicNs();
		s.values["bracket_ns"] = static_cast<double>(t1 - t0);
		if (ctx_.counters) {
			uint64_t c0 = monotonicNs();
			ctx_.countersStart();
			ctx_.countersStop(s);
			uint64_t c1 = monotonicNs();
			s.values["counters_bracket_ns"] = static_cast<double>(c1 - c0);
		}
		return s;
	}

private:
	RunContext ctx_;
};

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
	.prepare = [](const Params &, const RunContext &ctx) -> std::unique_ptr<PreparedVariant> {
		return std::make_unique<NullVariant>(ctx);
	},
};

} /* namespace pgt */
