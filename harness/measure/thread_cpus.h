/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPUs for a scenario's own worker threads, each pinned with hwloc to a CPU of its own
 * (the vmalloc storm's N concurrent callers, test_vmalloc's nr_threads).
 *
 * pinThread() (pin.h) cannot place them: it checks a CPU against the CPUs the process is
 * bound to *now*, and by the time a scenario runs the measuring thread is pinned to one
 * CPU, which makes that set a single CPU. The set the process started with is kept here
 * instead, taken before main() runs.
 */
#pragma once

#include <string_view>
#include <vector>

namespace pgt {

/* "0-3,8,10-11" (the kernel's cpulist format) -> {0,1,2,3,8,10,11}; empty on bad input. */
std::vector<int> parseCpuList(std::string_view list);

/* The CPUs this process was allowed to run on when it started, ascending. */
const std::vector<int> &startCpus();

/*
 * CPUs for n threads, one each: `first` (the measuring thread's CPU, where the harness
 * already runs every other scenario) for thread 0, then the other allowed CPUs from the
 * highest down (CPU 0 usually takes more interrupts). first < 0 or not allowed: start
 * from the highest. Empty when fewer than n CPUs are allowed, or n is 0.
 */
std::vector<int> chooseThreadCpus(const std::vector<int> &allowed, int first, unsigned n);

/* Bind the calling thread to `cpu` with hwloc; throws RuntimeError when that fails. */
void bindThreadToCpu(int cpu);

} /* namespace pgt */
