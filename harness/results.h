/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The results file, its one writer and its one reader.
 *
 * Layout: Google Benchmark's JSON ("context" + "benchmarks", so its tools/compare.py
 * reads it) extended with "pgtbench" (env snapshot, config, label) and "entries" (per
 * variant: parameters, every raw sample, checks, units). results/README.md and
 * results/schema.json document it.
 *
 * Everything that writes a results file hands a RunRecord to writeResultsFile(): `run`
 * (from the runner's variants) and `import` (a samples document from tools that measure
 * elsewhere, such as tools/boot-map-mem, and the test fixtures). Everything that reads
 * one goes through loadResultsFile(). So a variant's name, its summaries and the label
 * rules exist once, here, and this file depends on nothing that measures.
 */
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgt {

constexpr int kSchemaVersion = 1;

enum class Status { Ok, Skipped, Error };
/* "ok", "skipped", "error": the words the file and the tables use. */
const char *statusName(Status status);
std::optional<Status> parseStatus(const std::string &name);
/* A run's exit code: 1 when a variant failed, 4 when every one was skipped (kselftest's SKIP), else 0. */
int exitCodeOf(const std::vector<Status> &statuses);

/* Labels name files and table rows: 1-64 of A-Z a-z 0-9 . _ + -; UsageError otherwise. */
void checkLabel(const std::string &label);
/* The default label: the kernel release, made safe for file names. */
std::string labelFromKernel(const std::string &release);

/* A variant's parameters as the file holds them: sizes in bytes under "<name>_bytes". */
using RecordParams = std::vector<std::pair<std::string, nlohmann::json>>;
/* "fork" + {size_bytes: 1G, order: 9, map: pte} -> "fork/size:1G/order:9/map:pte" */
std::string recordName(const std::string &scenario, const RecordParams &params);
/* "size_bytes": 1073741824 -> "size", "1G"; "order": 9 -> "order", "9". */
std::string paramDisplayName(const std::string &key);
std::string paramDisplayValue(const std::string &key, const nlohmann::json &value);

/* --- what is written ------------------------------------------------------------ */

struct MetricRecord {
	std::string name; /* carries its unit: fork_ms */
	std::string unit;
	bool lower_is_better = true;
	std::vector<double> samples;
};

/* Where a counter's figures came from (results/schema.json's counter kinds). */
inline const std::vector<std::string> kCounterKinds = {"hardware", "software", "flush_site", "emulator"};

/*
 * What named a machine (results/schema.json's env.platform.source), in the order of
 * harness/measure/platform.h's PlatformSource.
 */
inline const std::vector<std::string> kPlatformSources = {"override", "ec2",  "dmi", "soc0",
							   "devicetree", "midr", "cpu"};

/* One counter across a variant's repetitions. */
struct CounterRecord {
	std::string event;
	std::string kind;
	std::vector<std::optional<uint64_t>> samples; /* nullopt where unavailable */
	std::string reason;			      /* last reason it was unavailable */
	uint64_t time_enabled_ns = 0, time_running_ns = 0;
	bool in_group = false;

	bool available() const;
};

struct VariantRecord {
	std::string scenario;
	RecordParams params;
	Status status = Status::Ok;
	std::string reason;
	int reps = 0, warmup = 0, cpu = -1;
	std::vector<MetricRecord> metrics; /* the first is the primary metric */
	nlohmann::json knobs_changed = nlohmann::json::array();
	std::vector<std::pair<std::string, CounterRecord>> counters;
	std::vector<nlohmann::json> checks; /* one per repetition */
	/* Per repetition, the emulator window of each timed bracket (counter prefix -> k). */
	std::vector<std::map<std::string, uint64_t>> emu_windows;
	nlohmann::json extra = nlohmann::json::object(); /* more fields of the entry (boots) */
	/* Merged runs: per repetition, the index of the run it came from (RunRecord::runs). */
	std::vector<int> sample_runs;

	std::string name() const { return recordName(scenario, params); }
};

struct RunRecord {
	/*
	 * Google Benchmark's output: its "context". The file's "benchmarks" records are
	 * the writer's, made from the variants' samples (results.cpp).
	 */
	nlohmann::json gbench;
	std::string label;
	std::string version; /* empty: this pgtbench's */
	std::string created_utc; /* empty: now */
	std::vector<std::string> command_line;
	int cpu = -1;
	nlohmann::json config = nlohmann::json::object();
	nlohmann::json env = nlohmann::json::object();
	/* The emulator session the windows belong to (emu_window.h); "" without markers. */
	std::string emu_session;
	/* Merged files: one object per run merged (its file, date, command line); [] otherwise. */
	nlohmann::json runs = nlohmann::json::array();
	/* What the kernel logged of trouble during the run (kernel_log.h); null: not watched. */
	nlohmann::json kernel_log;
	/* The end of the run's mm activity counters and their change since env.noise; null: not read. */
	nlohmann::json noise_after;
	std::vector<VariantRecord> variants;

	int exitCode() const; /* exitCodeOf() its variants */
};

nlohmann::json resultsJson(const RunRecord &run);
/*
 * Write through a temporary file in the same directory and rename() it into place,
 * so a reader (or a crash) never sees a truncated results file.
 */
void writeResultsFile(const std::string &path, const RunRecord &run);
void writeJsonAtomic(const std::string &path, const nlohmann::json &doc);
/* A counter as the results file holds it (samples, summary, availability). */
nlohmann::json counterJson(const CounterRecord &c);
/* results/<label>-<UTC timestamp>.json */
std::string defaultResultsPath(const std::string &label);

/*
 * A samples document (what `pgtbench import` reads: results/README.md) as a RunRecord;
 * UsageError "<path>: <field>: <what>" for anything malformed.
 */
RunRecord parseSamplesDocument(const nlohmann::ordered_json &doc, const std::string &path);

/* --- several runs of one config into one file (results_merge.cpp) -------------------- */

/*
 * The results files of several runs of one config on one kernel (the boots of a stage)
 * as one RunRecord: samples concatenated in input order, each repetition keeping the
 * index of its run (VariantRecord::sample_runs -> RunRecord::runs, which carries
 * runs_info[i]'s members when runs_info is not null). UsageError "<path>: <what>" when
 * a file does not read or its label, kernel, arch or entries differ from the first's.
 */
RunRecord mergeResultsFiles(const std::vector<std::string> &paths, const nlohmann::json &runs_info,
			    const std::vector<std::string> &command_line);

/* --- the emulator's counts (results_emu.cpp) --------------------------------------- */

/* qemu-plugin/count.c's window log, read and checked. */
struct EmuWindowLog {
	std::string path;
	nlohmann::json start; /* its first line: plugin API, vCPUs */
	std::set<std::string> sessions;
	/* (session, ordinal) -> counter names without "emu." (tlbi.vale1is, insn_el1...) */
	std::map<std::pair<std::string, uint64_t>, std::vector<std::pair<std::string, uint64_t>>> windows;
	std::map<std::string, std::vector<std::string>> errors; /* per session */
	bool complete = false; /* qemu exited normally: the log has its last line */
};
/* UsageError "<path>: <what>" for anything but a window log of this format version. */
EmuWindowLog readEmuWindowLog(const std::string &path);
/*
 * A results document with every entry's windows added as counters of kind "emulator"
 * ([prefix]emu.<name>); UsageError "<path>: <what>" when a window is missing, the log
 * holds no such session, or the result would not read back.
 */
nlohmann::json mergeEmuCounts(nlohmann::json doc, const EmuWindowLog &log, const std::string &path);

/* --- what is read --------------------------------------------------------------- */

/* What compare needs of a results file (results/schema.json); the rest stays in json. */
struct ResultsMetric {
	std::string unit;
	bool lower_is_better = true;
	std::vector<double> samples;
	std::string reason; /* why there are no samples (an unavailable counter) */
	std::string kind;   /* a counter's kind ("emulator": counted by qemu, not hardware); "" */
};

struct RecordedVariant {
	std::string name; /* "fork/size:1G/order:9/map:pte" */
	std::string scenario;
	Status status = Status::Ok;
	std::string reason;
	std::string primary_metric;
	/* Parameters in the order the name lists them (the scenario's declaration order). */
	RecordParams params;
	/*
	 * Metric names, primary first, then as the file lists them, then the entry's
	 * counters (cycles, tlb_flush_calls.<site>): a count is compared like any metric,
	 * fewer being better.
	 */
	std::vector<std::string> metric_order;
	std::map<std::string, ResultsMetric> metrics;
	/*
	 * Per repetition, its place among its run's repetitions and (merged files) its run;
	 * empty where the file does not say (older files, imports).
	 */
	std::vector<int> run_order, sample_runs;

	const nlohmann::json *param(const std::string &key) const;
	bool ok() const { return status == Status::Ok; }
};

/* "Apple M2" / "VM 16G": the two lines a column header gives a machine. */
struct MachineName {
	std::string cpu;  /* the platform: "Ampere Altra", or the CPU where none is known */
	std::string kind; /* "VM 16G", "Metal 512G", "16G" when it is not known which */
	/* What named it (env.platform): "dmi", "soc0", ... "cpu"; "DMI sys_vendor ..." */
	std::string source, evidence;
	/*
	 * Tells apart machines that a name alone would not: empty for a known platform
	 * (its name says which); for one named by its CPU, its DMI vendor and product and
	 * SoC ID as the file recorded them.
	 */
	std::string firmware;

	std::string full() const { return kind.empty() ? cpu : cpu + " " + kind; }
	/* The same name and the same platform: one machine in a table. */
	bool sameMachine(const MachineName &o) const { return full() == o.full() && firmware == o.firmware; }
};

/* pgtbench.kernel_log: what the kernel logged of trouble during the run. */
struct RecordedKernelLog {
	bool available = false;
	std::string reason;
	std::vector<std::string> lines;
	unsigned warnings = 0; /* reports among the lines */
	bool lost = false;
};

struct ResultsFile {
	std::string path;
	std::string label;
	std::string kernel; /* env.kernel.release */
	std::string arch;
	MachineName machine;
	nlohmann::json env;
	std::string created_utc;
	std::optional<RecordedKernelLog> kernel_log; /* files before it have none */
	std::vector<RecordedVariant> entries;
};

/* A JSON file (json or ordered_json); UsageError "<path>: cannot read: ..." or "not JSON (byte N)". */
template <class Json> Json readJsonFile(const std::string &path);

/* Reads and checks one results file; UsageError "<path>: <where>: <what>" when unusable. */
ResultsFile loadResultsFile(const std::string &path);
ResultsFile parseResultsFile(const nlohmann::json &doc, const std::string &path);

/*
 * Short, stable names for a results file's machine, like the seeds' "M2 VM 16G" and
 * "Altra Metal 512G": the platform env.platform names (the CPU without marketing noise
 * in files recorded before it), VM or Metal, and MemTotal rounded up to the memory
 * size it came from.
 */
MachineName machineName(const nlohmann::json &env);
std::string shortCpuName(const std::string &model);
/* A machine named by its CPU: shortCpuName(), said whose when the CPU has no name. */
std::string cpuMachineName(const std::string &model, const std::string &hypervisor);
/* MemTotal is what the kernel left after its reservations: 527937536 kB -> "512G". */
std::string installedMemory(uint64_t mem_total_bytes);

} /* namespace pgt */
