// SPDX-License-Identifier: GPL-2.0
/*
 * vmalloc_storm.c - PGTBENCH_IOC_VMALLOC_STORM: lib/test_vmalloc.c's cases, with
 * structured results.
 *
 * test_vmalloc is how the vmalloc and lazy-MMU series are measured (arm64 batches the
 * barriers of vmap/vunmap page-table updates), but it runs its cases from kthreads at
 * module load and prints an average per case to dmesg. Here one case runs `loops` times
 * in the caller's thread (with PGTBENCH_VMALLOC_KTHREAD in a kernel thread on its CPU,
 * as test_vmalloc's run) and the numbers come back in the ioctl: loops done, the loop's
 * and the case's time, failures, and with PGTBENCH_VMALLOC_SPLIT the time inside the
 * allocating and the freeing calls. The harness decides concurrency (its own pinned
 * threads, each issuing the ioctl), repetitions and which counters watch.
 *
 * Only a SPLIT storm reads the clock around each call: in an emulated guest a clock read
 * costs microseconds, as much as a one-page vm_map_ram, so a loop timed call by call
 * would no longer measure what test_vmalloc measures.
 *
 * The cases do what test_vmalloc's do, step for step (including the byte each touches),
 * with three differences: a failed allocation is counted and the loop goes on; the random
 * draws come from a seeded prandom state, so a storm repeats exactly (seed 0 draws from
 * get_random_*() as test_vmalloc does); and every call stops early on a pending signal,
 * so Ctrl-C of the harness ends a long storm at once.
 * Whatever a case allocates it frees on every path, before the ioctl returns.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/align.h>
#include <linux/bitops.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/pgtable.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

#include "pgtbench_internal.h"

const u64 pgtbench_vmalloc_caps = PGTBENCH_CAP_VMALLOC_STORM | PGTBENCH_CAP_VMALLOC_SPLIT |
				  PGTBENCH_CAP_VMALLOC_KTHREAD;

/* test_vmalloc's fixed sizes. */
#define STORM_BUSY_AREAS	15000	/* long_busy_list_alloc: one-page areas kept busy */
#define STORM_PCPU_BATCH	35000	/* pcpu_alloc: objects held at once */
#define STORM_JUNK_BYTES	SZ_32M	/* full_fit_alloc: per fls(online CPUs) */

/* storm_yield(): how long a storm may hold its CPU. */
#define STORM_RESCHED_JIFFIES	HZ

/* Back-to-back clock read pairs whose median is a SPLIT storm's clock_ns. */
#define STORM_CLOCK_PAIRS	301

/*
 * __vmalloc_node() is exported only for test_vmalloc (CONFIG_TEST_VMALLOC=m), so it is
 * looked up when a case needs it instead of being linked: the module then loads on every
 * kernel, and the two alignment cases answer -EOPNOTSUPP where it is missing. Since 6.10
 * the exported function is the _noprof one behind the allocation-profiling macro.
 */
#ifdef __vmalloc_node
#define storm_vmalloc_node_sym __vmalloc_node_noprof
#else
#define storm_vmalloc_node_sym __vmalloc_node
#endif

struct storm {
	struct pgtbench_vmalloc_storm *a;	/* the arguments, and the results as they grow */
	struct task_struct *caller;		/* whose signals stop the storm */
	const struct storm_case *c;
	unsigned long nr_pages;			/* a->nr_pages, or the case's default */
	unsigned long junk;			/* full_fit_alloc: areas per half of the setup */
	struct rnd_state rnd;
	typeof(&storm_vmalloc_node_sym) node_alloc;	/* when the case needs it */
	u64 loop_start;
	u64 excluded_ns;			/* the PMD check, in neither loop_ns nor case_ns */
	bool pmd_checked;
	bool split;				/* PGTBENCH_VMALLOC_SPLIT: time every call */
	unsigned long resched_at;		/* jiffies of the next storm_yield() */
};

struct storm_case {
	const char *name;
	long (*run)(struct storm *s);
	unsigned long default_pages;
	bool takes_pages;	/* nr_pages means something to it */
	bool takes_huge;	/* use_huge means something to it */
	bool needs_vmalloc_node;
};

