// SPDX-License-Identifier: GPL-2.0
#include "tune.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "util.h"

namespace pgt {

namespace {

namespace fs = std::filesystem;

/* A day: longer than any run, and short enough for the kernel to take (it is an unsigned int of ms). */
constexpr const char *kPausedSleepMs = "86400000";

std::string read(const fs::path &p)
{
	return trim(readFile(p.string()).value_or(""));
}

void planCpufreq(TunePlan &plan, const fs::path &root)
{
	fs::path dir = root / "sys/devices/system/cpu/cpufreq";
	std::vector<fs::path> policies;
	std::error_code ec;
	for (const auto &e : fs::directory_iterator(dir, ec))
		if (e.path().filename().string().starts_with("policy"))
			policies.push_back(e.path());
	std::sort(policies.begin(), policies.end());
	if (policies.empty()) {
		plan.skipped.push_back({"cpufreq governor", "no cpufreq policy: the firmware or the hypervisor "
							    "sets the clock (a VM?)"});
	}
	for (const auto &p : policies) {
		std::string name = p.filename().string();
		auto available = split(read(p / "scaling_available_governors"), ' ');
		if (std::find(available.begin(), available.end(), "performance") == available.end()) {
			plan.skipped.push_back({fmt::format("cpufreq {} governor", name),
						fmt::format("no performance governor (available: {})",
							    read(p / "scaling_available_governors"))});
			continue;
		}
		plan.knobs.push_back({fmt::format("cpufreq {} governor", name), (p / "scaling_governor").string(),
				      "performance"});
	}
	if (fs::exists(dir / "boost"))
		plan.knobs.push_back({"cpufreq boost", (dir / "boost").string(), "0"});
	else if (fs::path t = root / "sys/devices/system/cpu/intel_pstate/no_turbo"; fs::exists(t))
		plan.knobs.push_back({"intel_pstate turbo", t.string(), "1"});
	else
		plan.skipped.push_back({"boost", "no cpufreq/boost or intel_pstate/no_turbo control"});
}

void planMm(TunePlan &plan, const fs::path &root)
{
	fs::path k = root / "sys/kernel/mm/transparent_hugepage/khugepaged";
	if (fs::exists(k / "scan_sleep_millisecs")) {
		plan.knobs.push_back({"khugepaged scan sleep", (k / "scan_sleep_millisecs").string(), kPausedSleepMs});
		plan.knobs.push_back({"khugepaged alloc sleep", (k / "alloc_sleep_millisecs").string(), kPausedSleepMs});
	} else {
		plan.skipped.push_back({"khugepaged", "no khugepaged (no THP)"});
	}
	if (fs::path p = root / "proc/sys/vm/compaction_proactiveness"; fs::exists(p))
		plan.knobs.push_back({"proactive compaction", p.string(), "0"});
	else
		plan.skipped.push_back({"proactive compaction", "no vm.compaction_proactiveness (before 5.9)"});
}

} /* namespace */

TunePlan planTune(const std::string &root)
{
	TunePlan plan;
	planCpufreq(plan, root);
	planMm(plan, root);
	return plan;
}

bool TunePlan::tunesGovernor() const
{
	return std::any_of(knobs.begin(), knobs.end(), [](const TuneKnob &k) { return k.path.ends_with("/scaling_governor"); });
}

bool TunePlan::tunesBoost() const
{
	return std::any_of(knobs.begin(), knobs.end(), [](const TuneKnob &k) {
		return k.path.ends_with("/cpufreq/boost") || k.path.ends_with("/no_turbo");
	});
}

nlohmann::json TunePlan::toJson() const
{
	nlohmann::json j = {{"knobs", nlohmann::json::array()}, {"skipped", nlohmann::json::array()}};
	for (const auto &k : knobs)
		j["knobs"].push_back({{"what", k.what}, {"path", k.path}, {"value", k.value}});
	for (const auto &s : skipped)
		j["skipped"].push_back({{"what", s.what}, {"why", s.why}});
	return j;
}

} /* namespace pgt */
