// SPDX-License-Identifier: GPL-2.0
/*
 * Several runs of one config on one kernel (the boots of a `pgtbench stack` stage) into
 * one results file. Each input is read by the one reader and turned back into the
 * RunRecord its writer was given; the records are joined entry by entry and written by
 * the one writer again, so names, summaries and Google Benchmark's records follow the
 * rules of every other results file. Every repetition keeps the index of the run it
 * came from (entries[].sample_runs -> pgtbench.runs[]): a boot that drifted stays
 * visible in the merged file instead of disappearing into a mean.
 */
#include "results.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "errors.h"

namespace pgt {

namespace {

using ojson = nlohmann::ordered_json;

[[noreturn]] void fail(const std::string &path, const std::string &what)
{
	throw UsageError(fmt::format("{}: {}", path, what));
}

/* What the writer writes itself (results.cpp variantJson); the rest of an entry is its extra. */
const std::set<std::string> kWrittenFields = {
	"name", "scenario", "params", "status", "reason", "reps", "warmup", "cpu", "primary_metric", "metrics",
	"knobs_changed", "counters", "checks", "emu_windows", "sample_runs"};

/*
 * Typed access to what parseResultsFile leaves unchecked (it reads what compare needs,
 * the writer needs more), failing "<path>: <where>: <what>" as the reader does.
 */
class Fields
{
public:
	explicit Fields(const std::string &path) : path_(path) {}

	[[noreturn]] void fail(const std::string &where, const std::string &what) const
	{
		pgt::fail(path_, fmt::format("{}: {}", where, what));
	}
	int intOr(const ojson &obj, const std::string &where, const std::string &key, int fallback) const
	{
		if (!obj.contains(key))
			return fallback;
		const auto &v = obj.at(key);
		if (!v.is_number_integer() || v.get<int64_t>() < -1 || v.get<int64_t>() > 1000000000)
			fail(where + "." + key, "expected an integer from -1 to 1000000000");
		return v.get<int>();
	}
	uint64_t countOr(const ojson &obj, const std::string &where, const std::string &key) const
	{
		if (!obj.contains(key))
			return 0;
		auto n = count(obj.at(key));
		if (!n)
			fail(where + "." + key, "expected a count");
		return *n;
	}
	bool boolOr(const ojson &obj, const std::string &where, const std::string &key) const
	{
		if (!obj.contains(key))
			return false;
		if (!obj.at(key).is_boolean())
			fail(where + "." + key, "expected true or false");
		return obj.at(key).get<bool>();
	}
	std::string string(const ojson &obj, const std::string &where, const std::string &key) const
	{
		if (!obj.contains(key))
			fail(where, fmt::format("missing \"{}\"", key));
		if (!obj.at(key).is_string())
			fail(where + "." + key, "expected a string");
		return obj.at(key).get<std::string>();
	}
	std::string stringOr(const ojson &obj, const std::string &where, const std::string &key) const
	{
		return obj.contains(key) ? string(obj, where, key) : "";
	}
	/* An array member; an empty one when it is missing. */
	ojson arrayOr(const ojson &obj, const std::string &where, const std::string &key) const
	{
		if (!obj.contains(key))
			return ojson::array();
		if (!obj.at(key).is_array())
			fail(where + "." + key, "expected an array");
		return obj.at(key);
	}
	static std::optional<uint64_t> count(const ojson &v)
	{
		if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0))
			return v.get<uint64_t>();
		return std::nullopt;
	}

private:
	std::string path_;
};

