/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pgtbench_abi.h - the one interface between pgtbench.ko and the pgtbench harness.
 *
 * Compiled as C by kbuild and as C++20 by the harness, so it uses only <linux/types.h>
 * and <linux/ioctl.h>. The rules that keep it stable:
 *
 *  - Handshake first: PGTBENCH_IOC_INFO returns abi_version; a harness whose
 *    PGTBENCH_ABI_VERSION differs must not issue any other command. Only the commands and
 *    capability bits change without a version bump; a layout change bumps the version.
 *  - Every command is _IOWR over one struct whose size is part of the command number, so
 *    a caller built against a different layout gets -ENOTTY instead of misread fields.
 *  - Only __u64/__u32 fields, padding written out, pointers (if ever needed) carried as
 *    __u64: the layout is then identical for 64-bit and 32-bit (compat) callers and for
 *    both languages, which the size assertions at the bottom pin.
 *  - Fields named reserved* must be zero on input (-EINVAL otherwise) and come back zero,
 *    so later versions can give them a meaning without breaking old callers. Output fields
 *    are ignored on input and always overwritten.
 *  - Errors, common to all commands: -EPERM without CAP_SYS_ADMIN, -ENOTTY for a command
 *    this module does not know, -EINVAL for bad arguments (nothing was done), -EFAULT when
 *    the struct cannot be copied, -EOPNOTSUPP for a designed but unimplemented command
 *    (its PGTBENCH_CAP_* bit is clear in pgtbench_info.caps).
 *  - All work runs in the calling thread; times are CLOCK_MONOTONIC nanoseconds
 *    (ktime_get_ns()) taken inside the kernel around the measured work only.
 */
#ifndef PGTBENCH_ABI_H
#define PGTBENCH_ABI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define PGTBENCH_ABI_VERSION 1

/* debugfs must be mounted there; the file is 0600 and needs CAP_SYS_ADMIN. */
#define PGTBENCH_CTL_PATH "/sys/kernel/debug/pgtbench/ctl"

/*
 * Arbitrary: these numbers are only ever issued on the file above, so a clash with
 * another driver's commands would be harmless (they would get -ENOTTY here).
 */
#define PGTBENCH_IOC_MAGIC 0xB9

/*
 * Returned with every command's results. Counts the TLB invalidations and barriers the
 * module's own code issues for the command (each inline tlbi, dsb or isb it executes).
 * Those executed inside core kernel functions the command calls (vfree()'s lazy purge,
 * say) cannot be seen from a module and are not included: read the counts as the part of
 * the cost the command's strategy chooses, not as the total.
 */
struct pgtbench_counts {
	__u64 tlbi_count;
	__u64 dsb_count;
	__u64 isb_count;
};

/* ---------------------------------------------------------------------------------- */
/* PGTBENCH_IOC_INFO: what the loaded module is and can do. No inputs. */

/* Capability bits in pgtbench_info.caps. INFO itself is always available. */
#define PGTBENCH_CAP_NOP		(1ULL << 0)
#define PGTBENCH_CAP_VMALLOC_STORM	(1ULL << 1)
#define PGTBENCH_CAP_MAP_MEM_REPLAY	(1ULL << 2)
#define PGTBENCH_CAP_VMALLOC_SPLIT	(1ULL << 3)	/* VMALLOC_STORM takes
							 * PGTBENCH_VMALLOC_SPLIT */
#define PGTBENCH_CAP_PTE_WALK		(1ULL << 4)
#define PGTBENCH_CAP_VMALLOC_KTHREAD	(1ULL << 5)	/* VMALLOC_STORM takes
							 * PGTBENCH_VMALLOC_KTHREAD */

/* utsname release is at most 64 characters plus NUL; rounded up to keep 8-byte fields. */
#define PGTBENCH_RELEASE_LEN 72

