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

namespace pgt {

namespace {

/*
 * The raw clone system call, not glibc's fork(): it measures the kernel without glibc's
 * atfork handlers and lock juggling, and glibc's fork() never returns in the child of a
 * dynamically linked program in the emulated arm64 guest. The child only makes raw
 * system calls: it waits until the parent closes release[1], then exits.
 */
long cloneWaitingChild(const int release[2])
{
	long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		char c;
		syscall(SYS_close, release[1]);
		syscall(SYS_read, release[0], &c, 1);
		syscall(SYS_exit_group, 0);
	}
	return pid;
}

/* waitpid() through EINTR; the child's wait status. */
int reap(long pid)
{
	int status;
	while (waitpid(static_cast<pid_t>(pid), &status, 0) < 0) {
		if (errno != EINTR)
			throw RuntimeError(fmt::format("waitpid: {}", strerror(errno)));
	}
	return status;
}

Sample forkSample(const Params &p, const RunContext &ctx)
{
	FolioCheck folio;
	auto region = populateForPoint(p, ctx.env, &folio);

	/*
	 * The child waits on this pipe until the parent has stopped its clock and
	 * counters, so the fork figures hold the parent's work (plus the child's few
	 * instructions up to its wait) and the child's exit, the teardown of its page
	 * tables, is timed and counted on its own.
	 */
	int release[2];
	if (pipe2(release, O_CLOEXEC))
		throw RuntimeError(fmt::format("pipe: {}", strerror(errno)));
	Sample s;
	long pid = -1;
	Elapsed fork = ctx.timed(s, [&] { pid = cloneWaitingChild(release); });
	close(release[0]);
	if (pid < 0) {
		close(release[1]);
		throw RuntimeError(fmt::format("clone: {}", strerror(errno)));
	}
	/* The child's counters (inherited) count its exit: bracket the release and the reaping. */
	int status = 0;
	Elapsed teardown = ctx.timed(
		s,
		[&] {
			close(release[1]);
			status = reap(pid);
		},
		{.counters_prefix = "teardown."});
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		throw RuntimeError("forked child did not exit cleanly");

	s.values["fork_ms"] = fork.ms();
	s.values["teardown_ms"] = teardown.ms();
	s.checks["folio"] = folio.toJson();
	return s;
}

} /* namespace */

extern const ScenarioSpec fork_scenario;
const ScenarioSpec fork_scenario = [] {
	ScenarioSpec s = folioScenario(
		"fork", "fork() of a process holding SIZE of anonymous memory in folios of one order",
		{"fork_ms", "ms", Better::Lower, "clone() until it returns in the parent"},
		eachRepetition(forkSample));
	s.metrics.push_back({"teardown_ms", "ms", Better::Lower,
			     "child released to exit until waitpid() returns (its counters: teardown.*)"});
	/* The parent's memory plus two copies of its page tables (parent and child). */
	s.memory_bytes = [](const Params &p, const Env &) {
		uint64_t size = static_cast<uint64_t>(p.integer("size"));
		return size + size / 256;
	};
	/* The child's exit is half the work: its inherited counters count it. */
	s.counters_inherit = true;
	return s;
}();

} /* namespace pgt */
