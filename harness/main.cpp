// SPDX-License-Identifier: GPL-2.0
/*
 * pgtbench: page-table and TLB micro-benchmarks for Linux mm developers.
 *
 * Exit codes: 0 ran, 1 runtime failure, 2 usage or config error, 4 nothing could run.
 */
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "compare.h"
#include "gate.h"
#include "config.h"
#include "counters.h"
#include "emu_window.h"
#include "env.h"
#include "errors.h"
#include "kernel_log.h"
#include "kmod.h"
#include "knobs.h"
#include "listing.h"
#include "pin.h"
#include "platform.h"
#include "plot.h"
#include "results.h"
#include "runner.h"
#include "table.h"
#include "testresults.h"
#include "tune.h"
#include "util.h"
#include "datadir.h"
#include "version.h"

using namespace pgt;

namespace {

struct RunArgs {
	std::string events;	/* comma-separated, replaces the default set */
	std::string flush_sites; /* likewise */
	bool no_counters = false;
	bool tune = false;
	std::string order;
	int64_t seed = -1;
	std::string config;
	std::string filter;
	std::string size;
	int reps = 0;
	std::string share; /* K/R */
	int warmup = -1;
	std::string label;
	std::string out;
	int cpu = -2;
	bool plot = false;
	std::string plot_path; /* empty with plot: next to the results file */
	std::string machine_name; /* --machine as given */
	std::optional<Platform> machine; /* --machine: the machine's name instead of what env found */
	bool tap = false;  /* stdout: TAP 13, the table on stderr */
	bool lava = false; /* stdout: lava-test-case lines, the table on stderr */
};

struct CompareArgs {
	std::vector<std::string> files;
	std::vector<std::string> metrics;
	std::string format = "cover-letter";
	std::string rows = "label";
	std::vector<std::string> columns;
	double alpha = 0.05;
	bool stdev = false;
	size_t width = 80;
	std::string layout = "wide";
	std::vector<std::string> absent; /* LABEL=REASON */
	std::string out; /* plot only */
	bool no_order_panel = false; /* plot only */
	std::string fail_on; /* compare only: "regression[:PCT]" */
};

/* --kmod NAME or FILE: load pgtbench.ko for this command (and unload it after, if we loaded it). */
std::unique_ptr<KmodLoader> loadKmod(const std::string &path)
{
	return path.empty() ? nullptr : std::make_unique<KmodLoader>(path);
}

RunConfig configFor(const RunArgs &a)
{
	RunConfig c = a.config.empty() ? defaultConfig() : loadConfig(a.config);
	if (!a.filter.empty())
		c.filter = a.filter;
	if (!a.size.empty())
		overrideParam(c, "size", a.size);
	if (a.reps > 0) {
		c.reps = a.reps;
		for (auto &s : c.scenarios)
			s.reps.reset();
	}
	if (!a.share.empty())
		shareRepetitions(c, a.share);
	if (a.warmup >= 0) {
		c.warmup = a.warmup;
		for (auto &s : c.scenarios)
			s.warmup.reset();
	}
	if (!a.label.empty()) {
		checkLabel(a.label);
		c.label = a.label;
	}
	if (a.cpu != -2)
		c.cpu = a.cpu;
	auto list = [](const std::string &text, const char *what) {
		std::vector<std::string> names;
		for (const auto &n : split(text, ','))
			if (!trim(n).empty())
				names.push_back(trim(n));
		if (names.empty())
			throw UsageError(fmt::format("--{}: empty list", what));
		return names;
	};
	if (!a.events.empty())
		c.events = list(a.events, "events");
	if (!a.flush_sites.empty())
		c.flush_sites = list(a.flush_sites, "flush-sites");
	if (a.no_counters)
		c.counters = false;
	if (a.tune)
		c.tune = true;
	if (!a.order.empty())
		setRunOrder(c, a.order, "--order");
	if (a.seed >= 0) {
		c.seed = static_cast<uint64_t>(a.seed);
		c.seed_given = true;
	}
	if (c.seed_given && c.order != "shuffle")
		throw UsageError("seed: only --order shuffle draws from a seed");
	if (c.order == "shuffle" && !c.seed_given)
		c.seed = std::random_device{}() | (static_cast<uint64_t>(std::random_device{}()) << 32);
	if (c.tune)
		c.tune_plan = planTune();
	return c;
}

/* Fail before a long run, not after it, when the results file cannot be written. */
void checkOutputWritable(const std::string &path)
{
	std::string probe = fmt::format("{}.probe.{}", path, getpid());
	std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
	if (!dir.empty() && dir != ".")
		std::filesystem::create_directories(dir);
	int fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		throw UsageError(fmt::format("--out {}: cannot write there: {}", path, strerror(errno)));
	close(fd);
	unlink(probe.c_str());
}

int cmdEnv(bool json)
{
	/* The noise facts of the CPU `run` would measure on. */
	Env env = probeEnv(defaultCpu());
	if (json)
		fmt::print("{}\n", env.toJson().dump(2));
	else
		fmt::print("{}", formatEnv(env));
	return kExitOk;
}

int cmdList(const std::string &config_path, const std::string &share, bool json)
{
	RunConfig c = config_path.empty() ? defaultConfig() : loadConfig(config_path);
	if (!share.empty())
		shareRepetitions(c, share); /* refused here as `run --share` would refuse it */
	Env env = probeEnv();
	nlohmann::ordered_json list = listJson(planVariants(c, env));
	fmt::print("{}", json ? list.dump(2) + "\n" : formatList(list));
	return kExitOk;
}

int cmdEvents(bool all, bool json)
{
	nlohmann::ordered_json doc = eventsJson(probeEnv(), all);
	fmt::print("{}", json ? doc.dump(2) + "\n" : formatEvents(doc));
	return kExitOk;
}

/*
 * Scenarios with a layout of their own (map_mem: rows = strategies, columns = sizes, as
 * the linear-map series posted it) get that table too, built from the results just
 * written, exactly as `pgtbench compare --rows R --columns C` would print it.
 */
void printCoverTables(const std::vector<Variant> &variants, const ResultsFile &written, FILE *to)
{
	std::vector<const ScenarioSpec *> done;
	for (const auto &e : variants) {
		const ScenarioSpec *spec = e.spec;
		if (spec->cover.rows.empty() || std::find(done.begin(), done.end(), spec) != done.end())
			continue;
		done.push_back(spec);
		ResultsFile one = written;
		std::erase_if(one.entries, [&](const RecordedVariant &v) { return v.scenario != spec->name; });
		if (std::count_if(one.entries.begin(), one.entries.end(), [](const auto &v) { return v.ok(); }) < 2)
			continue;
		CompareOptions o;
		o.rows = spec->cover.rows;
		o.columns = spec->cover.columns;
		try {
			fmt::print(to, "\n{}", formatCoverLetter(buildComparison({std::move(one)}, o)));
		} catch (const std::exception &ex) {
			/* The run table above has every number; this one is a convenience. */
			fmt::print(stderr, "pgtbench: no {} table: {}\n", spec->name, ex.what());
		}
	}
}

/* A run of one scenario with a layout of its own is drawn in it (map_mem: a bar per strategy). */
CompareOptions runPlotOptions(const std::vector<Variant> &variants)
{
	CompareOptions o;
	const ScenarioSpec *spec = variants.empty() ? nullptr : variants.front().spec;
	for (const auto &e : variants)
		if (e.spec != spec)
			return o;
	if (spec && !spec->cover.rows.empty()) {
		o.rows = spec->cover.rows;
		o.columns = spec->cover.columns;
	}
	return o;
}

/*
 * env.noise is the machine before --tune changed it: what the tune took care of during
 * every variant is no caution, and the table says what was tuned and what could not be.
 */
std::vector<Caution> tunedCautions(std::vector<Caution> cautions, const RunConfig &config)
{
	if (!config.tune)
		return cautions;
	const TunePlan &plan = config.tune_plan;
	std::erase_if(cautions, [&](const Caution &c) {
		return (c.topic == "governor" && plan.tunesGovernor()) || (c.topic == "boost" && plan.tunesBoost());
	});
	std::vector<std::string> tuned, left;
	for (const auto &k : plan.knobs)
		tuned.push_back(fmt::format("{} {}", k.what, k.value));
	for (const auto &s : plan.skipped)
		left.push_back(fmt::format("{} ({})", s.what, s.why));
	std::string text = fmt::format("tuned for every variant, put back after it: {}",
				       tuned.empty() ? "nothing" : fmt::format("{}", fmt::join(tuned, ", ")));
	if (!left.empty())
		text += fmt::format("; left alone: {}", fmt::join(left, "; "));
	cautions.push_back({Severity::Note, text, "tune"});
	return cautions;
}

int cmdRun(const RunArgs &a, const std::vector<std::string> &argv)
{
	RunConfig config = configFor(a);
	Env env = probeEnv(config.cpu >= 0 ? config.cpu : defaultCpu());
	if (a.machine)
		env.platform = *a.machine;
	std::string label = config.label.empty() ? labelFromKernel(env.kernel_release) : config.label;
	std::string out = a.out.empty() ? defaultResultsPath(label) : a.out;
	std::string journal = defaultJournalPath();

	std::vector<Variant> variants = planVariants(config, env);
	/* From here on, whatever the kernel logs happened during the run. */
	KernelLogWatch kernel_watch;
	checkKnobPlan(variants, journal);
	checkOutputWritable(out);
	int cpu = pinThread(config.cpu); /* the CPU env.noise describes (defaultCpu() chooses as it does) */

	std::string plot = a.plot_path.empty() ? plotPathFor(out) : a.plot_path;
	if (a.plot)
		checkPlotOutput(plot);

	RunOutput run = runVariants(std::move(variants), env, cpu, journal, config);
	KernelLogScan kernel_log = kernel_watch.finish();
	MmActivity activity_end = readMmActivity("/");
	RunRecord record{.gbench = run.gbench,
			 .label = label,
			 .command_line = argv,
			 .cpu = run.cpu,
			 .config = config.toJson(),
			 .env = env.toJson(),
			 .emu_session = emu::session(),
			 .kernel_log = kernel_log.toJson(),
			 .noise_after = {{"activity", activityJson(activity_end)},
					 {"activity_delta", activityDelta(env.noise.activity, activity_end)}}};
	for (const auto &v : run.variants)
		record.variants.push_back(v.record());
	nlohmann::json doc = resultsJson(record);
	writeJsonAtomic(out, doc);
	/* Tables and plots below read back what was written, as compare would. */
	ResultsFile written = parseResultsFile(doc, out);
	std::vector<Caution> cautions = tunedCautions(runCautions(env, &activity_end, &kernel_log), config);
	for (auto &c : driftCautions(run.variants))
		cautions.push_back(std::move(c));
	/*
	 * With --tap or --lava stdout belongs to the test framework: the table a person reads
	 * goes to stderr, which CI keeps in the job's log next to the progress lines.
	 */
	FILE *human = a.tap || a.lava ? stderr : stdout;
	fmt::print(human, "{}", formatRunTable(run.variants, env, label, cpu, cautions));
	printCoverTables(run.variants, written, human);
	for (const ScenarioSpec *spec : scenarios())
		if (spec->run_report)
			if (std::string report = spec->run_report(written); !report.empty())
				fmt::print(human, "\n{}", report);
	fflush(stdout);
	fmt::print(stderr, "results: {}\n", out);
	int exit_code = run.exitCode();
	if (a.tap || a.lava) {
		/* From the file as written: the outcome a later reader of it would see. */
		std::vector<TestOutcome> outcomes = testOutcomes(written);
		fmt::print("{}", a.tap ? formatTap(outcomes) : formatLava(outcomes));
		fflush(stdout);
		exit_code = testExitCode(outcomes);
	}
	if (a.plot && exit_code != kExitSkipped) {
		/* The results file is safe on disk; a failing plot only changes the exit code. */
		try {
			plotComparison(buildComparison({std::move(written)}, runPlotOptions(run.variants)), plot);
			fmt::print(stderr, "plot: {}\n", plot);
		} catch (const std::exception &e) {
			fmt::print(stderr, "pgtbench: {}\n", e.what());
			return kExitRuntime;
		}
	}
	return exit_code;
}

Comparison comparisonFor(const CompareArgs &a)
{
	std::vector<ResultsFile> files;
	for (const auto &path : a.files)
		files.push_back(loadResultsFile(path));
	CompareOptions o;
	o.metrics = a.metrics;
	o.rows = a.rows;
	o.columns = a.columns;
	o.alpha = a.alpha;
	o.stdev = a.stdev;
	o.width = a.width;
	o.layout = a.layout;
	for (const auto &value : a.absent) {
		auto eq = value.find('=');
		if (eq == std::string::npos)
			throw UsageError(fmt::format("--absent {}: expected LABEL=REASON", value));
		o.absent.emplace_back(value.substr(0, eq), value.substr(eq + 1));
	}
	return buildComparison(std::move(files), o);
}

int cmdCompare(const CompareArgs &a)
{
	if (a.fail_on.empty()) {
		fmt::print("{}", formatComparison(comparisonFor(a), a.format));
		return kExitOk;
	}
	/* A gate's caller (git bisect run) must skip, not blame, what could not be compared. */
	double min_percent = *parseFailOn(a.fail_on);
	Comparison c;
	try {
		c = comparisonFor(a);
	} catch (const std::exception &e) {
		fmt::print(stderr, "pgtbench: {}\ngate: cannot tell: the files could not be compared\n", e.what());
		return kGateCannotTell;
	}
	fmt::print("{}", formatComparison(c, a.format));
	GateVerdict v = regressionGate(c, min_percent);
	for (const auto &line : v.regressions)
		fmt::print(stderr, "gate: regression: {}\n", line);
	for (const auto &line : v.unknown)
		fmt::print(stderr, "gate: unknown: {}\n", line);
	fmt::print(stderr, "gate: {}\n", v.summary);
	return v.exit_code;
}

int cmdPlot(const CompareArgs &a)
{
	checkPlotOutput(a.out);
	plotComparison(comparisonFor(a), a.out, {.order_panel = !a.no_order_panel});
	fmt::print(stderr, "plot: {}\n", a.out);
	return kExitOk;
}

/* The options compare and plot share: which files, metrics, rows and columns. */
void addCompareOptions(CLI::App *cmd, CompareArgs &a)
{
	cmd->add_option("files", a.files, "results files; the first one's label is the baseline (0%)")
		->required();
	cmd->add_option("--metric", a.metrics,
			"metric(s) to show: a name (fork_ms), its stem (fork), primary or all; "
			"default: each entry's primary metric")
		->delimiter(',')
		->allow_extra_args(false); /* --metric a,b or repeated: never swallow the files */
	cmd->add_option("--rows", a.rows,
			"what makes a row: label (default), kernel, or a parameter whose values become "
			"the rows, the first one the baseline (--rows strategy for map_mem)");
	cmd->add_option("--columns", a.columns,
			"what makes a column besides the variant: machine, kernel or label, or a parameter "
			"(size, order, ...); default: machine when a row spans several machines")
		->delimiter(',')
		->allow_extra_args(false);
	cmd->add_option("--alpha", a.alpha, "significance level of the Mann-Whitney U test (default 0.05)")
		->check(CLI::Range(1e-9, 0.5));
	cmd->add_option("--absent", a.absent,
			"LABEL=REASON: a row for a stage that could not be measured (build failed, no boot), "
			"after the files' rows, its cells n/a and the reason in the notes; repeatable")
		->allow_extra_args(false); /* one per --absent: never swallow the files */
}

/*
 * A samples document (measured outside the harness: boot logs, fixtures) into a results
 * file through the same writer as `run`, so names, summaries and labels follow one rule.
 */
int cmdImport(const std::string &samples_path, const std::string &out)
{
	auto doc = readJsonFile<nlohmann::ordered_json>(samples_path);
	RunRecord run = parseSamplesDocument(doc, samples_path);
	nlohmann::json results = resultsJson(run);
	/* A file compare could not read is no results file: refuse it before writing. */
	parseResultsFile(results, samples_path);
	std::string path = out.empty() ? defaultResultsPath(run.label) : out;
	checkOutputWritable(path);
	writeJsonAtomic(path, results);
	fmt::print(stderr, "results: {}\n", path);
	return kExitOk;
}

/* The guest's results file with the emulator's counts, replaced whole or not at all. */
int cmdMergeEmu(const std::string &results_path, const std::string &log_path, const std::string &out)
{
	auto doc = readJsonFile<nlohmann::json>(results_path);
	parseResultsFile(doc, results_path);
	EmuWindowLog log = readEmuWindowLog(log_path);
	nlohmann::json merged = mergeEmuCounts(std::move(doc), log, results_path);
	std::string path = out.empty() ? results_path : out;
	if (!out.empty())
		checkOutputWritable(path);
	writeJsonAtomic(path, merged);
	fmt::print(stderr, "results: {} (emulator counts from {})\n", path, log_path);
	return kExitOk;
}

/*
 * The boots of one stage (several runs of one config on one kernel) as one results
 * file whose every sample keeps its run's index; written whole or not at all.
 */
int cmdMerge(const std::vector<std::string> &paths, const std::string &out, const std::string &runs_info_path,
	     const std::vector<std::string> &argv)
{
	nlohmann::json runs_info;
	if (!runs_info_path.empty())
		runs_info = readJsonFile<nlohmann::json>(runs_info_path);
	RunRecord run = mergeResultsFiles(paths, runs_info, argv);
	nlohmann::json results = resultsJson(run);
	/* A file compare could not read is no results file: refuse it before writing. */
	parseResultsFile(results, out);
	checkOutputWritable(out);
	writeJsonAtomic(out, results);
	return kExitOk;
}

int cmdRestore()
{
	std::string journal = defaultJournalPath();
	auto restored = restoreJournal(journal);
	if (restored.empty()) {
		fmt::print("nothing to restore ({} not present)\n", journal);
		return kExitOk;
	}
	for (const auto &k : restored)
		fmt::print("restored {} = {}\n", k.path, k.value);
	return kExitOk;
}

/*
 * The guest runner and the stack are Python tools of their own; pgtbench only hands over
 * to them, naming itself as the harness they call back (merge, compare, plot).
 */
int cmdTool(const std::string &name, const std::vector<std::string> &args)
{
	std::string tool = dataDir() + "/tools/" + name;
	std::error_code ec;
	auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
	if (!ec)
		setenv("PGTBENCH", self.c_str(), 0);
	std::vector<char *> argv;
	std::string python = "/usr/bin/python3";
	argv.push_back(python.data());
	argv.push_back(tool.data());
	std::vector<std::string> copy = args;
	for (auto &a : copy)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	execv(python.c_str(), argv.data());
	throw RuntimeError(fmt::format("cannot run {}: {}", tool, strerror(errno)));
}

/*
 * The command line: one small function per command declaring its options (perf
 * bench's two-level table, CLI11's subcommands), and one dispatch.
 */
struct Cli {
	CLI::App app{"pgtbench: page-table and TLB micro-benchmarks for Linux mm developers"};
	std::string kmod_path;
	bool env_json = false;
	std::string list_config;
	std::string list_share;
	bool list_json = false;
	bool events_json = false;
	RunArgs run;
	CLI::Option *plot_opt = nullptr;
	CLI::Option *machine_opt = nullptr;
	CompareArgs compare, plot;
	std::string import_samples, import_out;
	std::string merge_results, merge_log, merge_out;
	std::vector<std::string> merge_runs;
	std::string merge_runs_out, merge_runs_info;
	bool events_all = false;
	std::map<std::string, CLI::App *> commands;
};

constexpr const char *kKmodHelp = "load the module for the command: a name (pgtbench: looked up as modprobe does) or a "
				  "file (.ko, .ko.xz, .ko.zst); unloaded after if it was not loaded before";

void addEnvAndList(Cli &c)
{
	auto *env = c.commands["env"] = c.app.add_subcommand("env", "what this machine and kernel offer");
	env->add_flag("--json", c.env_json, "machine-readable output");
	env->add_option("--kmod", c.kmod_path, kKmodHelp);

	auto *list = c.commands["list"] =
		c.app.add_subcommand("list", "every scenario and variant, runnable or skipped with the reason");
	list->add_option("config", c.list_config, "TOML config (default: every scenario with its defaults)")
		->check(CLI::ExistingFile);
	list->add_option("--kmod", c.kmod_path, kKmodHelp);
	list->add_flag("--json", c.list_json, "machine-readable output");
	list->add_option("--share", c.list_share, "K/R: check that every variant's repetitions can be "
						  "shared over R rounds (run --share)");
}

void addRun(Cli &c)
{
	RunArgs &ra = c.run;
	auto *run = c.commands["run"] =
		c.app.add_subcommand("run", "run scenarios, print a table and write a results file");
	run->add_option("config", ra.config, "TOML config (default: every scenario with its defaults)")
		->check(CLI::ExistingFile);
	run->add_option("--filter", ra.filter, "only variants whose name matches this regular expression");
	run->add_option("--size", ra.size, "override the size of every scenario that has one (e.g. 256M)");
	run->add_option("--reps", ra.reps, "repetitions per variant")->check(CLI::Range(1, kMaxReps));
	run->add_option("--share", ra.share, "K/R: run round K of R, its part of every variant's "
					     "repetitions (pgtbench stack boots each kernel R times)");
	run->add_option("--warmup", ra.warmup, "discarded repetitions before measuring")
		->check(CLI::Range(0, kMaxWarmup));
	run->add_option("--label", ra.label, "name of this run in tables (default: kernel release)");
	c.machine_opt = run->add_option("--machine", ra.machine_name,
					"name of this machine in tables, for one the platform table does not know "
					"(a guest on an Altra: \"Ampere Altra\"; default: env's platform)");
	run->add_option("--out", ra.out, "results file (default: results/<label>-<time>.json)");
	run->add_option("--cpu", ra.cpu, "CPU to pin the measuring thread to (default: last allowed)")
		->check(CLI::Range(0, 65535));
	run->add_option("--kmod", c.kmod_path, kKmodHelp);
	run->add_option("--events", ra.events,
			"counters around each timed operation, comma-separated libpfm4 names or "
			"pmu/event/ (default: cycles, instructions, page faults, TLB events; `pgtbench events`)");
	run->add_option("--flush-sites", ra.flush_sites,
			"kernel functions whose calls are counted through the kprobe PMU "
			"(default: the TLB flush paths of this architecture)");
	run->add_flag("--no-counters", ra.no_counters, "time only, no counters");
	run->add_option("--order", ra.order, "interleave (default): one repetition of every variant per round, "
					     "each visit with its warm-up and knobs; variants: each variant's "
					     "repetitions in a row; shuffle: rounds in a random order (--seed N, "
					     "recorded)");
	run->add_option("--seed", ra.seed, "--order shuffle's seed")->check(CLI::NonNegativeNumber);
	run->add_flag("--tune", ra.tune, "for every variant: performance governor, boost off, khugepaged "
					 "and proactive compaction paused (put back after it, as the THP knobs)");
	c.plot_opt = run->add_option("--plot", ra.plot_path,
				     "then plot the results into FILE.png|svg (default: the results "
				     "file's name with .png)")
			     ->expected(0, 1);
	auto *tap = run->add_flag("--tap", ra.tap,
				  "stdout: TAP 13 as kselftest prints it, a line per variant (ok, not ok, "
				  "SKIP); the table goes to stderr");
	auto *lava = run->add_flag("--lava", ra.lava,
				   "stdout: a lava-test-case line per variant for sh to run in a LAVA test "
				   "shell (results/README.md); the table goes to stderr");
	tap->excludes(lava);
}

void addCompareAndPlot(Cli &c)
{
	auto *compare = c.commands["compare"] = c.app.add_subcommand(
		"compare", "tables of results files for a cover letter: rows are "
			   "labels, columns machines and variants, % vs the first");
	addCompareOptions(compare, c.compare);
	compare->add_option("--format", c.compare.format,
			    "cover-letter (default), markdown, csv, json, lkp (the 0-day bot's %stddev %change "
			    "table) or mmtests (compare-kernels' Amean rows)")
		->check(CLI::IsMember(kCompareFormats));
	compare->add_option("--layout", c.compare.layout,
			    "cover-letter and markdown: wide (default; variants across, a row per label) or "
			    "tall (a line per variant and metric, a column per label: one table)")
		->check(CLI::IsMember(kCompareLayouts));
	compare->add_option("--fail-on", c.compare.fail_on,
			    "regression[:PCT]: exit 1 if any cell regressed significantly (by PCT % or more), "
			    "125 if some could not be compared, else 0 (git bisect run's codes)")
		->check(CLI::Validator(
			[](std::string &v) {
				return parseFailOn(v) ? std::string()
						      : "expected regression or regression:PCT (a percentage >= 0)";
			},
			"regression[:PCT]"));
	compare->add_flag("--stdev", c.compare.stdev, "add each cell's standard deviation (% of its mean)");
	compare->add_option("--width", c.compare.width,
			    "cover-letter: wrap into several tables beyond this width (the wide layout; the "
			    "others wrap only their notes)")
		->check(CLI::Range(40, 1000));

	auto *plot = c.commands["plot"] =
		c.app.add_subcommand("plot", "bar and line plots of results files (plots/pgtbench_plot.py)");
	addCompareOptions(plot, c.plot);
	plot->add_option("--out", c.plot.out, "FILE.png or FILE.svg")->required();
	plot->add_flag("--no-order-panel", c.plot.no_order_panel,
		       "leave out the panel of each variant's samples in run order (drift)");
}

void addTools(Cli &c)
{
	auto *import = c.commands["import"] = c.app.add_subcommand(
		"import", "turn a samples document (measured elsewhere: boot logs, fixtures) into a results file");
	import->add_option("SAMPLES", c.import_samples, "the samples document (results/README.md)")->required();
	import->add_option("--out", c.import_out, "the results file (default results/<label>-<time>.json)");

	auto *merge = c.commands["merge-emu"] = c.app.add_subcommand(
		"merge-emu", "add an emulator's exact counts (qemu-plugin's window log) to a results file "
			     "of an arm64 guest (tools/vm --count does it)");
	merge->add_option("RESULTS", c.merge_results, "the guest's results file")->required();
	merge->add_option("WINDOWS", c.merge_log, "the plugin's window log (out=... of libpgtbench-count.so)")
		->required();
	merge->add_option("--out", c.merge_out, "where to write the merged file (default: RESULTS itself)");

	auto *runs = c.commands["merge"] = c.app.add_subcommand(
		"merge", "one results file from several runs of one config on one kernel - the boots of a "
			 "`pgtbench stack` stage; every sample keeps its run's index (entries[].sample_runs -> "
			 "pgtbench.runs[])");
	runs->add_option("RESULTS", c.merge_runs, "the runs' results files, in the order their indices follow")
		->required();
	runs->add_option("--out", c.merge_runs_out, "the merged results file")->required();
	runs->add_option("--runs-info", c.merge_runs_info,
			 "a JSON array of one object per results file, whose members go into its pgtbench.runs[] "
			 "object (boot, console log, ...)");

	c.commands["restore"] = c.app.add_subcommand("restore", "put back the settings (THP, --tune) a killed run left changed");

	auto *events = c.commands["events"] = c.app.add_subcommand(
		"events", "what can be counted here: libpfm4 PMU models and events, flush sites, mesh DVM events");
	events->add_flag("--all", c.events_all, "every event of every PMU model, not only TLB/cycle/"
						"instruction/fault ones");
	events->add_flag("--json", c.events_json, "machine-readable output");

	auto *vm = c.commands["vm"] = c.app.add_subcommand(
		"vm", "run a pgtbench command in emulated arm64 guests (tools/vm; `pgtbench vm --help` for its options)");
	vm->prefix_command();
	vm->set_help_flag();

	auto *stack = c.commands["stack"] = c.app.add_subcommand(
		"stack", "a patch stack in one command: build each stage, boot every kernel interleaved, "
			 "one table with a row per stage (tools/stack; `pgtbench stack --help`)");
	stack->prefix_command();
	stack->set_help_flag();
}

int dispatch(Cli &c, const std::vector<std::string> &args)
{
	auto *cmd = c.app.get_subcommands().front();
	const std::string &name = cmd->get_name();
	auto kmod = loadKmod(c.kmod_path);
	if (name == "env")
		return cmdEnv(c.env_json);
	if (name == "list")
		return cmdList(c.list_config, c.list_share, c.list_json);
	if (name == "run") {
		c.run.plot = c.plot_opt->count() > 0;
		if (c.machine_opt->count() > 0)
			c.run.machine = overridePlatform(c.run.machine_name);
		return cmdRun(c.run, args);
	}
	if (name == "compare")
		return cmdCompare(c.compare);
	if (name == "plot")
		return cmdPlot(c.plot);
	if (name == "import")
		return cmdImport(c.import_samples, c.import_out);
	if (name == "merge-emu")
		return cmdMergeEmu(c.merge_results, c.merge_log, c.merge_out);
	if (name == "merge")
		return cmdMerge(c.merge_runs, c.merge_runs_out, c.merge_runs_info, args);
	if (name == "restore")
		return cmdRestore();
	if (name == "events")
		return cmdEvents(c.events_all, c.events_json);
	if (name == "vm" || name == "stack")
		return cmdTool(name, cmd->remaining());
	return kExitUsage;
}

} /* namespace */

