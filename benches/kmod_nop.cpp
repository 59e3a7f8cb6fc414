// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_nop: the cost of one round trip into pgtbench.ko and back (an ioctl whose
 * in-kernel work is an empty loop). It is the floor under every module scenario:
 * their per-call figures include it, and under emulation or with pointer
 * authentication it is far from negligible.
 */
#include <cstring>

#include <fmt/format.h>

#include "errors.h"
#include "kmod.h"
#include "scenario.h"

namespace pgt {

namespace {

class KmodNopVariant : public PreparedVariant
{
public:
	KmodNopVariant(const Params &p, const RunContext &ctx)
		: ctx_(ctx), calls_(static_cast<uint64_t>(p.integer("calls"))),
		  loops_(static_cast<uint64_t>(p.integer("loops"))), kmod_(requireKmod(ctx.env, KmodCap::Nop))
	{
	}

	Sample sample() override
	{
		uint64_t in_kernel = 0;
		pgtbench_counts counts = {};
		Sample s;
		/* Timed like any operation, so an emulator counts exactly these calls. */
		Elapsed all = ctx_.timed(s, [&] {
			for (uint64_t i = 0; i < calls_; i++) {
				pgtbench_nop arg = {};
				arg.loops = loops_;
				if (int rc = kmod_->nop(&arg))
					throw RuntimeError(fmt::format("NOP ioctl: {}", strerror(-rc)));
				in_kernel += arg.total_ns;
				counts.tlbi_count += arg.counts.tlbi_count;
				counts.dsb_count += arg.counts.dsb_count;
				counts.isb_count += arg.counts.isb_count;
			}
		});
		s.values["ioctl_ns"] = static_cast<double>(all.ns) / static_cast<double>(calls_);
		s.values["kernel_ns"] = static_cast<double>(in_kernel) / static_cast<double>(calls_);
		/* What the module itself issued, exactly (an empty loop: none, and it says so). */
		s.values["tlbi_count"] = static_cast<double>(counts.tlbi_count);
		s.values["dsb_count"] = static_cast<double>(counts.dsb_count);
		s.values["isb_count"] = static_cast<double>(counts.isb_count);
		return s;
	}

private:
	RunContext ctx_; /* a copy: the runner's lives only through prepare() */
	uint64_t calls_, loops_;
	std::unique_ptr<Kmod> kmod_;
};

std::string kmodNopSupported(const Params &, const Env &env)
{
	return kmodMissing(env.kmod, KmodCap::Nop);
}

} /* namespace */

extern const ScenarioSpec kmod_nop_scenario;
const ScenarioSpec kmod_nop_scenario = {
	.name = "kmod_nop",
	.description = "round trip into pgtbench.ko: ioctl entry/exit cost per call",
	.params =
		{
			{.name = "calls",
			 .kind = ParamKind::Int,
			 .help = "ioctls per sample",
			 .min = 1,
			 .max = 1000000,
			 .defaults = {"1000"}},
			{.name = "loops",
			 .kind = ParamKind::Int,
			 .help = "empty-loop iterations inside each call",
			 .min = 1,
			 .max = static_cast<int64_t>(PGTBENCH_NOP_MAX_LOOPS),
			 .defaults = {"1"},
			 .list = true},
		},
	.metrics =
		{
			{"ioctl_ns", "ns", Better::Lower, "one NOP ioctl as user space sees it"},
			{"kernel_ns", "ns", Better::Lower, "the part of it inside the module's loop"},
			{"tlbi_count", "count", Better::Lower, "TLBIs the module issued for the sample"},
			{"dsb_count", "count", Better::Lower, "DSBs the module issued for the sample"},
			{"isb_count", "count", Better::Lower, "ISBs the module issued for the sample"},
		},
	.expand = {},
	.supported = kmodNopSupported,
	.knobs = {},
	.memory_bytes = {},
	.prepare = prepareVariant<KmodNopVariant>(),
};

} /* namespace pgt */
