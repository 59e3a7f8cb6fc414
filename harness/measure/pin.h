/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pin the measuring thread with hwloc. Children created by the scenarios inherit the
 * binding, so a fork's child runs its teardown on the same CPU.
 */
#pragma once

namespace pgt {

/*
 * Bind the calling thread to `cpu` (OS index), or with cpu < 0 to the last CPU
 * this process may use (CPU 0 usually takes more interrupts). Returns the CPU;
 * throws UsageError for a CPU outside the allowed set, RuntimeError when binding fails.
 */
int pinThread(int cpu);
/* The CPU pinThread(-1) would choose now; -1 when hwloc cannot tell. */
int defaultCpu();

} /* namespace pgt */
