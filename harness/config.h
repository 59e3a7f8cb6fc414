/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Run configuration: a TOML file (configs/<name>.toml) plus command-line overrides.
 *
 *   [run]             reps, warmup, label, cpu, filter, counters, tune, order, seed, events,
 *                     flush_sites
 *   [<scenario>]      the scenario's parameters (see `pgtbench list`), plus reps/warmup
 *
 * A config runs exactly the scenarios that have a table; without a config file every
 * scenario runs with its defaults. Every error names the file and line and is raised
 * before anything runs or any knob is written.
 */
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario.h"
#include "tune.h"

namespace pgt {

struct ScenarioConfig {
	const ScenarioSpec *spec = nullptr;
	ParamLists lists;
	std::optional<int> reps;
	std::optional<int> warmup;
};

struct RunConfig {
	std::string path; /* empty: built-in defaults */
	int reps = 10;
	int warmup = 0;
	std::string label;
	int cpu = -1; /* -1: choose automatically */
	std::string filter;
	/* Counters around each timed operation; unset lists = the machine's defaults. */
	bool counters = true;
	std::optional<std::vector<std::string>> events;
	std::optional<std::vector<std::string>> flush_sites;
	std::vector<ScenarioConfig> scenarios;
	/*
	 * "variants": each variant's repetitions one after the other; "interleave": round
	 * after round one repetition of every variant; "shuffle": the same, each round in a
	 * random order drawn from `seed` (recorded, random when not given). Interleaved by
	 * default: on a machine that drifts over seconds (a VM, a shared host), a variant
	 * whose repetitions come in one block is measured in that block's state, and two
	 * runs of the same config differ (tools/aa: 8 of 20 cells flagged in a row, 0 of 20
	 * interleaved, on the development VM).
	 */
	std::string order = "interleave";
	uint64_t seed = 0;
	bool seed_given = false;
	/* --tune: the knobs every variant's guard sets too (planTune, resolved before planning). */
	bool tune = false;
	TunePlan tune_plan;
	/* Part `share_part` of `share_parts` of every variant's repetitions (--share K/R); 0: all. */
	int share_part = 0, share_parts = 0;

	nlohmann::json toJson() const;
};

constexpr int kMaxReps = 100000;
inline const std::vector<std::string> kRunOrders = {"variants", "interleave", "shuffle"};
/* The order's name checked ("--order" or "file:line: order") and the seed drawn if needed. */
void setRunOrder(RunConfig &config, const std::string &order, const std::string &where);
constexpr int kMaxWarmup = 1000;

RunConfig loadConfig(const std::string &path);
RunConfig defaultConfig();

/* Parse one value of a parameter from config/CLI text ("1G", "9", "pte"). */
ParamValue parseParamValue(const ParamSpec &spec, const std::string &text);
/* The spec's defaults, parsed. */
std::vector<ParamValue> defaultValues(const ParamSpec &spec);
/*
 * --share K/R: this run is round K of R (`pgtbench stack` boots each kernel R times), so
 * every variant runs its part of its repetitions: N/R, the first N%R rounds one more.
 * UsageError for text that is not K/R with 1 <= K <= R, or a variant with fewer than R
 * repetitions (a round would run none of them).
 */
void shareRepetitions(RunConfig &config, const std::string &share);
/* Replace a parameter in every configured scenario that has it (e.g. --size). */
void overrideParam(RunConfig &config, const std::string &name, const std::string &text);

} /* namespace pgt */
