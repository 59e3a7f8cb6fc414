/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `run --tune`: the settings that take the machine's own noise out of a benchmark, as
 * sysfs/procfs knobs for the run's knob guard (knobs.h), so that they are put back
 * exactly like the THP knobs: after each variant, on errors, on signals, and by
 * `pgtbench restore` after a SIGKILL.
 *
 *   cpufreq     every policy's governor -> performance (where the driver offers it)
 *   boost       cpufreq/boost -> 0, intel_pstate/no_turbo -> 1
 *   khugepaged  scan and alloc sleep -> a day: paused (writing the old value back wakes it)
 *   compaction  vm.compaction_proactiveness -> 0: no proactive compaction by kcompactd
 *
 * What a machine does not have (a VM without cpufreq) is left alone with the reason.
 */
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgt {

struct TuneKnob {
	std::string what; /* "cpufreq policy0 governor" */
	std::string path;
	std::string value;
};

struct TuneSkip {
	std::string what;
	std::string why;
};

struct TunePlan {
	std::vector<TuneKnob> knobs;
	std::vector<TuneSkip> skipped;

	/* What the run table's caution topics (machine_state.h) the plan takes care of. */
	bool tunesGovernor() const;
	bool tunesBoost() const;
	nlohmann::json toJson() const;
};

/* The knobs --tune would set on the machine under `root` ("/" for this one). */
TunePlan planTune(const std::string &root = "/");

} /* namespace pgt */
