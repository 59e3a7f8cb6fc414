// SPDX-License-Identifier: GPL-2.0
/*
 * The one reader of results files: every command that reads them (compare, plot, the
 * cover tables of run) sees a file through parseResultsFile(), which names the place
 * of anything missing or mistyped. Files written by every earlier pgtbench of the same
 * schema_version still read: what came later (counters) is optional.
 */
#include "results.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "errors.h"
#include "util.h"

namespace pgt {

const nlohmann::json *RecordedVariant::param(const std::string &key) const
{
	for (const auto &[k, v] : params)
		if (k == key)
			return &v;
	return nullptr;
}

/* --- reading results files ------------------------------------------------------ */

namespace {

/* Walks a results document, naming the place of anything missing or mistyped. */
class Reader
{
public:
	explicit Reader(const std::string &path) : path_(path) {}

	[[noreturn]] void fail(const std::string &where, const std::string &what) const
	{
		throw UsageError(fmt::format("{}: {}: {}", path_, where, what));
	}
	const nlohmann::json &member(const nlohmann::json &obj, const std::string &where,
				     const std::string &key) const
	{
		if (!obj.is_object() || !obj.contains(key))
			fail(where, fmt::format("missing \"{}\"", key));
		return obj[key];
	}
	std::string string(const nlohmann::json &obj, const std::string &where, const std::string &key) const
	{
		const auto &v = member(obj, where, key);
		if (!v.is_string())
			fail(where + "." + key, "expected a string");
		return v.get<std::string>();
	}
	const nlohmann::json &object(const nlohmann::json &obj, const std::string &where,
				     const std::string &key) const
	{
		const auto &v = member(obj, where, key);
		if (!v.is_object())
			fail(where + "." + key, "expected an object");
		return v;
	}

private:
	std::string path_;
};

/* "fork/size:1G/order:9/map:pte" -> {"size", "order", "map"}: the declaration order. */
std::vector<std::string> nameOrder(const std::string &name)
{
	std::vector<std::string> out;
	auto parts = split(name, '/');
	for (size_t i = 1; i < parts.size(); i++) {
		auto colon = parts[i].find(':');
		if (colon != std::string::npos)
			out.push_back(parts[i].substr(0, colon));
	}
	return out;
}

/* run_order, sample_runs: came later than samples, checked when present. */
std::vector<int> repetitionIndices(const Reader &r, const nlohmann::json &e, const std::string &where,
				   const char *key)
{
	std::vector<int> out;
	if (!e.contains(key))
		return out;
	const auto &v = e[key];
	auto index = [](const nlohmann::json &k) { return k.is_number_integer() && k.get<int64_t>() >= 0; };
	if (!v.is_array() || !std::all_of(v.begin(), v.end(), index))
		r.fail(fmt::format("{}.{}", where, key), "expected an array of indices");
	for (const auto &k : v)
		out.push_back(k.get<int>());
	return out;
}

RecordedVariant parseEntry(const Reader &r, const nlohmann::json &e, const std::string &where)
{
	RecordedVariant out;
	out.name = r.string(e, where, "name");
	out.scenario = r.string(e, where, "scenario");
	std::string status = r.string(e, where, "status");
	auto parsed = parseStatus(status);
	if (!parsed)
		r.fail(where + ".status", fmt::format("\"{}\" is not ok, skipped or error", status));
	out.status = *parsed;
	out.reason = r.string(e, where, "reason");
	out.primary_metric = r.string(e, where, "primary_metric");

	const auto &params = r.object(e, where, "params");
	std::vector<std::string> keys;
	for (const auto &[k, v] : params.items()) {
		if (!v.is_number_integer() && !v.is_string())
			r.fail(where + ".params." + k, "expected an integer or a string");
		keys.push_back(k);
	}
	std::vector<std::string> order = nameOrder(out.name);
	auto rank = [&](const std::string &k) {
		auto it = std::find(order.begin(), order.end(), paramDisplayName(k));
		return it == order.end() ? order.size() : static_cast<size_t>(it - order.begin());
	};
	std::stable_sort(keys.begin(), keys.end(), [&](const auto &a, const auto &b) { return rank(a) < rank(b); });
	for (const auto &k : keys)
		out.params.emplace_back(k, params[k]);

	const auto &metrics = r.object(e, where, "metrics");
	for (const auto &[name, m] : metrics.items()) {
		std::string mw = where + ".metrics." + name;
		ResultsMetric rm;
		rm.unit = r.string(m, mw, "unit");
		std::string better = r.string(m, mw, "better");
		if (better != "lower" && better != "higher")
			r.fail(mw + ".better", fmt::format("\"{}\" is not lower or higher", better));
		rm.lower_is_better = better == "lower";
		const auto &samples = r.member(m, mw, "samples");
		if (!samples.is_array())
			r.fail(mw + ".samples", "expected an array of numbers");
		for (const auto &s : samples) {
			if (!s.is_number() || !std::isfinite(s.get<double>()))
				r.fail(mw + ".samples", "expected an array of finite numbers");
			rm.samples.push_back(s.get<double>());
		}
		out.metrics[name] = std::move(rm);
		if (name != out.primary_metric)
			out.metric_order.push_back(name);
	}
	if (!out.metrics.count(out.primary_metric))
		r.fail(where + ".primary_metric", fmt::format("\"{}\" is not among its metrics", out.primary_metric));
	out.metric_order.insert(out.metric_order.begin(), out.primary_metric);
	out.run_order = repetitionIndices(r, e, where, "run_order");
	out.sample_runs = repetitionIndices(r, e, where, "sample_runs");

	/* Counters came later than metrics: files without them are fine. */
	if (!e.contains("counters"))
		return out;
	const auto &counters = r.object(e, where, "counters");
	for (const auto &[name, c] : counters.items()) {
		std::string cw = where + ".counters." + name;
		if (out.metrics.count(name))
			continue; /* a metric of that name wins */
		ResultsMetric rm;
		rm.unit = r.string(c, cw, "unit");
		if (c.contains("kind")) /* "emulator" marks the table; older files may lack it */
			rm.kind = r.string(c, cw, "kind");
		const auto &available = r.member(c, cw, "available");
		if (!available.is_boolean())
			r.fail(cw + ".available", "expected true or false");
		if (available.get<bool>()) {
			const auto &samples = r.member(c, cw, "samples");
			if (!samples.is_array())
				r.fail(cw + ".samples", "expected an array of counts");
			for (const auto &s : samples) {
				if (!s.is_number())
					r.fail(cw + ".samples", "expected an array of counts");
				rm.samples.push_back(s.get<double>());
			}
		} else {
			rm.reason = r.string(c, cw, "reason");
		}
		out.metrics[name] = std::move(rm);
		out.metric_order.push_back(name);
	}
	return out;
}

/* pgtbench.kernel_log came later: absent in older files, checked when present. */
std::optional<RecordedKernelLog> parseKernelLog(const Reader &r, const nlohmann::json &pgt)
{
	if (!pgt.contains("kernel_log"))
		return std::nullopt;
	const std::string where = "pgtbench.kernel_log";
	const auto &k = r.object(pgt, "pgtbench", "kernel_log");
	RecordedKernelLog out;
	const auto &available = r.member(k, where, "available");
	const auto &lost = r.member(k, where, "lost");
	if (!available.is_boolean() || !lost.is_boolean())
		r.fail(where, "available and lost must be true or false");
	out.available = available.get<bool>();
	out.lost = lost.get<bool>();
	out.reason = r.string(k, where, "reason");
	const auto &lines = r.member(k, where, "lines");
	if (!lines.is_array() || !std::all_of(lines.begin(), lines.end(), [](const auto &l) { return l.is_string(); }))
		r.fail(where + ".lines", "expected an array of strings");
	for (const auto &l : lines)
		out.lines.push_back(l.get<std::string>());
	const auto &warnings = r.member(k, where, "warnings");
	if (!warnings.is_number_unsigned() && !(warnings.is_number_integer() && warnings.get<int64_t>() >= 0))
		r.fail(where + ".warnings", "expected a count");
	out.warnings = warnings.get<unsigned>();
	return out;
}

/* env.platform came later: absent in older files, checked when present. */
void checkPlatform(const Reader &r, const nlohmann::json &env)
{
	if (!env.contains("platform"))
		return;
	const std::string where = "pgtbench.env.platform";
	const auto &p = r.object(env, "pgtbench.env", "platform");
	if (trim(r.string(p, where, "name")).empty())
		r.fail(where + ".name", "expected a name, not an empty one");
	r.string(p, where, "evidence");
	std::string source = r.string(p, where, "source");
	if (std::find(kPlatformSources.begin(), kPlatformSources.end(), source) == kPlatformSources.end())
		r.fail(where + ".source", fmt::format("\"{}\" is not one of {}", source, fmt::join(kPlatformSources, ", ")));
}

} /* namespace */

ResultsFile parseResultsFile(const nlohmann::json &doc, const std::string &path)
{
	Reader r(path);
	ResultsFile f;
	f.path = path;
	if (!doc.is_object())
		r.fail("top level", "expected an object (is this a pgtbench results file?)");
	const auto &pgt = r.object(doc, "top level", "pgtbench");
	const auto &version = r.member(pgt, "pgtbench", "schema_version");
	if (!version.is_number_integer() || version.get<int>() != 1)
		r.fail("pgtbench.schema_version", fmt::format("{} is not 1, the version this pgtbench reads",
							       version.dump()));
	f.label = r.string(pgt, "pgtbench", "label");
	if (pgt.contains("created_utc") && pgt["created_utc"].is_string())
		f.created_utc = pgt["created_utc"].get<std::string>();
	f.env = r.object(pgt, "pgtbench", "env");
	f.arch = r.string(f.env, "pgtbench.env", "arch");
	f.kernel = r.string(r.object(f.env, "pgtbench.env", "kernel"), "pgtbench.env.kernel", "release");
	r.string(r.object(f.env, "pgtbench.env", "cpu"), "pgtbench.env.cpu", "model");
	const auto &virt = r.object(f.env, "pgtbench.env", "virtualization");
	const auto &vm = r.member(virt, "pgtbench.env.virtualization", "vm");
	if (!vm.is_boolean() && !vm.is_null())
		r.fail("pgtbench.env.virtualization.vm", "expected true, false or null");
	const auto &mem = r.member(f.env, "pgtbench.env", "mem_total_bytes");
	if (!mem.is_number_unsigned() && !(mem.is_number_integer() && mem.get<int64_t>() >= 0))
		r.fail("pgtbench.env.mem_total_bytes", "expected a byte count");
	checkPlatform(r, f.env);
	f.machine = machineName(f.env);
	f.kernel_log = parseKernelLog(r, pgt);

	const auto &entries = r.member(doc, "top level", "entries");
	if (!entries.is_array())
		r.fail("entries", "expected an array");
	for (size_t i = 0; i < entries.size(); i++)
		f.entries.push_back(parseEntry(r, entries[i], fmt::format("entries[{}]", i)));
	return f;
}

template <class Json> Json readJsonFile(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		throw UsageError(fmt::format("{}: cannot read: {}", path, strerror(errno)));
	try {
		return Json::parse(in);
	} catch (const nlohmann::json::parse_error &e) {
		/* nlohmann's message is long and multi-part; keep the position. */
		throw UsageError(fmt::format("{}: not JSON (byte {})", path, e.byte));
	}
}
template nlohmann::json readJsonFile<nlohmann::json>(const std::string &path);
template nlohmann::ordered_json readJsonFile<nlohmann::ordered_json>(const std::string &path);

ResultsFile loadResultsFile(const std::string &path)
{
	return parseResultsFile(readJsonFile<nlohmann::json>(path), path);
}

/* --- machine names ---------------------------------------------------------------- */

std::string shortCpuName(const std::string &model)
{
	std::string m = model;
	for (const char *noise : {"(R)", "(r)", "(TM)", "(tm)"})
		for (size_t p; (p = m.find(noise)) != std::string::npos;)
			m.erase(p, strlen(noise));
	if (auto at = m.find(" @"); at != std::string::npos)
		m.erase(at);
	std::vector<std::string> words;
	for (const auto &w : split(m, ' '))
		if (!w.empty() && w != "CPU" && w != "Processor")
			words.push_back(w);
	m = fmt::format("{}", fmt::join(words, " "));
	if (m.empty() || m == "unknown")
		return "unknown CPU";
	/* Apple clusters ("Apple M2 Blizzard + Avalanche") are one chip: "Apple M2". */
	if (startsWith(m, "Apple ")) {
		static const std::set<std::string> cores{"Blizzard", "Avalanche", "Icestorm", "Firestorm",
							 "Sawtooth", "Everest"};
		std::vector<std::string> chips;
		for (const auto &part : split(m, '+')) {
			std::vector<std::string> ws;
			for (const auto &w : split(trim(part), ' '))
				if (!w.empty() && !cores.count(w))
					ws.push_back(w);
			std::string chip = fmt::format("{}", fmt::join(ws, " "));
			if (!chip.empty() && std::find(chips.begin(), chips.end(), chip) == chips.end())
				chips.push_back(chip);
		}
		m = fmt::format("{}", fmt::join(chips, " + "));
	}
	return m;
}

std::string installedMemory(uint64_t mem_total_bytes)
{
	if (!mem_total_bytes)
		return "";
	const char *unit = "G";
	double size = static_cast<double>(mem_total_bytes) / (1ull << 30);
	if (size < 1) {
		unit = "M";
		size *= 1024;
	}
	/* The kernel keeps a few % (memmap, crash kernel, firmware): round up to what was installed. */
	double whole = std::ceil(size - 1e-9);
	double pow2 = std::exp2(std::ceil(std::log2(whole)));
	if (pow2 <= whole * 1.04)
		whole = pow2;
	return fmt::format("{:.0f}{}", whole, unit);
}

std::string cpuMachineName(const std::string &model, const std::string &hypervisor)
{
	std::string name = shortCpuName(model);
	/* An emulated CPU with no name ("part 0x051" under qemu -cpu max): say whose it is. */
	if ((startsWith(name, "part ") || name == "unknown CPU") && !hypervisor.empty())
		name = hypervisor + " " + name;
	return name;
}

namespace {

const nlohmann::json &memberOrNull(const nlohmann::json &obj, const char *key)
{
	static const nlohmann::json none;
	return obj.is_object() && obj.contains(key) ? obj[key] : none;
}

std::string stringOr(const nlohmann::json &v, const std::string &otherwise = "")
{
	return v.is_string() ? v.get<std::string>() : otherwise;
}

/* "Ampere(R) Mt.Jade jep106:0a16:0001": what env.firmware recorded of the system's identity. */
std::string firmwareIdentity(const nlohmann::json &env)
{
	const auto &firmware = memberOrNull(env, "firmware");
	const auto &dmi = memberOrNull(firmware, "dmi");
	const auto &soc = memberOrNull(firmware, "soc");
	std::vector<std::string> parts;
	for (const auto *v : {&memberOrNull(dmi, "sys_vendor"), &memberOrNull(dmi, "product_name"),
			      &memberOrNull(soc, "soc_id")})
		if (!stringOr(*v).empty())
			parts.push_back(stringOr(*v));
	return fmt::format("{}", fmt::join(parts, " "));
}

/* env.platform, or the CPU's name for files recorded before it. */
void namePlatform(MachineName &n, const nlohmann::json &env)
{
	/* parseResultsFile checked env.platform where a file has one. */
	const auto &platform = memberOrNull(env, "platform");
	if (platform.is_object()) {
		n.cpu = platform["name"].get<std::string>();
		n.source = platform["source"].get<std::string>();
		n.evidence = platform["evidence"].get<std::string>();
	} else {
		const auto &hypervisor = memberOrNull(memberOrNull(env, "virtualization"), "hypervisor");
		n.cpu = cpuMachineName(env["cpu"]["model"].get<std::string>(), stringOr(hypervisor));
		n.source = "cpu";
		n.evidence = "its CPU model; the file records no platform";
	}
	/* A name that is the CPU's says nothing of the system around it: the firmware does. */
	if (n.source == "cpu")
		n.firmware = firmwareIdentity(env);
}

} /* namespace */

MachineName machineName(const nlohmann::json &env)
{
	/* parseResultsFile checked cpu.model, virtualization.vm and mem_total_bytes; the rest may be absent. */
	MachineName n;
	namePlatform(n, env);
	std::vector<std::string> kind;
	const auto &vm = memberOrNull(memberOrNull(env, "virtualization"), "vm");
	if (vm.is_boolean())
		kind.push_back(vm.get<bool>() ? "VM" : "Metal");
	std::string mem = installedMemory(env["mem_total_bytes"].get<uint64_t>());
	if (!mem.empty())
		kind.push_back(mem);
	n.kind = fmt::format("{}", fmt::join(kind, " "));
	return n;
}

} /* namespace pgt */