/*
 * Lets others run, at most once per STORM_RESCHED_JIFFIES. test_vmalloc's loops never
 * yield, so what they queue on their CPU (lazy vmap purges, percpu chunk balancing)
 * waits until the case is over and is not in its time; a storm that yielded every loop
 * ran that work inside the case (1.4x test_vmalloc's pcpu_alloc and random_size_alloc
 * in the emulated guest). Once a second keeps a long storm well inside the soft-lockup
 * (20 s) and RCU stall (21 s) limits. jiffies, not the clock: a plain load.
 */
static void storm_yield(struct storm *s)
{
	if (time_after_eq(jiffies, s->resched_at)) {
		cond_resched();
		s->resched_at = jiffies + STORM_RESCHED_JIFFIES;
	}
}

/*
 * Between two loops (and two setup steps): stop for a pending signal. A fatal one
 * (Ctrl-C of a harness without handlers) is the case that matters; a handled one would
 * otherwise wait for the whole storm before its handler could run. The caller's, not
 * current's: a KTHREAD storm's thread never gets a signal.
 */
static bool storm_stop(struct storm *s)
{
	storm_yield(s);
	return signal_pending(s->caller);
}

/*
 * A draw in lo..hi. Seed 0 draws as test_vmalloc does, with get_random_u32_inclusive():
 * another sequence every storm, and in the emulated guest one pcpu_alloc pass's 70000
 * draws took 11 ms that way against prandom's 1 ms, 3% of the pass. Any other seed
 * draws from the seeded prandom state, so that a storm repeats exactly.
 */
static u32 storm_draw(struct storm *s, u32 lo, u32 hi)
{
	if (!s->a->seed)
		return get_random_u32_inclusive(lo, hi);
	return lo + prandom_u32_state(&s->rnd) % (hi - lo + 1);
}

/* The start of a call: read only in a SPLIT storm, so that a plain loop has no clock. */
static inline u64 storm_call_begin(const struct storm *s)
{
	return s->split ? ktime_get_ns() : 0;
}

/* Accounts one allocating call that began at t0 and returned p (size bytes asked). */
static void *storm_alloced(struct storm *s, u64 t0, void *p, unsigned long size)
{
	if (s->split)
		s->a->alloc_ns += ktime_get_ns() - t0;
	s->a->alloc_calls++;
	if (p)
		s->a->bytes_allocated += size;
	else
		s->a->failures++;
	return p;
}

static void storm_freed(struct storm *s, u64 t0)
{
	if (s->split)
		s->a->free_ns += ktime_get_ns() - t0;
	s->a->free_calls++;
}

static int storm_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * What timing one call adds by itself: the interval between two back-to-back
 * ktime_get_ns() holds the tail of one read and the head of the next, exactly what the
 * bracket around a call adds to it. The median, so that an interrupt in a few pairs
 * does not count. 0 when the array cannot be had (nothing is then taken off).
 */
static u64 storm_clock_cost(void)
{
	u64 *d, t, cost;
	int i;

	d = kmalloc_array(STORM_CLOCK_PAIRS, sizeof(*d), GFP_KERNEL);
	if (!d)
		return 0;
	for (i = 0; i < STORM_CLOCK_PAIRS; i++) {
		t = ktime_get_ns();
		d[i] = ktime_get_ns() - t;
	}
	sort(d, STORM_CLOCK_PAIRS, sizeof(*d), storm_cmp_u64, NULL);
	cost = d[STORM_CLOCK_PAIRS / 2];
	kfree(d);
	return cost;
}

/* The calls' times without their brackets; never below zero. */
static u64 storm_less_clock(u64 ns, u64 calls, u64 clock_ns)
{
	return ns > calls * clock_ns ? ns - calls * clock_ns : 0;
}

static void storm_loop_begin(struct storm *s)
{
	s->loop_start = ktime_get_ns();
}

static void storm_loop_end(struct storm *s)
{
	s->a->loop_ns = ktime_get_ns() - s->loop_start - s->excluded_ns;
}

static void *storm_vmalloc(struct storm *s, unsigned long size)
{
	return s->a->use_huge ? vmalloc_huge(size, GFP_KERNEL) : vmalloc(size);
}

