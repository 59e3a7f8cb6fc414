// SPDX-License-Identifier: GPL-2.0
#include "emu_window.h"

#include <random>

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
