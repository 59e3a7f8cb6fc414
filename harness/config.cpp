// SPDX-License-Identifier: GPL-2.0
#include "config.h"

#include <algorithm>
#include <cstdio>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "errors.h"
#include "results.h"
#include "util.h"

namespace pgt {

namespace {

std::string where(const std::string &path, const toml::node &node)
{
	return fmt::format("{}:{}", path, node.source().begin.line);
}

ParamValue checkedValue(const ParamSpec &spec, const toml::node &node, const std::string &path)
{
	auto fail = [&](const std::string &why) {
		return UsageError(fmt::format("{}: {}: {}", where(path, node), spec.name, why));
	};
	if (spec.kind == ParamKind::Choice) {
		if (!node.is_string())
			throw fail(spec.choices.empty() ? std::string("expected a string")
							: fmt::format("expected a string, one of {}",
								      fmt::join(spec.choices, ", ")));
		try {
			return parseParamValue(spec, node.as_string()->get());
		} catch (const UsageError &e) {
			throw fail(e.what());
		}
	}
	if (spec.kind == ParamKind::Size && node.is_string()) {
		try {
			return parseParamValue(spec, node.as_string()->get());
		} catch (const UsageError &e) {
			throw fail(e.what());
		}
	}
	if (!node.is_integer())
		throw fail(spec.kind == ParamKind::Size ? "expected a size such as \"1G\" or a byte count"
							: "expected an integer");
	try {
		return parseParamValue(spec, std::to_string(node.as_integer()->get()));
	} catch (const UsageError &e) {
		throw fail(e.what());
	}
}

int checkedInt(const toml::node &node, const std::string &path, const char *key, int lo, int hi)
{
	if (!node.is_integer())
		throw UsageError(fmt::format("{}: {}: expected an integer", where(path, node), key));
	int64_t v = node.as_integer()->get();
	if (v < lo || v > hi)
		throw UsageError(fmt::format("{}: {}: {} is out of range [{}, {}]", where(path, node), key,
					     v, lo, hi));
	return static_cast<int>(v);
}

void parseRunTable(RunConfig &c, const toml::table &t, const std::string &path)
{
	for (const auto &[key, node] : t) {
		std::string k(key.str());
		if (k == "reps") {
			c.reps = checkedInt(node, path, "reps", 1, kMaxReps);
		} else if (k == "warmup") {
			c.warmup = checkedInt(node, path, "warmup", 0, kMaxWarmup);
		} else if (k == "cpu") {
			if (node.is_string() && node.as_string()->get() == "auto")
				c.cpu = -1;
			else
				c.cpu = checkedInt(node, path, "cpu", 0, 65535);
		} else if (k == "counters" || k == "tune") {
			if (!node.is_boolean())
				throw UsageError(fmt::format("{}: {}: expected true or false", where(path, node), k));
			(k == "counters" ? c.counters : c.tune) = node.as_boolean()->get();
		} else if (k == "events" || k == "flush_sites") {
			const toml::array *arr = node.as_array();
			std::vector<std::string> names;
			for (size_t i = 0; arr && i < arr->size(); i++) {
				const toml::node &n = *arr->get(i);
				if (!n.is_string() || n.as_string()->get().empty())
					throw UsageError(fmt::format("{}: {}: expected non-empty strings",
								     where(path, n), k));
				names.push_back(n.as_string()->get());
			}
			if (!arr)
				throw UsageError(fmt::format("{}: {}: expected a list of strings", where(path, node), k));
			(k == "events" ? c.events : c.flush_sites) = names;
		} else if (k == "order") {
			if (!node.is_string())
				throw UsageError(fmt::format("{}: order: expected a string", where(path, node)));
			setRunOrder(c, node.as_string()->get(), where(path, node) + ": order");
		} else if (k == "seed") {
			if (!node.is_integer() || node.as_integer()->get() < 0)
				throw UsageError(fmt::format("{}: seed: expected a non-negative integer", where(path, node)));
			c.seed = static_cast<uint64_t>(node.as_integer()->get());
			c.seed_given = true;
		} else if (k == "label" || k == "filter") {
			if (!node.is_string())
				throw UsageError(fmt::format("{}: {}: expected a string", where(path, node), k));
			std::string v = node.as_string()->get();
			if (k == "label") {
				try {
					checkLabel(v);
				} catch (const UsageError &e) {
					throw UsageError(fmt::format("{}: {}", where(path, node), e.what()));
				}
				c.label = v;
			} else {
				try {
					std::regex re(v);
				} catch (const std::regex_error &e) {
					throw UsageError(fmt::format("{}: filter: bad regular expression: {}",
								     where(path, node), e.what()));
				}
				c.filter = v;
			}
		} else {
			throw UsageError(fmt::format("{}: unknown key '{}' in [run] (known: reps, warmup, "
						     "label, cpu, filter, counters, tune, order, seed, events, flush_sites)",
						     where(path, node), k));
		}
	}
}

ScenarioConfig parseScenarioTable(const ScenarioSpec &spec, const toml::table &t,
				  const std::string &path)
{
	ScenarioConfig sc;
	sc.spec = &spec;
	for (const auto &p : spec.params)
		sc.lists[p.name] = defaultValues(p);
	for (const auto &[key, node] : t) {
		std::string k(key.str());
		if (k == "reps") {
			sc.reps = checkedInt(node, path, "reps", 1, kMaxReps);
			continue;
		}
		if (k == "warmup") {
			sc.warmup = checkedInt(node, path, "warmup", 0, kMaxWarmup);
			continue;
		}
		const ParamSpec *p = spec.param(k);
		if (!p) {
			std::vector<std::string> known;
			for (const auto &q : spec.params)
				known.push_back(q.name);
			known.push_back("reps");
			known.push_back("warmup");
			throw UsageError(fmt::format("{}: unknown key '{}' in [{}] (known: {})",
						     where(path, node), k, spec.name, fmt::join(known, ", ")));
		}
		std::vector<ParamValue> values;
		if (const toml::array *arr = node.as_array()) {
			if (!p->list)
				throw UsageError(fmt::format("{}: {}: takes one value, not a list",
							     where(path, node), k));
			if (arr->empty())
				throw UsageError(fmt::format("{}: {}: empty list", where(path, node), k));
			for (const auto &elem : *arr)
				values.push_back(checkedValue(*p, elem, path));
		} else {
			values.push_back(checkedValue(*p, node, path));
		}
		sc.lists[k] = values;
	}
	return sc;
}

nlohmann::json valueJson(const ParamValue &v)
{
	if (std::holds_alternative<int64_t>(v))
		return std::get<int64_t>(v);
	return std::get<std::string>(v);
}

} /* namespace */

ParamValue parseParamValue(const ParamSpec &spec, const std::string &text)
{
	switch (spec.kind) {
	case ParamKind::Choice:
		/* A choice without choices is free text: a path (test_vmalloc's module). */
		if (spec.choices.empty()) {
			if (text.empty())
				throw UsageError("expected a non-empty string");
			return text;
		}
		for (const auto &c : spec.choices)
			if (c == text)
				return text;
		throw UsageError(fmt::format("'{}' is not one of {}", text, fmt::join(spec.choices, ", ")));
	case ParamKind::Size: {
		auto v = parseSize(text);
		if (!v)
			throw UsageError(fmt::format("'{}' is not a size (examples: 64K, 2M, 1G)", text));
		if (*v < static_cast<uint64_t>(spec.min) || *v > static_cast<uint64_t>(spec.max))
			throw UsageError(fmt::format("{} is out of range [{}, {}]", text,
						     formatSize(static_cast<uint64_t>(spec.min)),
						     formatSize(static_cast<uint64_t>(spec.max))));
		return static_cast<int64_t>(*v);
	}
	case ParamKind::Int: {
		size_t used = 0;
		int64_t v;
		try {
			v = std::stoll(text, &used, 0);
		} catch (...) {
			used = 0;
		}
		if (used == 0 || used != text.size())
			throw UsageError(fmt::format("'{}' is not an integer", text));
		if (v < spec.min || v > spec.max)
			throw UsageError(fmt::format("{} is out of range [{}, {}]", v, spec.min, spec.max));
		return v;
	}
	}
	throw UsageError("internal: bad parameter kind");
}

std::vector<ParamValue> defaultValues(const ParamSpec &spec)
{
	std::vector<ParamValue> values;
	for (const auto &d : spec.defaults)
		values.push_back(parseParamValue(spec, d));
	return values;
}

RunConfig defaultConfig()
{
	RunConfig c;
	for (const ScenarioSpec *s : scenarios()) {
		ScenarioConfig sc;
		sc.spec = s;
		for (const auto &p : s->params)
			sc.lists[p.name] = defaultValues(p);
		c.scenarios.push_back(std::move(sc));
	}
	return c;
}

RunConfig loadConfig(const std::string &path)
{
	toml::table root;
	try {
		root = toml::parse_file(path);
	} catch (const toml::parse_error &e) {
		if (e.source().begin.line == 0)
			throw UsageError(fmt::format("{}: {}", path, e.description()));
		throw UsageError(fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()));
	}
	RunConfig c;
	c.path = path;
	/* toml++ iterates keys sorted; run the scenarios in the order the file lists them. */
	std::vector<std::pair<std::string, const toml::node *>> tables;
	for (const auto &[key, node] : root)
		tables.emplace_back(std::string(key.str()), &node);
	std::stable_sort(tables.begin(), tables.end(), [](const auto &a, const auto &b) {
		return a.second->source().begin.line < b.second->source().begin.line;
	});
	for (const auto &[key, node_ptr] : tables) {
		const toml::node &node = *node_ptr;
		const std::string &k = key;
		const toml::table *t = node.as_table();
		if (!t)
			throw UsageError(fmt::format("{}: '{}' must be a table ([run] or a scenario)",
						     where(path, node), k));
		if (k == "run") {
			parseRunTable(c, *t, path);
			continue;
		}
		const ScenarioSpec *spec = findScenario(k);
		if (!spec) {
			std::vector<std::string> known;
			for (const ScenarioSpec *s : scenarios())
				known.push_back(s->name);
			throw UsageError(fmt::format("{}: unknown scenario [{}] (known: {})", where(path, node),
						     k, fmt::join(known, ", ")));
		}
		c.scenarios.push_back(parseScenarioTable(*spec, *t, path));
	}
	if (c.scenarios.empty())
		throw UsageError(fmt::format("{}: no scenario tables: nothing to run", path));
	return c;
}