/*
 * Whether use_huge really gave PMD mappings, from the first allocation that succeeded:
 * vmalloc_huge() maps a PMD-aligned piece with one PMD entry when it got a naturally
 * aligned, physically contiguous PMD-sized run of pages for it (one high-order page);
 * when that allocation fails it falls back to order-0 pages and PTE mappings, and those
 * pages practically never form such a run. vmalloc() always maps with PTEs, so only
 * use_huge is checked. Untimed.
 */
static void storm_check_pmd(struct storm *s, const void *p, unsigned long size)
{
	const unsigned long per_pmd = PMD_SIZE >> PAGE_SHIFT;
	unsigned long addr, end, i, pfn;
	bool contig;
	u64 t0;

	if (s->pmd_checked || !p || !s->a->use_huge)
		return;
	s->pmd_checked = true;
	t0 = ktime_get_ns();
	end = ALIGN_DOWN((unsigned long)p + size, PMD_SIZE);
	for (addr = ALIGN((unsigned long)p, PMD_SIZE); addr < end; addr += PMD_SIZE) {
		pfn = vmalloc_to_pfn((void *)addr);
		contig = IS_ALIGNED(pfn, per_pmd);
		for (i = 1; contig && i < per_pmd; i++)
			contig = vmalloc_to_pfn((void *)(addr + (i << PAGE_SHIFT))) == pfn + i;
		s->a->pmd_chunks++;
		s->a->pmd_chunks_contig += contig;
	}
	s->excluded_ns += ktime_get_ns() - t0;
}

static void storm_vfree(struct storm *s, void *p)
{
	u64 t;

	if (!p)
		return;
	t = storm_call_begin(s);
	vfree(p);
	storm_freed(s, t);
}

/* test_vmalloc's basic step: allocate, write the first byte, free. */
static void storm_alloc_touch_free(struct storm *s, unsigned long size)
{
	u64 t = storm_call_begin(s);
	u8 *p = storm_alloced(s, t, storm_vmalloc(s, size), size);

	if (!p)
		return;
	storm_check_pmd(s, p, size);
	WRITE_ONCE(*p, 1);
	storm_vfree(s, p);
}

/* ---- the cases ---------------------------------------------------------------------- */

static long case_fix_size_alloc(struct storm *s)
{
	unsigned long size = s->nr_pages << PAGE_SHIFT;

	storm_loop_begin(s);
	while (s->a->loops_done < s->a->loops && !storm_stop(s)) {
		storm_alloc_touch_free(s, size);
		s->a->loops_done++;
	}
	storm_loop_end(s);
	return 0;
}

static long case_random_size_alloc(struct storm *s)
{
	unsigned long n;

	storm_loop_begin(s);
	while (s->a->loops_done < s->a->loops && !storm_stop(s)) {
		n = storm_draw(s, 1, s->nr_pages);
		storm_alloc_touch_free(s, n << PAGE_SHIFT);
		s->a->loops_done++;
	}
	storm_loop_end(s);
	return 0;
}

/* vfree() of an array of areas (NULLs allowed) and of the array. */
static void storm_vfree_all(struct storm *s, void **areas, unsigned long n)
{
	unsigned long i;

	if (!areas)
		return;
	for (i = 0; i < n; i++) {
		vfree(areas[i]);
		storm_yield(s);
	}
	kvfree(areas);
}

/*
 * Fill the space with pairs of areas, free one of each pair: the loop's allocations then
 * fit the holes exactly. Nothing of the setup is timed.
 */
static long case_full_fit_alloc(struct storm *s)
{
	unsigned long size = s->nr_pages << PAGE_SHIFT, i, filled = 0;
	void **keep, **junk;
	long ret = 0;

	keep = kvcalloc(s->junk, sizeof(*keep), GFP_KERNEL);
	junk = kvcalloc(s->junk, sizeof(*junk), GFP_KERNEL);
	if (!keep || !junk) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s->junk; i++, filled++) {
		if (storm_stop(s))
			goto out;
		keep[i] = vmalloc(size);
		junk[i] = vmalloc(size);
		if (!keep[i] || !junk[i]) {
			filled++;
			ret = -ENOMEM;
			goto out;
		}
	}
	storm_vfree_all(s, junk, filled);
	junk = NULL;

	storm_loop_begin(s);
	while (s->a->loops_done < s->a->loops && !storm_stop(s)) {
		storm_alloc_touch_free(s, size);
		s->a->loops_done++;
	}
	storm_loop_end(s);
