// SPDX-License-Identifier: GPL-2.0
/*
 * count.c - a qemu TCG plugin (libpgtbench-count.so) that counts, exactly, what an
 * emulated arm64 machine executes inside pgtbench's counting windows: TLBI by operation,
 * DSB by option, ISB, and instructions split into kernel and user.
 *
 *   qemu-system-aarch64 -accel tcg,thread=single ... \
 *       -plugin build/qemu-plugin/libpgtbench-count.so,out=windows.jsonl
 *
 * (tools/vm --count does this.) Arguments:
 *   out=PATH     where the window log goes (required); one JSON object per line:
 *                {"pgtbench_count": 1, "event": "start", ...}   first
 *                {"event": "session", "session": "1a2b3c4d"}
 *                {"event": "window", "session": ..., "window": k, "insn_el0": ...,
 *                 "insn_el1": ..., "tlbi": {op: n, ...}, "dsb": {option: n, ...},
 *                 "isb": n, "irq_entries": n, "irq_insn_el1": n,
 *                 "context_switches": n, "kthread": {counts...},
 *                 "module": {"context_switches": n, counts...}}   one per window;
 *                 "kthread": what kernel threads ran meanwhile (left out of the window);
 *                 "module": the parts pgtbench.ko marks (MODULE_BEGIN..END), summed
 *                 over the module calls of the window, if any
 *                {"event": "error", "what": ...}                  a marker out of order
 *                {"event": "exit", "sessions": n, "windows": n}  last, at qemu's exit
 *
 * How it counts (qemu 7.2, plugin API 1: no register reads, no per-vCPU scoreboards):
 * - Every instruction is decoded once, when its block is translated. Instructions are
 *   counted by inline adds on the counter of their exception level (onTranslate says
 *   how); TLBI/DSB/ISB get an inline add on their own counter as well. Inline adds are plain loads and stores, not atomic: the
 *   counts are exact only when vCPUs do not run concurrently, which is why qemu runs
 *   with -accel tcg,thread=single (round-robin vCPUs in one thread).
 * - The exception level comes from the address: Linux runs EL1 code in the upper half of
 *   the address space (TTBR1) and EL0 code in the lower half, and a block never spans
 *   both. Only code running with the MMU off or from the idmap (early boot, suspend)
 *   breaks the rule; no counting window contains such code.
 * - A window's counts are the difference of the counters between its markers, so every
 *   vCPU's work is in it (a fork child's exit on another CPU too). An instruction that
 *   faults is counted again when it is re-executed; that is what the CPU executed.
 * - Interrupts are not the operation's work: a timer tick landing in one window and not
 *   in the next would change its ISBs (counter reads), DSBs and instructions. What a
 *   vCPU runs from an IRQ vector entry to its next ERET (the handler, softirqs, a
 *   reschedule it triggers) is counted apart and taken out of the window; the window
 *   reports how many interrupts it had and how many EL1 instructions they ran. The
 *   harness names the kernel's vector tables (from /proc/kallsyms) with a marker.
 * - TLBI is SYS with CRn 8 (CRn 9: the nXS forms); the name comes from op1, CRm and op2
 *   (Arm ARM C5.5). DSB and ISB are the barrier instructions with their CRm option.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

#include "pgtbench_marker.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* TLBI slots: nXS (1 bit) x op1 (3) x CRm (4) x op2 (3). */
#define TLBI_SLOTS (2 * 8 * 16 * 8)
#define TLBI_SLOT(nxs, op1, crm, op2) (((nxs) << 10) | ((op1) << 7) | ((crm) << 3) | (op2))

struct counts {
	uint64_t insn[2]; /* EL0, EL1 */
	uint64_t tlbi[TLBI_SLOTS];
	uint64_t dsb[16]; /* by CRm */
	uint64_t isb;
};

enum marker { M_DIGIT, M_SESSION, M_OPEN, M_CLOSE, M_VECTORS, M_MODULE_BEGIN, M_MODULE_END };

