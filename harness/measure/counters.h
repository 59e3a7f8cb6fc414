/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters around a measured operation: PMU and software events named in libpfm4's
 * syntax ("cycles", "instructions", "arm_n1::L1D_TLB_REFILL", "perf::PAGE-FAULTS",
 * raw "r1234"), and calls of the kernel functions that issue TLB maintenance, counted
 * through the perf kprobe PMU ("tlb_flush_calls.<function>").
 *
 * What each number is matters: no arm64 CPU PMU counts TLBI instructions, so the
 * flush-site counts are calls of flush paths (one call may issue one TLBI, a range of
 * them, or a full-mm flush), never TLBI counts. A counter that cannot be opened, is
 * never scheduled, or reads zero where zero is impossible is reported unavailable with
 * the reason - never as a zero.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "env.h"

namespace pgt {

/* One perf_event fd read with PERF_FORMAT_TOTAL_TIME_ENABLED | _RUNNING; zeroes if short. */
struct RawRead {
	uint64_t value = 0, enabled = 0, running = 0;
};
RawRead readRaw(int fd);

struct CounterReading {
	std::string name;		/* metric name: "cycles", "tlb_flush_calls.tlb_finish_mmu" */
	std::string event;		/* what was asked for */
	std::string kind;		/* "hardware", "software", "flush_site" */
	std::optional<uint64_t> value;	/* nullopt: unavailable, see reason */
	std::string reason;
	uint64_t time_enabled_ns = 0;
	uint64_t time_running_ns = 0;	/* < enabled: multiplexed, value is scaled */
	bool in_group = false;

	nlohmann::json toJson() const;
};

/* The default TLB flush sites: kernel functions through which page-table code flushes. */
std::vector<std::string> defaultFlushSites(const std::string &arch);
/* The default PMU events: cycles, instructions, page faults, and the TLB refill/walk
 * events of the CPU models libpfm4 detected. */
std::vector<std::string> defaultEvents(const Env &env);
/* "arm_n1::L1D_TLB_REFILL" -> "l1d_tlb_refill"; "perf::PAGE-FAULTS" -> "page_faults". */
std::string counterName(const std::string &event);

class Counters
{
public:
	struct Options {
		bool inherit = false; /* also count in children created while counting */
	};
	Counters(const std::vector<std::string> &events, const std::vector<std::string> &flush_sites,
		 const Env &env, Options options);
	~Counters();
	Counters(const Counters &) = delete;
	Counters &operator=(const Counters &) = delete;

	void start();
	/*
	 * start() without enabling: for a bracket whose counters another process (the
	 * fork subject, which inherited them) enables and disables around the operation.
	 */
	void arm();
	/* The fds to enable and disable, and whether each leads a group. */
	std::vector<std::pair<int, bool>> leaders() const;
	void stop();
	/* Values since the last start(); unavailable counters carry their reason. */
	std::vector<CounterReading> read() const;
	bool empty() const { return counters_.empty(); }

private:
	struct Counter {
		CounterReading meta;
		int fd = -1;
		int leader = -1; /* group leader fd, or -1 */
		uint64_t start_value = 0;
	};
	std::vector<Counter> counters_;
	int group_fd_ = -1;
};

/*
 * Events of PMUs that libpfm4 does not model, in perf's "pmu/event/" syntax, encoded
 * from sysfs (events/<name> + format/<field>). Exposed for the tests.
 */
struct SysfsEvent {
	uint32_t type = 0;
	uint64_t config = 0, config1 = 0, config2 = 0;
	int cpu = -1;	  /* uncore PMUs count system-wide on the CPU their cpumask names */
	std::string error; /* non-empty: cannot be encoded, and why */
};
SysfsEvent encodeSysfsEvent(const std::string &root, const std::string &spec);

/*
 * The hardware view of broadcast TLB invalidation: the DVM-operation event of each Arm
 * CMN mesh PMU (CMN-600: dn_rxreq_dvmop, CMN-650 and later: dn_dvmop_tlbi), as
 * "arm_cmn_0/dn_rxreq_dvmop/". Empty where there is no CMN PMU (VMs, most machines).
 */
std::vector<std::string> cmnDvmEvents(const std::string &root);

/*
 * What `pgtbench events` lists: libpfm4's PMU models present here and their events
 * (all, or the TLB/cycle/instruction/fault ones), the mesh DVM events, the flush sites:
 * {"libpfm4": bool, "pmus": [{"name", "description", "events_total", "events": ["PMU::EVENT"]}],
 *  "mesh_dvm": {"events", "reason"}, "flush_sites": [{"site", "probeable", "reason"}]}.
 * `events --json` prints the document; the text form is printed from it.
 */
nlohmann::ordered_json eventsJson(const Env &env, bool all);
std::string formatEvents(const nlohmann::ordered_json &doc);

} /* namespace pgt */
