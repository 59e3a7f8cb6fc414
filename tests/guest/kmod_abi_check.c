// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_abi_check: exercises pgtbench.ko's ioctl ABI (kmod/pgtbench_abi.h) from user
 * space, inside the emulated arm64 guest, independently of the harness.
 *
 *   kmod_abi_check [CTL_PATH]          (default PGTBENCH_CTL_PATH; run as root)
 *
 * Checks, in order:
 *   INFO          abi_version == PGTBENCH_ABI_VERSION, page_size 4096 and page_shift 12,
 *                 the CAP_NOP bit set and the unimplemented ones clear, counts and
 *                 reserved zero, release == uname -r
 *   INFO garbage  output fields filled with garbage on input come back overwritten
 *   NOP           loops=1000 succeeds with zero counts and zero reserved
 *   NOP loops=0 / loops > PGTBENCH_NOP_MAX_LOOPS / reserved[i] != 0   -> EINVAL
 *   INFO reserved != 0                                                -> EINVAL
 *   unknown command number, known number with another struct size    -> ENOTTY
 *   VMALLOC_STORM every case at 3 loops (fix_align/random_size_align may be EOPNOTSUPP),
 *                 plain (no call timed: alloc_ns, free_ns, clock_ns 0), with SPLIT
 *                 (calls timed, clock_ns calibrated) and with KTHREAD (worker_pid another
 *                 task's, not the caller's as in the other two); a million-loop KTHREAD
 *                 storm stops early on the caller's SIGALRM; random_size_alloc seeded twice
 *                 allocates the same bytes, with seed 0 (the kernel's RNG) three storms do
 *                 not all agree; p:512 h:1 PMD-mapped, validate-only
 *                 runs nothing (with SPLIT too); bad case, loops, nr_pages, use_huge,
 *                 unknown flag bits, reserved != 0 -> EINVAL, allocating nothing;
 *                 bad pointer -> EFAULT (kmod_abi_check --vmalloc-einval-once: one EINVAL)
 *   MAP_MEM_REPLAY 2 MiB pte base: every count as worked out by hand; size 0, unaligned
 *                 or over the cap, bad granularity or strategy, reserved != 0 -> EINVAL;
 *                 1 TiB at pte (2 GiB of tables)                       -> ENOMEM
 *   PTE_WALK      a populated 4 MiB of NOHUGEPAGE memory: 1024 plain PTEs; the same
 *                 range unmapped: 1024 absent pages; every walk's pages add up to the
 *                 range, counts and reserved zero, cont_ptes 16; start or length not
 *                 page-aligned, length 0 or over the cap, beyond the user address
 *                 limit, reserved != 0                                 -> EINVAL
 *   NOP, INFO and VMALLOC_STORM after setuid(65534) on the descriptor opened as root
 *                                                                    -> EPERM
 *
 * Prints one key=value line per check and a final "summary" line, and exits 0 only if
 * every check passed (1 on a mismatch, 2 if the control file cannot be opened).
 * Built statically (glibc's fork() hangs in dynamically linked programs in the guest;
 * this program does not fork, but a static binary needs nothing from the initramfs).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "pgtbench_abi.h"

static int failures, checks;

static __attribute__((format(printf, 3, 4))) void result(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (!ok)
		failures++;
	printf("%s=%s", name, ok ? "ok" : "FAIL");
	if (fmt && *fmt) {
		printf(" (");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf(")");
	}
	printf("\n");
	fflush(stdout);
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case EFAULT: return "EFAULT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EACCES: return "EACCES";
	case ENOMEM: return "ENOMEM";
	case ENOENT: return "ENOENT";
	default: return strerror(e);
	}
}

/* The ioctl's errno, or 0 on success. */
static int do_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? errno : 0;
}

