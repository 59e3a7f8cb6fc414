// SPDX-License-Identifier: GPL-2.0
#include "counters.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <set>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* libpfm4's own copy of the perf ABI: <linux/perf_event.h> must not be included too. */
#include <perfmon/pfmlib_perf_event.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util.h"

namespace pgt {

namespace {

constexpr uint64_t kReadFormat = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;

int perfOpen(struct perf_event_attr *attr, int group_fd)
{
	/* pid 0, cpu -1: this thread (and its children with inherit) on any CPU. */
	int fd = static_cast<int>(syscall(__NR_perf_event_open, attr, 0, -1, group_fd, 0));
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

std::string openError(int err, const Env &env)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return fmt::format("not permitted (perf_event_paranoid={}; run as root)",
				   env.perf.paranoid ? std::to_string(*env.perf.paranoid) : "?");
	case ENOENT:
		return "no such event on this CPU (or the hypervisor hides it)";
	case EOPNOTSUPP:
		return "not supported by this PMU";
	case ENODEV:
		return "no PMU for it";
	default:
		return strerror(err);
	}
}

/* A kernel text symbol's address (0 when kptr_restrict hides it); nullopt: absent. */
std::optional<uint64_t> kallsymsAddress(const std::string &root, const std::string &symbol)
{
	std::ifstream in(rooted(root, "/proc/kallsyms"));
	std::string addr, type, name;
	while (in >> addr >> type >> name) {
		in.ignore(4096, '\n');
		if (name == symbol && (type == "T" || type == "t"))
			return std::strtoull(addr.c_str(), nullptr, 16);
	}
	return std::nullopt;
}

std::optional<int> pmuType(const std::string &root, const std::string &pmu)
{
	return readInt(rooted(root, "/sys/bus/event_source/devices/" + pmu + "/type"));
}


bool pfmReady()
{
	static int rc = pfm_initialize();
	return rc == PFM_SUCCESS;
}

/* "config:0-7,32-35" applied to value v: OR the bits of v into the named config word. */
bool applyFormat(const std::string &format, uint64_t v, SysfsEvent &e)
{
	size_t colon = format.find(':');
	if (colon == std::string::npos)
		return false;
	std::string word = trim(format.substr(0, colon));
	uint64_t *dst = word == "config" ? &e.config : word == "config1" ? &e.config1
		      : word == "config2" ? &e.config2 : nullptr;
	if (!dst)
		return false;
	for (const auto &range : split(trim(format.substr(colon + 1)), ',')) {
		unsigned lo = 0, hi = 0;
		if (sscanf(range.c_str(), "%u-%u", &lo, &hi) != 2) {
			if (sscanf(range.c_str(), "%u", &lo) != 1)
				return false;
			hi = lo;
		}
		if (hi < lo || hi > 63)
			return false;
		unsigned width = hi - lo + 1;
		uint64_t mask = width == 64 ? ~0ull : ((1ull << width) - 1);
		*dst |= (v & mask) << lo;
		v = width == 64 ? 0 : v >> width;
	}
	return true;
}

} /* namespace */

RawRead readRaw(int fd)
{
	RawRead r;
	uint64_t buf[3] = {};
	if (::read(fd, buf, sizeof(buf)) == static_cast<ssize_t>(sizeof(buf))) {
		r.value = buf[0];
		r.enabled = buf[1];
		r.running = buf[2];
	}
	return r;
}