CounterRecord counterRecord(const Fields &f, const ojson &c, const std::string &where)
{
	CounterRecord out;
	out.event = f.string(c, where, "event");
	/* Runs are matched by kind below: an unknown one would be written into an invalid file. */
	out.kind = f.string(c, where, "kind");
	if (std::find(kCounterKinds.begin(), kCounterKinds.end(), out.kind) == kCounterKinds.end())
		f.fail(where + ".kind",
		       fmt::format("\"{}\" is not one of {}", out.kind, fmt::join(kCounterKinds, ", ")));
	out.reason = f.stringOr(c, where, "reason");
	for (const auto &s : f.arrayOr(c, where, "samples")) {
		if (s.is_null())
			out.samples.push_back(std::nullopt);
		else if (auto n = Fields::count(s))
			out.samples.push_back(*n);
		else
			f.fail(where + ".samples", "expected an array of counts or nulls");
	}
	out.in_group = f.boolOr(c, where, "in_group");
	out.time_enabled_ns = f.countOr(c, where, "time_enabled_ns");
	out.time_running_ns = f.countOr(c, where, "time_running_ns");
	return out;
}

/* An entry as the writer was given it: the reverse of results.cpp's variantJson. */
VariantRecord entryRecord(const Fields &f, const ojson &e, const RecordedVariant &rv, const std::string &where)
{
	VariantRecord v;
	v.scenario = rv.scenario;
	v.params = rv.params; /* in the name's order, as the writer names it again */
	v.status = rv.status;
	v.reason = rv.reason;
	v.reps = f.intOr(e, where, "reps", static_cast<int>(rv.metrics.at(rv.primary_metric).samples.size()));
	v.warmup = f.intOr(e, where, "warmup", 0);
	v.cpu = f.intOr(e, where, "cpu", -1);
	/* The primary metric first: the writer takes the first one as the primary. */
	std::vector<std::string> names{rv.primary_metric};
	for (const auto &[name, m] : e.at("metrics").items())
		if (name != rv.primary_metric)
			names.push_back(name);
	for (const auto &name : names) {
		const ResultsMetric &m = rv.metrics.at(name); /* a metric wins over a counter of its name */
		v.metrics.push_back({name, m.unit, m.lower_is_better, m.samples});
	}
	v.knobs_changed = nlohmann::json(f.arrayOr(e, where, "knobs_changed"));
	if (e.contains("counters"))
		for (const auto &[name, c] : e.at("counters").items())
			v.counters.emplace_back(name, counterRecord(f, c, where + ".counters." + name));
	for (const auto &c : f.arrayOr(e, where, "checks"))
		v.checks.push_back(nlohmann::json(c));
	const ojson windows = f.arrayOr(e, where, "emu_windows");
	for (size_t rep = 0; rep < windows.size(); rep++) {
		std::string ww = fmt::format("{}.emu_windows[{}]", where, rep);
		if (!windows[rep].is_object())
			f.fail(ww, "expected an object of window ordinals");
		std::map<std::string, uint64_t> w;
		for (const auto &[prefix, k] : windows[rep].items()) {
			auto n = Fields::count(k);
			if (!n)
				f.fail(ww + "." + prefix, "expected a window ordinal");
			w[prefix] = *n;
		}
		v.emu_windows.push_back(std::move(w));
	}
	for (const auto &[k, value] : e.items())
		if (!kWrittenFields.count(k))
			v.extra[k] = nlohmann::json(value);
	return v;
}

/* One results file: the reader's view of it, and the record its writer was given. */
struct Input {
	std::string path;
	ojson doc;
	ResultsFile file;
	std::vector<VariantRecord> entries;
};

Input readInput(const std::string &path)
{
	Input in;
	in.path = path;
	in.doc = readJsonFile<ojson>(path);
	/* What compare would refuse is refused here with the reader's own words. */
	in.file = parseResultsFile(nlohmann::json(in.doc), path);
	Fields f(path);
	const ojson &entries = in.doc.at("entries");
	for (size_t i = 0; i < entries.size(); i++)
		in.entries.push_back(entryRecord(f, entries[i], in.file.entries[i], fmt::format("entries[{}]", i)));
	return in;
}

