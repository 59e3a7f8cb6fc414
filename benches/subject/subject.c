// SPDX-License-Identifier: GPL-2.0
/*
 * subject.c - the lean process in which the folio scenarios time fork() and munmap()
 * (subject_proto.h says why). It links only the C library, allocates nothing, and
 * between two requests only waits on its request pipe, so its address space is what a
 * small C benchmark's is: its program, libc, the loader, stack, vDSO - and the region.
 *
 * The child of a FORK makes raw system calls only (see benches/fork.cpp: glibc's fork()
 * never returns in the child of a dynamically linked program in the emulated guest).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pgtbench_marker.h"
#include "subject_proto.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static int counter_fds[SUBJECT_MAX_COUNTER_FDS];
static uint32_t counter_groups, nr_counters;
static int release_fd = -1;
static long child = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void counters(unsigned long cmd)
{
	for (uint32_t i = 0; i < nr_counters; i++)
		ioctl(counter_fds[i], cmd, (counter_groups >> i) & 1 ? PERF_IOC_FLAG_GROUP : 0);
}

/*
 * The bracket of every timed call, as the harness's own (harness/scenario.h): counters
 * outside, the emulator's window inside them, the clock innermost.
 */
static void open_bracket(uint64_t *t0)
{
	counters(PERF_EVENT_IOC_ENABLE);
#if defined(__aarch64__)
	asm volatile(PGTBENCH_MARKER_OPEN_ASM ::: "memory");
#endif
	*t0 = now_ns();
}

static uint64_t close_bracket(uint64_t t0)
{
	uint64_t t1 = now_ns();

#if defined(__aarch64__)
	asm volatile(PGTBENCH_MARKER_CLOSE_ASM ::: "memory");
#endif
	counters(PERF_EVENT_IOC_DISABLE);
	return t1 - t0;
}

static int fail(struct subject_reply *r, uint32_t step)
{
	r->err = errno ? errno : EIO;
	r->step = step;
	return -1;
}

static int do_map(const struct subject_request *q, struct subject_reply *r)
{
	uint64_t align = q->align;
	char *raw, *start, *end, *raw_end;

	if (!q->size || !align || (align & (align - 1)))
		return errno = EINVAL, fail(r, SUBJECT_STEP_REQUEST);
	raw = mmap(NULL, q->size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return fail(r, SUBJECT_STEP_MMAP);
	/* Over-mapped and trimmed, so folios and PMD mappings can line up with the range. */
	start = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	end = start + q->size;
	raw_end = raw + q->size + align;
	if (start > raw)
		munmap(raw, (size_t)(start - raw));
	if (raw_end > end)
		munmap(end, (size_t)(raw_end - end));
	if (madvise(start, q->size, q->advice) && q->advice == MADV_HUGEPAGE)
		return fail(r, SUBJECT_STEP_MADVISE);
	r->addr = (uintptr_t)start;
	return 0;
}

static int do_populate(const struct subject_request *q, struct subject_reply *r)
{
	char *p = (char *)(uintptr_t)q->addr;

	/* One system call faults the whole range in (5.14+); writing every page before. */
	if (madvise(p, q->size, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL || !q->page_size)
		return fail(r, SUBJECT_STEP_POPULATE);
	for (uint64_t off = 0; off < q->size; off += q->page_size)
		((volatile char *)p)[off] = 1;
	return 0;
}

static int do_pte_remap(const struct subject_request *q, struct subject_reply *r)
{
	char *p = (char *)(uintptr_t)q->addr;

	/*
	 * A PMD entry cannot give one subpage another protection, so the kernel maps that
	 * THP with a PTE table and keeps the folio; the protection restored at once lets
	 * the VMAs merge again (benches/lib/folio.h: the "PTE-mapped THP").
	 */
	if (!q->pmd_size || !q->page_size)
		return errno = EINVAL, fail(r, SUBJECT_STEP_REQUEST);
	for (uint64_t off = 0; off < q->size; off += q->pmd_size)
		if (mprotect(p + off, q->page_size, PROT_READ) ||
		    mprotect(p + off, q->page_size, PROT_READ | PROT_WRITE))
			return fail(r, SUBJECT_STEP_MPROTECT);
	return 0;
}

static int do_fork(const struct subject_request *q, struct subject_reply *r)
{
	int timed = q->flags & SUBJECT_TIMED;
	int release[2];
	uint64_t t0 = 0;
	long pid;
	char c;

	if (child > 0)
		return errno = EBUSY, fail(r, SUBJECT_STEP_REQUEST);
	if (pipe2(release, O_CLOEXEC))
		return fail(r, SUBJECT_STEP_PIPE);
	if (timed)
		open_bracket(&t0);
	pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		syscall(SYS_close, release[1]);
		syscall(SYS_read, release[0], &c, 1);
		syscall(SYS_exit_group, 0);
	}
	if (timed)
		r->ns = close_bracket(t0);
	close(release[0]);
	if (pid < 0) {
		close(release[1]);
		return fail(r, SUBJECT_STEP_CLONE);
	}
	child = pid;
	release_fd = release[1];
	r->pid = pid;
	return 0;
}

static int do_release(const struct subject_request *q, struct subject_reply *r)
{
	int timed = q->flags & SUBJECT_TIMED;
	uint64_t t0 = 0;
	int status = 0;
	pid_t got;

	if (child <= 0)
		return errno = ECHILD, fail(r, SUBJECT_STEP_REQUEST);
	/* The child's exit is the teardown of its page tables; its counters count it. */
	if (timed)
		open_bracket(&t0);
	close(release_fd);
	while ((got = waitpid((pid_t)child, &status, 0)) < 0 && errno == EINTR)
		;
	if (timed)
		r->ns = close_bracket(t0);
	release_fd = -1;
	child = -1;
	if (got < 0)
		return fail(r, SUBJECT_STEP_WAIT);
	r->status = status;
	return 0;
}

static int do_munmap(const struct subject_request *q, struct subject_reply *r)
{
	void *p = (void *)(uintptr_t)q->addr;
	uint64_t t0 = 0;
	int rc;

	if (q->flags & SUBJECT_TIMED)
		open_bracket(&t0);
	rc = munmap(p, q->size);
	if (q->flags & SUBJECT_TIMED)
		r->ns = close_bracket(t0);
	return rc ? fail(r, SUBJECT_STEP_MUNMAP) : 0;
}

static int do_write_bytes(const struct subject_request *q, struct subject_reply *r)
{
	volatile char *p = (volatile char *)(uintptr_t)q->addr;
	uint64_t t0 = 0;

	if (!q->page_size || !q->size)
		return errno = EINVAL, fail(r, SUBJECT_STEP_REQUEST);
	if (q->flags & SUBJECT_TIMED)
		open_bracket(&t0);
	for (uint64_t off = 0; off < q->size; off += q->page_size)
		p[off] = 3;
	if (q->flags & SUBJECT_TIMED)
		r->ns = close_bracket(t0);
	return 0;
}

/*
 * Returns 1 in the new subject (which then answers), 0 in the old one on success (which
 * must exit without answering), -1 on failure (the old one answers with the error).
 */
static int do_handover(struct subject_reply *r)
{
	int gone[2];
	long pid;
	char c;

	if (child > 0)
		return errno = EBUSY, fail(r, SUBJECT_STEP_REQUEST);
	if (pipe2(gone, O_CLOEXEC))
		return fail(r, SUBJECT_STEP_PIPE);
	pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		close(gone[0]);
		close(gone[1]);
		return fail(r, SUBJECT_STEP_CLONE);
	}
	if (pid > 0) {
		close(gone[0]);
		return 0;
	}
	/*
	 * The parent's last reference to the pipe goes in exit_files(), after exit_mm()
	 * has unmapped its address space: EOF here means its pages are ours alone.
	 */
	syscall(SYS_close, gone[1]);
	while (syscall(SYS_read, gone[0], &c, 1) < 0 && errno == EINTR)
		;
	syscall(SYS_close, gone[0]);
	r->pid = syscall(SYS_getpid);
	return 1;
}