#define MAX_VCPUS 64
#define MAX_VECTOR_TABLES 16
#define N_COUNTS (sizeof(struct counts) / sizeof(uint64_t))

static struct counts live;
static struct counts at_open;
/*
 * Interrupt work, kept apart: what ran on a vCPU from an IRQ vector entry to its next
 * ERET (the handler, softirqs, a reschedule it caused) is added to `irq` and taken out
 * of the window. Vector tables come from the harness (PGTBENCH_MARKER_VECTORS).
 */
static struct counts irq, irq_at_open;
/* The module's part of the window (MODULE_BEGIN..END), interrupts taken out as well. */
static struct counts at_module, irq_at_module, module_part;
static int module_state; /* 0 none yet, 1 inside a part, 2 between parts */
static struct counts irq_entry_live[MAX_VCPUS];
static int in_irq[MAX_VCPUS];
static uint64_t irq_entries, irq_entries_at_open;
static uint64_t vector_tables[MAX_VECTOR_TABLES];
static int n_vector_tables;
static uint64_t vector_digits_value;
static int vector_digits_wanted;
/*
 * Other tasks' work: a window's operation runs in the task that opened it and in user
 * tasks it makes run (a fork child), but a kernel thread woken into it (a kworker,
 * ksoftirqd, RCU, the idle task after an interrupt) is no part of it. cpu_switch_to
 * stores the outgoing task's registers with `stp x19, x20, [x8], #16` and loads the
 * incoming one's with `ldp x19, x20, [x8], #16` (two words only it has), so their
 * addresses tell the tasks apart. A run of a task other than the window's that executes
 * no EL0 instruction is counted apart like interrupt work (`kthread`).
 */
#define STP_PREV_CONTEXT 0xa8815113u
#define LDP_NEXT_CONTEXT 0xa8c15113u
#define MAX_USER_TASKS 64
static struct counts kthread, kthread_at_open, kthread_at_module;
static uint64_t cur_task[MAX_VCPUS];	  /* cpu_context address of the running task */
static struct counts run_start[MAX_VCPUS], run_irq_start[MAX_VCPUS];
static uint64_t window_task;		  /* the task that opened the window, once known */
static unsigned open_vcpu;
static uint64_t user_tasks[MAX_USER_TASKS]; /* other tasks seen at EL0 in this window */
static int n_user_tasks;
static uint64_t switches, switches_at_open, switches_at_module, module_switches;
static uint64_t irq_entries_at_module, module_irq_entries;
static pthread_mutex_t window_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out;
static char session[PGTBENCH_MARKER_SESSION_DIGITS + 1];
static int digits_wanted; /* > 0: collecting a session id */
static int window_open;
static uint64_t next_window, sessions, windows;

/* The EL1 forms Linux issues, by CRm and op2; their names get the CRm's suffix. */
static const char *const tlbi_el1_op2[8] = {
	"vmalle1", "vae1", "aside1", "vaae1", NULL, "vale1", NULL, "vaale1",
};
static const char *const tlbi_el1_range_op2[8] = {
	NULL, "rvae1", NULL, "rvaae1", NULL, "rvale1", NULL, "rvaale1",
};

/* The name of a TLBI slot: "vale1is", "rvae1os", "vae1nxs"...; NULL: none of EL1's. */
static int tlbiName(unsigned slot, char *buf, size_t len)
{
	unsigned nxs = slot >> 10, op1 = (slot >> 7) & 7, crm = (slot >> 3) & 15, op2 = slot & 7;
	const char *base = NULL, *suffix = "";

	if (op1 == 0) {
		switch (crm) {
		case 1: base = tlbi_el1_op2[op2]; suffix = "os"; break;
		case 3: base = tlbi_el1_op2[op2]; suffix = "is"; break;
		case 7: base = tlbi_el1_op2[op2]; break;
		case 2: base = tlbi_el1_range_op2[op2]; suffix = "is"; break;
		case 5: base = tlbi_el1_range_op2[op2]; suffix = "os"; break;
		case 6: base = tlbi_el1_range_op2[op2]; break;
		}
	}
	if (base)
		return snprintf(buf, len, "%s%s%s", base, suffix, nxs ? "nxs" : "") > 0;
	/* EL2/EL3 and stage-2 forms: named by their encoding fields. */
	return snprintf(buf, len, "op1_%u_crm_%u_op2_%u%s", op1, crm, op2, nxs ? "_nxs" : "") > 0;
}

