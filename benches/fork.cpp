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
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "errors.h"
#include "scenario.h"
#include "folio.h"
#include "util.h"

namespace pgt {

namespace {

class ForkVariant : public PreparedVariant
{
public:
	ForkVariant(const Params &p, const RunContext &ctx) : params_(p), ctx_(ctx) {}

	Sample sample() override
	{
		FolioCheck folio;
		auto region = populateForPoint(params_, ctx_.env, &folio);

		/*
		 * The child waits on this pipe until the parent has stopped its clock and
		 * counters, so the fork figures hold the parent's work (plus the child's
		 * few instructions up to its wait) and the child's exit, the teardown of
		 * its page tables, is timed and counted on its own.
		 */
		int release[2];
		if (pipe2(release, O_CLOEXEC))
			throw RuntimeError(fmt::format("pipe: {}", strerror(errno)));

		/*
		 * The raw clone system call, not glibc's fork(): it measures the kernel
		 * without glibc's atfork handlers and lock juggling, and glibc's fork()
		 * never returns in the child of a dynamically linked program in the
		 * emulated arm64 guest. The child only makes raw system calls.
		 */
		Sample s;
		ctx_.countersStart();
		uint64_t t0 = monotonicNs();
		long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		if (pid == 0) {
			char c;
			syscall(SYS_close, release[1]);
			syscall(SYS_read, release[0], &c, 1);
			syscall(SYS_exit_group, 0);
		}
		uint64_t t1 = monotonicNs();
		ctx_.countersStop(s);
		close(release[0]);
		if (pid < 0) {
			close(release[1]);
			throw RuntimeError(fmt::format("clone: {}", strerror(errno)));
		}
		/*
		 * The child's counters (inherited) count its exit: bracket the release and
		 * the reaping, and report them as teardown.<counter>.
		 */
		Sample teardown;
		ctx_.countersStart();
		uint64_t t_release = monotonicNs();
		close(release[1]);
		int status;
		while (waitpid(static_cast<pid_t>(pid), &status, 0) < 0) {
			if (errno != EINTR)
				throw RuntimeError(fmt::format("waitpid: {}", strerror(errno)));
		}
		uint64_t t2 = monotonicNs();
		ctx_.countersStop(teardown);
		for (auto c : teardown.counters) {
			c.name = "teardown." + c.name;
			s.counters.push_back(c);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			throw RuntimeError("forked child did not exit cleanly");

		s.values["fork_ms"] = static_cast<double>(t1 - t0) / 1e6;
		s.values["teardown_ms"] = static_cast<double>(t2 - t_release) / 1e6;
		s.checks["folio"] = folio.toJson();
		return s;
	}

private:
	Params params_;
	RunContext ctx_;
};

} /* namespace */

extern const ScenarioSpec fork_scenario;
const ScenarioSpec fork_scenario = {
	.name = "fork",
	.description = "fork() of a process holding SIZE of anonymous memory in folios of one order",
	.params = folioParams(),
	.metrics =
		{
			{"fork_ms", "ms", Better::Lower, "clone() until it returns in the parent"},
			{"teardown_ms", "ms", Better::Lower,
			 "child released to exit until waitpid() returns (its counters: teardown.*)"},
		},
	.expand = expandFolioPoints,
	.supported = folioPointUnsupported,
	.knobs = folioPointKnobs,
	/* The parent's memory plus two copies of its page tables (parent and child). */
	.memory_bytes = [](const Params &p, const Env &) {
		uint64_t size = static_cast<uint64_t>(p.integer("size"));
		return size + size / 256;
	},
	.prepare = [](const Params &p, const RunContext &ctx) -> std::unique_ptr<PreparedVariant> {
		return std::make_unique<ForkVariant>(p, ctx);
	},
	/* The child's exit is half the work: its inherited counters count it. */
	.counters_inherit = true,
};

} /* namespace pgt */