SysfsEvent encodeSysfsEvent(const std::string &root, const std::string &spec)
{
	SysfsEvent e;
	/* "pmu/event/" */
	auto parts = split(spec, '/');
	if (parts.size() < 2 || parts[0].empty() || parts[1].empty()) {
		e.error = "expected pmu/event/";
		return e;
	}
	std::string dir = rooted(root, "/sys/bus/event_source/devices/" + parts[0]);
	auto type = readLine(dir + "/type");
	if (!type) {
		e.error = "no PMU " + parts[0];
		return e;
	}
	e.type = static_cast<uint32_t>(std::stoul(*type));
	auto terms = readLine(dir + "/events/" + parts[1]);
	if (!terms) {
		e.error = fmt::format("{} has no event {}", parts[0], parts[1]);
		return e;
	}
	for (const auto &term : split(trim(*terms), ',')) {
		if (term.empty())
			continue;
		size_t eq = term.find('=');
		std::string key = trim(term.substr(0, eq));
		uint64_t value = 1;
		if (eq != std::string::npos)
			value = std::stoull(trim(term.substr(eq + 1)), nullptr, 0);
		auto format = readLine(dir + "/format/" + key);
		if (!format || !applyFormat(*format, value, e)) {
			e.error = fmt::format("{}: cannot encode term '{}'", spec, term);
			return e;
		}
	}
	if (auto mask = readLine(dir + "/cpumask")) {
		std::string first = split(trim(*mask), ',')[0];
		first = first.substr(0, first.find('-'));
		if (!first.empty())
			e.cpu = std::stoi(first);
	}
	return e;
}

std::vector<std::string> cmnDvmEvents(const std::string &root)
{
	std::vector<std::string> events;
	std::string base = rooted(root, "/sys/bus/event_source/devices");
	for (const auto &pmu : listDir(base)) {
		if (!startsWith(pmu, "arm_cmn"))
			continue;
		for (const char *ev : {"dn_dvmop_tlbi", "dn_rxreq_dvmop"})
			if (access((base + "/" + pmu + "/events/" + ev).c_str(), F_OK) == 0) {
				events.push_back(pmu + "/" + ev + "/");
				break;
			}
	}
	return events;
}

std::string counterName(const std::string &event)
{
	/* "arm_cmn_0/dn_rxreq_dvmop/": DVM operations seen by that mesh. */
	auto parts = split(event, '/');
	if (parts.size() >= 2 && !parts[1].empty())
		return (parts[1].find("dvm") != std::string::npos ? "dvm_ops." : parts[1] + ".") + parts[0];
	std::string n = event;
	size_t sep = n.rfind("::");
	if (sep != std::string::npos)
		n = n.substr(sep + 2);
	std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) {
		return std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '_';
	});
	for (const char *prefix : {"perf_count_sw_", "perf_count_hw_"})
		if (startsWith(n, prefix))
			n = n.substr(strlen(prefix));
	return n;
}

std::vector<std::string> defaultFlushSites(const std::string &arch)
{
	if (arch == "aarch64" || arch == "arm64")
		/*
		 * arm64's own TLB helpers are static inlines and cannot be probed; these
		 * are the out-of-line functions that call them.
		 */
		return {"tlb_finish_mmu",	   "tlb_flush_mmu",	 "flush_tlb_batched_pending",
			"try_to_unmap_flush",	   "ptep_clear_flush",	 "pmdp_invalidate",
			"contpte_convert",	   "__contpte_try_unfold", "__purge_vmap_area_lazy"};
	return {"tlb_finish_mmu", "tlb_flush_mmu", "flush_tlb_mm_range", "flush_tlb_kernel_range",
		"ptep_clear_flush", "pmdp_invalidate", "__purge_vmap_area_lazy"};
}

std::vector<std::string> defaultEvents(const Env &env)
{
	std::vector<std::string> events = {"cycles", "instructions", "perf::PERF_COUNT_SW_PAGE_FAULTS"};
	/* The TLB events the Neoverse models share (Arm's common event numbers). */
	for (const auto &pmu : env.perf.pfm_pmus)
		if (startsWith(pmu, "arm_n") || startsWith(pmu, "arm_v"))
			for (const char *e : {"L1D_TLB_REFILL", "L2D_TLB_REFILL", "DTLB_WALK"})
				events.push_back(pmu + "::" + e);
	/*
	 * Apple's core PMUs (Asahi) are unknown to libpfm4 and there is one per core
	 * cluster: ask each for cycles and instructions. Only the cluster the measuring
	 * CPU belongs to counts; the other reports "never scheduled".
	 */
	for (const auto &pmu : env.perf.pmus)
		if (startsWith(pmu, "apple_") && pmu.find("pmu") != std::string::npos)
			for (const char *e : {"cycles", "instructions"})
				events.push_back(pmu + "/" + e + "/");
	for (const auto &dvm : cmnDvmEvents(env.root))
		events.push_back(dvm);
	return events;
}

