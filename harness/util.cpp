// SPDX-License-Identifier: GPL-2.0
#include "util.h"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace pgt {

std::optional<std::string> readFile(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		return std::nullopt;
	std::ostringstream ss;
	ss << in.rdbuf();
	if (in.bad())
		return std::nullopt;
	return ss.str();
}

std::optional<std::string> readLine(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		return std::nullopt;
	std::string line;
	std::getline(in, line);
	if (in.bad())
		return std::nullopt;
	return line;
}

std::optional<int> readInt(const std::string &path)
{
	auto line = readLine(path);
	if (!line)
		return std::nullopt;
	try {
		return std::stoi(*line);
	} catch (...) {
		return std::nullopt;
	}
}

std::string trim(std::string_view s)
{
	const char *ws = " \t\r\n";
	size_t b = s.find_first_not_of(ws);
	if (b == std::string_view::npos)
		return {};
	size_t e = s.find_last_not_of(ws);
	return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split(std::string_view s, char sep)
{
	std::vector<std::string> out;
	size_t start = 0;
	for (;;) {
		size_t pos = s.find(sep, start);
		out.emplace_back(s.substr(start, pos - start));
		if (pos == std::string_view::npos)
			break;
		start = pos + 1;
	}
	return out;
}

bool startsWith(std::string_view s, std::string_view prefix)
{
	return s.substr(0, prefix.size()) == prefix;
}

std::optional<uint64_t> parseSize(std::string_view s)
{
	std::string t = trim(s);
	if (t.empty() || !isdigit(static_cast<unsigned char>(t[0])))
		return std::nullopt;
	size_t i = 0;
	uint64_t v = 0;
	while (i < t.size() && isdigit(static_cast<unsigned char>(t[i]))) {
		uint64_t d = static_cast<uint64_t>(t[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return std::nullopt;
		v = v * 10 + d;
		i++;
	}
	std::string suffix = t.substr(i);
	std::transform(suffix.begin(), suffix.end(), suffix.begin(),
		       [](unsigned char c) { return std::tolower(c); });
	unsigned shift;
	if (suffix.empty() || suffix == "b")
		shift = 0;
	else if (suffix == "k" || suffix == "kb" || suffix == "kib")
		shift = 10;
	else if (suffix == "m" || suffix == "mb" || suffix == "mib")
		shift = 20;
	else if (suffix == "g" || suffix == "gb" || suffix == "gib")
		shift = 30;
	else if (suffix == "t" || suffix == "tb" || suffix == "tib")
		shift = 40;
	else
		return std::nullopt;
	if (shift && v > (UINT64_MAX >> shift))
		return std::nullopt;
	return v << shift;
}

std::string formatSize(uint64_t bytes)
{
	static const char units[] = {'T', 'G', 'M', 'K'};
	static const unsigned shifts[] = {40, 30, 20, 10};
	for (size_t i = 0; i < 4; i++) {
		uint64_t unit = uint64_t{1} << shifts[i];
		if (bytes >= unit && bytes % unit == 0)
			return fmt::format("{}{}", bytes / unit, units[i]);
	}
	return fmt::format("{}", bytes);
}

std::string humanSize(uint64_t bytes)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = static_cast<double>(bytes);
	size_t u = 0;
	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	return u ? fmt::format("{:.1f} {}", v, units[u]) : fmt::format("{} B", bytes);
}

std::string rooted(const std::string &root, std::string_view path)
{
	if (root.empty() || root == "/")
		return std::string(path);
	std::string r = root;
	if (r.back() == '/')
		r.pop_back();
	return r + std::string(path);
}

std::vector<std::string> listDir(const std::string &path)
{
	std::vector<std::string> names;
	DIR *d = opendir(path.c_str());
	if (!d)
		return names;
	while (struct dirent *e = readdir(d)) {
		std::string n = e->d_name;
		if (n != "." && n != "..")
			names.push_back(n);
	}
	closedir(d);
	std::sort(names.begin(), names.end());
	return names;
}

uint64_t monotonicNs()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::optional<double> toSeconds(double value, const std::string &unit)
{
	if (unit == "s")
		return value;
	if (unit == "ms")
		return value / 1e3;
	if (unit == "us")
		return value / 1e6;
	if (unit == "ns")
		return value / 1e9;
	return std::nullopt;
}

} /* namespace pgt */
