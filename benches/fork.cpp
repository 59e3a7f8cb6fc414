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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "errors.h"
#include "scenario.h"
#include "thp.h"
#include "util.h"

namespace pgt {

namespace {

class ForkInstance : public Instance
{
public:
	ForkInstance(const Point &p, const Env &env)
		: env_(env), size_(static_cast<uint64_t>(p.integer("size"))),
		  order_(static_cast<unsigned>(p.integer("order"))),
		  pte_mapped_(p.has("map") ? p.choice("map") == "pte" : order_ > 0)
	{
	}

	Sample sample() override
	{
		AnonRegion region(size_, order_, env_);
		region.populate();
		bool pmd_order = order_ > 0 && order_ == env_.thp.pmd_order;
		if (pmd_order && pte_mapped_)
			region.pteRemap();
		FolioCheck folio = region.check(pmd_order && !pte_mapped_);

		/*
		 * The raw clone system call, not glibc's fork(): it measures the kernel
		 * without glibc's atfork handlers and lock juggling, and glibc's fork()
		 * never returns in the child of a dynamically linked program in the
		 * emulated arm64 guest. The child touches nothing and exits at once.
		 */
		uint64_t t0 = monotonicNs();
		long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			syscall(SYS_exit_group, 0);
		uint64_t t1 = monotonicNs();
		if (pid < 0)
			throw RuntimeError(fmt::format("clone: {}", strerror(errno)));
		/* The child's exit tears down its copy of the page tables: timed apart. */
		int status;
		while (waitpid(static_cast<pid_t>(pid), &status, 0) < 0) {
			if (errno != EINTR)
				throw RuntimeError(fmt::format("waitpid: {}", strerror(errno)));
		}
		uint64_t t2 = monotonicNs();
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			throw RuntimeError("forked child did not exit cleanly");

		Sample s;
		s.values["fork_ms"] = static_cast<double>(t1 - t0) / 1e6;
		s.values["teardown_ms"] = static_cast<double>(t2 - t1) / 1e6;
		s.checks["folio"] = folio.toJson();
		return s;
	}

private:
	const Env &env_;
	uint64_t size_;
	unsigned order_;
	bool pte_mapped_;
};

std::vector<Point> expandFork(const ParamLists &lists, const Env &env)
{
	/* "map" only means something for the PMD order; smaller folios are always PTE-mapped. */
	std::vector<Point> points;
	for (const auto &size : lists.at("size"))
		for (const auto &order : lists.at("order")) {
			bool pmd = env.thp.pmd_order && std::get<int64_t>(order) == env.thp.pmd_order;
			if (!pmd) {
				points.push_back({{{"size", size}, {"order", order}}});
				continue;
			}
			for (const auto &map : lists.at("map"))
				points.push_back({{{"size", size}, {"order", order}, {"map", map}}});
		}
	return points;
}

std::string forkSupported(const Point &p, const Env &env)
{
	unsigned order = static_cast<unsigned>(p.integer("order"));
	std::string why = thpOrderUnsupported(order, env);
	if (!why.empty())
		return why;
	uint64_t folio = env.page_size_bytes << order;
	uint64_t size = static_cast<uint64_t>(p.integer("size"));
	if (size % folio)
		return fmt::format("size {} is not a multiple of the order-{} folio size {}", formatSize(size),
				   order, formatSize(folio));
	if (p.has("map") && p.choice("map") == "pte" && size % env.thp.pmd_size_bytes)
		return "size must be a multiple of the PMD size";
	return {};
}

} /* namespace */

extern const ScenarioSpec fork_scenario;
const ScenarioSpec fork_scenario = {
	.name = "fork",
	.description = "fork() of a process holding SIZE of anonymous memory in folios of one order",
	.params =
		{
			{.name = "size",
			 .kind = ParamKind::Size,
			 .help = "populated anonymous memory",
			 .min = 2 << 20,
			 .max = int64_t{1} << 40,
			 .defaults = {"1G"},
			 .list = true},
			{.name = "order",
			 .kind = ParamKind::Int,
			 .help = "folio order (0 = base pages; 9 = 2M THP with 4K pages)",
			 .min = 0,
			 .max = 20,
			 .defaults = {"0", "9"},
			 .list = true},
			{.name = "map",
			 .kind = ParamKind::Choice,
			 .help = "how PMD-order folios are mapped: pmd, or pte (PTE-remapped THP)",
			 .choices = {"pmd", "pte"},
			 .defaults = {"pmd", "pte"},
			 .list = true},
		},
	.metrics =
		{
			{"fork_ms", "ms", Better::Lower, "clone() until it returns in the parent"},
			{"teardown_ms", "ms", Better::Lower, "child exit until waitpid() returns"},
		},
	.expand = expandFork,
	.supported = forkSupported,
	.knobs = [](const Point &p, const Env &env) {
		return thpKnobsForOrder(static_cast<unsigned>(p.integer("order")), env);
	},
	/* The parent's memory plus two copies of its page tables (parent and child). */
	.memory_bytes = [](const Point &p, const Env &) {
		uint64_t size = static_cast<uint64_t>(p.integer("size"));
		return size + size / 256;
	},
	.prepare = [](const Point &p, const RunContext &ctx) -> std::unique_ptr<Instance> {
		return std::make_unique<ForkInstance>(p, ctx.env);
	},
};

} /* namespace pgt */
