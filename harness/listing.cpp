// SPDX-License-Identifier: GPL-2.0
#include "listing.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util.h"

namespace pgt {

namespace {

const char *kindName(ParamKind kind)
{
	switch (kind) {
	case ParamKind::Size:
		return "size";
	case ParamKind::Int:
		return "integer";
	case ParamKind::Choice:
		break;
	}
	return "choice";
}

nlohmann::ordered_json paramJson(const ParamSpec &p)
{
	nlohmann::ordered_json j{{"name", p.name}, {"help", p.help}, {"kind", kindName(p.kind)}};
	if (p.kind == ParamKind::Choice) {
		j["choices"] = p.choices;
	} else {
		j["min"] = p.min;
		j["max"] = p.max;
	}
	j["list"] = p.list;
	j["defaults"] = p.defaults;
	return j;
}

nlohmann::ordered_json variantJson(const Variant &v)
{
	nlohmann::ordered_json params = nlohmann::ordered_json::object();
	for (const auto &[k, value] : v.params.record(*v.spec))
		params[k] = value;
	return {{"name", v.name}, {"params", params}, {"runnable", v.runnable()}, {"reason", v.reason}};
}

std::string paramLine(const nlohmann::ordered_json &p)
{
	std::string kind = p["kind"].get<std::string>(), range;
	if (kind == "size")
		range = fmt::format("size {}..{}", formatSize(p["min"].get<uint64_t>()),
				    formatSize(p["max"].get<uint64_t>()));
	else if (kind == "integer")
		range = fmt::format("integer {}..{}", p["min"].get<int64_t>(), p["max"].get<int64_t>());
	else
		range = p["choices"].empty() ? "a string"
					     : fmt::format("one of {}", fmt::join(p["choices"].get<std::vector<std::string>>(), ", "));
	return fmt::format("    {:<8} {}; {}{}; default {}\n", p["name"].get<std::string>(),
			   p["help"].get<std::string>(), range, p["list"].get<bool>() ? ", list" : "",
			   fmt::join(p["defaults"].get<std::vector<std::string>>(), ", "));
}

} /* namespace */

nlohmann::ordered_json listJson(const std::vector<Variant> &variants)
{
	nlohmann::ordered_json list = nlohmann::ordered_json::array();
	for (const ScenarioSpec *s : scenarios()) {
		nlohmann::ordered_json sc{{"name", s->name}, {"description", s->description}};
		sc["params"] = nlohmann::ordered_json::array();
		for (const auto &p : s->params)
			sc["params"].push_back(paramJson(p));
		sc["metrics"] = nlohmann::ordered_json::array();
		for (const auto &m : s->metrics)
			sc["metrics"].push_back({{"name", m.name},
						 {"unit", m.unit},
						 {"better", m.better == Better::Lower ? "lower" : "higher"},
						 {"help", m.help}});
		sc["variants"] = nlohmann::ordered_json::array();
		for (const auto &v : variants)
			if (v.spec == s)
				sc["variants"].push_back(variantJson(v));
		list.push_back(std::move(sc));
	}
	return {{"scenarios", list}};
}

std::string formatList(const nlohmann::ordered_json &list)
{
	std::string out;
	for (const auto &s : list["scenarios"]) {
		out += fmt::format("{} - {}\n", s["name"].get<std::string>(), s["description"].get<std::string>());
		for (const auto &p : s["params"])
			out += paramLine(p);
		for (const auto &m : s["metrics"])
			out += fmt::format("    metric {} [{}, {} is better]: {}\n", m["name"].get<std::string>(),
					   m["unit"].get<std::string>(), m["better"].get<std::string>(),
					   m["help"].get<std::string>());
		for (const auto &v : s["variants"]) {
			if (v["runnable"].get<bool>())
				out += fmt::format("  run   {}\n", v["name"].get<std::string>());
			else
				out += fmt::format("  skip  {}: {}\n", v["name"].get<std::string>(),
						   v["reason"].get<std::string>());
		}
	}
	return out;
}

} /* namespace pgt */
