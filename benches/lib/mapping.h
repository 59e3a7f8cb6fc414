/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A sample's proof of how its region was mapped: pgtbench.ko's PTE_WALK
 * (kmod/pgtbench_abi.h) over the region, recorded as the sample's "mapping" check
 * beside its "folio" one. pagemap and kpageflags say which folios back a region; only
 * the page table says whether a 64K folio got arm64's contiguous PTEs (contpte), a THP
 * a PMD block or, once PTE-remapped, 512 PTEs. Where the module is not loaded or has no
 * PTE_WALK, the check says so and why, and nothing is guessed.
 */
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "env.h"
#include "pgtbench_abi.h"

namespace pgt {

/* "" when a walk can be asked for here, else why not. */
std::string mappingUnavailable(const Env &env);

/* A walk's counts as the "mapping" check; `when` as the folio check's ("twin", "after"). */
nlohmann::json mappingJson(const pgtbench_pte_walk &w, const std::string &when);
/* The check of a sample whose mapping could not be read. */
nlohmann::json mappingNa(const std::string &reason);

/* [addr, addr + len) of this process, through the module: the in-process scenarios' check. */
nlohmann::json walkOwnMapping(const Env &env, uint64_t addr, uint64_t len, const std::string &when);

} /* namespace pgt */
