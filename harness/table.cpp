// SPDX-License-Identifier: GPL-2.0
#include "table.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/ranges.h>

#include <fmt/format.h>

#include "stats.h"

namespace pgt {

namespace {

/* The worst folio check of an entry's repetitions, as "9:100%" ("" when none). */
std::string folioColumn(const Variant &e)
{
	const nlohmann::json *worst = nullptr;
	for (const auto &c : e.checks) {
		if (!c.contains("folio"))
			continue;
		const auto &f = c["folio"];
		if (!worst)
			worst = &f;
		double a = f["achieved_fraction"].is_number() ? f["achieved_fraction"].get<double>() : -1;
		double w = (*worst)["achieved_fraction"].is_number()
				   ? (*worst)["achieved_fraction"].get<double>()
				   : -1;
		if (a < w || (!f["ok"].get<bool>() && (*worst)["ok"].get<bool>()))
			worst = &f;
	}
	if (!worst)
		return "";
	const auto &f = *worst;
	unsigned order = f["target_order"].get<unsigned>();
	if (!f["achieved_fraction"].is_number())
		return fmt::format("{}:?", order);
	return fmt::format("{}:{:.0f}%{}", order, f["achieved_fraction"].get<double>() * 100.0,
			   f["ok"].get<bool>() ? "" : "!");
}

/*
 * The mapping check (benches/lib/mapping.h) in short: "pmd", "cont", "pte" when one
 * kind maps every page, else each kind's share ("cont 50% pte 50%"); "" for none or n/a.
 */
std::string mappingText(const nlohmann::json &check)
{
	if (!check.is_object() || !check.value("available", false))
		return "";
	const std::pair<const char *, const char *> kinds[] = {{"pud", "pud_pages"},
							       {"pmd", "pmd_pages"},
							       {"cont", "cont_pages"},
							       {"pte", "pte_pages"},
							       {"absent", "absent_pages"}};
	uint64_t total = 0;
	for (const auto &[name, key] : kinds)
		total += check.value(key, uint64_t{0});
	if (!total)
		return "";
	std::vector<std::string> parts;
	for (const auto &[name, key] : kinds) {
		uint64_t n = check.value(key, uint64_t{0});
		if (n == total)
			return name;
		if (n)
			parts.push_back(fmt::format("{} {:.0f}%", name,
						    100.0 * static_cast<double>(n) / static_cast<double>(total)));
	}
	return fmt::format("{}", fmt::join(parts, " "));
}

/*
 * The mappings an entry's repetitions got, each once, in the order first seen; where
 * the operation changed it, the mapping it left after an arrow ("pmd->pte").
 */
std::string mappingColumn(const Variant &e)
{
	std::vector<std::string> seen;
	for (const auto &c : e.checks) {
		std::string t = c.contains("mapping") ? mappingText(c["mapping"]) : "";
		std::string after = c.contains("mapping_after") ? mappingText(c["mapping_after"]) : "";
		if (!t.empty() && !after.empty() && after != t)
			t += "->" + after;
		if (!t.empty() && std::find(seen.begin(), seen.end(), t) == seen.end())
			seen.push_back(t);
	}
	return fmt::format("{}", fmt::join(seen, " / "));
}

/* "9:100% pmd": the folios the repetitions got, then how they were mapped, where known. */
std::string folioCell(const Variant &e)
{
	std::string folio = folioColumn(e), mapping = mappingColumn(e);
	return folio.empty() || mapping.empty() ? folio + mapping : folio + " " + mapping;
}

} /* namespace */

std::string formatValue(double v)
{
	double a = std::fabs(v);
	if (a >= 1000)
		return fmt::format("{:.0f}", v);
	if (a >= 100)
		return fmt::format("{:.1f}", v);
	if (a >= 10)
		return fmt::format("{:.2f}", v);
	if (a >= 1)
		return fmt::format("{:.3f}", v);
	return fmt::format("{:.4f}", v);
}

std::vector<Caution> driftCautions(const std::vector<Variant> &variants)
{
	std::vector<Caution> out;
	for (const auto &v : variants) {
		if (!v.runnable())
			continue;
		const std::string &primary = v.spec->metrics.front().name;
		auto it = v.samples.find(primary);
		if (it == v.samples.end())
			continue;
		auto t = mannKendall(it->second);
		if (t && t->p < kDriftAlpha)
			out.push_back({Severity::Warning,
				       fmt::format("{}: {} drifts over its repetitions (Kendall tau {:+.2f}, p {:.2g}): "
						   "the machine changed under it (run --order interleave spreads it "
						   "over every variant)",
						   v.name, primary, t->tau, t->p),
				       "drift"});
	}
	return out;
}

std::string formatRunTable(const std::vector<Variant> &variants, const Env &env, const std::string &label, int cpu,
			   const std::vector<Caution> &cautions)
{
	size_t wname = 7, wmetric = 6;
	for (const auto &e : variants) {
		wname = std::max(wname, e.name.size());
		for (const auto &m : e.spec->metrics)
			wmetric = std::max(wmetric, m.name.size());
		for (const auto &[name, c] : e.counters)
			if (c.available())
				wmetric = std::max(wmetric, name.size());
	}
	std::string out;
	out += fmt::format("# pgtbench  label={}  machine {}  {} {}  kernel {}  cpu {}\n", label, env.platform.name,
			   env.arch, env.cpu.model, env.kernel_release, cpu);
	out += fmt::format("# {:<{}} {:<{}} {:>5} {:>10} {:>10} {:>7} {:>10} {:>10}  {}\n", "variant",
			   wname - 2, "metric", wmetric, "n", "median", "mean", "cv", "min", "max", "folio");
	bool notes = false;
	for (const auto &e : variants) {
		if (!e.runnable()) {
			out += fmt::format("{:<{}} {}: {}\n", e.name, wname, statusName(e.status), e.reason);
			notes = true;
			continue;
		}
		bool first = true;
		for (const auto &m : e.spec->metrics) {
			auto it = e.samples.find(m.name);
			if (it == e.samples.end())
				continue;
			Summary s = summarize(it->second);
			out += fmt::format("{:<{}} {:<{}} {:>5} {:>10} {:>10} {:>6.1f}% {:>10} {:>10}  {}\n",
					   first ? e.name : "", wname, m.name, wmetric, s.n,
					   formatValue(s.median), formatValue(s.mean), s.cv * 100.0,
					   formatValue(s.min), formatValue(s.max), first ? folioCell(e) : "");
			first = false;
		}
		for (const auto &[name, c] : e.counters) {
			/* All-zero counters (most flush sites, most of the time) stay in the JSON only. */
			if (!c.available() || std::all_of(c.samples.begin(), c.samples.end(),
							  [](const auto &x) { return *x == 0; }))
				continue;
			std::vector<double> v;
			for (const auto &x : c.samples)
				v.push_back(static_cast<double>(*x));
			Summary s = summarize(v);
			out += fmt::format("{:<{}} {:<{}} {:>5} {:>10} {:>10} {:>6.1f}% {:>10} {:>10}\n", "", wname,
					   name, wmetric, s.n, formatValue(s.median), formatValue(s.mean),
					   s.cv * 100.0, formatValue(s.min), formatValue(s.max));
		}
	}
	/* Unavailable counters, once per reason: "n/a" is an answer, not an omission. */
	std::map<std::string, std::set<std::string>> unavailable;
	for (const auto &e : variants)
		for (const auto &[name, c] : e.counters)
			if (!c.available())
				unavailable[c.reason].insert(name);
	for (const auto &[reason, names] : unavailable) {
		/* Flush sites come in families: "tlb_flush_calls.* (7 sites)" reads better. */
		std::map<std::string, int> families;
		std::vector<std::string> shown;
		for (const auto &n : names) {
			size_t at = n.find("tlb_flush_calls.");
			if (at == std::string::npos)
				shown.push_back(n);
			else
				families[n.substr(0, at) + "tlb_flush_calls.*"]++;
		}
		for (const auto &[family, count] : families)
			shown.push_back(fmt::format("{} ({} sites)", family, count));
		out += fmt::format("# n/a: {}: {}\n", fmt::join(shown, ", "), reason);
	}
	if (notes)
		out += "# skipped/error rows carry their reason; `pgtbench list` shows all variants\n";
	for (const auto &c : cautions)
		out += fmt::format("# {}: {}\n", severityName(c.severity), c.text);
	return out;
}

} /* namespace pgt */
