// SPDX-License-Identifier: GPL-2.0
#include "scenario.h"

#include <iterator>

#include "errors.h"
#include "syswide_probe.h"
#include "util.h"

namespace pgt {

int64_t Params::integer(const std::string &name) const
{
	for (const auto &[k, v] : values)
		if (k == name)
			return std::get<int64_t>(v);
	throw RuntimeError("internal: no parameter " + name);
}

const std::string &Params::choice(const std::string &name) const
{
	for (const auto &[k, v] : values)
		if (k == name)
			return std::get<std::string>(v);
	throw RuntimeError("internal: no parameter " + name);
}

bool Params::has(const std::string &name) const
{
	for (const auto &kv : values)
		if (kv.first == name)
			return true;
	return false;
}

RecordParams Params::record(const ScenarioSpec &spec) const
{
	RecordParams out;
	for (const auto &[k, v] : values) {
		const ParamSpec *p = spec.param(k);
		/* Sizes are stored in bytes under a name that says so. */
		if (std::holds_alternative<int64_t>(v))
			out.emplace_back(p && p->kind == ParamKind::Size ? k + "_bytes" : k, std::get<int64_t>(v));
		else
			out.emplace_back(k, std::get<std::string>(v));
	}
	return out;
}

const ParamSpec *ScenarioSpec::param(const std::string &n) const
{
	for (const auto &p : params)
		if (p.name == n)
			return &p;
	return nullptr;
}

const MetricSpec *ScenarioSpec::metric(const std::string &n) const
{
	for (const auto &m : metrics)
		if (m.name == n)
			return &m;
	return nullptr;
}

std::vector<Params> cartesian(const ScenarioSpec &spec, const ParamLists &lists)
{
	std::vector<Params> points{Params{}};
	for (const auto &p : spec.params) {
		auto it = lists.find(p.name);
		if (it == lists.end() || it->second.empty())
			continue;
		std::vector<Params> next;
		for (const auto &base : points)
			for (const auto &v : it->second) {
				Params q = base;
				q.values.emplace_back(p.name, v);
				next.push_back(std::move(q));
			}
		points = std::move(next);
	}
	return points;
}

std::string variantName(const ScenarioSpec &spec, const Params &params)
{
	/* The results file's rule, so that a name read back is the name that was run. */
	return recordName(spec.name, params.record(spec));
}

void RunContext::startCounting(const Bracket &bracket) const
{
	if (counters)
		counters->start();
	for (SystemWideProbe *p : bracket.probes)
		if (p)
			p->start();
}

void RunContext::stopCounting(Sample &s, const Bracket &bracket) const
{
	for (SystemWideProbe *p : bracket.probes)
		if (p)
			p->stop();
	if (!counters)
		return;
	counters->stop();
	std::vector<CounterReading> readings = counters->read();
	if (!bracket.counters_prefix.empty())
		for (auto &c : readings)
			c.name = bracket.counters_prefix + c.name;
	s.counters.insert(s.counters.end(), std::make_move_iterator(readings.begin()),
			  std::make_move_iterator(readings.end()));
}

uint64_t RunContext::armRemote(const Bracket &bracket) const
{
	if (counters)
		counters->arm();
	for (SystemWideProbe *p : bracket.probes)
		if (p)
			p->start();
	return emu::reserveWindow();
}

void RunContext::finishRemote(Sample &s, uint64_t window, const Bracket &bracket) const
{
	/* Disabled by the other process already; stopping again changes nothing. */
	stopCounting(s, bracket);
	if constexpr (emu::kMarkers)
		s.windows[bracket.counters_prefix] = window;
}

Elapsed RunContext::countingCost(Sample &s) const
{
	const Bracket counters_only;
	return elapsed([&] {
		startCounting(counters_only);
		stopCounting(s, counters_only);
	});
}

namespace {

class EachRepetitionVariant : public PreparedVariant
{
public:
	EachRepetitionVariant(const Params &p, const RunContext &ctx, SampleFn fn)
		: params_(p), ctx_(ctx), fn_(std::move(fn))
	{
	}
	Sample sample() override { return fn_(params_, ctx_); }

private:
	Params params_;
	RunContext ctx_;
	SampleFn fn_;
};

} /* namespace */

PrepareFn eachRepetition(SampleFn fn)
{
	return [fn](const Params &p, const RunContext &ctx) -> std::unique_ptr<PreparedVariant> {
		return std::make_unique<EachRepetitionVariant>(p, ctx, fn);
	};
}

const ScenarioSpec *findScenario(const std::string &name)
{
	for (const ScenarioSpec *s : scenarios())
		if (s->name == name)
			return s;
	return nullptr;
}

} /* namespace pgt */
