// SPDX-License-Identifier: GPL-2.0
#include "plot.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "datadir.h"
#include "errors.h"
#include "util.h"

namespace pgt {

namespace {

constexpr const char *kPython = "/usr/bin/python3";

struct ScriptResult {
	int status = -1; /* exit code, or -1 when it did not exit normally */
	std::string err; /* its stderr, last line */
};

/* Runs the script with args, its stderr captured (it reports failures in one line). */
ScriptResult runScript(const std::vector<std::string> &args)
{
	std::string script = plotScript();
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC))
		throw RuntimeError(fmt::format("pipe: {}", strerror(errno)));
	pid_t pid = fork();
	if (pid < 0)
		throw RuntimeError(fmt::format("fork: {}", strerror(errno)));
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		std::vector<std::string> all{kPython, script};
		all.insert(all.end(), args.begin(), args.end());
		std::vector<char *> argv;
		for (auto &a : all)
			argv.push_back(a.data());
		argv.push_back(nullptr);
		execv(kPython, argv.data());
		fprintf(stderr, "cannot run %s: %s\n", kPython, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	std::string err;
	char buf[4096];
	for (ssize_t n; (n = read(pipefd[0], buf, sizeof(buf))) != 0;) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		err.append(buf, static_cast<size_t>(n));
	}
	close(pipefd[0]);
	int wstatus = 0;
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	ScriptResult r;
	r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
	auto lines = split(trim(err), '\n');
	r.err = lines.empty() ? "" : trim(lines.back());
	/* The script's own messages start with its name; ours say who failed already. */
	if (startsWith(r.err, "pgtbench_plot: "))
		r.err = r.err.substr(strlen("pgtbench_plot: "));
	return r;
}

} /* namespace */

std::string plotScript()
{
	return dataDir() + "/plots/pgtbench_plot.py";
}

std::string plotPathFor(const std::string &results_path)
{
	std::filesystem::path p(results_path);
	p.replace_extension(".png");
	return p.string();
}

void checkPlotOutput(const std::string &out)
{
	std::filesystem::path p(out);
	std::string ext = p.extension().string();
	if (ext != ".png" && ext != ".svg")
		throw UsageError(fmt::format("--plot/--out {}: the plot file must end in .png or .svg", out));
	if (p.has_parent_path()) {
		std::error_code ec;
		std::filesystem::create_directories(p.parent_path(), ec);
		if (ec)
			throw UsageError(fmt::format("{}: cannot create {}: {}", out, p.parent_path().string(),
						     ec.message()));
	}
	if (access(plotScript().c_str(), R_OK))
		throw UsageError(fmt::format("cannot read the plot script {}: {}", plotScript(), strerror(errno)));
	ScriptResult r = runScript({"--check"});
	if (r.status != 0)
		throw UsageError(fmt::format("cannot plot: {}", r.err.empty() ? "the plot script failed" : r.err));
}

void plotComparison(const Comparison &c, const std::string &out, const PlotOptions &options)
{
	const char *tmpdir = getenv("TMPDIR");
	std::string tmpl = fmt::format("{}/pgtbench-compare-XXXXXX.json", tmpdir && *tmpdir ? tmpdir : "/tmp");
	int fd = mkstemps(tmpl.data(), 5);
	if (fd < 0)
		throw RuntimeError(fmt::format("cannot create a temporary file: {}", strerror(errno)));
	std::string text = comparisonJson(c).dump() + "\n";
	bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
	close(fd);
	if (!written) {
		unlink(tmpl.c_str());
		throw RuntimeError(fmt::format("cannot write {}", tmpl));
	}
	std::vector<std::string> args{"--in", tmpl, "--out", out};
	if (!options.order_panel)
		args.push_back("--no-order-panel");
	ScriptResult r = runScript(args);
	unlink(tmpl.c_str());
	if (r.status == kExitUsage)
		throw UsageError(r.err);
	if (r.status != 0)
		throw RuntimeError(fmt::format("plot failed: {}", r.err.empty() ? "the plot script died" : r.err));
}

} /* namespace pgt */
