// SPDX-License-Identifier: GPL-2.0
#include "syswide_probe.h"

#include <cerrno>
#include <cstring>
#include <optional>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include "counters.h"
#include "thread_cpus.h"
#include "util.h"

namespace pgt {

namespace {

std::string openError(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return "not permitted (system-wide counting needs root)";
	case ENOENT:
	case EINVAL:
		return "cannot be probed in this kernel (inlined, absent or blacklisted)";
	default:
		return strerror(err);
	}
}

/* The tracepoint's id from tracefs, wherever it is mounted; "" with the reason. */
std::string tracepointId(const std::string &root, const std::string &tracepoint, std::string *why)
{
	size_t colon = tracepoint.find(':');
	std::string rel = "/events/" + tracepoint.substr(0, colon) + "/" + tracepoint.substr(colon + 1) + "/id";
	for (const char *dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
		if (auto id = readLine(rooted(root, std::string(dir) + rel)))
			return trim(*id);
	*why = fmt::format("no tracepoint {} in tracefs (not mounted, or not in this kernel)", tracepoint);
	return "";
}

} /* namespace */

SystemWideProbe::SystemWideProbe(const Env &env, const std::string &name, const std::string &function,
				 const std::string &tracepoint)
{
	meta_.name = name;
	meta_.kind = "flush_site";
	meta_.event = "kprobe:" + function + " (all CPUs)";
	std::vector<int> cpus = parseCpuList(readLine(rooted(env.root, "/sys/devices/system/cpu/online")).value_or(""));
	if (cpus.empty()) {
		meta_.reason = "cannot read the online CPUs";
		return;
	}

	struct perf_event_attr attr = {};
	attr.size = sizeof(attr);
	attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	attr.disabled = 1;
	std::string why;
	std::optional<int> kprobe = readInt(rooted(env.root, "/sys/bus/event_source/devices/kprobe/type"));
	auto openAll = [&]() {
		for (int cpu : cpus) {
			int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, cpu, -1, 0));
			if (fd < 0) {
				why = openError(errno);
				for (int f : fds_)
					close(f);
				fds_.clear();
				return false;
			}
			fcntl(fd, F_SETFD, FD_CLOEXEC);
			fds_.push_back(fd);
		}
		return true;
	};
	if (kprobe) {
		attr.type = static_cast<uint32_t>(*kprobe);
		/* kprobe PMU: config1 is the function name (kprobe_func), config2 the offset. */
		attr.config1 = reinterpret_cast<uintptr_t>(function.c_str());
		if (openAll())
			return;
		why = fmt::format("kprobe:{}: {}", function, why);
	} else {
		why = "no kprobe PMU";
	}
	if (tracepoint.empty()) {
		meta_.reason = why;
		return;
	}
	std::string tp_why;
	std::string id = tracepointId(env.root, tracepoint, &tp_why);
	if (id.empty()) {
		meta_.reason = why + "; " + tp_why;
		return;
	}
	std::string kprobe_why = why;
	attr = {};
	attr.size = sizeof(attr);
	attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	attr.disabled = 1;
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.config = std::stoull(id);
	meta_.event = tracepoint + " (all CPUs)";
	meta_.kind = "software";
	if (!openAll())
		meta_.reason = fmt::format("{}; {}: {}", kprobe_why, tracepoint, why);
}

SystemWideProbe::~SystemWideProbe()
{
	for (int fd : fds_)
		close(fd);
}

void SystemWideProbe::start()
{
	start_value_.clear();
	start_enabled_.clear();
	start_running_.clear();
	/* Snapshots, like Counters: what the events counted before this start stays out. */
	for (int fd : fds_) {
		RawRead r = readRaw(fd);
		start_value_.push_back(r.value);
		start_enabled_.push_back(r.enabled);
		start_running_.push_back(r.running);
		ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	}
}

void SystemWideProbe::stop()
{
	for (int fd : fds_)
		ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
}

CounterReading SystemWideProbe::read() const
{
	CounterReading r = meta_;
	if (fds_.empty() || start_value_.size() != fds_.size()) {
		if (r.reason.empty())
			r.reason = "not started";
		return r;
	}
	uint64_t total = 0;
	for (size_t i = 0; i < fds_.size(); i++) {
		RawRead raw = readRaw(fds_[i]);
		total += raw.value - start_value_[i];
		r.time_enabled_ns += raw.enabled - start_enabled_[i];
		r.time_running_ns += raw.running - start_running_[i];
	}
	/* A software event is never multiplexed away; running < enabled would mean it was. */
	if (r.time_enabled_ns && r.time_running_ns == 0)
		r.reason = "never scheduled on the PMU";
	else
		r.value = total;
	return r;
}

} /* namespace pgt */
