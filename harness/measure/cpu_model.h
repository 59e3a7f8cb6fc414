/* SPDX-License-Identifier: GPL-2.0 */
/*
 * arm64 CPU names from MIDR_EL1 implementer/part numbers, as the kernel's
 * arch/arm64/include/asm/cputype.h knows them. Results are compared across machines,
 * so the name must be the microarchitecture ("Neoverse-N1"), not a marketing string.
 */
#pragma once

#include <cstdint>
#include <string>

namespace pgt {

struct MidrName {
	std::string vendor; /* "Arm", "Apple", "Ampere", ... or "implementer 0x.." */
	std::string core;   /* "Neoverse-N1", "Apple M2 Avalanche", ... or "part 0x..." */
};

MidrName decodeMidr(uint32_t implementer, uint32_t part);

} /* namespace pgt */