/* One kernel, one label, one list of entries: anything else is no set of boots of one stage. */
void checkSameRun(const Input &first, const Input &other)
{
	const ResultsFile &a = first.file, &b = other.file;
	if (b.label != a.label)
		fail(other.path, fmt::format("label {} differs from {}'s {}: merge runs of one label", b.label,
					     first.path, a.label));
	if (b.kernel != a.kernel)
		fail(other.path, fmt::format("kernel {} differs from {}'s {}: merge runs of one kernel", b.kernel,
					     first.path, a.kernel));
	if (b.arch != a.arch)
		fail(other.path, fmt::format("arch {} differs from {}'s {}", b.arch, first.path, a.arch));
	for (size_t i = 0; i < std::max(a.entries.size(), b.entries.size()); i++) {
		std::string want = i < a.entries.size() ? a.entries[i].name : "nothing";
		std::string have = i < b.entries.size() ? b.entries[i].name : "nothing";
		if (want != have)
			fail(other.path, fmt::format("entries differ from {}: entries[{}] is {} here, {} there",
						     first.path, i, have, want));
	}
	for (size_t i = 0; i < a.entries.size(); i++)
		if (b.entries[i].primary_metric != a.entries[i].primary_metric)
			fail(other.path, fmt::format("{}: primary metric {} differs from {}'s {}", b.entries[i].name,
						     b.entries[i].primary_metric, first.path,
						     a.entries[i].primary_metric));
}

std::string runName(const std::vector<Input> &in, size_t r)
{
	return fmt::format("run {} ({})", r, in[r].path);
}

/* All ok: ok. One error, or skipped in some runs only: the merged entry is no result. */
void mergeStatus(const std::vector<Input> &in, size_t i, VariantRecord &out)
{
	std::optional<size_t> error, skipped;
	bool ran = false;
	for (size_t r = 0; r < in.size(); r++) {
		Status s = in[r].entries[i].status;
		if (s == Status::Error && !error)
			error = r;
		if (s == Status::Skipped && !skipped)
			skipped = r;
		ran |= s == Status::Ok;
	}
	out.status = Status::Ok;
	out.reason = "";
	if (error) {
		out.status = Status::Error;
		out.reason = fmt::format("{}: {}", runName(in, *error), in[*error].entries[i].reason);
	} else if (skipped && !ran) {
		out.status = Status::Skipped;
		out.reason = in[*skipped].entries[i].reason;
	} else if (skipped) {
		/* Samples of some boots only would pass for the stage's. */
		out.status = Status::Error;
		out.reason = fmt::format("skipped in {}: {}; ran in the others", runName(in, *skipped),
					 in[*skipped].entries[i].reason);
	}
}

template <typename T>
const T *findNamed(const std::vector<T> &v, const std::string &name)
{
	for (const auto &x : v)
		if (x.name == name)
			return &x;
	return nullptr;
}

const CounterRecord *findCounter(const VariantRecord &v, const std::string &name)
{
	for (const auto &[n, c] : v.counters)
		if (n == name)
			return &c;
	return nullptr;
}

/* The first run's metrics, with every run's samples; a run that has samples has them all. */
void mergeMetrics(const std::vector<Input> &in, size_t i, const std::vector<size_t> &reps, VariantRecord &out)
{
	const VariantRecord &first = in[0].entries[i];
	for (const auto &m : first.metrics) {
		MetricRecord merged{m.name, m.unit, m.lower_is_better, {}};
		for (size_t r = 0; r < in.size(); r++) {
			const MetricRecord *have = findNamed(in[r].entries[i].metrics, m.name);
			if (!have) {
				if (reps[r])
					fail(in[r].path, fmt::format("{}: no metric {}, which {} has", first.name(),
								     m.name, in[0].path));
				continue;
			}
			if (have->unit != m.unit || have->lower_is_better != m.lower_is_better)
				fail(in[r].path, fmt::format("{}: {} is in {} ({} is better), in {} ({} is better) in {}",
							     first.name(), m.name, have->unit,
							     have->lower_is_better ? "lower" : "higher", m.unit,
							     m.lower_is_better ? "lower" : "higher", in[0].path));
			merged.samples.insert(merged.samples.end(), have->samples.begin(), have->samples.end());
		}
		out.metrics.push_back(std::move(merged));
	}
}

