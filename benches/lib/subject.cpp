// SPDX-License-Identifier: GPL-2.0
#include "subject.h"

#include "mapping.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "errors.h"
#include "util.h"

extern "C" {
extern const unsigned char pgt_subject_image[];
extern const size_t pgt_subject_image_size;
}

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

namespace pgt {

namespace {

const char *stepName(uint32_t step)
{
	switch (step) {
	case SUBJECT_STEP_REQUEST: return "request";
	case SUBJECT_STEP_MMAP: return "mmap";
	case SUBJECT_STEP_MADVISE: return "madvise(MADV_HUGEPAGE)";
	case SUBJECT_STEP_POPULATE: return "madvise(MADV_POPULATE_WRITE)";
	case SUBJECT_STEP_MPROTECT: return "mprotect for PTE-remap";
	case SUBJECT_STEP_PIPE: return "pipe";
	case SUBJECT_STEP_CLONE: return "clone";
	case SUBJECT_STEP_WAIT: return "waitpid";
	case SUBJECT_STEP_MUNMAP: return "munmap";
	case SUBJECT_STEP_COUNTERS: return "counter fd";
	case SUBJECT_STEP_PTE_WALK: return "pgtbench.ko PTE_WALK";
	default: return "call";
	}
}

/* The subject's image in a memfd, to be executed from there: nothing to install or find. */
int subjectImageFd()
{
	int fd = static_cast<int>(syscall(SYS_memfd_create, "pgtbench-subject", MFD_CLOEXEC));
	if (fd < 0)
		throw RuntimeError(fmt::format("cannot start the fork subject: memfd_create: {}", strerror(errno)));
	size_t done = 0;
	while (done < pgt_subject_image_size) {
		ssize_t n = write(fd, pgt_subject_image + done, pgt_subject_image_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			throw RuntimeError(fmt::format("cannot start the fork subject: write: {}", strerror(errno)));
		}
		done += static_cast<size_t>(n);
	}
	return fd;
}

/*
 * A pipe whose reader died raises SIGPIPE in the writer: held off for this write and
 * consumed, so that a subject that exited is a one-line error, not the harness's death.
 */
ssize_t writeRequest(int fd, const subject_request &q)
{
	sigset_t pipe_only, old;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	ssize_t n;
	while ((n = write(fd, &q, sizeof(q))) < 0 && errno == EINTR)
		;
	if (n < 0 && errno == EPIPE) {
		sigset_t pending;
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE) && !sigismember(&old, SIGPIPE)) {
			const timespec zero{};
			while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR)
				;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, nullptr);
	return n;
}

} /* namespace */

Subject::Subject(const RunContext &ctx) : ctx_(ctx)
{
	int image = subjectImageFd();
	int req[2], rep[2];
	if (pipe2(req, O_CLOEXEC)) {
		close(image);
		throw RuntimeError(fmt::format("cannot start the fork subject: pipe2: {}", strerror(errno)));
	}
	if (pipe2(rep, O_CLOEXEC)) {
		int e = errno;
		close(image);
		close(req[0]);
		close(req[1]);
		throw RuntimeError(fmt::format("cannot start the fork subject: pipe2: {}", strerror(e)));
	}
	std::vector<std::pair<int, bool>> leaders;
	if (ctx.counters)
		leaders = ctx.counters->leaders();
	if (leaders.size() > SUBJECT_MAX_COUNTER_FDS)
		leaders.resize(SUBJECT_MAX_COUNTER_FDS);
	char name[] = "pgtbench-subject";
	/* The pipes keep their numbers across exec, so no dup can land on a counter's fd. */
	std::string in = std::to_string(req[0]), out = std::to_string(rep[1]);
	char *argv[] = {name, in.data(), out.data(), nullptr};
	char *envp[] = {nullptr};
	char empty[] = "";
	/*
	 * The raw clone, as for the timed forks (benches/fork.cpp): the child makes raw
	 * system calls only until it has become the subject.
	 */
	long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		syscall(SYS_fcntl, req[0], F_SETFD, 0);
		syscall(SYS_fcntl, rep[1], F_SETFD, 0);
		/* The counters' fds keep their numbers across exec. */
		for (auto [fd, group] : leaders)
			syscall(SYS_fcntl, fd, F_SETFD, 0);
		syscall(SYS_execveat, image, empty, argv, envp, AT_EMPTY_PATH);
		syscall(SYS_exit_group, 127);
	}
	close(image);
	close(req[0]);
	close(rep[1]);
	if (pid < 0) {
		close(req[1]);
		close(rep[0]);
		throw RuntimeError(fmt::format("cannot start the fork subject: clone: {}", strerror(errno)));
	}
	pid_ = static_cast<pid_t>(pid);
	req_ = req[1];
	rep_ = rep[0];
	subject_request q{};
	q.op = SUBJECT_SETUP;
	q.nr_fds = static_cast<uint32_t>(leaders.size());
	for (size_t i = 0; i < leaders.size(); i++) {
		q.fds[i] = leaders[i].first;
		if (leaders[i].second)
			q.group_mask |= 1u << i;
	}
	try {
		call(q, "setup");
	} catch (...) {
		stop();
		throw;
	}
}

