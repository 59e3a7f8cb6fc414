// SPDX-License-Identifier: GPL-2.0
/*
 * munmap: one munmap() of SIZE of anonymous memory populated with folios of one order,
 * the mm threads' "munmap" mode. It is the cost of zapping the page tables, freeing the
 * folios and the TLB flush batching at the end (tlb_finish_mmu), which the large-folio
 * batching series cut by up to 58% for 2M folios.
 *
 * It runs in the fork subject (benches/lib/subject.h), as the threads' benchmark runs in
 * a small process of its own, with nothing between populating and the timed call. The
 * region munmap destroys cannot be read afterwards, and reading it before would warm the
 * page tables and struct pages munmap walks, so the folios are read on a twin: the same
 * size, populated the same way just before, read, and unmapped (untimed) before the
 * measured region is mapped - which then mostly gets the twin's memory back.
 */
#include "scenario.h"
#include "folio.h"
#include "subject.h"

namespace pgt {

namespace {

class MunmapVariant : public SubjectVariant
{
public:
	using SubjectVariant::SubjectVariant;

	Sample sample() override
	{
		Sample s;
		auto twin = subject_.populate(params_, ctx_.env);
		s.checks["folio"] = subject_.check(twin, ctx_.env, "twin").toJson();
		s.checks["mapping"] = subject_.mapping(twin, ctx_.env, "twin");
		/* The twin in place of the region: the same VMAs as at the timed call. */
		s.checks["subject"] = subjectCheck(subject_);
		subject_.unmap(twin);
		auto region = subject_.populate(params_, ctx_.env);
		s.values["munmap_ms"] = subject_.munmap(s, region).ms();
		return s;
	}
};

} /* namespace */

extern const ScenarioSpec munmap_scenario;
const ScenarioSpec munmap_scenario = [] {
	ScenarioSpec s = folioScenario("munmap", "munmap() of SIZE of anonymous memory in folios of one order",
				       {"munmap_ms", "ms", Better::Lower, "the munmap() call"},
				       prepareVariant<MunmapVariant>());
	/* The call runs in the subject: the counters follow it there. */
	s.counters_inherit = true;
	return s;
}();

} /* namespace pgt */
