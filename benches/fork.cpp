// SPDX-License-Identifier: GPL-2.0
/*
 * fork: the cost of fork() for a process with SIZE of private anonymous memory
 * populated with folios of one order - the benchmark of the fork/munmap batching and
 * contpte threads. Order 0 is the baseline; order 9 comes PMD-mapped (fork copies one
 * PMD entry per THP) and PTE-mapped (fork walks 512 PTEs per THP, which is what
 * batching of large folios speeds up).
 *
 * Each repetition maps and populates fresh memory, so every fork starts from the same
 * state (a previous fork would have write-protected the parent's PTEs).
 */
#include "scenario.h"
#include "folio.h"
#include "subject.h"

namespace pgt {

namespace {

/*
 * Each repetition maps and populates fresh memory in the subject (benches/lib/subject.h:
 * a lean process, as in the threads' benchmark, whose VMAs are what fork copies), times
 * its clone(), then the child's exit. The child waits until the subject has stopped its
 * clock and counters, so the fork figures hold the parent's work (plus the child's few
 * instructions up to its wait) and the child's exit, the teardown of its page tables, is
 * timed and counted on its own. The folios are read after both, from the mapping the
 * fork copied: reading them before would warm the very page tables and struct pages
 * fork is about to walk.
 */
class ForkVariant : public SubjectVariant
{
public:
	using SubjectVariant::SubjectVariant;

	Sample sample() override
	{
		auto region = subject_.populate(params_, ctx_.env);
		Sample s;
		Elapsed fork = subject_.fork(s);
		Elapsed teardown = subject_.release(s);
		s.values["fork_ms"] = fork.ms();
		s.values["teardown_ms"] = teardown.ms();
		s.checks["folio"] = subject_.check(region, ctx_.env, "after").toJson();
		s.checks["mapping"] = subject_.mapping(region, ctx_.env, "after");
		s.checks["subject"] = subjectCheck(subject_);
		subject_.unmap(region);
		return s;
	}
};

} /* namespace */

extern const ScenarioSpec fork_scenario;
const ScenarioSpec fork_scenario = [] {
	ScenarioSpec s = folioScenario(
		"fork", "fork() of a process holding SIZE of anonymous memory in folios of one order",
		{"fork_ms", "ms", Better::Lower, "clone() until it returns in the parent"},
		prepareVariant<ForkVariant>());
	s.metrics.push_back({"teardown_ms", "ms", Better::Lower,
			     "child released to exit until waitpid() returns (its counters: teardown.*)"});
	/* The parent's memory plus two copies of its page tables (parent and child). */
	s.memory_bytes = [](const Params &p, const Env &) {
		uint64_t size = static_cast<uint64_t>(p.integer("size"));
		return size + size / 256;
	};
	/* The subject and the child's exit: the counters follow them there. */
	s.counters_inherit = true;
	return s;
}();

} /* namespace pgt */
