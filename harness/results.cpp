// SPDX-License-Identifier: GPL-2.0
#include "results.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

#include <fmt/format.h>

#include "errors.h"
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

} /* namespace */

nlohmann::json buildResults(const RunOutput &run, const RunConfig &config, const Env &env,
			    const std::string &label, const std::vector<std::string> &argv)
{
	nlohmann::json doc = run.gbench;
	if (!doc.contains("context"))
		doc["context"] = nlohmann::json::object();
	if (!doc.contains("benchmarks"))
		doc["benchmarks"] = nlohmann::json::array();
	doc["pgtbench"] = {
		{"schema_version", kSchemaVersion},
		{"version", kPgtbenchVersion},
		{"label", label},
		{"created_utc", utcNow("%Y-%m-%dT%H:%M:%SZ")},
		{"command_line", argv},
		{"cpu", run.cpu},
		{"exit_code", run.exitCode()},
		{"config", config.toJson()},
		{"env", env.toJson()},
	};
	nlohmann::json entries = nlohmann::json::array();
	for (const auto &e : run.entries)
		entries.push_back(e.toJson());
	doc["entries"] = entries;
	return doc;
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
