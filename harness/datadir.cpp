// SPDX-License-Identifier: GPL-2.0
#include "datadir.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "errors.h"
#include "version.h"

namespace pgt {

namespace {

/* A directory is pgtbench's data when it has the plot script: every layout ships it. */
bool holdsData(const std::filesystem::path &dir)
{
	std::error_code ec;
	return std::filesystem::is_regular_file(dir / "plots" / "pgtbench_plot.py", ec);
}

} /* namespace */

std::string findDataDir(const std::string &exe, const std::string &env_dir, const std::string &source)
{
	namespace fs = std::filesystem;
	/* An explicit choice is taken or refused, never silently replaced by another. */
	if (!env_dir.empty()) {
		if (!holdsData(env_dir))
			throw RuntimeError(
				fmt::format("PGTBENCH_DATADIR={}: no plots/pgtbench_plot.py there", env_dir));
		return env_dir;
	}
	std::vector<std::string> looked;
	if (!exe.empty()) {
		fs::path installed = (fs::path(exe).parent_path() / kDataDirFromBin).lexically_normal();
		if (holdsData(installed))
			return installed.string();
		looked.push_back(installed.string());
	}
	if (!source.empty()) {
		if (holdsData(source))
			return source;
		looked.push_back(source);
	}
	throw RuntimeError(fmt::format("pgtbench's data (plots/, tools/, configs/) is in none of {}; set "
				       "PGTBENCH_DATADIR",
				       fmt::join(looked, ", ")));
}

std::string dataDir()
{
	std::error_code ec;
	std::string exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
	const char *env = getenv("PGTBENCH_DATADIR");
	return findDataDir(ec ? "" : exe, env ? env : "", kSourceDir);
}

} /* namespace pgt */
