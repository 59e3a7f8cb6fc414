// SPDX-License-Identifier: GPL-2.0
/*
 * map_mem.c - PGTBENCH_IOC_MAP_MEM_REPLAY: arm64's boot-time linear-map construction,
 * replayed on a running kernel.
 *
 * At boot, map_mem() builds the page tables of the linear map with
 * __create_pgd_mapping(). Before the page tables themselves are mapped, every table page
 * is reached through a fixmap slot: written into one PTE of the fixmap, used, cleared
 * with a TLB invalidation. On a 512 GiB machine with rodata=full that is millions of
 * TLBIs and tens of millions of barriers, which is what the "Speed up boot with faster
 * linear map creation" series cut (17.4 s to 1.2 s on Ampere Altra).
 *
 * The replay runs the same walk, in the same order and with the same barriers and
 * invalidations, into a private table tree that is never installed in TTBR. The fixmap
 * is played by "slots": pages of a vmalloc area of this module whose real kernel PTEs
 * the replay rewrites, so every map and unmap costs what it costs on the hardware (a
 * PTE write, dsb+isb, and on clear a real broadcast TLBI). The physical addresses
 * described are fake (the memory itself is never touched); the table pages are real.
 *
 * The strategies are the steps of the series, each including the ones before it:
 *   BASE            v6.9: each new table is mapped into the slot to zero it and again to
 *                   populate it; the PTE (PMD) table is mapped again for every
 *                   contiguous run of CONT_PTES (CONT_PMDS) entries;
 *   NO_CONT_REMAP   "Don't remap pgtables per-cont(pte|pmd) block": one map per table
 *                   and call;
 *   BATCH_BARRIERS  "Batch dsb and isb when populating pgtables": PTEs written without
 *                   their per-entry dsb/isb, the slot clear's barriers publish them;
 *   NO_ALLOC_REMAP  "Don't remap pgtables for allocate vs populate": a new table is
 *                   zeroed (clear_page + dsb) in the same mapping that populates it;
 *   LAZY_UNMAP      v1/v2's lazy fixmap clearing: PTE tables go through a ring of
 *                   PGTBENCH_REPLAY_LAZY_SLOTS slots cleared together, one ranged
 *                   invalidation (a TLBI per slot, one dsb/isb pair) per ring.
 *
 * The geometry is the 48-bit VA layout at the kernel's page size (4K: 4 levels; 16K: 4;
 * 64K: 3), independently of the running kernel's own VA size. The harness's model
 * (harness/map_mem_model.cpp) predicts every count returned here; the guest tests hold
 * the two equal.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>

#include <asm/barrier.h>
#include <asm/pgtable.h>
#include <asm/sysreg.h>
#include <asm/tlbflush.h>

#include "pgtbench_internal.h"

const u64 pgtbench_map_mem_caps = PGTBENCH_CAP_MAP_MEM_REPLAY;

/* ---- geometry: the 48-bit layout at this page size --------------------------------- */

#define R_BITS		(PAGE_SHIFT - 3)		/* index bits per table level */
#define R_PTRS		(1UL << R_BITS)
#define R_PMD_SHIFT	(PAGE_SHIFT + R_BITS)		/* span of one PTE table */
#define R_PUD_SHIFT	(PAGE_SHIFT + 2 * R_BITS)	/* span of one PMD table */
/* 48 - PAGE_SHIFT bits of index: 4 levels at 4K and 16K, 3 at 64K (no PUD level). */
#define R_HAS_PUD	(48 > PAGE_SHIFT + 3 * R_BITS)
#define R_TOP_SHIFT	(R_HAS_PUD ? PAGE_SHIFT + 3 * R_BITS : R_PUD_SHIFT)
/* arm64 allows PUD (level 1) blocks with 4K pages only. */
#define R_PUD_BLOCKS	(PAGE_SHIFT == 12)
/*
 * The linear map starts at the bottom of the kernel half (PAGE_OFFSET's index 0) and
 * describes memory at 2 GiB, where most arm64 platforms start DRAM; both are aligned to
 * every block size, as memstart_addr's alignment makes them in the kernel.
 */
#define R_VIRT_START	0UL
#define R_PHYS_START	(2UL << 30)

/* Contiguous-hint runs, as the kernel defines them for this page size. */
#define R_CONT_PTE_SIZE	(CONT_PTES * PAGE_SIZE)
#define R_CONT_PMD_SIZE	(CONT_PMDS * (1UL << R_PMD_SHIFT))

