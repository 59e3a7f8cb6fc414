// SPDX-License-Identifier: GPL-2.0
#include "mapping.h"

#include <cstring>

#include <fmt/format.h>

#include "errors.h"
#include "kmod.h"

namespace pgt {

std::string mappingUnavailable(const Env &env)
{
	return kmodMissing(env.kmod, KmodCap::PteWalk);
}

nlohmann::json mappingJson(const pgtbench_pte_walk &w, const std::string &when)
{
	return {{"available", true},
		{"source", "module"},
		{"when", when},
		{"length_bytes", w.length},
		{"pud_blocks", w.pud_blocks},
		{"pmd_blocks", w.pmd_blocks},
		{"cont_blocks", w.cont_blocks},
		{"pud_pages", w.pud_pages},
		{"pmd_pages", w.pmd_pages},
		{"cont_pages", w.cont_pages},
		{"pte_pages", w.pte_pages},
		{"absent_pages", w.absent_pages},
		{"cont_ptes", w.cont_ptes},
		{"walk_ns", w.total_ns}};
}

nlohmann::json mappingNa(const std::string &reason)
{
	return {{"available", false}, {"source", "module"}, {"reason", reason}};
}

nlohmann::json walkOwnMapping(const Env &env, uint64_t addr, uint64_t len, const std::string &when)
{
	if (std::string why = mappingUnavailable(env); !why.empty())
		return mappingNa(why);
	auto kmod = requireKmod(env, KmodCap::PteWalk);
	pgtbench_pte_walk w{};
	w.start = addr;
	w.length = len;
	if (int err = kmod->ioctl(PGTBENCH_IOC_PTE_WALK, &w))
		throw RuntimeError(fmt::format("pgtbench.ko PTE_WALK: {}", strerror(-err)));
	return mappingJson(w, when);
}

} /* namespace pgt */
