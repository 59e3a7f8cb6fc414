// SPDX-License-Identifier: GPL-2.0
/* The knob guard: whatever happens, the machine's settings come back. */
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"
#include "knobs.h"
#include "util.h"
#include "scratch_dir.h"

using namespace pgt;
namespace fs = std::filesystem;

namespace {

class KnobGuardTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		a_ = dir_ + "/enabled";
		b_ = dir_ + "/hugepages-64kB-enabled";
		journal_ = dir_ + "/run/knobs.journal";
		write(a_, "always [madvise] never\n");
		write(b_, "always inherit madvise [never]\n");
	}
	static void write(const std::string &path, const std::string &text)
	{
		std::ofstream(path) << text;
	}
	static std::string value(const std::string &path) { return readKnob(path); }
	/* In a child: change both knobs, then die of `sig`. Returns the signal it died of. */
	int changeThenDie(int sig)
	{
		pid_t pid = fork();
		if (pid == 0) {
			KnobGuard g(journal_);
			g.set(a_, "never");
			g.set(b_, "always");
			kill(getpid(), sig);
			_exit(0); /* not reached: the handler re-raises with the default action */
		}
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status))
			return 0;
		return WTERMSIG(status);
	}

	ScratchDir scratch_{"knobs"};
	std::string dir_ = scratch_.path(), a_, b_, journal_;
};

} /* namespace */

TEST_F(KnobGuardTest, RestoresOnScopeExit)
{
	{
		KnobGuard g(journal_);
		g.set(a_, "never");
		g.set(b_, "always");
		EXPECT_EQ(value(a_), "never");
		EXPECT_EQ(value(b_), "always");
		EXPECT_TRUE(fs::exists(journal_));
	}
	EXPECT_EQ(value(a_), "madvise");
	EXPECT_EQ(value(b_), "never");
	EXPECT_FALSE(fs::exists(journal_));
}

TEST_F(KnobGuardTest, KeepsTheFirstOriginalWhenSetTwice)
{
	{
		KnobGuard g(journal_);
		g.set(a_, "never");
		g.set(a_, "always");
		ASSERT_EQ(g.changes().size(), 1u);
		EXPECT_EQ(g.changes()[0].original, "madvise");
	}
	EXPECT_EQ(value(a_), "madvise");
}

TEST_F(KnobGuardTest, UnchangedValueIsNotWrittenOrJournaled)
{
	KnobGuard g(journal_);
	g.set(a_, "madvise");
	EXPECT_TRUE(g.changes().empty());
	EXPECT_FALSE(fs::exists(journal_));
}

TEST_F(KnobGuardTest, RestoresWhenALaterSetFails)
{
	try {
		KnobGuard g(journal_);
		g.set(a_, "never");
		g.set(dir_ + "/missing", "always");
		FAIL() << "set of a missing knob must throw";
	} catch (const RuntimeError &) {
	}
	EXPECT_EQ(value(a_), "madvise");
	EXPECT_FALSE(fs::exists(journal_));
}

TEST_F(KnobGuardTest, RestoresOnSigtermAndSigintAndDiesOfThem)
{
	for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
		EXPECT_EQ(changeThenDie(sig), sig);
		EXPECT_EQ(value(a_), "madvise");
		EXPECT_EQ(value(b_), "never");
		EXPECT_FALSE(fs::exists(journal_));
	}
}

TEST_F(KnobGuardTest, JournalSurvivesSigkillAndRestoreReplaysIt)
{
	ASSERT_EQ(changeThenDie(SIGKILL), SIGKILL);
	EXPECT_EQ(value(a_), "never");
	ASSERT_TRUE(fs::exists(journal_));

	/* A new run must not take the changed values for originals. */
	KnobGuard g(journal_);
	EXPECT_THROW(g.set(a_, "always"), UsageError);
	EXPECT_EQ(value(a_), "never");

	auto restored = restoreJournal(journal_);
	EXPECT_EQ(restored.size(), 2u);
	EXPECT_EQ(value(a_), "madvise");
	EXPECT_EQ(value(b_), "never");
	EXPECT_FALSE(fs::exists(journal_));
}

TEST_F(KnobGuardTest, RestoreRefusesTheJournalOfALiveRun)
{
	fs::create_directories(dir_ + "/run");
	write(journal_, "pid\t1\n" + a_ + "\tmadvise\n");
	write(a_, "never\n");
	EXPECT_THROW(restoreJournal(journal_), UsageError);
	EXPECT_EQ(value(a_), "never");
}

TEST_F(KnobGuardTest, RestoreWithoutJournalDoesNothing)
{
	EXPECT_TRUE(restoreJournal(journal_).empty());
}

TEST_F(KnobGuardTest, WritabilityCheckNamesTheProblem)
{
	EXPECT_EQ(knobWritable(a_), "");
	EXPECT_NE(knobWritable(dir_ + "/missing").find("does not exist"), std::string::npos);
}
