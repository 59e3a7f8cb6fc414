/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The state of the machine that makes a benchmark noisy, for the CPU that measures:
 * its frequency policy, the SMT sibling sharing its core, whether it is isolated, who
 * else wants it, a terminal on stdout, and khugepaged/kcompactd working meanwhile -
 * plus the machine's topology and firmware identity, so two files from "the same"
 * machine can be told apart. Every fact is recorded in env ("noise", "topology",
 * "firmware"); runCautions() turns the bad ones into the run table's warnings.
 *
 * Like the rest of Env, everything is read under a root prefix, so fixture trees
 * drive the tests. A fact that cannot be read is nullopt (null in JSON), never a
 * default that looks like an answer.
 */
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgt {

struct Env;
struct KernelLogScan;

struct CpufreqState {
	bool available = false; /* the measuring CPU has a cpufreq policy */
	std::string reason;	/* why not */
	std::string governor;	/* scaling_governor; "" when unreadable */
	std::string driver;	/* scaling_driver */
	std::optional<bool> boost; /* boost/turbo on; nullopt: no control for it */
	/* Where boost was read, under /sys/devices/system/cpu: "cpufreq/boost", ... */
	std::string boost_control;
};

struct SmtState {
	std::optional<bool> active;	      /* smt/active */
	std::string control;		      /* smt/control: on, off, forceoff, notsupported, ... */
	std::optional<std::vector<int>> siblings; /* the measuring CPU's other (online) threads */
};

struct IsolationState {
	std::optional<bool> isolated;  /* in /sys/devices/system/cpu/isolated (isolcpus=) */
	std::optional<bool> nohz_full; /* in /sys/devices/system/cpu/nohz_full */
};

struct LoadState {
	std::optional<double> avg_1min, avg_5min, avg_15min; /* /proc/loadavg */
	std::optional<unsigned> runnable, tasks;	      /* its "2/345" */
	/* Tasks in state R whose last CPU is the measuring CPU, ours excluded. */
	std::optional<unsigned> others_runnable_on_cpu;
	std::optional<unsigned> online_cpus;
};

/*
 * What khugepaged and kcompactd have done so far (khugepaged_pages_collapsed,
 * khugepaged_full_scans, compact_daemon_wake, compact_stall, thp_collapse_alloc):
 * whichever this kernel has. Read at the start and the end of a run.
 */
using MmActivity = std::map<std::string, uint64_t>;

struct NoiseFacts {
	int cpu = -1;	    /* the measuring CPU; -1 unknown */
	std::string reason; /* why the per-CPU facts are unknown */
	CpufreqState cpufreq;
	SmtState smt;
	IsolationState isolation;
	LoadState load;
	std::optional<bool> stdout_is_terminal;
	std::string thp_defrag;		      /* transparent_hugepage/defrag; "" without THP */
	std::optional<bool> khugepaged_defrag; /* khugepaged/defrag */
	MmActivity activity;		      /* at the start */

	nlohmann::json toJson() const;
};

struct CpuTopology {
	int cpu = 0;
	std::optional<int> package_id;	    /* topology/physical_package_id */
	std::optional<int> cluster_id;	    /* topology/cluster_id */
	std::optional<unsigned> capacity;   /* cpu_capacity: arm64 big.LITTLE, 1024 = biggest */
};

struct TopologyInfo {
	unsigned numa_nodes = 1;
	std::vector<CpuTopology> cpus; /* ascending */

	nlohmann::json toJson() const;
};

struct FirmwareInfo {
	/* /sys/class/dmi/id: sys_vendor, product_name, ... bios_date; nullopt where missing. */
	std::map<std::string, std::optional<std::string>> dmi;
	/* /sys/devices/soc0: soc_id, family, machine, revision; empty without it. */
	std::map<std::string, std::optional<std::string>> soc;
	bool soc_present = false;

	nlohmann::json toJson() const;
};

/* The facts for `cpu` (-1: unknown), our own process `self_pid` left out of the load. */
NoiseFacts collectNoise(const std::string &root, int cpu, int self_pid);
MmActivity readMmActivity(const std::string &root);
/* end - start per counter in both (null where one lacks it or it went backwards). */
nlohmann::json activityDelta(const MmActivity &start, const MmActivity &end);
nlohmann::json activityJson(const MmActivity &activity);
TopologyInfo collectTopology(const std::string &root, unsigned numa_nodes);
FirmwareInfo collectFirmware(const std::string &root);

/* One task's /proc/<pid>/task/<tid>/stat, as far as the load needs it. */
struct TaskStat {
	int pid = 0;
	std::string comm;
	char state = '?';
	int processor = -1; /* field 39: the CPU it last ran on */
};
/* nullopt for anything that is not a stat line (comm may hold spaces and parentheses). */
std::optional<TaskStat> parseTaskStat(std::string_view line);

/* The run table's notes and warnings, most severe first in the order printed. */
enum class Severity { Note, Warning, Alarm };
/* "note", "warning", "WARNING": how the table prefixes each ("# warning: ..."). */
const char *severityName(Severity s);

struct Caution {
	Severity severity;
	std::string text;
	/* What it is about, for whoever takes care of it (run --tune): "governor", "boost"; "" */
	std::string topic = {};

	bool operator==(const Caution &o) const { return severity == o.severity && text == o.text; }
};

/*
 * What a reader of a run's numbers must know about the machine meanwhile: env.noise
 * (the measuring CPU's state at the start), env.virt, the activity counters at the end
 * (nullptr: not read) and the kernel log of the run (nullptr: not watched).
 */
std::vector<Caution> runCautions(const Env &env, const MmActivity *activity_end, const KernelLogScan *kernel_log);

} /* namespace pgt */
