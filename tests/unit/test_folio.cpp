// SPDX-License-Identifier: GPL-2.0
/* Folio classification from pagemap + kpageflags, on synthetic inputs. */
#include <gtest/gtest.h>

#include <map>

#include "folio.h"
#include "errors.h"
#include "residency.h"

using namespace pgt;

namespace {

constexpr uint64_t kPresent = 1ull << 63;
constexpr uint64_t kHead = 1ull << kKpfCompoundHead;
constexpr uint64_t kTail = 1ull << kKpfCompoundTail;

struct Memory {
	std::vector<uint64_t> pagemap;
	std::map<uint64_t, uint64_t> flags;

	/* Map a folio of 2^order pages at physical pfn, virtually next. */
	void folio(uint64_t pfn, unsigned order)
	{
		for (uint64_t i = 0; i < (1ull << order); i++) {
			pagemap.push_back(kPresent | (pfn + i));
			flags[pfn + i] = order ? (i ? kTail : kHead) : 0;
		}
	}
	FolioHistogram classify() const
	{
		return classifyFolios(pagemap, [this](uint64_t pfn) {
			auto it = flags.find(pfn);
			return it == flags.end() ? 0 : it->second;
		});
	}
};

} /* namespace */

TEST(Folios, Order9FoliosAreCountedWhole)
{
	Memory m;
	m.folio(0x10000, 9);
	m.folio(0x20000, 9);
	auto h = m.classify();
	EXPECT_EQ(h.order_pages.at(9), 1024u);
	EXPECT_EQ(h.order_pages.size(), 1u);
}

TEST(Folios, AdjacentFoliosAreSplitAtTheirHeads)
{
	/* Two order-4 folios that happen to be physically adjacent stay two folios. */
	Memory m;
	m.folio(0x100, 4);
	m.folio(0x110, 4);
	auto h = m.classify();
	EXPECT_EQ(h.order_pages.at(4), 32u);
	EXPECT_EQ(h.order_pages.count(5), 0u);
}

TEST(Folios, BasePagesAndFallbacksAreVisible)
{
	Memory m;
	m.folio(0x4000, 9);
	for (uint64_t i = 0; i < 512; i++)
		m.folio(0x9000 - i, 0); /* a fallback to base pages, physically descending */
	auto h = m.classify();
	EXPECT_EQ(h.order_pages.at(9), 512u);
	EXPECT_EQ(h.order_pages.at(0), 512u);
}

TEST(Folios, DiscontiguousPfnsEndAFolio)
{
	/* A head followed by a tail from elsewhere is not one folio. */
	Memory m;
	m.pagemap = {kPresent | 0x500, kPresent | 0x901, kPresent | 0x902, kPresent | 0x903};
	m.flags = {{0x500, kHead}, {0x901, kTail}, {0x902, kTail}, {0x903, kTail}};
	auto h = m.classify();
	EXPECT_EQ(h.order_pages.at(0), 1u); /* lone head */
	EXPECT_EQ(h.order_pages.at(1), 3u); /* a 3-page tail run rounds down to order 1 */
}

TEST(Folios, NotPresentPagesAreCountedApart)
{
	Memory m;
	m.pagemap = {0, 0, kPresent | 7};
	m.flags[7] = 0;
	auto h = m.classify();
	EXPECT_EQ(h.not_present_pages, 2u);
	EXPECT_EQ(h.order_pages.at(0), 1u);
}

TEST(Folios, HiddenPfnsAreReportedNotMisread)
{
	/* Without CAP_SYS_ADMIN the kernel zeroes PFNs: that must not look like order 0. */
	Memory m;
	m.pagemap = {kPresent, kPresent};
	auto h = m.classify();
	EXPECT_TRUE(h.pfns_hidden);
	EXPECT_TRUE(h.order_pages.empty());
}

