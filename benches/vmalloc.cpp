// SPDX-License-Identifier: GPL-2.0
/*
 * vmalloc: lib/test_vmalloc.c's storm, run by pgtbench.ko (PGTBENCH_IOC_VMALLOC_STORM)
 * from N threads of the harness at once - test_vmalloc's nr_threads - each pinned to a
 * CPU of its own and issuing the ioctl, so the kernel work happens in threads the
 * counters can follow. arm64 batches the barriers of vmalloc's page-table updates
 * through lazy MMU mode; this is the workload its series measured, with the numbers
 * returned per case instead of printed to dmesg.
 *
 * Parameters in test_vmalloc's words: case (its test names without "_test"), p
 * (nr_pages), h (use_huge), loops (test_loop_count), threads (nr_threads), seed for the
 * random cases. Each repetition is one storm: every thread runs the case `loops` times,
 * with no clock read inside the loop, so that ns_per_op and case_us measure the case as
 * test_vmalloc does (the test_vmalloc scenario runs test_vmalloc.ko itself on the same
 * variants). With split:1 a second storm follows, outside the timed bracket, in which
 * the module times every call: alloc_ns_per_op and free_ns_per_op come from it, less
 * the module's calibrated cost of the clock (clock_ns). In an emulated guest a clock
 * read costs about as much as a one-page vm_map_ram: timing every call in the storm
 * that is reported as the case would double it.
 *
 * Counters follow the threads: the run's counters are opened inherited (like fork's), the
 * storm threads are created after them, so each counts its own kernel work and reading
 * the counters adds the threads up. The bracket holds the release of the threads and
 * the wait for the last one (a wake-up and a notification each: microseconds next to a
 * storm). vmalloc's lazy purge mostly runs in a kworker, which no thread counter sees:
 * purge_count counts __purge_vmap_area_lazy on every CPU (system-wide kprobe, root).
 *
 * context:kthread has the module run each thread's case in a kernel thread on that
 * thread's CPU instead, as test_vmalloc runs its cases (kmod/README.md says why that
 * matters in an emulated guest). No per-task counter follows that thread, so the
 * variant's counters are n/a with that reason; purge_count, system-wide, still counts.
 */
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "errors.h"
#include "kmod.h"
#include "scenario.h"
#include "syswide_probe.h"
#include "thread_cpus.h"
#include "util.h"
#include "vmalloc_cases.h"

namespace pgt {

namespace {

/* context:kthread; a variant of the default context has no context param (its name). */
bool inKthread(const Params &p)
{
	return p.has("context") && p.choice("context") == kContextKthread;
}

/* The storm's arguments for a variant (p, h and seed where the case takes them). */
pgtbench_vmalloc_storm stormArgs(const Params &p)
{
	const VmallocCase *c = findVmallocCase(p.choice("case"));
	if (!c)
		throw RuntimeError("internal: unknown vmalloc case " + p.choice("case"));
	pgtbench_vmalloc_storm a = {};
	a.case_id = c->id;
	a.nr_pages = p.has("p") ? static_cast<uint64_t>(p.integer("p")) : 0;
	a.use_huge = p.has("h") ? static_cast<uint32_t>(p.integer("h")) : 0;
	a.loops = stormLoops(*c, p);
	a.seed = p.has("seed") ? static_cast<uint64_t>(p.integer("seed")) : 0;
	return a;
}

/* The flags every storm of the variant carries besides SPLIT. */
uint64_t contextFlags(const Params &p)
{
	return inKthread(p) ? PGTBENCH_VMALLOC_KTHREAD : 0;
}

/*
 * The storm threads: created once per variant, each pinned to its CPU, then released
 * together for every repetition. Thread i seeds its PRNG with seed + i, so two threads
 * of a random case do not draw the same sizes; seed 0 (the kernel's own random numbers,
 * test_vmalloc's) stays 0 in every thread.
 */
class StormThreads
{
public:
	StormThreads(const Kmod &kmod, const pgtbench_vmalloc_storm &args, const std::vector<int> &cpus)
		: kmod_(kmod), args_(args), cpus_(cpus), results_(cpus.size()), rcs_(cpus.size()),
		  tids_(cpus.size())
	{
		for (size_t i = 0; i < cpus_.size(); i++)
			threads_.emplace_back([this, i] { work(i); });
		std::unique_lock<std::mutex> l(m_);
		done_cv_.wait(l, [this] { return ready_ == cpus_.size(); });
		if (!error_.empty()) {
			l.unlock();
			shutdown();
			throw RuntimeError(error_);
		}
	}
	~StormThreads() { shutdown(); }
	StormThreads(const StormThreads &) = delete;
	StormThreads &operator=(const StormThreads &) = delete;