Counters::Counters(const std::vector<std::string> &events, const std::vector<std::string> &flush_sites,
		   const Env &env, Options options)
{
	auto add = [&](Counter c, struct perf_event_attr attr) {
		attr.size = sizeof(attr);
		attr.read_format = kReadFormat;
		attr.inherit = options.inherit;
		/* The work is in the kernel: count both privilege levels. */
		attr.exclude_kernel = 0;
		attr.exclude_user = 0;
		attr.exclude_hv = 0;
		/* Try to join the group so all counters cover the same instants. */
		int fd = -1;
		if (group_fd_ >= 0) {
			attr.disabled = 0;
			fd = perfOpen(&attr, group_fd_);
			if (fd >= 0) {
				c.leader = group_fd_;
				c.meta.in_group = true;
			}
		}
		if (fd < 0) {
			attr.disabled = 1;
			fd = perfOpen(&attr, -1);
			if (fd < 0) {
				c.meta.reason = openError(errno, env);
			} else if (group_fd_ < 0) {
				group_fd_ = fd;
				c.meta.in_group = true;
			}
		}
		c.fd = fd;
		counters_.push_back(std::move(c));
	};

	for (const auto &ev : events) {
		Counter c;
		c.meta.event = ev;
		c.meta.name = counterName(ev);
		struct perf_event_attr attr = {};
		if (ev.find('/') != std::string::npos) {
			SysfsEvent se = encodeSysfsEvent(env.root, ev);
			c.meta.kind = "hardware";
			if (!se.error.empty()) {
				c.meta.reason = se.error;
				counters_.push_back(std::move(c));
				continue;
			}
			attr.size = sizeof(attr);
			attr.type = se.type;
			attr.config = se.config;
			attr.config1 = se.config1;
			attr.config2 = se.config2;
			attr.read_format = kReadFormat;
			if (se.cpu < 0) {
				/* A core PMU: counts this thread like any other event. */
				if (startsWith(ev, "apple_"))
					attr.exclude_guest = 1; /* the Apple PMU driver insists */
				add(std::move(c), attr);
				continue;
			}
			attr.disabled = 1;
			/*
			 * A mesh PMU counts for the whole system (root only): it sees every
			 * broadcast TLBI, the measured work's and anyone else's.
			 */
			int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, se.cpu, -1, 0));
			if (fd < 0)
				c.meta.reason = openError(errno, env) + " (system-wide uncore event)";
			c.fd = fd;
			counters_.push_back(std::move(c));
			continue;
		}
		if (!pfmReady()) {
			c.meta.reason = "libpfm4 failed to initialise";
			counters_.push_back(std::move(c));
			continue;
		}
		char *fstr = nullptr;
		pfm_perf_encode_arg_t arg = {};
		arg.attr = &attr;
		arg.fstr = &fstr;
		arg.size = sizeof(arg);
		int rc = pfm_get_os_event_encoding(ev.c_str(), PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
		free(fstr);
		if (rc != PFM_SUCCESS) {
			c.meta.reason = fmt::format("libpfm4: {}", pfm_strerror(rc));
			counters_.push_back(std::move(c));
			continue;
		}
		c.meta.kind = attr.type == PERF_TYPE_SOFTWARE || attr.type == PERF_TYPE_TRACEPOINT ? "software"
												     : "hardware";
		/*
		 * Apple's PMUs refuse events that would also count a guest; elsewhere
		 * host-only counting is what a bare-metal measurement means anyway.
		 */
		if (c.meta.kind == "hardware")
			attr.exclude_guest = 1;
		add(std::move(c), attr);
	}

	std::optional<int> kprobe = pmuType(env.root, "kprobe");
	for (const auto &site : flush_sites) {
		Counter c;
		c.meta.event = "kprobe:" + site;
		c.meta.name = "tlb_flush_calls." + site;
		c.meta.kind = "flush_site";
		if (!kprobe) {
			c.meta.reason = "no kprobe PMU (/sys/bus/event_source/devices/kprobe)";
			counters_.push_back(std::move(c));
			continue;
		}
		std::optional<uint64_t> address = kallsymsAddress(env.root, site);
		if (!address) {
			c.meta.reason = "not in /proc/kallsyms: inlined or absent in this kernel";
			counters_.push_back(std::move(c));
			continue;
		}
		struct perf_event_attr attr = {};
		attr.type = static_cast<uint32_t>(*kprobe);
		/*
		 * kprobe PMU: config1 is the function name (kprobe_func) and config2 the offset,
		 * or config1 0 and config2 the address (kprobe_addr). The address where root
		 * sees it: an inherited event is created again at each fork, and the kernel
		 * then reads the name from the forking process's memory, where the pointer
		 * means nothing once that process is another program (the fork subject):
		 * clone() fails with EFAULT.
		 */
		if (*address) {
			attr.config1 = 0;
			attr.config2 = *address;
		} else {
			attr.config1 = reinterpret_cast<uintptr_t>(site.c_str());
			attr.config2 = 0;
		}
		add(std::move(c), attr);
	}
}

