// SPDX-License-Identifier: GPL-2.0
/*
 * emu_loop: user-space loops of known length inside counting windows, so that the
 * emulator's EL0 count can be checked exactly. For each N on the command line, three
 * windows each hold one loop of N iterations of exactly two instructions (subs, b.ne):
 * the window's insn_el0 must be 2 * N. It announces its own session (printed as
 * "session=<id>") and names no vector tables, so interrupt work stays in insn_el1.
 * Built statically for the guest by tests/guest/test_emu.py.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pgtbench_marker.h"

#define DIGIT(n) PGTBENCH_MARKER_STR(n) "\n"

int main(int argc, char **argv)
{
	/* Session e1007e57, spelled out digit by digit. */
	asm volatile(PGTBENCH_MARKER_SESSION_ASM "\n"
		     DIGIT(14) DIGIT(1) DIGIT(0) DIGIT(0) DIGIT(7) DIGIT(14) DIGIT(5) DIGIT(7)
		     ::: "memory");
	printf("session=e1007e57\n");
	for (int a = 1; a < argc; a++) {
		long n = atol(argv[a]);
		if (n < 1) {
			fprintf(stderr, "emu_loop: %s: not a positive count\n", argv[a]);
			return 2;
		}
		for (int rep = 0; rep < 3; rep++) {
			long i = n;
			asm volatile(PGTBENCH_MARKER_OPEN_ASM "\n"
				     "1:	subs	%0, %0, #1\n"
				     "	b.ne	1b\n"
				     PGTBENCH_MARKER_CLOSE_ASM "\n"
				     : "+r"(i) : : "cc", "memory");
		}
		printf("loops=%ld windows=3\n", n);
	}
	return 0;
}