static int tlbiIsEl1Named(unsigned slot)
{
	unsigned op1 = (slot >> 7) & 7, crm = (slot >> 3) & 15, op2 = slot & 7;

	if (op1 != 0)
		return 0;
	if (crm == 1 || crm == 3 || crm == 7)
		return tlbi_el1_op2[op2] != NULL;
	if (crm == 2 || crm == 5 || crm == 6)
		return tlbi_el1_range_op2[op2] != NULL;
	return 0;
}

/* Broadcast: inner or outer shareable (CRm 1, 2, 3, 5 at EL1; 0..5 for EL2/EL3 too). */
static int tlbiBroadcast(unsigned slot)
{
	unsigned crm = (slot >> 3) & 15;

	return crm != 6 && crm != 7 && crm != 4;
}

static const char *const dsb_names[16] = {
	"ssbb", "oshld", "oshst", "osh", "pssbb", "nshld", "nshst", "nsh",
	"crm8", "ishld", "ishst", "ish", "crm12", "ld", "st", "sy",
};

static void emitCounts(const struct counts *d)
{
	char name[48];
	uint64_t broadcast = 0, local = 0;

	fprintf(out, ",\"insn_el0\":%" PRIu64 ",\"insn_el1\":%" PRIu64, d->insn[0], d->insn[1]);
	fputs(",\"tlbi\":{", out);
	const char *sep = "";
	for (unsigned s = 0; s < TLBI_SLOTS; s++) {
		/* Every EL1 form, zeros too, so that every window names the same counters. */
		if (!d->tlbi[s] && !(tlbiIsEl1Named(s) && !(s >> 10)))
			continue;
		tlbiName(s, name, sizeof(name));
		fprintf(out, "%s\"%s\":%" PRIu64, sep, name, d->tlbi[s]);
		sep = ",";
		if (tlbiBroadcast(s))
			broadcast += d->tlbi[s];
		else
			local += d->tlbi[s];
	}
	fprintf(out, "},\"tlbi_broadcast\":%" PRIu64 ",\"tlbi_local\":%" PRIu64, broadcast, local);
	fputs(",\"dsb\":{", out);
	sep = "";
	for (unsigned o = 0; o < 16; o++) {
		if (!d->dsb[o] && (o == 0 || o == 4 || o == 8 || o == 12))
			continue; /* SSBB, PSSBB and reserved options: only when they occur */
		fprintf(out, "%s\"%s\":%" PRIu64, sep, dsb_names[o], d->dsb[o]);
		sep = ",";
	}
	fprintf(out, "},\"isb\":%" PRIu64, d->isb);
}

static void protocolError(const char *what)
{
	fprintf(out, "{\"event\":\"error\",\"session\":\"%s\",\"what\":\"%s\"}\n", session, what);
	fflush(out);
}

/* What vCPU v ran in its interrupt up to now goes to `irq`; it goes on from here. */
static void settleIrq(unsigned v)
{
	const uint64_t *a = (const uint64_t *)&live, *b = (const uint64_t *)&irq_entry_live[v];
	uint64_t *r = (uint64_t *)&irq;

	for (size_t i = 0; i < N_COUNTS; i++)
		r[i] += a[i] - b[i];
	irq_entry_live[v] = live;
}

