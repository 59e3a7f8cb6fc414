// SPDX-License-Identifier: GPL-2.0
/*
 * remap: PTE-map every PMD-mapped THP of SIZE, the step that turns the PMD-mapped
 * variants into the PTE-mapped ones: the cost of splitting PMD mappings into PTE
 * tables (and, with contpte, of folding them into contiguous ranges).
 */
#include "scenario.h"
#include "folio.h"

#include <fmt/format.h>

namespace pgt {

extern const ScenarioSpec remap_scenario;
const ScenarioSpec remap_scenario = [] {
	/* AnonRegion::pteRemap() says why one subpage's mprotect() is the tool. */
	ScenarioSpec s = regionOpScenario(
		"remap", "PTE-remap every PMD-mapped THP of SIZE (mprotect of one subpage each)",
		{"remap_ms", "ms", Better::Lower, "the mprotect() calls"},
		{.op = [](AnonRegion &r) { r.pteRemap(); }, .remaps = true});
	for (auto &p : s.params) {
		if (p.name == "order")
			p.defaults = {"9"};
		if (p.name == "map") { /* it starts PMD-mapped, by definition */
			p.choices = {"pmd"};
			p.defaults = {"pmd"};
		}
	}
	s.supported = [](const Params &p, const Env &env) -> std::string {
		if (!env.thp.pmd_order || static_cast<unsigned>(p.integer("order")) != env.thp.pmd_order)
			return fmt::format("remap needs PMD-mapped THPs: only the PMD order ({})",
					   env.thp.pmd_order);
		return folioPointUnsupported(p, env);
	};
	return s;
}();

} /* namespace pgt */
