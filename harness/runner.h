/* SPDX-License-Identifier: GPL-2.0 */
/*
 * From a configuration to measured entries: expand every scenario into its variants,
 * decide what can run here (and why not), check up front that every knob the run
 * needs can be changed, then register the runnable variants with Google Benchmark
 * and run them with explicit repetition counts and manual time.
 */
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.h"
#include "env.h"
#include "knobs.h"
#include "scenario.h"

namespace pgt {

/* One counter across an entry's repetitions. */
struct CounterSeries {
	std::string event;
	std::string kind;
	std::vector<std::optional<uint64_t>> samples; /* nullopt where unavailable */
	std::string reason;			      /* last reason it was unavailable */
	uint64_t time_enabled_ns = 0, time_running_ns = 0;
	bool in_group = false;

	bool available() const;
	nlohmann::json toJson() const;
};

struct Variant {
	std::string name;
	const ScenarioSpec *spec = nullptr;
	Params params;
	std::string status = "ok"; /* "ok", "skipped", "error" */
	std::string reason;
	int reps = 0;
	int warmup = 0;
	int cpu = -1;
	std::vector<Knob> knobs;
	std::vector<KnobChange> knobs_changed;
	std::map<std::string, std::vector<double>> samples;
	std::vector<nlohmann::json> checks; /* one per repetition */
	bool counting = false;
	std::vector<std::string> events, flush_sites;
	std::map<std::string, CounterSeries> counters;

	bool runnable() const { return status == "ok"; }
	nlohmann::json toJson() const;
};

/* The variants a config asks for, each runnable or skipped with its reason. */
std::vector<Variant> planVariants(const RunConfig &config, const Env &env);

/*
 * Refuse, before anything is written, a run whose knobs cannot all be changed
 * (UsageError naming the first one) or that would overwrite an earlier run's journal.
 */
void checkKnobPlan(const std::vector<Variant> &entries, const std::string &journal_path);

struct RunOutput {
	std::vector<Variant> entries;
	nlohmann::json gbench; /* Google Benchmark's own JSON: context + benchmarks */
	int cpu = -1;
	int exitCode() const;
};

/* Runs the runnable entries on the pinned CPU; progress on stderr when it is a tty. */
RunOutput runVariants(std::vector<Variant> entries, const Env &env, int cpu,
		     const std::string &journal_path);

/* Google Benchmark's JSON output, with its bare NaN/inf values turned into null. */
nlohmann::json parseGbenchJson(const std::string &text);

/* Convert a metric value to seconds ("ms", "us", "ns", "s"); nullopt for non-times. */
std::optional<double> toSeconds(double value, const std::string &unit);

} /* namespace pgt */