static void diffCounts(struct counts *d, const struct counts *now, const struct counts *then,
		       const struct counts *irq_now, const struct counts *irq_then)
{
	const uint64_t *a = (const uint64_t *)now, *b = (const uint64_t *)then;
	const uint64_t *ia = (const uint64_t *)irq_now, *ib = (const uint64_t *)irq_then;
	uint64_t *r = (uint64_t *)d;

	/* Saturating: what is taken out can never be more than what ran. */
	for (size_t i = 0; i < N_COUNTS; i++)
		r[i] = a[i] - b[i] >= ia[i] - ib[i] ? (a[i] - b[i]) - (ia[i] - ib[i]) : 0;
}

static void endRun(unsigned v);

/* What the kernel threads ran since `then` is no part of d either. */
static void dropKthreads(struct counts *d, const struct counts *then)
{
	const uint64_t *a = (const uint64_t *)&kthread, *b = (const uint64_t *)then;
	uint64_t *r = (uint64_t *)d;

	for (size_t i = 0; i < N_COUNTS; i++)
		r[i] = r[i] >= a[i] - b[i] ? r[i] - (a[i] - b[i]) : 0;
}

/* Other vCPUs' runs in progress: settle them, the way a switch would. */
static void settleOtherRuns(unsigned self)
{
	for (unsigned v = 0; v < MAX_VCPUS; v++) {
		if (in_irq[v])
			settleIrq(v);
		if (v != self)
			endRun(v);
	}
}

/* Adds what ran since the last MODULE_BEGIN to the window's module part. */
static void addModulePart(void)
{
	struct counts d;
	const uint64_t *a = (const uint64_t *)&d;
	uint64_t *r = (uint64_t *)&module_part;

	diffCounts(&d, &live, &at_module, &irq, &irq_at_module);
	dropKthreads(&d, &kthread_at_module);
	for (size_t i = 0; i < N_COUNTS; i++)
		r[i] += a[i];
	module_switches += switches - switches_at_module;
	module_irq_entries += irq_entries - irq_entries_at_module;
}

/*
 * A window may hold several module calls (kmod_nop's `calls` ioctls in one timed
 * bracket): their parts add up, as the module's own counts of them do.
 */
static void moduleMarker(int begin, unsigned vcpu)
{
	settleOtherRuns(vcpu);
	if (begin && module_state != 1) {
		if (module_state == 0) {
			memset(&module_part, 0, sizeof(module_part));
			module_switches = module_irq_entries = 0;
		}
		at_module = live;
		irq_at_module = irq;
		kthread_at_module = kthread;
		switches_at_module = switches;
		irq_entries_at_module = irq_entries;
		module_state = 1;
	} else if (!begin && module_state == 1) {
		addModulePart();
		module_state = 2;
	} else {
		protocolError(begin ? "a module part begun inside another" : "module end without begin");
	}
}

static void closeWindow(unsigned vcpu)
{
	struct counts d;

	/* Interrupts and kernel threads still running elsewhere: their part so far is no window work. */
	settleOtherRuns(vcpu);
	diffCounts(&d, &live, &at_open, &irq, &irq_at_open);
	dropKthreads(&d, &kthread_at_open);
	fprintf(out, "{\"event\":\"window\",\"session\":\"%s\",\"window\":%" PRIu64, session,
		next_window++);
	emitCounts(&d);
	fprintf(out, ",\"irq_entries\":%" PRIu64 ",\"irq_insn_el1\":%" PRIu64
		",\"context_switches\":%" PRIu64,
		irq_entries - irq_entries_at_open, irq.insn[1] - irq_at_open.insn[1],
		switches - switches_at_open);
	/* What the kernel threads ran meanwhile, left out above (vfree's lazy purge runs there). */
	struct counts kt;
	const struct counts zero = {0};
	diffCounts(&kt, &kthread, &kthread_at_open, &zero, &zero);
	fputs(",\"kthread\":{\"part\":1", out);
	emitCounts(&kt);
	fputc('}', out);
	if (module_state == 2) {
		fprintf(out, ",\"module\":{\"context_switches\":%" PRIu64 ",\"irq_entries\":%" PRIu64,
			module_switches, module_irq_entries);
		emitCounts(&module_part);
		fputc('}', out);
	} else if (module_state == 1) {
		protocolError("window closed inside the module's part");
	}
	module_state = 0;
	fputs("}\n", out);
	/* Flushed per window: a guest that hangs later still leaves every finished window. */
	fflush(out);
	windows++;
}