	/* Every thread issues the storm once more, with these PGTBENCH_VMALLOC_* flags. */
	void release(uint64_t flags)
	{
		std::lock_guard<std::mutex> l(m_);
		flags_ = flags;
		done_ = 0;
		generation_++;
		go_cv_.notify_all();
	}

	/* Waits for every thread's ioctl; each result with the ioctl's 0 or -errno. */
	void wait()
	{
		std::unique_lock<std::mutex> l(m_);
		done_cv_.wait(l, [this] { return done_ == cpus_.size(); });
	}

	const std::vector<pgtbench_vmalloc_storm> &results() const { return results_; }
	const std::vector<int> &rcs() const { return rcs_; }
	/* Each thread's id: the task that ran its case, unless it ran in a kthread. */
	const std::vector<pid_t> &tids() const { return tids_; }

private:
	void work(size_t i)
	{
		std::string err;
		tids_[i] = gettid();
		try {
			bindThreadToCpu(cpus_[i]);
		} catch (const std::exception &e) {
			err = e.what();
		}
		uint64_t seen = 0;
		{
			std::lock_guard<std::mutex> l(m_);
			if (!err.empty() && error_.empty())
				error_ = err;
			ready_++;
			seen = generation_;
			done_cv_.notify_all();
		}
		for (;;) {
			{
				std::unique_lock<std::mutex> l(m_);
				go_cv_.wait(l, [&] { return quit_ || generation_ != seen; });
				if (quit_)
					return;
				seen = generation_;
			}
			pgtbench_vmalloc_storm a = args_;
			a.seed = args_.seed ? args_.seed + i : 0;
			{
				std::lock_guard<std::mutex> l(m_);
				a.flags = flags_;
			}
			int rc = kmod_.ioctl(PGTBENCH_IOC_VMALLOC_STORM, &a);
			std::lock_guard<std::mutex> l(m_);
			results_[i] = a;
			rcs_[i] = rc;
			done_++;
			done_cv_.notify_all();
		}
	}

	void shutdown()
	{
		{
			std::lock_guard<std::mutex> l(m_);
			quit_ = true;
			go_cv_.notify_all();
		}
		for (auto &t : threads_)
			if (t.joinable())
				t.join();
	}