struct pgtbench_info {
	__u32 abi_version;	/* out: the module's PGTBENCH_ABI_VERSION */
	__u32 page_size;	/* out: kernel PAGE_SIZE in bytes (4K, 16K or 64K on arm64) */
	__u32 page_shift;	/* out: kernel PAGE_SHIFT */
	__u32 va_bits;		/* out: kernel VA bits in use (arm64: from TCR_EL1.T1SZ on
				 * kernels that read it, else VA_BITS), 0 if unknown */
	__u64 caps;		/* out: PGTBENCH_CAP_* the module implements */
	char release[PGTBENCH_RELEASE_LEN];	/* out: uname -r, NUL-terminated */
	struct pgtbench_counts counts;	/* out: zero */
	__u64 reserved[4];	/* in/out: zero */
};

#define PGTBENCH_IOC_INFO _IOWR(PGTBENCH_IOC_MAGIC, 0x00, struct pgtbench_info)

/* ---------------------------------------------------------------------------------- */
/*
 * PGTBENCH_IOC_NOP: an empty loop, so the harness can calibrate the ioctl path itself.
 * Many calls with loops = 1 measure entry/exit from user space; one call with many loops
 * measures the in-kernel loop and timer cost (total_ns / loops).
 */
#define PGTBENCH_NOP_MAX_LOOPS 100000000ULL

struct pgtbench_nop {
	__u64 loops;		/* in: 1..PGTBENCH_NOP_MAX_LOOPS iterations (arm64: 2 instructions each) */
	__u64 total_ns;		/* out: time spent in the loop */
	struct pgtbench_counts counts;	/* out: zero, honestly: the loop issues none */
	__u64 reserved[4];	/* in/out: zero */
};

#define PGTBENCH_IOC_NOP _IOWR(PGTBENCH_IOC_MAGIC, 0x01, struct pgtbench_nop)

