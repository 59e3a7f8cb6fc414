// SPDX-License-Identifier: GPL-2.0
/*
 * pte_walk.c - PGTBENCH_IOC_PTE_WALK: count how the calling process's page table maps
 * a range (pgtbench_abi.h has the contract).
 *
 * mm/pagewalk.c's walk_page_range() is not exported to modules, so the walk is the
 * lockless one gup-fast does: every level read once with READ_ONCE and judged on that
 * copy, with interrupts off, which holds off the freeing of page tables (arm64 frees
 * them through RCU or after an IPI, both of which wait for interrupts to be enabled
 * again). The mmap lock, held for reading, keeps the VMAs; interrupts go back on after
 * each PMD's worth of entries, so a 1 GiB walk never keeps them off for long.
 */
#include <linux/errno.h>
#include <linux/irqflags.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>

#include "pgtbench_internal.h"

#ifdef CONFIG_ARM64

const u64 pgtbench_pte_walk_caps = PGTBENCH_CAP_PTE_WALK;

/* The PTEs of one PMD's table in [addr, end): the table is `pmd`'s, read once. */
static void walk_ptes(pmd_t pmd, unsigned long addr, unsigned long end, unsigned long start,
		      struct pgtbench_pte_walk *w)
{
	pte_t *ptep = pte_offset_kernel(&pmd, addr);

	for (; addr < end; addr += PAGE_SIZE, ptep++) {
		pte_t pte = READ_ONCE(*ptep);

		if (pte_none(pte) || !pte_present(pte)) {
			w->absent_pages++;
		} else if (pte_cont(pte)) {
			w->cont_pages++;
			/* A run begins at an aligned entry, or before the range did. */
			if (!((addr >> PAGE_SHIFT) & (CONT_PTES - 1)) || addr == start)
				w->cont_blocks++;
		} else {
			w->pte_pages++;
		}
	}
}

/* [addr, end) within one PMD entry's span, top level down, interrupts off. */
static void walk_pmd_span(struct mm_struct *mm, unsigned long addr, unsigned long end,
			  unsigned long start, struct pgtbench_pte_walk *w)
{
	u64 pages = (end - addr) >> PAGE_SHIFT;
	pgd_t *pgdp = pgd_offset(mm, addr);
	pgd_t pgd = READ_ONCE(*pgdp);
	p4d_t *p4dp, p4d;
	pud_t *pudp, pud;
	pmd_t *pmdp, pmd;

	if (pgd_none(pgd) || pgd_bad(pgd))
		goto absent;
	p4dp = p4d_offset(pgdp, addr);
	p4d = READ_ONCE(*p4dp);
	if (p4d_none(p4d) || p4d_bad(p4d))
		goto absent;
	pudp = pud_offset(p4dp, addr);
	pud = READ_ONCE(*pudp);
	if (pud_none(pud) || !pud_present(pud))
		goto absent;
	if (pud_sect(pud)) {
		w->pud_pages += pages;
		if (!(addr & ~PUD_MASK) || addr == start)
			w->pud_blocks++;
		return;
	}
	pmdp = pmd_offset(pudp, addr);
	pmd = READ_ONCE(*pmdp);
	if (pmd_none(pmd) || !pmd_present(pmd))
		goto absent;
	if (!pmd_table(pmd)) {
		/* A block: a PMD-mapped THP (or a PROT_NONE one, still the block's). */
		w->pmd_pages += pages;
		w->pmd_blocks++;
		return;
	}
	walk_ptes(pmd, addr, end, start, w);
	return;
absent:
	w->absent_pages += pages;
}

long pgtbench_cmd_pte_walk(void *arg)
{
	struct pgtbench_pte_walk *w = arg;
	struct mm_struct *mm = current->mm;
	unsigned long start, end, addr, next, flags;
	u64 t0;

	if (!pgtbench_reserved_ok(w->reserved_in, sizeof(w->reserved_in)) ||
	    !pgtbench_reserved_ok(w->reserved_out, sizeof(w->reserved_out)))
		return -EINVAL;
	if (!w->length || w->length > PGTBENCH_WALK_MAX_LENGTH ||
	    !PAGE_ALIGNED(w->start) || !PAGE_ALIGNED(w->length) ||
	    w->start >= TASK_SIZE || w->length > TASK_SIZE - w->start)
		return -EINVAL;
	if (!mm)
		return -EINVAL;

	start = w->start;
	end = start + w->length;
	/* Every output overwritten, reserved ones zero: the inputs are all that is kept. */
	*w = (struct pgtbench_pte_walk){ .start = start, .length = end - start,
					 .cont_ptes = CONT_PTES };

	t0 = ktime_get_ns();
	mmap_read_lock(mm);
	for (addr = start; addr < end; addr = next) {
		next = pmd_addr_end(addr, end);
		local_irq_save(flags);
		walk_pmd_span(mm, addr, next, start, w);
		local_irq_restore(flags);
		cond_resched();
	}
	mmap_read_unlock(mm);
	w->total_ns = ktime_get_ns() - t0;
	return 0;
}

#else /* !CONFIG_ARM64 */

const u64 pgtbench_pte_walk_caps;

long pgtbench_cmd_pte_walk(void *arg)
{
	return -EOPNOTSUPP;
}

#endif
