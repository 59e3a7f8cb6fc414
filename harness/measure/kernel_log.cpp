// SPDX-License-Identifier: GPL-2.0
#include "kernel_log.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "util.h"

namespace pgt {

namespace {

bool toU64(std::string_view s, uint64_t &out)
{
	auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
	return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

/* What the kernel prints when something is wrong, and what comes with it. */
constexpr std::string_view kHeadlines[] = {
	"WARNING:", "BUG:", "Oops", "Kernel panic",
	"rcu: INFO:", "rcu_preempt detected stalls", "rcu_sched detected stalls", "self-detected stall",
	"soft lockup", "hard LOCKUP", "blocked for more than", /* hung_task */
};
constexpr std::string_view kContext[] = {
	"cut here", "Call trace", "Call Trace", "hung_task",
};

} /* namespace */

std::optional<KmsgRecord> parseKmsgRecord(std::string_view record)
{
	size_t semi = record.find(';');
	if (semi == std::string_view::npos)
		return std::nullopt;
	/* Fields after the fourth (flags) may be added by later kernels: ignore them. */
	auto fields = split(record.substr(0, semi), ',');
	uint64_t prefix = 0;
	KmsgRecord r;
	if (fields.size() < 4 || !toU64(fields[0], prefix) || !toU64(fields[1], r.seq) || !toU64(fields[2], r.usec))
		return std::nullopt;
	r.level = static_cast<unsigned>(prefix & 7);
	r.facility = static_cast<unsigned>(prefix >> 3);
	std::string_view text = record.substr(semi + 1);
	/* The message ends at its newline; " KEY=value" dictionary lines follow. */
	r.text = std::string(text.substr(0, text.find('\n')));
	return r;
}

KernelLine classifyKernelLine(std::string_view text)
{
	for (auto h : kHeadlines)
		if (text.find(h) != std::string_view::npos)
			return KernelLine::Headline;
	for (auto c : kContext)
		if (text.find(c) != std::string_view::npos)
			return KernelLine::Context;
	return KernelLine::Other;
}

void KernelLogScan::add(std::string_view record)
{
	auto r = parseKmsgRecord(record);
	/* User space can write to /dev/kmsg, but never as facility 0: that is the kernel's. */
	if (!r || r->facility != 0)
		return;
	if (classifyKernelLine(r->text) != KernelLine::Other)
		lines.push_back(r->text);
}

unsigned KernelLogScan::warnings() const
{
	auto n = std::count_if(lines.begin(), lines.end(),
			       [](const auto &l) { return classifyKernelLine(l) == KernelLine::Headline; });
	return n ? static_cast<unsigned>(n) : !lines.empty();
}

std::string KernelLogScan::first() const
{
	for (const auto &l : lines)
		if (classifyKernelLine(l) == KernelLine::Headline)
			return l;
	return lines.empty() ? "" : lines.front();
}

nlohmann::json KernelLogScan::toJson() const
{
	return {{"available", available}, {"reason", reason}, {"lines", lines},
		{"warnings", warnings()}, {"lost", lost}};
}

KernelLogWatch::KernelLogWatch(const std::string &path) : path_(path)
{
	fd_ = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd_ < 0) {
		int err = errno;
		reason_ = fmt::format("cannot open {}: {}", path, strerror(err));
		if (err == EPERM || err == EACCES)
			reason_ += " (kernel.dmesg_restrict=1 needs CAP_SYSLOG: run as root)";
		return;
	}
	/* Only what is logged from now on: SEEK_END puts the reader after the last record. */
	if (lseek(fd_, 0, SEEK_END) < 0) {
		reason_ = fmt::format("cannot seek to the end of {}: {}", path, strerror(errno));
		close(fd_);
		fd_ = -1;
	}
}

KernelLogWatch::~KernelLogWatch()
{
	if (fd_ >= 0)
		close(fd_);
}

std::string KernelLogWatch::drain(bool &lost, const std::function<void(std::string_view)> &each)
{
	if (fd_ < 0)
		return reason_.empty() ? "already read" : reason_;
	/* A record is at most CONSOLE_EXT_LOG_MAX (8K); a smaller buffer makes read() fail. */
	std::vector<char> buf(16384);
	for (;;) {
		ssize_t n = ::read(fd_, buf.data(), buf.size());
		if (n > 0) {
			each(std::string_view(buf.data(), static_cast<size_t>(n)));
			continue;
		}
		if (n == 0)
			return {}; /* not a kmsg device (a file in the tests): its end */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return {}; /* every record read */
		if (errno == EPIPE) {
			/* The ring wrapped past our position; the next read() resumes at the oldest. */
			lost = true;
			continue;
		}
		return fmt::format("cannot read {}: {}", path_, strerror(errno));
	}
}

KernelLogScan KernelLogWatch::finish()
{
	KernelLogScan scan;
	std::string why = drain(scan.lost, [&](std::string_view record) { scan.add(record); });
	scan.available = why.empty();
	scan.reason = why;
	if (fd_ >= 0) {
		close(fd_);
		fd_ = -1;
	}
	return scan;
}

KernelLogWatch::Records KernelLogWatch::read()
{
	Records r;
	r.reason = drain(r.lost, [&](std::string_view record) {
		if (auto k = parseKmsgRecord(record))
			r.records.push_back(std::move(*k));
	});
	return r;
}

} /* namespace pgt */
