/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a scenario declares. A scenario is one file in benches/ defining one
 * ScenarioSpec, plus one line in benches/registry.cpp; everything else (config keys,
 * bounds checking, the variant matrix, skip reasons, Google Benchmark registration,
 * sysfs save/restore, results) is driven from this declaration.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "counters.h"
#include "emu_window.h"
#include "results.h"
#include "env.h"
#include "util.h"

namespace pgt {

enum class ParamKind {
	Int,	/* integer within [min, max] */
	Size,	/* bytes, written "1G", within [min, max] */
	Choice, /* one of choices */
};

struct ParamSpec {
	std::string name;
	ParamKind kind = ParamKind::Int;
	std::string help;
	int64_t min = 0;
	int64_t max = 0;
	std::vector<std::string> choices;
	/* Defaults in config syntax ("1G", "9", "pte"); more than one = a list. */
	std::vector<std::string> defaults;
	/* A list gives one variant per value; otherwise exactly one value. */
	bool list = false;
};

using ParamValue = std::variant<int64_t, std::string>;

/* Parameter name -> the values the config asked for, already checked against the spec. */
using ParamLists = std::map<std::string, std::vector<ParamValue>>;

/* One variant: a value per parameter, in the order the spec declares them. */
struct Params {
	std::vector<std::pair<std::string, ParamValue>> values;

	int64_t integer(const std::string &name) const;
	const std::string &choice(const std::string &name) const;
	bool has(const std::string &name) const;
	/* The results file's form: sizes in bytes under "<name>_bytes", in declaration order. */
	RecordParams record(const struct ScenarioSpec &spec) const;
};

enum class Better { Lower, Higher };

struct MetricSpec {
	std::string name; /* carries its unit: fork_ms, tlbi_count */
	std::string unit;
	Better better = Better::Lower;
	std::string help;
};

struct Knob {
	std::string path;
	std::string value;
};

/* One repetition's numbers, and what was checked about the conditions it ran under. */
struct Sample {
	std::map<std::string, double> values;
	std::vector<CounterReading> counters; /* around the timed operation, if counted */
	nlohmann::json checks = nlohmann::json::object();
	/* The emulator's counting windows of its timed brackets: counter prefix -> ordinal. */
	std::map<std::string, uint64_t> windows;
};

class SystemWideProbe;

/* How long a timed operation took. */
struct Elapsed {
	uint64_t ns = 0;
	double ms() const { return static_cast<double>(ns) / 1e6; }
};

/* The clock around `op` and nothing else: for figures no counter may see. */
template <class F> Elapsed elapsed(F &&op)
{
	uint64_t t0 = monotonicNs();
	op();
	uint64_t t1 = monotonicNs();
	return {t1 - t0};
}

/* What a timed bracket holds besides the thread's counters, and where their readings go. */
struct Bracket {
	/* Prepended to every counter's name in the sample: fork's "teardown.". */
	std::string counters_prefix;
	/* System-wide probes counted with the counters (null entries are skipped). */
	std::vector<SystemWideProbe *> probes;
};

struct RunContext {
	const Env &env;
	int cpu = -1;		     /* where the measuring thread is pinned, -1 if not pinned */
	Counters *counters = nullptr; /* opened for this variant; null when counting is off */

