/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Calls of one kernel function on every online CPU, whoever makes them: one kprobe-PMU
 * event per CPU (root only), or the function's tracepoint where the function cannot be
 * probed. For work the kernel hands to its own threads - vmalloc's lazy purge runs in a
 * kworker once enough lazily freed areas pile up - which the per-thread counters of
 * counters.h never see.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "counters.h"
#include "env.h"

namespace pgt {

class SystemWideProbe
{
public:
	/*
	 * `function` through the kprobe PMU, else `tracepoint` ("vmalloc:purge_vmap_area_lazy",
	 * "" for none) through tracefs. Never throws: an event that cannot be opened reads
	 * as unavailable, with the reason.
	 */
	SystemWideProbe(const Env &env, const std::string &name, const std::string &function,
			const std::string &tracepoint);
	~SystemWideProbe();
	SystemWideProbe(const SystemWideProbe &) = delete;
	SystemWideProbe &operator=(const SystemWideProbe &) = delete;

	void start();
	void stop();
	/* Calls since start() on all CPUs; kind "flush_site"; value nullopt with the reason. */
	CounterReading read() const;

private:
	CounterReading meta_;
	std::vector<int> fds_;
	std::vector<uint64_t> start_value_, start_enabled_, start_running_;
};

} /* namespace pgt */
