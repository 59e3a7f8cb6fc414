// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "datadir.h"
#include "errors.h"
#include "util.h"
#include "version.h"
#include "scratch_dir.h"

using namespace pgt;

TEST(Sizes, ParseAcceptsKernelStyleSuffixes)
{
	EXPECT_EQ(parseSize("1G"), 1ull << 30);
	EXPECT_EQ(parseSize("1GiB"), 1ull << 30);
	EXPECT_EQ(parseSize("512m"), 512ull << 20);
	EXPECT_EQ(parseSize("64K"), 64ull << 10);
	EXPECT_EQ(parseSize("4096"), 4096u);
	EXPECT_EQ(parseSize("2T"), 2ull << 40);
}

TEST(Sizes, ParseRejectsGarbageAndOverflow)
{
	EXPECT_FALSE(parseSize(""));
	EXPECT_FALSE(parseSize("G"));
	EXPECT_FALSE(parseSize("1X"));
	EXPECT_FALSE(parseSize("-1G"));
	EXPECT_FALSE(parseSize("1.5G"));
	EXPECT_FALSE(parseSize("99999999999999999999"));
	EXPECT_FALSE(parseSize("20000000000T"));
}

TEST(Sizes, FormatRoundTripsExactMultiples)
{
	EXPECT_EQ(formatSize(1ull << 30), "1G");
	EXPECT_EQ(formatSize(3ull << 20), "3M");
	EXPECT_EQ(formatSize(1536ull << 20), "1536M");
	EXPECT_EQ(formatSize(4097), "4097");
	for (const char *s : {"16K", "2M", "512G", "1T"})
		EXPECT_EQ(formatSize(*parseSize(s)), s);
}

/* --- the data directory ------------------------------------------------------------------ */

namespace {

struct DataDirs : ::testing::Test {
	ScratchDir dir{"datadir"};
	const std::filesystem::path root = dir.path();
	/* A directory holding what marks pgtbench's data. */
	std::string data(const std::string &rel)
	{
		auto d = root / rel;
		std::filesystem::create_directories(d / "plots");
		std::ofstream(d / "plots" / "pgtbench_plot.py") << "# plot\n";
		return d.lexically_normal().string();
	}
	/* Where an installed binary at bin/pgtbench finds its data. */
	std::string installedFrom(const std::string &bin)
	{
		return (root / bin).parent_path().append(kDataDirFromBin).lexically_normal().string();
	}
};

} /* namespace */

TEST_F(DataDirs, AnInstalledBinaryUsesTheDataBesideItBeforeTheSourceTree)
{
	std::string source = data("src");
	std::string installed = installedFrom("prefix/bin/pgtbench");
	std::filesystem::create_directories(std::filesystem::path(installed) / "plots");
	std::ofstream(std::filesystem::path(installed) / "plots" / "pgtbench_plot.py") << "\n";
	EXPECT_EQ(findDataDir((root / "prefix/bin/pgtbench").string(), "", source), installed);
}

TEST_F(DataDirs, ABinaryInItsBuildDirectoryUsesTheSourceTree)
{
	std::string source = data("src");
	EXPECT_EQ(findDataDir((root / "src/build/pgtbench").string(), "", source), source);
}

TEST_F(DataDirs, TheEnvironmentWinsAndIsRefusedWhenItHoldsNoData)
{
	std::string source = data("src"), mine = data("mine");
	EXPECT_EQ(findDataDir((root / "src/build/pgtbench").string(), mine, source), mine);
	std::string nothing = (root / "nothing").string();
	EXPECT_THROW(
		{
			try {
				findDataDir((root / "src/build/pgtbench").string(), nothing, source);
			} catch (const RuntimeError &e) {
				EXPECT_STREQ(e.what(), ("PGTBENCH_DATADIR=" + nothing + ": no plots/pgtbench_plot.py there").c_str());
				throw;
			}
		},
		RuntimeError);
}

TEST_F(DataDirs, NoDataAnywhereNamesEveryPlaceLooked)
{
	std::string gone = (root / "src").string();
	try {
		findDataDir((root / "prefix/bin/pgtbench").string(), "", gone);
		FAIL() << "found data where there is none";
	} catch (const RuntimeError &e) {
		std::string msg = e.what();
		EXPECT_NE(msg.find(installedFrom("prefix/bin/pgtbench")), std::string::npos) << msg;
		EXPECT_NE(msg.find(gone), std::string::npos) << msg;
		EXPECT_NE(msg.find("PGTBENCH_DATADIR"), std::string::npos) << msg;
	}
}
