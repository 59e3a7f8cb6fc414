// SPDX-License-Identifier: GPL-2.0
/*
 * `pgtbench compare`: reading results files, machine names, what goes in rows and
 * columns, the refusals, and the reproduction of the published map_mem() tables.
 */
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "compare.h"
#include "env_fixture.h"
#include "errors.h"
#include "gate.h"
#include "util.h"

using namespace pgt;
using nlohmann::json;

namespace {

constexpr uint64_t kGiB = 1ull << 30;

json env(const std::string &model, json vm, uint64_t mem_total_bytes, const std::string &kernel)
{
	return {{"arch", "aarch64"},
		{"cpu", {{"model", model}, {"vendor", "Arm"}, {"midr", json::array()}}},
		{"kernel", {{"release", kernel}}},
		{"virtualization", {{"vm", vm}, {"hypervisor", ""}, {"evidence", ""}}},
		{"mem_total_bytes", mem_total_bytes}};
}

json metric(const std::vector<double> &samples, const std::string &unit = "ms", const std::string &better = "lower")
{
	return {{"unit", unit}, {"better", better}, {"samples", samples}};
}

json forkEntry(uint64_t size_bytes, int order, const std::string &map, const std::vector<double> &fork_ms,
	       const std::vector<double> &teardown_ms = {1, 1, 1})
{
	std::string size = fmt::format("{}M", size_bytes >> 20);
	if (size_bytes % kGiB == 0)
		size = fmt::format("{}G", size_bytes / kGiB);
	json params = {{"size_bytes", size_bytes}, {"order", order}};
	std::string name = fmt::format("fork/size:{}/order:{}", size, order);
	if (!map.empty()) {
		params["map"] = map;
		name += "/map:" + map;
	}
	return {{"name", name},
		{"scenario", "fork"},
		{"params", params},
		{"status", "ok"},
		{"reason", ""},
		{"primary_metric", "fork_ms"},
		{"metrics", {{"fork_ms", metric(fork_ms)}, {"teardown_ms", metric(teardown_ms)}}}};
}

/* Entries as a vector: a braced list of one json would be that json, not an array. */
json doc(const std::string &label, const json &environment, const std::vector<json> &entries)
{
	return {{"pgtbench", {{"schema_version", 1}, {"label", label}, {"env", environment}}},
		{"entries", json(entries)}};
}

ResultsFile file(const std::string &label, const std::vector<json> &entries, const std::string &path,
		 const json &environment = env("Neoverse-N1", true, 65000000ull * 1024, "6.12.0"))
{
	return parseResultsFile(doc(label, environment, entries), path);
}

std::vector<ResultsFile> fixtureDir(const std::string &dir)
{
	std::vector<std::string> paths;
	for (const auto &e : std::filesystem::directory_iterator(FIXTURES "/results/" + dir))
		paths.push_back(e.path().string());
	std::sort(paths.begin(), paths.end());
	std::vector<ResultsFile> files;
	for (const auto &p : paths)
		files.push_back(loadResultsFile(p));
	return files;
}

std::string usageError(const std::function<void()> &fn)
{
	try {
		fn();
	} catch (const UsageError &e) {
		return e.what();
	}
	return "(no UsageError)";
}

/* The cover-letter cell of a row and column (1 = the first after the label) as printed. */
std::string cellText(const std::string &table, const std::string &row, size_t column)
{
	std::istringstream in(table);
	for (std::string line; std::getline(in, line);) {
		if (line.rfind(row + " ", 0) != 0)
			continue;
		auto cells = split(line, '|');
		if (column < cells.size())
			return trim(cells[column]);
	}
	return "(no such cell)";
}

bool hasNote(const Comparison &c, const std::string &note)
{
	return std::find(c.notes.begin(), c.notes.end(), note) != c.notes.end();
}

/* The published percentage of a seed cell "77 (-49%)" -> -49. */
int publishedPercent(const std::string &cell)
{
	std::smatch m;
	std::regex re(R"(\(([-+]?\d+)%\))");
	EXPECT_TRUE(std::regex_search(cell, m, re)) << cell;
	return std::stoi(m[1]);
}

} /* namespace */

/* --- machine names ------------------------------------------------------------------ */

TEST(MachineName, ShortCpuNamesDropMarketingAndClusters)
{
	EXPECT_EQ(shortCpuName("Apple M2 Blizzard + Apple M2 Avalanche"), "Apple M2");
	EXPECT_EQ(shortCpuName("Apple M1 Pro Icestorm + Apple M1 Pro Firestorm"), "Apple M1 Pro");
	EXPECT_EQ(shortCpuName("Neoverse-N1"), "Neoverse-N1");
	EXPECT_EQ(shortCpuName("Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz"), "Intel Xeon Silver 4210R");
	EXPECT_EQ(shortCpuName("AMD EPYC 7763 64-Core Processor"), "AMD EPYC 7763 64-Core");
	EXPECT_EQ(shortCpuName("unknown"), "unknown CPU");
}

TEST(MachineName, MemTotalRoundsUpToTheInstalledSize)
{
	EXPECT_EQ(installedMemory(527937536ull * 1024), "512G"); /* tests/fixtures/env/altra-metal */
	EXPECT_EQ(installedMemory(16000000ull * 1024), "16G");	 /* m2-vm */
	EXPECT_EQ(installedMemory(2000000ull * 1024), "2G");	 /* qemu-deb61 */
	EXPECT_EQ(installedMemory(25276502016ull), "24G");	 /* a 24 GiB Firecracker VM: not 32G */
	EXPECT_EQ(installedMemory(262000000ull * 1024), "256G");
	EXPECT_EQ(installedMemory(500ull << 20), "512M");
	EXPECT_EQ(installedMemory(0), "");
}

TEST(MachineName, VmOrMetalAndUnknownVirtualization)
{
	EXPECT_EQ(machineName(env("Neoverse-N1", true, 65000000ull * 1024, "x")).full(), "Neoverse-N1 VM 64G");
	EXPECT_EQ(machineName(env("Neoverse-N1", false, 527937536ull * 1024, "x")).full(),
		  "Neoverse-N1 Metal 512G");
	json qemu = env("part 0x051", true, 2078146560, "x");
	qemu["virtualization"]["hypervisor"] = "QEMU virt";
	EXPECT_EQ(machineName(qemu).full(), "QEMU virt part 0x051 VM 2G");
	MachineName n = machineName(env("Neoverse-N1", nullptr, 16000000ull * 1024, "x"));
	EXPECT_EQ(n.cpu, "Neoverse-N1");
	EXPECT_EQ(n.kind, "16G");
}

/* env as a run on this platform records it (env.platform, env.firmware). */
json platformEnv(const std::string &platform, const std::string &source, const std::string &evidence, json vm,
		 uint64_t mem_total_bytes, const std::string &kernel = "6.12.0")
{
	json e = env("Neoverse-N1", vm, mem_total_bytes, kernel);
	e["platform"] = {{"name", platform}, {"evidence", evidence}, {"source", source}};
	return e;
}

