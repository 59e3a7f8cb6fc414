// SPDX-License-Identifier: GPL-2.0
/*
 * cow and cow_reuse: the parent writes SIZE of anonymous memory after fork(), either
 * while the child still shares it (every write fault copies) or after the child has
 * gone (every write fault may reuse the page: it is exclusive again, only still
 * write-protected from the fork). write:all writes every byte, write:byte one byte per
 * base page - the mm threads' cow / cow-byte / cow-reuse / cow-reuse-byte.
 */
#include <cstring>

#include <fmt/format.h>

#include "errors.h"
#include "scenario.h"
#include "folio.h"
#include "held_child.h"

namespace pgt {

namespace {

void writeRegion(AnonRegion &r, bool byte_per_page)
{
	if (!byte_per_page) {
		memset(r.data(), 2, r.size());
		return;
	}
	volatile char *p = r.data();
	for (uint64_t off = 0; off < r.size(); off += r.pageSize())
		p[off] = 2;
}

Sample cowSample(const Params &p, const RunContext &ctx, bool live_child)
{
	bool byte = p.choice("write") == "byte";
	std::unique_ptr<HeldChild> child;
	const char *metric = live_child ? "cow_ms" : "cow_reuse_ms";
	return timeRegionOp(
		p, ctx, metric,
		{.prepare = [&](AnonRegion &) {
			child = std::make_unique<HeldChild>();
			/*
			 * cow_reuse: let the child go before timing. fork() left the parent's
			 * entries write-protected; with the child gone each write fault finds
			 * the page exclusive and reuses it instead of copying.
			 */
			if (!live_child)
				child->reap();
		},
		 .op = [&](AnonRegion &r) { writeRegion(r, byte); },
		 .after = [&](AnonRegion &) { child.reset(); },
		 /* Copies replace the folios the writes hit; reuse keeps them. */
		 .remaps = true});
}

std::vector<ParamSpec> cowParams()
{
	auto params = folioParams();
	params.push_back({.name = "write",
			  .kind = ParamKind::Choice,
			  .help = "all: every byte (memset); byte: one byte per base page",
			  .choices = {"all", "byte"},
			  .defaults = {"all", "byte"},
			  .list = true});
	return params;
}

ScenarioSpec cowScenario(const char *name, const char *description, bool live_child)
{
	std::string metric = std::string(name) + "_ms";
	ScenarioSpec s = folioScenario(name, description,
				       {metric, "ms", Better::Lower, "the parent's writes"},
				       eachRepetition([live_child](const Params &p, const RunContext &ctx) {
					       return cowSample(p, ctx, live_child);
				       }));
	s.params = cowParams();
	s.expand = [](const ParamLists &lists, const Env &env) {
		return expandFolioPointsBy(lists, env, {"write"});
	};
	if (live_child) /* the child keeps the originals while the parent gets copies */
		s.memory_bytes = [](const Params &p, const Env &) {
			uint64_t size = static_cast<uint64_t>(p.integer("size"));
			return 2 * size + size / 256;
		};
	return s;
}

} /* namespace */

extern const ScenarioSpec cow_scenario;
const ScenarioSpec cow_scenario =
	cowScenario("cow", "parent writes SIZE after fork() while the child still shares it", true);

extern const ScenarioSpec cow_reuse_scenario;
const ScenarioSpec cow_reuse_scenario =
	cowScenario("cow_reuse", "parent writes SIZE after fork() once the child has exited", false);

} /* namespace pgt */
