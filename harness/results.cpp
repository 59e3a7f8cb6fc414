// SPDX-License-Identifier: GPL-2.0
/*
 * The one writer of results files, and the rules a variant's name and label follow
 * (shared with the reader, results_read.cpp).
 */
#include "results.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <regex>
#include <unistd.h>

#include <fmt/format.h>

#include "errors.h"
#include "stats.h"
#include "util.h"
#include "version.h"

namespace pgt {

namespace {

std::string utcNow(const char *format)
{
	time_t t = time(nullptr);
	struct tm tm;
	gmtime_r(&t, &tm);
	char buf[64];
	strftime(buf, sizeof(buf), format, &tm);
	return buf;
}


nlohmann::json variantJson(const VariantRecord &v)
{
	nlohmann::json j = v.extra.is_object() ? v.extra : nlohmann::json::object();
	j["name"] = v.name();
	j["scenario"] = v.scenario;
	nlohmann::json params = nlohmann::json::object();
	for (const auto &[k, value] : v.params)
		params[k] = value;
	j["params"] = params;
	j["status"] = statusName(v.status);
	j["reason"] = v.reason;
	j["reps"] = v.reps;
	j["warmup"] = v.warmup;
	j["cpu"] = v.cpu;
	j["primary_metric"] = v.metrics.empty() ? "" : v.metrics.front().name;
	nlohmann::json metrics = nlohmann::json::object();
	/*
	 * A metric this entry has no samples of (skipped, or a figure only some variants
	 * give) has no summary at all: a summary of nothing would carry a median of 0 that a
	 * consumer could take for a measurement.
	 */
	for (const auto &m : v.metrics)
		metrics[m.name] = {{"unit", m.unit},
				   {"better", m.lower_is_better ? "lower" : "higher"},
				   {"samples", m.samples},
				   {"summary", m.samples.empty() ? nlohmann::json(nullptr) : summarize(m.samples).toJson()}};
	j["metrics"] = metrics;
	j["knobs_changed"] = v.knobs_changed;
	nlohmann::json counters = nlohmann::json::object();
	for (const auto &[name, c] : v.counters)
		counters[name] = counterJson(c);
	j["counters"] = counters;
	j["checks"] = v.checks;
	if (!v.emu_windows.empty())
		j["emu_windows"] = v.emu_windows;
	if (!v.sample_runs.empty())
		j["sample_runs"] = v.sample_runs;
	return j;
}

/*
 * The unit compare.py shows a variant's times in, from its metric's: it prints times
 * as integers, so 1.13 ms in "ms" reads 1. The metric's unit is the scale its scenario
 * chose for its magnitude (fork_ms, bracket_ns); a thousandth of it keeps three more
 * digits (1130 us). It is not chosen from each file's numbers: compare.py pairs only
 * records of one time_unit, and would drop a variant whose time crossed a threshold
 * between the two files.
 */
const char *displayUnit(const std::string &metric_unit)
{
	if (metric_unit == "s")
		return "ms";
	if (metric_unit == "ms")
		return "us";
	return "ns";
}

/* How many of `unit` make a second (exact powers of ten, unlike 1 / toSeconds()); 0: not a time. */
double perSecond(const std::string &unit)
{
	static const std::pair<const char *, double> units[] = {{"s", 1}, {"ms", 1e3}, {"us", 1e6}, {"ns", 1e9}};
	for (const auto &[name, per_second] : units)
		if (unit == name)
			return per_second;
	return 0;
}

/*
 * Google Benchmark's records of the file (what its JSONReporter writes for a
 * benchmark of one iteration per repetition, and tools/compare.py reads), made from
 * the samples for every run, imported and merged ones too: per variant whose primary
 * metric is a time, one "iteration" record per sample, then, from two repetitions on,
 * its mean, median, stddev and cv records. real_time is the primary metric's sample
 * (the timed operation alone, what the runner hands to SetIterationTime()), in the
 * variant's displayUnit(). cpu_time repeats it: Google Benchmark's CPU clock runs over
 * the whole repetition (its untimed mmap, populate and folio check included), and the
 * timed work itself runs in the kernel, child processes and kernel threads that no
 * CPU clock of the measuring thread sees. Every metric of the repetition is a field of
 * its record, as Google Benchmark writes user counters, and is aggregated with it.
 */
nlohmann::json benchmarkRecords(const RunRecord &run)
{
	/*
	 * Google Benchmark's statistics over repetitions (its src/statistics.cc): the
	 * summary's, whose stddev is also n - 1's and whose median also averages the
	 * middle two.
	 */
	static const std::pair<const char *, double Summary::*> aggregates[] = {
		{"mean", &Summary::mean}, {"median", &Summary::median}, {"stddev", &Summary::stddev}, {"cv", &Summary::cv}};
	nlohmann::json out = nlohmann::json::array();
	int family = 0;
	for (const auto &v : run.variants) {
		if (v.metrics.empty() || v.status != Status::Ok || v.metrics.front().samples.empty())
			continue;
		const MetricRecord &primary = v.metrics.front();
		double from = perSecond(primary.unit);
		if (!from)
			continue; /* not a time: Google Benchmark has no place for it */
		const char *unit = displayUnit(primary.unit);
		double to = perSecond(unit);
		std::vector<double> times;
		for (double x : primary.samples)
			times.push_back(x * to / from); /* one rounding: 1 ms is 1000 us, not 999.99... */
		/* Metrics with a sample in every repetition: the others would misalign. */
		std::vector<const MetricRecord *> fields;
		for (const auto &m : v.metrics)
			if (m.samples.size() == times.size())
				fields.push_back(&m);
		std::string name = v.name();
		size_t reps = times.size();
		nlohmann::json base = {{"family_index", family++}, {"per_family_instance_index", 0},
				       {"run_name", name}, {"repetitions", reps}, {"threads", 1}};
		for (size_t i = 0; i < reps; i++) {
			nlohmann::json r = base;
			r["name"] = name;
			r["run_type"] = "iteration";
			r["repetition_index"] = i;
			r["iterations"] = 1;
			r["real_time"] = times[i];
			r["cpu_time"] = times[i];
			r["time_unit"] = unit;
			for (const auto *m : fields)
				r[m->name] = m->samples[i];
			out.push_back(r);
		}
		if (reps < 2)
			continue; /* Google Benchmark aggregates from two repetitions on */
		Summary time = summarize(times);
		std::vector<Summary> summaries;
		for (const auto *m : fields)
			summaries.push_back(summarize(m->samples));
		for (const auto &[what, stat] : aggregates) {
			nlohmann::json r = base;
			r["name"] = name + "_" + what;
			r["run_type"] = "aggregate";
			r["aggregate_name"] = what;
			/* The cv is a ratio of times, in no time unit. */
			r["aggregate_unit"] = std::string(what) == "cv" ? "percentage" : "time";
			r["iterations"] = reps;
			r["real_time"] = time.*stat;
			r["cpu_time"] = time.*stat;
			r["time_unit"] = unit;
			for (size_t f = 0; f < fields.size(); f++)
				r[fields[f]->name] = summaries[f].*stat;
			out.push_back(r);
		}
	}
	return out;
}

} /* namespace */

nlohmann::json counterJson(const CounterRecord &c)
{
	nlohmann::json raw = nlohmann::json::array();
	std::vector<double> values;
	for (const auto &v : c.samples) {
		raw.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
		if (v)
			values.push_back(static_cast<double>(*v));
	}
	bool available = c.available();
	return {{"event", c.event},
		{"kind", c.kind},
		{"unit", "count"},
		{"available", available},
		{"reason", available ? "" : c.reason},
		{"samples", raw},
		{"summary", available ? summarize(values).toJson() : nlohmann::json(nullptr)},
		{"in_group", c.in_group},
		/* running < enabled means the PMU multiplexed it and the values are scaled. */
		{"time_enabled_ns", c.time_enabled_ns},
		{"time_running_ns", c.time_running_ns}};
}

const char *statusName(Status status)
{
	switch (status) {
	case Status::Ok:
		return "ok";
	case Status::Skipped:
		return "skipped";
	case Status::Error:
		return "error";
	}
	return "error";
}

std::optional<Status> parseStatus(const std::string &name)
{
	for (Status s : {Status::Ok, Status::Skipped, Status::Error})
		if (name == statusName(s))
			return s;
	return std::nullopt;
}

void checkLabel(const std::string &label)
{
	static const std::regex ok("[A-Za-z0-9][A-Za-z0-9._+-]{0,63}");
	if (!std::regex_match(label, ok))
		throw UsageError(fmt::format("label '{}': use 1-64 of A-Z a-z 0-9 . _ + - (it names files "
					     "and table rows)",
					     label));
}

std::string labelFromKernel(const std::string &release)
{
	std::string l;
	for (char c : release)
		l += (isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-') ? c : '-';
	if (l.empty() || !isalnum(static_cast<unsigned char>(l[0])))
		l = "k" + l;
	return l.substr(0, 64);
}

std::string paramDisplayName(const std::string &key)
{
	constexpr std::string_view suffix = "_bytes";
	if (key.size() > suffix.size() && key.ends_with(suffix))
		return key.substr(0, key.size() - suffix.size());
	return key;
}

std::string paramDisplayValue(const std::string &key, const nlohmann::json &value)
{
	if (value.is_string())
		return value.get<std::string>();
	/* A document built in memory holds sizes as signed integers; one read from disk, unsigned. */
	if (key.ends_with("_bytes") && value.is_number_integer() && value.get<int64_t>() >= 0)
		return formatSize(value.get<uint64_t>());
	return value.dump();
}

std::string recordName(const std::string &scenario, const RecordParams &params)
{
	std::string name = scenario;
	for (const auto &[k, v] : params)
		name += "/" + paramDisplayName(k) + ":" + paramDisplayValue(k, v);
	return name;
}

bool CounterRecord::available() const
{
	return !samples.empty() && std::all_of(samples.begin(), samples.end(),
					       [](const auto &v) { return v.has_value(); });
}

int exitCodeOf(const std::vector<Status> &statuses)
{
	bool ran = false, failed = false;
	for (Status s : statuses) {
		ran |= s == Status::Ok;
		failed |= s == Status::Error;
	}
	if (failed)
		return kExitRuntime;
	return ran ? kExitOk : kExitSkipped;
}

int RunRecord::exitCode() const
{
	std::vector<Status> statuses;
	for (const auto &v : variants)
		statuses.push_back(v.status);
	return exitCodeOf(statuses);
}

nlohmann::json resultsJson(const RunRecord &run)
{
	std::string created = run.created_utc.empty() ? utcNow("%Y-%m-%dT%H:%M:%SZ") : run.created_utc;
	nlohmann::json doc = run.gbench.is_object() ? run.gbench : nlohmann::json::object();
	if (!doc.contains("context"))
		doc["context"] = nlohmann::json::object();
	if (!doc["context"].contains("date"))
		doc["context"]["date"] = created;
	doc["benchmarks"] = benchmarkRecords(run);
	doc["pgtbench"] = {
		{"schema_version", kSchemaVersion},
		{"version", run.version.empty() ? std::string(kPgtbenchVersion) : run.version},
		{"label", run.label},
		{"created_utc", created},
		{"command_line", run.command_line},
		{"cpu", run.cpu},
		{"exit_code", run.exitCode()},
		{"config", run.config},
		{"env", run.env},
	};
	if (!run.emu_session.empty())
		doc["pgtbench"]["emu_session"] = run.emu_session;
	if (run.runs.is_array() && !run.runs.empty())
		doc["pgtbench"]["runs"] = run.runs;
	if (!run.kernel_log.is_null())
		doc["pgtbench"]["kernel_log"] = run.kernel_log;
	if (!run.noise_after.is_null())
		doc["pgtbench"]["noise_after"] = run.noise_after;
	nlohmann::json entries = nlohmann::json::array();
	for (const auto &v : run.variants)
		entries.push_back(variantJson(v));
	doc["entries"] = entries;
	return doc;
}

void writeResultsFile(const std::string &path, const RunRecord &run)
{
	writeJsonAtomic(path, resultsJson(run));
}

std::string defaultResultsPath(const std::string &label)
{
	return fmt::format("results/{}-{}.json", label, utcNow("%Y%m%d-%H%M%S"));
}

void writeJsonAtomic(const std::string &path, const nlohmann::json &doc)
{
	namespace fs = std::filesystem;
	fs::path target(path);
	std::error_code ec;
	if (target.has_parent_path())
		fs::create_directories(target.parent_path(), ec);
	std::string tmp = fmt::format("{}.tmp.{}", path, getpid());
	int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		throw RuntimeError(fmt::format("cannot create {}: {}", tmp, strerror(errno)));
	std::string text = doc.dump(2) + "\n";
	const char *p = text.data();
	size_t left = text.size();
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n <= 0) {
			int err = errno;
			close(fd);
			unlink(tmp.c_str());
			throw RuntimeError(fmt::format("cannot write {}: {}", tmp, strerror(err)));
		}
		p += n;
		left -= static_cast<size_t>(n);
	}
	if (fsync(fd) || close(fd)) {
		int err = errno;
		unlink(tmp.c_str());
		throw RuntimeError(fmt::format("cannot write {}: {}", tmp, strerror(err)));
	}
	if (rename(tmp.c_str(), path.c_str())) {
		int err = errno;
		unlink(tmp.c_str());
		throw RuntimeError(fmt::format("cannot rename {} to {}: {}", tmp, path, strerror(err)));
	}
}

} /* namespace pgt */