/* ---- the replay's state ------------------------------------------------------------ */

/* One slot per table level that can be mapped while its child is, plus the lazy ring. */
enum { SLOT_PUD, SLOT_PMD, SLOT_PTE, SLOT_RING, NR_SLOTS = SLOT_RING + PGTBENCH_REPLAY_LAZY_SLOTS };

struct replay {
	unsigned int strategy;
	bool blocks;		/* PMD/PUD block mappings where aligned */
	bool cont;		/* the contiguous hint on aligned runs */

	struct list_head spare;	/* table pages allocated up front, taken in order */
	struct list_head used;
	u64 *root;		/* stands for swapper_pg_dir, which exists before map_mem */

	void *area;		/* the vmalloc area whose PTEs are the slots */
	unsigned long slot_va[NR_SLOTS];
	pte_t *slot_ptep[NR_SLOTS];
	pte_t slot_orig[NR_SLOTS];
	bool slot_mapped[NR_SLOTS];
	unsigned int ring_used;

	unsigned long tables_seen;	/* for cond_resched() and the signal check */
	int error;
	struct pgtbench_map_mem_replay *out;
};

/* ---- the counted primitives: each instruction the strategy chooses, counted once ----- */

static inline void r_dsb_ishst(struct replay *r)
{
	dsb(ishst);
	r->out->counts.dsb_count++;
}

static inline void r_isb(struct replay *r)
{
	isb();
	r->out->counts.isb_count++;
}

/* flush_tlb_kernel_range() over n consecutive slot pages, counted. */
static void r_flush_slots(struct replay *r, unsigned int first, unsigned int n)
{
	unsigned int i;

	r_dsb_ishst(r);
	for (i = 0; i < n; i++) {
		__tlbi(vaale1is, __TLBI_VADDR(r->slot_va[first + i], 0));
		r->out->counts.tlbi_count++;
	}
	dsb(ish);
	r->out->counts.dsb_count++;
	r_isb(r);
}

/* pte_set_fixmap(): a valid kernel PTE gets dsb(ishst)+isb from __set_pte(). */
static void *slot_map(struct replay *r, unsigned int slot, struct page *table)
{
	WRITE_ONCE(*r->slot_ptep[slot], mk_pte(table, PAGE_KERNEL));
	r->slot_mapped[slot] = true;
	r_dsb_ishst(r);
	r_isb(r);
	r->out->slot_maps++;
	return (void *)r->slot_va[slot];
}

/* pte_clear_fixmap(): clear the PTE, then flush_tlb_kernel_range() of one page. */
static void slot_unmap(struct replay *r, unsigned int slot)
{
	WRITE_ONCE(*r->slot_ptep[slot], __pte(0));
	r->slot_mapped[slot] = false;
	r_flush_slots(r, slot, 1);
	r->out->slot_unmaps++;
}

/* The lazy ring is cleared as a whole: n PTE clears, one ranged invalidation. */
static void ring_flush(struct replay *r)
{
	unsigned int i;

	if (!r->ring_used)
		return;
	for (i = 0; i < r->ring_used; i++) {
		WRITE_ONCE(*r->slot_ptep[SLOT_RING + i], __pte(0));
		r->slot_mapped[SLOT_RING + i] = false;
	}
	r_flush_slots(r, SLOT_RING, r->ring_used);
	r->out->slot_unmaps += r->ring_used;
	r->ring_used = 0;
}

/* set_pmd()/set_pud()/set_pgd() of a valid entry: the store, dsb(ishst), isb. */
static void write_entry_sync(struct replay *r, u64 *entry, u64 val)
{
	WRITE_ONCE(*entry, val);
	r->out->entries_written++;
	r_dsb_ishst(r);
	r_isb(r);
}

static u64 table_desc(struct page *table)
{
	return __phys_to_pte_val(page_to_phys(table)) | PMD_TYPE_TABLE;
}

static struct page *desc_table(u64 desc)
{
	return pfn_to_page(__pte_to_phys(__pte(desc)) >> PAGE_SHIFT);
}

/* ---- tables: allocate, open, close, per strategy ------------------------------------ */

static unsigned int level_slot(int level)
{
	return level == PGTBENCH_LEVEL_PTE ? SLOT_PTE :
	       level == PGTBENCH_LEVEL_PMD ? SLOT_PMD : SLOT_PUD;
}

