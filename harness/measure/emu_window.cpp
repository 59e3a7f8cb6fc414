// SPDX-License-Identifier: GPL-2.0
#include "emu_window.h"

#include <fstream>
#include <iterator>
#include <random>

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
	/*
	 * Read whole and searched for the few names: parsing all ~150k lines costs seconds
	 * under emulation. A line is "<address> <type> <name>[\t[module]]".
	 */
	std::ifstream in("/proc/kallsyms", std::ios::binary);
	std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	for (const auto &[name, copies] : {std::pair<const char *, int>{"vectors", 1},
					   {"__bp_harden_el1_vectors", 3},
					   {"tramp_vectors", 3}}) {
		std::string needle = fmt::format(" {}\n", name);
		for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
			size_t line = text.rfind('\n', at);
			line = line == std::string::npos ? 0 : line + 1;
			/* "<address> t": a text symbol of the kernel itself. */
			if (at < line + 2 || (text[at - 1] != 't' && text[at - 1] != 'T'))
				continue;
			uint64_t base = std::strtoull(text.c_str() + line, nullptr, 16);
			for (int k = 0; k < copies && base; k++)
				out.vector_tables.push_back(base + 0x800ULL * k);
		}
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
