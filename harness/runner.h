/* SPDX-License-Identifier: GPL-2.0 */
/*
 * From a configuration to measured variants: expand every scenario into its variants,
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
#include "results.h"
#include "scenario.h"

namespace pgt {

struct Variant {
	std::string name;
	const ScenarioSpec *spec = nullptr;
	Params params;
	Status status = Status::Ok;
	std::string reason;
	int reps = 0;
	int warmup = 0;
	int cpu = -1;
	std::vector<Knob> knobs;
	std::vector<KnobChange> knobs_changed;
	std::map<std::string, std::vector<double>> samples;
	std::vector<nlohmann::json> checks; /* one per repetition */
	std::vector<int> run_order; /* per repetition, its place among all the run's repetitions */
	std::vector<std::map<std::string, uint64_t>> windows; /* one per repetition (arm64) */
	bool counting = false;
	std::vector<std::string> events, flush_sites;
	std::map<std::string, CounterRecord> counters;

	bool runnable() const { return status == Status::Ok; }
	/* What the results file keeps of it. */
	VariantRecord record() const;
};

/* The variants a config asks for, each runnable or skipped with its reason. */
std::vector<Variant> planVariants(const RunConfig &config, const Env &env);

/*
 * Refuse, before anything is written, a run whose knobs cannot all be changed
 * (UsageError naming the first one) or that would overwrite an earlier run's journal.
 */
void checkKnobPlan(const std::vector<Variant> &variants, const std::string &journal_path);

struct RunOutput {
	std::vector<Variant> variants;
	nlohmann::json gbench; /* Google Benchmark's context: {"context": {...}} */
	int cpu = -1;
	int exitCode() const;
};

/*
 * Runs the runnable variants on the pinned CPU, in config.order: each variant's
 * repetitions one after the other ("variants"), or one repetition of every variant per
 * round ("interleave", "shuffle": each round in a random order from config.seed), each
 * visit with its own warm-up and knobs. Progress on stderr: a line rewritten per
 * repetition on a terminal, elsewhere a line per finished variant and per round.
 */
RunOutput runVariants(std::vector<Variant> variants, const Env &env, int cpu,
		     const std::string &journal_path, const RunConfig &config);

/* Google Benchmark's JSON output, with its bare NaN/inf values turned into null. */
nlohmann::json parseGbenchJson(const std::string &text);


} /* namespace pgt */