/* env of a file recorded before env.platform, with the firmware it saw. */
json firmwareEnv(const std::string &sys_vendor, const std::string &product, uint64_t mem_total_bytes)
{
	json e = env("Neoverse-N1", false, mem_total_bytes, "6.12.0");
	e["firmware"] = {{"dmi", {{"sys_vendor", sys_vendor}, {"product_name", product}}}, {"soc", nullptr}};
	return e;
}

TEST(MachineName, ThePlatformNamesTheMachineAndSaysWhatNamedIt)
{
	MachineName n = machineName(platformEnv("Ampere Altra", "dmi", "DMI sys_vendor Ampere(R), product Mt.Jade",
						false, 527937536ull * 1024));
	EXPECT_EQ(n.full(), "Ampere Altra Metal 512G");
	EXPECT_EQ(n.source, "dmi");
	EXPECT_EQ(n.evidence, "DMI sys_vendor Ampere(R), product Mt.Jade");
	EXPECT_EQ(n.firmware, "");
}

TEST(MachineName, AFileWithoutPlatformIsNamedByItsCpuAndToldApartByItsFirmware)
{
	MachineName altra = machineName(firmwareEnv("Ampere(R)", "Mt.Jade", 527937536ull * 1024));
	MachineName ec2 = machineName(firmwareEnv("Amazon EC2", "r6g.metal", 527000000ull * 1024));
	EXPECT_EQ(altra.full(), "Neoverse-N1 Metal 512G");
	EXPECT_EQ(altra.source, "cpu");
	EXPECT_EQ(altra.firmware, "Ampere(R) Mt.Jade");
	EXPECT_EQ(altra.full(), ec2.full());
	EXPECT_FALSE(altra.sameMachine(ec2));
	EXPECT_TRUE(altra.sameMachine(machineName(firmwareEnv("Ampere(R)", "Mt.Jade", 527937536ull * 1024))));
}

/* --- reading results files ------------------------------------------------------------- */

TEST(ResultsFile, ParamsKeepTheNamesOrderNotJsonsAlphabet)
{
	ResultsFile f = file("base", {forkEntry(kGiB, 9, "pte", {1})}, "a.json");
	ASSERT_EQ(f.entries.size(), 1u);
	ASSERT_EQ(f.entries[0].params.size(), 3u);
	EXPECT_EQ(f.entries[0].params[0].first, "size_bytes");
	EXPECT_EQ(f.entries[0].params[1].first, "order");
	EXPECT_EQ(f.entries[0].params[2].first, "map");
	EXPECT_EQ(f.entries[0].metric_order.front(), "fork_ms");
}

TEST(ResultsFile, EveryFixtureAndRecordedRunLoads)
{
	for (const char *dir : {"map_mem_v1", "map_mem_v2", "synthetic_ab", "recorded"})
		EXPECT_FALSE(fixtureDir(dir).empty()) << dir;
}

TEST(ResultsFile, ProblemsNameTheFileAndThePlace)
{
	json good = doc("base", env("Neoverse-N1", true, kGiB, "6.12"), {forkEntry(kGiB, 0, "", {1, 2})});
	auto broken = [&](const std::function<void(json &)> &edit) {
		json d = good;
		edit(d);
		return usageError([&] { parseResultsFile(d, "x.json"); });
	};
	EXPECT_EQ(broken([](json &d) { d.erase("pgtbench"); }), "x.json: top level: missing \"pgtbench\"");
	EXPECT_EQ(broken([](json &d) { d["pgtbench"]["schema_version"] = 2; }),
		  "x.json: pgtbench.schema_version: 2 is not 1, the version this pgtbench reads");
	EXPECT_EQ(broken([](json &d) { d["entries"][0]["metrics"]["fork_ms"]["samples"] = {1, "x"}; }),
		  "x.json: entries[0].metrics.fork_ms.samples: expected an array of finite numbers");
	EXPECT_EQ(broken([](json &d) { d["entries"][0]["metrics"]["fork_ms"]["better"] = "less"; }),
		  "x.json: entries[0].metrics.fork_ms.better: \"less\" is not lower or higher");
	EXPECT_EQ(broken([](json &d) { d["entries"][0]["primary_metric"] = "nope_ms"; }),
		  "x.json: entries[0].primary_metric: \"nope_ms\" is not among its metrics");
	EXPECT_EQ(broken([](json &d) { d["pgtbench"]["env"]["virtualization"]["vm"] = "yes"; }),
		  "x.json: pgtbench.env.virtualization.vm: expected true, false or null");
	EXPECT_EQ(broken([](json &d) { d["pgtbench"]["env"]["platform"] = {{"name", " "}}; }),
		  "x.json: pgtbench.env.platform.name: expected a name, not an empty one");
	EXPECT_EQ(broken([](json &d) {
			  d["pgtbench"]["env"]["platform"] = {{"name", "Ampere Altra"}, {"evidence", ""}, {"source", "bios"}};
		  }),
		  "x.json: pgtbench.env.platform.source: \"bios\" is not one of override, ec2, dmi, soc0, "
		  "devicetree, midr, cpu");
	EXPECT_EQ(broken([](json &d) { d = json::array(); }),
		  "x.json: top level: expected an object (is this a pgtbench results file?)");
}

TEST(ResultsFile, UnreadableOrNotJson)
{
	EXPECT_EQ(usageError([] { loadResultsFile("/nonexistent/r.json"); }),
		  "/nonexistent/r.json: cannot read: No such file or directory");
	std::string path = testing::TempDir() + "/not-json.json";
	std::ofstream(path) << "{\"pgtbench\": ";
	EXPECT_EQ(usageError([&] { loadResultsFile(path); }), path + ": not JSON (byte 14)");
}

/* --- rows and columns -------------------------------------------------------------------- */

TEST(Columns, OneMachineGivesOneColumnPerVariant)
{
	std::vector<ResultsFile> files{
		file("base", {forkEntry(kGiB, 0, "", {2, 2.1}), forkEntry(kGiB, 9, "pmd", {1, 1.1}),
			      forkEntry(kGiB, 9, "pte", {1.5, 1.6})},
		     "a.json"),
		file("other", {forkEntry(kGiB, 0, "", {2, 2.2}), forkEntry(kGiB, 9, "pmd", {1, 1.2}),
			       forkEntry(kGiB, 9, "pte", {1.2, 1.3})},
		     "b.json")};
	Comparison c = buildComparison(files, {});
	EXPECT_TRUE(c.column_dims.empty());
	ASSERT_EQ(c.rows, (std::vector<std::string>{"base", "other"}));
	ASSERT_EQ(c.columns.size(), 3u);
	/* size is the same everywhere, so only order and map tell variants apart */
	EXPECT_EQ(c.columns[0].keys, (std::vector<std::pair<std::string, std::string>>{{"order", "0"}}));
	EXPECT_EQ(c.columns[2].keys,
		  (std::vector<std::pair<std::string, std::string>>{{"order", "9"}, {"map", "pte"}}));
	EXPECT_NEAR(*c.cells[1][2].change.percent, (1.25 - 1.55) / 1.55 * 100, 1e-9);
	EXPECT_EQ(*c.cells[0][0].change.percent, 0);
}

