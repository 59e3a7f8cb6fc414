/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counting windows for an emulator: the marker instructions of qemu-plugin/
 * pgtbench_marker.h around each timed operation, so that qemu's libpgtbench-count.so
 * (tools/vm --count) counts exactly the TLBIs, barriers and instructions the operation
 * executed, on every vCPU. Each marker is one `orr xN, xN, xN`: a no-op on every arm64
 * core, one cycle at most when nothing is counting. Other architectures have no markers
 * and record no windows.
 */
#pragma once

#include <cstdint>
#include <string>

#include "pgtbench_marker.h"

namespace pgt::emu {

#if defined(__aarch64__)
inline constexpr bool kMarkers = true;
#else
inline constexpr bool kMarkers = false;
#endif

/*
 * This process's session id (8 hex digits, random): announced to the emulator by the
 * first call, and recorded in the results file, so the host finds the windows that
 * belong to it. "" without markers.
 */
const std::string &session();

namespace detail {
inline uint64_t next_window = 0;
}

/* Opens the next window of the session (announced first if need be); its ordinal. */
inline uint64_t openWindow()
{
	if constexpr (!kMarkers)
		return 0;
	session();
#if defined(__aarch64__)
	/* A compiler barrier too: the timed work must not move across the marker. */
	asm volatile(PGTBENCH_MARKER_OPEN_ASM ::: "memory");
#endif
	return detail::next_window++;
}

/*
 * The next window's ordinal, for another process of this session (the fork subject)
 * that executes the OPEN and CLOSE markers itself: the emulator numbers windows in
 * the order their OPENs run, whichever process runs them.
 */
inline uint64_t reserveWindow()
{
	if constexpr (!kMarkers)
		return 0;
	session();
	return detail::next_window++;
}

inline void closeWindow()
{
#if defined(__aarch64__)
	asm volatile(PGTBENCH_MARKER_CLOSE_ASM ::: "memory");
#endif
}

} /* namespace pgt::emu */