void overrideParam(RunConfig &config, const std::string &name, const std::string &text)
{
	bool used = false;
	for (auto &sc : config.scenarios) {
		const ParamSpec *p = sc.spec->param(name);
		if (!p)
			continue;
		try {
			sc.lists[name] = {parseParamValue(*p, text)};
		} catch (const UsageError &e) {
			throw UsageError(fmt::format("--{} for {}: {}", name, sc.spec->name, e.what()));
		}
		used = true;
	}
	if (!used)
		throw UsageError(fmt::format("--{}: none of the configured scenarios takes a {}", name, name));
}

void setRunOrder(RunConfig &config, const std::string &order, const std::string &where)
{
	if (std::find(kRunOrders.begin(), kRunOrders.end(), order) == kRunOrders.end())
		throw UsageError(fmt::format("{}: \"{}\" is not one of {}", where, order, fmt::join(kRunOrders, ", ")));
	config.order = order;
}

void shareRepetitions(RunConfig &config, const std::string &share)
{
	int part = 0, parts = 0;
	char rest = 0;
	if (sscanf(share.c_str(), "%d/%d%c", &part, &parts, &rest) != 2 || parts < 1 || part < 1 ||
	    part > parts)
		throw UsageError(fmt::format("--share {}: expected K/R with 1 <= K <= R", share));
	auto shareOf = [&](int reps, const std::string &whose) {
		if (reps < parts)
			throw UsageError(fmt::format("--share {}: {} has {} repetition{}, fewer than the {} "
						     "rounds (each must run at least one)",
						     share, whose, reps, reps == 1 ? "" : "s", parts));
		return reps / parts + (part - 1 < reps % parts ? 1 : 0);
	};
	bool global_used = config.scenarios.empty();
	for (auto &s : config.scenarios) {
		if (s.reps)
			s.reps = shareOf(*s.reps, fmt::format("[{}]", s.spec->name));
		else
			global_used = true;
	}
	/* [run] reps only matters for the scenarios without reps of their own. */
	config.reps = global_used ? shareOf(config.reps, "[run]") : config.reps;
	config.share_part = part;
	config.share_parts = parts;
}