TEST(Columns, ARowOnSeveralMachinesSpreadsOverMachineColumns)
{
	Comparison c = buildComparison(fixtureDir("map_mem_v2"), {});
	EXPECT_EQ(c.column_dims, std::vector<std::string>{"machine"});
	ASSERT_EQ(c.columns.size(), 4u);
	EXPECT_EQ(c.columns[0].machine, "Apple M2 VM 16G");
	EXPECT_EQ(c.columns[3].machine, "Ampere Altra Metal 512G");
	EXPECT_EQ(c.rows.size(), 5u);
}

TEST(Columns, RowsOnDifferentMachinesStayInOneColumnAndSaySo)
{
	/* one label per machine: comparing the machines themselves */
	std::vector<ResultsFile> files{
		file("n1", {forkEntry(kGiB, 0, "", {2, 2.1})}, "a.json"),
		file("m2", {forkEntry(kGiB, 0, "", {1, 1.1})}, "b.json",
		     env("Apple M2 Blizzard + Apple M2 Avalanche", true, 16000000ull * 1024, "6.12.0"))};
	Comparison c = buildComparison(files, {});
	EXPECT_TRUE(c.column_dims.empty());
	EXPECT_EQ(c.columns.size(), 1u);
	EXPECT_TRUE(hasNote(c, "rows from different machines: n1 on Neoverse-N1 VM 64G; m2 on Apple M2 VM 16G"));
}

TEST(Columns, AnAltraAndAGraviton2OfOneSizeAreTwoColumnsWithTheirNames)
{
	/* Both are Neoverse-N1 with 512G: by the CPU they were one machine with two results a cell. */
	json altra = fixtureEnv("altra-metal").toJson(), graviton = fixtureEnv("graviton2-metal").toJson();
	std::vector<ResultsFile> files{file("base", {forkEntry(kGiB, 0, "", {2, 2.1})}, "a.json", altra),
				       file("base", {forkEntry(kGiB, 0, "", {3, 3.1})}, "b.json", graviton),
				       file("patch", {forkEntry(kGiB, 0, "", {1.9, 2})}, "c.json", altra),
				       file("patch", {forkEntry(kGiB, 0, "", {2.9, 3})}, "d.json", graviton)};
	Comparison c = buildComparison(files, {});
	EXPECT_EQ(c.column_dims, std::vector<std::string>{"machine"});
	ASSERT_EQ(c.columns.size(), 2u);
	EXPECT_EQ(c.columns[0].machine, "Ampere Altra Metal 512G");
	EXPECT_EQ(c.columns[1].machine, "Graviton2 Metal 512G");
	std::string table = formatCoverLetter(c);
	EXPECT_NE(table.find("| Ampere Altra | Graviton2"), std::string::npos) << table;
	EXPECT_TRUE(hasNote(c, "Ampere Altra Metal 512G: named by DMI sys_vendor Ampere(R), product Mt.Jade, Neoverse-N1"));
	EXPECT_TRUE(hasNote(c, "Graviton2 Metal 512G: named by EC2 instance type r6g.metal"));
}

TEST(Columns, MachinesNamedByTheirCpuWithOtherFirmwareAreNumberedColumns)
{
	/* Files recorded before env.platform: the CPU names both, the firmware tells them apart. */
	json altra = firmwareEnv("Ampere(R)", "Mt.Jade", 527937536ull * 1024);
	json graviton = firmwareEnv("Amazon EC2", "r6g.metal", 527000000ull * 1024);
	std::vector<ResultsFile> files{file("base", {forkEntry(kGiB, 0, "", {2, 2.1})}, "a.json", altra),
				       file("base", {forkEntry(kGiB, 0, "", {3, 3.1})}, "b.json", graviton)};
	Comparison c = buildComparison(files, {});
	ASSERT_EQ(c.columns.size(), 2u);
	EXPECT_EQ(c.columns[0].machine, "Neoverse-N1 #1 Metal 512G");
	EXPECT_EQ(c.columns[1].machine, "Neoverse-N1 #2 Metal 512G");
	EXPECT_TRUE(hasNote(c, "Neoverse-N1 #2 Metal 512G: named by its CPU model; the file records no platform; "
			       "firmware Amazon EC2 r6g.metal"));
}

TEST(Columns, OnePlatformNamedByOtherEvidenceIsOneMachineWithEachEvidenceInItsNote)
{
	uint64_t mem = 527937536ull * 1024;
	std::vector<ResultsFile> files{
		file("base", {forkEntry(kGiB, 0, "", {2, 2.1})}, "a.json",
		     platformEnv("Ampere Altra", "dmi", "DMI sys_vendor Ampere(R), product Mt.Jade", false, mem)),
		file("patch", {forkEntry(kGiB, 0, "", {1.9, 2})}, "b.json",
		     platformEnv("Ampere Altra", "soc0", "soc0 jep106:0a16:0001", false, mem))};
	Comparison c = buildComparison(files, {});
	EXPECT_TRUE(c.column_dims.empty());
	EXPECT_TRUE(hasNote(c, "machine: Ampere Altra Metal 512G (aarch64)"));
	EXPECT_TRUE(hasNote(c, "Ampere Altra Metal 512G: named by DMI sys_vendor Ampere(R), product Mt.Jade; "
			       "soc0 jep106:0a16:0001"));
}

TEST(Columns, DifferentSizesAreRefusedUntilSizeIsAColumn)
{
	std::vector<ResultsFile> files{file("base", {forkEntry(kGiB, 9, "pte", {1, 1.1})}, "a.json"),
				       file("other", {forkEntry(512 << 20, 9, "pte", {0.5, 0.6})}, "b.json")};
	EXPECT_EQ(usageError([&] { buildComparison(files, {}); }),
		  "cannot compare fork/size:512M/order:9/map:pte (other, b.json) with fork/size:1G/order:9/map:pte "
		  "(base, a.json): size differs (512M vs 1G); to show each size in its own column: --columns size");
	CompareOptions o;
	o.columns = {"size"};
	Comparison c = buildComparison(files, o);
	ASSERT_EQ(c.columns.size(), 2u);
	EXPECT_TRUE(c.cells[0][0].ok());
	EXPECT_FALSE(c.cells[1][0].present);
	/* other's 512M has no base value to compare with: a value, no percentage */
	EXPECT_TRUE(c.cells[1][1].ok());
	EXPECT_FALSE(c.cells[1][1].compared);
	EXPECT_EQ(cellText(formatCoverLetter(c), "other", 2), "0.550");
}

TEST(Columns, TwoResultsForOneCellAreRefusedWithWhatDiffers)
{
	std::vector<ResultsFile> files{
		file("base", {forkEntry(kGiB, 0, "", {1})}, "a.json"),
		file("base", {forkEntry(kGiB, 0, "", {1})}, "b.json",
		     env("Neoverse-N1", true, 65000000ull * 1024, "6.13.0"))};
	CompareOptions o;
	o.columns = {"order"};
	EXPECT_EQ(usageError([&] { buildComparison(files, o); }),
		  "row base has two results for fork/size:1G/order:0: a.json and b.json; to show them side by "
		  "side: --columns order,kernel");
	files[1] = file("base", {forkEntry(kGiB, 0, "", {1})}, "b.json");
	EXPECT_EQ(usageError([&] { buildComparison(files, {}); }),
		  "row base has two results for fork/size:1G/order:0: a.json and b.json; give the runs different "
		  "--label values");
}