	const Kmod &kmod_;
	pgtbench_vmalloc_storm args_;
	std::vector<int> cpus_;
	std::vector<pgtbench_vmalloc_storm> results_;
	std::vector<int> rcs_;
	std::vector<pid_t> tids_;
	std::vector<std::thread> threads_;
	std::mutex m_;
	std::condition_variable go_cv_, done_cv_;
	uint64_t generation_ = 0, flags_ = 0;
	size_t ready_ = 0, done_ = 0;
	bool quit_ = false;
	std::string error_;
};

/*
 * Throws for a thread whose storm failed, stopped early, ran in the wrong task (tid:
 * the storm thread's) or whose books do not balance.
 */
void checkStorm(int cpu, int rc, const pgtbench_vmalloc_storm &r, pid_t tid)
{
	if (rc)
		throw RuntimeError(fmt::format("VMALLOC_STORM on cpu {}: {}{}", cpu, strerror(-rc),
					       rc == -EINVAL ? " (the kernel log says why)" : ""));
	if (r.loops_done < r.loops)
		throw RuntimeError(fmt::format("VMALLOC_STORM on cpu {} stopped by a signal after {} of {} loops",
					       cpu, r.loops_done, r.loops));
	bool kthread = r.flags & PGTBENCH_VMALLOC_KTHREAD;
	if (kthread ? (r.worker_pid == 0 || r.worker_pid == static_cast<uint64_t>(tid))
		    : r.worker_pid != static_cast<uint64_t>(tid))
		throw RuntimeError(fmt::format("VMALLOC_STORM on cpu {}: the case ran in task {}, the storm "
					       "thread is {}: not in {}",
					       cpu, r.worker_pid, tid, kthread ? "a kthread" : "that thread"));
	/* Every allocation that succeeded was freed again: the module's books balance. */
	if (r.alloc_calls - r.failures != r.free_calls)
		throw RuntimeError(fmt::format("VMALLOC_STORM on cpu {}: {} allocations, {} failed, but {} frees",
					       cpu, r.alloc_calls, r.failures, r.free_calls));
}

/*
 * The storm's figures from every thread's totals, cycles_per_op from the counters in s;
 * the per-call times from the split storm's, when there was one.
 */
void putTotals(Sample &s, const StormTotals &t, const std::optional<StormTotals> &split)
{
	auto put = [&](const char *name, std::optional<double> v) {
		if (v)
			s.values[name] = *v;
	};
	put("ns_per_op", perOp(t.loop_ns, t.loops_done));
	if (split) {
		put("alloc_ns_per_op", perOp(split->alloc_ns, split->alloc_calls));
		put("free_ns_per_op", perOp(split->free_ns, split->free_calls));
		s.values["clock_ns"] = split->clock_ns;
	}
	s.values["case_us"] = t.case_ns / 1e3;
	s.values["failures"] = static_cast<double>(t.failures);
	if (t.pmd_chunks)
		s.values["pmd_mapped_pct"] =
			100.0 * static_cast<double>(t.pmd_chunks_contig) / static_cast<double>(t.pmd_chunks);
	for (const auto &c : s.counters)
		if (c.name == "cycles" && c.value)
			put("cycles_per_op", perOp(*c.value, t.loops_done));
}

/* The purges, or the reason they were not counted, among the counters. */
void putPurges(Sample &s, const SystemWideProbe &purge)
{
	CounterReading r = purge.read();
	if (r.value)
		s.values["purge_count"] = static_cast<double>(*r.value);
	else
		s.counters.push_back(r);
}

nlohmann::json threadCheck(int cpu, const pgtbench_vmalloc_storm &r, pid_t tid)
{
	return {{"cpu", cpu},
		{"tid", tid},
		{"worker_tid", r.worker_pid},
		{"flags", r.flags},
		{"seed", r.seed},
		{"nr_pages", r.nr_pages_used},
		{"loops_done", r.loops_done},
		{"alloc_calls", r.alloc_calls},
		{"free_calls", r.free_calls},
		{"alloc_ns", r.alloc_ns},
		{"free_ns", r.free_ns},
		{"loop_ns", r.loop_ns},
		{"case_ns", r.case_ns},
		{"failures", r.failures},
		{"bytes_allocated", r.bytes_allocated},
		{"pmd_chunks", r.pmd_chunks},
		{"pmd_chunks_contig", r.pmd_chunks_contig},
		{"clock_ns", r.clock_ns}};
}

/* Every thread's storm checked (throws for the first that failed), and what each returned. */
nlohmann::json checkedThreads(const std::vector<int> &cpus, const StormThreads &threads)
{
	nlohmann::json out = nlohmann::json::array();
	const auto &results = threads.results();
	for (size_t i = 0; i < results.size(); i++) {
		checkStorm(cpus[i], threads.rcs()[i], results[i], threads.tids()[i]);
		out.push_back(threadCheck(cpus[i], results[i], threads.tids()[i]));
	}
	return out;
}

class VmallocVariant : public PreparedVariant
{
public:
	VmallocVariant(const Params &p, const RunContext &ctx)
		: ctx_(ctx), args_(stormArgs(p)), kmod_(requireKmod(ctx.env, KmodCap::VmallocStorm)),
		  split_(p.integer("split") != 0), flags_(contextFlags(p))
	{
		unsigned n = static_cast<unsigned>(p.integer("threads"));
		cpus_ = chooseThreadCpus(startCpus(), ctx.cpu, n);
		if (cpus_.empty())
			throw RuntimeError(fmt::format("threads:{}: only {} CPUs allowed", n, startCpus().size()));
		if (ctx.counters)
			purge_ = std::make_unique<SystemWideProbe>(ctx.env, "purge_count", "__purge_vmap_area_lazy",
								   "vmalloc:purge_vmap_area_lazy");
		/* After the counters exist, so that the threads inherit them. */
		threads_ = std::make_unique<StormThreads>(*kmod_, args_, cpus_);
	}

