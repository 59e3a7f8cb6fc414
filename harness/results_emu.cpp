// SPDX-License-Identifier: GPL-2.0
/*
 * The emulator's counts into a results file: qemu-plugin/count.c writes one line per
 * counting window on the host while the guest runs; the guest's results file names,
 * per repetition, the window of each timed bracket (entries[].emu_windows) and the
 * session they belong to (pgtbench.emu_session). `pgtbench merge-emu` joins the two,
 * adding counters of kind "emulator" (emu.tlbi.vale1is, emu.insn_el1, ...) through the
 * writer's own counter format, or refuses in one line and writes nothing.
 */
#include "results.h"

#include <fstream>
#include <set>

#include <fmt/format.h>

#include "errors.h"
#include "pgtbench_marker.h"

namespace pgt {

namespace {

[[noreturn]] void fail(const std::string &path, const std::string &what)
{
	throw UsageError(fmt::format("{}: {}", path, what));
}

uint64_t countField(const nlohmann::json &v, const std::string &where, const std::string &path)
{
	if (!v.is_number_unsigned())
		fail(path, fmt::format("{}: not a count", where));
	return v.get<uint64_t>();
}

/* A window line's counts, flattened to the counter names they become (without "emu."). */
std::vector<std::pair<std::string, uint64_t>> windowCounts(const nlohmann::json &w,
							   const std::string &where,
							   const std::string &path, bool module_part = false)
{
	std::vector<std::pair<std::string, uint64_t>> out;
	std::vector<std::string> keys = {"insn_el0", "insn_el1", "tlbi_broadcast", "tlbi_local", "isb"};
	if (!module_part)
		keys.insert(keys.end(), {"irq_entries", "irq_insn_el1", "context_switches"});
	else
		for (const char *k : {"context_switches", "irq_entries"})
			if (w.contains(k))
				keys.push_back(k);
	for (const auto &k : keys) {
		if (!w.contains(k))
			fail(path, fmt::format("{}: no {}", where, k));
		out.emplace_back(k, countField(w[k], fmt::format("{}: {}", where, k), path));
	}
	uint64_t tlbi_total = 0;
	for (const char *group : {"tlbi", "dsb"}) {
		if (!w.contains(group) || !w[group].is_object())
			fail(path, fmt::format("{}: no {} object", where, group));
		for (const auto &[name, v] : w[group].items()) {
			uint64_t n = countField(v, fmt::format("{}: {}.{}", where, group, name), path);
			out.emplace_back(fmt::format("{}.{}", group, name), n);
			if (std::string(group) == "tlbi")
				tlbi_total += n;
		}
	}
	/* Every TLBI, broadcast or local: the figure the mm threads quote first. */
	out.emplace_back("tlbi", tlbi_total);
	/*
	 * The parts: what pgtbench.ko times itself (its total_ns), as the module marked it,
	 * and what kernel threads ran meanwhile, left out of the window's own counts.
	 */
	for (const char *part : {"module", "kthread"}) {
		if (module_part || !w.contains(part))
			continue;
		if (!w[part].is_object())
			fail(path, fmt::format("{}: {}: not an object", where, part));
		for (auto &[k, n] : windowCounts(w[part], fmt::format("{}: {}", where, part), path, true))
			out.emplace_back(fmt::format("{}.{}", part, k), n);
	}
	return out;
}

} /* namespace */

EmuWindowLog readEmuWindowLog(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		fail(path, "cannot read the window log");
	EmuWindowLog log;
	log.path = path;
	std::string line;
	size_t lineno = 0;
	bool exited = false;
	while (std::getline(in, line)) {
		std::string where = fmt::format("line {}", ++lineno);
		nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
		if (j.is_discarded() || !j.is_object())
			fail(path, fmt::format("{}: not a JSON object", where));
		std::string event = j.value("event", "");
		if (lineno == 1) {
			if (event != "start" || !j.contains("pgtbench_count"))
				fail(path, "not a window log of qemu-plugin/count.c (no start line)");
			if (j["pgtbench_count"] != PGTBENCH_COUNT_LOG_VERSION)
				fail(path, fmt::format("window log version {}, this pgtbench reads {}",
						       j["pgtbench_count"].dump(), PGTBENCH_COUNT_LOG_VERSION));
			log.start = j;
			continue;
		}
		std::string session = j.value("session", "");
		if (event == "session") {
			log.sessions.insert(session);
		} else if (event == "window") {
			if (!j.contains("window") || !j["window"].is_number_unsigned())
				fail(path, fmt::format("{}: window without its ordinal", where));
			auto key = std::make_pair(session, j["window"].get<uint64_t>());
			if (log.windows.count(key))
				fail(path, fmt::format("{}: window {} of session {} appears twice", where,
						       key.second, session));
			log.windows[key] = windowCounts(j, where, path);
		} else if (event == "error") {
			log.errors[session].push_back(j.value("what", "unknown"));
		} else if (event == "exit") {
			exited = true;
		} else {
			fail(path, fmt::format("{}: unknown event '{}'", where, event));
		}
	}
	if (lineno == 0)
		fail(path, "empty window log (qemu did not load the plugin?)");
	log.complete = exited;
	return log;
}

nlohmann::json mergeEmuCounts(nlohmann::json doc, const EmuWindowLog &log, const std::string &path)
{
	std::string session = doc["pgtbench"].value("emu_session", "");
	if (session.empty())
		fail(path, "no pgtbench.emu_session: its harness emitted no counting windows (not an "
			   "arm64 build?)");
	if (!log.sessions.count(session))
		fail(path, fmt::format("{}: no session {}: the guest's pgtbench ran without the plugin, "
				       "or this is another run's log",
				       log.path, session));
	if (auto it = log.errors.find(session); it != log.errors.end())
		fail(path, fmt::format("{}: session {}: {}", log.path, session, it->second.front()));
	std::string plugin = fmt::format("qemu TCG plugin libpgtbench-count, plugin API {}",
					 log.start["qemu_plugin_api"].value("cur", 0));
	for (auto &e : doc["entries"]) {
		if (!e.contains("emu_windows"))
			continue;
		std::string name = e.value("name", "?");
		const auto &reps = e["emu_windows"];
		std::string primary = e.value("primary_metric", "");
		size_t n_samples = e["metrics"].contains(primary) ? e["metrics"][primary]["samples"].size() : 0;
		if (reps.size() != n_samples)
			fail(path, fmt::format("{}: {} repetitions with windows but {} samples of {}", name,
					       reps.size(), n_samples, primary));
		/* The counters of each bracket prefix, in the order the windows list them. */
		std::vector<std::pair<std::string, CounterRecord>> added;
		auto counter = [&](const std::string &n) -> CounterRecord & {
			for (auto &[k, c] : added)
				if (k == n)
					return c;
			added.emplace_back(n, CounterRecord{});
			return added.back().second;
		};
		for (size_t rep = 0; rep < reps.size(); rep++) {
			for (const auto &[prefix, k] : reps[rep].items()) {
				auto w = log.windows.find({session, k.get<uint64_t>()});
				if (w == log.windows.end())
					fail(path, fmt::format("{}: repetition {}: window {} of session {} is not in "
							       "{} (the guest stopped early?)",
							       name, rep, k.get<uint64_t>(), session, log.path));
				for (const auto &[key, n] : w->second) {
					std::string cname = prefix + "emu." + key;
					if (e["counters"].contains(cname))
						fail(path, fmt::format("{}: already has {}: merged before", name, cname));
					CounterRecord &c = counter(cname);
					c.event = fmt::format("{}: {}", plugin, key);
					c.kind = "emulator";
					c.samples.resize(rep, std::nullopt);
					c.samples.push_back(n);
				}
			}
		}
		for (auto &[n, c] : added) {
			/* A counter a later window lacks (a TLBI form first seen there) is n/a, not 0. */
			c.samples.resize(reps.size(), std::nullopt);
			if (!c.available())
				c.reason = "not in every window of the log";
			e["counters"][n] = counterJson(c);
		}
	}
	doc["pgtbench"]["emu_counts"] = {{"source", plugin},
					 {"log", log.path},
					 {"log_complete", log.complete},
					 {"vcpus", log.start.value("vcpus", 0)}};
	/* What compare could not read is no results file: refuse it before it is written. */
	parseResultsFile(doc, path);
	return doc;
}

} /* namespace pgt */