TEST(Columns, UnknownDimensionListsTheKnownOnes)
{
	std::vector<ResultsFile> files{file("base", {forkEntry(kGiB, 0, "", {1})}, "a.json")};
	CompareOptions o;
	o.columns = {"granularity"};
	EXPECT_EQ(usageError([&] { buildComparison(files, o); }),
		  "--columns: no dimension 'granularity' in these files (known: machine, kernel, size, order)");
}

TEST(Rows, ByKernelInsteadOfLabel)
{
	std::vector<ResultsFile> files{
		file("a", {forkEntry(kGiB, 0, "", {2, 2})}, "a.json", env("Neoverse-N1", true, kGiB, "6.1.0")),
		file("b", {forkEntry(kGiB, 0, "", {1, 1})}, "b.json", env("Neoverse-N1", true, kGiB, "6.12.0"))};
	CompareOptions o;
	o.rows = "kernel";
	Comparison c = buildComparison(files, o);
	EXPECT_EQ(c.rows, (std::vector<std::string>{"6.1.0", "6.12.0"}));
	EXPECT_EQ(*c.cells[1][0].change.percent, -50);
}

json mapMemEntry(const std::string &size, uint64_t size_bytes, const std::string &strategy, double ms)
{
	return {{"name", fmt::format("map_mem/size:{}/strategy:{}/granularity:pte", size, strategy)},
		{"scenario", "map_mem"},
		/* signed, as a document built in memory by `run` holds it */
		{"params", {{"size_bytes", static_cast<int64_t>(size_bytes)}, {"strategy", strategy}, {"granularity", "pte"}}},
		{"status", "ok"},
		{"reason", ""},
		{"primary_metric", "map_mem_ms"},
		{"metrics", {{"map_mem_ms", metric({ms})}}}};
}

/* The seeds' map_mem layout from one file: strategies down, sizes across. */
TEST(Rows, AParameterGivesARowPerValueWithTheFirstAsBaseline)
{
	std::vector<json> entries;
	for (auto [strategy, ms16, ms64] : {std::tuple{"base", 150.0, 2200.0}, std::tuple{"no-cont-remap", 75.0, 440.0},
					    std::tuple{"lazy-unmap", 6.0, 66.0}}) {
		entries.push_back(mapMemEntry("16G", 16 * kGiB, strategy, ms16));
		entries.push_back(mapMemEntry("64G", 64 * kGiB, strategy, ms64));
	}
	entries.push_back(forkEntry(kGiB, 0, "", {2, 2}));
	CompareOptions o;
	o.rows = "strategy";
	o.columns = {"size"};
	Comparison c = buildComparison({file("run", entries, "run.json")}, o);
	EXPECT_EQ(c.rows, (std::vector<std::string>{"base", "no-cont-remap", "lazy-unmap"}));
	ASSERT_EQ(c.columns.size(), 2u);
	EXPECT_EQ(c.columns[0].keys, (std::vector<std::pair<std::string, std::string>>{{"size", "16G"}}));
	EXPECT_EQ(c.columns[1].keys, (std::vector<std::pair<std::string, std::string>>{{"size", "64G"}}));
	EXPECT_EQ(*c.cells[1][0].change.percent, -50);
	EXPECT_EQ(*c.cells[2][1].change.percent, -97);
	EXPECT_TRUE(hasNote(c, "- left out: 1 entry without strategy"));
	std::string out = formatCoverLetter(c);
	EXPECT_NE(out.find("no-cont-remap"), std::string::npos) << out;
	EXPECT_NE(out.find("size:16G"), std::string::npos) << out;
}

TEST(Rows, AParameterNoFileHasIsRefusedWithTheKnownOnes)
{
	CompareOptions o;
	o.rows = "strategy";
	try {
		buildComparison({file("a", {forkEntry(kGiB, 0, "", {2, 2})}, "a.json")}, o);
		FAIL() << "no error";
	} catch (const UsageError &e) {
		EXPECT_EQ(std::string(e.what()),
			  "--rows strategy: expected label, kernel or a parameter of these files (known: label, kernel, "
			  "size, order)");
	}
	o.rows = "size";
	o.columns = {"size"};
	EXPECT_THROW(buildComparison({file("a", {forkEntry(kGiB, 0, "", {2, 2})}, "a.json")}, o), UsageError);
}

/* --- metrics ------------------------------------------------------------------------------ */

TEST(Metrics, PrimaryByDefaultStemsAndAllOnRequest)
{
	std::vector<ResultsFile> files{file("base", {forkEntry(kGiB, 0, "", {2}, {3})}, "a.json")};
	EXPECT_EQ(buildComparison(files, {}).columns.at(0).metric, "fork_ms");
	CompareOptions o;
	o.metrics = {"teardown"};
	Comparison c = buildComparison(files, o);
	ASSERT_EQ(c.columns.size(), 1u);
	EXPECT_EQ(c.columns[0].metric, "teardown_ms");
	EXPECT_FALSE(c.columns[0].primary);
	o.metrics = {"all"};
	EXPECT_EQ(buildComparison(files, o).columns.size(), 2u);
	o.metrics = {"tlbi_count"};
	EXPECT_EQ(usageError([&] { buildComparison(files, o); }),
		  "--metric: no metric 'tlbi_count' in these files (known: fork_ms, teardown_ms)");
}

TEST(Metrics, HigherIsBetterFlipsTheMarks)
{
	auto entry = [](const std::vector<double> &ops) {
		return json{{"name", "tput"},
			    {"scenario", "tput"},
			    {"params", json::object()},
			    {"status", "ok"},
			    {"reason", ""},
			    {"primary_metric", "ops_per_s"},
			    {"metrics", {{"ops_per_s", metric(ops, "ops/s", "higher")}}}};
	};
	std::vector<double> base{100, 101, 99, 100.5, 99.5, 100, 101, 99, 100.2, 99.8};
	std::vector<double> more;
	for (double b : base)
		more.push_back(b * 1.05);
	Comparison c = buildComparison({file("base", {entry(base)}, "a.json"), file("fast", {entry(more)}, "b.json")}, {});
	EXPECT_EQ(c.cells[1][0].change.mark, Mark::Improvement);
	EXPECT_EQ(cellText(formatCoverLetter(c), "fast", 1), "105 (+5.0%) (I)");
}

TEST(Metrics, EntriesThatRanNowhereBecomeANote)
{
	json skipped = forkEntry(kGiB, 4, "", {});
	skipped["status"] = "skipped";
	skipped["reason"] = "the kernel offers no order-4 folios";
	skipped["name"] = "fork/size:1G/order:4";
	std::vector<ResultsFile> files{file("base", {forkEntry(kGiB, 0, "", {1, 1}), skipped}, "a.json"),
				       file("other", {forkEntry(kGiB, 0, "", {1, 1}), skipped}, "b.json")};
	Comparison c = buildComparison(files, {});
	EXPECT_EQ(c.columns.size(), 1u);
	EXPECT_NE(std::find(c.notes.begin(), c.notes.end(),
			    "- not run: fork/size:1G/order:4: the kernel offers no order-4 folios"),
		  c.notes.end());
}