/* ---------------------------------------------------------------------------------- */
/*
 * PGTBENCH_IOC_VMALLOC_STORM: one of lib/test_vmalloc.c's cases run `loops` times in the
 * calling thread, with the results returned here instead of printed to dmesg. Several
 * harness threads issuing it at once give test_vmalloc's concurrent storm (nr_threads).
 * The cases keep test_vmalloc's names, so a row here sits next to its "Summary:" line.
 *
 * nr_pages sets the size each case works with; 0 selects what test_vmalloc does with
 * its nr_pages parameter left at 0 (the version that has use_huge):
 *   FIX_SIZE_ALLOC           vmalloc(nr_pages) or, with use_huge, vmalloc_huge(); touch
 *                            the first byte; vfree (default 1 page)
 *   FULL_FIT_ALLOC           fill fls(online CPUs) * 32 MiB with pairs of nr_pages areas,
 *                            free one of each pair, then allocate areas that exactly fit
 *                            the holes (default 1 page). The pairs are the setup, not timed;
 *                            2 * pairs * nr_pages must stay within PGTBENCH_VMALLOC_MAX_PAGES
 *   LONG_BUSY_LIST_ALLOC     each loop allocates nr_pages (default 100) and one page, and
 *                            frees both, while 15000 one-page areas stay busy (setup)
 *   RANDOM_SIZE_ALLOC        sizes uniformly in 1..nr_pages pages (default 100)
 *   FIX_ALIGN_ALLOC          __vmalloc_node() of nr_pages (default 5) aligned to
 *                            THREAD_ALIGN << 1, zeroed, on node 0
 *   RANDOM_SIZE_ALIGN_ALLOC  one draw r gives the size (r % nr_pages + 1 pages, default
 *                            nr_pages 10) and the alignment (1 << (r % 23)), as in
 *                            test_vmalloc
 *   PCPU_ALLOC               __alloc_percpu() of 1..PAGE_SIZE/4 random bytes with a random
 *                            alignment of 2..2048; objects are held until 35000 exist (one
 *                            test_vmalloc pcpu_alloc_test), then all freed; nr_pages must be 0
 *   VM_MAP_RAM               vm_map_ram()/vm_unmap_ram() of nr_pages pages allocated in the
 *                            setup (default 1 page)
 *   VMAP                     vmap()/vunmap() of nr_pages pages allocated in the setup
 *                            (default 1 << 8 pages); not a test_vmalloc case
 * use_huge must be 0 except in the vmalloc()-based cases (fix_size, full_fit,
 * long_busy_list, random_size). The random cases draw from prandom seeded with `seed`, so
 * a storm repeats exactly; pcpu_alloc draws its sizes and alignments the same way. Seed 0
 * draws from get_random_u32_inclusive() (random_size_align_alloc: get_random_u8()), as
 * test_vmalloc does, a new sequence every storm.
 *
 * FIX_ALIGN_ALLOC and RANDOM_SIZE_ALIGN_ALLOC need __vmalloc_node(), which kernels export
 * only when built with CONFIG_TEST_VMALLOC=m (test_vmalloc itself needs it). Elsewhere
 * they fail with -EOPNOTSUPP; nothing else can ask vmalloc for an alignment.
 *
 * Errors besides the common ones: -EINVAL for any argument out of bounds (checked before
 * anything is allocated, one line in the kernel log says which), -EOPNOTSUPP as above,
 * -ENOMEM when the setup cannot get its memory (everything it got is freed again).
 *
 * A storm stops early, frees everything and returns 0 with loops_done < loops when a
 * signal is pending for the caller (Ctrl-C, kill), checked every loop and setup step; it
 * yields the CPU (cond_resched()) at most once a second, as test_vmalloc's loops, which
 * never yield, leave the work they queue on their CPU out of their time. With
 * PGTBENCH_VMALLOC_VALIDATE_ONLY it checks the arguments and whether the case can run
 * here, and returns without allocating anything.
 *
 * With PGTBENCH_VMALLOC_KTHREAD the case runs in a kernel thread of the module's
 * ("pgtbench_storm/CPU"), bound to the caller's CPU, as test_vmalloc's workers are kernel
 * threads, while the caller waits for it; the results are the same fields. The caller's
 * signals still stop it early. What the calling task's counters see is then only its
 * wait: the work is the kthread's.
 *
 * Without PGTBENCH_VMALLOC_SPLIT nothing inside the loop reads the clock, so loop_ns and
 * case_ns time the case as test_vmalloc does, and alloc_ns, free_ns and clock_ns are 0.
 * With it every allocating and freeing call is timed with ktime_get_ns(), and clock_ns
 * is what one such bracket costs by itself (the median of back-to-back ktime_get_ns()
 * pairs, measured before the case): alloc_ns and free_ns have it taken off per call,
 * while loop_ns and case_ns include every clock read (in an emulated guest they can
 * double a one-page vm_map_ram).
 */
#define PGTBENCH_VMALLOC_FIX_SIZE_ALLOC		0
#define PGTBENCH_VMALLOC_FULL_FIT_ALLOC		1
#define PGTBENCH_VMALLOC_LONG_BUSY_LIST_ALLOC	2
#define PGTBENCH_VMALLOC_RANDOM_SIZE_ALLOC	3
#define PGTBENCH_VMALLOC_FIX_ALIGN_ALLOC	4
#define PGTBENCH_VMALLOC_RANDOM_SIZE_ALIGN_ALLOC 5
#define PGTBENCH_VMALLOC_PCPU_ALLOC		6
#define PGTBENCH_VMALLOC_VM_MAP_RAM		7
#define PGTBENCH_VMALLOC_VMAP			8
#define PGTBENCH_VMALLOC_NR_CASES		9

#define PGTBENCH_VMALLOC_MAX_LOOPS	1000000ULL
#define PGTBENCH_VMALLOC_MAX_PAGES	(1ULL << 18)	/* 1 GiB of 4K pages per allocation */