static void onMarker(unsigned int vcpu_index, void *udata)
{
	uintptr_t v = (uintptr_t)udata;
	enum marker m = (enum marker)(v >> 8);
	unsigned digit = v & 0xff;

	pthread_mutex_lock(&window_lock);
	if (m == M_DIGIT && vector_digits_wanted > 0) {
		vector_digits_value = (vector_digits_value << 4) | digit;
		if (--vector_digits_wanted == 0 && n_vector_tables < MAX_VECTOR_TABLES)
			vector_tables[n_vector_tables++] = vector_digits_value;
	} else if (m == M_DIGIT) {
		if (digits_wanted > 0) {
			session[PGTBENCH_MARKER_SESSION_DIGITS - digits_wanted] = "0123456789abcdef"[digit];
			if (--digits_wanted == 0) {
				next_window = 0;
				sessions++;
				fprintf(out, "{\"event\":\"session\",\"session\":\"%s\"}\n", session);
				fflush(out);
			}
		}
		/* Outside a session id a digit is just an orr: other code may execute it. */
	} else if (m == M_MODULE_BEGIN || m == M_MODULE_END) {
		/* Outside a window (a module call nothing times) they mean nothing. */
		if (window_open)
			moduleMarker(m == M_MODULE_BEGIN, vcpu_index);
	} else if (m == M_VECTORS) {
		vector_digits_value = 0;
		vector_digits_wanted = PGTBENCH_MARKER_VECTORS_DIGITS;
	} else if (m == M_SESSION) {
		if (window_open)
			protocolError("session started inside an open window");
		window_open = 0;
		memset(session, 0, sizeof(session));
		digits_wanted = PGTBENCH_MARKER_SESSION_DIGITS;
	} else if (digits_wanted > 0 || !session[0]) {
		protocolError(m == M_OPEN ? "open outside a session" : "close outside a session");
		digits_wanted = 0;
	} else if (m == M_OPEN) {
		if (window_open)
			protocolError("open inside an open window");
		/* An interrupt running since before the window: only its part inside counts apart. */
		for (unsigned v = 0; v < MAX_VCPUS; v++)
			if (in_irq[v])
				irq_entry_live[v] = live;
		/* Runs start afresh: what ran before the window is not to be judged in it. */
		for (unsigned v = 0; v < MAX_VCPUS; v++) {
			run_start[v] = live;
			run_irq_start[v] = irq;
		}
		open_vcpu = vcpu_index;
		window_task = vcpu_index < MAX_VCPUS ? cur_task[vcpu_index] : 0;
		n_user_tasks = 0;
		at_open = live;
		irq_at_open = irq;
		kthread_at_open = kthread;
		switches_at_open = switches;
		module_state = 0;
		irq_entries_at_open = irq_entries;
		window_open = 1;
	} else if (!window_open) {
		protocolError("close without open");
	} else {
		closeWindow(vcpu_index);
		window_open = 0;
	}
	pthread_mutex_unlock(&window_lock);
}

/* A block starting at an IRQ entry of some vector table (+0x280 EL1h, +0x480 EL0 64-bit). */
static void onVectorCandidate(unsigned int vcpu, void *udata)
{
	uint64_t vaddr = (uintptr_t)udata;
	int hit = 0;

	if (vcpu >= MAX_VCPUS)
		return;
	/* Nothing else runs meanwhile (thread=single): the lock guards against MTTCG only. */
	pthread_mutex_lock(&window_lock);
	for (int t = 0; t < n_vector_tables; t++)
		hit |= vaddr == vector_tables[t] + 0x280 || vaddr == vector_tables[t] + 0x480;
	/* Softirqs run with interrupts enabled: an interrupt may nest; its ERET is its own. */
	if (hit && in_irq[vcpu]++ == 0) {
		irq_entry_live[vcpu] = live;
		irq_entries++;
	}
	pthread_mutex_unlock(&window_lock);
}