TEST(KernelLog, AFileWhoseKernelWarnedDuringTheRunIsNamedInTheNotes)
{
	json warned = doc("patched", env("Neoverse-N1", true, kGiB, "6.12"), {forkEntry(kGiB, 0, "", {1, 1})});
	warned["pgtbench"]["kernel_log"] = {{"available", true}, {"reason", ""}, {"lost", false}, {"warnings", 2},
					    {"lines", {"WARNING: CPU: 1 PID: 2 at mm/memory.c:3 f", "BUG: soft lockup"}}};
	json clean = doc("base", env("Neoverse-N1", true, kGiB, "6.12"), {forkEntry(kGiB, 0, "", {1, 1})});
	clean["pgtbench"]["kernel_log"] = {{"available", true}, {"reason", ""}, {"lost", false}, {"warnings", 0},
					   {"lines", json::array()}};
	std::vector<ResultsFile> files{parseResultsFile(clean, "base.json"), parseResultsFile(warned, "p.json")};
	ASSERT_TRUE(files[1].kernel_log.has_value());
	EXPECT_EQ(files[1].kernel_log->warnings, 2u);
	Comparison c = buildComparison(std::move(files), {});
	EXPECT_NE(std::find(c.notes.begin(), c.notes.end(),
			    "patched: the kernel logged 2 warnings during the run (p.json)"),
		  c.notes.end());
	EXPECT_EQ(std::count_if(c.notes.begin(), c.notes.end(),
				[](const auto &n) { return n.find("the kernel logged") != std::string::npos; }),
		  1);
	/* Files from before the kernel log was watched read as before; a broken one is named. */
	EXPECT_FALSE(file("old", {forkEntry(kGiB, 0, "", {1})}, "old.json").kernel_log.has_value());
	warned["pgtbench"]["kernel_log"]["lines"] = {1};
	EXPECT_EQ(usageError([&] { parseResultsFile(warned, "p.json"); }),
		  "p.json: pgtbench.kernel_log.lines: expected an array of strings");
}

/* --- the cover letter ----------------------------------------------------------------------- */

TEST(CoverLetter, MarksAndTheirLegendOnlyWhereTheTestCanDecide)
{
	Comparison c = buildComparison(fixtureDir("synthetic_ab"), {});
	std::string out = formatCoverLetter(c);
	/* Altra: order 9 pte 4% faster, order 0 3% slower, both found */
	EXPECT_EQ(cellText(out, "patched", 3), "0.885 (-4.0%) (I)") << out;
	EXPECT_EQ(cellText(out, "patched", 1), "2.58 (+2.9%) (R)") << out;
	EXPECT_EQ(cellText(out, "patched", 2), "0.319 (-0.2%)") << out;
	EXPECT_TRUE(hasNote(c, "(I)/(R): improvement/regression, Mann-Whitney U two-sided p < 0.05"));
}

TEST(CoverLetter, FitsEightyColumnsByWrappingIntoSeveralTables)
{
	Comparison c = buildComparison(fixtureDir("synthetic_ab"), {});
	std::string out = formatCoverLetter(c);
	std::istringstream in(out);
	size_t tables = 0;
	for (std::string line; std::getline(in, line);) {
		EXPECT_LE(line.size(), 80u) << line;
		tables += line.rfind("base ", 0) == 0;
	}
	EXPECT_EQ(tables, 2u); /* six columns: one table per machine */
	c.options.width = 200;
	std::string wide = formatCoverLetter(c);
	EXPECT_EQ(std::count(wide.begin(), wide.end(), '\n') < std::count(out.begin(), out.end(), '\n'), true);
}

TEST(CoverLetter, ThreeRunsPerCellSayNoMarkIsPossible)
{
	std::vector<ResultsFile> files{file("base", {forkEntry(kGiB, 0, "", {1, 1.01, 0.99})}, "a.json"),
				       file("other", {forkEntry(kGiB, 0, "", {2, 2.01, 1.99})}, "b.json")};
	Comparison c = buildComparison(files, {});
	EXPECT_EQ(cellText(formatCoverLetter(c), "other", 1), "2.00 (+100%)");
	EXPECT_TRUE(hasNote(c, "no (I)/(R) marks possible: with 3 runs the smallest Mann-Whitney p is 0.1, not "
			       "below 0.05"));
}

TEST(CoverLetter, StdevColumnIsTheSpreadAsPercentOfTheMean)
{
	std::vector<ResultsFile> files{file("base", {forkEntry(kGiB, 0, "", {9, 10, 11})}, "a.json")};
	CompareOptions o;
	o.stdev = true;
	std::string out = formatCoverLetter(buildComparison(files, o));
	EXPECT_EQ(cellText(out, "base", 2), "10.0%") << out;
}

/*
 * The reproduction: results files holding the published map_mem() times as single
 * samples (tests/fixtures/results/make_fixtures.py) give back the published
 * percentages, except where the published number was not computed from the
 * published times, which the test pins with the reason.
 */
struct Published {
	const char *stage;
	const char *cells[4];
};

void expectReproduces(const std::string &dir, const std::vector<Published> &table,
		      const std::map<std::pair<std::string, size_t>, int> &known_differences)
{
	Comparison c = buildComparison(fixtureDir(dir), {});
	std::string out = formatCoverLetter(c);
	EXPECT_TRUE(hasNote(c, "single samples: no test of significance, so no (I)/(R) marks"));
	for (const auto &row : table) {
		for (size_t col = 0; col < 4; col++) {
			std::string published = row.cells[col];
			std::string ours = cellText(out, row.stage, col + 1);
			EXPECT_EQ(ours.find("("), ours.rfind("(")) << "a mark in " << ours;
			/* the value itself, then the percentage */
			EXPECT_EQ(ours.substr(0, ours.find(' ')), published.substr(0, published.find(' ')))
				<< row.stage << " column " << col;
			if (published.find('%') == std::string::npos)
				continue; /* v2's base row printed no "(0%)" past the first column */
			int want = publishedPercent(published);
			auto known = known_differences.find({row.stage, col});
			if (known != known_differences.end())
				want = known->second;
			EXPECT_EQ(publishedPercent(ours), want) << row.stage << " column " << col << "\n" << out;
		}
	}
}

TEST(Reproduction, MapMemV2TableFromItsTimes)
{
	std::vector<Published> v2{
		{"base", {"153 (0%)", "2227", "8798", "17442"}},
		{"no-cont-remap", {"77 (-49%)", "431 (-81%)", "1727 (-80%)", "3796 (-78%)"}},
		{"batch-barriers", {"13 (-92%)", "162 (-93%)", "655 (-93%)", "1656 (-91%)"}},
		{"no-alloc-remap", {"11 (-93%)", "109 (-95%)", "449 (-95%)", "1257 (-93%)"}},
		{"lazy-unmap", {"6 (-96%)", "61 (-97%)", "257 (-97%)", "838 (-95%)"}},
	};
	/*
	 * 77 vs 153 is -49.7%: v2 kept v1's "77 (-49%)", which was relative to v1's base of
	 * 151 ms (77/151 = -49.0%).
	 */
	expectReproduces("map_mem_v2", v2, {{{"no-cont-remap", 0}, -50}});
}

