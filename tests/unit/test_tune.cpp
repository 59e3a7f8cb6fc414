// SPDX-License-Identifier: GPL-2.0
/* `run --tune`'s knobs, planned on the fixture machines of tests/fixtures/env. */
#include <gtest/gtest.h>

#include <string>

#include "tune.h"

using namespace pgt;

namespace {

std::string root(const std::string &name)
{
	return std::string(FIXTURES) + "/env/" + name;
}

std::vector<std::string> whats(const TunePlan &p)
{
	std::vector<std::string> out;
	for (const auto &k : p.knobs)
		out.push_back(k.what + "=" + k.value);
	return out;
}

} // namespace

TEST(Tune, AltraGetsThePerformanceGovernorAndKhugepagedAndCompactionPaused)
{
	TunePlan p = planTune(root("altra-metal"));
	EXPECT_EQ(whats(p), (std::vector<std::string>{"cpufreq policy0 governor=performance",
						      "khugepaged scan sleep=86400000",
						      "khugepaged alloc sleep=86400000",
						      "proactive compaction=0"}));
	EXPECT_EQ(p.knobs[0].path, root("altra-metal") + "/sys/devices/system/cpu/cpufreq/policy0/scaling_governor");
	ASSERT_EQ(p.skipped.size(), 1u);
	EXPECT_EQ(p.skipped[0].what, "boost");
	EXPECT_TRUE(p.tunesGovernor());
	EXPECT_FALSE(p.tunesBoost());
}

TEST(Tune, IntelTurboIsTurnedOffAndAPolicyWithoutPerformanceIsLeftAloneWithTheReason)
{
	TunePlan p = planTune(root("x86-intel-metal"));
	auto w = whats(p);
	ASSERT_FALSE(w.empty());
	EXPECT_EQ(w[0], "cpufreq policy0 governor=performance");
	EXPECT_EQ(w[1], "intel_pstate turbo=1");
	EXPECT_TRUE(p.tunesBoost());
	bool policy1 = false;
	for (const auto &s : p.skipped)
		if (s.what == "cpufreq policy1 governor") {
			policy1 = true;
			EXPECT_EQ(s.why, "no performance governor (available: powersave)");
		}
	EXPECT_TRUE(policy1);
}

TEST(Tune, AVmWithoutCpufreqOrThpHasNothingToTuneAndSaysWhy)
{
	TunePlan p = planTune(root("x86-kvm-nothp"));
	EXPECT_FALSE(p.tunesGovernor());
	std::vector<std::string> skipped;
	for (const auto &s : p.skipped)
		skipped.push_back(s.what);
	EXPECT_EQ(skipped[0], "cpufreq governor");
	EXPECT_NE(std::find(skipped.begin(), skipped.end(), "khugepaged"), skipped.end());
	auto j = p.toJson();
	EXPECT_TRUE(j["skipped"][0]["why"].get<std::string>().find("hypervisor") != std::string::npos);
}