/* ERET on a vCPU in an interrupt: the interrupt's work ends (the ERET is its own). */
static void onEret(unsigned int vcpu, void *udata)
{
	if (vcpu >= MAX_VCPUS || !in_irq[vcpu])
		return;
	if (--in_irq[vcpu] > 0)
		return; /* a nested interrupt's ERET: the outer one goes on */
	pthread_mutex_lock(&window_lock);
	settleIrq(vcpu);
	/*
	 * An ERET that starts its run is added after this callback (callbacks run before
	 * inline adds): count it with the interrupt here, as every other ERET is.
	 */
	if (udata) {
		irq.insn[1]++;
		irq_entry_live[vcpu].insn[1]++;
	}
	in_irq[vcpu] = 0;
	pthread_mutex_unlock(&window_lock);
}

static int isUserTask(uint64_t task)
{
	for (int i = 0; i < n_user_tasks; i++)
		if (user_tasks[i] == task)
			return 1;
	return 0;
}

/* The run of vCPU v's current task ends here: a kernel thread's goes to `kthread`. */
static void endRun(unsigned v)
{
	struct counts d;
	uint64_t task = cur_task[v];

	/*
	 * A switch inside an interrupt (a preemption on its way out): book the interrupt
	 * so far, so that this run is charged only the interrupt work done during it.
	 */
	if (in_irq[v])
		settleIrq(v);
	diffCounts(&d, &live, &run_start[v], &irq, &run_irq_start[v]);
	if (window_open && task && task != window_task) {
		if (d.insn[0] && !isUserTask(task) && n_user_tasks < MAX_USER_TASKS)
			user_tasks[n_user_tasks++] = task;
		if (!d.insn[0] && !isUserTask(task)) {
			const uint64_t *a = (const uint64_t *)&d;
			uint64_t *r = (uint64_t *)&kthread;
			for (size_t i = 0; i < N_COUNTS; i++)
				r[i] += a[i];
		}
	}
	run_start[v] = live;
	run_irq_start[v] = irq;
}

/* cpu_switch_to's first store: the outgoing task's context address. */
static void onSwitchPrev(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
	(void)info;
	(void)udata;
	if (vcpu >= MAX_VCPUS)
		return;
	pthread_mutex_lock(&window_lock);
	if (window_open && vcpu == open_vcpu && !window_task)
		window_task = vaddr; /* the first switch away from the window's task */
	cur_task[vcpu] = vaddr;
	endRun(vcpu);
	cur_task[vcpu] = 0; /* between the two: cpu_switch_to itself, the outgoing task's */
	switches++;
	pthread_mutex_unlock(&window_lock);
}

/* cpu_switch_to's first load: the incoming task's; its run starts here. */
static void onSwitchNext(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
	(void)info;
	(void)udata;
	if (vcpu >= MAX_VCPUS)
		return;
	pthread_mutex_lock(&window_lock);
	endRun(vcpu);
	cur_task[vcpu] = vaddr;
	pthread_mutex_unlock(&window_lock);
}

static int isEret(uint32_t insn)
{
	return insn == 0xd69f03e0u || insn == 0xd69f0bffu || insn == 0xd69f0fffu; /* ERET, ERETAA/AB */
}