static int do_pte_walk(const struct subject_request *q, struct subject_reply *r)
{
	int fd = open(PGTBENCH_CTL_PATH, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return fail(r, SUBJECT_STEP_PTE_WALK);
	r->walk.start = q->addr;
	r->walk.length = q->size;
	rc = ioctl(fd, PGTBENCH_IOC_PTE_WALK, &r->walk);
	close(fd);
	return rc ? fail(r, SUBJECT_STEP_PTE_WALK) : 0;
}

static int do_setup(const struct subject_request *q, struct subject_reply *r)
{
	if (q->nr_fds > SUBJECT_MAX_COUNTER_FDS)
		return errno = EINVAL, fail(r, SUBJECT_STEP_REQUEST);
	for (uint32_t i = 0; i < q->nr_fds; i++)
		if (fcntl(q->fds[i], F_GETFD) < 0)
			return fail(r, SUBJECT_STEP_COUNTERS);
	memcpy(counter_fds, q->fds, sizeof(counter_fds));
	counter_groups = q->group_mask;
	nr_counters = q->nr_fds;
	return 0;
}

/* Reads or writes one whole message; a short count means the other side is gone. */
static int transfer(int fd, void *msg, size_t len, int out)
{
	ssize_t n;

	do
		n = out ? write(fd, msg, len) : read(fd, msg, len);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len;
}

int main(int argc, char **argv)
{
	struct subject_request q;
	struct subject_reply r;
	int in, out;

	if (argc != 3)
		return 2;
	in = (int)strtol(argv[1], NULL, 10);
	out = (int)strtol(argv[2], NULL, 10);
	/* A harness that went away ends us through a failed write, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		memset(&q, 0, sizeof(q));
		if (!transfer(in, &q, sizeof(q), 0))
			break; /* the harness is gone */
		memset(&r, 0, sizeof(r));
		errno = 0;
		if (q.reserved) {
			errno = EINVAL;
			fail(&r, SUBJECT_STEP_REQUEST);
		} else {
			switch (q.op) {
			case SUBJECT_SETUP: do_setup(&q, &r); break;
			case SUBJECT_MAP: do_map(&q, &r); break;
			case SUBJECT_POPULATE: do_populate(&q, &r); break;
			case SUBJECT_PTE_REMAP: do_pte_remap(&q, &r); break;
			case SUBJECT_FORK: do_fork(&q, &r); break;
			case SUBJECT_RELEASE: do_release(&q, &r); break;
			case SUBJECT_WRITE_BYTES: do_write_bytes(&q, &r); break;
			case SUBJECT_HANDOVER:
				if (do_handover(&r) == 0)
					syscall(SYS_exit_group, 0);
				break;
			case SUBJECT_MUNMAP: do_munmap(&q, &r); break;
			case SUBJECT_PTE_WALK: do_pte_walk(&q, &r); break;
			case SUBJECT_EXIT: return 0;
			default: errno = EINVAL; fail(&r, SUBJECT_STEP_REQUEST); break;
			}
		}
		if (!transfer(out, &r, sizeof(r), 1))
			break;
	}
	/* A child still waiting goes with us: closing the pipe lets it exit. */
	if (release_fd >= 0)
		close(release_fd);
	if (child > 0)
		waitpid((pid_t)child, NULL, 0);
	return 0;
}
