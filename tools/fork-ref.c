// SPDX-License-Identifier: GPL-2.0
/*
 * fork-ref: the fork scenario as a self-contained C program, to cross-check the
 * harness: same memory, same raw clone, nothing else. Prints each fork time in ms.
 *   fork-ref SIZE_MB ORDER(0|9) [REPS]     (run as root: sets nothing, uses madvise)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	size_t size = (argc > 1 ? strtoul(argv[1], NULL, 0) : 1024) << 20, align = 2 << 20;
	int order = argc > 2 ? atoi(argv[2]) : 0, reps = argc > 3 ? atoi(argv[3]) : 10;

	for (int r = 0; r < reps; r++) {
		char *raw = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *mem = (char *)(((unsigned long)raw + align - 1) & ~(align - 1));

		if (raw == MAP_FAILED)
			return 1;
		madvise(mem, size, order ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		for (size_t off = 0; off < size; off += 4096)
			mem[off] = 1;
		double t0 = now_ms();
		long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			syscall(SYS_exit_group, 0);
		double t1 = now_ms();
		waitpid(pid, NULL, 0);
		printf("%.4f\n", t1 - t0);
		munmap(raw, size + align);
	}
	return 0;
}
