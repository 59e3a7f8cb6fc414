// SPDX-License-Identifier: GPL-2.0
#include "vmalloc_cases.h"

#include <bit>
#include <charconv>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <unistd.h>

#include <fmt/format.h>

#include "errors.h"
#include "stats.h"
#include "thread_cpus.h"
#include "util.h"

namespace pgt {

const std::vector<VmallocCase> &vmallocCases()
{
	/*
	 * The sizes are test_vmalloc's own; kmod/vmalloc_storm.c has the same table. As in
	 * test_vmalloc, p (nr_pages) sizes only fix_size_alloc and vm_map_ram (and vmap, which
	 * test_vmalloc lacks) and h (use_huge) only fix_size_alloc: the other cases run at
	 * their fixed sizes, so a config reads like a test_vmalloc command line. pcpu_alloc
	 * ignores test_loop_count in test_vmalloc (one pass of 35000 objects, in 6.12), and so
	 * it takes no loops here: its storm is that one pass.
	 */
	static const std::vector<VmallocCase> cases = {
		{"fix_size_alloc", PGTBENCH_VMALLOC_FIX_SIZE_ALLOC, 1, true, true, false, false,
		 "vmalloc(p pages) or vmalloc_huge() with h:1, touch, vfree", 0, 1u << 0},
		{"full_fit_alloc", PGTBENCH_VMALLOC_FULL_FIT_ALLOC, 1, false, false, false, false,
		 "one-page allocations that exactly fit holes between busy areas", 0, 1u << 1},
		{"long_busy_list_alloc", PGTBENCH_VMALLOC_LONG_BUSY_LIST_ALLOC, 100, false, false, false,
		 false, "100 pages and one page per loop while 15000 areas stay busy", 0, 1u << 2},
		{"random_size_alloc", PGTBENCH_VMALLOC_RANDOM_SIZE_ALLOC, 100, false, false, true, false,
		 "vmalloc of 1..100 pages", 0, 1u << 3},
		{"fix_align_alloc", PGTBENCH_VMALLOC_FIX_ALIGN_ALLOC, 5, false, false, false, true,
		 "__vmalloc_node(5 pages, THREAD_ALIGN << 1)", 0, 1u << 4},
		{"random_size_align_alloc", PGTBENCH_VMALLOC_RANDOM_SIZE_ALIGN_ALLOC, 10, false, false,
		 true, true, "__vmalloc_node() of 1..10 pages, alignment up to 4 MiB", 0, 1u << 5},
		{"pcpu_alloc", PGTBENCH_VMALLOC_PCPU_ALLOC, 0, false, false, true, false,
		 "__alloc_percpu() of 35000 objects of up to PAGE_SIZE/4, then all freed: one pass "
		 "whatever loops says, as in test_vmalloc",
		 kTestVmallocPcpuObjects, 1u << 7},
		{"vm_map_ram", PGTBENCH_VMALLOC_VM_MAP_RAM, 1, true, false, false, false,
		 "vm_map_ram()/vm_unmap_ram() of p pages", 0, 1u << 10},
		{"vmap", PGTBENCH_VMALLOC_VMAP, 1 << 8, true, false, false, false,
		 "vmap()/vunmap() of p pages (not a test_vmalloc case)", 0, 0},
	};
	return cases;
}

const VmallocCase *findVmallocCase(std::string_view name)
{
	if (name.ends_with("_test"))
		name.remove_suffix(5);
	for (const auto &c : vmallocCases())
		if (c.name == name)
			return &c;
	return nullptr;
}

std::vector<ParamSpec> vmallocCaseParams(bool test_vmalloc_only, const std::string &threads_help,
					 std::vector<ParamSpec> more)
{
	std::vector<std::string> names;
	std::string help = "test_vmalloc's case, without \"_test\":";
	for (const auto &c : vmallocCases()) {
		if (test_vmalloc_only && !c.test_vmalloc_mask)
			continue;
		names.push_back(c.name);
		help += fmt::format(" {} ({});", c.name, c.help);
	}
	help.pop_back();
	std::vector<ParamSpec> params = {
		{.name = "case",
		 .kind = ParamKind::Choice,
		 .help = help,
		 .choices = names,
		 /* test_vmalloc's default run_test_mask (7) since mid 2025. */
		 .defaults = {"fix_size_alloc", "full_fit_alloc", "long_busy_list_alloc"},
		 .list = true},
		{.name = "p",
		 .kind = ParamKind::Int,
		 .help = "nr_pages: pages per allocation of fix_size_alloc, vm_map_ram and vmap "
			 "(the other cases have fixed sizes, as in test_vmalloc); 0 = test_vmalloc's "
			 "own (1 page; vmap 256)",
		 .min = 0,
		 .max = static_cast<int64_t>(PGTBENCH_VMALLOC_MAX_PAGES),
		 .defaults = {"0"},
		 .list = true},
		{.name = "h",
		 .kind = ParamKind::Int,
		 .help = "use_huge: 1 allocates fix_size_alloc's areas with vmalloc_huge() (PMD "
			 "mappings from p:512 on with 4K pages)",
		 .min = 0,
		 .max = 1,
		 .defaults = {"0"},
		 .list = true},
		{.name = "loops",
		 .kind = ParamKind::Int,
		 .help = "test_loop_count: loops of the case per thread and repetition (pcpu_alloc "
			 "takes none: one pass of 35000 objects, as test_vmalloc ignores it there)",
		 .min = 1,
		 .max = static_cast<int64_t>(PGTBENCH_VMALLOC_MAX_LOOPS),
		 .defaults = {"10000"},
		 .list = true},
		{.name = "threads",
		 .kind = ParamKind::Int,
		 .help = threads_help,
		 .min = 1,
		 .max = 4096,
		 .defaults = {"1"},
		 .list = true},
	};
	for (auto &m : more)
		params.push_back(std::move(m));
	return params;
}

std::vector<Params> expandVmallocPoints(const ScenarioSpec &spec, const ParamLists &lists)
{
	std::vector<Params> out;
	std::set<std::string> seen;
	for (const Params &p : cartesian(spec, lists)) {
		const VmallocCase *c = findVmallocCase(p.choice("case"));
		if (!c)
			continue;
		Params q;
		for (const auto &[name, value] : p.values) {
			if ((name == "p" && !c->takes_pages) || (name == "h" && !c->takes_huge) ||
			    (name == "seed" && !c->random) || (name == "loops" && c->fixed_loops))
				continue;
			if (name == "context" && std::get<std::string>(value) == kContextThread)
				continue;
			if (name == "p" && std::get<int64_t>(value) == 0)
				q.values.emplace_back(name, static_cast<int64_t>(c->default_pages));
			else
				q.values.emplace_back(name, value);
		}
		if (seen.insert(variantName(spec, q)).second)
			out.push_back(std::move(q));
	}
	return out;
}

uint64_t vmallocStormBytes(const VmallocCase &c, uint64_t nr_pages, bool huge, uint64_t page_size,
			   unsigned online_cpus)
{
	/* A page table maps page_size / 8 entries: 2 MiB PMDs with 4K pages. */
	const uint64_t pmd_size = page_size * (page_size / 8);
	uint64_t size = nr_pages * page_size;
	if (huge)
		size = (size + pmd_size - 1) / pmd_size * pmd_size;
	uint64_t cpus = online_cpus ? online_cpus : 1;
	uint64_t bytes = size;
	switch (c.id) {
	case PGTBENCH_VMALLOC_FULL_FIT_ALLOC: {
		/* As the module: pairs of areas filling fls(CPUs) * 32 MiB of pages. */
		uint64_t junk = static_cast<uint64_t>(std::bit_width(cpus)) * ((32ull << 20) / page_size);
		bytes += 2 * junk * nr_pages * page_size;
		break;
	}
	case PGTBENCH_VMALLOC_LONG_BUSY_LIST_ALLOC:
		bytes += (15000 + 1) * page_size;
		break;
	case PGTBENCH_VMALLOC_PCPU_ALLOC:
		bytes = kTestVmallocPcpuObjects * (page_size / 4) * cpus;
		break;
	default:
		break;
	}
	return bytes + bytes / 256;
}

uint64_t stormLoops(const VmallocCase &c, const Params &p)
{
	return c.fixed_loops ? c.fixed_loops : static_cast<uint64_t>(p.integer("loops"));
}

unsigned vmallocOnlineCpus(const Env &env)
{
	auto list = parseCpuList(readLine(rooted(env.root, "/sys/devices/system/cpu/online")).value_or(""));
	return list.empty() ? env.pus : static_cast<unsigned>(list.size());
}

uint64_t vmallocVariantBytes(const Params &p, const Env &env)
{
	const VmallocCase *c = findVmallocCase(p.choice("case"));
	if (!c)
		return 0;
	uint64_t pages = p.has("p") ? static_cast<uint64_t>(p.integer("p")) : 0;
	bool huge = p.has("h") && p.integer("h");
	uint64_t page = env.page_size_bytes ? env.page_size_bytes : 4096;
	return static_cast<uint64_t>(p.integer("threads")) *
	       vmallocStormBytes(*c, pages ? pages : c->default_pages, huge, page, vmallocOnlineCpus(env));
}

StormTotals sumStorms(const std::vector<pgtbench_vmalloc_storm> &storms)
{
	StormTotals t;
	for (const auto &s : storms) {
		t.threads++;
		t.loops += s.loops;
		t.loops_done += s.loops_done;
		t.alloc_calls += s.alloc_calls;
		t.free_calls += s.free_calls;
		t.alloc_ns += s.alloc_ns;
		t.free_ns += s.free_ns;
		t.loop_ns += s.loop_ns;
		t.case_ns += static_cast<double>(s.case_ns);
		t.clock_ns += static_cast<double>(s.clock_ns);
		t.failures += s.failures;
		t.bytes_allocated += s.bytes_allocated;
		t.pmd_chunks += s.pmd_chunks;
		t.pmd_chunks_contig += s.pmd_chunks_contig;
	}
	if (t.threads) {
		t.case_ns /= t.threads;
		t.clock_ns /= t.threads;
	}
	return t;
}

std::optional<double> perOp(uint64_t total, uint64_t ops)
{
	if (!ops)
		return std::nullopt;
	return static_cast<double>(total) / static_cast<double>(ops);
}

/* --- test_vmalloc.ko ------------------------------------------------------------- */

namespace {

bool toInt(const std::string &s, int64_t &out)
{
	auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
	return ec == std::errc() && ptr == s.data() + s.size();
}

} /* namespace */

std::optional<TestVmallocSummary> parseTestVmallocSummary(std::string_view line)
{
	/* The format of its pr_info(), and nothing looser: another module's line is not one. */
	static const std::regex re(R"(Summary: ([a-z0-9_]+_test) passed: (-?\d+) failed: (-?\d+) )"
				   R"(repeat: (-?\d+) loops: (-?\d+) avg: (\d+) usec)");
	std::match_results<std::string_view::const_iterator> m;
	if (!std::regex_match(line.begin(), line.end(), m, re))
		return std::nullopt;
	TestVmallocSummary s;
	int64_t avg = 0;
	s.test = m[1].str();
	if (!toInt(m[2].str(), s.passed) || !toInt(m[3].str(), s.failed) || !toInt(m[4].str(), s.repeat) ||
	    !toInt(m[5].str(), s.loops) || !toInt(m[6].str(), avg))
		return std::nullopt;
	s.avg_us = static_cast<uint64_t>(avg);
	return s;
}

std::string testVmallocParams(const TestVmallocRun &r)
{
	/*
	 * sequential_test_order=1: only one case is asked, but a shuffle would still draw
	 * random numbers first. nr_pages and use_huge only where the case reads them, so a
	 * test_vmalloc without use_huge is not handed a parameter it would ignore.
	 */
	std::string params = fmt::format("run_test_mask={} test_loop_count={} test_repeat_count={} nr_threads={} "
					 "sequential_test_order=1",
					 r.c->test_vmalloc_mask, r.loops, r.repeat, r.threads);
	if (r.c->takes_pages && r.nr_pages)
		params += fmt::format(" nr_pages={}", r.nr_pages);
	if (r.c->takes_huge && r.use_huge)
		params += " use_huge=1";
	return params;
}

TestVmallocRun testVmallocRun(const Params &p)
{
	TestVmallocRun r;
	r.c = findVmallocCase(p.choice("case"));
	if (!r.c)
		throw UsageError(fmt::format("test_vmalloc: no case {}", p.choice("case")));
	r.loops = static_cast<int64_t>(stormLoops(*r.c, p));
	r.threads = p.integer("threads");
	r.nr_pages = p.has("p") ? p.integer("p") : 0;
	r.use_huge = p.has("h") && p.integer("h");
	return r;
}

namespace {

constexpr std::string_view kTestVmallocFile = "test_vmalloc.ko";
constexpr std::string_view kCompressedSuffixes[] = {".xz", ".zst", ".gz"};

/* "kernel/lib/test_vmalloc.ko.xz: ..." -> its path, when the line is test_vmalloc's. */
std::optional<std::string> depPath(std::string_view line)
{
	std::string_view path = line.substr(0, line.find(':'));
	std::string_view name = path.substr(path.rfind('/') + 1);
	if (name == kTestVmallocFile)
		return std::string(path);
	for (auto suffix : kCompressedSuffixes)
		if (name.size() == kTestVmallocFile.size() + suffix.size() && name.starts_with(kTestVmallocFile) &&
		    name.ends_with(suffix))
			return std::string(path);
	return std::nullopt;
}

} /* namespace */

bool compressedModule(std::string_view path)
{
	for (auto suffix : kCompressedSuffixes)
		if (path.ends_with(std::string(".ko") + std::string(suffix)))
			return true;
	return false;
}

std::string findTestVmalloc(const std::string &root, const std::string &release, std::string *why)
{
	const std::string dir = "/lib/modules/" + release;
	std::vector<std::string> candidates;
	/* modules.dep names where this kernel's modules really are (modprobe reads it too). */
	if (std::ifstream dep(rooted(root, dir + "/modules.dep")); dep) {
		for (std::string line; std::getline(dep, line);)
			if (auto path = depPath(line))
				candidates.push_back(path->starts_with('/') ? *path : dir + "/" + *path);
	}
	candidates.push_back(dir + "/kernel/lib/" + std::string(kTestVmallocFile));
	for (auto suffix : kCompressedSuffixes)
		candidates.push_back(dir + "/kernel/lib/" + std::string(kTestVmallocFile) + std::string(suffix));
	for (const auto &c : candidates)
		if (access(rooted(root, c).c_str(), R_OK) == 0)
			return rooted(root, c);
	*why = fmt::format("no test_vmalloc.ko under {} (a kernel built with CONFIG_TEST_VMALLOC=m has it; "
			   "or module = PATH)",
			   dir);
	return {};
}

std::string checkTestVmallocSummaries(const TestVmallocRun &r, const std::vector<TestVmallocSummary> &lines)
{
	const std::string want = r.c->name + "_test";
	int64_t workers = 0;
	for (const auto &l : lines) {
		if (l.test != want)
			return fmt::format("test_vmalloc.ko ran {} for run_test_mask={} (asked {}): its cases are "
					   "numbered otherwise than 6.12's",
					   l.test, r.c->test_vmalloc_mask, want);
		workers++;
		if (l.repeat != r.repeat || l.loops != r.loops)
			return fmt::format("test_vmalloc.ko ran {} with repeat {} loops {}, asked {} and {}", want,
					   l.repeat, l.loops, r.repeat, r.loops);
		if (l.failed || l.passed != r.repeat)
			return fmt::format("test_vmalloc.ko: {} failed {} of {} repeats (passed {})", want, l.failed,
					   r.repeat, l.passed);
	}
	if (!workers)
		return fmt::format("no \"Summary: {} ...\" line from test_vmalloc.ko in the kernel log", want);
	if (workers != r.threads)
		return fmt::format("{} \"Summary: {}\" lines in the kernel log, one per worker expected ({})", workers,
				   want, r.threads);
	return {};
}

namespace {

/* The parameters that make a vmalloc and a test_vmalloc variant the same case. */
constexpr const char *kSharedParams[] = {"case", "p", "h", "loops", "threads"};

std::string sharedKey(const RecordedVariant &e)
{
	std::string key;
	for (const char *k : kSharedParams)
		if (const nlohmann::json *v = e.param(k))
			key += fmt::format("{}{}:{}", key.empty() ? "" : "/", k, paramDisplayValue(k, *v));
	return key;
}

/* "812.3 (n=10)", or why there is no number. */
std::string caseUsCell(const RecordedVariant *e, std::optional<double> &median)
{
	median.reset();
	if (!e)
		return "n/a: not in this run";
	if (!e->ok())
		return fmt::format("n/a: {}", statusName(e->status));
	auto it = e->metrics.find("case_us");
	if (it == e->metrics.end() || it->second.samples.empty())
		return "n/a: no case_us";
	Summary s = summarize(it->second.samples);
	median = s.median;
	return fmt::format("{:.1f} (n={})", s.median, s.n);
}

} /* namespace */

std::string formatVsTestVmalloc(const ResultsFile &run)
{
	/* In the order the vmalloc entries ran; a test_vmalloc entry pairs with one of them. */
	std::map<std::string, const RecordedVariant *> theirs;
	for (const auto &e : run.entries)
		if (e.scenario == "test_vmalloc")
			theirs.emplace(sharedKey(e), &e);
	struct Row {
		std::string variant, ours, them, ratio;
	};
	std::vector<Row> rows;
	bool pcpu = false;
	for (const auto &e : run.entries) {
		if (e.scenario != "vmalloc")
			continue;
		auto it = theirs.find(sharedKey(e));
		if (it == theirs.end())
			continue;
		std::optional<double> a, b;
		std::string variant = sharedKey(e);
		/* A run of both contexts has a row each against the one test_vmalloc entry. */
		if (const nlohmann::json *c = e.param("context"))
			variant += "/context:" + paramDisplayValue("context", *c);
		Row r{variant, caseUsCell(&e, a), caseUsCell(it->second, b), "n/a"};
		if (a && b && *b > 0)
			r.ratio = fmt::format("{:.3f}", *a / *b);
		pcpu |= r.variant.starts_with("case:pcpu_alloc");
		rows.push_back(std::move(r));
	}
	if (rows.empty())
		return {};
	size_t wv = 7, wo = 8, wt = 12;
	for (const auto &r : rows) {
		wv = std::max(wv, r.variant.size());
		wo = std::max(wo, r.ours.size());
		wt = std::max(wt, r.them.size());
	}
	std::string out = "# pgtbench vs test_vmalloc: case_us (median of the repetitions, us) of vmalloc "
			  "(pgtbench.ko) and test_vmalloc (test_vmalloc.ko's \"avg: N usec\"); ratio = "
			  "pgtbench / test_vmalloc\n";
	out += fmt::format("# {:<{}} {:>{}} {:>{}} {:>7}\n", "variant", wv - 2, "pgtbench", wo, "test_vmalloc",
			   wt, "ratio");
	for (const auto &r : rows)
		out += fmt::format("{:<{}} {:>{}} {:>{}} {:>7}\n", r.variant, wv, r.ours, wo, r.them, wt, r.ratio);
	if (pcpu)
		out += fmt::format("# pcpu_alloc: one pass of {} objects in both (test_vmalloc ignores "
				   "test_loop_count for it)\n",
				   kTestVmallocPcpuObjects);
	return out;
}

} /* namespace pgt */