/* pgtbench_vmalloc_storm.flags */
#define PGTBENCH_VMALLOC_VALIDATE_ONLY	(1ULL << 0)	/* check arguments, run nothing */
#define PGTBENCH_VMALLOC_SPLIT		(1ULL << 1)	/* time each call: alloc_ns, free_ns */
#define PGTBENCH_VMALLOC_KTHREAD	(1ULL << 2)	/* run the case in a kernel thread */
#define PGTBENCH_VMALLOC_FLAGS		(PGTBENCH_VMALLOC_VALIDATE_ONLY | PGTBENCH_VMALLOC_SPLIT | \
					 PGTBENCH_VMALLOC_KTHREAD)

struct pgtbench_vmalloc_storm {
	__u32 case_id;		/* in: PGTBENCH_VMALLOC_*, below PGTBENCH_VMALLOC_NR_CASES */
	__u32 use_huge;		/* in: 0 or 1; 1 allocates with vmalloc_huge() (PMD mappings
				 * where size and alignment allow) in the vmalloc()-based cases */
	__u64 loops;		/* in: 1..PGTBENCH_VMALLOC_MAX_LOOPS */
	__u64 nr_pages;		/* in: 0 (case default) or 1..PGTBENCH_VMALLOC_MAX_PAGES */
	__u64 seed;		/* in: seeds the random_* and pcpu cases' PRNG, so a run can be
				 * repeated exactly; 0 draws from get_random_*() instead, as
				 * test_vmalloc does (another sequence every storm) */
	__u64 flags;		/* in: PGTBENCH_VMALLOC_FLAGS bits; other bits EINVAL */
	__u64 reserved_in[3];	/* in: zero */

	__u64 loops_done;	/* out: loops completed (< loops only if a signal came) */
	__u64 nr_pages_used;	/* out: the nr_pages the case ran with (its default for 0) */
	__u64 alloc_calls;	/* out: allocating calls (vmalloc, vmap, ...), failed too */
	__u64 free_calls;	/* out: freeing calls (vfree, vunmap, ...) */
	__u64 alloc_ns;		/* out: SPLIT: time inside the allocating calls, summed, less
				 * clock_ns per call; 0 without SPLIT */
	__u64 free_ns;		/* out: SPLIT: the same for the freeing calls; 0 without */
	__u64 loop_ns;		/* out: the loop as a whole: the calls, the touches, the
				 * draws, the yields; pcpu_alloc's last frees included */
	__u64 case_ns;		/* out: setup + loop + teardown: what test_vmalloc times as one
				 * case (its "avg: N usec" per repeat) */
	__u64 failures;		/* out: allocations that returned NULL (the loop goes on) */
	__u64 bytes_allocated;	/* out: bytes of the successful allocations, summed */
	__u32 pmd_chunks;	/* out: PMD-aligned PMD-sized pieces of the first successful
				 * allocation with use_huge (0 without it: vmalloc() maps
				 * with PTEs only; 0 when smaller than a PMD) */
	__u32 pmd_chunks_contig; /* out: those backed by one naturally aligned, physically
				 * contiguous PMD-sized run: what vmalloc_huge() maps with
				 * PMD entries (its order-0 fallback practically never is) */
	struct pgtbench_counts counts;	/* out: zero: the command issues no TLBI/DSB/ISB of
					 * its own; vmalloc's own are inside the kernel */
	__u64 clock_ns;		/* out: SPLIT: the cost of one timed bracket, taken off
				 * alloc_ns and free_ns per call; 0 without SPLIT */
	__u64 worker_pid;	/* out: the thread id of the task that ran the case: the
				 * caller's, or with KTHREAD the module's kernel thread */
	__u64 reserved_out[2];	/* out: zero */
};

#define PGTBENCH_IOC_VMALLOC_STORM \
	_IOWR(PGTBENCH_IOC_MAGIC, 0x02, struct pgtbench_vmalloc_storm)