static bool lazy_level(struct replay *r, int level)
{
	return r->strategy >= PGTBENCH_REPLAY_LAZY_UNMAP && level == PGTBENCH_LEVEL_PTE;
}

/*
 * The kernel's pgtable_alloc: memblock hands out a page, which before NO_ALLOC_REMAP is
 * zeroed through the slot at once (early_pgtable_alloc()); after it, zeroing waits for
 * the mapping that populates the table.
 */
static struct page *alloc_table(struct replay *r, int level)
{
	struct page *table;
	void *va;

	if (list_empty(&r->spare)) {
		/* The up-front count and the walk disagree: a bug, not a user error. */
		WARN_ONCE(1, "map_mem replay: more table pages needed than counted");
		r->error = -EFAULT;
		return NULL;
	}
	table = list_first_entry(&r->spare, struct page, lru);
	list_move_tail(&table->lru, &r->used);
	r->out->table_pages[level]++;

	if (r->strategy < PGTBENCH_REPLAY_NO_ALLOC_REMAP) {
		va = slot_map(r, SLOT_PTE, table);
		memset(va, 0, PAGE_SIZE);
		/* The clear's own barriers make the zeroes visible to the walker. */
		slot_unmap(r, SLOT_PTE);
	}

	/*
	 * A long build yields and can be interrupted, at table granularity. Any pending
	 * signal stops it, not only a fatal one: a harness that catches SIGINT to restore
	 * its settings must get control back promptly to do so.
	 */
	if ((++r->tables_seen & 511) == 0) {
		cond_resched();
		if (signal_pending(current))
			r->error = -EINTR;
	}
	return table;
}

static u64 *open_table(struct replay *r, int level, struct page *table, bool fresh)
{
	u64 *va;

	if (lazy_level(r, level)) {
		if (r->ring_used == PGTBENCH_REPLAY_LAZY_SLOTS)
			ring_flush(r);
		va = slot_map(r, SLOT_RING + r->ring_used++, table);
	} else {
		va = slot_map(r, level_slot(level), table);
	}
	if (fresh && r->strategy >= PGTBENCH_REPLAY_NO_ALLOC_REMAP) {
		/* init_clear_pgtable(): the zeroes must reach the walker before the entries. */
		clear_page(va);
		r_dsb_ishst(r);
	}
	return va;
}

static void close_table(struct replay *r, int level)
{
	/* The ring's batched clear publishes a lazily kept table's entries. */
	if (!lazy_level(r, level))
		slot_unmap(r, level_slot(level));
}

/*
 * The parent entry of a table level: an existing table, or a new one allocated and
 * linked in (the kernel's __pXd_populate(), a valid table entry with its barriers).
 */
static struct page *child_table(struct replay *r, u64 *parent, int level, bool *fresh)
{
	struct page *table;
	u64 desc = READ_ONCE(*parent);

	*fresh = false;
	if (desc)
		return desc_table(desc);
	table = alloc_table(r, level);
	if (!table)
		return NULL;
	write_entry_sync(r, parent, table_desc(table));
	*fresh = true;
	return table;
}

/* ---- the walk, level by level, as arch/arm64/mm/mmu.c did it in v6.9 ---------------- */

static unsigned long span_end(unsigned long addr, unsigned long end, unsigned long size)
{
	unsigned long next = (addr + size) & ~(size - 1);

	return next - 1 < end - 1 ? next : end;
}

/* init_pte(): one contiguous run of PTEs. */
static void init_pte(struct replay *r, u64 *ptes, unsigned long addr, unsigned long end,
		     phys_addr_t phys, pgprot_t prot)
{
	u64 *ptep = ptes + ((addr >> PAGE_SHIFT) & (R_PTRS - 1));
	bool sync = r->strategy < PGTBENCH_REPLAY_BATCH_BARRIERS;

	do {
		WRITE_ONCE(*ptep, pte_val(pfn_pte(phys >> PAGE_SHIFT, prot)));
		r->out->entries_written++;
		if (sync) {
			/* __set_pte() of a valid kernel PTE */
			r_dsb_ishst(r);
			r_isb(r);
		}
		phys += PAGE_SIZE;
	} while (ptep++, addr += PAGE_SIZE, addr != end);
}