out:
	storm_vfree_all(s, junk, filled);
	storm_vfree_all(s, keep, filled);
	return ret;
}

static long case_long_busy_list_alloc(struct storm *s)
{
	unsigned long size = s->nr_pages << PAGE_SHIFT, i, busy = 0;
	void **areas;
	u8 *p1, *p2;
	long ret = 0;
	u64 t;

	areas = kvcalloc(STORM_BUSY_AREAS, sizeof(*areas), GFP_KERNEL);
	if (!areas)
		return -ENOMEM;
	for (i = 0; i < STORM_BUSY_AREAS; i++, busy++) {
		if (storm_stop(s))
			goto out;
		areas[i] = vmalloc(PAGE_SIZE);
		if (!areas[i]) {
			ret = -ENOMEM;
			goto out;
		}
	}

	storm_loop_begin(s);
	while (s->a->loops_done < s->a->loops && !storm_stop(s)) {
		t = storm_call_begin(s);
		p1 = storm_alloced(s, t, storm_vmalloc(s, size), size);
		t = storm_call_begin(s);
		p2 = storm_alloced(s, t, storm_vmalloc(s, PAGE_SIZE), PAGE_SIZE);
		storm_check_pmd(s, p1, size);
		if (p1)
			WRITE_ONCE(*p1, 0);
		if (p2)
			WRITE_ONCE(*p2, 1);
		storm_vfree(s, p1);
		storm_vfree(s, p2);
		s->a->loops_done++;
	}
	storm_loop_end(s);
out:
	storm_vfree_all(s, areas, busy);
	return ret;
}

static void *storm_vmalloc_aligned(struct storm *s, unsigned long size, unsigned long align)
{
	/* As test_vmalloc asks: zeroed, on node 0, the caller recorded for vmallocinfo. */
	return s->node_alloc(size, align, GFP_KERNEL | __GFP_ZERO, 0,
			       __builtin_return_address(0));
}

static long case_fix_align_alloc(struct storm *s)
{
	unsigned long size = s->nr_pages << PAGE_SHIFT;
	void *p;
	u64 t;

	storm_loop_begin(s);
	while (s->a->loops_done < s->a->loops && !storm_stop(s)) {
		t = storm_call_begin(s);
		p = storm_alloced(s, t, storm_vmalloc_aligned(s, size, THREAD_ALIGN << 1), size);
		storm_vfree(s, p);
		s->a->loops_done++;
	}
	storm_loop_end(s);
	return 0;
}

static long case_random_size_align_alloc(struct storm *s)
{
	unsigned long size, align;
	void *p;
	u32 r;
	u64 t;

	storm_loop_begin(s);
	while (s->a->loops_done < s->a->loops && !storm_stop(s)) {
		/* One draw for both, as test_vmalloc's random byte: up to 4 MiB alignment. */
		r = s->a->seed ? prandom_u32_state(&s->rnd) : get_random_u8();
		align = 1UL << (r % 23);
		size = (r % s->nr_pages + 1) << PAGE_SHIFT;
		t = storm_call_begin(s);
		p = storm_alloced(s, t, storm_vmalloc_aligned(s, size, align), size);
		storm_vfree(s, p);
		s->a->loops_done++;
	}
	storm_loop_end(s);
	return 0;
}

static void storm_pcpu_free_all(struct storm *s, void __percpu **objs, unsigned long *n)
{
	unsigned long i;
	u64 t;

	for (i = 0; i < *n; i++) {
		t = storm_call_begin(s);
		free_percpu(objs[i]);
		storm_freed(s, t);
		/*
		 * 35000 frees in a row hold the CPU for tens of seconds in an emulated
		 * guest on a busy host: the soft-lockup watchdog would fire.
		 */
		storm_yield(s);
	}
	*n = 0;
}

