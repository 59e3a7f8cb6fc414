/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pgtbench_internal.h - what the module's source files share; not part of the ABI.
 *
 * One file per command (map_mem.c, vmalloc_storm.c), dispatched from pgtbench.c. Each
 * command validates its whole argument before doing anything, so -EINVAL never leaves
 * work half done.
 */
#ifndef PGTBENCH_INTERNAL_H
#define PGTBENCH_INTERNAL_H

#include <linux/string.h>
#include <linux/types.h>

#include "pgtbench_abi.h"

/* Reserved fields are how the ABI grows: anything but zero in them is refused. */
static inline bool pgtbench_reserved_ok(const void *reserved, size_t size)
{
	return !memchr_inv(reserved, 0, size);
}

long pgtbench_cmd_map_mem_replay(void *arg);	/* map_mem.c */
long pgtbench_cmd_vmalloc_storm(void *arg);	/* vmalloc_storm.c */

/* The PGTBENCH_CAP_* bit each of them contributes to pgtbench_info.caps (0 if not built). */
extern const u64 pgtbench_map_mem_caps;
extern const u64 pgtbench_vmalloc_caps;

#endif /* PGTBENCH_INTERNAL_H */
