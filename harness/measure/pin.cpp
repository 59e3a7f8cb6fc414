// SPDX-License-Identifier: GPL-2.0
#include "pin.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <hwloc.h>

#include "errors.h"

namespace pgt {

namespace {

/* The CPUs this process may run on (its binding, else the topology's allowed set). */
hwloc_bitmap_t allowedCpus(hwloc_topology_t topo)
{
	hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
	if (hwloc_get_cpubind(topo, allowed, HWLOC_CPUBIND_PROCESS) || hwloc_bitmap_iszero(allowed))
		hwloc_bitmap_copy(allowed, hwloc_topology_get_allowed_cpuset(topo));
	return allowed;
}

} /* namespace */

int defaultCpu()
{
	hwloc_topology_t topo;
	if (hwloc_topology_init(&topo))
		return -1;
	int cpu = -1;
	if (hwloc_topology_load(topo) == 0) {
		hwloc_bitmap_t allowed = allowedCpus(topo);
		cpu = hwloc_bitmap_last(allowed);
		hwloc_bitmap_free(allowed);
	}
	hwloc_topology_destroy(topo);
	return cpu;
}

int pinThread(int cpu)
{
	hwloc_topology_t topo;
	if (hwloc_topology_init(&topo) || hwloc_topology_load(topo))
		throw RuntimeError("hwloc: cannot load the topology");
	hwloc_bitmap_t allowed = allowedCpus(topo);
	int chosen = cpu < 0 ? hwloc_bitmap_last(allowed) : cpu;
	std::string err;
	if (chosen < 0 || !hwloc_bitmap_isset(allowed, static_cast<unsigned>(chosen))) {
		char *list = nullptr;
		hwloc_bitmap_list_asprintf(&list, allowed);
		err = fmt::format("cpu {} is not available to this process (allowed: {})", chosen,
				  list ? list : "?");
		free(list);
	} else {
		hwloc_bitmap_t set = hwloc_bitmap_alloc();
		hwloc_bitmap_only(set, static_cast<unsigned>(chosen));
		int rc = hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT);
		int saved = errno;
		hwloc_bitmap_free(set);
		if (rc) {
			hwloc_bitmap_free(allowed);
			hwloc_topology_destroy(topo);
			throw RuntimeError(fmt::format("hwloc: cannot bind to cpu {}: {}", chosen,
						       strerror(saved)));
		}
	}
	hwloc_bitmap_free(allowed);
	hwloc_topology_destroy(topo);
	if (!err.empty())
		throw UsageError(err);
	return chosen;
}

} /* namespace pgt */