	/*
	 * The timed operation: counters started, then the clock read; the clock read
	 * again, then the counters stopped and read into s.counters. Counters bracket
	 * the clock and the clock brackets only `op`, so the time never includes the
	 * cost of starting, stopping and reading the counters (null measures it), and
	 * the counts include every instruction that was timed. Innermost, around `op`
	 * alone, the emulator's counting window (emu_window.h: two no-op instructions).
	 * This is the only place a scenario starts counters.
	 */
	template <class F> Elapsed timed(Sample &s, F &&op, const Bracket &bracket = {}) const
	{
		startCounting(bracket);
		uint64_t window = 0;
		Elapsed e = elapsed([&] {
			window = emu::openWindow();
			struct Close {
				~Close() { emu::closeWindow(); } /* on a throw too: windows stay paired */
			} close;
			op();
		});
		stopCounting(s, bracket);
		if constexpr (emu::kMarkers)
			s.windows[bracket.counters_prefix] = window;
		return e;
	}
	/*
	 * The same bracket when another process times the operation (benches/lib/subject.h):
	 * armRemote() readies the counters and reserves the emulator window, that process
	 * enables the counters, executes the markers and reads the clock around the
	 * operation, and finishRemote() reads the counters into s. The process must have
	 * inherited the counters (the scenario sets counters_inherit).
	 */
	uint64_t armRemote(const Bracket &bracket = {}) const;
	void finishRemote(Sample &s, uint64_t window, const Bracket &bracket = {}) const;
	/* The counter bracket's own cost (start, stop, read) with the clock outside it: null's. */
	Elapsed countingCost(Sample &s) const;

private:
	void startCounting(const Bracket &bracket) const;
	void stopCounting(Sample &s, const Bracket &bracket) const;
};

/* A prepared variant. sample() runs one repetition and throws RuntimeError on failure. */
class PreparedVariant
{
public:
	virtual ~PreparedVariant() = default;
	virtual Sample sample() = 0;
};

using PrepareFn = std::function<std::unique_ptr<PreparedVariant>(const Params &, const RunContext &)>;
using SampleFn = std::function<Sample(const Params &, const RunContext &)>;
/* prepare() for scenarios without per-variant state: each repetition calls fn. */
PrepareFn eachRepetition(SampleFn fn);
/* prepare() for scenarios whose per-variant state is a V(params, context). */
template <class V> PrepareFn prepareVariant()
{
	return [](const Params &p, const RunContext &ctx) -> std::unique_ptr<PreparedVariant> {
		return std::make_unique<V>(p, ctx);
	};
}

struct ScenarioSpec {
	std::string name;
	std::string description;
	std::vector<ParamSpec> params;
	/* metrics[0] is the time handed to Google Benchmark as the iteration time. */
	std::vector<MetricSpec> metrics;

	/* The variants for the configured lists; unset = every combination. */
	std::function<std::vector<Params>(const ParamLists &, const Env &)> expand;
	/* Why this variant cannot run here ("" = it can). */
	std::function<std::string(const Params &, const Env &)> supported;
	/* sysfs/procfs settings the variant needs while it runs. */
	std::function<std::vector<Knob>(const Params &, const Env &)> knobs;
	/* Memory the variant needs at once, for the preflight (0 = negligible). */
	std::function<uint64_t(const Params &, const Env &)> memory_bytes;
	PrepareFn prepare;
	/* The timed work continues in child processes: counters must follow them. */
	bool counters_inherit = false;
	/*
	 * The table `run` prints for this scenario in its field's own layout, as `pgtbench
	 * compare --rows <rows> --columns <columns>` would: rows are the values of a
	 * parameter, the first its baseline. Empty rows: the run table only.
	 */
	struct {
		std::string rows;
		std::vector<std::string> columns;
	} cover;
	/*
	 * A table of its own that `run` prints after the others, from the results just
	 * written ("" = none): test_vmalloc puts its figures next to the vmalloc scenario's.
	 */
	std::function<std::string(const ResultsFile &)> run_report;

	const ParamSpec *param(const std::string &name) const;
	const MetricSpec *metric(const std::string &name) const;
};

/* Every combination of the lists, in declaration order (the default expansion). */
std::vector<Params> cartesian(const ScenarioSpec &spec, const ParamLists &lists);
/* "fork/size:1G/order:9/map:pte" */
std::string variantName(const ScenarioSpec &spec, const Params &params);

/* The registry (benches/registry.cpp). */
const std::vector<const ScenarioSpec *> &scenarios();
const ScenarioSpec *findScenario(const std::string &name);

} /* namespace pgt */
