/* SPDX-License-Identifier: GPL-2.0 */
/* The human table `pgtbench run` prints: one row per variant and metric. */
#pragma once

#include <string>
#include <vector>

#include "env.h"
#include "runner.h"

namespace pgt {

/* The table, then one "# warning: ..." line per caution (machine_state.h: runCautions). */
std::string formatRunTable(const std::vector<Variant> &variants, const Env &env, const std::string &label, int cpu,
			   const std::vector<Caution> &cautions);
/* A warning per variant whose primary metric trends in run order (stats.h: mannKendall). */
std::vector<Caution> driftCautions(const std::vector<Variant> &variants);
/* Significant digits that suit the magnitude: 12345, 123.4, 12.35, 1.235, 0.1235 */
std::string formatValue(double v);

} /* namespace pgt */