static long case_pcpu_alloc(struct storm *s)
{
	unsigned long held = 0, size, align;
	void __percpu **objs;
	void __percpu *p;
	u64 t;

	objs = kvcalloc(min_t(u64, s->a->loops, STORM_PCPU_BATCH), sizeof(*objs), GFP_KERNEL);
	if (!objs)
		return -ENOMEM;

	storm_loop_begin(s);
	while (s->a->loops_done < s->a->loops && !storm_stop(s)) {
		size = storm_draw(s, 1, PAGE_SIZE / 4);
		align = 1UL << storm_draw(s, 1, 11);
		t = storm_call_begin(s);
		p = __alloc_percpu(size, align);
		storm_alloced(s, t, (void __force *)p, size);
		if (p)
			objs[held++] = p;
		s->a->loops_done++;
		/* Every STORM_PCPU_BATCH attempts, as test_vmalloc frees its 35000. */
		if (!(s->a->loops_done % STORM_PCPU_BATCH))
			storm_pcpu_free_all(s, objs, &held);
	}
	storm_pcpu_free_all(s, objs, &held);
	storm_loop_end(s);
	kvfree(objs);
	return 0;
}

static void storm_free_pages(struct storm *s, struct page **pages, unsigned long n)
{
	unsigned long i;

	if (!pages)
		return;
	for (i = 0; i < n; i++) {
		__free_page(pages[i]);
		storm_yield(s);
	}
	kvfree(pages);
}

/* The pages vm_map_ram and vmap map: allocated once, before the loop. */
static struct page **storm_alloc_pages(struct storm *s, unsigned long *got, long *ret)
{
	struct page **pages;

	*got = 0;
	*ret = 0;
	pages = kvcalloc(s->nr_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages) {
		*ret = -ENOMEM;
		return NULL;
	}
	while (*got < s->nr_pages) {
		if (storm_stop(s))
			break;
		pages[*got] = alloc_page(GFP_KERNEL);
		if (!pages[*got]) {
			*ret = -ENOMEM;
			break;
		}
		(*got)++;
	}
	return pages;
}

static void *storm_vm_map_ram(struct page **pages, unsigned int count)
{
	return vm_map_ram(pages, count, NUMA_NO_NODE);
}

static void storm_vm_unmap_ram(void *addr, unsigned int count)
{
	vm_unmap_ram(addr, count);
}

static void *storm_vmap(struct page **pages, unsigned int count)
{
	return vmap(pages, count, VM_MAP, PAGE_KERNEL);
}

static void storm_vunmap(void *addr, unsigned int count)
{
	vunmap(addr);
}

/*
 * vm_map_ram and vmap: the same loop over a preallocated page array, two APIs, inlined
 * into each case so that the calls are direct. A plain storm's loop is test_vmalloc's
 * call for call, its counts in registers and stored once: in an emulated guest a
 * one-page vm_map_ram pair costs under 2 us, and the generic loop's bookkeeping (the
 * results' counters in memory, two indirect calls) was a visible part of that.
 */
static __always_inline long storm_map_pages(struct storm *s,
					    void *(*map)(struct page **pages, unsigned int count),
					    void (*unmap)(void *addr, unsigned int count))
{
	unsigned long size = s->nr_pages << PAGE_SHIFT, got;
	unsigned int n = s->nr_pages;
	u64 loops = s->a->loops, done = 0, failed = 0;
	struct page **pages;
	u8 *v;
	long ret;
	u64 t;

	pages = storm_alloc_pages(s, &got, &ret);
	if (got < s->nr_pages)
		goto out;

	storm_loop_begin(s);
	if (s->split) {
		while (s->a->loops_done < loops && !storm_stop(s)) {
			t = storm_call_begin(s);
			v = storm_alloced(s, t, map(pages, n), size);
			if (v) {
				WRITE_ONCE(*v, 'a');
				t = storm_call_begin(s);
				unmap(v, n);
				storm_freed(s, t);
			}
			s->a->loops_done++;
		}
	} else {
		for (; done < loops && !storm_stop(s); done++) {
			v = map(pages, n);
			if (unlikely(!v)) {
				failed++;
				continue;
			}
			WRITE_ONCE(*v, 'a');
			unmap(v, n);
		}
		s->a->loops_done = done;
		s->a->alloc_calls = done;
		s->a->free_calls = done - failed;
		s->a->failures = failed;
		s->a->bytes_allocated = (done - failed) * size;
	}
	storm_loop_end(s);
out:
	storm_free_pages(s, pages, got);
	return ret;
}

