// SPDX-License-Identifier: GPL-2.0
#include "runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <regex>
#include <sstream>
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "errors.h"
#include "stats.h"
#include "util.h"

namespace pgt {

namespace {

/* Headroom left to the rest of the system when deciding whether a variant fits. */
constexpr uint64_t kMemHeadroom = 256ull << 20;

/*
 * Google Benchmark's JSON reporter, captured into a string instead of a file, for its
 * context (host, CPUs, caches, load): the results file's records of the runs are the
 * writer's (results.cpp), in Google Benchmark's layout.
 */
class CaptureReporter : public benchmark::BenchmarkReporter
{
public:
	CaptureReporter()
	{
		json_.SetOutputStream(&out_);
		json_.SetErrorStream(&err_);
	}
	bool ReportContext(const Context &context) override { return json_.ReportContext(context); }
	void ReportRuns(const std::vector<Run> &runs) override { json_.ReportRuns(runs); }
	void Finalize() override { json_.Finalize(); }
	std::string json() const { return out_.str(); }

private:
	benchmark::JSONReporter json_;
	std::ostringstream out_, err_;
};

/* "45s", "1m40s", "2h05m": an ETA is read at a glance, not to the second. */
std::string shortDuration(double seconds)
{
	auto s = static_cast<long>(std::lround(std::max(seconds, 0.0)));
	if (s < 60)
		return fmt::format("{}s", s);
	if (s < 3600)
		return fmt::format("{}m{:02}s", s / 60, s % 60);
	return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}

/*
 * Where the run is, on stderr. On a terminal: one line rewritten in place for every
 * repetition. Elsewhere (a CI log, a pipe) rewriting is impossible and a line per
 * repetition would flood the log (null runs 1000), while nothing for minutes looks hung:
 * a line when a variant is done, and with interleaved orders, where every variant
 * finishes only in the last round, a line per round as well. So there is at most one
 * line per visit, and the elapsed time and ETA (from the fraction of repetitions done)
 * on every line.
 */
class Progress
{
public:
	Progress(size_t variants, int repetitions, int rounds)
		: tty_(isatty(STDERR_FILENO)), variants_(variants), repetitions_(repetitions), rounds_(rounds),
		  start_(std::chrono::steady_clock::now())
	{
	}
	~Progress() { clear(); }
	void show(size_t index, const std::string &name, int rep, int reps, bool warmup)
	{
		if (!tty_)
			return;
		fmt::print(stderr, "\r\033[K[{}/{}] {}  {} {}/{}", index + 1, variants_, name,
			   warmup ? "warm-up" : "rep", rep + 1, reps);
		fflush(stderr);
	}
	/* n more repetitions are behind us (a failed variant's remaining ones count as done). */
	void repetitionsDone(int n) { repetitions_done_ += n; }
	void variantDone(const std::string &name, bool failed)
	{
		++variants_done_;
		line(fmt::format("[{}/{}] {} {}", variants_done_, variants_, name, failed ? "failed" : "done"));
	}
	void roundDone(int round)
	{
		if (rounds_ > 1)
			line(fmt::format("round {}/{} done", round, rounds_));
	}
	void clear()
	{
		if (tty_)
			fmt::print(stderr, "\r\033[K");
	}

private:
	void line(const std::string &what)
	{
		if (tty_)
			return;
		double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
		double fraction = repetitions_ ? static_cast<double>(repetitions_done_) / repetitions_ : 1.0;
		std::string eta = fraction > 0 ? shortDuration(elapsed * (1 - fraction) / fraction) : "unknown";
		fmt::print(stderr, "pgtbench: {}, {:.1f} s elapsed, ETA {}\n", what, elapsed, eta);
		fflush(stderr);
	}

	bool tty_;
	size_t variants_, variants_done_ = 0;
	int repetitions_, repetitions_done_ = 0, rounds_;
	std::chrono::steady_clock::time_point start_;
};

/* A variant being run: its prepared instance lives from the first to the last repetition. */
struct VariantRun {
	Variant *entry = nullptr;
	size_t index = 0;
	int done = 0;
	int visit_done = 0; /* repetitions of the current visit (interleaved runs visit often) */
	bool started = false;
	std::unique_ptr<KnobGuard> guard;
	std::unique_ptr<Counters> counters;
	std::unique_ptr<PreparedVariant> instance;
	const Env *env = nullptr;
	int *sequence = nullptr; /* the run's repetition counter, over all variants */
	std::string journal;
	Progress *progress = nullptr;

