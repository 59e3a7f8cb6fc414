/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What `pgtbench list` shows: every scenario (description, parameters with bounds and
 * defaults, metrics with units) and every variant a config makes, runnable or skipped
 * with the reason. One document holds it (`list --json`) and the text form is printed
 * from that document, so the two never say different things.
 */
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner.h"

namespace pgt {

/*
 * {"scenarios": [{"name", "description",
 *   "params": [{"name", "help", "kind": "size"|"integer"|"choice", "min", "max" (bytes for
 *               sizes; integers only), "choices" (choice only), "list", "defaults"}],
 *   "metrics": [{"name", "unit", "better": "lower"|"higher", "help"}],
 *   "variants": [{"name", "params" (as the results file holds them), "runnable", "reason"}]}]}
 */
nlohmann::ordered_json listJson(const std::vector<Variant> &variants);
std::string formatList(const nlohmann::ordered_json &list);

} /* namespace pgt */