Subject::~Subject()
{
	stop();
}

void Subject::stop()
{
	if (req_ >= 0) {
		/* EOF on its request pipe ends the subject, which lets a waiting child go first. */
		close(req_);
		req_ = -1;
	}
	if (rep_ >= 0) {
		close(rep_);
		rep_ = -1;
	}
	if (pid_ > 0) {
		while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR)
			;
		pid_ = -1;
	}
}

subject_reply Subject::call(subject_request q, const char *what)
{
	ssize_t n = writeRequest(req_, q);
	subject_reply r{};
	if (n == sizeof(q))
		while ((n = read(rep_, &r, sizeof(r))) < 0 && errno == EINTR)
			;
	if (n != sizeof(r)) {
		int status = 0;
		bool exited = waitpid(pid_, &status, WNOHANG) == pid_;
		if (exited)
			pid_ = -1;
		throw RuntimeError(fmt::format("the fork subject {} during {}{}", exited ? "exited" : "stopped answering",
					       what,
					       exited && WIFEXITED(status) && WEXITSTATUS(status) == 127
						       ? " (it could not be executed from its memfd: vm.memfd_noexec?)"
						       : ""));
	}
	if (r.err)
		throw RuntimeError(fmt::format("fork subject: {}: {}", stepName(r.step), strerror(r.err)));
	return r;
}

Subject::Region Subject::populate(const Params &p, const Env &env)
{
	Region r;
	r.size = static_cast<uint64_t>(p.integer("size"));
	r.order = static_cast<unsigned>(p.integer("order"));
	bool pmd_order = r.order > 0 && r.order == env.thp.pmd_order;
	bool pte_mapped = p.has("map") ? p.choice("map") == "pte" : r.order > 0;
	r.pmd_mapped = pmd_order && !pte_mapped;
	uint64_t page = env.page_size_bytes;
	uint64_t pmd = env.thp.pmd_size_bytes ? env.thp.pmd_size_bytes : 2ull << 20;
	uint64_t folio = page << r.order;
	if (r.size == 0 || r.size % folio)
		throw RuntimeError(fmt::format("size {} is not a multiple of the {} folio size", formatSize(r.size),
					       formatSize(folio)));
	subject_request q{};
	q.op = SUBJECT_MAP;
	q.size = r.size;
	q.align = std::max(folio, pmd);
	/* As AnonRegion: NOHUGEPAGE pins order 0, HUGEPAGE makes the kernel try harder. */
	q.advice = r.order ? MADV_HUGEPAGE : MADV_NOHUGEPAGE;
	r.addr = call(q, "mmap").addr;
	q = {};
	q.op = SUBJECT_POPULATE;
	q.addr = r.addr;
	q.size = r.size;
	q.page_size = page;
	call(q, "populate");
	if (pmd_order && pte_mapped) {
		q.op = SUBJECT_PTE_REMAP;
		q.pmd_size = pmd;
		call(q, "PTE-remap");
	}
	return r;
}