static void alloc_init_cont_pte(struct replay *r, u64 *pmdp, unsigned long addr,
				unsigned long end, phys_addr_t phys)
{
	bool per_run = r->strategy == PGTBENCH_REPLAY_BASE, fresh;
	struct page *table = child_table(r, pmdp, PGTBENCH_LEVEL_PTE, &fresh);
	u64 *ptes = NULL;

	if (!table)
		return;
	if (!per_run)
		ptes = open_table(r, PGTBENCH_LEVEL_PTE, table, fresh);
	do {
		unsigned long next = span_end(addr, end, R_CONT_PTE_SIZE);
		pgprot_t prot = PAGE_KERNEL;

		if (r->cont && !((addr | next | phys) & (R_CONT_PTE_SIZE - 1)))
			prot = __pgprot(pgprot_val(prot) | PTE_CONT);
		/* v6.9's init_pte() mapped the table for every run: pte_set_fixmap_offset(). */
		if (per_run)
			ptes = open_table(r, PGTBENCH_LEVEL_PTE, table, false);
		init_pte(r, ptes, addr, next, phys, prot);
		if (per_run)
			close_table(r, PGTBENCH_LEVEL_PTE);
		phys += next - addr;
		addr = next;
	} while (addr != end);
	if (!per_run)
		close_table(r, PGTBENCH_LEVEL_PTE);
}

/* init_pmd(): one contiguous run of PMD entries, blocks where aligned. */
static void init_pmd(struct replay *r, u64 *pmds, unsigned long addr, unsigned long end,
		     phys_addr_t phys, bool cont)
{
	do {
		unsigned long next = span_end(addr, end, 1UL << R_PMD_SHIFT);
		u64 *pmdp = pmds + ((addr >> R_PMD_SHIFT) & (R_PTRS - 1));

		if (r->blocks && !((addr | next | phys) & ((1UL << R_PMD_SHIFT) - 1))) {
			pgprot_t prot = mk_pmd_sect_prot(PAGE_KERNEL);

			if (cont)
				prot = __pgprot(pgprot_val(prot) | PTE_CONT);
			write_entry_sync(r, pmdp, pte_val(pfn_pte(phys >> PAGE_SHIFT, prot)));
		} else {
			alloc_init_cont_pte(r, pmdp, addr, next, phys);
		}
		phys += next - addr;
		addr = next;
	} while (addr != end && !r->error);
}

static void alloc_init_cont_pmd(struct replay *r, u64 *pudp, unsigned long addr,
				unsigned long end, phys_addr_t phys)
{
	bool per_run = r->strategy == PGTBENCH_REPLAY_BASE, fresh;
	struct page *table = child_table(r, pudp, PGTBENCH_LEVEL_PMD, &fresh);
	u64 *pmds = NULL;

	if (!table)
		return;
	if (!per_run)
		pmds = open_table(r, PGTBENCH_LEVEL_PMD, table, fresh);
	do {
		unsigned long next = span_end(addr, end, R_CONT_PMD_SIZE);
		bool cont = r->cont && !((addr | next | phys) & (R_CONT_PMD_SIZE - 1));

		/* v6.9's init_pmd() mapped the table per run too: pmd_set_fixmap_offset(). */
		if (per_run)
			pmds = open_table(r, PGTBENCH_LEVEL_PMD, table, false);
		init_pmd(r, pmds, addr, next, phys, cont);
		if (per_run)
			close_table(r, PGTBENCH_LEVEL_PMD);
		phys += next - addr;
		addr = next;
	} while (addr != end && !r->error);
	if (!per_run)
		close_table(r, PGTBENCH_LEVEL_PMD);
}

static void alloc_init_pud(struct replay *r, u64 *pgdp, unsigned long addr,
			   unsigned long end, phys_addr_t phys)
{
	bool fresh;
	struct page *table = child_table(r, pgdp, PGTBENCH_LEVEL_PUD, &fresh);
	u64 *puds;

	if (!table)
		return;
	/* One map per call in every strategy: there is no contiguous PUD run. */
	puds = open_table(r, PGTBENCH_LEVEL_PUD, table, fresh);
	do {
		unsigned long next = span_end(addr, end, 1UL << R_PUD_SHIFT);
		u64 *pudp = puds + ((addr >> R_PUD_SHIFT) & (R_PTRS - 1));

		if (R_PUD_BLOCKS && r->blocks &&
		    !((addr | next | phys) & ((1UL << R_PUD_SHIFT) - 1)))
			write_entry_sync(r, pudp, pte_val(pfn_pte(phys >> PAGE_SHIFT,
						  mk_pmd_sect_prot(PAGE_KERNEL))));
		else
			alloc_init_cont_pmd(r, pudp, addr, next, phys);
		phys += next - addr;
		addr = next;
	} while (addr != end && !r->error);
	close_table(r, PGTBENCH_LEVEL_PUD);
}

