// SPDX-License-Identifier: GPL-2.0
/* The knob guard: whatever happens, the machine's settings come back. */
#include <gtest/gtest.h>

#include <fmt/format.h>

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

TEST_F(KnobGuardTest, ASecondProcessCannotChangeKnobsWhileAnotherRunHoldsThem)
{
	int ready[2], done[2];
	ASSERT_EQ(pipe(ready), 0);
	ASSERT_EQ(pipe(done), 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* A run between two visits: its first guard came and went, the lock stays. */
		{
			KnobGuard visit(journal_);
			visit.set(a_, "never");
		}
		char c = 1;
		(void)!::write(ready[1], &c, 1);
		(void)!::read(done[0], &c, 1);
		_exit(0);
	}
	ASSERT_GT(pid, 0);
	char c;
	ASSERT_EQ(::read(ready[0], &c, 1), 1);
	EXPECT_EQ(value(a_), "madvise"); /* the visit put it back */
	{
		KnobGuard other(journal_);
		try {
			other.set(a_, "always");
			ADD_FAILURE() << "a second run changed a knob while another run held them";
		} catch (const UsageError &e) {
			std::string what = e.what();
			EXPECT_NE(what.find(fmt::format("another pgtbench (pid {})", pid)), std::string::npos) << what;
			EXPECT_NE(what.find("cannot overlap"), std::string::npos) << what;
		}
		EXPECT_EQ(value(a_), "madvise");
	}
	(void)!::write(done[1], &c, 1);
	int status = 0;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	/* The run is gone, and so is its lock. */
	KnobGuard after(journal_);
	after.set(a_, "always");
	EXPECT_EQ(value(a_), "always");
	after.restore();
	EXPECT_EQ(value(a_), "madvise");
	for (int fd : {ready[0], ready[1], done[0], done[1]})
		close(fd);
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