void Subject::unmap(const Region &r)
{
	subject_request q{};
	q.op = SUBJECT_MUNMAP;
	q.addr = r.addr;
	q.size = r.size;
	call(q, "munmap");
}

Elapsed Subject::fork(Sample &s)
{
	subject_request q{};
	q.op = SUBJECT_FORK;
	q.flags = SUBJECT_TIMED;
	uint64_t window = ctx_.armRemote();
	subject_reply r = call(q, "fork");
	ctx_.finishRemote(s, window);
	return {r.ns};
}

Elapsed Subject::release(Sample &s)
{
	subject_request q{};
	q.op = SUBJECT_RELEASE;
	q.flags = SUBJECT_TIMED;
	const Bracket teardown{.counters_prefix = "teardown."};
	uint64_t window = ctx_.armRemote(teardown);
	subject_reply r = call(q, "the child's exit");
	ctx_.finishRemote(s, window, teardown);
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
		throw RuntimeError("forked child did not exit cleanly");
	return {r.ns};
}

Elapsed Subject::munmap(Sample &s, Region &region)
{
	subject_request q{};
	q.op = SUBJECT_MUNMAP;
	q.flags = SUBJECT_TIMED;
	q.addr = region.addr;
	q.size = region.size;
	uint64_t window = ctx_.armRemote();
	subject_reply r = call(q, "munmap");
	ctx_.finishRemote(s, window);
	region.addr = 0;
	return {r.ns};
}

Elapsed Subject::writeBytes(Sample &s, const Region &region, const Env &env)
{
	subject_request q{};
	q.op = SUBJECT_WRITE_BYTES;
	q.flags = SUBJECT_TIMED;
	q.addr = region.addr;
	q.size = region.size;
	q.page_size = env.page_size_bytes;
	uint64_t window = ctx_.armRemote();
	subject_reply r = call(q, "the writes");
	ctx_.finishRemote(s, window);
	return {r.ns};
}

void Subject::forkChild()
{
	subject_request q{};
	q.op = SUBJECT_FORK;
	call(q, "fork");
}

void Subject::releaseChild()
{
	subject_request q{};
	q.op = SUBJECT_RELEASE;
	subject_reply r = call(q, "the child's exit");
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
		throw RuntimeError("forked child did not exit cleanly");
}

void Subject::handOver()
{
	subject_request q{};
	q.op = SUBJECT_HANDOVER;
	subject_reply r = call(q, "the hand-over to its child");
	/* The old subject has exited (the reply says so); it was ours to reap. */
	int status = 0;
	while (waitpid(pid_, &status, 0) < 0 && errno == EINTR)
		;
	pid_ = static_cast<pid_t>(r.pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		throw RuntimeError("the fork subject did not exit cleanly when handing over to its child");
}

FolioCheck Subject::check(const Region &r, const Env &env, std::string when) const
{
	FolioCheck c = checkFolios(pid_, r.addr, r.size, r.order, env.page_size_bytes, r.pmd_mapped);
	c.when = std::move(when);
	return c;
}

unsigned Subject::vmaCount() const
{
	std::ifstream in(fmt::format("/proc/{}/maps", pid_));
	std::string line;
	unsigned n = 0;
	while (std::getline(in, line))
		n++;
	return n;
}

nlohmann::json Subject::mapping(const Region &r, const Env &env, const std::string &when)
{
	if (std::string why = mappingUnavailable(env); !why.empty())
		return mappingNa(why);
	subject_request q{};
	q.op = SUBJECT_PTE_WALK;
	q.addr = r.addr;
	q.size = r.size;
	return mappingJson(call(q, "the PTE walk").walk, when);
}

nlohmann::json subjectCheck(const Subject &subject)
{
	return {{"process", "pgtbench-subject"}, {"vma_count", subject.vmaCount()}};
}

} /* namespace pgt */