/* __create_pgd_mapping(): the root is written directly, as swapper_pg_dir is. */
static void create_mapping(struct replay *r, unsigned long virt, unsigned long size,
			   phys_addr_t phys)
{
	unsigned long addr = virt, end = virt + size;

	do {
		unsigned long next = span_end(addr, end, 1UL << R_TOP_SHIFT);
		u64 *pgdp = r->root + ((addr >> R_TOP_SHIFT) & ((1UL << (48 - R_TOP_SHIFT)) - 1));

		if (R_HAS_PUD)
			alloc_init_pud(r, pgdp, addr, next, phys);
		else
			alloc_init_cont_pmd(r, pgdp, addr, next, phys);
		phys += next - addr;
		addr = next;
	} while (addr != end && !r->error);
	if (r->ring_used)
		ring_flush(r);
}

/* ---- setup: counting, slots, table pages ---------------------------------------------- */

/*
 * Table pages the walk will take, per level: with the range aligned at every block size,
 * each level needs one table per span it covers, minus what blocks above it already map.
 */
static u64 tables_needed(const struct replay *r, u64 size)
{
	u64 left = size, total = 0;

	if (R_HAS_PUD) {
		total += DIV_ROUND_UP(left, 1ULL << R_TOP_SHIFT);	/* PUD tables */
		if (R_PUD_BLOCKS && r->blocks)
			left &= (1ULL << R_PUD_SHIFT) - 1;
	}
	total += DIV_ROUND_UP(left, 1ULL << R_PUD_SHIFT);		/* PMD tables */
	if (r->blocks)
		left &= (1ULL << R_PMD_SHIFT) - 1;
	total += DIV_ROUND_UP(left, 1ULL << R_PMD_SHIFT);		/* PTE tables */
	return total;
}

static void free_list(struct list_head *list)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, list, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
}

/*
 * The kernel PTE that maps va, found the way the MMU finds it: from TTBR1_EL1 with the
 * VA size TCR_EL1.T1SZ gives. (init_mm and the kernel's walkers are not exported, and
 * the walk must not depend on how this kernel folds its levels.)
 */
static pte_t *kernel_ptep(unsigned long va)
{
	u64 ttbr = read_sysreg(ttbr1_el1), tcr = read_sysreg(tcr_el1);
	unsigned int va_bits = 64 - ((tcr >> TCR_T1SZ_OFFSET) & 0x3f);
	/* BADDR; with 52-bit PAs, bits [51:48] of the address sit in TTBR bits [5:2]. */
	phys_addr_t table = (ttbr & GENMASK_ULL(47, 6)) | ((ttbr & GENMASK_ULL(5, 2)) << 46);
	int shift = PAGE_SHIFT + R_BITS * ((va_bits - PAGE_SHIFT - 1) / R_BITS);

	for (;; shift -= R_BITS) {
		unsigned long bits = min_t(unsigned long, R_BITS, va_bits - shift);
		u64 *entry = (u64 *)__va(table) + ((va >> shift) & ((1UL << bits) - 1));
		u64 desc = READ_ONCE(*entry);

		if (shift == PAGE_SHIFT)
			return (pte_t *)entry;
		/* A block or an invalid entry above the last level: not a vmalloc page. */
		if ((desc & 3) != 3)
			return NULL;
		table = __pte_to_phys(__pte(desc));
	}
}