static long case_vm_map_ram(struct storm *s)
{
	return storm_map_pages(s, storm_vm_map_ram, storm_vm_unmap_ram);
}

static long case_vmap(struct storm *s)
{
	return storm_map_pages(s, storm_vmap, storm_vunmap);
}

/*
 * One line per case, named as in test_vmalloc: its size, and whether nr_pages and
 * use_huge mean something to it and it needs __vmalloc_node().
 */
#define STORM_CASE(id, fn, pages, sized, huge, node)				\
	[PGTBENCH_VMALLOC_##id] = { #fn, case_##fn, pages, sized, huge, node }

static const struct storm_case storm_cases[PGTBENCH_VMALLOC_NR_CASES] = {
	STORM_CASE(FIX_SIZE_ALLOC, fix_size_alloc, 1, true, true, false),
	STORM_CASE(FULL_FIT_ALLOC, full_fit_alloc, 1, true, true, false),
	STORM_CASE(LONG_BUSY_LIST_ALLOC, long_busy_list_alloc, 100, true, true, false),
	STORM_CASE(RANDOM_SIZE_ALLOC, random_size_alloc, 100, true, true, false),
	STORM_CASE(FIX_ALIGN_ALLOC, fix_align_alloc, 5, true, false, true),
	STORM_CASE(RANDOM_SIZE_ALIGN_ALLOC, random_size_align_alloc, 10, true, false, true),
	STORM_CASE(PCPU_ALLOC, pcpu_alloc, 0, false, false, false),
	STORM_CASE(VM_MAP_RAM, vm_map_ram, 1, true, false, false),
	STORM_CASE(VMAP, vmap, 1 << 8, true, false, false),
	/* Add a new case here, and its PGTBENCH_VMALLOC_* number in pgtbench_abi.h. */
};

/* One line in the kernel log says what was refused; the caller only sees EINVAL. */
#define storm_refuse(fmt, ...)							\
	({									\
		pr_info_ratelimited("VMALLOC_STORM refused: " fmt "\n", ##__VA_ARGS__);	\
		-EINVAL;							\
	})

/* Every argument, before anything is allocated. */
static long storm_check(struct storm *s)
{
	const struct pgtbench_vmalloc_storm *a = s->a;
	unsigned long cpus;

	if (a->case_id >= PGTBENCH_VMALLOC_NR_CASES)
		return storm_refuse("case_id %u (there are %u cases)", a->case_id,
				    PGTBENCH_VMALLOC_NR_CASES);
	s->c = &storm_cases[a->case_id];
	if (!a->loops || a->loops > PGTBENCH_VMALLOC_MAX_LOOPS)
		return storm_refuse("%s: loops %llu not in 1..%llu", s->c->name, a->loops,
				    PGTBENCH_VMALLOC_MAX_LOOPS);
	if (a->nr_pages > PGTBENCH_VMALLOC_MAX_PAGES)
		return storm_refuse("%s: nr_pages %llu above %llu", s->c->name, a->nr_pages,
				    PGTBENCH_VMALLOC_MAX_PAGES);
	if (a->nr_pages && !s->c->takes_pages)
		return storm_refuse("%s takes no nr_pages (got %llu)", s->c->name, a->nr_pages);
	if (a->use_huge > 1 || (a->use_huge && !s->c->takes_huge))
		return storm_refuse("%s: use_huge %u (only 0%s)", s->c->name, a->use_huge,
				    s->c->takes_huge ? " or 1" : "");
	if (a->flags & ~PGTBENCH_VMALLOC_FLAGS)
		return storm_refuse("unknown flags 0x%llx", a->flags);
	if (!pgtbench_reserved_ok(a->reserved_in, sizeof(a->reserved_in)))
		return storm_refuse("reserved_in not zero");
	s->nr_pages = a->nr_pages ? a->nr_pages : s->c->default_pages;
	if (a->case_id == PGTBENCH_VMALLOC_FULL_FIT_ALLOC) {
		/* test_vmalloc's amount: 32 MiB per bit of the online CPU count. */
		cpus = num_online_cpus();
		s->junk = fls(cpus) * (STORM_JUNK_BYTES >> PAGE_SHIFT);
		if (2 * s->junk * s->nr_pages > PGTBENCH_VMALLOC_MAX_PAGES)
			return storm_refuse("%s: nr_pages %lu: setup above %llu pages",
					    s->c->name, s->nr_pages, PGTBENCH_VMALLOC_MAX_PAGES);
	}
	return 0;
}

struct storm_kthread {
	struct storm *s;
	long ret;
	struct completion done;
};

/*
 * The case, in whichever task runs it, timed there: a KTHREAD storm's thread creation
 * and wake-up (about a millisecond in an emulated guest, half a one-page vm_map_ram
 * case) are no part of it, as test_vmalloc times inside its kthreads.
 */
static long storm_run(struct storm *s)
{
	u64 t0 = ktime_get_ns();
	long ret;

	s->a->worker_pid = task_pid_nr(current);
	ret = s->c->run(s);
	s->a->case_ns = ktime_get_ns() - t0 - s->excluded_ns;
	return ret;
}

static int storm_kthread_fn(void *data)
{
	struct storm_kthread *k = data;

	k->ret = storm_run(k->s);
	complete(&k->done);
	return 0;
}

/*
 * PGTBENCH_VMALLOC_KTHREAD: the case in a kernel thread bound to the caller's CPU, as
 * test_vmalloc runs its cases in kthreads. Which kind of task does the work shows where
 * a case is preempted often: pcpu_alloc is, about a thousand times a pass, by the percpu
 * balance worker, and a switch between a user task and a kthread rewrites SCTLR_EL1 (a
 * user task has its pointer-auth keys enabled there, a kthread not), which qemu's TCG
 * turns into a full TLB flush. From the harness's thread the pass took 1.2x
 * test_vmalloc's time in the emulated guest, from a kthread 0.9-1.0x; with pointer auth
 * off the two were alike. On hardware such a write costs an ISB, and the calling thread
 * is where the counters follow the work.
 */
static long storm_run_in_kthread(struct storm *s)
{
	struct storm_kthread k = { .s = s };
	unsigned int cpu = raw_smp_processor_id();
	struct task_struct *t;

	init_completion(&k.done);
	t = kthread_create(storm_kthread_fn, &k, "pgtbench_storm/%u", cpu);
	if (IS_ERR(t))
		return PTR_ERR(t);
	kthread_bind(t, cpu);
	wake_up_process(t);
	/*
	 * Not killable: the thread works on *s, which lives in this frame, and stops early
	 * by itself on the caller's signal. A second's timeout keeps the hung-task
	 * detector quiet through a long storm.
	 */
	while (!wait_for_completion_timeout(&k.done, HZ))
		;
	return k.ret;
}

long pgtbench_cmd_vmalloc_storm(void *arg)
{
	struct pgtbench_vmalloc_storm *a = arg, in;
	struct storm s = { .a = a, .caller = current, .resched_at = jiffies + STORM_RESCHED_JIFFIES };
	long ret;

	ret = storm_check(&s);
	if (ret)
		return ret;
	if (s.c->needs_vmalloc_node) {
		s.node_alloc = symbol_get(storm_vmalloc_node_sym);
		if (!s.node_alloc)
			return -EOPNOTSUPP;
	}

	/* The results start from zero whatever the caller left in them. */
	in = *a;
	memset(a, 0, sizeof(*a));
	a->case_id = in.case_id;
	a->use_huge = in.use_huge;
	a->loops = in.loops;
	a->nr_pages = in.nr_pages;
	a->seed = in.seed;
	a->flags = in.flags;
	a->nr_pages_used = s.nr_pages;

	if (!(a->flags & PGTBENCH_VMALLOC_VALIDATE_ONLY)) {
		s.split = a->flags & PGTBENCH_VMALLOC_SPLIT;
		if (s.split)
			a->clock_ns = storm_clock_cost();
		prandom_seed_state(&s.rnd, a->seed);
		ret = (a->flags & PGTBENCH_VMALLOC_KTHREAD) ? storm_run_in_kthread(&s) : storm_run(&s);
		a->alloc_ns = storm_less_clock(a->alloc_ns, a->alloc_calls, a->clock_ns);
		a->free_ns = storm_less_clock(a->free_ns, a->free_calls, a->clock_ns);
	}

	if (s.node_alloc)
		symbol_put(storm_vmalloc_node_sym);
	return ret;
}
