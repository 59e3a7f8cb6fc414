// SPDX-License-Identifier: GPL-2.0
/*
 * PGTBENCH_IOC_VMALLOC_STORM: lib/test_vmalloc.c's cases, with structured results.
 */
#include <linux/errno.h>

#include "pgtbench_internal.h"

const u64 pgtbench_vmalloc_caps;	/* not implemented yet */

long pgtbench_cmd_vmalloc_storm(void *arg)
{
	return -EOPNOTSUPP;
}
