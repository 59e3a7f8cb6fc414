// SPDX-License-Identifier: GPL-2.0
/*
 * Every scenario pgtbench knows. A scenario is one file in benches/ that defines a
 * `const ScenarioSpec <name>_scenario`, plus one line here.
 */
#include "scenario.h"

#define PGT_SCENARIOS(X)                                                                           \
	X(null)  /* the harness's own per-sample cost */                                           \
	X(fork)  /* fork() of a populated anonymous region, per folio order */                    \
	X(fault)  /* first touch of a fresh anonymous region, per folio order */                   \
	X(munmap) /* munmap() of a populated anonymous region, per folio order */                 \
	X(dontneed) /* one MADV_DONTNEED over the region */                                        \
	X(pte_dontneed) /* MADV_DONTNEED per base page */                                          \
	X(cow)    /* writes after fork() with the child alive */                                   \
	X(cow_reuse) /* writes after fork() with the child gone */                                 \
	X(remap)  /* PTE-remap of PMD-mapped THPs */                                               \
	X(mprotect) /* mprotect() of the whole region */                                           \
	X(mprotect_toggle) /* read-only / read-write mprotect() round trips */                      \
	X(lazyfree) /* one MADV_FREE over the region */                                            \
	X(lazyfree_reclaim) /* MADV_PAGEOUT of lazyfree folios */                                   \
	X(swapin) /* faults back from swap after MADV_PAGEOUT */                                   \
	X(munmap_swapped_forked) /* munmap() of swapped-out memory a child shares */               \
	X(reuse_byte) /* parent's writes after fork() and the child's exit */                      \
	X(child_reuse_byte) /* child's writes after fork() and the parent's exit */                \
	X(kmod_nop) /* ioctl round trip into pgtbench.ko */                                        \
	X(map_mem) /* arm64 linear-map creation replayed in pgtbench.ko */                         \
	X(vmalloc) /* test_vmalloc's cases in pgtbench.ko, from N pinned threads */                 \
	X(test_vmalloc) /* test_vmalloc.ko itself, its Summary lines from the kernel log */         \
	/* Add a new scenario here. */

namespace pgt {

#define PGT_DECLARE(name) extern const ScenarioSpec name##_scenario;
PGT_SCENARIOS(PGT_DECLARE)

const std::vector<const ScenarioSpec *> &scenarios()
{
#define PGT_ENTRY(name) &name##_scenario,
	static const std::vector<const ScenarioSpec *> all = {PGT_SCENARIOS(PGT_ENTRY)};
	return all;
}

} /* namespace pgt */
