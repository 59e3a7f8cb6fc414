// SPDX-License-Identifier: GPL-2.0
/*
 * reuse_byte and child_reuse_byte: one byte written per base page of SIZE of anonymous
 * memory that a fork() left shared and write-protected, once the other process is gone
 * - the rows the MM-ID / CONFIG_NO_PAGE_MAPCOUNT series published (reuse-byte -64..-66%).
 *
 * reuse_byte: the parent writes after its child has exited (the same writes as cow_reuse
 * write:byte, here in the lean fork subject, as the threads' benchmark runs them).
 * child_reuse_byte: the child writes after its parent has exited; its folios still
 * belong to the parent's anon_vma, so each reuse also moves the folio's rmap to the
 * child's. Either way every write fault finds its page exclusive: a kernel that can
 * tell (for large folios, only with MM-ID tracking) reuses it in place, one that cannot
 * copies it - the "mapping_after" walk shows which (copies come back as plain PTEs).
 */
#include "folio.h"
#include "scenario.h"
#include "subject.h"

namespace pgt {

namespace {

template <bool ChildWrites> class ReuseVariant : public SubjectVariant
{
public:
	using SubjectVariant::SubjectVariant;

	Sample sample() override
	{
		auto region = subject_.populate(params_, ctx_.env);
		Sample s;
		/* Read before the fork, which walks every page table and struct page anyway. */
		s.checks["folio"] = subject_.check(region, ctx_.env, "before").toJson();
		if (ChildWrites) {
			subject_.handOver();
		} else {
			subject_.forkChild();
			subject_.releaseChild();
		}
		s.checks["mapping"] = subject_.mapping(region, ctx_.env, "before");
		s.values[ChildWrites ? "child_reuse_byte_ms" : "reuse_byte_ms"] =
			subject_.writeBytes(s, region, ctx_.env).ms();
		s.checks["mapping_after"] = subject_.mapping(region, ctx_.env, "after");
		s.checks["subject"] = subjectCheck(subject_);
		subject_.unmap(region);
		return s;
	}
};

template <bool ChildWrites> ScenarioSpec reuseScenario(const char *name, const char *description)
{
	ScenarioSpec s = folioScenario(name, description,
				       {std::string(name) + "_ms", "ms", Better::Lower,
					"one byte written per base page"},
				       prepareVariant<ReuseVariant<ChildWrites>>());
	/* The writes run in the subject: the counters follow them there. */
	s.counters_inherit = true;
	return s;
}

} /* namespace */

extern const ScenarioSpec reuse_byte_scenario;
const ScenarioSpec reuse_byte_scenario = reuseScenario<false>(
	"reuse_byte", "parent writes one byte per page of SIZE after fork() once the child has exited");

extern const ScenarioSpec child_reuse_byte_scenario;
const ScenarioSpec child_reuse_byte_scenario = reuseScenario<true>(
	"child_reuse_byte", "child writes one byte per page of SIZE after fork() once the parent has exited");

} /* namespace pgt */
