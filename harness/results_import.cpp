// SPDX-License-Identifier: GPL-2.0
/*
 * Samples documents: what a tool that measures outside the harness (tools/boot-map-mem
 * reads map_mem() times from boot logs) or a generator of test fixtures hands to
 * `pgtbench import`, so that the results file still comes from the one writer with
 * its names, summaries and checks. results/README.md describes the fields.
 */
#include "results.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "errors.h"

namespace pgt {

namespace {

using ojson = nlohmann::ordered_json;

class SamplesReader
{
public:
	explicit SamplesReader(const std::string &path) : path_(path) {}

	[[noreturn]] void fail(const std::string &where, const std::string &what) const
	{
		throw UsageError(fmt::format("{}: {}: {}", path_, where, what));
	}
	const ojson &member(const ojson &obj, const std::string &where, const std::string &key) const
	{
		if (!obj.contains(key))
			fail(join(where, key), "missing");
		return obj[key];
	}
	std::string string(const ojson &obj, const std::string &where, const std::string &key) const
	{
		const auto &v = member(obj, where, key);
		if (!v.is_string())
			fail(join(where, key), "expected a string");
		return v.get<std::string>();
	}
	std::string stringOr(const ojson &obj, const std::string &where, const std::string &key,
			     const std::string &fallback) const
	{
		return obj.contains(key) ? string(obj, where, key) : fallback;
	}
	int intOr(const ojson &obj, const std::string &where, const std::string &key, int fallback) const
	{
		if (!obj.contains(key))
			return fallback;
		const auto &v = obj[key];
		if (!v.is_number_integer() || v.get<int64_t>() < -1 || v.get<int64_t>() > 1000000000)
			fail(join(where, key), "expected an integer from -1 to 1000000000");
		return v.get<int>();
	}
	const ojson &typed(const ojson &obj, const std::string &where, const std::string &key,
			   bool (ojson::*is)() const noexcept, const char *what) const
	{
		const auto &v = member(obj, where, key);
		if (!(v.*is)())
			fail(join(where, key), fmt::format("expected {}", what));
		return v;
	}
	/* Optional members default to an empty value of their type. */
	nlohmann::json plainOr(const ojson &obj, const std::string &where, const std::string &key,
			       bool (ojson::*is)() const noexcept, const char *what, nlohmann::json fallback) const
	{
		if (!obj.contains(key))
			return fallback;
		return nlohmann::json::parse(typed(obj, where, key, is, what).dump());
	}
	static std::string join(const std::string &where, const std::string &key)
	{
		return where.empty() ? key : where + "." + key;
	}

private:
	std::string path_;
};

MetricRecord parseMetric(const SamplesReader &r, const ojson &m, const std::string &where)
{
	if (!m.is_object())
		r.fail(where, "expected an object");
	MetricRecord out;
	out.name = r.string(m, where, "name");
	out.unit = r.string(m, where, "unit");
	std::string better = r.stringOr(m, where, "better", "lower");
	if (better != "lower" && better != "higher")
		r.fail(where + ".better", fmt::format("\"{}\" is not lower or higher", better));
	out.lower_is_better = better == "lower";
	const auto &samples = r.typed(m, where, "samples", &ojson::is_array, "an array of numbers");
	for (const auto &s : samples) {
		if (!s.is_number() || !std::isfinite(s.get<double>()))
			r.fail(where + ".samples", "expected an array of finite numbers");
		out.samples.push_back(s.get<double>());
	}
	return out;
}

CounterRecord parseCounter(const SamplesReader &r, const ojson &c, const std::string &where)
{
	if (!c.is_object())
		r.fail(where, "expected an object");
	CounterRecord out;
	out.event = r.string(c, where, "event");
	out.kind = r.string(c, where, "kind");
	/* Where a count came from is what keeps it from being mistaken for another kind. */
	if (std::find(kCounterKinds.begin(), kCounterKinds.end(), out.kind) == kCounterKinds.end())
		r.fail(where + ".kind", fmt::format("\"{}\" is not one of {}", out.kind, fmt::join(kCounterKinds, ", ")));
	out.reason = r.stringOr(c, where, "reason", "");
	for (const auto &s : r.typed(c, where, "samples", &ojson::is_array, "an array of counts or nulls")) {
		if (s.is_null())
			out.samples.push_back(std::nullopt);
		else if (s.is_number_unsigned() || (s.is_number_integer() && s.get<int64_t>() >= 0))
			out.samples.push_back(s.get<uint64_t>());
		else
			r.fail(where + ".samples", "expected an array of counts or nulls");
	}
	/* n/a is never silent: an unavailable counter says why. */
	if (!out.available() && out.reason.empty())
		r.fail(where + ".reason", "missing: a counter with no samples or a null sample says why");
	if (c.contains("in_group"))
		out.in_group = r.typed(c, where, "in_group", &ojson::is_boolean, "true or false").get<bool>();
	for (auto [key, field] : {std::pair{"time_enabled_ns", &out.time_enabled_ns},
				  std::pair{"time_running_ns", &out.time_running_ns}})
		if (c.contains(key))
			*field = r.typed(c, where, key, &ojson::is_number_unsigned, "a count").get<uint64_t>();
	return out;
}

RecordParams parseParams(const SamplesReader &r, const ojson &params, const std::string &where)
{
	RecordParams out;
	for (const auto &[k, v] : params.items()) {
		bool size = k.ends_with("_bytes");
		if (size ? !(v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0))
			 : !(v.is_number_integer() || v.is_string()))
			r.fail(where + "." + k, size ? "expected a byte count" : "expected an integer or a string");
		out.emplace_back(k, nlohmann::json::parse(v.dump()));
	}
	return out;
}

VariantRecord parseVariant(const SamplesReader &r, const ojson &v, const std::string &where)
{
	if (!v.is_object())
		r.fail(where, "expected an object");
	VariantRecord out;
	out.scenario = r.string(v, where, "scenario");
	if (out.scenario.empty() || out.scenario.find_first_of("/: ") != std::string::npos)
		r.fail(where + ".scenario", "expected a name without '/', ':' or spaces");
	out.params = parseParams(r, r.typed(v, where, "params", &ojson::is_object, "an object"),
				 where + ".params");
	std::string status = r.stringOr(v, where, "status", "ok");
	auto parsed = parseStatus(status);
	if (!parsed)
		r.fail(where + ".status", fmt::format("\"{}\" is not ok, skipped or error", status));
	out.status = *parsed;
	out.reason = r.stringOr(v, where, "reason", "");
	if (out.status != Status::Ok && out.reason.empty())
		r.fail(where + ".reason", fmt::format("missing: a {} variant says why", status));
	const auto &metrics = r.typed(v, where, "metrics", &ojson::is_array, "an array of metrics");
	if (metrics.empty())
		r.fail(where + ".metrics", "expected at least one metric (the first is the primary one)");
	for (size_t i = 0; i < metrics.size(); i++)
		out.metrics.push_back(parseMetric(r, metrics[i], fmt::format("{}.metrics[{}]", where, i)));
	out.reps = r.intOr(v, where, "reps", static_cast<int>(out.metrics.front().samples.size()));
	if (out.reps < 1)
		r.fail(where + ".reps", "expected the repetitions it ran or would have run (1 or more)");
	out.warmup = r.intOr(v, where, "warmup", 0);
	out.cpu = r.intOr(v, where, "cpu", -1);
	if (v.contains("counters"))
		for (const auto &[name, c] : r.typed(v, where, "counters", &ojson::is_object, "an object").items())
			out.counters.emplace_back(name, parseCounter(r, c, where + ".counters." + name));
	out.knobs_changed = r.plainOr(v, where, "knobs_changed", &ojson::is_array, "an array",
				      nlohmann::json::array());
	for (const auto &c : r.plainOr(v, where, "checks", &ojson::is_array, "an array", nlohmann::json::array()))
		out.checks.push_back(c);
	out.extra = r.plainOr(v, where, "extra", &ojson::is_object, "an object", nlohmann::json::object());
	return out;
}

} /* namespace */

