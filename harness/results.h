/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The results file: Google Benchmark's JSON layout ("context" + "benchmarks", so its
 * tools/compare.py reads it) extended with "pgtbench" (env snapshot, config, label)
 * and "entries" (per variant: parameters, every raw sample, checks, units).
 * results/README.md and results/schema.json document it.
 */
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.h"
#include "env.h"
#include "runner.h"

namespace pgt {

constexpr int kSchemaVersion = 1;

nlohmann::json buildResults(const RunOutput &run, const RunConfig &config, const Env &env,
			    const std::string &label, const std::vector<std::string> &argv);

/* results/<label>-<UTC timestamp>.json */
std::string defaultResultsPath(const std::string &label);

/*
 * Write through a temporary file in the same directory and rename() it into place,
 * so a reader (or a crash) never sees a truncated results file.
 */
void writeJsonAtomic(const std::string &path, const nlohmann::json &doc);

} /* namespace pgt */
