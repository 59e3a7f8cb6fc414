/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sysfs/procfs knobs changed for a run, and put back afterwards whatever happens.
 *
 * A KnobGuard records each knob's original value in memory and in a journal file
 * *before* writing the new value. It restores on destruction (normal exit, errors
 * thrown through it) and from a signal handler on SIGINT/SIGTERM/SIGHUP/SIGQUIT. After
 * a SIGKILL or a crash the journal remains, and `pgtbench restore` replays it.
 *
 * The journal lives in /run by default: /run is emptied at boot exactly when sysfs
 * knobs return to their boot values, so a journal never outlives the state it undoes.
 */
#pragma once

#include <string>
#include <vector>

namespace pgt {

struct KnobChange {
	std::string path;
	std::string original;
	std::string value;
};

std::string defaultJournalPath();

class KnobGuard
{
public:
	explicit KnobGuard(std::string journal_path = defaultJournalPath());
	~KnobGuard();
	KnobGuard(const KnobGuard &) = delete;
	KnobGuard &operator=(const KnobGuard &) = delete;

	/*
	 * Set a knob, saving its current value first. Writes nothing when the knob
	 * already has the value. Throws RuntimeError when the write fails (the knob is
	 * unchanged then) and UsageError when a stale journal from an earlier run exists
	 * or another process's guard is changing knobs now (the lock beside the journal,
	 * taken at the first change and held until this process exits).
	 */
	void set(const std::string &path, const std::string &value);
	/* Put every changed knob back, newest first. Idempotent. */
	void restore();
	const std::vector<KnobChange> &changes() const { return changes_; }

private:
	void writeJournal();

	std::string journal_;
	std::vector<KnobChange> changes_;
	bool journal_checked_ = false;
};

/* The value a knob currently holds ("[madvise]" selection for THP-style files). */
std::string readKnob(const std::string &path);
/* Write a knob; returns an error message, empty on success. */
std::string writeKnob(const std::string &path, const std::string &value);
/* Would set() on this path be allowed? Empty when yes, else why not. */
std::string knobWritable(const std::string &path);

/*
 * Restore what a journal records (after a crash or SIGKILL). Returns the lines it
 * restored; throws UsageError when the run that wrote it is still alive.
 */
std::vector<KnobChange> restoreJournal(const std::string &journal_path);

} /* namespace pgt */