static int markerOf(uint32_t insn, uintptr_t *udata)
{
	if ((insn & 0xffe0fc00u) != 0xaa000000u)
		return 0;
	unsigned rd = insn & 31, rn = (insn >> 5) & 31, rm = (insn >> 16) & 31;
	if (rd != rn || rn != rm)
		return 0;
	if (rd <= PGTBENCH_MARKER_DIGIT_MAX)
		*udata = ((uintptr_t)M_DIGIT << 8) | rd;
	else if (rd == PGTBENCH_MARKER_SESSION_REG)
		*udata = (uintptr_t)M_SESSION << 8;
	else if (rd == PGTBENCH_MARKER_OPEN_REG)
		*udata = (uintptr_t)M_OPEN << 8;
	else if (rd == PGTBENCH_MARKER_CLOSE_REG)
		*udata = (uintptr_t)M_CLOSE << 8;
	else if (rd == PGTBENCH_MARKER_VECTORS_REG)
		*udata = (uintptr_t)M_VECTORS << 8;
	else if (rd == PGTBENCH_MARKER_MODULE_BEGIN_REG)
		*udata = (uintptr_t)M_MODULE_BEGIN << 8;
	else if (rd == PGTBENCH_MARKER_MODULE_END_REG)
		*udata = (uintptr_t)M_MODULE_END << 8;
	else
		return 0;
	return 1;
}

/* The counter an instruction adds to besides its EL's, or NULL. */
static uint64_t *barrierOrTlbi(uint32_t insn)
{
	/* SYS #op1, C8|C9, Cm, #op2, Xt: 1101 0101 0000 1 op1 100x CRm op2 Rt */
	if ((insn & 0xfff8e000u) == 0xd5088000u) {
		unsigned nxs = (insn >> 12) & 1, op1 = (insn >> 16) & 7;
		unsigned crm = (insn >> 8) & 15, op2 = (insn >> 5) & 7;
		return &live.tlbi[TLBI_SLOT(nxs, op1, crm, op2)];
	}
	/* DSB <option>: 1101 0101 0000 0011 0011 CRm 1 00 11111 */
	if ((insn & 0xfffff0ffu) == 0xd503309fu)
		return &live.dsb[(insn >> 8) & 15];
	/* ISB: 1101 0101 0000 0011 0011 CRm 1 10 11111 */
	if ((insn & 0xfffff0ffu) == 0xd50330dfu)
		return &live.isb;
	return NULL;
}

/*
 * Whether an instruction can stop its block with a synchronous exception: loads and
 * stores (data aborts), FP/SIMD/SVE (traps when the kernel has FP disabled), system and
 * exception-generating instructions, branches to registers (pointer authentication
 * failures) and anything unallocated. Data processing and direct branches cannot.
 */
static int mayRaise(uint32_t insn)
{
	unsigned op0 = (insn >> 25) & 15;

	if ((op0 & 14) == 8)	/* 100x: data processing, immediate */
		return 0;
	if ((op0 & 7) == 5)	/* x101: data processing, register */
		return 0;
	if ((op0 & 14) == 10)	/* 101x: branches, exception generation, system */
		return (insn & 0xfc000000u) == 0xd4000000u || (insn & 0xfe000000u) == 0xd6000000u ||
		       (insn & 0xff000000u) == 0xd5000000u;
	return 1;
}

/*
 * Instructions are counted per run of instructions that ends at one that may raise (or
 * at the block's end): one inline add at the run's first instruction, of the run's
 * length. Execution that reaches a run's first instruction reaches its last, so this
 * counts exactly what one add per instruction would (an instruction once each time
 * execution reaches it, a faulting one again when it is retried) at a fraction of the
 * cost: adds to one counter form a chain through memory that TCG's code waits on.
 * Markers end a run, so the window's snapshot falls between the runs it separates.
 */
