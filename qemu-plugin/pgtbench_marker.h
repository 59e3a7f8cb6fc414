/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * pgtbench_marker.h - the counting-window markers, shared by the harness (which executes
 * them around every timed operation) and the qemu plugin (which recognises them while it
 * translates guest code). Nothing else defines them.
 *
 * A marker is `orr xN, xN, xN`: ORR (shifted register, 64-bit) of a register with itself
 * into itself. Architecturally it writes back the value the register already holds and
 * sets no flags, so it is a no-op on every ARMv8/ARMv9 core by the definition of ORR -
 * not by a hint encoding that a future extension could allocate (as BTI, PAC and GCS
 * took HINT space). The assembler's `mov xd, xm` is `orr xd, xzr, xm` (Rn = 31), a
 * different encoding, so compilers do not emit these words; a real machine executes
 * them as one ALU op each and measures as before.
 *
 * The protocol, one instruction per step, recognised by its encoding alone (qemu 7.2's
 * plugins cannot read registers):
 *   SESSION, then 8 DIGIT markers   a new session whose 32-bit id is the 8 hex digits,
 *                                   most significant first (a process's results file
 *                                   records the id, so its windows can be found)
 *   VECTORS, then 16 DIGIT markers  the address of one of the kernel's exception vector
 *                                   tables (from /proc/kallsyms), so that the plugin
 *                                   can tell interrupt work from the operation's
 *   OPEN                            window k of the session starts (k = 0, 1, ...)
 *   MODULE_BEGIN, MODULE_END        inside a window: the part pgtbench.ko times itself
 *                                   (its total_ns), emitted by the module; its counts
 *                                   are the window's "module" counts
 *   CLOSE                           window k ends; its counts are written out
 * DIGIT d (0..15) is `orr xd, xd, xd`; SESSION, OPEN, CLOSE, VECTORS, MODULE_BEGIN,
 * MODULE_END use x19..x24.
 * Counts cover every vCPU between OPEN and CLOSE; the markers themselves count as no
 * instruction. A harness that never emits them is simply never counted.
 */
#ifndef PGTBENCH_MARKER_H
#define PGTBENCH_MARKER_H

/* The encoding of orr xN, xN, xN. */
#define PGTBENCH_MARKER_INSN(n) \
	(0xaa000000u | ((unsigned)(n) << 16) | ((unsigned)(n) << 5) | (unsigned)(n))

#define PGTBENCH_MARKER_DIGIT_MAX	15
#define PGTBENCH_MARKER_SESSION_REG	19
#define PGTBENCH_MARKER_OPEN_REG	20
#define PGTBENCH_MARKER_CLOSE_REG	21
#define PGTBENCH_MARKER_VECTORS_REG	22
#define PGTBENCH_MARKER_MODULE_BEGIN_REG 23
#define PGTBENCH_MARKER_MODULE_END_REG	24
#define PGTBENCH_MARKER_SESSION_DIGITS	8
#define PGTBENCH_MARKER_VECTORS_DIGITS	16

/* The same as assembler text, for the harness's inline asm. */
#define PGTBENCH_MARKER_STR_(n)		"orr x" #n ", x" #n ", x" #n
#define PGTBENCH_MARKER_STR(n)		PGTBENCH_MARKER_STR_(n)
#define PGTBENCH_MARKER_OPEN_ASM	PGTBENCH_MARKER_STR(PGTBENCH_MARKER_OPEN_REG)
#define PGTBENCH_MARKER_CLOSE_ASM	PGTBENCH_MARKER_STR(PGTBENCH_MARKER_CLOSE_REG)
#define PGTBENCH_MARKER_SESSION_ASM	PGTBENCH_MARKER_STR(PGTBENCH_MARKER_SESSION_REG)
#define PGTBENCH_MARKER_VECTORS_ASM	PGTBENCH_MARKER_STR(PGTBENCH_MARKER_VECTORS_REG)
#define PGTBENCH_MARKER_MODULE_BEGIN_ASM PGTBENCH_MARKER_STR(PGTBENCH_MARKER_MODULE_BEGIN_REG)
#define PGTBENCH_MARKER_MODULE_END_ASM	PGTBENCH_MARKER_STR(PGTBENCH_MARKER_MODULE_END_REG)

/* The window log's format version (the "pgtbench_count" field of its first line). */
#define PGTBENCH_COUNT_LOG_VERSION	1

#endif /* PGTBENCH_MARKER_H */