TEST(Reproduction, MapMemV1TableFromItsTimes)
{
	std::vector<Published> v1{
		{"base", {"151 (0%)", "2191 (0%)", "8990 (0%)", "17443 (0%)"}},
		{"no-cont-remap", {"77 (-49%)", "429 (-80%)", "1753 (-80%)", "3796 (-78%)"}},
		{"no-alloc-remap", {"77 (-49%)", "375 (-83%)", "1532 (-83%)", "3366 (-81%)"}},
		{"lazy-unmap", {"63 (-58%)", "330 (-85%)", "1312 (-85%)", "2929 (-83%)"}},
	};
	/*
	 * 1753 vs 8990 is -80.501%: the published -80% was computed from the unrounded
	 * times (any base above 8990.04 ms gives -80%), rounded ones give -81%.
	 */
	expectReproduces("map_mem_v1", v1, {{{"no-cont-remap", 2}, -81}});
}

/*
 * A/A on real samples: 400 repetitions of two fork variants recorded on the
 * development VM (recorded/aa-400reps-fork-64M.json), cut into 20 comparisons of 10
 * against 10 per variant, the repetitions alternating between the two "runs" as an
 * A/B session should interleave them to cancel the machine's drift. At most 5% of the
 * 40 may be flagged.
 * (Cut into consecutive blocks instead, the same samples flag 2 and 5 of 20: this VM
 * drifts over seconds, and the test rightly sees that as a difference.)
 */
TEST(Calibration, AARecordedForkSamplesInterleavedStayAtAlpha)
{
	ResultsFile f = loadResultsFile(FIXTURES "/results/recorded/aa-400reps-fork-64M.json");
	int flagged = 0, comparisons = 0;
	for (const auto &e : f.entries) {
		const auto &s = e.metrics.at("fork_ms").samples;
		ASSERT_EQ(s.size(), 400u) << e.name;
		for (size_t k = 0; k < 20; k++) {
			std::vector<double> a, b;
			for (size_t i = 0; i < 20; i += 2) {
				a.push_back(s[20 * k + i]);
				b.push_back(s[20 * k + i + 1]);
			}
			flagged += compareSamples(a, b, true).significant;
			comparisons++;
		}
	}
	EXPECT_EQ(comparisons, 40);
	EXPECT_LE(flagged, 2);
}

/* --- counters ------------------------------------------------------------------------------- */

TEST(Counters, ACounterIsAMetricWhereFewerIsBetter)
{
	auto withCounters = [](const std::vector<double> &tlbi) {
		json e = forkEntry(kGiB, 9, "pte", {1, 1, 1, 1, 1});
		e["counters"] = {{"tlb_flush_calls.flush_tlb_mm",
				  {{"unit", "count"}, {"available", true}, {"reason", ""}, {"samples", tlbi}}},
				 {"cycles",
				  {{"unit", "count"},
				   {"available", false},
				   {"reason", "no such event on this CPU (or the hypervisor hides it)"},
				   {"samples", {nullptr, nullptr, nullptr, nullptr, nullptr}}}}};
		return e;
	};
	std::vector<ResultsFile> files{file("base", {withCounters({512, 512, 513, 512, 512})}, "a.json"),
				       file("batched", {withCounters({8, 8, 8, 9, 8})}, "b.json")};
	EXPECT_EQ(files[0].entries[0].metric_order,
		  (std::vector<std::string>{"fork_ms", "teardown_ms", "cycles", "tlb_flush_calls.flush_tlb_mm"}));
	CompareOptions o;
	o.metrics = {"tlb_flush_calls.flush_tlb_mm"};
	Comparison c = buildComparison(files, o);
	ASSERT_EQ(c.columns.size(), 1u);
	EXPECT_EQ(c.columns[0].unit, "count");
	EXPECT_EQ(c.cells[1][0].change.mark, Mark::Improvement);
	EXPECT_EQ(cellText(formatCoverLetter(c), "batched", 1), "8 (-98%) (I)");

	/* an unavailable counter says why instead of showing zeros */
	o.metrics = {"cycles", "fork_ms"};
	c = buildComparison(files, o);
	EXPECT_EQ(c.columns.size(), 1u);
	EXPECT_TRUE(hasNote(c, "- no cycles: no such event on this CPU (or the hypervisor hides it)"));
}

/* --- stages not measured (--absent) --------------------------------------------------------- */

TEST(Absent, ARowNotMeasuredComesAfterTheMeasuredRowsWithNaCellsAndItsReason)
{
	std::vector<ResultsFile> files{file("base", {forkEntry(kGiB, 0, "", {1, 1.01, 0.99})}, "a.json"),
				       file("other", {forkEntry(kGiB, 0, "", {2, 2.01, 1.99})}, "b.json")};
	CompareOptions o;
	o.absent = {{"broken", "build failed: see build.log"}, {"dead", "no boot"}};
	Comparison c = buildComparison(files, o);
	EXPECT_EQ(c.rows, (std::vector<std::string>{"base", "other", "broken", "dead"}));
	EXPECT_TRUE(c.row_files[2].empty());
	EXPECT_FALSE(c.cells[2][0].present);
	EXPECT_TRUE(c.absent(3) && !c.absent(1));
	std::string out = formatCoverLetter(c);
	EXPECT_EQ(cellText(out, "other", 1), "2.00 (+100%)") << out;
	EXPECT_EQ(cellText(out, "broken", 1), "n/a") << out;
	EXPECT_EQ(cellText(out, "dead", 1), "n/a") << out;
	EXPECT_TRUE(hasNote(c, "broken: not measured: build failed: see build.log"));
	EXPECT_TRUE(hasNote(c, "dead: not measured: no boot"));
	/* the row's own note says it: no "not in its files" per cell, no kernel of its own */
	for (const auto &n : c.notes) {
		EXPECT_EQ(n.find("not in its files"), std::string::npos) << n;
		EXPECT_EQ(n.find("dead on"), std::string::npos) << n;
	}
	EXPECT_NE(formatMarkdown(c).find("| broken | n/a |\n"), std::string::npos) << formatMarkdown(c);
	EXPECT_NE(formatCsv(c).find("\ndead,fork,fork,,fork_ms,ms,lower,,,,,,,,,,,,,,n/a,no boot\n"), std::string::npos)
		<< formatCsv(c);
	json j = comparisonJson(c);
	EXPECT_EQ(j["rows"][2]["absent"], "build failed: see build.log");
	EXPECT_FALSE(j["rows"][1].contains("absent"));
	EXPECT_EQ(j["rows"][3]["files"], json::array());
}