static void onTranslate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	uint64_t *insns = &live.insn[(vaddr >> 63) != 0];
	struct qemu_plugin_insn *run = NULL;
	uint64_t run_len = 0;

	(void)id;
	/* Vector tables are 2 KiB aligned; which ones are the kernel's is known at run time. */
	if (n > 0 && (vaddr >> 63) && ((vaddr & 0x7ff) == 0x280 || (vaddr & 0x7ff) == 0x480))
		qemu_plugin_register_vcpu_insn_exec_cb(qemu_plugin_tb_get_insn(tb, 0), onVectorCandidate,
						       QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)vaddr);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint32_t word = 0;
		uintptr_t marker;
		uint64_t *extra;
		int raises = 1;

		if (qemu_plugin_insn_size(insn) == sizeof(word)) {
			memcpy(&word, qemu_plugin_insn_data(insn), sizeof(word));
			if (markerOf(word, &marker)) {
				if (run)
					qemu_plugin_register_vcpu_insn_exec_inline(
						run, QEMU_PLUGIN_INLINE_ADD_U64, insns, run_len);
				run = NULL;
				run_len = 0;
				qemu_plugin_register_vcpu_insn_exec_cb(insn, onMarker, QEMU_PLUGIN_CB_NO_REGS,
								       (void *)marker);
				continue; /* a marker is no instruction of the window's */
			}
			raises = mayRaise(word);
			if ((vaddr >> 63) && word == STP_PREV_CONTEXT)
				qemu_plugin_register_vcpu_mem_cb(insn, onSwitchPrev, QEMU_PLUGIN_CB_NO_REGS,
								 QEMU_PLUGIN_MEM_W, NULL);
			if ((vaddr >> 63) && word == LDP_NEXT_CONTEXT)
				qemu_plugin_register_vcpu_mem_cb(insn, onSwitchNext, QEMU_PLUGIN_CB_NO_REGS,
								 QEMU_PLUGIN_MEM_R, NULL);
			if (isEret(word))
				qemu_plugin_register_vcpu_insn_exec_cb(insn, onEret, QEMU_PLUGIN_CB_NO_REGS,
								       (void *)(uintptr_t)(run == NULL));
			extra = barrierOrTlbi(word);
			if (extra)
				qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
									   extra, 1);
		}
		if (!run)
			run = insn;
		run_len++;
		if (raises || i + 1 == n) {
			qemu_plugin_register_vcpu_insn_exec_inline(run, QEMU_PLUGIN_INLINE_ADD_U64,
								   insns, run_len);
			run = NULL;
			run_len = 0;
		}
	}
}

static void onExit(qemu_plugin_id_t id, void *p)
{
	(void)id;
	(void)p;
	pthread_mutex_lock(&window_lock);
	if (window_open)
		protocolError("qemu exited inside an open window");
	fprintf(out, "{\"event\":\"exit\",\"sessions\":%" PRIu64 ",\"windows\":%" PRIu64 "}\n",
		sessions, windows);
	fclose(out);
	out = NULL;
	pthread_mutex_unlock(&window_lock);
}

/* qemu prints only "could not load plugin": say why on stderr first, in one line. */
static int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fputs("pgtbench-count: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *path = NULL;

	if (info->version.cur < QEMU_PLUGIN_VERSION || info->version.min > QEMU_PLUGIN_VERSION)
		return fail("built for plugin API %d, this qemu offers %d..%d: rebuild against its "
			    "header (tools/fetch-qemu-plugin-api)",
			    QEMU_PLUGIN_VERSION, info->version.min, info->version.cur);
	if (strcmp(info->target_name, "aarch64") != 0)
		return fail("counts arm64 instructions; this qemu emulates %s", info->target_name);
	if (!info->system_emulation)
		return fail("needs full-system emulation (qemu-system-aarch64)");
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0 && argv[i][4])
			path = argv[i] + 4;
		else
			return fail("unknown argument '%s' (only out=PATH)", argv[i]);
	}
	if (!path)
		return fail("no out=PATH argument: where should the window log go?");
	out = fopen(path, "w");
	if (!out)
		return fail("cannot write the window log %s: %s", path, strerror(errno));
	fprintf(out,
		"{\"pgtbench_count\":%d,\"event\":\"start\",\"qemu_plugin_api\":{\"min\":%d,"
		"\"cur\":%d,\"built\":%d},\"vcpus\":%d,\"insn_el\":\"address: upper half EL1\"}\n",
		PGTBENCH_COUNT_LOG_VERSION, info->version.min, info->version.cur,
		QEMU_PLUGIN_VERSION, info->system.smp_vcpus);
	fflush(out);
	qemu_plugin_register_vcpu_tb_trans_cb(id, onTranslate);
	qemu_plugin_register_atexit_cb(id, onExit, NULL);
	return 0;
}