/*
 * Every run's counters, in first-seen order. A run that did not count one gives nulls
 * for its repetitions: an unavailable counter is n/a with a reason, never a zero.
 */
void mergeCounters(const std::vector<Input> &in, size_t i, const std::vector<size_t> &reps, VariantRecord &out)
{
	std::vector<std::string> names;
	for (const auto &input : in)
		for (const auto &[name, c] : input.entries[i].counters)
			if (std::find(names.begin(), names.end(), name) == names.end())
				names.push_back(name);
	for (const auto &name : names) {
		CounterRecord merged;
		merged.in_group = true;
		std::optional<size_t> kind_from;
		for (size_t r = 0; r < in.size(); r++) {
			const CounterRecord *c = findCounter(in[r].entries[i], name);
			if (!c) {
				merged.in_group = false;
				if (reps[r]) {
					merged.samples.insert(merged.samples.end(), reps[r], std::nullopt);
					merged.reason = fmt::format("not counted in run {}", r);
				}
				continue;
			}
			if (!kind_from) {
				kind_from = r;
				merged.event = c->event;
				merged.kind = c->kind;
			} else if (c->kind != merged.kind) {
				fail(in[r].path, fmt::format("{}: counter {} is of kind {} here, {} in {}",
							     in[r].entries[i].name(), name, c->kind, merged.kind,
							     in[*kind_from].path));
			}
			merged.samples.insert(merged.samples.end(), c->samples.begin(), c->samples.end());
			if (!c->reason.empty())
				merged.reason = c->reason;
			merged.in_group &= c->in_group;
			merged.time_enabled_ns += c->time_enabled_ns;
			merged.time_running_ns += c->time_running_ns;
		}
		out.counters.emplace_back(name, std::move(merged));
	}
}

/* Entry i of every run as one entry: the first run's description, every run's samples. */
VariantRecord mergeEntry(const std::vector<Input> &in, size_t i)
{
	const VariantRecord &first = in[0].entries[i];
	VariantRecord out;
	out.scenario = first.scenario;
	out.params = first.params;
	out.warmup = first.warmup;
	out.cpu = first.cpu;
	out.knobs_changed = first.knobs_changed;
	out.extra = first.extra;
	mergeStatus(in, i, out);

	/* A run's repetitions are its primary metric's samples; the other arrays follow them. */
	std::vector<size_t> reps;
	size_t total = 0;
	for (const auto &input : in) {
		reps.push_back(input.entries[i].metrics.front().samples.size());
		total += reps.back();
	}
	mergeMetrics(in, i, reps, out);
	mergeCounters(in, i, reps, out);
	bool windows = std::any_of(in.begin(), in.end(),
				   [&](const Input &x) { return !x.entries[i].emu_windows.empty(); });
	for (size_t r = 0; r < in.size(); r++) {
		const VariantRecord &e = in[r].entries[i];
		out.checks.insert(out.checks.end(), e.checks.begin(), e.checks.end());
		if (windows && e.emu_windows.empty())
			out.emu_windows.insert(out.emu_windows.end(), reps[r], {});
		else
			out.emu_windows.insert(out.emu_windows.end(), e.emu_windows.begin(), e.emu_windows.end());
		out.sample_runs.insert(out.sample_runs.end(), reps[r], static_cast<int>(r));
	}
	/*
	 * run_order is each repetition's place within its own run (sample_runs says which
	 * run): kept, concatenated, when every run has one per repetition.
	 */
	nlohmann::json order = nlohmann::json::array();
	for (size_t r = 0; r < in.size() && order.is_array(); r++) {
		auto it = in[r].entries[i].extra.find("run_order");
		if (it == in[r].entries[i].extra.end() || !it->is_array() || it->size() != reps[r])
			order = nullptr;
		else
			order.insert(order.end(), it->begin(), it->end());
	}
	if (order.is_array() && !order.empty())
		out.extra["run_order"] = order;
	else
		out.extra.erase("run_order");
	/* Nothing measured anywhere: the repetitions it would have run, as the first run says. */
	out.reps = out.status == Status::Skipped || !total ? first.reps : static_cast<int>(total);
	return out;
}

