// SPDX-License-Identifier: GPL-2.0
#include "cpu_model.h"

#include <array>

#include <fmt/format.h>

namespace pgt {

namespace {

struct Implementer {
	uint32_t id;
	const char *vendor;
};

struct Part {
	uint32_t implementer;
	uint32_t part;
	const char *core;
};

constexpr std::array implementers{
	/* 0x00 is reserved for software: qemu's "max" CPU model uses it. */
	Implementer{0x00, "QEMU"},
	Implementer{0x41, "Arm"},     Implementer{0x42, "Broadcom"},
	Implementer{0x43, "Cavium"},  Implementer{0x46, "Fujitsu"},
	Implementer{0x48, "HiSilicon"}, Implementer{0x4e, "NVIDIA"},
	Implementer{0x50, "APM"},     Implementer{0x51, "Qualcomm"},
	Implementer{0x61, "Apple"},   Implementer{0x6d, "Microsoft"},
	Implementer{0xc0, "Ampere"},
};

/* Parts that appear in the machines this suite is run on; the rest print as numbers. */
constexpr std::array parts{
	Part{0x00, 0x051, "QEMU max"},
	Part{0x41, 0xd03, "Cortex-A53"},
	Part{0x41, 0xd04, "Cortex-A35"},
	Part{0x41, 0xd05, "Cortex-A55"},
	Part{0x41, 0xd07, "Cortex-A57"},
	Part{0x41, 0xd08, "Cortex-A72"},
	Part{0x41, 0xd09, "Cortex-A73"},
	Part{0x41, 0xd0a, "Cortex-A75"},
	Part{0x41, 0xd0b, "Cortex-A76"},
	Part{0x41, 0xd0c, "Neoverse-N1"},
	Part{0x41, 0xd0d, "Cortex-A77"},
	Part{0x41, 0xd40, "Neoverse-V1"},
	Part{0x41, 0xd41, "Cortex-A78"},
	Part{0x41, 0xd44, "Cortex-X1"},
	Part{0x41, 0xd46, "Cortex-A510"},
	Part{0x41, 0xd47, "Cortex-A710"},
	Part{0x41, 0xd48, "Cortex-X2"},
	Part{0x41, 0xd49, "Neoverse-N2"},
	Part{0x41, 0xd4a, "Neoverse-E1"},
	Part{0x41, 0xd4b, "Cortex-A78C"},
	Part{0x41, 0xd4d, "Cortex-A715"},
	Part{0x41, 0xd4e, "Cortex-X3"},
	Part{0x41, 0xd4f, "Neoverse-V2"},
	Part{0x41, 0xd80, "Cortex-A520"},
	Part{0x41, 0xd81, "Cortex-A720"},
	Part{0x41, 0xd82, "Cortex-X4"},
	Part{0x41, 0xd84, "Neoverse-V3"},
	Part{0x41, 0xd8e, "Neoverse-N3"},
	Part{0x43, 0x0af, "ThunderX2"},
	Part{0x46, 0x001, "A64FX"},
	Part{0x48, 0xd01, "TSV110 (Kunpeng 920)"},
	Part{0x4e, 0x004, "Carmel"},
	Part{0x50, 0x000, "X-Gene"},
	Part{0x51, 0x800, "Kryo 2xx Gold"},
	Part{0x51, 0x801, "Kryo 2xx Silver"},
	Part{0x51, 0xc00, "Falkor"},
	Part{0x61, 0x022, "Apple M1 Icestorm"},
	Part{0x61, 0x023, "Apple M1 Firestorm"},
	Part{0x61, 0x024, "Apple M1 Pro Icestorm"},
	Part{0x61, 0x025, "Apple M1 Pro Firestorm"},
	Part{0x61, 0x028, "Apple M1 Max Icestorm"},
	Part{0x61, 0x029, "Apple M1 Max Firestorm"},
	Part{0x61, 0x032, "Apple M2 Blizzard"},
	Part{0x61, 0x033, "Apple M2 Avalanche"},
	Part{0x61, 0x034, "Apple M2 Pro Blizzard"},
	Part{0x61, 0x035, "Apple M2 Pro Avalanche"},
	Part{0x61, 0x038, "Apple M2 Max Blizzard"},
	Part{0x61, 0x039, "Apple M2 Max Avalanche"},
	Part{0xc0, 0xac3, "Ampere-1"},
	Part{0xc0, 0xac4, "Ampere-1A"},
};

} /* namespace */

MidrName decodeMidr(uint32_t implementer, uint32_t part)
{
	MidrName n;
	n.vendor = fmt::format("implementer {:#04x}", implementer);
	for (const auto &i : implementers)
		if (i.id == implementer)
			n.vendor = i.vendor;
	n.core = fmt::format("part {:#05x}", part);
	for (const auto &p : parts)
		if (p.implementer == implementer && p.part == part)
			n.core = p.core;
	return n;
}

} /* namespace pgt */