	void finish()
	{
		started = false;
		instance.reset();
		counters.reset();
		if (guard) {
			entry->knobs_changed = guard->changes();
			guard->restore();
			guard.reset();
		}
	}
	void fail(const std::string &why)
	{
		entry->status = Status::Error;
		entry->reason = why;
		finish();
		progress->repetitionsDone(entry->reps - done);
		progress->variantDone(entry->name, true);
	}
	void start(int cpu)
	{
		started = true;
		guard = std::make_unique<KnobGuard>(journal);
		for (const auto &k : entry->knobs)
			guard->set(k.path, k.value);
		entry->knobs_changed = guard->changes();
		if (entry->counting)
			counters = std::make_unique<Counters>(entry->events, entry->flush_sites, *env,
							      Counters::Options{entry->spec->counters_inherit});
		RunContext ctx{*env, cpu, counters.get()};
		instance = entry->spec->prepare(entry->params, ctx);
		for (int w = 0; w < entry->warmup; w++) {
			progress->show(index, entry->name, w, entry->warmup, true);
			instance->sample();
		}
	}
};

/* Which variant runs how many repetitions when: config.order (config.h). */
struct Visit {
	VariantRun *live;
	int reps;
	int ends_round = 0; /* the last visit of round N (from 1) of an interleaved order; else 0 */
};

/* One repetition of a visit; the visit's last one ends it. */
void runOne(benchmark::State &state, VariantRun &live, int cpu, const Visit &visit)
{
	const int visit_reps = visit.reps;
	Variant &e = *live.entry;
	if (!e.runnable()) {
		state.SkipWithError(e.reason.c_str());
		for (auto _ : state) {
		}
		return;
	}
	try {
		if (!live.started)
			live.start(cpu);
		const MetricSpec &primary = e.spec->metrics.front();
		for (auto _ : state) {
			live.progress->show(live.index, e.name, live.done, e.reps, false);
			Sample s = live.instance->sample();
			auto it = s.values.find(primary.name);
			if (it == s.values.end())
				throw RuntimeError("scenario returned no " + primary.name);
			state.SetIterationTime(toSeconds(it->second, primary.unit).value_or(it->second));
			for (const auto &m : e.spec->metrics) {
				auto v = s.values.find(m.name);
				if (v == s.values.end())
					continue;
				e.samples[m.name].push_back(v->second);
			}
			e.checks.push_back(s.checks);
			e.run_order.push_back(live.sequence ? (*live.sequence)++ : 0);
			if (!s.windows.empty())
				e.windows.push_back(s.windows);
			for (const auto &c : s.counters) {
				CounterRecord &cs = e.counters[c.name];
				cs.event = c.event;
				cs.kind = c.kind;
				cs.samples.push_back(c.value);
				cs.in_group = c.in_group;
				cs.time_enabled_ns += c.time_enabled_ns;
				cs.time_running_ns += c.time_running_ns;
				if (!c.value)
					cs.reason = c.reason;
			}
		}
	} catch (const std::exception &ex) {
		live.fail(ex.what());
		state.SkipWithError(e.reason.c_str());
		return;
	}
	++live.done;
	live.progress->repetitionsDone(1);
	/*
	 * A visit ends with its knobs put back and its instance gone, so the next visit of
	 * another variant finds the machine as this one found it.
	 */
	if (++live.visit_done >= visit_reps || live.done >= e.reps) {
		live.visit_done = 0;
		live.finish();
		if (live.done >= e.reps)
			live.progress->variantDone(e.name, false);
		else if (visit.ends_round)
			live.progress->roundDone(visit.ends_round);
	}
}

std::vector<Visit> planVisits(const std::vector<std::unique_ptr<VariantRun>> &lives, const RunConfig &config)
{
	std::vector<Visit> visits;
	if (config.order == "variants") {
		for (const auto &l : lives)
			visits.push_back({l.get(), l->entry->reps, 0});
		return visits;
	}
	std::mt19937_64 rng(config.seed);
	int rounds = 0;
	for (const auto &l : lives)
		rounds = std::max(rounds, l->entry->reps);
	for (int r = 0; r < rounds; r++) {
		std::vector<VariantRun *> round;
		for (const auto &l : lives)
			if (l->entry->reps > r)
				round.push_back(l.get());
		if (config.order == "shuffle")
			std::shuffle(round.begin(), round.end(), rng);
		for (auto *l : round) {
			/*
			 * Back-to-back repetitions of one variant are one visit: a lone variant,
			 * or the rounds only the one with the most repetitions is left in (null's
			 * 1000 after the others' 10), runs in a row with one warm-up, not as a
			 * visit per repetition.
			 */
			if (!visits.empty() && visits.back().live == l)
				visits.back().reps++;
			else
				visits.push_back({l, 1, 0});
		}
		if (!round.empty())
			visits.back().ends_round = r + 1;
	}
	return visits;
}

} /* namespace */

nlohmann::json parseGbenchJson(const std::string &text)
{
	/*
	 * Google Benchmark prints non-finite doubles bare (the CV of an all-zero metric is
	 * 0/0 = NaN), which is not JSON. They carry no number, so they become null.
	 */
	static const std::regex non_finite(R"((:\s*)-?(?:nan|NaN|inf|Inf|infinity|Infinity)\b)");
	std::string clean = std::regex_replace(text, non_finite, "$1null");
	try {
		return nlohmann::json::parse(clean);
	} catch (const nlohmann::json::exception &ex) {
		throw RuntimeError(fmt::format("cannot parse Google Benchmark's JSON: {}", ex.what()));
	}
}

std::vector<Variant> planVariants(const RunConfig &config, const Env &env)
{
	std::optional<std::regex> filter;
	if (!config.filter.empty()) {
		try {
			filter.emplace(config.filter);
		} catch (const std::regex_error &e) {
			throw UsageError(fmt::format("--filter '{}': {}", config.filter, e.what()));
		}
	}
	std::vector<Variant> variants;
	for (const auto &sc : config.scenarios) {
		const ScenarioSpec &spec = *sc.spec;
		std::vector<Params> points = spec.expand ? spec.expand(sc.lists, env) : cartesian(spec, sc.lists);
		for (auto &p : points) {
			Variant e;
			e.spec = &spec;
			e.params = p;
			e.name = variantName(spec, p);
			if (filter && !std::regex_search(e.name, *filter))
				continue;
			e.reps = sc.reps.value_or(config.reps);
			e.counting = config.counters;
			e.events = config.events.value_or(defaultEvents(env));
			e.flush_sites = config.flush_sites.value_or(defaultFlushSites(env.arch));
			e.warmup = sc.warmup.value_or(config.warmup);
			if (spec.supported)
				e.reason = spec.supported(p, env);
			if (e.reason.empty() && spec.memory_bytes) {
				uint64_t need = spec.memory_bytes(p, env);
				if (need && need + kMemHeadroom > env.mem_available_bytes)
					e.reason = fmt::format("needs {} (+{} headroom) but MemAvailable is {}",
							       humanSize(need), humanSize(kMemHeadroom),
							       humanSize(env.mem_available_bytes));
			}
			if (!e.reason.empty()) {
				e.status = Status::Skipped;
			} else {
				/* --tune's knobs first, so that the variant's own come back before them. */
				if (config.tune)
					for (const auto &k : config.tune_plan.knobs)
						e.knobs.push_back({k.path, k.value});
				if (spec.knobs)
					for (auto &k : spec.knobs(p, env))
						e.knobs.push_back(std::move(k));
			}
			variants.push_back(std::move(e));
		}
	}
	if (variants.empty())
		throw UsageError(filter ? fmt::format("--filter '{}' matches no variant", config.filter)
					: "nothing to run");
	return variants;
}

void checkKnobPlan(const std::vector<Variant> &variants, const std::string &journal_path)
{
	bool changes = false;
	for (const auto &e : variants) {
		if (!e.runnable())
			continue;
		for (const auto &k : e.knobs) {
			if (readKnob(k.path) == k.value)
				continue;
			changes = true;
			std::string why = knobWritable(k.path);
			if (!why.empty())
				throw UsageError(fmt::format("{}: {} (run as root, or --filter to variants that "
							     "need no THP changes)",
							     e.name, why));
		}
	}
	if (changes && access(journal_path.c_str(), F_OK) == 0)
		throw UsageError(fmt::format("{} exists: an earlier run was killed before restoring its "
					     "settings; run `pgtbench restore` first",
					     journal_path));
}

RunOutput runVariants(std::vector<Variant> variants, const Env &env, int cpu,
		     const std::string &journal_path, const RunConfig &config)
{
	/* The emulator's session is announced before the first window, outside any clock. */
	emu::session();
	RunOutput out;
	out.cpu = cpu;
	size_t runnable = 0;
	int repetitions = 0, rounds = 0;
	for (const auto &e : variants) {
		runnable += e.runnable();
		repetitions += e.runnable() ? e.reps : 0;
		rounds = std::max(rounds, e.runnable() ? e.reps : 0);
	}
	/* One round per repetition when interleaved; "variants" has no rounds to report. */
	Progress progress(runnable, repetitions, config.order == "variants" ? 1 : rounds);
	std::vector<std::unique_ptr<VariantRun>> lives;
	benchmark::ClearRegisteredBenchmarks();
	size_t index = 0;
	int sequence = 0;
	for (auto &e : variants) {
		e.cpu = cpu;
		if (!e.runnable())
			continue;
		auto live = std::make_unique<VariantRun>();
		live->entry = &e;
		live->index = index++;
		live->env = &env;
		live->journal = journal_path;
		live->progress = &progress;
		live->sequence = &sequence;
		lives.push_back(std::move(live));
	}
	std::vector<Visit> visits = planVisits(lives, config);
	for (const Visit &v : visits) {
		VariantRun *lp = v.live;
		int reps = v.reps;
		const Visit *visit = &v;
		/*
		 * One iteration per repetition, timed manually: the work happens in the
		 * kernel and in child processes, where Google Benchmark's CPU-time
		 * based iteration estimate would be wrong, and each repetition must
		 * start from freshly prepared memory.
		 */
		benchmark::RegisterBenchmark(lp->entry->name.c_str(),
					     [lp, cpu, visit](benchmark::State &st) { runOne(st, *lp, cpu, *visit); })
			->Iterations(1)
			->Repetitions(reps)
			->ReportAggregatesOnly(false)
			->UseManualTime();
	}
	if (!lives.empty()) {
		CaptureReporter reporter;
		benchmark::RunSpecifiedBenchmarks(&reporter);
		progress.clear();
		/*
		 * Its records are not kept: their names carry "/iterations:1/repeats:N/
		 * manual_time" after the variant's, their CPU time spans the untimed setup of
		 * each repetition, and an interleaved variant is several runs of one name to it. The writer makes them from the
		 * samples, one per repetition with the variant's real count plus aggregates.
		 */
		out.gbench = {{"context", parseGbenchJson(reporter.json()).value("context", nlohmann::json::object())}};
	} else {
		out.gbench = {{"context", nlohmann::json::object()}};
	}
	for (auto &l : lives)
		l->finish();
	benchmark::ClearRegisteredBenchmarks();
	out.variants = std::move(variants);
	return out;
}

int RunOutput::exitCode() const
{
	std::vector<Status> statuses;
	for (const auto &v : variants)
		statuses.push_back(v.status);
	return exitCodeOf(statuses);
}

VariantRecord Variant::record() const
{
	VariantRecord r;
	r.scenario = spec->name;
	r.params = params.record(*spec);
	r.status = status;
	r.reason = reason;
	r.reps = reps;
	r.warmup = warmup;
	r.cpu = cpu;
	for (const auto &m : spec->metrics) {
		auto it = samples.find(m.name);
		r.metrics.push_back({m.name, m.unit, m.better == Better::Lower,
				     it == samples.end() ? std::vector<double>{} : it->second});
	}
	for (const auto &k : knobs_changed)
		r.knobs_changed.push_back({{"path", k.path}, {"original", k.original}, {"value", k.value}});
	r.counters.assign(counters.begin(), counters.end());
	r.checks = checks;
	r.emu_windows = windows;
	if (!run_order.empty())
		r.extra["run_order"] = run_order;
	return r;
}

} /* namespace pgt */