/* ---------------------------------------------------------------------------------- */
/*
 * PGTBENCH_IOC_MAP_MEM_REPLAY: replays what arm64's map_mem() does at boot - building the
 * linear map of size_bytes of memory at one granularity - into a private page table that
 * is never installed, reaching table pages through module-owned fixmap-like slots (real
 * kernel PTEs, so each map costs a PTE write and dsb+isb, each clear a real TLBI), so
 * that the cost of each strategy can be measured on a running kernel. The tree has the
 * 48-bit VA layout at the kernel's page size, maps fake physical addresses from 2 GiB
 * and is freed before the call returns. Every count below is exact and predictable from
 * the arguments (the harness's model does so).
 *
 * Errors: -EINVAL for a bad argument; -ENOMEM, before anything is built, when the table
 * pages would not fit in seven eighths of MemAvailable (about 2 MiB per GiB at PTE
 * granularity: 1 GiB of tables for 512 GiB); -EINTR when a signal is pending (everything freed);
 * -EOPNOTSUPP where the slots' kernel PTEs cannot be found.
 */
#define PGTBENCH_GRAN_PTE	0	/* base pages, no contiguous hint: rodata=full */
#define PGTBENCH_GRAN_CONT	1	/* base pages, the contiguous hint on aligned runs of
					 * CONT_PTES (blocks off, the hint on) */
#define PGTBENCH_GRAN_BLOCK	2	/* PUD (4K pages only) and PMD blocks where aligned,
					 * with the contiguous PMD/PTE hints: rodata=on */
#define PGTBENCH_NR_GRANS	3

/* The steps of the series; each includes those before it. */
#define PGTBENCH_REPLAY_BASE		0	/* v6.9: map to zero, map again to populate,
						 * remap per contiguous run */
#define PGTBENCH_REPLAY_NO_CONT_REMAP	1	/* one map per table and call */
#define PGTBENCH_REPLAY_BATCH_BARRIERS	2	/* PTEs without per-entry dsb/isb */
#define PGTBENCH_REPLAY_NO_ALLOC_REMAP	3	/* zero and populate in one mapping */
#define PGTBENCH_REPLAY_LAZY_UNMAP	4	/* PTE tables through a ring of slots,
						 * cleared together */
#define PGTBENCH_NR_REPLAY_STRATEGIES	5

/* Slots in LAZY_UNMAP's ring: one ranged invalidation clears this many. */
#define PGTBENCH_REPLAY_LAZY_SLOTS	16

/* Cap on the memory described (the memory itself is never touched). */
#define PGTBENCH_REPLAY_MAX_BYTES	(1ULL << 40)

/*
 * Indices of pgtbench_map_mem_replay.table_pages, in Linux's names; levels the layout
 * does not have stay 0, and so does PGD: the root stands for swapper_pg_dir, which
 * exists before map_mem() runs.
 */
#define PGTBENCH_LEVEL_PGD	0
#define PGTBENCH_LEVEL_P4D	1
#define PGTBENCH_LEVEL_PUD	2
#define PGTBENCH_LEVEL_PMD	3
#define PGTBENCH_LEVEL_PTE	4
#define PGTBENCH_NR_LEVELS	5

struct pgtbench_map_mem_replay {
	__u64 size_bytes;	/* in: a multiple of PAGE_SIZE, 1..PGTBENCH_REPLAY_MAX_BYTES */
	__u32 granularity;	/* in: PGTBENCH_GRAN_* */
	__u32 strategy;		/* in: PGTBENCH_REPLAY_* */
	__u64 reserved_in[4];	/* in: zero */

	__u64 total_ns;		/* out: time to build the tables (allocation up front and
				 * freeing after are not included) */
	__u64 ns_per_gib;	/* out: total_ns per GiB of size_bytes */
	__u64 table_pages[PGTBENCH_NR_LEVELS];	/* out: table pages allocated per level */
	__u64 slot_maps;	/* out: times a table page was mapped into a slot */
	__u64 slot_unmaps;	/* out: slot clears (each with a TLBI) */
	__u64 entries_written;	/* out: descriptors written into the tree (page, block
				 * and table entries) */
	struct pgtbench_counts counts;	/* out: every TLBI, DSB and ISB of the walk */
	__u64 reserved_out[2];	/* out: zero */
};

