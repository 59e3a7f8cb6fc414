/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two ways a command fails, mapped to exit codes in main():
 * UsageError (2) for anything the user can fix in the command line or config before
 * anything ran or changed; RuntimeError (1) for a failure while running.
 */
#pragma once

#include <stdexcept>
#include <string>

namespace pgt {

enum ExitCode {
	kExitOk = 0,
	kExitRuntime = 1,
	kExitUsage = 2,
	kExitSkipped = 4, /* nothing could run; kselftest's KSFT_SKIP */
};

struct UsageError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

struct RuntimeError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

} /* namespace pgt */
