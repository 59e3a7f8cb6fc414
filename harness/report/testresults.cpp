// SPDX-License-Identifier: GPL-2.0
/*
 * TAP and LAVA lines from a results file (testresults.h). Everything printed comes from
 * the file as read back, never from the runner's own state, so `run --tap` on a run and
 * the same lines made later from its file cannot disagree.
 */
#include "testresults.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "stats.h"

namespace pgt {

namespace {

/* Reasons are exception texts and may hold line breaks; a TAP or sh comment may not. */
std::string oneLine(const std::string &text)
{
	std::string out = text;
	for (char &c : out)
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
	return out;
}

/*
 * A plain decimal, never an exponent, that both a TAP reader and LAVA's measurement
 * field (a decimal number) take: six significant digits, trailing zeros dropped.
 */
std::string plainNumber(double v)
{
	if (!std::isfinite(v))
		return "0";
	int digits = v == 0 ? 1 : static_cast<int>(std::floor(std::log10(std::fabs(v)))) + 1;
	int decimals = std::clamp(6 - digits, 0, 12);
	std::string s = fmt::format("{:.{}f}", v, decimals);
	if (s.find('.') != std::string::npos) {
		s.erase(s.find_last_not_of('0') + 1);
		if (s.back() == '.')
			s.pop_back();
	}
	return s == "-0" ? "0" : s;
}

bool lavaSafe(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

std::string tapLine(size_t number, const TestOutcome &o)
{
	switch (o.status) {
	case Status::Ok:
		if (!o.median)
			return fmt::format("ok {} {} # {} not recorded\n", number, o.name, o.metric);
		return fmt::format("ok {} {} # {} {} {}\n", number, o.name, o.metric, plainNumber(*o.median), o.unit);
	case Status::Skipped:
		return fmt::format("ok {} {} # SKIP {}\n", number, o.name, oneLine(o.reason));
	case Status::Error:
		break;
	}
	return fmt::format("not ok {} {} # {}\n", number, o.name, oneLine(o.reason));
}

/* TAP's description ends at '#', which starts the directive: a name must not hold one. */
std::string tapName(const std::string &name)
{
	std::string out = oneLine(name);
	std::replace(out.begin(), out.end(), '#', '_');
	return out;
}

const char *lavaResult(Status status)
{
	switch (status) {
	case Status::Ok:
		return "pass";
	case Status::Skipped:
		return "skip";
	case Status::Error:
		break;
	}
	return "fail";
}

} /* namespace */

std::vector<TestOutcome> testOutcomes(const ResultsFile &results)
{
	std::vector<TestOutcome> out;
	for (const auto &v : results.entries) {
		TestOutcome o{.name = v.name, .status = v.status, .reason = v.reason, .metric = v.primary_metric};
		auto it = v.metrics.find(v.primary_metric);
		if (it != v.metrics.end()) {
			o.unit = it->second.unit;
			if (!it->second.samples.empty())
				o.median = summarize(it->second.samples).median;
		}
		out.push_back(std::move(o));
	}
	return out;
}

int testExitCode(const std::vector<TestOutcome> &outcomes)
{
	/* The run's own exit code: one rule for `run` with or without --tap. */
	std::vector<Status> statuses;
	for (const auto &o : outcomes)
		statuses.push_back(o.status);
	return exitCodeOf(statuses);
}

std::string formatTap(const std::vector<TestOutcome> &outcomes)
{
	std::string out = fmt::format("TAP version 13\n1..{}\n", outcomes.size());
	unsigned pass = 0, fail = 0, skip = 0;
	for (size_t i = 0; i < outcomes.size(); i++) {
		TestOutcome o = outcomes[i];
		o.name = tapName(o.name);
		out += tapLine(i + 1, o);
		pass += o.status == Status::Ok;
		skip += o.status == Status::Skipped;
		fail += o.status == Status::Error;
	}
	out += fmt::format("# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:0\n", pass, fail, skip);
	return out;
}

std::string lavaCaseId(const std::string &name)
{
	std::string out;
	for (char c : name) {
		if (c == '/')
			out += '.';
		else if (c == ':')
			out += '-';
		else
			out += lavaSafe(c) ? c : '_';
	}
	/* An id like "-x" would read as an option of lava-test-case. */
	if (out.empty() || out.front() == '-')
		out.insert(out.begin(), '_');
	return out;
}

std::vector<std::string> lavaCaseIds(const std::vector<std::string> &names)
{
	std::vector<std::string> ids;
	std::set<std::string> taken;
	/* Every plain id is reserved first, so a suffixed one never takes a later variant's own. */
	for (const auto &n : names)
		taken.insert(lavaCaseId(n));
	std::set<std::string> used;
	for (const auto &n : names) {
		std::string id = lavaCaseId(n);
		if (used.count(id)) {
			const std::string base = id;
			int k = 2;
			do
				id = fmt::format("{}.{}", base, k++);
			while (used.count(id) || taken.count(id));
		}
		used.insert(id);
		ids.push_back(std::move(id));
	}
	return ids;
}

std::string lavaUnit(const std::string &unit)
{
	if (unit == "%")
		return "percent";
	std::string out;
	for (char c : unit)
		out += lavaSafe(c) ? c : '_';
	return out.empty() ? "count" : out;
}

std::string formatLava(const std::vector<TestOutcome> &outcomes)
{
	std::vector<std::string> names;
	for (const auto &o : outcomes)
		names.push_back(o.name);
	std::vector<std::string> ids = lavaCaseIds(names);
	std::string out;
	for (size_t i = 0; i < outcomes.size(); i++) {
		const TestOutcome &o = outcomes[i];
		const char *result = lavaResult(o.status);
		if (!o.reason.empty() && o.status != Status::Ok)
			out += fmt::format("# {}: {}: {}\n", ids[i], result, oneLine(o.reason));
		out += fmt::format("lava-test-case {} --result {}", ids[i], result);
		if (o.status == Status::Ok && o.median)
			out += fmt::format(" --measurement {} --units {}", plainNumber(*o.median), lavaUnit(o.unit));
		out += '\n';
	}
	return out;
}

} /* namespace pgt */