TEST(FolioCheck, OkOnlyWhenEverythingIsTheTargetOrderAndMapping)
{
	FolioCheck c;
	c.target_order = 9;
	c.achieved_fraction = 1.0;
	c.expect_pmd_mapped = true;
	c.pmd_mapped_fraction = 1.0;
	EXPECT_TRUE(c.ok());
	c.pmd_mapped_fraction = 0.5;
	EXPECT_FALSE(c.ok());
	c.expect_pmd_mapped = false; /* PTE-mapped variant, but some PMD mappings remain */
	EXPECT_FALSE(c.ok());
	c.pmd_mapped_fraction = 0;
	EXPECT_TRUE(c.ok());
	c.achieved_fraction = 0.97;
	EXPECT_FALSE(c.ok());
	EXPECT_EQ(c.brief(), "9:97%!");
	c.achieved_fraction = -1;
	EXPECT_EQ(c.brief(), "9:?");
}

TEST(Residency, PresentSwappedAndNeitherAreCountedApartAndOkOnlyWhenEveryPageIsAsExpected)
{
	constexpr uint64_t kSwapped = 1ull << 62;
	std::vector<uint64_t> pm = {kPresent | 7, kSwapped | (3 << 5), kSwapped, 0, kSwapped};
	Residency r = classifyResidency(pm.data(), pm.size());
	EXPECT_EQ(r.present_pages, 1u);
	EXPECT_EQ(r.swapped_pages, 3u);
	EXPECT_EQ(r.none_pages, 1u);
	EXPECT_FALSE(r.toJson("swapped")["ok"].get<bool>());
	std::vector<uint64_t> all = {kSwapped, kSwapped | 1};
	Residency out = classifyResidency(all.data(), all.size());
	EXPECT_TRUE(out.toJson("swapped")["ok"].get<bool>());
	EXPECT_FALSE(out.toJson("none")["ok"].get<bool>());
	/* An empty range proves nothing. */
	EXPECT_FALSE(classifyResidency(nullptr, 0).toJson("none")["ok"].get<bool>());
}

TEST(FolioPoints, ExtraParametersMultiplyTheVariantsInTheirOrderAfterSizeOrderAndMap)
{
	Env env;
	env.page_size_bytes = 4096;
	env.thp.present = true;
	env.thp.pmd_order = 9;
	ParamLists lists = {{"size", {int64_t{2 << 20}}},
			    {"order", {int64_t{0}, int64_t{9}}},
			    {"map", {std::string("pmd"), std::string("pte")}},
			    {"write", {std::string("all"), std::string("byte")}},
			    {"toggles", {int64_t{40}}}};
	auto points = expandFolioPointsBy(lists, env, {"write", "toggles"});
	ASSERT_EQ(points.size(), 6u); /* (order 0, 9 pmd, 9 pte) x 2 writes x 1 */
	EXPECT_EQ(points[0].choice("write"), "all");
	EXPECT_EQ(points[1].choice("write"), "byte");
	EXPECT_EQ(points[5].choice("map"), "pte");
	EXPECT_EQ(points[5].integer("toggles"), 40);
	EXPECT_EQ(points[5].values.back().first, "toggles");
}

TEST(Residency, APageoutThatKeptPagesIsAnErrorNamingTheCountsNotAFigure)
{
	constexpr uint64_t kSwapped = 1ull << 62;
	std::vector<uint64_t> pm = {kPresent | 1, kPresent | 2, kSwapped};
	Residency r = classifyResidency(pm.data(), pm.size());
	try {
		requireResidency(r, "swapped");
		FAIL() << "accepted a pageout that kept two pages";
	} catch (const RuntimeError &e) {
		EXPECT_STREQ(e.what(), "MADV_PAGEOUT left 2 pages present, 1 on swap, 0 dropped of 3 (want every "
				       "page on swap): nothing to time");
	}
	std::vector<uint64_t> all = {kSwapped, kSwapped};
	EXPECT_NO_THROW(requireResidency(classifyResidency(all.data(), all.size()), "swapped"));
}