static int slots_setup(struct replay *r)
{
	unsigned int i;

	r->area = vmalloc(NR_SLOTS * PAGE_SIZE);
	if (!r->area)
		return -ENOMEM;
	for (i = 0; i < NR_SLOTS; i++) {
		r->slot_va[i] = (unsigned long)r->area + i * PAGE_SIZE;
		r->slot_ptep[i] = kernel_ptep(r->slot_va[i]);
		if (!r->slot_ptep[i] || !pte_present(READ_ONCE(*r->slot_ptep[i])) ||
		    pte_pfn(READ_ONCE(*r->slot_ptep[i])) !=
		    page_to_pfn(vmalloc_to_page((void *)r->slot_va[i]))) {
			pr_warn_once("map_mem replay: cannot find the kernel PTEs of a vmalloc area here\n");
			vfree(r->area);
			r->area = NULL;
			return -EOPNOTSUPP;
		}
	}
	/* Slots start empty, as the fixmap's do; this set-up is neither timed nor counted. */
	for (i = 0; i < NR_SLOTS; i++) {
		r->slot_orig[i] = READ_ONCE(*r->slot_ptep[i]);
		WRITE_ONCE(*r->slot_ptep[i], __pte(0));
	}
	flush_tlb_kernel_range(r->slot_va[0], r->slot_va[0] + NR_SLOTS * PAGE_SIZE);
	return 0;
}

/* Empty any slot an interrupted walk left mapped, then give vfree() its pages back. */
static void slots_teardown(struct replay *r)
{
	unsigned int i;

	if (!r->area)
		return;
	for (i = 0; i < NR_SLOTS; i++)
		WRITE_ONCE(*r->slot_ptep[i], __pte(0));
	flush_tlb_kernel_range(r->slot_va[0], r->slot_va[0] + NR_SLOTS * PAGE_SIZE);
	for (i = 0; i < NR_SLOTS; i++)
		WRITE_ONCE(*r->slot_ptep[i], r->slot_orig[i]);
	dsb(ishst);
	isb();
	vfree(r->area);
}

static int tables_setup(struct replay *r, u64 needed)
{
	struct page *page;
	u64 i;

	/* The root is swapper_pg_dir's stand-in: it exists, zeroed, before the walk. */
	page = alloc_page(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
	if (!page)
		return -ENOMEM;
	list_add(&page->lru, &r->used);
	r->root = page_address(page);

	for (i = 0; i < needed; i++) {
		page = alloc_page(GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY);
		if (!page)
			return -ENOMEM;
		list_add_tail(&page->lru, &r->spare);
		if ((i & 1023) == 1023) {
			cond_resched();
			if (signal_pending(current))
				return -EINTR;
		}
	}
	return 0;
}

long pgtbench_cmd_map_mem_replay(void *arg)
{
	struct pgtbench_map_mem_replay *m = arg;
	struct replay *r;
	u64 size = m->size_bytes, needed, start;
	long ret;

	if (!size || size > PGTBENCH_REPLAY_MAX_BYTES || !PAGE_ALIGNED(size) ||
	    m->granularity >= PGTBENCH_NR_GRANS || m->strategy >= PGTBENCH_NR_REPLAY_STRATEGIES ||
	    !pgtbench_reserved_ok(m->reserved_in, sizeof(m->reserved_in)))
		return -EINVAL;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	INIT_LIST_HEAD(&r->spare);
	INIT_LIST_HEAD(&r->used);
	r->strategy = m->strategy;
	r->blocks = m->granularity == PGTBENCH_GRAN_BLOCK;
	/* rodata=full (PTE) sets NO_CONT_MAPPINGS too; the other two allow the hint. */
	r->cont = m->granularity != PGTBENCH_GRAN_PTE;

	/* Refuse up front what cannot fit, keeping an eighth of what is available. */
	needed = tables_needed(r, size);
	if (needed + 1 > si_mem_available() - si_mem_available() / 8) {
		ret = -ENOMEM;
		goto out;
	}
	ret = tables_setup(r, needed);
	if (!ret)
		ret = slots_setup(r);
	if (ret)
		goto out;

	/* The outputs, from scratch: nothing the caller passed in them comes back. */
	memset(m, 0, sizeof(*m));
	m->size_bytes = size;
	m->granularity = r->blocks ? PGTBENCH_GRAN_BLOCK :
			 r->cont ? PGTBENCH_GRAN_CONT : PGTBENCH_GRAN_PTE;
	m->strategy = r->strategy;
	r->out = m;
	start = ktime_get_ns();
	pgtbench_module_begin();
	create_mapping(r, R_VIRT_START, size, R_PHYS_START);
	pgtbench_module_end();
	m->total_ns = ktime_get_ns() - start;
	m->ns_per_gib = mul_u64_u64_div_u64(m->total_ns, 1ULL << 30, size);
	ret = r->error;
out:
	slots_teardown(r);
	free_list(&r->spare);
	free_list(&r->used);
	kfree(r);
	return ret;
}