Counters::~Counters()
{
	for (auto &c : counters_)
		if (c.fd >= 0 && c.fd != group_fd_)
			close(c.fd);
	if (group_fd_ >= 0)
		close(group_fd_);
}

void Counters::arm()
{
	for (auto &c : counters_) {
		if (c.fd < 0 || c.leader >= 0)
			continue; /* group members follow their leader */
		ioctl(c.fd, PERF_EVENT_IOC_RESET, c.fd == group_fd_ ? PERF_IOC_FLAG_GROUP : 0);
		for (auto &m : counters_)
			if (m.fd >= 0 && (m.fd == c.fd || m.leader == c.fd)) {
				/*
				 * Snapshot rather than trust RESET: with inherit, counts of
				 * children that already exited live on in the parent and
				 * RESET does not clear them.
				 */
				RawRead r = readRaw(m.fd);
				m.start_value = r.value;
				m.meta.time_enabled_ns = r.enabled;
				m.meta.time_running_ns = r.running;
			}
	}
}

std::vector<std::pair<int, bool>> Counters::leaders() const
{
	std::vector<std::pair<int, bool>> out;
	for (const auto &c : counters_)
		if (c.fd >= 0 && c.leader < 0)
			out.emplace_back(c.fd, c.fd == group_fd_);
	return out;
}

void Counters::start()
{
	arm();
	for (auto [fd, group] : leaders())
		ioctl(fd, PERF_EVENT_IOC_ENABLE, group ? PERF_IOC_FLAG_GROUP : 0);
}

void Counters::stop()
{
	for (auto &c : counters_)
		if (c.fd >= 0 && c.leader < 0)
			ioctl(c.fd, PERF_EVENT_IOC_DISABLE, c.fd == group_fd_ ? PERF_IOC_FLAG_GROUP : 0);
}

std::vector<CounterReading> Counters::read() const
{
	std::vector<CounterReading> out;
	for (const auto &c : counters_) {
		CounterReading r = c.meta;
		if (c.fd < 0) {
			out.push_back(r);
			continue;
		}
		/*
		 * read() on each counter, not a user-space counter read: in a VM every
		 * PMU register access traps anyway, and Apple/perf_user_access=0
		 * machines do not allow the user-space path at all.
		 */
		RawRead raw = readRaw(c.fd);
		raw.value -= c.start_value;
		/* Enabled/running times accumulate across enables. */
		r.time_enabled_ns = raw.enabled - c.meta.time_enabled_ns;
		r.time_running_ns = raw.running - c.meta.time_running_ns;
		if (r.time_running_ns == 0) {
			r.reason = "never scheduled on the PMU (too many events, or the PMU is busy)";
		} else if (raw.value == 0 && r.kind == "hardware") {
			r.reason = "read 0: not implemented by this CPU or hypervisor";
		} else if (r.time_running_ns < r.time_enabled_ns) {
			/* Multiplexed: scale, and keep both times so it shows. */
			r.value = static_cast<uint64_t>(static_cast<double>(raw.value) *
							static_cast<double>(r.time_enabled_ns) /
							static_cast<double>(r.time_running_ns));
		} else {
			r.value = raw.value;
		}
		out.push_back(r);
	}
	return out;
}

