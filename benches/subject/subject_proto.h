/* SPDX-License-Identifier: GPL-2.0 */
/*
 * subject_proto.h - the requests the harness sends to its fork subject and the replies.
 *
 * fork() copies every VMA of the process that calls it, and the harness has about three
 * times as many as the mm threads' benchmark (a small C program): its libraries, its
 * heap, its threads' stacks. So the folio scenarios that time fork and munmap run them
 * in a lean process of their own, the subject (subject.c), which pgtbench carries inside
 * itself and starts from a memfd. It maps, populates and times exactly as the threads'
 * benchmark does, and nothing else runs in it between populating and the timed call.
 *
 * One request, one reply, each a fixed-size message over a pipe: requests on the fd
 * the subject's argv[1] names, replies on argv[2]'s. Pipes rather than a socket because
 * the minimal kernels a stack builds (allnoconfig and a fragment) have no AF_UNIX, and
 * a message shorter than PIPE_BUF is written whole. The counters the harness opened
 * (inherited by the subject) are enabled by the subject itself right around the timed
 * call, so they count neither the messages nor the harness; the emulator's window
 * markers sit inside them, the clock inside those.
 */
#ifndef PGTBENCH_SUBJECT_PROTO_H
#define PGTBENCH_SUBJECT_PROTO_H

#include <stdint.h>

#include "pgtbench_abi.h"

#define SUBJECT_MAX_COUNTER_FDS	32

enum subject_op {
	/* Remember the counter leaders' fds (inherited across exec at these numbers). */
	SUBJECT_SETUP = 1,
	/* mmap size+align, trim to an align-aligned size, madvise(advice); reply addr. */
	SUBJECT_MAP,
	/* Fault in [addr, addr+size) by writing every page (MADV_POPULATE_WRITE first). */
	SUBJECT_POPULATE,
	/* Replace each PMD mapping by a PTE table: mprotect one page away and back. */
	SUBJECT_PTE_REMAP,
	/* clone(), timed with SUBJECT_TIMED; the child waits until RELEASE. Reply ns, its pid. */
	SUBJECT_FORK,
	/* Let the child of the last FORK exit and reap it (timed likewise). Reply ns, status. */
	SUBJECT_RELEASE,
	/* munmap(addr, size), timed when flags has SUBJECT_TIMED. */
	SUBJECT_MUNMAP,
	/* Exit at once (the harness also closes its request pipe: the subject exits on EOF). */
	SUBJECT_EXIT,
	/*
	 * pgtbench.ko's PTE_WALK of [addr, addr+size) in the subject's own page table: the
	 * module walks its caller's. The harness did the module's handshake (INFO) and
	 * asks only where the module offers PGTBENCH_CAP_PTE_WALK. Reply walk.
	 */
	SUBJECT_PTE_WALK,
	/* Write one byte per page_size of [addr, addr+size), timed with SUBJECT_TIMED. */
	SUBJECT_WRITE_BYTES,
	/*
	 * The subject forks and exits, and its child goes on as the subject: the same
	 * pipes, counters and address space, now with every page shared with a parent that
	 * is gone. The child is a sibling (CLONE_PARENT), so the harness reaps the old
	 * subject and will reap the new one. The reply comes from the child once the
	 * parent's exit has torn its address space down. Reply pid (the new subject).
	 */
	SUBJECT_HANDOVER,
};

/* Request flags. */
#define SUBJECT_TIMED		(1u << 0) /* clock, counters and window around the call */

struct subject_request {
	uint32_t op;
	uint32_t flags;
	uint64_t addr;
	uint64_t size;
	uint64_t align;		/* MAP: alignment of the start */
	uint64_t page_size;	/* POPULATE, PTE_REMAP */
	uint64_t pmd_size;	/* PTE_REMAP */
	int32_t advice;		/* MAP: MADV_HUGEPAGE or MADV_NOHUGEPAGE */
	uint32_t nr_fds;	/* SETUP */
	int32_t fds[SUBJECT_MAX_COUNTER_FDS];	/* SETUP: counter group leaders */
	uint32_t group_mask;	/* SETUP: bit i: fds[i] leads a group (enable the group) */
	uint32_t reserved;
};

struct subject_reply {
	int32_t err;		/* 0, or the errno of the call that failed */
	uint32_t step;		/* which call failed: SUBJECT_STEP_* */
	uint64_t addr;		/* MAP */
	uint64_t ns;		/* timed requests: the call, between two clock reads */
	int64_t pid;		/* FORK: the child; HANDOVER: the new subject */
	int32_t status;		/* RELEASE: the child's wait status */
	uint32_t reserved;
	struct pgtbench_pte_walk walk;	/* PTE_WALK */
};

/* Atomic pipe writes: each message is written and read whole (POSIX's PIPE_BUF >= 512). */
#ifdef __cplusplus
#define SUBJECT_STATIC_ASSERT static_assert
#else
#define SUBJECT_STATIC_ASSERT _Static_assert
#endif
SUBJECT_STATIC_ASSERT(sizeof(struct subject_request) <= 512, "a request fits one pipe write");
SUBJECT_STATIC_ASSERT(sizeof(struct subject_reply) <= 512, "a reply fits one pipe write");

enum subject_step {
	SUBJECT_STEP_NONE = 0,
	SUBJECT_STEP_REQUEST,	/* the request itself was bad */
	SUBJECT_STEP_MMAP,
	SUBJECT_STEP_MADVISE,
	SUBJECT_STEP_POPULATE,
	SUBJECT_STEP_MPROTECT,
	SUBJECT_STEP_PIPE,
	SUBJECT_STEP_CLONE,
	SUBJECT_STEP_WAIT,
	SUBJECT_STEP_MUNMAP,
	SUBJECT_STEP_COUNTERS,
	SUBJECT_STEP_PTE_WALK,	/* opening pgtbench.ko's ctl file or its PTE_WALK ioctl */
};

#endif /* PGTBENCH_SUBJECT_PROTO_H */
