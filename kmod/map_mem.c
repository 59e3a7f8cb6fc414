// SPDX-License-Identifier: GPL-2.0
/*
 * PGTBENCH_IOC_MAP_MEM_REPLAY: arm64's boot-time linear-map construction, replayed.
 */
#include <linux/errno.h>

#include "pgtbench_internal.h"

const u64 pgtbench_map_mem_caps;	/* not implemented yet */

long pgtbench_cmd_map_mem_replay(void *arg)
{
	return -EOPNOTSUPP;
}