nlohmann::json CounterReading::toJson() const
{
	return {{"name", name},
		{"event", event},
		{"kind", kind},
		{"value", value ? nlohmann::json(*value) : nlohmann::json(nullptr)},
		{"reason", reason},
		{"time_enabled_ns", time_enabled_ns},
		{"time_running_ns", time_running_ns},
		{"in_group", in_group}};
}

nlohmann::ordered_json eventsJson(const Env &env, bool all)
{
	nlohmann::ordered_json doc{{"libpfm4", pfmReady()}};
	nlohmann::ordered_json pmus = nlohmann::ordered_json::array();
	for (int p = PFM_PMU_NONE + 1; pfmReady() && p < PFM_PMU_MAX; p++) {
		pfm_pmu_info_t pinfo = {};
		pinfo.size = sizeof(pinfo);
		if (pfm_get_pmu_info(static_cast<pfm_pmu_t>(p), &pinfo) != PFM_SUCCESS || !pinfo.is_present)
			continue;
		std::vector<std::string> events;
		for (int e = pinfo.first_event; e != -1; e = pfm_get_event_next(e)) {
			pfm_event_info_t einfo = {};
			einfo.size = sizeof(einfo);
			if (pfm_get_event_info(e, PFM_OS_NONE, &einfo) != PFM_SUCCESS)
				continue;
			std::string name = einfo.name;
			bool interesting = name.find("TLB") != std::string::npos ||
					   name.find("CYCLE") != std::string::npos ||
					   name.find("INST") != std::string::npos ||
					   name.find("FAULT") != std::string::npos;
			if (all || interesting)
				events.push_back(fmt::format("{}::{}", pinfo.name, name));
		}
		pmus.push_back({{"name", pinfo.name},
				{"description", pinfo.desc},
				{"events_total", pinfo.nevents},
				{"events", events}});
	}
	doc["pmus"] = pmus;
	auto cmn = cmnDvmEvents(env.root);
	doc["mesh_dvm"] = {{"events", cmn}, {"reason", cmn.empty() ? "no arm_cmn PMU" : ""}};
	std::optional<int> kprobe = pmuType(env.root, "kprobe");
	nlohmann::ordered_json sites = nlohmann::ordered_json::array();
	for (const auto &site : defaultFlushSites(env.arch)) {
		std::string why = !kprobe ? "no kprobe PMU" : kallsymsAddress(env.root, site) ? "" : "not in /proc/kallsyms";
		sites.push_back({{"site", site}, {"probeable", why.empty()}, {"reason", why}});
	}
	doc["flush_sites"] = sites;
	return doc;
}

std::string formatEvents(const nlohmann::ordered_json &doc)
{
	if (!doc["libpfm4"].get<bool>())
		return "libpfm4 failed to initialise\n";
	std::string out;
	for (const auto &p : doc["pmus"]) {
		out += fmt::format("{} ({}): {} events\n", p["name"].get<std::string>(),
				   p["description"].get<std::string>(), p["events_total"].get<int>());
		for (const auto &e : p["events"])
			out += fmt::format("  {}\n", e.get<std::string>());
	}
	const auto &cmn = doc["mesh_dvm"];
	out += fmt::format("mesh DVM operations (system-wide, bare metal): {}\n",
			   cmn["events"].empty()
				   ? "n/a: " + cmn["reason"].get<std::string>()
				   : fmt::format("{}", fmt::join(cmn["events"].get<std::vector<std::string>>(), ", ")));
	out += "flush sites (kprobe PMU, counted as tlb_flush_calls.<site>):\n";
	for (const auto &s : doc["flush_sites"])
		out += fmt::format("  {:<28} {}\n", s["site"].get<std::string>(),
				   s["probeable"].get<bool>() ? "probe-able" : "n/a: " + s["reason"].get<std::string>());
	return out;
}

} /* namespace pgt */
