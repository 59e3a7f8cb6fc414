// SPDX-License-Identifier: GPL-2.0
#include "emu_window.h"

#include <fstream>
#include <random>
#include <sstream>

#include <cstdlib>
#include <vector>

#include <fmt/format.h>

namespace pgt::emu {

namespace {

#if defined(__aarch64__)
/* The digit markers name their register, so each digit is its own instruction. */
void emitDigit(unsigned d)
{
#define PGTB_DIGIT(n)                                               \
	case n:                                                     \
		asm volatile(PGTBENCH_MARKER_STR(n) ::: "memory"); \
		break;
	switch (d) {
		PGTB_DIGIT(0) PGTB_DIGIT(1) PGTB_DIGIT(2) PGTB_DIGIT(3)
		PGTB_DIGIT(4) PGTB_DIGIT(5) PGTB_DIGIT(6) PGTB_DIGIT(7)
		PGTB_DIGIT(8) PGTB_DIGIT(9) PGTB_DIGIT(10) PGTB_DIGIT(11)
		PGTB_DIGIT(12) PGTB_DIGIT(13) PGTB_DIGIT(14) PGTB_DIGIT(15)
	}
#undef PGTB_DIGIT
}

/*
 * The kernel's exception vector tables, from /proc/kallsyms (root sees the addresses):
 * the plugin counts what runs from an interrupt vector to its ERET apart, so a tick
 * landing in a window does not change the operation's counts. Each table is 2 KiB;
 * the Spectre-BHB and KPTI copies come three to a symbol.
 */
struct KernelSymbols {
	std::vector<uint64_t> vector_tables;
};

KernelSymbols kernelSymbols()
{
	KernelSymbols out;
	std::ifstream in("/proc/kallsyms");
	std::string line;
	while (std::getline(in, line)) {
		std::istringstream fields(line);
		std::string addr, type, name;
		if (!(fields >> addr >> type >> name) || (type != "T" && type != "t"))
			continue;
		int copies = name == "vectors" ? 1 :
			     (name == "__bp_harden_el1_vectors" || name == "tramp_vectors") ? 3 : 0;
		uint64_t base = std::strtoull(addr.c_str(), nullptr, 16);
		for (int k = 0; k < copies && base; k++)
			out.vector_tables.push_back(base + 0x800ULL * k);
	}
	return out;
}
#endif

std::string announce()
{
	if constexpr (!kMarkers)
		return "";
	uint32_t id = std::random_device{}();
#if defined(__aarch64__)
	asm volatile(PGTBENCH_MARKER_SESSION_ASM ::: "memory");
	for (int shift = 28; shift >= 0; shift -= 4)
		emitDigit((id >> shift) & 15);
	KernelSymbols symbols = kernelSymbols();
	for (uint64_t table : symbols.vector_tables) {
		asm volatile(PGTBENCH_MARKER_VECTORS_ASM ::: "memory");
		for (int shift = 60; shift >= 0; shift -= 4)
			emitDigit((table >> shift) & 15);
	}
#endif
	return fmt::format("{:08x}", id);
}

} /* namespace */

const std::string &session()
{
	static const std::string id = announce();
	return id;
}

} /* namespace pgt::emu */