int main(int argc, char **argv)
{
	std::vector<std::string> args(argv, argv + argc);
	Cli c;
	c.app.require_subcommand(1);
	/* The data directory too: which copy of the plots and tools this binary uses. */
	c.app.set_version_flag("--version", [] {
		std::string data;
		try {
			data = dataDir();
		} catch (const std::exception &e) {
			data = std::string("not found: ") + e.what();
		}
		return fmt::format("pgtbench {}\ndata: {}", kPgtbenchVersion, data);
	});
	addEnvAndList(c);
	addRun(c);
	addCompareAndPlot(c);
	addTools(c);
	try {
		c.app.parse(argc, argv);
	} catch (const CLI::CallForHelp &e) {
		return c.app.exit(e);
	} catch (const CLI::CallForAllHelp &e) {
		return c.app.exit(e);
	} catch (const CLI::CallForVersion &e) {
		return c.app.exit(e);
	} catch (const CLI::ParseError &e) {
		fmt::print(stderr, "pgtbench: {} (see --help)\n", e.what());
		return kExitUsage;
	}

	/* Google Benchmark reads its own flags from argv; give it none of ours. */
	int gb_argc = 1;
	char *gb_argv[] = {argv[0], nullptr};
	benchmark::Initialize(&gb_argc, gb_argv);

	try {
		return dispatch(c, args);
	} catch (const UsageError &e) {
		fmt::print(stderr, "pgtbench: {}\n", e.what());
		return kExitUsage;
	} catch (const std::exception &e) {
		fmt::print(stderr, "pgtbench: {}\n", e.what());
		return kExitRuntime;
	}
}