static void expect_errno(const char *name, int fd, unsigned long cmd, void *arg, int want)
{
	int got = do_ioctl(fd, cmd, arg);

	result(name, got == want, "want %s, got %s", errname(want), errname(got));
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

static void map_mem_arg(struct pgtbench_map_mem_replay *m, unsigned long long size, unsigned int gran,
			unsigned int strategy)
{
	memset(m, 0, sizeof(*m));
	m->size_bytes = size;
	m->granularity = gran;
	m->strategy = strategy;
}

/*
 * MAP_MEM_REPLAY: one small replay whose every count is known by hand (2 MiB at PTE
 * granularity, base strategy: one PUD, PMD and PTE table; 3 zeroing maps, the PUD and PMD
 * tables mapped once more, the PTE table once per run of 16 PTEs: 37 maps and clears;
 * 3 table links and 512 PTEs, each with dsb+isb, plus 2 dsb per clear), output fields
 * overwritten, and every bad argument refused.
 */
static void check_map_mem(int fd)
{
	struct pgtbench_map_mem_replay m;
	int e;

	map_mem_arg(&m, 2 << 20, PGTBENCH_GRAN_PTE, PGTBENCH_REPLAY_BASE);
	memset(&m.total_ns, 0xa5, sizeof(m) - offsetof(struct pgtbench_map_mem_replay, total_ns));
	memset(m.reserved_out, 0, sizeof(m.reserved_out));
	e = do_ioctl(fd, PGTBENCH_IOC_MAP_MEM_REPLAY, &m);
	result("map_mem_2m_base", e == 0, "%s", errname(e));
	if (e == 0) {
		result("map_mem_2m_base_tables", m.table_pages[PGTBENCH_LEVEL_PGD] == 0 &&
			       m.table_pages[PGTBENCH_LEVEL_P4D] == 0 && m.table_pages[PGTBENCH_LEVEL_PUD] == 1 &&
			       m.table_pages[PGTBENCH_LEVEL_PMD] == 1 && m.table_pages[PGTBENCH_LEVEL_PTE] == 1,
		       "pud %llu pmd %llu pte %llu", (unsigned long long)m.table_pages[PGTBENCH_LEVEL_PUD],
		       (unsigned long long)m.table_pages[PGTBENCH_LEVEL_PMD],
		       (unsigned long long)m.table_pages[PGTBENCH_LEVEL_PTE]);
		result("map_mem_2m_base_counts", m.slot_maps == 37 && m.slot_unmaps == 37 &&
			       m.entries_written == 515 && m.counts.tlbi_count == 37 &&
			       m.counts.dsb_count == 3 + 37 + 2 * 37 + 512 && m.counts.isb_count == 3 + 37 + 37 + 512,
		       "maps %llu unmaps %llu entries %llu tlbi %llu dsb %llu isb %llu",
		       (unsigned long long)m.slot_maps, (unsigned long long)m.slot_unmaps,
		       (unsigned long long)m.entries_written, (unsigned long long)m.counts.tlbi_count,
		       (unsigned long long)m.counts.dsb_count, (unsigned long long)m.counts.isb_count);
		result("map_mem_2m_base_time", m.total_ns > 0 && m.ns_per_gib == m.total_ns * 512,
		       "total_ns %llu ns_per_gib %llu", (unsigned long long)m.total_ns,
		       (unsigned long long)m.ns_per_gib);
		result("map_mem_2m_base_inputs_kept_reserved_zero",
		       m.size_bytes == 2 << 20 && m.granularity == PGTBENCH_GRAN_PTE &&
			       m.strategy == PGTBENCH_REPLAY_BASE && all_zero(m.reserved_out, sizeof(m.reserved_out)),
		       "%s", "");
	}

	map_mem_arg(&m, 0, PGTBENCH_GRAN_PTE, PGTBENCH_REPLAY_BASE);
	expect_errno("map_mem_size_zero_einval", fd, PGTBENCH_IOC_MAP_MEM_REPLAY, &m, EINVAL);
	map_mem_arg(&m, 4097, PGTBENCH_GRAN_PTE, PGTBENCH_REPLAY_BASE);
	expect_errno("map_mem_size_unaligned_einval", fd, PGTBENCH_IOC_MAP_MEM_REPLAY, &m, EINVAL);
	map_mem_arg(&m, PGTBENCH_REPLAY_MAX_BYTES + 4096, PGTBENCH_GRAN_PTE, PGTBENCH_REPLAY_BASE);
	expect_errno("map_mem_size_over_max_einval", fd, PGTBENCH_IOC_MAP_MEM_REPLAY, &m, EINVAL);
	map_mem_arg(&m, 2 << 20, PGTBENCH_NR_GRANS, PGTBENCH_REPLAY_BASE);
	expect_errno("map_mem_granularity_einval", fd, PGTBENCH_IOC_MAP_MEM_REPLAY, &m, EINVAL);
	map_mem_arg(&m, 2 << 20, PGTBENCH_GRAN_PTE, PGTBENCH_NR_REPLAY_STRATEGIES);
	expect_errno("map_mem_strategy_einval", fd, PGTBENCH_IOC_MAP_MEM_REPLAY, &m, EINVAL);
	map_mem_arg(&m, 2 << 20, PGTBENCH_GRAN_PTE, PGTBENCH_REPLAY_BASE);
	m.reserved_in[3] = 1;
	expect_errno("map_mem_reserved_einval", fd, PGTBENCH_IOC_MAP_MEM_REPLAY, &m, EINVAL);
	/* 1 TiB at PTE granularity needs 2 GiB of table pages: more than the guest has. */
	map_mem_arg(&m, PGTBENCH_REPLAY_MAX_BYTES, PGTBENCH_GRAN_PTE, PGTBENCH_REPLAY_BASE);
	expect_errno("map_mem_too_big_enomem", fd, PGTBENCH_IOC_MAP_MEM_REPLAY, &m, ENOMEM);
}

/*
 * VMALLOC_STORM: every case at a few loops (the alignment cases may answer EOPNOTSUPP:
 * their __vmalloc_node() is exported only by CONFIG_TEST_VMALLOC=m kernels), outputs
 * overwritten and inputs kept, a validate-only call that runs nothing, every bad
 * argument refused with EINVAL, and the refused calls allocating nothing (VmallocUsed
 * and Percpu unchanged across them).
 */
static int walk(int fd, void *start, unsigned long long length, struct pgtbench_pte_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->start = (uintptr_t)start;
	w->length = length;
	return do_ioctl(fd, PGTBENCH_IOC_PTE_WALK, w);
}

/* The contract every successful walk keeps, whatever the memory. */
static int walk_adds_up(const struct pgtbench_pte_walk *w)
{
	return w->pud_pages + w->pmd_pages + w->cont_pages + w->pte_pages + w->absent_pages ==
		       w->length / 4096 &&
	       w->cont_ptes == 16 && all_zero(&w->counts, sizeof(w->counts)) &&
	       all_zero(w->reserved_in, sizeof(w->reserved_in)) &&
	       all_zero(w->reserved_out, sizeof(w->reserved_out));
}

#define WALK_FIELDS(w)                                                                          \
	(unsigned long long)(w).pmd_blocks, (unsigned long long)(w).cont_blocks,                \
		(unsigned long long)(w).pte_pages, (unsigned long long)(w).cont_pages,          \
		(unsigned long long)(w).absent_pages
#define WALK_FMT "pmd_blocks %llu cont_blocks %llu pte %llu cont %llu absent %llu"

/* va_bits: INFO's (vabits_actual), the user address limit's width too; 0: unknown. */
static void check_pte_walk(int fd, unsigned int va_bits)
{
	const size_t len = 4u << 20;
	struct pgtbench_pte_walk w;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	if (p == MAP_FAILED) {
		result("walk_mmap", 0, "%s", strerror(errno));
		return;
	}
	/* Order 0 whatever THP and mTHP are set to: plain PTEs only. */
	madvise(p, len, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	err = walk(fd, p, len, &w);
	result("walk_populated", !err && walk_adds_up(&w) && w.pte_pages == 1024 && !w.pmd_blocks &&
				 !w.cont_pages && !w.absent_pages,
	       "%s, " WALK_FMT, errname(err), WALK_FIELDS(w));
	munmap(p, len);
	err = walk(fd, p, len, &w);
	result("walk_unmapped", !err && walk_adds_up(&w) && w.absent_pages == 1024,
	       "%s, " WALK_FMT, errname(err), WALK_FIELDS(w));

	walk(fd, p, 0, &w);
	expect_errno("walk_length_0", fd, PGTBENCH_IOC_PTE_WALK, &w, EINVAL);
	walk(fd, p + 1, 4096, &w);
	expect_errno("walk_start_unaligned", fd, PGTBENCH_IOC_PTE_WALK, &w, EINVAL);
	walk(fd, p, 4097, &w);
	expect_errno("walk_length_unaligned", fd, PGTBENCH_IOC_PTE_WALK, &w, EINVAL);
	walk(fd, p, PGTBENCH_WALK_MAX_LENGTH + 4096, &w);
	expect_errno("walk_length_over_cap", fd, PGTBENCH_IOC_PTE_WALK, &w, EINVAL);
	walk(fd, (void *)(uintptr_t)(1ULL << 56), 4096, &w);
	expect_errno("walk_beyond_user_space", fd, PGTBENCH_IOC_PTE_WALK, &w, EINVAL);
	if (va_bits) {
		walk(fd, (void *)(uintptr_t)((1ULL << va_bits) - 4096), 8192, &w);
		expect_errno("walk_crosses_user_limit", fd, PGTBENCH_IOC_PTE_WALK, &w, EINVAL);
	}
	walk(fd, p, 4096, &w);
	w.reserved_in[1] = 1;
	expect_errno("walk_reserved_in", fd, PGTBENCH_IOC_PTE_WALK, &w, EINVAL);
	walk(fd, p, 4096, &w);
	w.reserved_out[0] = 1;
	expect_errno("walk_reserved_out", fd, PGTBENCH_IOC_PTE_WALK, &w, EINVAL);
}

static void vmalloc_arg(struct pgtbench_vmalloc_storm *v, unsigned int case_id, unsigned long long loops)
{
	memset(v, 0, sizeof(*v));
	v->case_id = case_id;
	v->loops = loops;
}

/* "VmallocUsed" and "Percpu" of /proc/meminfo, in kB (-1 when absent). */
static long long meminfo_kb(const char *key)
{
	char line[256];
	long long kb = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			kb = atoll(line + n + 1);
	if (f)
		fclose(f);
	return kb;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * The storm's kthread gets no signal of its own: the caller's stops it. A million loops
 * of 64 pages would take minutes; a SIGALRM after 200 ms must end it with every
 * allocation freed and 0 returned.
 */
static void check_vmalloc_kthread_signal(int fd)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct pgtbench_vmalloc_storm v;
	int e;

	sigaction(SIGALRM, &sa, NULL);
	vmalloc_arg(&v, PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, PGTBENCH_VMALLOC_MAX_LOOPS);
	v.nr_pages = 64;
	v.flags = PGTBENCH_VMALLOC_KTHREAD;
	ualarm(200000, 0);
	e = do_ioctl(fd, PGTBENCH_IOC_VMALLOC_STORM, &v);
	ualarm(0, 0);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGALRM, &sa, NULL);
	result("vmalloc_kthread_stops_on_callers_signal",
	       e == 0 && v.loops_done > 0 && v.loops_done < v.loops && v.free_calls == v.alloc_calls - v.failures,
	       "%s, loops_done %llu of %llu, calls %llu/%llu", errname(e), (unsigned long long)v.loops_done,
	       (unsigned long long)v.loops, (unsigned long long)v.alloc_calls, (unsigned long long)v.free_calls);
}

/* The bytes a 50-loop random_size_alloc storm with this seed allocated (0 on error). */
static unsigned long long random_size_bytes(int fd, unsigned long long seed)
{
	struct pgtbench_vmalloc_storm v;

	vmalloc_arg(&v, PGTBENCH_VMALLOC_RANDOM_SIZE_ALLOC, 50);
	v.seed = seed;
	return do_ioctl(fd, PGTBENCH_IOC_VMALLOC_STORM, &v) ? 0 : v.bytes_allocated;
}

/*
 * A seeded storm repeats exactly; seed 0 draws from the kernel's RNG as test_vmalloc
 * does. Three such storms of 50 sizes in 1..100 pages all summing alike would happen
 * about once in 250000 runs.
 */
static void check_vmalloc_draws(int fd)
{
	unsigned long long a = random_size_bytes(fd, 42), b = random_size_bytes(fd, 42);
	unsigned long long c[3] = { random_size_bytes(fd, 0), random_size_bytes(fd, 0),
				    random_size_bytes(fd, 0) };

	result("vmalloc_seeded_storm_repeats", a && a == b, "%llu and %llu bytes", a, b);
	result("vmalloc_seed0_draws_anew", c[0] && c[1] && c[2] && !(c[0] == c[1] && c[1] == c[2]),
	       "%llu, %llu and %llu bytes", c[0], c[1], c[2]);
}

static void check_vmalloc(int fd)
{
	static const char *const names[PGTBENCH_VMALLOC_NR_CASES] = {
		"fix_size_alloc", "full_fit_alloc", "long_busy_list_alloc", "random_size_alloc",
		"fix_align_alloc", "random_size_align_alloc", "pcpu_alloc", "vm_map_ram", "vmap",
	};
	struct pgtbench_vmalloc_storm v;
	long long used, pcpu;
	char name[64];
	int e;

	static const char *const modes[] = { "", "_split", "_kthread" };
	static const unsigned long long mode_flags[] = { 0, PGTBENCH_VMALLOC_SPLIT, PGTBENCH_VMALLOC_KTHREAD };
	unsigned long long tid = (unsigned long long)syscall(SYS_gettid);

	for (unsigned int i = 0; i < 3 * PGTBENCH_VMALLOC_NR_CASES; i++) {
		unsigned int c = i / 3, mode = i % 3;
		int split = mode == 1, kthread = mode == 2;

		vmalloc_arg(&v, c, 3);
		v.seed = 42;
		v.flags = mode_flags[mode];
		memset(&v.loops_done, 0xa5, sizeof(v) - offsetof(struct pgtbench_vmalloc_storm, loops_done));
		e = do_ioctl(fd, PGTBENCH_IOC_VMALLOC_STORM, &v);
		snprintf(name, sizeof(name), "vmalloc_%s_3_loops%s", names[c], modes[mode]);
		if (e == EOPNOTSUPP && (c == PGTBENCH_VMALLOC_FIX_ALIGN_ALLOC ||
					c == PGTBENCH_VMALLOC_RANDOM_SIZE_ALIGN_ALLOC)) {
			result(name, 1, "EOPNOTSUPP: no __vmalloc_node() exported here");
			continue;
		}
		/*
		 * pcpu_alloc is the one case without pages; each other reports the size it
		 * used. Only a SPLIT storm times its calls and says what a clock read costs;
		 * only a KTHREAD storm runs in another task than the caller.
		 */
		result(name, e == 0 && v.loops_done == 3 &&
			       (v.nr_pages_used > 0) == (c != PGTBENCH_VMALLOC_PCPU_ALLOC) &&
			       v.alloc_calls >= 3 && v.free_calls == v.alloc_calls && v.failures == 0 &&
			       (split ? v.alloc_ns > 0 && v.free_ns > 0 && v.clock_ns > 0
				      : v.alloc_ns == 0 && v.free_ns == 0 && v.clock_ns == 0) &&
			       v.loop_ns > 0 && v.case_ns >= v.loop_ns &&
			       v.bytes_allocated > 0 && v.pmd_chunks_contig <= v.pmd_chunks &&
			       all_zero(&v.counts, sizeof(v.counts)) &&
			       all_zero(v.reserved_out, sizeof(v.reserved_out)) &&
			       (kthread ? v.worker_pid > 0 && v.worker_pid != tid : v.worker_pid == tid) &&
			       v.case_id == c && v.loops == 3 && v.seed == 42 && v.nr_pages == 0 &&
			       v.flags == mode_flags[mode],
		       "%s, worker %llu (caller %llu), loops_done %llu nr_pages %llu calls %llu/%llu failures %llu ns %llu/%llu/%llu/%llu clock %llu",
		       errname(e), (unsigned long long)v.worker_pid, tid,
		       (unsigned long long)v.loops_done, (unsigned long long)v.nr_pages_used,
		       (unsigned long long)v.alloc_calls, (unsigned long long)v.free_calls,
		       (unsigned long long)v.failures, (unsigned long long)v.alloc_ns,
		       (unsigned long long)v.free_ns, (unsigned long long)v.loop_ns,
		       (unsigned long long)v.case_ns, (unsigned long long)v.clock_ns);
	}

	check_vmalloc_kthread_signal(fd);
	check_vmalloc_draws(fd);

	/* A PMD's worth with use_huge: one PMD-aligned piece, backed by a contiguous run. */
	vmalloc_arg(&v, PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, 2);
	v.nr_pages = 512;
	v.use_huge = 1;
	e = do_ioctl(fd, PGTBENCH_IOC_VMALLOC_STORM, &v);
	result("vmalloc_fix_size_p512_h1_pmd_mapped", e == 0 && v.pmd_chunks == 1 && v.pmd_chunks_contig == 1,
	       "%s, pmd_chunks %u contig %u", errname(e), v.pmd_chunks, v.pmd_chunks_contig);

	vmalloc_arg(&v, PGTBENCH_VMALLOC_LONG_BUSY_LIST_ALLOC, PGTBENCH_VMALLOC_MAX_LOOPS);
	v.flags = PGTBENCH_VMALLOC_VALIDATE_ONLY | PGTBENCH_VMALLOC_SPLIT;
	e = do_ioctl(fd, PGTBENCH_IOC_VMALLOC_STORM, &v);
	result("vmalloc_validate_only_runs_nothing", e == 0 && v.loops_done == 0 && v.alloc_calls == 0 &&
		       v.case_ns == 0 && v.clock_ns == 0 && v.nr_pages_used == 100,
	       "%s, loops_done %llu nr_pages_used %llu", errname(e), (unsigned long long)v.loops_done,
	       (unsigned long long)v.nr_pages_used);

	used = meminfo_kb("VmallocUsed");
	pcpu = meminfo_kb("Percpu");
	vmalloc_arg(&v, PGTBENCH_VMALLOC_NR_CASES, 1);
	expect_errno("vmalloc_case_einval", fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	vmalloc_arg(&v, PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, 0);
	expect_errno("vmalloc_loops0_einval", fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	vmalloc_arg(&v, PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, PGTBENCH_VMALLOC_MAX_LOOPS + 1);
	expect_errno("vmalloc_loops_max_einval", fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	vmalloc_arg(&v, PGTBENCH_VMALLOC_VMAP, 1);
	v.nr_pages = PGTBENCH_VMALLOC_MAX_PAGES + 1;
	expect_errno("vmalloc_pages_max_einval", fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	vmalloc_arg(&v, PGTBENCH_VMALLOC_FULL_FIT_ALLOC, 1);
	v.nr_pages = PGTBENCH_VMALLOC_MAX_PAGES;	/* its setup would hold far more */
	expect_errno("vmalloc_full_fit_setup_einval", fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	vmalloc_arg(&v, PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, 1);
	v.use_huge = 2;
	expect_errno("vmalloc_use_huge2_einval", fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	vmalloc_arg(&v, PGTBENCH_VMALLOC_VM_MAP_RAM, 1);
	v.use_huge = 1;
	expect_errno("vmalloc_vm_map_ram_huge_einval", fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	vmalloc_arg(&v, PGTBENCH_VMALLOC_PCPU_ALLOC, 1);
	v.nr_pages = 1;
	expect_errno("vmalloc_pcpu_pages_einval", fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	/* The first bit after the known ones, and the last: unknown bits stay refused. */
	vmalloc_arg(&v, PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, 1);
	v.flags = PGTBENCH_VMALLOC_SPLIT | (PGTBENCH_VMALLOC_FLAGS + 1);
	expect_errno("vmalloc_flags_einval", fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	vmalloc_arg(&v, PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, 1);
	v.flags = 1ULL << 63;
	expect_errno("vmalloc_flags63_einval", fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	for (int i = 0; i < 3; i++) {
		vmalloc_arg(&v, PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, 1);
		v.reserved_in[i] = 1ULL << (8 * i + 5);
		snprintf(name, sizeof(name), "vmalloc_reserved%d_einval", i);
		expect_errno(name, fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	}
	result("vmalloc_refused_calls_allocate_nothing",
	       used >= 0 && meminfo_kb("VmallocUsed") == used && meminfo_kb("Percpu") == pcpu,
	       "VmallocUsed %lld -> %lld kB, Percpu %lld -> %lld kB", used, meminfo_kb("VmallocUsed"),
	       pcpu, meminfo_kb("Percpu"));

	expect_errno("vmalloc_bad_pointer_efault", fd, PGTBENCH_IOC_VMALLOC_STORM, (void *)16, EFAULT);
}

/*
 * `kmod_abi_check --vmalloc-einval-once`: exactly one refused VMALLOC_STORM (loops = 0),
 * so that the guest test can hold the kernel log to one line for it.
 */
static int vmalloc_einval_once(void)
{
	struct pgtbench_vmalloc_storm v;
	int fd = open(PGTBENCH_CTL_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("open=FAIL (%s: %s)\n", PGTBENCH_CTL_PATH, strerror(errno));
		return 2;
	}
	vmalloc_arg(&v, PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, 0);
	expect_errno("vmalloc_einval_once", fd, PGTBENCH_IOC_VMALLOC_STORM, &v, EINVAL);
	close(fd);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : PGTBENCH_CTL_PATH;
	struct pgtbench_vmalloc_storm vs;
	struct pgtbench_info info;
	struct pgtbench_nop nop;
	struct pgtbench_map_mem_replay mm;
	struct utsname uts;
	int fd, e;

	if (argc > 1 && !strcmp(argv[1], "--vmalloc-einval-once"))
		return vmalloc_einval_once();
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("open=FAIL (%s: %s)\nsummary=FAIL checks=0 failures=1\n", path, strerror(errno));
		return 2;
	}

	/* INFO: the handshake. */
	memset(&info, 0, sizeof(info));
	e = do_ioctl(fd, PGTBENCH_IOC_INFO, &info);
	result("info", e == 0, "%s", errname(e));
	if (e == 0) {
		uname(&uts);
		result("info_abi_version", info.abi_version == PGTBENCH_ABI_VERSION, "got %u want %u",
		       info.abi_version, PGTBENCH_ABI_VERSION);
		result("info_page_size", info.page_size == 4096 && info.page_shift == 12,
		       "page_size %u page_shift %u", info.page_size, info.page_shift);
		result("info_va_bits", info.va_bits == 0 || (info.va_bits >= 36 && info.va_bits <= 52),
		       "%u", info.va_bits);
		result("info_caps", (info.caps & PGTBENCH_CAP_NOP) &&
			       (info.caps & PGTBENCH_CAP_MAP_MEM_REPLAY) &&
			       (info.caps & PGTBENCH_CAP_VMALLOC_STORM) &&
			       (info.caps & PGTBENCH_CAP_VMALLOC_SPLIT) &&
			       (info.caps & PGTBENCH_CAP_VMALLOC_KTHREAD) &&
			       (info.caps & PGTBENCH_CAP_PTE_WALK),
		       "0x%llx", (unsigned long long)info.caps);
		result("info_release", memchr(info.release, 0, sizeof(info.release)) &&
			       !strcmp(info.release, uts.release),
		       "'%.*s' vs uname '%s'", (int)sizeof(info.release), info.release, uts.release);
		result("info_zero_fields", all_zero(&info.counts, sizeof(info.counts)) &&
			       all_zero(info.reserved, sizeof(info.reserved)), "%s", "");
	}

	/* Output fields are ignored on input and overwritten. */
	memset(&info, 0xa5, sizeof(info));
	memset(info.reserved, 0, sizeof(info.reserved));
	e = do_ioctl(fd, PGTBENCH_IOC_INFO, &info);
	result("info_overwrites_outputs", e == 0 && info.abi_version == PGTBENCH_ABI_VERSION &&
		       all_zero(&info.counts, sizeof(info.counts)) &&
		       memchr(info.release, 0, sizeof(info.release)),
	       "%s", errname(e));

	memset(&info, 0, sizeof(info));
	info.reserved[3] = 1;
	expect_errno("info_reserved_einval", fd, PGTBENCH_IOC_INFO, &info, EINVAL);

	/* NOP */
	memset(&nop, 0, sizeof(nop));
	nop.loops = 1000;
	memset(&nop.counts, 0xff, sizeof(nop.counts)); /* outputs: must come back zero */
	e = do_ioctl(fd, PGTBENCH_IOC_NOP, &nop);
	result("nop_1000", e == 0 && nop.loops == 1000 && all_zero(&nop.counts, sizeof(nop.counts)) &&
		       all_zero(nop.reserved, sizeof(nop.reserved)),
	       "%s, total_ns %llu", errname(e), (unsigned long long)nop.total_ns);
	if (e == 0)
		printf("nop_1000_total_ns=%llu\n", (unsigned long long)nop.total_ns);

	memset(&nop, 0, sizeof(nop));
	nop.loops = 0;
	expect_errno("nop_loops0_einval", fd, PGTBENCH_IOC_NOP, &nop, EINVAL);

	memset(&nop, 0, sizeof(nop));
	nop.loops = PGTBENCH_NOP_MAX_LOOPS + 1;
	expect_errno("nop_loops_max_einval", fd, PGTBENCH_IOC_NOP, &nop, EINVAL);

	for (int i = 0; i < 4; i++) {
		char name[32];

		memset(&nop, 0, sizeof(nop));
		nop.loops = 1;
		nop.reserved[i] = 1ULL << (8 * i + 3);
		snprintf(name, sizeof(name), "nop_reserved%d_einval", i);
		expect_errno(name, fd, PGTBENCH_IOC_NOP, &nop, EINVAL);
	}

	/* Commands this module does not know. */
	{
		unsigned char buf[256];

		memset(buf, 0, sizeof(buf));
		expect_errno("unknown_cmd_enotty", fd, _IOWR(PGTBENCH_IOC_MAGIC, 0x7f, struct pgtbench_nop),
			     buf, ENOTTY);
		/* INFO's number with another size: a caller built against another layout. */
		expect_errno("info_wrong_size_enotty", fd, _IOC(_IOC_READ | _IOC_WRITE, PGTBENCH_IOC_MAGIC, 0x00,
							    sizeof(struct pgtbench_info) + 8),
			     buf, ENOTTY);
		expect_errno("other_magic_enotty", fd, _IOWR(0x42, 0x00, struct pgtbench_info), buf, ENOTTY);
	}

	check_vmalloc(fd);

	check_map_mem(fd);
	check_pte_walk(fd, info.va_bits);

	/* A bad pointer: EFAULT, not a crash. */
	expect_errno("nop_bad_pointer_efault", fd, PGTBENCH_IOC_NOP, (void *)16, EFAULT);

	/* Drop root (and with it CAP_SYS_ADMIN) but keep the descriptor opened as root. */
	if (setgid(65534) || setuid(65534)) {
		result("drop_privileges", 0, "setuid: %s", strerror(errno));
	} else {
		memset(&nop, 0, sizeof(nop));
		nop.loops = 1;
		expect_errno("nop_unprivileged_eperm", fd, PGTBENCH_IOC_NOP, &nop, EPERM);
		memset(&info, 0, sizeof(info));
		expect_errno("info_unprivileged_eperm", fd, PGTBENCH_IOC_INFO, &info, EPERM);
		map_mem_arg(&mm, 2 << 20, PGTBENCH_GRAN_PTE, PGTBENCH_REPLAY_BASE);
		expect_errno("map_mem_unprivileged_eperm", fd, PGTBENCH_IOC_MAP_MEM_REPLAY, &mm, EPERM);
		vmalloc_arg(&vs, PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, 1);
		expect_errno("vmalloc_unprivileged_eperm", fd, PGTBENCH_IOC_VMALLOC_STORM, &vs, EPERM);
	}

	close(fd);
	printf("summary=%s checks=%d failures=%d\n", failures ? "FAIL" : "ok", checks, failures);
	return failures ? 1 : 0;
}
