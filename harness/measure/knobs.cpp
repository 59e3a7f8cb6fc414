// SPDX-License-Identifier: GPL-2.0
#include "knobs.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "env.h"
#include "errors.h"
#include "util.h"

namespace pgt {

namespace {

/*
 * What the signal handler restores. It can only use async-signal-safe calls, so the
 * paths and values are copied into fixed buffers whenever the guard changes.
 */
constexpr size_t kMaxSaved = 64;
struct SavedKnob {
	char path[512];
	char value[128];
};
SavedKnob g_saved[kMaxSaved];
volatile sig_atomic_t g_nsaved;
char g_journal[512];
const int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
struct sigaction g_old_actions[4];
bool g_handlers_installed;
const KnobGuard *g_active;

/*
 * One pgtbench at a time may change knobs. Two runs that overlap would each save the
 * other's values as the originals, and the later restore would leave them set: an
 * interleaved run makes and drops a guard per visit, so another run could start between
 * two visits and scramble the mTHP settings for good. The lock beside the journal is
 * taken at a process's first change and held until it exits (the kernel drops it then,
 * after a SIGKILL too), so no other run slips in between.
 */
int g_lock_fd = -1;
std::string g_lock_path;

void makeParentDir(const std::string &path)
{
	std::string dir = path.substr(0, path.rfind('/'));
	if (!dir.empty())
		mkdir(dir.c_str(), 0755);
}

void lockKnobs(const std::string &journal)
{
	std::string path = journal + ".lock";
	if (g_lock_fd >= 0 && g_lock_path == path)
		return;
	makeParentDir(path);
	int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		throw RuntimeError(fmt::format("cannot open {}: {}", path, strerror(errno)));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;
		close(fd);
		if (err != EWOULDBLOCK)
			throw RuntimeError(fmt::format("cannot lock {}: {}", path, strerror(err)));
		std::string holder = trim(readFile(path).value_or(""));
		throw UsageError(fmt::format("another pgtbench{} is changing THP and tuning settings now "
					     "({} is locked): runs that change them cannot overlap",
					     holder.empty() ? "" : " (pid " + holder + ")", path));
	}
	/* Who holds it, for the message another run prints. */
	std::string pid = fmt::format("{}\n", getpid());
	if (ftruncate(fd, 0) == 0 && write(fd, pid.data(), pid.size()) < 0) {
		/* Only the message loses the pid. */
	}
	if (g_lock_fd >= 0)
		close(g_lock_fd);
	g_lock_fd = fd;
	g_lock_path = path;
}

void writeAll(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len) {
		ssize_t n = write(fd, s, len);
		if (n <= 0)
			return;
		s += n;
		len -= static_cast<size_t>(n);
	}
}

void restoreSignalSafe()
{
	for (sig_atomic_t i = g_nsaved; i > 0; i--) {
		int fd = open(g_saved[i - 1].path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0)
			continue;
		writeAll(fd, g_saved[i - 1].value);
		close(fd);
	}
	g_nsaved = 0;
	if (g_journal[0])
		unlink(g_journal);
}

void onSignal(int sig)
{
	restoreSignalSafe();
	/* Die of the same signal so the parent (shell, CI) sees what happened. */
	signal(sig, SIG_DFL);
	raise(sig);
}

void installHandlers()
{
	if (g_handlers_installed)
		return;
	struct sigaction sa = {};
	sa.sa_handler = onSignal;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < 4; i++)
		sigaction(kSignals[i], &sa, &g_old_actions[i]);
	g_handlers_installed = true;
}

void removeHandlers()
{
	if (!g_handlers_installed)
		return;
	for (size_t i = 0; i < 4; i++)
		sigaction(kSignals[i], &g_old_actions[i], nullptr);
	g_handlers_installed = false;
}

void copyBounded(char *dst, size_t size, const std::string &src)
{
	if (src.size() >= size)
		throw RuntimeError("knob path or value too long: " + src);
	memcpy(dst, src.c_str(), src.size() + 1);
}

} /* namespace */

std::string defaultJournalPath()
{
	if (const char *p = getenv("PGTBENCH_JOURNAL"))
		return p;
	return "/run/pgtbench/knobs.journal";
}

std::string readKnob(const std::string &path)
{
	auto v = readLine(path);
	if (!v)
		throw RuntimeError(fmt::format("cannot read {}: {}", path, strerror(errno)));
	return thpSelected(*v);
}

std::string writeKnob(const std::string &path, const std::string &value)
{
	/* O_TRUNC is what a shell's `echo v > knob` does; sysfs ignores it, files need it. */
	int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return fmt::format("cannot open {}: {}", path, strerror(errno));
	ssize_t n = write(fd, value.data(), value.size());
	int err = errno;
	close(fd);
	if (n != static_cast<ssize_t>(value.size()))
		return fmt::format("cannot write '{}' to {}: {}", value, path,
				   n < 0 ? strerror(err) : "short write");
	return {};
}

