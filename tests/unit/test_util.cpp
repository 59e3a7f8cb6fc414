// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include "util.h"

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