RunRecord parseSamplesDocument(const ojson &doc, const std::string &path)
{
	SamplesReader r(path);
	if (!doc.is_object())
		r.fail("top level", "expected an object (a pgtbench samples document)");
	RunRecord run;
	run.label = r.string(doc, "", "label");
	try {
		checkLabel(run.label);
	} catch (const UsageError &e) {
		r.fail("label", e.what());
	}
	for (const auto &a : r.plainOr(doc, "", "command_line", &ojson::is_array, "an array of strings",
				       nlohmann::json::array())) {
		if (!a.is_string())
			r.fail("command_line", "expected an array of strings");
		run.command_line.push_back(a.get<std::string>());
	}
	run.created_utc = r.stringOr(doc, "", "created_utc", "");
	run.version = r.stringOr(doc, "", "version", "");
	run.cpu = r.intOr(doc, "", "cpu", -1);
	run.config = r.plainOr(doc, "", "config", &ojson::is_object, "an object", nullptr);
	run.env = r.plainOr(doc, "", "env", &ojson::is_object, "an object", nullptr);
	if (run.config.is_null())
		r.fail("config", "missing");
	if (run.env.is_null())
		r.fail("env", "missing");
	const auto &variants = r.typed(doc, "", "variants", &ojson::is_array, "an array");
	if (variants.empty())
		r.fail("variants", "expected at least one variant");
	for (size_t i = 0; i < variants.size(); i++)
		run.variants.push_back(parseVariant(r, variants[i], fmt::format("variants[{}]", i)));
	/* Google Benchmark's context; the writer dates it with the run when it has no date. */
	run.gbench = {{"context", r.plainOr(doc, "", "context", &ojson::is_object, "an object",
					    nlohmann::json::object())}};
	return run;
}

} /* namespace pgt */