std::string knobWritable(const std::string &path)
{
	if (access(path.c_str(), F_OK) != 0)
		return path + " does not exist";
	if (access(path.c_str(), W_OK) != 0)
		return fmt::format("changing {} needs root ({})", path, strerror(errno));
	return {};
}

KnobGuard::KnobGuard(std::string journal_path) : journal_(std::move(journal_path)) {}

KnobGuard::~KnobGuard()
{
	restore();
}

void KnobGuard::set(const std::string &path, const std::string &value)
{
	if (g_active && g_active != this)
		throw RuntimeError("internal: two knob guards active at once");
	if (!journal_checked_) {
		lockKnobs(journal_);
		/*
		 * A journal left by a killed run holds the true originals; saving the
		 * current (changed) values over it would make them permanent. Checked
		 * under the lock: no live run can be writing one.
		 */
		if (access(journal_.c_str(), F_OK) == 0)
			throw UsageError(fmt::format("{} exists: an earlier run was killed before "
						     "restoring its settings; run `pgtbench restore` first",
						     journal_));
		journal_checked_ = true;
	}
	std::string current = readKnob(path);
	if (current == value)
		return;
	auto seen = std::find_if(changes_.begin(), changes_.end(),
				 [&](const KnobChange &c) { return c.path == path; });
	if (seen != changes_.end()) {
		/* Already saved: the original stays the one from before our first write. */
		seen->value = value;
	} else {
		size_t i = static_cast<size_t>(g_nsaved);
		if (i >= kMaxSaved)
			throw RuntimeError("too many knobs changed at once");
		changes_.push_back({path, current, value});
		/* Journal first: if we die between the two writes the journal is still right. */
		writeJournal();
		g_active = this;
		copyBounded(g_saved[i].path, sizeof(g_saved[i].path), path);
		copyBounded(g_saved[i].value, sizeof(g_saved[i].value), current);
		copyBounded(g_journal, sizeof(g_journal), journal_);
		installHandlers();
		g_nsaved = static_cast<sig_atomic_t>(i + 1);
	}
	std::string err = writeKnob(path, value);
	if (!err.empty())
		throw RuntimeError(err);
}

void KnobGuard::writeJournal()
{
	makeParentDir(journal_);
	std::string tmp = journal_ + ".tmp";
	{
		std::ofstream out(tmp, std::ios::trunc);
		out << "# pgtbench knob journal: original values, restored by `pgtbench restore`\n";
		out << "pid\t" << getpid() << "\n";
		for (const auto &c : changes_)
			out << c.path << "\t" << c.original << "\n";
		out.flush();
		if (!out)
			throw RuntimeError(fmt::format("cannot write journal {}: {}", tmp, strerror(errno)));
	}
	int fd = open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	if (rename(tmp.c_str(), journal_.c_str()) != 0)
		throw RuntimeError(fmt::format("cannot write journal {}: {}", journal_, strerror(errno)));
}

void KnobGuard::restore()
{
	if (changes_.empty())
		return;
	/* Block the handled signals so a Ctrl-C now cannot restore twice, interleaved. */
	sigset_t block, old;
	sigemptyset(&block);
	for (int s : kSignals)
		sigaddset(&block, s);
	sigprocmask(SIG_BLOCK, &block, &old);
	std::string failures;
	for (auto it = changes_.rbegin(); it != changes_.rend(); ++it) {
		std::string err = writeKnob(it->path, it->original);
		if (!err.empty())
			failures += (failures.empty() ? "" : "; ") + err;
	}
	changes_.clear();
	g_nsaved = 0;
	g_active = nullptr;
	if (failures.empty())
		unlink(journal_.c_str());
	removeHandlers();
	sigprocmask(SIG_SETMASK, &old, nullptr);
	if (!failures.empty())
		fmt::print(stderr, "pgtbench: restoring settings failed, journal kept at {}: {}\n",
			   journal_, failures);
}

std::vector<KnobChange> restoreJournal(const std::string &journal_path)
{
	std::ifstream in(journal_path);
	if (!in)
		return {};
	std::vector<KnobChange> entries;
	std::string line;
	while (std::getline(in, line)) {
		if (line.empty() || line[0] == '#')
			continue;
		size_t tab = line.find('\t');
		if (tab == std::string::npos)
			throw UsageError(fmt::format("{}: malformed line '{}'", journal_path, line));
		std::string key = line.substr(0, tab), val = line.substr(tab + 1);
		if (key == "pid") {
			pid_t pid = static_cast<pid_t>(std::stol(val));
			if (pid != getpid() && kill(pid, 0) == 0)
				throw UsageError(fmt::format("{} belongs to pgtbench pid {}, which is "
							     "still running",
							     journal_path, pid));
			continue;
		}
		entries.push_back({key, "", val});
	}
	std::string failures;
	for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
		std::string err = writeKnob(it->path, it->value);
		if (!err.empty())
			failures += (failures.empty() ? "" : "; ") + err;
	}
	if (!failures.empty())
		throw RuntimeError(failures);
	unlink(journal_path.c_str());
	return entries;
}

} /* namespace pgt */
