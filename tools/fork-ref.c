// SPDX-License-Identifier: GPL-2.0
/*
 * fork-ref: the fork and munmap scenarios as the mm threads' benchmark does them, a
 * self-contained C program to cross-check the harness against (tools/fidelity): fresh
 * memory per repetition, populated by writing a byte per page, a raw clone whose child
 * exits at once, or a munmap of the whole region. Nothing else runs between populating
 * and the timed call. Prints each repetition's time in ms on stdout.
 *
 *   fork-ref fork|munmap SIZE_MB 0|9pmd|9pte REPS [WARMUP [CPU]]
 *
 * CPU pins the process there, as the harness pins its subject: an unpinned parent's
 * clone wakes its child on another, idle CPU, an IPI that a pinned one does not send
 * (in a VM a costly exit), and a fixed cost in every fork.
 *
 * 9pte PTE-maps every THP as the harness does (mprotect of one subpage and back). Sets
 * nothing: order 9 needs THP "madvise" or "always". With a warm-up, the first warm-up
 * repetition says on stderr what the kernel gave (read in an untimed repetition, as
 * reading /proc before the timed call warms the caches it uses):
 *   # anon_huge_kb N
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PMD_SIZE (2UL << 20)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage(void)
{
	fprintf(stderr, "usage: fork-ref fork|munmap SIZE_MB 0|9pmd|9pte REPS [WARMUP [CPU]]\n");
	exit(2);
}

/* AnonHugePages of the whole process: the PMD-mapped THPs it holds now. */
static long anon_huge_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The region, PMD-aligned and trimmed to its size: one VMA, as the harness maps it. */
static char *map_region(size_t size, int huge)
{
	char *raw = mmap(NULL, size + PMD_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *mem, *end;

	if (raw == MAP_FAILED) {
		perror("fork-ref: mmap");
		exit(1);
	}
	mem = (char *)(((unsigned long)raw + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
	end = mem + size;
	if (mem > raw)
		munmap(raw, mem - raw);
	if (raw + size + PMD_SIZE > end)
		munmap(end, raw + size + PMD_SIZE - end);
	madvise(mem, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return mem;
}

int main(int argc, char **argv)
{
	if (argc < 5 || argc > 7)
		usage();
	int fork_op = !strcmp(argv[1], "fork");
	if (!fork_op && strcmp(argv[1], "munmap"))
		usage();
	size_t size = strtoul(argv[2], NULL, 0) << 20;
	int huge = strcmp(argv[3], "0") != 0, pte = !strcmp(argv[3], "9pte");
	if (huge && !pte && strcmp(argv[3], "9pmd"))
		usage();
	int reps = atoi(argv[4]), warmup = argc > 5 ? atoi(argv[5]) : 0;
	if (!size || size % PMD_SIZE || reps < 1 || warmup < 0)
		usage();
	if (argc > 6) {
		char *end;
		long cpu = strtol(argv[6], &end, 10);
		cpu_set_t set;

		if (*end || cpu < 0 || cpu >= CPU_SETSIZE)
			usage();
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("fork-ref: sched_setaffinity");
			return 1;
		}
	}

	for (int r = 0; r < warmup + reps; r++) {
		char *mem = map_region(size, huge);
		double t0, t1;
		long kb = -1;

		for (size_t off = 0; off < size; off += 4096)
			mem[off] = 1;
		if (pte)
			for (size_t off = 0; off < size; off += PMD_SIZE) {
				mprotect(mem + off, 4096, PROT_READ);
				mprotect(mem + off, 4096, PROT_READ | PROT_WRITE);
			}
		if (fork_op) {
			t0 = now_ms();
			long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
			if (pid == 0)
				syscall(SYS_exit_group, 0);
			t1 = now_ms();
			if (pid < 0) {
				perror("fork-ref: clone");
				return 1;
			}
			waitpid(pid, NULL, 0);
			if (r == 0 && warmup)
				kb = anon_huge_kb();
			munmap(mem, size);
		} else {
			if (r == 0 && warmup)
				kb = anon_huge_kb();
			t0 = now_ms();
			munmap(mem, size);
			t1 = now_ms();
		}
		if (r == 0 && warmup)
			fprintf(stderr, "# anon_huge_kb %ld\n", kb);
		if (r >= warmup)
			printf("%.6f\n", t1 - t0);
	}
	return 0;
}
