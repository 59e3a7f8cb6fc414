/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel log during a run: a WARN, an RCU stall or a soft lockup while we measure
 * makes the numbers suspect (the kernel spent its time printing a backtrace, or the
 * code under test is broken), and the run table has to say so.
 *
 * KernelLogWatch opens /dev/kmsg at the start of a run and seeks to its end, so only
 * what the kernel logs afterwards is read; finish() reads each new record (one per
 * read()) and keeps the lines that report trouble. A log that cannot be read (no
 * /dev/kmsg, dmesg_restrict without CAP_SYSLOG) is "unavailable" with the reason,
 * never "clean".
 */
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgt {

/* One /dev/kmsg record: "<prefix>,<seq>,<usec>,<flags>[,...];<text>\n[ KEY=value\n...]" */
struct KmsgRecord {
	unsigned level = 0;    /* 0 (emerg) .. 7 (debug) */
	unsigned facility = 0; /* 0: the kernel's own; user space's writes are >= 1 */
	uint64_t seq = 0;
	uint64_t usec = 0; /* since boot */
	std::string text;  /* the message, without its dictionary lines */
};
std::optional<KmsgRecord> parseKmsgRecord(std::string_view record);

/*
 * Whether a kernel line reports trouble: a Headline starts a report (WARNING:, BUG:,
 * Oops, Kernel panic, RCU stalls, soft/hard lockups, hung tasks), Context belongs to
 * one ("cut here", "Call trace", hung_task's advice).
 */
enum class KernelLine { Other, Headline, Context };
KernelLine classifyKernelLine(std::string_view text);

struct KernelLogScan {
	bool available = false;
	std::string reason; /* why not available */
	std::vector<std::string> lines; /* the trouble lines, in order */
	bool lost = false;		/* records were overwritten before we read them */

	/* One record as read(): kept when it is the kernel's and reports trouble. */
	void add(std::string_view record);
	/*
	 * The reports among the lines: their headlines, so a WARN's "cut here", "WARNING:"
	 * and "Call trace" are one; 1 for lines without a headline (it was logged before
	 * the watch began, or lost).
	 */
	unsigned warnings() const;
	/* The first headline (or line): what the table quotes. */
	std::string first() const;
	nlohmann::json toJson() const;
};

class KernelLogWatch
{
public:
	/* Opens `path` and seeks to its end; failures are kept for finish() to report. */
	explicit KernelLogWatch(const std::string &path = "/dev/kmsg");
	~KernelLogWatch();
	KernelLogWatch(const KernelLogWatch &) = delete;
	KernelLogWatch &operator=(const KernelLogWatch &) = delete;

	/* Every record logged since the watch began; the watch ends. */
	KernelLogScan finish();

	/*
	 * The records logged since the watch began or since the last read(), parsed; the
	 * watch goes on (a scenario reading what a module it loaded printed). An unreadable
	 * log gives its reason, records overwritten before they were read set lost.
	 */
	struct Records {
		std::vector<KmsgRecord> records;
		bool lost = false;
		std::string reason; /* "" when the log could be read */
	};
	Records read();

private:
	/* Hands each record to `each`; "" or why the log could not be read. */
	std::string drain(bool &lost, const std::function<void(std::string_view)> &each);

	std::string path_;
	std::string reason_;
	int fd_ = -1;
};

} /* namespace pgt */