	Sample sample() override
	{
		Sample s;
		Elapsed wall = ctx_.timed(
			s,
			[&] {
				threads_->release(flags_);
				threads_->wait();
			},
			{.probes = {purge_.get()}});
		if (flags_ & PGTBENCH_VMALLOC_KTHREAD)
			for (auto &c : s.counters) {
				/* They counted the storm threads' wait: the work was the kthread's. */
				c.value.reset();
				c.reason = "context:kthread: the case ran in pgtbench.ko's kernel thread, "
					   "which no per-task counter follows";
			}
		nlohmann::json threads = checkedThreads(cpus_, *threads_);
		StormTotals totals = sumStorms(threads_->results());
		s.checks["vmalloc"] = {{"wall_ns", wall.ns},
				       {"context", flags_ & PGTBENCH_VMALLOC_KTHREAD ? kContextKthread : kContextThread},
				       {"threads", threads}};
		if (purge_)
			putPurges(s, *purge_);

		/* After the bracket: the split storm is no part of the repetition's counters. */
		std::optional<StormTotals> split;
		if (split_) {
			Elapsed split_wall = elapsed([&] {
				threads_->release(PGTBENCH_VMALLOC_SPLIT | flags_);
				threads_->wait();
			});
			nlohmann::json split_threads = checkedThreads(cpus_, *threads_);
			split = sumStorms(threads_->results());
			s.checks["vmalloc"]["clock_ns"] = split->clock_ns;
			s.checks["vmalloc"]["split"] = {{"wall_ns", split_wall.ns}, {"threads", split_threads}};
		}
		putTotals(s, totals, split);
		return s;
	}

private:
	RunContext ctx_;
	pgtbench_vmalloc_storm args_;
	std::unique_ptr<Kmod> kmod_;
	std::vector<int> cpus_;
	bool split_;
	uint64_t flags_; /* contextFlags() */
	std::unique_ptr<SystemWideProbe> purge_;
	std::unique_ptr<StormThreads> threads_;
};

std::string vmallocSupported(const Params &p, const Env &env)
{
	if (std::string why = kmodMissing(env.kmod, KmodCap::VmallocStorm); !why.empty())
		return why;
	if (p.integer("split"))
		if (std::string why = kmodMissing(env.kmod, KmodCap::VmallocSplit); !why.empty())
			return why + " (or run split:0)";
	if (inKthread(p))
		if (std::string why = kmodMissing(env.kmod, KmodCap::VmallocKthread); !why.empty())
			return why + " (or run context:thread)";
	auto n = static_cast<size_t>(p.integer("threads"));
	if (n > startCpus().size())
		return fmt::format("threads:{} needs a CPU per thread; this process may use {}", n,
				   startCpus().size());
	/* The module has the last word on the arguments, and knows what this kernel exports. */
	std::string why;
	auto kmod = Kmod::open(env.kmod.ctl_path, &why);
	if (!kmod)
		return why;
	pgtbench_vmalloc_storm a = stormArgs(p);
	a.flags = PGTBENCH_VMALLOC_VALIDATE_ONLY | contextFlags(p);
	int rc = kmod->ioctl(PGTBENCH_IOC_VMALLOC_STORM, &a);
	if (rc == -EOPNOTSUPP && findVmallocCase(p.choice("case"))->needs_vmalloc_node)
		return "needs __vmalloc_node(), which kernels export only when built with "
		       "CONFIG_TEST_VMALLOC=m (as test_vmalloc does)";
	if (rc == -EINVAL)
		return "pgtbench.ko refuses these arguments (its line in the kernel log says why)";
	if (rc)
		return fmt::format("VMALLOC_STORM: {}", strerror(-rc));
	return {};
}

} /* namespace */

extern const ScenarioSpec vmalloc_scenario;
const ScenarioSpec vmalloc_scenario = {
	.name = "vmalloc",
	.description = "test_vmalloc's cases in pgtbench.ko, from N pinned threads at once",
	.params = vmallocCaseParams(
		false, "nr_threads: threads issuing the storm at once, each pinned to its own CPU (the "
		       "measuring CPU first, then the others from the highest down)",
		{
			{.name = "seed",
			 .kind = ParamKind::Int,
			 .help = "seeds the random cases (thread i uses seed + i): the same seed draws "
				 "the same sizes; 0 draws from the kernel's get_random_u32_inclusive(), as "
				 "test_vmalloc does (other sizes every storm, and the draws' own cost)",
			 .min = 0,
			 .max = INT64_MAX,
			 .defaults = {"1"}},
			{.name = "split",
			 .kind = ParamKind::Int,
			 .help = "1: after the timed storm, a second one outside the repetition's bracket "
				 "in which every call is timed (alloc_ns_per_op, free_ns_per_op, clock_ns); "
				 "0: none",
			 .min = 0,
			 .max = 1,
			 .defaults = {"1"}},
			{.name = "context",
			 .kind = ParamKind::Choice,
			 .help = "where the case runs: thread (the storm thread's own ioctl, where its "
				 "counters follow it) or kthread (a kernel thread of pgtbench.ko on that "
				 "thread's CPU, as test_vmalloc's workers; no per-task counter follows it). "
				 "In an emulated guest a preempted user thread pays a TLB flush per switch "
				 "that a kthread does not (kmod/README.md)",
			 .choices = {kContextThread, kContextKthread},
			 .defaults = {kContextThread},
			 .list = true},
		}),
	.metrics =
		{
			{"ns_per_op", "ns", Better::Lower,
			 "one loop of the case (its allocations, touches and frees; pcpu_alloc: one object "
			 "allocated and freed), per thread, no clock read inside the loop"},
			{"alloc_ns_per_op", "ns", Better::Lower,
			 "split:1: one allocating call (vmalloc, vmap, ...), timed alone in the split storm, "
			 "less clock_ns"},
			{"free_ns_per_op", "ns", Better::Lower,
			 "split:1: one freeing call (vfree, vunmap, ...), timed alone in the split storm, less "
			 "clock_ns"},
			{"clock_ns", "ns", Better::Lower,
			 "split:1: what timing one call adds by itself, calibrated in the module (median of "
			 "back-to-back ktime_get_ns() pairs) and taken off every timed call"},
			{"cycles_per_op", "count", Better::Lower,
			 "CPU cycles of the storm threads (the whole ioctl, setup included) per loop"},
			{"purge_count", "count", Better::Lower,
			 "lazy vmap purges (__purge_vmap_area_lazy calls) on all CPUs during the storm"},
			{"case_us", "us", Better::Lower,
			 "the whole case per thread, setup included, no clock read inside: what "
			 "test_vmalloc's \"avg: N usec\" measures"},
			{"failures", "count", Better::Lower, "allocations that returned NULL"},
			{"pmd_mapped_pct", "%", Better::Higher,
			 "h:1 only, allocations of a PMD or more: PMD-sized pieces of each thread's first "
			 "allocation backed by one aligned physically contiguous run, i.e. PMD-mapped"},
		},
	.expand = [](const ParamLists &lists, const Env &) {
		return expandVmallocPoints(vmalloc_scenario, lists);
	},
	.supported = vmallocSupported,
	.knobs = {},
	.memory_bytes = vmallocVariantBytes,
	.prepare = prepareVariant<VmallocVariant>(),
	/* The storm runs in threads created after the counters: they follow them there. */
	.counters_inherit = true,
};

} /* namespace pgt */
