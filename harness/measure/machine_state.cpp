// SPDX-License-Identifier: GPL-2.0
#include "machine_state.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "env.h"
#include "kernel_log.h"
#include "thread_cpus.h"
#include "util.h"

namespace pgt {

namespace {

using nlohmann::json;

template <class T> json orNull(const std::optional<T> &v)
{
	return v ? json(*v) : json(nullptr);
}

std::optional<uint64_t> toU64(std::string_view text)
{
	std::string s = trim(text);
	uint64_t v = 0;
	auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	if (s.empty() || ec != std::errc() || ptr != s.data() + s.size())
		return std::nullopt;
	return v;
}

bool isNumber(std::string_view s)
{
	return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string cpuDir(const std::string &root, int cpu)
{
	return rooted(root, fmt::format("/sys/devices/system/cpu/cpu{}", cpu));
}

bool contains(const std::vector<int> &v, int x)
{
	return std::find(v.begin(), v.end(), x) != v.end();
}

CpufreqState readCpufreq(const std::string &root, int cpu)
{
	CpufreqState f;
	std::string sys = rooted(root, "/sys/devices/system/cpu");
	std::string policy = cpuDir(root, cpu) + "/cpufreq";
	auto governor = readLine(policy + "/scaling_governor");
	if (!governor) {
		/* VMs and some boards have no cpufreq driver: the firmware or the host sets the clock. */
		f.reason = listDir(policy).empty()
				   ? fmt::format("no cpufreq driver for CPU {}: the firmware or the hypervisor sets its clock", cpu)
				   : fmt::format("cannot read {}/scaling_governor", policy);
	} else {
		f.available = true;
		f.governor = trim(*governor);
		f.driver = trim(readLine(policy + "/scaling_driver").value_or(""));
	}
	/* Per-policy boost (amd-pstate, 6.x), the global switch, or intel_pstate's inverse. */
	struct {
		std::string path, control;
		bool inverted;
	} controls[] = {
		{policy + "/boost", fmt::format("cpu{}/cpufreq/boost", cpu), false},
		{sys + "/cpufreq/boost", "cpufreq/boost", false},
		{sys + "/intel_pstate/no_turbo", "intel_pstate/no_turbo", true},
	};
	for (const auto &c : controls) {
		if (auto v = readInt(c.path)) {
			f.boost = c.inverted ? *v == 0 : *v != 0;
			f.boost_control = c.control;
			break;
		}
	}
	return f;
}

SmtState readSmt(const std::string &root, int cpu)
{
	SmtState s;
	if (auto active = readInt(rooted(root, "/sys/devices/system/cpu/smt/active")))
		s.active = *active != 0;
	s.control = trim(readLine(rooted(root, "/sys/devices/system/cpu/smt/control")).value_or(""));
	if (cpu < 0)
		return s;
	/* Offline threads are not in the list: what is left shares the core now. */
	if (auto list = readLine(cpuDir(root, cpu) + "/topology/thread_siblings_list")) {
		std::vector<int> siblings = parseCpuList(*list);
		if (!siblings.empty() || trim(*list).empty()) {
			std::erase(siblings, cpu);
			s.siblings = siblings;
		}
	}
	return s;
}

std::optional<bool> cpuInList(const std::string &path, int cpu)
{
	auto list = readLine(path);
	if (!list || cpu < 0)
		return std::nullopt;
	/* "" when none; nohz_full says "(null)" when the kernel has no such mask. */
	return contains(parseCpuList(*list), cpu);
}

/*
 * Tasks in state R that last ran on `cpu`, not counting the threads of self_pid;
 * nullopt when no other process is visible (proc mounted hidepid=, a fixture without).
 */
std::optional<unsigned> otherRunnableTasks(const std::string &root, int cpu, int self_pid)
{
	unsigned n = 0;
	bool seen = false;
	std::string proc = rooted(root, "/proc");
	for (const auto &pid : listDir(proc)) {
		if (!isNumber(pid) || pid == std::to_string(self_pid))
			continue;
		seen = true;
		std::string tasks = proc + "/" + pid + "/task";
		for (const auto &tid : listDir(tasks)) {
			if (!isNumber(tid))
				continue;
			/* A task may exit between the listing and the read: it no longer runs. */
			auto stat = readLine(tasks + "/" + tid + "/stat");
			auto t = stat ? parseTaskStat(*stat) : std::nullopt;
			if (t && t->state == 'R' && t->processor == cpu)
				n++;
		}
	}
	return seen ? std::optional<unsigned>(n) : std::nullopt;
}

LoadState readLoad(const std::string &root, int cpu, int self_pid)
{
	LoadState l;
	/* "0.52 0.40 0.31 2/345 12345" */
	if (auto line = readLine(rooted(root, "/proc/loadavg"))) {
		std::istringstream in(*line);
		double a1, a5, a15;
		std::string counts;
		if (in >> a1 >> a5 >> a15 >> counts) {
			l.avg_1min = a1;
			l.avg_5min = a5;
			l.avg_15min = a15;
			auto slash = counts.find('/');
			auto r = toU64(counts.substr(0, slash));
			auto t = slash == std::string::npos ? std::nullopt : toU64(counts.substr(slash + 1));
			if (r && t) {
				l.runnable = static_cast<unsigned>(*r);
				l.tasks = static_cast<unsigned>(*t);
			}
		}
	}
	std::vector<int> online = parseCpuList(readLine(rooted(root, "/sys/devices/system/cpu/online")).value_or(""));
	if (!online.empty())
		l.online_cpus = static_cast<unsigned>(online.size());
	if (cpu >= 0)
		l.others_runnable_on_cpu = otherRunnableTasks(root, cpu, self_pid);
	return l;
}

std::optional<std::string> readValue(const std::string &path)
{
	auto line = readLine(path);
	if (!line)
		return std::nullopt;
	return trim(*line);
}

json stringMap(const std::map<std::string, std::optional<std::string>> &m)
{
	json j = json::object();
	for (const auto &[k, v] : m)
		j[k] = orNull(v);
	return j;
}

void addCaution(std::vector<Caution> &out, Severity s, std::string text, std::string topic = {})
{
	out.push_back({s, std::move(text), std::move(topic)});
}

void cpuCautions(std::vector<Caution> &out, const NoiseFacts &n)
{
	const int c = n.cpu;
	if (n.cpufreq.available && !n.cpufreq.governor.empty() && n.cpufreq.governor != "performance")
		addCaution(out, Severity::Warning,
			   fmt::format("cpufreq governor {} on CPU {}: frequency changes under the benchmark "
				       "(performance: echo performance > /sys/devices/system/cpu/cpu{}/cpufreq/scaling_governor)",
				       n.cpufreq.governor, c, c),
			   "governor");
	if (n.cpufreq.boost.value_or(false)) {
		bool turbo = n.cpufreq.boost_control.ends_with("no_turbo");
		addCaution(out, Severity::Warning,
			   fmt::format("{} is on: the clock follows temperature and the other cores' load "
				       "(off: echo {} > /sys/devices/system/cpu/{})",
				       turbo ? "turbo" : "cpufreq boost", turbo ? 1 : 0, n.cpufreq.boost_control),
			   "boost");
	}
	if (n.smt.siblings && !n.smt.siblings->empty())
		addCaution(out, Severity::Warning,
			   fmt::format("CPU {} shares its core with CPU {} (SMT): whatever runs there slows the "
				       "benchmark (off: echo off > /sys/devices/system/cpu/smt/control)",
				       c, fmt::join(*n.smt.siblings, ",")));
	if (n.isolation.isolated && !*n.isolation.isolated)
		addCaution(out, Severity::Note,
			   fmt::format("CPU {} is not isolated (isolcpus=, nohz_full=): other tasks and the tick "
				       "may run there",
				       c));
	std::vector<std::string> load;
	if (n.load.others_runnable_on_cpu.value_or(0) > 0)
		load.push_back(fmt::format("{} other runnable task{} last ran on CPU {}", *n.load.others_runnable_on_cpu,
					   *n.load.others_runnable_on_cpu == 1 ? "" : "s", c));
	if (n.load.avg_1min && n.load.online_cpus && *n.load.avg_1min > 0.5 * *n.load.online_cpus)
		load.push_back(fmt::format("1-min load average {:.2f} on {} online CPUs", *n.load.avg_1min,
					   *n.load.online_cpus));
	if (!load.empty())
		addCaution(out, Severity::Warning,
			   fmt::format("{}: the benchmark competes for the CPU", fmt::join(load, ", ")));
}

void mmCautions(std::vector<Caution> &out, const NoiseFacts &n, const MmActivity *end)
{
	if (n.thp_defrag == "always")
		addCaution(out, Severity::Warning,
			   "THP defrag is \"always\": faults that want a THP stall in direct reclaim and compaction "
			   "(madvise: echo madvise > /sys/kernel/mm/transparent_hugepage/defrag)");
	if (!end)
		return;
	std::vector<std::string> moved;
	for (const auto &[name, value] : *end) {
		auto it = n.activity.find(name);
		if (it != n.activity.end() && value > it->second)
			moved.push_back(fmt::format("{} +{}", name, value - it->second));
	}
	if (!moved.empty())
		addCaution(out, Severity::Warning,
			   fmt::format("khugepaged/compaction at work during the run ({}): they take CPU time and "
				       "change the memory being measured",
				       fmt::join(moved, ", ")));
}

void kernelLogCautions(std::vector<Caution> &out, const KernelLogScan *log)
{
	if (!log)
		return;
	if (!log->lines.empty()) {
		unsigned n = log->warnings();
		addCaution(out, Severity::Alarm,
			   fmt::format("the kernel logged {} warning{} during the run (first: {}): these results may "
				       "not be trustworthy",
				       n, n == 1 ? "" : "s", log->first()));
	}
	if (log->lost)
		addCaution(out, Severity::Warning,
			   "kernel log records were overwritten during the run before they were read: a warning "
			   "may be missing");
	if (!log->available)
		addCaution(out, Severity::Note,
			   fmt::format("kernel log not watched ({}): a warning during the run would go unnoticed",
				       log->reason));
}

} /* namespace */

std::optional<TaskStat> parseTaskStat(std::string_view line)
{
	/* "pid (comm) S ppid ...": comm is whatever the task calls itself, ")" included. */
	size_t open = line.find(" (");
	size_t close = line.rfind(')');
	if (open == std::string_view::npos || close == std::string_view::npos || close < open)
		return std::nullopt;
	TaskStat t;
	auto [p, ec] = std::from_chars(line.data(), line.data() + open, t.pid);
	if (ec != std::errc() || p != line.data() + open)
		return std::nullopt;
	t.comm = std::string(line.substr(open + 2, close - open - 2));
	std::istringstream in{std::string(line.substr(close + 1))};
	std::string field;
	/* Fields 3 (state) .. 39 (processor). */
	for (int i = 3; i <= 39 && in >> field; i++) {
		if (i == 3) {
			if (field.size() != 1)
				return std::nullopt;
			t.state = field[0];
		} else if (i == 39) {
			auto [q, e] = std::from_chars(field.data(), field.data() + field.size(), t.processor);
			if (e != std::errc() || q != field.data() + field.size())
				return std::nullopt;
			return t;
		}
	}
	return std::nullopt;
}

MmActivity readMmActivity(const std::string &root)
{
	MmActivity a;
	std::string khugepaged = rooted(root, "/sys/kernel/mm/transparent_hugepage/khugepaged");
	for (const char *name : {"pages_collapsed", "full_scans"})
		if (auto line = readLine(khugepaged + "/" + name))
			if (auto v = toU64(*line))
				a[std::string("khugepaged_") + name] = *v;
	std::istringstream vmstat(readFile(rooted(root, "/proc/vmstat")).value_or(""));
	std::string key, value;
	while (vmstat >> key >> value)
		if (key == "compact_daemon_wake" || key == "compact_stall" || key == "thp_collapse_alloc")
			if (auto v = toU64(value))
				a[key] = *v;
	return a;
}

json activityJson(const MmActivity &activity)
{
	json j = json::object();
	for (const auto &[k, v] : activity)
		j[k] = v;
	return j;
}

json activityDelta(const MmActivity &start, const MmActivity &end)
{
	json j = json::object();
	for (const auto &[k, v] : end) {
		auto it = start.find(k);
		j[k] = it == start.end() || v < it->second ? json(nullptr) : json(v - it->second);
	}
	return j;
}

NoiseFacts collectNoise(const std::string &root, int cpu, int self_pid)
{
	NoiseFacts n;
	n.cpu = cpu;
	if (cpu < 0) {
		n.reason = "measuring CPU unknown";
		n.cpufreq.reason = n.reason;
	} else {
		n.cpufreq = readCpufreq(root, cpu);
		n.isolation.isolated = cpuInList(rooted(root, "/sys/devices/system/cpu/isolated"), cpu);
		n.isolation.nohz_full = cpuInList(rooted(root, "/sys/devices/system/cpu/nohz_full"), cpu);
	}
	n.smt = readSmt(root, cpu);
	n.load = readLoad(root, cpu, self_pid);
	std::string thp = rooted(root, "/sys/kernel/mm/transparent_hugepage");
	if (auto defrag = readLine(thp + "/defrag"))
		n.thp_defrag = thpSelected(*defrag);
	if (auto kd = readInt(thp + "/khugepaged/defrag"))
		n.khugepaged_defrag = *kd != 0;
	n.activity = readMmActivity(root);
	return n;
}

json NoiseFacts::toJson() const
{
	return {
		{"cpu", cpu >= 0 ? json(cpu) : json(nullptr)},
		{"reason", reason},
		{"cpufreq",
		 {{"available", cpufreq.available},
		  {"reason", cpufreq.reason},
		  {"governor", cpufreq.available ? json(cpufreq.governor) : json(nullptr)},
		  {"driver", cpufreq.available ? json(cpufreq.driver) : json(nullptr)},
		  {"boost", orNull(cpufreq.boost)},
		  {"boost_control", cpufreq.boost ? json(cpufreq.boost_control) : json(nullptr)}}},
		{"smt",
		 {{"active", orNull(smt.active)},
		  {"control", smt.control.empty() ? json(nullptr) : json(smt.control)},
		  {"siblings", orNull(smt.siblings)}}},
		{"isolation", {{"isolated", orNull(isolation.isolated)}, {"nohz_full", orNull(isolation.nohz_full)}}},
		{"load",
		 {{"loadavg_1min", orNull(load.avg_1min)},
		  {"loadavg_5min", orNull(load.avg_5min)},
		  {"loadavg_15min", orNull(load.avg_15min)},
		  {"runnable", orNull(load.runnable)},
		  {"tasks", orNull(load.tasks)},
		  {"others_runnable_on_cpu", orNull(load.others_runnable_on_cpu)},
		  {"online_cpus", orNull(load.online_cpus)}}},
		{"stdout_is_terminal", orNull(stdout_is_terminal)},
		{"thp", {{"defrag", thp_defrag.empty() ? json(nullptr) : json(thp_defrag)},
			 {"khugepaged_defrag", orNull(khugepaged_defrag)}}},
		{"activity", activityJson(activity)},
	};
}

TopologyInfo collectTopology(const std::string &root, unsigned numa_nodes)
{
	TopologyInfo t;
	t.numa_nodes = numa_nodes;
	for (const auto &name : listDir(rooted(root, "/sys/devices/system/cpu"))) {
		if (!startsWith(name, "cpu") || !isNumber(std::string_view(name).substr(3)))
			continue;
		CpuTopology c;
		c.cpu = std::stoi(name.substr(3));
		std::string dir = cpuDir(root, c.cpu);
		c.package_id = readInt(dir + "/topology/physical_package_id");
		c.cluster_id = readInt(dir + "/topology/cluster_id");
		if (auto cap = readInt(dir + "/cpu_capacity"); cap && *cap >= 0)
			c.capacity = static_cast<unsigned>(*cap);
		t.cpus.push_back(c);
	}
	std::sort(t.cpus.begin(), t.cpus.end(), [](const auto &a, const auto &b) { return a.cpu < b.cpu; });
	return t;
}

json TopologyInfo::toJson() const
{
	json cpus_j = json::array();
	for (const auto &c : cpus)
		cpus_j.push_back({{"cpu", c.cpu},
				  {"package_id", orNull(c.package_id)},
				  {"cluster_id", orNull(c.cluster_id)},
				  {"cpu_capacity", orNull(c.capacity)}});
	return {{"numa_nodes", numa_nodes}, {"cpus", cpus_j}};
}

FirmwareInfo collectFirmware(const std::string &root)
{
	FirmwareInfo f;
	std::string dmi = rooted(root, "/sys/class/dmi/id");
	for (const char *k : {"sys_vendor", "product_name", "product_version", "board_vendor", "board_name",
			      "bios_vendor", "bios_version", "bios_date"})
		f.dmi[k] = readValue(dmi + "/" + k);
	std::string soc = rooted(root, "/sys/devices/soc0");
	f.soc_present = !listDir(soc).empty();
	if (f.soc_present)
		for (const char *k : {"soc_id", "family", "machine", "revision"})
			f.soc[k] = readValue(soc + "/" + k);
	return f;
}

json FirmwareInfo::toJson() const
{
	return {{"dmi", stringMap(dmi)}, {"soc", soc_present ? stringMap(soc) : json(nullptr)}};
}

const char *severityName(Severity s)
{
	switch (s) {
	case Severity::Note:
		return "note";
	case Severity::Warning:
		return "warning";
	case Severity::Alarm:
		return "WARNING";
	}
	return "warning";
}

std::vector<Caution> runCautions(const Env &env, const MmActivity *activity_end, const KernelLogScan *kernel_log)
{
	std::vector<Caution> out;
	kernelLogCautions(out, kernel_log);
	if (env.noise.cpu >= 0)
		cpuCautions(out, env.noise);
	if (env.noise.stdout_is_terminal.value_or(false))
		addCaution(out, Severity::Warning,
			   "stdout is a terminal: redirect it to a file (forks measured 5-10% slower with a "
			   "terminal on stdout)");
	mmCautions(out, env.noise, activity_end);
	if (env.virt.vm.value_or(false))
		addCaution(out, Severity::Note,
			   fmt::format("running in a VM{}: the host's scheduling and its stage-2 page tables are in "
				       "every number",
				       env.virt.hypervisor.empty() ? "" : " (" + env.virt.hypervisor + ")"));
	std::stable_sort(out.begin(), out.end(),
			 [](const Caution &a, const Caution &b) { return a.severity > b.severity; });
	return out;
}

} /* namespace pgt */
