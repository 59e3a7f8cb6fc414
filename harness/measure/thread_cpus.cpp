// SPDX-License-Identifier: GPL-2.0
#include "thread_cpus.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sched.h>

#include <fmt/format.h>
#include <hwloc.h>

#include "errors.h"
#include "util.h"

namespace pgt {

namespace {

std::vector<int> affinityNow()
{
	cpu_set_t set;
	CPU_ZERO(&set);
	std::vector<int> cpus;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return cpus;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus.push_back(c);
	return cpus;
}

/*
 * Taken at static initialisation, before main() pins the measuring thread (a process's
 * only thread then, so its affinity is the process's).
 */
const std::vector<int> g_start_cpus = affinityNow();

bool toInt(std::string_view text, int &out)
{
	std::string s = trim(text);
	if (s.empty())
		return false;
	auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
	return ec == std::errc() && ptr == s.data() + s.size() && out >= 0;
}

} /* namespace */

std::vector<int> parseCpuList(std::string_view list)
{
	std::vector<int> cpus;
	std::string text = trim(list);
	if (text.empty())
		return cpus;
	for (const auto &part : split(text, ',')) {
		size_t dash = part.find('-');
		int lo = 0, hi = 0;
		if (dash == std::string::npos) {
			if (!toInt(part, lo))
				return {};
			hi = lo;
		} else if (!toInt(std::string_view(part).substr(0, dash), lo) ||
			   !toInt(std::string_view(part).substr(dash + 1), hi) || hi < lo) {
			return {};
		}
		for (int c = lo; c <= hi; c++)
			cpus.push_back(c);
	}
	std::sort(cpus.begin(), cpus.end());
	cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
	return cpus;
}

const std::vector<int> &startCpus()
{
	return g_start_cpus;
}

std::vector<int> chooseThreadCpus(const std::vector<int> &allowed, int first, unsigned n)
{
	if (n == 0 || allowed.size() < n)
		return {};
	std::vector<int> rest(allowed.rbegin(), allowed.rend());
	std::vector<int> chosen;
	auto it = std::find(rest.begin(), rest.end(), first);
	if (first >= 0 && it != rest.end()) {
		chosen.push_back(first);
		rest.erase(it);
	}
	for (int c : rest) {
		if (chosen.size() == n)
			break;
		chosen.push_back(c);
	}
	return chosen;
}

void bindThreadToCpu(int cpu)
{
	hwloc_topology_t topo;
	if (hwloc_topology_init(&topo) || hwloc_topology_load(topo))
		throw RuntimeError("hwloc: cannot load the topology");
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	hwloc_bitmap_only(set, static_cast<unsigned>(cpu));
	int rc = hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT);
	int saved = errno;
	hwloc_bitmap_free(set);
	hwloc_topology_destroy(topo);
	if (rc)
		throw RuntimeError(fmt::format("hwloc: cannot bind a thread to cpu {}: {}", cpu,
					       strerror(saved)));
}

} /* namespace pgt */
