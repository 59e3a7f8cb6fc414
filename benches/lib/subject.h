/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fork subject seen from the harness (benches/subject/subject_proto.h says why it
 * exists): started from the image pgtbench carries, driven one request at a time, and
 * inspected through /proc/<pid> by the harness, never by itself.
 */
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>

#include "folio.h"
#include "scenario.h"
#include "subject_proto.h"

namespace pgt {

class Subject
{
public:
	/*
	 * Starts a subject. Created after the variant's counters, it inherits them (they
	 * must be opened with inherit) and enables them itself around each timed call.
	 */
	explicit Subject(const RunContext &ctx);
	~Subject();
	Subject(const Subject &) = delete;
	Subject &operator=(const Subject &) = delete;

	pid_t pid() const { return pid_; }

	struct Region {
		uint64_t addr = 0;
		uint64_t size = 0;
		unsigned order = 0;
		bool pmd_mapped = false; /* the PMD order, left PMD-mapped */
	};
	/* Maps, populates and PTE-remaps as populateForPoint() does in this process. */
	Region populate(const Params &p, const Env &env);
	void unmap(const Region &r);

	/* The timed calls, each in the context's counter bracket (RunContext::armRemote). */
	Elapsed fork(Sample &s);
	/* The child of the last fork exits and is reaped: its counters under "teardown.". */
	Elapsed release(Sample &s);
	Elapsed munmap(Sample &s, Region &r);
	/* One byte written per base page of the region, timed. */
	Elapsed writeBytes(Sample &s, const Region &r, const Env &env);

	/* Untimed: a child that shares the region now, and its exit (reuse_byte's setup). */
	void forkChild();
	void releaseChild();
	/*
	 * The subject forks and exits; its child, sharing every page with a parent that is
	 * gone, is the subject from now on (pid() changes; subject_proto.h: HANDOVER).
	 */
	void handOver();

	/* What the kernel gave the region: pagemap + kpageflags of the subject. */
	FolioCheck check(const Region &r, const Env &env, std::string when) const;
	/* pgtbench.ko's PTE_WALK of the region, in the subject (mapping.h); n/a with the reason where unavailable. */
	nlohmann::json mapping(const Region &r, const Env &env, const std::string &when);
	/* Its VMAs now (/proc/<pid>/maps): what fork() copies. */
	unsigned vmaCount() const;

private:
	subject_reply call(subject_request q, const char *what);
	void stop();

	const RunContext &ctx_;
	pid_t pid_ = -1;
	int req_ = -1; /* requests: the write end of the subject's argv[1] pipe */
	int rep_ = -1; /* replies: the read end of its argv[2] pipe */
};

/* A variant whose repetitions run in its own subject, started after its counters. */
class SubjectVariant : public PreparedVariant
{
public:
	SubjectVariant(const Params &p, const RunContext &ctx) : params_(p), ctx_(ctx), subject_(ctx_) {}

protected:
	Params params_;
	RunContext ctx_;
	Subject subject_;
};

/* The subject's VMA count and that it ran in the subject, for a sample's checks. */
nlohmann::json subjectCheck(const Subject &subject);

} /* namespace pgt */
