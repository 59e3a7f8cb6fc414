/* SPDX-License-Identifier: GPL-2.0 */
/* The machines of tests/fixtures/env/<name>: /proc and /sys trees read through collectEnv(). */
#pragma once

#include <string>

#include "env.h"

inline pgt::Env fixtureEnv(const std::string &name, const std::string &arch = "aarch64")
{
	pgt::EnvSources src;
	src.root = std::string(FIXTURES) + "/env/" + name;
	src.arch = arch;
	src.page_size_bytes = 4096;
	return pgt::collectEnv(src);
}