/* What each run was: runs_info's members, then what its own file says of it. */
nlohmann::json runJson(const Input &in, const nlohmann::json &info)
{
	nlohmann::json run = info.is_object() ? info : nlohmann::json::object();
	run["file"] = in.path;
	const ojson &pgt = in.doc.at("pgtbench");
	for (const char *key : {"created_utc", "command_line", "exit_code", "emu_session", "emu_counts", "kernel_log",
				"noise_after"})
		if (pgt.contains(key))
			run[key] = nlohmann::json(pgt.at(key));
	return run;
}

/*
 * The runs' kernel logs as one: every run's lines in order, available only when every
 * run watched its log (a run that did not says why); null when no run watched one.
 */
nlohmann::json mergedKernelLog(const std::vector<Input> &in)
{
	nlohmann::json out = {{"available", true}, {"reason", ""}, {"lines", nlohmann::json::array()},
			      {"warnings", 0}, {"lost", false}};
	std::vector<std::string> reasons;
	bool any = false;
	for (size_t r = 0; r < in.size(); r++) {
		const auto &log = in[r].file.kernel_log;
		if (!log) {
			reasons.push_back(fmt::format("run {} ({}): not watched", r, in[r].path));
			continue;
		}
		any = true;
		if (!log->available)
			reasons.push_back(fmt::format("run {} ({}): {}", r, in[r].path, log->reason));
		for (const auto &l : log->lines)
			out["lines"].push_back(l);
		out["warnings"] = out["warnings"].get<unsigned>() + log->warnings;
		out["lost"] = out["lost"].get<bool>() || log->lost;
	}
	if (!any)
		return nullptr;
	out["available"] = reasons.empty();
	out["reason"] = fmt::format("{}", fmt::join(reasons, "; "));
	return out;
}

} /* namespace */

RunRecord mergeResultsFiles(const std::vector<std::string> &paths, const nlohmann::json &runs_info,
			    const std::vector<std::string> &command_line)
{
	if (paths.empty())
		throw UsageError("merge: no results files");
	if (!runs_info.is_null() &&
	    (!runs_info.is_array() || runs_info.size() != paths.size() ||
	     !std::all_of(runs_info.begin(), runs_info.end(), [](const auto &o) { return o.is_object(); })))
		throw UsageError(fmt::format("--runs-info: expected an array of {} objects, one per results file "
					     "in their order",
					     paths.size()));
	std::vector<Input> in;
	for (const auto &path : paths) {
		in.push_back(readInput(path));
		if (in.size() > 1)
			checkSameRun(in.front(), in.back());
	}

	const Input &first = in.front();
	const ojson &pgt = first.doc.at("pgtbench");
	Fields f(first.path);
	RunRecord run;
	run.label = first.file.label;
	run.version = f.stringOr(pgt, "pgtbench", "version");
	run.command_line = command_line;
	run.cpu = f.intOr(pgt, "pgtbench", "cpu", -1);
	if (!pgt.contains("config") || !pgt.at("config").is_object())
		f.fail("pgtbench.config", "expected an object");
	run.config = nlohmann::json(pgt.at("config"));
	run.env = first.file.env;
	/* Google Benchmark's context of the first run; its records are made per merged sample. */
	const ojson &context = first.doc.contains("context") ? first.doc.at("context") : ojson::object();
	run.gbench = {{"context", context.is_object() ? nlohmann::json(context) : nlohmann::json::object()}};
	for (size_t r = 0; r < in.size(); r++)
		run.runs.push_back(runJson(in[r], runs_info.is_null() ? nlohmann::json() : runs_info[r]));
	run.kernel_log = mergedKernelLog(in);
	for (size_t i = 0; i < first.entries.size(); i++)
		run.variants.push_back(mergeEntry(in, i));
	return run;
}

} /* namespace pgt */
