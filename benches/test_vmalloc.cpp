// SPDX-License-Identifier: GPL-2.0
/*
 * test_vmalloc: lib/test_vmalloc.c itself, the module the vmalloc and lazy-MMU series
 * quote, on the variants of the vmalloc scenario. Where the kernel has test_vmalloc.ko
 * (CONFIG_TEST_VMALLOC=m), every repetition loads it once with the case's parameters
 * (run_test_mask, test_loop_count, nr_threads, nr_pages, use_huge; one repeat,
 * sequential order): it runs the case from its own kthreads inside finit_module(),
 * prints a "Summary:" line per worker and refuses to stay loaded (-EAGAIN, its way of
 * saying it is done). Those lines, read from the kernel log, are the figures: case_us is
 * its "avg: N usec", the same quantity as the vmalloc scenario's case_us, so that a run
 * of both puts pgtbench.ko's storm next to the reference (`run` prints the two side by
 * side).
 *
 * Nothing of ours runs in test_vmalloc's kthreads, so no counter follows them: the
 * figures are test_vmalloc's own, and load_ms (the whole finit_module(), module loading
 * included) is the only one measured here.
 */
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/module.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include "errors.h"
#include "kernel_log.h"
#include "scenario.h"
#include "vmalloc_cases.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4 /* Linux 5.17 */
#endif

namespace pgt {

namespace {

constexpr const char *kAuto = "auto";

/* The module a variant loads: `module`, or the running kernel's. "" with *why. */
std::string modulePath(const Params &p, const Env &env, std::string *why)
{
	const std::string &m = p.choice("module");
	return m == kAuto ? findTestVmalloc(env.root, env.kernel_release, why) : m;
}

std::string loadError(const std::string &path, int err)
{
	std::string hint;
	if (err == EEXIST || err == EBUSY)
		hint = " (test_vmalloc is loaded already, or being loaded: rmmod it)";
	else if (err == ENOEXEC)
		hint = " (built for another kernel?)";
	else if (err == ENOENT)
		hint = " (a symbol it needs is missing: see the kernel log)";
	else if (err == EOPNOTSUPP)
		hint = " (this kernel cannot decompress modules: CONFIG_MODULE_DECOMPRESS)";
	return fmt::format("loading {}: {}{}", path, strerror(err), hint);
}

class TestVmallocVariant : public PreparedVariant
{
public:
	TestVmallocVariant(const Params &p, const RunContext &ctx) : run_(testVmallocRun(p))
	{
		std::string why;
		path_ = modulePath(p, ctx.env, &why);
		if (path_.empty())
			throw RuntimeError(why);
		params_ = testVmallocParams(run_);
	}

	Sample sample() override
	{
		Sample s;
		/* Opened before the load, so that only this load's lines are read. */
		KernelLogWatch watch;
		int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			throw RuntimeError(fmt::format("{}: {}", path_, strerror(errno)));
		int flags = compressedModule(path_) ? MODULE_INIT_COMPRESSED_FILE : 0;
		long rc = 0;
		int err = 0;
		Elapsed load = elapsed([&] {
			rc = syscall(SYS_finit_module, fd, params_.c_str(), flags);
			err = errno;
		});
		close(fd);
		/*
		 * -EAGAIN is test_vmalloc's success: its init runs the tests and fails on
		 * purpose so that it is unloaded at once. A module that stays loaded (another
		 * test_vmalloc) is unloaded here, the machine as it was found.
		 */
		if (rc == 0)
			syscall(SYS_delete_module, "test_vmalloc", O_NONBLOCK);
		else if (err != EAGAIN)
			throw RuntimeError(loadError(path_, err));

		KernelLogWatch::Records log = watch.read();
		if (!log.reason.empty())
			throw RuntimeError(fmt::format("test_vmalloc's Summary lines: {}", log.reason));
		std::vector<TestVmallocSummary> lines;
		nlohmann::json logged = nlohmann::json::array();
		for (const auto &r : log.records) {
			if (r.facility != 0)
				continue; /* user space's writes to /dev/kmsg are not the module's */
			if (auto l = parseTestVmallocSummary(r.text)) {
				lines.push_back(*l);
				logged.push_back(r.text);
			}
		}
		if (std::string why = checkTestVmallocSummaries(run_, lines); !why.empty())
			throw RuntimeError(why + (log.lost ? " (kernel log records were lost)" : ""));

		double avg = 0;
		int64_t passed = 0, failed = 0;
		for (const auto &l : lines) {
			avg += static_cast<double>(l.avg_us);
			passed += l.passed;
			failed += l.failed;
		}
		/* Each worker ran the whole case: their mean, as the vmalloc scenario's case_us. */
		s.values["case_us"] = avg / static_cast<double>(lines.size());
		s.values["load_ms"] = load.ms();
		s.values["passed"] = static_cast<double>(passed);
		s.values["failed"] = static_cast<double>(failed);
		s.checks["test_vmalloc"] = {{"module", path_}, {"params", params_}, {"summary", logged}};
		return s;
	}

private:
	TestVmallocRun run_;
	std::string path_, params_;
};

std::string testVmallocSupported(const Params &p, const Env &env)
{
	std::string why;
	modulePath(p, env, &why);
	return why;
}

/* A `module` that is not there is a mistake in the config, not a missing feature. */
std::vector<Params> expandTestVmalloc(const ScenarioSpec &spec, const ParamLists &lists)
{
	if (auto it = lists.find("module"); it != lists.end())
		for (const auto &v : it->second) {
			const std::string &path = std::get<std::string>(v);
			if (path != kAuto && access(path.c_str(), R_OK) != 0)
				throw UsageError(fmt::format("test_vmalloc: module {}: {}", path, strerror(errno)));
		}
	return expandVmallocPoints(spec, lists);
}

} /* namespace */

extern const ScenarioSpec test_vmalloc_scenario;
const ScenarioSpec test_vmalloc_scenario = {
	.name = "test_vmalloc",
	.description = "lib/test_vmalloc.c itself (test_vmalloc.ko), its Summary lines read from the kernel log",
	.params = vmallocCaseParams(
		true, "nr_threads: test_vmalloc's workers (its own kthreads, not pinned), each running the case",
		{
			{.name = "module",
			 .kind = ParamKind::Choice,
			 .help = "test_vmalloc.ko to load (.ko, .ko.xz, .ko.zst, .ko.gz); auto: the running "
				 "kernel's, from /lib/modules/$(uname -r)/ (skipped where there is none)",
			 .defaults = {kAuto}},
		}),
	.metrics =
		{
			{"case_us", "us", Better::Lower,
			 "test_vmalloc.ko's \"avg: N usec\": the whole case per worker, setup included (its "
			 "integer microseconds; the workers' mean)"},
			{"load_ms", "ms", Better::Lower,
			 "the finit_module() that ran it: module loading and every worker's case"},
			{"passed", "count", Better::Higher, "runs of the case test_vmalloc counted as passed, all workers"},
			{"failed", "count", Better::Lower,
			 "runs it counted as failed (any fails the repetition, so a result has 0)"},
		},
	.expand = [](const ParamLists &lists, const Env &) { return expandTestVmalloc(test_vmalloc_scenario, lists); },
	.supported = testVmallocSupported,
	.knobs = {},
	.memory_bytes = vmallocVariantBytes,
	.prepare = prepareVariant<TestVmallocVariant>(),
	.run_report = formatVsTestVmalloc,
};

} /* namespace pgt */
