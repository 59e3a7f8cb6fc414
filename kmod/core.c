// SPDX-License-Identifier: GPL-2.0
/*
 * core.c - pgtbench.ko's control file, the INFO and NOP commands and the dispatch.
 *
 * pgtbench.ko - kernel-side probes for the pgtbench micro-benchmark suite.
 *
 * Some page-table costs can only be measured from inside the kernel: vmalloc storms
 * without the syscall noise, or the barriers and TLB invalidations of building a kernel
 * mapping. This module serves them through ioctls on /sys/kernel/debug/pgtbench/ctl and
 * returns structured results to the harness (instead of printing them to dmesg as
 * lib/test_vmalloc.c does). pgtbench_abi.h is the whole interface and its rules.
 *
 * Every command runs synchronously in the caller's context, so the harness decides
 * placement, concurrency and repetition; the module keeps no state between calls.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>

#include "pgtbench_internal.h"

#define PGTBENCH_VERSION "0.1"

static struct dentry *pgtbench_dir;

static long pgtbench_cmd_info(void *arg)
{
	struct pgtbench_info *info = arg;

	if (!pgtbench_reserved_ok(info->reserved, sizeof(info->reserved)))
		return -EINVAL;

	/* Build the answer from scratch so nothing the caller passed in comes back. */
	memset(info, 0, sizeof(*info));
	info->abi_version = PGTBENCH_ABI_VERSION;
	info->page_size = PAGE_SIZE;
	info->page_shift = PAGE_SHIFT;
#ifdef CONFIG_ARM64
	/* 52-bit kernels pick 48 or 52 at boot (LPA2); vabits_actual knows which. */
	info->va_bits = vabits_actual;
#endif
	/* Only what is implemented: each command's file owns its bit. */
	info->caps = PGTBENCH_CAP_NOP | pgtbench_map_mem_caps | pgtbench_vmalloc_caps |
		     pgtbench_pte_walk_caps;
	/* The caller's view, as uname(2) gives it, so the harness can compare the two. */
	strscpy(info->release, utsname()->release, sizeof(info->release));
	return 0;
}

/*
 * Long loops are cut into chunks so a 1e8-iteration call on a slow (emulated) CPU still
 * yields on non-preemptible kernels; the check runs once per chunk, so the cost per
 * iteration stays that of the bare loop.
 */
#define PGTBENCH_NOP_CHUNK (1ULL << 20)

static long pgtbench_cmd_nop(void *arg)
{
	struct pgtbench_nop *nop = arg;
	u64 loops = nop->loops, done = 0, start;

	if (!loops || loops > PGTBENCH_NOP_MAX_LOOPS ||
	    !pgtbench_reserved_ok(nop->reserved, sizeof(nop->reserved)))
		return -EINVAL;

	start = ktime_get_ns();
	while (done < loops) {
		u64 i, n = min_t(u64, loops - done, PGTBENCH_NOP_CHUNK);

		/*
		 * Exactly two instructions per iteration on arm64 (subs, b.ne), so that an
		 * emulator's instruction count of a call grows by exactly 2 per loop; elsewhere
		 * the barrier keeps the compiler from deleting or folding the loop.
		 */
#ifdef CONFIG_ARM64
		i = n;
		pgtbench_module_begin();
		asm volatile("1:	subs	%0, %0, #1\n"
			     "	b.ne	1b\n"
			     : "+r"(i) : : "cc", "memory");
		pgtbench_module_end();
#else
		for (i = 0; i < n; i++)
			barrier();
#endif
		done += n;
		if (done < loops)
			cond_resched();
	}
	nop->total_ns = ktime_get_ns() - start;
	/* NOP issues no TLBI, DSB or ISB of its own. */
	memset(&nop->counts, 0, sizeof(nop->counts));
	return 0;
}

/*
 * One line per command. The argument size comes from the command number itself
 * (_IOC_SIZE), so it always matches the struct the header declares.
 */
static const struct pgtbench_cmd {
	unsigned int cmd;
	long (*fn)(void *arg);
} pgtbench_cmds[] = {
	{ PGTBENCH_IOC_INFO,		pgtbench_cmd_info },
	{ PGTBENCH_IOC_NOP,		pgtbench_cmd_nop },
	{ PGTBENCH_IOC_VMALLOC_STORM,	pgtbench_cmd_vmalloc_storm },
	{ PGTBENCH_IOC_MAP_MEM_REPLAY,	pgtbench_cmd_map_mem_replay },
	{ PGTBENCH_IOC_PTE_WALK,	pgtbench_cmd_pte_walk },
	/* Add a new command here, and its struct and number in pgtbench_abi.h. */
};

/* Room for the largest argument struct; sizes are small and fixed by the ABI. */
union pgtbench_arg {
	struct pgtbench_info info;
	struct pgtbench_nop nop;
	struct pgtbench_vmalloc_storm vmalloc_storm;
	struct pgtbench_map_mem_replay map_mem_replay;
	struct pgtbench_pte_walk pte_walk;
};

static long pgtbench_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	void __user *argp = (void __user *)uarg;
	const struct pgtbench_cmd *c = NULL;
	union pgtbench_arg arg;
	size_t size;
	unsigned int i;
	long ret;

	/*
	 * The file is 0600 already; the capability check also covers a descriptor handed to
	 * an unprivileged process, since the commands can tie up memory and CPU time.
	 */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	for (i = 0; i < ARRAY_SIZE(pgtbench_cmds); i++) {
		if (pgtbench_cmds[i].cmd == cmd) {
			c = &pgtbench_cmds[i];
			break;
		}
	}
	if (!c)
		return -ENOTTY;

	size = _IOC_SIZE(cmd);
	/* A command in the table whose struct was left out of union pgtbench_arg. */
	if (WARN_ON_ONCE(size > sizeof(arg)))
		return -ENOTTY;
	if (copy_from_user(&arg, argp, size))
		return -EFAULT;

	ret = c->fn(&arg);
	if (ret)
		return ret;

	if (copy_to_user(argp, &arg, size))
		return -EFAULT;
	return 0;
}

static const struct file_operations pgtbench_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= pgtbench_ioctl,
	/* The structs have one layout for 32- and 64-bit callers; only the pointer differs. */
	.compat_ioctl	= compat_ptr_ioctl,
};

static int __init pgtbench_init(void)
{
	struct dentry *ctl;

	pgtbench_dir = debugfs_create_dir("pgtbench", NULL);
	if (IS_ERR(pgtbench_dir))
		return PTR_ERR(pgtbench_dir);

	/*
	 * The _unsafe variant, as mm/gup_test.c uses: debugfs' full proxy would not pass
	 * compat_ioctl through, and its removal protection is not needed here. The module
	 * keeps no per-file state, and an open file pins the module through fops.owner.
	 */
	ctl = debugfs_create_file_unsafe("ctl", 0600, pgtbench_dir, NULL,
					 &pgtbench_ctl_fops);
	if (IS_ERR(ctl)) {
		debugfs_remove_recursive(pgtbench_dir);
		return PTR_ERR(ctl);
	}

	pr_info("ABI %d ready at %s\n", PGTBENCH_ABI_VERSION, PGTBENCH_CTL_PATH);
	return 0;
}

static void __exit pgtbench_exit(void)
{
	/* No ioctl can be running: each open ctl file holds a reference on the module. */
	debugfs_remove_recursive(pgtbench_dir);
}

module_init(pgtbench_init);
module_exit(pgtbench_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pgtbench: in-kernel page-table micro-benchmarks (debugfs ioctl)");
MODULE_VERSION(PGTBENCH_VERSION);
