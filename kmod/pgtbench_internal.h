/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pgtbench_internal.h - what the module's source files share; not part of the ABI.
 *
 * One file per command (map_mem.c, vmalloc_storm.c, pte_walk.c), dispatched from pgtbench.c. Each
 * command validates its whole argument before doing anything, so -EINVAL never leaves
 * work half done.
 */
#ifndef PGTBENCH_INTERNAL_H
#define PGTBENCH_INTERNAL_H

#include <linux/string.h>
#include <linux/types.h>

#include "pgtbench_abi.h"
#include "pgtbench_marker.h"

/*
 * Around the part of a command the module times itself, so that an emulator counting
 * the caller's window (qemu-plugin) also reports this part alone: one no-op `orr`
 * instruction each (pgtbench_marker.h), nothing at all on other architectures.
 */
#ifdef CONFIG_ARM64
#define pgtbench_module_begin() asm volatile(PGTBENCH_MARKER_MODULE_BEGIN_ASM ::: "memory")
#define pgtbench_module_end() asm volatile(PGTBENCH_MARKER_MODULE_END_ASM ::: "memory")
#else
#define pgtbench_module_begin() do { } while (0)
#define pgtbench_module_end() do { } while (0)
#endif

/* Reserved fields are how the ABI grows: anything but zero in them is refused. */
static inline bool pgtbench_reserved_ok(const void *reserved, size_t size)
{
	return !memchr_inv(reserved, 0, size);
}

long pgtbench_cmd_map_mem_replay(void *arg);	/* map_mem.c */
long pgtbench_cmd_vmalloc_storm(void *arg);	/* vmalloc_storm.c */
long pgtbench_cmd_pte_walk(void *arg);		/* pte_walk.c */

/* The PGTBENCH_CAP_* bit each of them contributes to pgtbench_info.caps (0 if not built). */
extern const u64 pgtbench_map_mem_caps;
extern const u64 pgtbench_vmalloc_caps;
extern const u64 pgtbench_pte_walk_caps;

#endif /* PGTBENCH_INTERNAL_H */