#define PGTBENCH_IOC_MAP_MEM_REPLAY \
	_IOWR(PGTBENCH_IOC_MAGIC, 0x03, struct pgtbench_map_mem_replay)

/* ---------------------------------------------------------------------------------- */
/*
 * PGTBENCH_IOC_PTE_WALK: how the calling process's page table maps [start, start +
 * length) - the proof of the mapping a folio scenario's region really got: PMD blocks
 * (PMD-mapped THP), arm64's contiguous PTEs (contpte: runs of CONT_PTES entries with
 * PTE_CONT), plain PTEs. Read-only, and safe against the process changing its own
 * region meanwhile: the mmap lock is held for reading and each PMD's worth is read
 * with interrupts off, so a table freed or a THP split or collapsed during the walk is
 * seen before or after the change, never freed under it. Every page of the range is in
 * exactly one *_pages field: pud + pmd + cont + pte + absent = length / page size.
 *
 * Errors: -EINVAL when start or length is not page-aligned, length is 0 or above
 * PGTBENCH_WALK_MAX_LENGTH, or the range is not below the user address limit;
 * -EOPNOTSUPP off arm64 (PGTBENCH_CAP_PTE_WALK clear). Unmapped parts are no error:
 * they are absent_pages.
 */
#define PGTBENCH_WALK_MAX_LENGTH	(1ULL << 40)

struct pgtbench_pte_walk {
	__u64 start;		/* in: a user address, page-aligned */
	__u64 length;		/* in: bytes, a multiple of the page size, 1..MAX_LENGTH */
	__u64 reserved_in[2];	/* in: zero */

	__u64 pud_blocks;	/* out: PUD block entries the range meets */
	__u64 pmd_blocks;	/* out: PMD block entries the range meets */
	__u64 cont_blocks;	/* out: contiguous-PTE runs the range meets */
	__u64 pud_pages;	/* out: pages of the range mapped by PUD blocks */
	__u64 pmd_pages;	/* out: ... by PMD blocks */
	__u64 cont_pages;	/* out: ... by present PTEs with PTE_CONT */
	__u64 pte_pages;	/* out: ... by present PTEs without it */
	__u64 absent_pages;	/* out: pages with no present entry (none, swap, migration) */
	__u64 cont_ptes;	/* out: PTEs in one contiguous run (CONT_PTES: 16 at 4K) */
	__u64 total_ns;		/* out: the walk's time */
	struct pgtbench_counts counts;	/* out: zero: a walk issues none */
	__u64 reserved_out[2];	/* out: zero */
};

#define PGTBENCH_IOC_PTE_WALK _IOWR(PGTBENCH_IOC_MAGIC, 0x04, struct pgtbench_pte_walk)

/* ---------------------------------------------------------------------------------- */
/* The sizes are the ABI: a change here must come with a new PGTBENCH_ABI_VERSION. */
#ifdef __cplusplus
#define PGTBENCH_ASSERT_SIZE(type, size) \
	static_assert(sizeof(type) == (size), "size of " #type " is ABI")
#else
#define PGTBENCH_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), "size of " #type " is ABI")
#endif

PGTBENCH_ASSERT_SIZE(struct pgtbench_counts, 24);
PGTBENCH_ASSERT_SIZE(struct pgtbench_info, 152);
PGTBENCH_ASSERT_SIZE(struct pgtbench_nop, 72);
PGTBENCH_ASSERT_SIZE(struct pgtbench_vmalloc_storm, 208);
PGTBENCH_ASSERT_SIZE(struct pgtbench_map_mem_replay, 168);
PGTBENCH_ASSERT_SIZE(struct pgtbench_pte_walk, 152);

#undef PGTBENCH_ASSERT_SIZE

#endif /* PGTBENCH_ABI_H */