nlohmann::json RunConfig::toJson() const
{
	nlohmann::json j;
	j["path"] = path;
	j["reps"] = reps;
	j["warmup"] = warmup;
	j["label"] = label;
	j["cpu"] = cpu < 0 ? nlohmann::json("auto") : nlohmann::json(cpu);
	j["filter"] = filter;
	j["counters"] = counters;
	j["events"] = events ? nlohmann::json(*events) : nlohmann::json("default");
	j["flush_sites"] = flush_sites ? nlohmann::json(*flush_sites) : nlohmann::json("default");
	if (share_parts)
		j["share"] = fmt::format("{}/{}", share_part, share_parts);
	j["tune"] = tune ? tune_plan.toJson() : nlohmann::json(false);
	j["order"] = order;
	if (order == "shuffle")
		j["seed"] = seed;
	nlohmann::json sc = nlohmann::json::object();
	for (const auto &s : scenarios) {
		nlohmann::json t = nlohmann::json::object();
		for (const auto &[k, values] : s.lists) {
			nlohmann::json arr = nlohmann::json::array();
			for (const auto &v : values)
				arr.push_back(valueJson(v));
			t[k] = arr;
		}
		if (s.reps)
			t["reps"] = *s.reps;
		if (s.warmup)
			t["warmup"] = *s.warmup;
		sc[s.spec->name] = t;
	}
	j["scenarios"] = sc;
	return j;
}

} /* namespace pgt */