TEST(Absent, RefusedWhereTheRowCouldPassForAnotherOne)
{
	auto refusal = [](std::vector<std::pair<std::string, std::string>> absent, const std::string &rows = "label") {
		CompareOptions o;
		o.absent = std::move(absent);
		o.rows = rows;
		return usageError([&] { buildComparison({file("base", {forkEntry(kGiB, 0, "", {1, 1})}, "a.json")}, o); });
	};
	EXPECT_EQ(refusal({{"", "build failed"}}),
		  "--absent =build failed: expected LABEL=REASON, the label of the stage not measured");
	EXPECT_EQ(refusal({{"base", "x"}}), "--absent base: the label of a.json, which was measured");
	EXPECT_EQ(refusal({{"p1", ""}}), "--absent p1=: expected the reason it was not measured");
	EXPECT_EQ(refusal({{"p1", "x"}, {"p1", "y"}}), "--absent p1: given twice");
	EXPECT_NE(refusal({{"../p1", "x"}}).find("--absent ../p1: label '../p1'"), std::string::npos);
	EXPECT_EQ(refusal({{"p1", "x"}}, "kernel"), "--absent: its rows are labels, not --rows kernel");
}

TEST(Absent, WithoutResultsFilesThereIsStillNothingToCompare)
{
	CompareOptions o;
	o.absent = {{"broken", "build failed"}};
	EXPECT_EQ(usageError([&] { buildComparison({}, o); }), "nothing to compare: no results files");
}

/* --- compare --fail-on: git bisect run's verdict ------------------------------------------- */

namespace {

json failedEntry(json e, const std::string &reason)
{
	e["status"] = "error";
	e["reason"] = reason;
	e["metrics"]["fork_ms"]["samples"] = json::array();
	return e;
}

GateVerdict gate(const std::vector<double> &base, const std::vector<double> &other, double pct = 0)
{
	std::vector<ResultsFile> files{file("base", {forkEntry(kGiB, 0, "", base)}, "a.json"),
				       file("patched", {forkEntry(kGiB, 0, "", other)}, "b.json")};
	return regressionGate(buildComparison(std::move(files), {}), pct);
}

const std::vector<double> kBase{1.00, 1.01, 0.99, 1.02, 0.98, 1.00};
const std::vector<double> kSlower{1.10, 1.11, 1.09, 1.12, 1.08, 1.10}; /* +10% */

} /* namespace */

TEST(Gate, FailOnAcceptsRegressionAndAPercentage)
{
	EXPECT_EQ(parseFailOn("regression"), 0.0);
	EXPECT_EQ(parseFailOn("regression:5"), 5.0);
	EXPECT_EQ(parseFailOn("regression:2.5%"), 2.5);
	for (const char *bad : {"", "regressions", "regression:", "regression:-1", "regression:5x", "improvement:5",
				"regression:nan"})
		EXPECT_FALSE(parseFailOn(bad)) << bad;
}

TEST(Gate, ASignificantSlowdownIsARegressionExit1)
{
	GateVerdict v = gate(kBase, kSlower);
	EXPECT_EQ(v.exit_code, kGateRegression);
	ASSERT_EQ(v.regressions.size(), 1u);
	EXPECT_NE(v.regressions[0].find("patched: fork/size:1G/order:0 fork_ms: +10.00%"), std::string::npos) << v.regressions[0];
	EXPECT_EQ(v.judged, 1u);
}

TEST(Gate, ASpeedupOrNoChangeIsGoodExit0)
{
	EXPECT_EQ(gate(kSlower, kBase).exit_code, kGateNoRegression);
	EXPECT_EQ(gate(kBase, kBase).exit_code, kGateNoRegression);
}

TEST(Gate, ARegressionSmallerThanThePercentageIsGood)
{
	EXPECT_EQ(gate(kBase, kSlower, 10.5).exit_code, kGateNoRegression);
	EXPECT_EQ(gate(kBase, kSlower, 9.5).exit_code, kGateRegression);
}

TEST(Gate, TooFewSamplesForTheTestToReachAlphaCannotTellExit125)
{
	/* 3 against 3: the smallest two-sided p is 2/20 = 0.1, never below 0.05 */
	GateVerdict v = gate({1, 1.01, 0.99}, {2, 2.01, 1.99});
	EXPECT_EQ(v.exit_code, kGateCannotTell);
	ASSERT_EQ(v.unknown.size(), 1u);
	EXPECT_NE(v.unknown[0].find("too few samples for the test to reach p < 0.05 (3 and 3)"), std::string::npos)
		<< v.unknown[0];
	/* 4 against 4 can: 2/70 */
	EXPECT_EQ(gate({1, 1.01, 0.99, 1.02}, {2, 2.01, 1.99, 2.02}).exit_code, kGateRegression);
}

TEST(Gate, AVariantThatFailedOnOneSideCannotTell)
{
	std::vector<ResultsFile> files{
		file("base", {forkEntry(kGiB, 0, "", kBase)}, "a.json"),
		file("patched", {failedEntry(forkEntry(kGiB, 0, "", kBase), "fork: Cannot allocate memory")}, "b.json")};
	GateVerdict v = regressionGate(buildComparison(std::move(files), {}), 0);
	EXPECT_EQ(v.exit_code, kGateCannotTell);
	ASSERT_EQ(v.unknown.size(), 1u);
	EXPECT_NE(v.unknown[0].find("fork: Cannot allocate memory"), std::string::npos) << v.unknown[0];
}

TEST(Gate, ARegressionElsewhereStillFailsWhenSomeCellsCannotTell)
{
	std::vector<ResultsFile> files{
		file("base", {forkEntry(kGiB, 0, "", kBase), forkEntry(kGiB, 9, "pte", kBase)}, "a.json"),
		file("patched", {forkEntry(kGiB, 0, "", kSlower)}, "b.json")};
	GateVerdict v = regressionGate(buildComparison(std::move(files), {}), 0);
	EXPECT_EQ(v.exit_code, kGateRegression);
	EXPECT_EQ(v.unknown.size(), 1u);
}

TEST(Gate, AStageThatWasNotMeasuredCannotTell)
{
	std::vector<ResultsFile> files{file("base", {forkEntry(kGiB, 0, "", kBase)}, "a.json"),
				       file("patched", {forkEntry(kGiB, 0, "", kBase)}, "b.json")};
	CompareOptions o;
	o.absent = {{"broken", "build failed"}};
	GateVerdict v = regressionGate(buildComparison(std::move(files), o), 0);
	EXPECT_EQ(v.exit_code, kGateCannotTell);
	ASSERT_EQ(v.unknown.size(), 1u);
	EXPECT_NE(v.unknown[0].find("broken: fork/size:1G/order:0 fork_ms: not measured: build failed"), std::string::npos)
		<< v.unknown[0];
}

/* --- tall layouts ------------------------------------------------------------------- */

TEST(TallCell, ASignificantImprovementReadsAsTheVmallocSeriesPrintsIt)
{
	Change ch;
	ch.percent = -33.2712;
	ch.significant = true;
	ch.mark = Mark::Improvement;
	EXPECT_EQ(changeCellText(ch), "(I) -33.27%");
	ch.percent = 5.1;
	ch.mark = Mark::Regression;
	EXPECT_EQ(changeCellText(ch), "(R) +5.10%");
}

TEST(TallCell, AChangeThatIsNotSignificantIsItsPercentageAlone)
{
	Change ch;
	ch.percent = -0.4;
	EXPECT_EQ(changeCellText(ch), "-0.40%");
	ch.percent = -0.001;
	EXPECT_EQ(changeCellText(ch), "0.00%");
	ch.percent.reset(); /* the baseline's mean was 0 */
	EXPECT_EQ(changeCellText(ch), "-");
}

TEST(TallCell, ASignificantChangeAgainstTheRanksHasTheQuestionMark)
{
	Change ch;
	ch.percent = 2.0;
	ch.significant = true;
	ch.conflicting = true;
	EXPECT_EQ(changeCellText(ch), "(?) +2.00%");
}

TEST(GeometricMean, IsTheNthRootOfTheProduct)
{
	EXPECT_NEAR(*geometricMean({0.5, 2.0}), 1.0, 1e-12);
	EXPECT_NEAR(*geometricMean({0.9, 0.8, 0.7}), std::cbrt(0.9 * 0.8 * 0.7), 1e-12);
	EXPECT_NEAR(*geometricMean({1.07}), 1.07, 1e-12);
}

TEST(GeometricMean, HasNoValueForNothingOrForARatioThatIsNotPositive)
{
	EXPECT_FALSE(geometricMean({}));
	EXPECT_FALSE(geometricMean({0.9, 0.0}));
	EXPECT_FALSE(geometricMean({0.9, -1.0}));
	EXPECT_FALSE(geometricMean({0.9, std::numeric_limits<double>::infinity()}));
}

namespace {

/* The tall table's first line of a Result Class (after Benchmark, or Machine), trimmed. */
std::vector<std::string> tallLine(const std::string &table, const std::string &result_class)
{
	std::istringstream in(table);
	for (std::string line; std::getline(in, line);) {
		auto cells = split(line, '|');
		bool found = false;
		for (size_t k = 1; k < 3 && k < cells.size(); k++)
			found |= trim(cells[k]) == result_class;
		if (found) {
			std::vector<std::string> out;
			for (const auto &cell : cells)
				out.push_back(trim(cell));
			return out;
		}
	}
	return {};
}

} /* namespace */

TEST(TallLayout, ALinePerVariantTheBaselineAsItsNumberTheOthersAsChanges)
{
	std::vector<ResultsFile> files;
	files.push_back(file("base", {forkEntry(kGiB, 0, "", {2.0, 2.01, 1.99, 2.0, 2.02, 1.98}),
				      forkEntry(kGiB, 9, "pte", {1.0, 1.01, 0.99, 1.0, 1.02, 0.98})},
			     "a.json"));
	files.push_back(file("patched", {forkEntry(kGiB, 0, "", {2.0, 2.02, 1.98, 2.01, 2.0, 1.99}),
					 forkEntry(kGiB, 9, "pte", {0.5, 0.51, 0.49, 0.5, 0.52, 0.48})},
			     "b.json"));
	CompareOptions o;
	o.layout = "tall";
	Comparison c = buildComparison(std::move(files), o);
	std::string out = formatComparison(c, "cover-letter");
	EXPECT_EQ(tallLine(out, "order:9 map:pte (ms)"),
		  (std::vector<std::string>{"", "order:9 map:pte (ms)", "1.00", "(I) -50.00%"}));
	EXPECT_EQ(tallLine(out, "order:0 (ms)")[0], "fork"); /* the benchmark on its first line only */
	/* sqrt(1.0 * 0.5): the ratios' geometric mean, never marked */
	EXPECT_EQ(tallLine(out, "geomean fork_ms ratio").back(), "-29.29%");
	EXPECT_NE(out.find("geomean: the geometric mean"), std::string::npos);
}

TEST(TallLayout, ASingleVariantHasNoGeometricMeanLine)
{
	std::vector<ResultsFile> files;
	files.push_back(file("base", {forkEntry(kGiB, 9, "pte", {1.0, 1.01, 0.99})}, "a.json"));
	files.push_back(file("patched", {forkEntry(kGiB, 9, "pte", {0.9, 0.91, 0.89})}, "b.json"));
	CompareOptions o;
	o.layout = "tall";
	std::string out = formatComparison(buildComparison(std::move(files), o), "cover-letter");
	EXPECT_EQ(out.find("geomean"), std::string::npos);
}

TEST(TallLayout, AStackOnSeveralMachinesGetsALinePerMachineAndKeepsOneColumnPerStage)
{
	CompareOptions o;
	o.layout = "tall";
	std::string out = formatComparison(buildComparison(fixtureDir("map_mem_v2"), o), "cover-letter");
	std::string head = out.substr(0, out.find('\n'));
	EXPECT_EQ(split(head, '|').size(), 8u) << out; /* Benchmark, Machine, Result Class, 5 stages */
	auto line = tallLine(out, "map_mem_ms (ms)");
	ASSERT_EQ(line.size(), 8u) << out;
	EXPECT_EQ(line[1], "Apple M2 VM 16G");
	EXPECT_EQ(line[3], "153");
	EXPECT_EQ(line[4], "-49.67%"); /* single samples: never a mark */
}

TEST(TallLayout, CsvAndJsonHaveNoTallLayout)
{
	std::vector<ResultsFile> files;
	files.push_back(file("base", {forkEntry(kGiB, 9, "pte", {1.0})}, "a.json"));
	CompareOptions o;
	o.layout = "tall";
	Comparison c = buildComparison(std::move(files), o);
	EXPECT_NE(usageError([&] { formatComparison(c, "csv"); }).find("--layout tall"), std::string::npos);
	EXPECT_NE(usageError([&] { formatComparison(c, "json"); }).find("--layout tall"), std::string::npos);
}

TEST(LkpLayout, AMetricLineIsMeanStddevChangeMeanStddevName)
{
	std::vector<ResultsFile> files;
	files.push_back(file("base", {forkEntry(kGiB, 9, "pte", {1.0, 1.02, 0.98})}, "a.json"));
	files.push_back(file("patched", {forkEntry(kGiB, 9, "pte", {0.9, 0.918, 0.882})}, "b.json"));
	std::string out = formatComparison(buildComparison(std::move(files), {}), "lkp");
	EXPECT_NE(out.find("         %stddev     %change         %stddev\n"), std::string::npos) << out;
	EXPECT_NE(out.find("      1.00 \u00b1  2%     -10.0%       0.90 \u00b1  2%  fork.fork_ms\n"),
		  std::string::npos)
		<< out;
}

TEST(MmtestsLayout, TheChangeIsAGainPositiveWhenATimeFalls)
{
	std::vector<ResultsFile> files;
	files.push_back(file("base", {forkEntry(kGiB, 9, "pte", {1.0, 1.01, 0.99, 1.0, 1.02, 0.98})}, "a.json"));
	files.push_back(file("patched", {forkEntry(kGiB, 9, "pte", {0.9, 0.91, 0.89, 0.9, 0.92, 0.88})}, "b.json"));
	std::string out = formatComparison(buildComparison(std::move(files), {}), "mmtests");
	EXPECT_NE(out.find("Amean     fork_ms  1.00 (   0.00%)  0.90 *  10.00%*\n"), std::string::npos)
		<< out;
}
