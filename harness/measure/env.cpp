// SPDX-License-Identifier: GPL-2.0
#include "env.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <unistd.h>
#include <sys/utsname.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hwloc.h>
#include <perfmon/pfmlib.h>
#include <zlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "cpu_model.h"
#include "kmod.h"
#include "util.h"

namespace pgt {

namespace {

std::string cpuinfoField(const std::string &line)
{
	size_t colon = line.find(':');
	return colon == std::string::npos ? std::string() : trim(line.substr(colon + 1));
}

unsigned log2u(uint64_t v)
{
	unsigned r = 0;
	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

ThpInfo parseThp(const std::string &root, uint64_t page_size)
{
	ThpInfo t;
	std::string dir = rooted(root, "/sys/kernel/mm/transparent_hugepage");
	auto enabled = readLine(dir + "/enabled");
	if (!enabled)
		return t;
	t.present = true;
	t.enabled = thpSelected(*enabled);
	t.defrag = thpSelected(readLine(dir + "/defrag").value_or(""));
	if (auto pmd = readLine(dir + "/hpage_pmd_size"))
		t.pmd_size_bytes = parseSize(*pmd).value_or(0);
	if (t.pmd_size_bytes && page_size)
		t.pmd_order = log2u(t.pmd_size_bytes / page_size);
	for (const auto &name : listDir(dir)) {
		unsigned kb = 0;
		if (sscanf(name.c_str(), "hugepages-%ukB", &kb) != 1)
			continue;
		ThpSize s;
		s.size_bytes = uint64_t{kb} << 10;
		s.order = page_size ? log2u(s.size_bytes / page_size) : 0;
		/* Some sizes exist only for shmem/file folios (e.g. 8K: anon needs order >= 2). */
		auto anon = readLine(dir + "/" + name + "/enabled");
		s.anon = anon.has_value();
		s.enabled = anon ? thpSelected(*anon) : "";
		t.sizes.push_back(s);
	}
	std::sort(t.sizes.begin(), t.sizes.end(),
		  [](const ThpSize &a, const ThpSize &b) { return a.size_bytes < b.size_bytes; });
	t.per_size_controls = !t.sizes.empty();
	return t;
}

PerfInfo parsePerf(const std::string &root)
{
	PerfInfo p;
	p.paranoid = readInt(rooted(root, "/proc/sys/kernel/perf_event_paranoid"));
	p.user_access = readInt(rooted(root, "/proc/sys/kernel/perf_user_access"));
	p.pmus = listDir(rooted(root, "/sys/bus/event_source/devices"));
	p.kprobe_pmu = std::find(p.pmus.begin(), p.pmus.end(), "kprobe") != p.pmus.end();
	return p;
}

KmodInfo parseKmod(const std::string &root)
{
	KmodInfo k;
	k.ctl_path = rooted(root, "/sys/kernel/debug/pgtbench/ctl");
	bool module = access(rooted(root, "/sys/module/pgtbench").c_str(), F_OK) == 0;
	bool ctl = access(k.ctl_path.c_str(), F_OK) == 0;
	k.loaded = module && ctl;
	if (!module)
		k.detail = "pgtbench.ko not loaded";
	else if (!ctl)
		k.detail = "loaded, but " + k.ctl_path + " is missing (debugfs not mounted?)";
	else
		k.detail = "loaded";
	return k;
}

std::string yesNo(const std::optional<bool> &v, const char *yes, const char *no)
{
	return v ? (*v ? yes : no) : "n/a";
}

/* `pgtbench env`'s line about the measuring CPU: cpufreq, SMT, isolation. */
std::string noiseCpuLine(const NoiseFacts &n)
{
	if (n.cpu < 0)
		return "n/a: " + n.reason;
	std::string freq = n.cpufreq.available
				   ? fmt::format("cpufreq {} ({})", n.cpufreq.governor, n.cpufreq.driver)
				   : "cpufreq n/a (" + n.cpufreq.reason + ")";
	std::string boost = n.cpufreq.boost ? fmt::format("boost {} ({})", *n.cpufreq.boost ? "on" : "off",
							  n.cpufreq.boost_control)
					    : "boost n/a";
	std::string smt = fmt::format("SMT {}", n.smt.control.empty() ? "n/a" : n.smt.control);
	if (n.smt.siblings)
		smt += n.smt.siblings->empty() ? ", no sibling"
					       : fmt::format(", siblings {}", fmt::join(*n.smt.siblings, ","));
	return fmt::format("CPU {}: {}, {}; {}; isolated {}, nohz_full {}", n.cpu, freq, boost, smt,
			   yesNo(n.isolation.isolated, "yes", "no"), yesNo(n.isolation.nohz_full, "yes", "no"));
}

std::string loadLine(const NoiseFacts &n)
{
	const LoadState &l = n.load;
	std::string avg = l.avg_1min ? fmt::format("{:.2f} {:.2f} {:.2f}", *l.avg_1min, *l.avg_5min, *l.avg_15min)
				     : "loadavg n/a";
	if (l.runnable)
		avg += fmt::format(" ({}/{} runnable)", *l.runnable, *l.tasks);
	if (l.others_runnable_on_cpu)
		avg += fmt::format(", {} other runnable on CPU {}", *l.others_runnable_on_cpu, n.cpu);
	return avg + "; stdout " + yesNo(n.stdout_is_terminal, "is a terminal", "not a terminal");
}

std::string mmActivityLine(const NoiseFacts &n)
{
	std::vector<std::string> parts;
	parts.push_back("defrag=" + (n.thp_defrag.empty() ? std::string("n/a") : n.thp_defrag));
	parts.push_back("khugepaged/defrag=" + yesNo(n.khugepaged_defrag, "1", "0"));
	for (const auto &[k, v] : n.activity)
		parts.push_back(fmt::format("{}={}", k, v));
	return fmt::format("{}", fmt::join(parts, " "));
}

std::string cpusLine(const TopologyInfo &t)
{
	std::set<int> packages, clusters;
	std::set<unsigned> capacities;
	for (const auto &c : t.cpus) {
		if (c.package_id)
			packages.insert(*c.package_id);
		if (c.cluster_id)
			clusters.insert(*c.cluster_id);
		if (c.capacity)
			capacities.insert(*c.capacity);
	}
	std::string out = fmt::format("{} CPUs, {} package(s), {} cluster(s)", t.cpus.size(), packages.size(),
				      clusters.size());
	if (!capacities.empty())
		out += fmt::format(", capacity {}", fmt::join(capacities, "/"));
	return out;
}

std::string firmwareLine(const FirmwareInfo &f)
{
	auto get = [](const auto &m, const char *k) {
		auto it = m.find(k);
		return it == m.end() || !it->second ? std::string() : *it->second;
	};
	std::vector<std::string> parts;
	for (const char *k : {"sys_vendor", "product_name", "product_version"})
		if (!get(f.dmi, k).empty())
			parts.push_back(get(f.dmi, k));
	std::string out = parts.empty() ? "no DMI" : fmt::format("{}", fmt::join(parts, " "));
	if (!get(f.dmi, "bios_version").empty())
		out += fmt::format(", BIOS {} {} ({})", get(f.dmi, "bios_vendor"), get(f.dmi, "bios_version"),
				   get(f.dmi, "bios_date"));
	if (f.soc_present)
		out += "; SoC " + trim(fmt::format("{} {}", get(f.soc, "soc_id"), get(f.soc, "machine")));
	return out;
}

} /* namespace */

std::optional<std::string> readGzipFile(const std::string &path)
{
	gzFile f = gzopen(path.c_str(), "rb");
	if (!f)
		return std::nullopt;
	std::string out;
	char buf[1 << 16];
	int n;
	while ((n = gzread(f, buf, sizeof(buf))) > 0)
		out.append(buf, static_cast<size_t>(n));
	/*
	 * A truncated stream reads to its end without an error; gzclose() says it ended
	 * mid-stream (Z_BUF_ERROR). Better no config than half of one.
	 */
	int closed = gzclose(f);
	if (n < 0 || closed != Z_OK)
		return std::nullopt;
	return out;
}

KernelConfig kernelConfig(const std::string &root, const std::string &release)
{
	std::string boot = "/boot/config-" + release;
	if (auto text = readFile(rooted(root, boot)); text && !release.empty())
		return {*text, boot};
	if (auto text = readGzipFile(rooted(root, "/proc/config.gz")))
		return {*text, "/proc/config.gz"};
	return {};
}

KernelSecurity parseKernelSecurity(const std::string &root)
{
	KernelSecurity k;
	if (auto v = readLine(rooted(root, "/sys/kernel/security/lockdown")))
		k.lockdown = thpSelected(trim(*v));
	if (auto v = readLine(rooted(root, "/sys/module/module/parameters/sig_enforce")))
		k.sig_enforce = trim(*v) == "Y";
	/* The EFI variable: 4 bytes of attributes, then one byte, 1 = enabled. */
	auto sb = readFile(rooted(root, "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"));
	if (sb && sb->size() >= 5)
		k.secure_boot = (*sb)[4] == 1;
	else if (access(rooted(root, "/sys/firmware/efi").c_str(), F_OK) != 0)
		k.secure_boot = false; /* no EFI at all: nothing to enforce it */
	return k;
}

std::string moduleRefusalReason(const KernelSecurity &k)
{
	std::vector<std::string> why;
	if (k.sig_enforce.value_or(false))
		why.push_back("module.sig_enforce=1");
	if (!k.lockdown.empty() && k.lockdown != "none")
		why.push_back("lockdown=" + k.lockdown);
	if (k.secure_boot.value_or(false))
		why.push_back("Secure Boot");
	return fmt::format("{}", fmt::join(why, ", "));
}

namespace {

} /* namespace */

std::string thpSelected(const std::string &sysfs_value)
{
	/* sysfs shows "always [madvise] never"; single-valued files show just the value. */
	size_t b = sysfs_value.find('[');
	size_t e = sysfs_value.find(']');
	if (b != std::string::npos && e != std::string::npos && e > b)
		return sysfs_value.substr(b + 1, e - b - 1);
	return trim(sysfs_value);
}

CpuInfo parseCpuinfo(const std::string &text, const std::string &arch)
{
	CpuInfo c;
	std::istringstream in(text);
	std::string line;
	/* arm64 lists implementer/part per processor; big.LITTLE parts differ by CPU. */
	std::vector<std::pair<uint32_t, uint32_t>> arm_cpus;
	uint32_t impl = 0, variant = 0, part = 0, rev = 0;
	bool have_impl = false;
	std::string model_name;
	auto flush_arm = [&] {
		if (have_impl) {
			arm_cpus.emplace_back(impl, part);
			std::string midr = fmt::format("{:#010x}", (impl << 24) | (variant << 20) |
									  (0xfu << 16) | (part << 4) | rev);
			if (std::find(c.midr.begin(), c.midr.end(), midr) == c.midr.end())
				c.midr.push_back(midr);
		}
		have_impl = false;
	};
	while (std::getline(in, line)) {
		std::string key = trim(line.substr(0, line.find(':')));
		if (key == "processor") {
			flush_arm();
			c.logical_cpus++;
		} else if (key == "model name" && model_name.empty()) {
			model_name = cpuinfoField(line);
		} else if (key == "vendor_id" && c.vendor.empty()) {
			c.vendor = cpuinfoField(line);
		} else if (key == "CPU implementer") {
			impl = static_cast<uint32_t>(std::stoul(cpuinfoField(line), nullptr, 0));
			have_impl = true;
		} else if (key == "CPU variant") {
			variant = static_cast<uint32_t>(std::stoul(cpuinfoField(line), nullptr, 0));
		} else if (key == "CPU part") {
			part = static_cast<uint32_t>(std::stoul(cpuinfoField(line), nullptr, 0));
		} else if (key == "CPU revision") {
			rev = static_cast<uint32_t>(std::stoul(cpuinfoField(line), nullptr, 0));
		}
	}
	flush_arm();

	if (!arm_cpus.empty() && (arch == "aarch64" || arch == "arm64" || model_name.empty())) {
		std::vector<std::string> cores;
		std::set<std::string> vendors;
		for (auto [i, p] : arm_cpus) {
			MidrName n = decodeMidr(i, p);
			vendors.insert(n.vendor);
			if (std::find(cores.begin(), cores.end(), n.core) == cores.end())
				cores.push_back(n.core);
		}
		c.vendor = fmt::format("{}", fmt::join(vendors, " + "));
		/* "Apple M2 Blizzard + Apple M2 Avalanche" reads badly; share the common prefix. */
		c.model = fmt::format("{}", fmt::join(cores, " + "));
	} else {
		c.model = model_name.empty() ? "unknown" : model_name;
	}
	return c;
}

SwapInfo parseSwaps(const std::string &text, bool readable)
{
	SwapInfo s;
	s.readable = readable;
	std::istringstream in(text);
	std::string line;
	std::getline(in, line); /* Filename Type Size Used Priority */
	while (std::getline(in, line)) {
		std::istringstream f(line);
		SwapArea a;
		uint64_t size_kb = 0, used_kb = 0;
		if (!(f >> a.name >> a.type >> size_kb >> used_kb >> a.priority))
			continue;
		a.size_bytes = size_kb << 10;
		a.used_bytes = used_kb << 10;
		s.total_bytes += a.size_bytes;
		s.areas.push_back(std::move(a));
	}
	return s;
}

std::string SwapInfo::unavailable() const
{
	if (!readable)
		return "no /proc/swaps (kernel without CONFIG_SWAP?): nothing can be paged out";
	if (areas.empty() || !total_bytes)
		return "no swap: /proc/swaps lists no active swap area (swapon one; the emulated "
		       "guests get zram with tools/vm --swap SIZE)";
	return {};
}

std::map<std::string, uint64_t> parseMeminfo(const std::string &text)
{
	std::map<std::string, uint64_t> m;
	std::istringstream in(text);
	std::string line;
	while (std::getline(in, line)) {
		size_t colon = line.find(':');
		if (colon == std::string::npos)
			continue;
		std::istringstream v(line.substr(colon + 1));
		uint64_t n = 0;
		std::string unit;
		if (!(v >> n))
			continue;
		v >> unit;
		m[line.substr(0, colon)] = unit == "kB" ? n << 10 : n;
	}
	return m;
}

std::map<std::string, std::string> cmdlineNotes(const std::string &cmdline,
						const std::string &kernel_config)
{
	/* Parameters that change page-table, TLB or THP behaviour, hence the numbers. */
	static const char *interesting[] = {
		"rodata", "arm64.nocontpte", "transparent_hugepage", "transparent_hugepage_shmem",
		"thp_anon", "kpti", "nokaslr", "mitigations", "isolcpus", "nohz_full",
		"hugepages", "hugepagesz", "default_hugepagesz", "mem", "kvm-arm.mode",
		"arm64.nobti", "arm64.nopauth", "arm64.nomte", "numa", "norandmaps", "lpa2",
	};
	std::map<std::string, std::string> notes;
	std::istringstream in(cmdline);
	std::string tok;
	while (in >> tok) {
		std::string key = tok.substr(0, tok.find('='));
		std::string val = tok.find('=') == std::string::npos ? "" : tok.substr(tok.find('=') + 1);
		for (const char *k : interesting)
			if (key == k)
				notes[key] = val.empty() ? "set" : val;
	}
	if (!notes.count("rodata")) {
		/*
		 * rodata=full (page-granular linear map, what map_mem() at pte granularity
		 * costs) is the arm64 default when the kernel is built that way.
		 */
		if (kernel_config.find("CONFIG_RODATA_FULL_DEFAULT_ENABLED=y") != std::string::npos)
			notes["rodata"] = "full (kernel default)";
		else if (kernel_config.find("CONFIG_RODATA_FULL_DEFAULT_ENABLED") != std::string::npos)
			notes["rodata"] = "on (kernel default)";
	}
	return notes;
}

VirtInfo detectVirt(const std::string &root, const std::string &arch, const std::string &cpuinfo)
{
	VirtInfo v;
	auto dmi_vendor = readLine(rooted(root, "/sys/class/dmi/id/sys_vendor"));
	auto dmi_product = readLine(rooted(root, "/sys/class/dmi/id/product_name"));
	auto hyp_type = readLine(rooted(root, "/sys/hypervisor/type"));
	auto dt_compat = readFile(rooted(root, "/sys/firmware/devicetree/base/compatible"));
	auto dt_hyp = readFile(rooted(root, "/sys/firmware/devicetree/base/hypervisor/compatible"));

	if (hyp_type && !hyp_type->empty()) {
		v.vm = true;
		v.hypervisor = trim(*hyp_type) == "xen" ? "Xen" : trim(*hyp_type);
		v.evidence = "/sys/hypervisor/type";
		return v;
	}
	if (dt_hyp) {
		v.vm = true;
		v.hypervisor = dt_hyp->find("xen") != std::string::npos ? "Xen" : trim(dt_hyp->c_str());
		v.evidence = "devicetree /hypervisor node";
		return v;
	}
	if (dmi_vendor) {
		std::string vendor = trim(*dmi_vendor);
		std::string product = trim(dmi_product.value_or(""));
		struct {
			const char *needle;
			const char *name;
		} known[] = {
			{"QEMU", "QEMU"}, {"KVM", "KVM"}, {"VMware", "VMware"},
			{"Microsoft Corporation", "Hyper-V"}, {"innotek", "VirtualBox"},
			{"Parallels", "Parallels"}, {"Xen", "Xen"}, {"Google", "Google Compute Engine"},
		};
		for (auto &k : known) {
			if (vendor.find(k.needle) != std::string::npos ||
			    product.find(k.needle) != std::string::npos) {
				v.vm = true;
				v.hypervisor = k.name;
				v.evidence = "DMI " + vendor + " / " + product;
				return v;
			}
		}
		if (product.find("Virtual Machine") != std::string::npos) {
			v.vm = true;
			v.hypervisor = vendor;
			v.evidence = "DMI product " + product;
			return v;
		}
		if (vendor == "Amazon EC2") {
			/* Graviton metal instances report "Amazon EC2" too; only .metal is bare. */
			bool metal = product.find(".metal") != std::string::npos;
			v.vm = !metal;
			v.hypervisor = metal ? "" : "Nitro";
			v.evidence = "DMI Amazon EC2 / " + product;
			return v;
		}
	}
	if (dt_compat && dt_compat->find("linux,dummy-virt") != std::string::npos) {
		v.vm = true;
		v.hypervisor = "QEMU virt";
		v.evidence = "devicetree compatible linux,dummy-virt";
		return v;
	}
	if ((arch == "x86_64" || arch == "i686") &&
	    (cpuinfo.find(" hypervisor ") != std::string::npos ||
	     cpuinfo.find(" hypervisor\n") != std::string::npos)) {
		v.vm = true;
		v.evidence = "cpuinfo hypervisor flag";
		return v;
	}
	if (dmi_vendor || (arch == "x86_64" && !cpuinfo.empty())) {
		v.vm = false;
		v.evidence = dmi_vendor ? "DMI " + trim(*dmi_vendor) : "no hypervisor flag";
		return v;
	}
	v.evidence = "no DMI, devicetree or hypervisor evidence";
	return v;
}

Env collectEnv(const EnvSources &src)
{
	Env e;
	e.root = src.root;
	e.arch = src.arch;
	e.page_size_bytes = src.page_size_bytes;
	std::string cpuinfo = readFile(rooted(src.root, "/proc/cpuinfo")).value_or("");
	e.cpu = parseCpuinfo(cpuinfo, e.arch);
	e.kernel_release = trim(readLine(rooted(src.root, "/proc/sys/kernel/osrelease")).value_or(""));
	e.kernel_version = trim(readLine(rooted(src.root, "/proc/sys/kernel/version")).value_or(""));
	e.cmdline = trim(readLine(rooted(src.root, "/proc/cmdline")).value_or(""));
	KernelConfig config = kernelConfig(src.root, e.kernel_release);
	e.kernel_config_source = config.source;
	e.cmdline_notes = cmdlineNotes(e.cmdline, config.text);
	e.security = parseKernelSecurity(src.root);
	e.virt = detectVirt(src.root, e.arch, cpuinfo);
	e.thp = parseThp(src.root, e.page_size_bytes);
	auto mem = parseMeminfo(readFile(rooted(src.root, "/proc/meminfo")).value_or(""));
	e.mem_total_bytes = mem["MemTotal"];
	e.mem_available_bytes = mem["MemAvailable"];
	auto swaps = readFile(rooted(src.root, "/proc/swaps"));
	e.swap = parseSwaps(swaps.value_or(""), swaps.has_value());
	e.perf = parsePerf(src.root);
	e.kmod = parseKmod(src.root);
	e.pus = e.cpu.logical_cpus;
	e.cores = e.cpu.logical_cpus;
	std::set<std::string> nodes;
	for (const auto &n : listDir(rooted(src.root, "/sys/devices/system/node")))
		if (startsWith(n, "node") && n.size() > 4 && isdigit(static_cast<unsigned char>(n[4])))
			nodes.insert(n);
	e.numa_nodes = nodes.empty() ? 1 : static_cast<unsigned>(nodes.size());
	e.noise = collectNoise(src.root, src.cpu, src.self_pid);
	e.noise.stdout_is_terminal = src.stdout_is_terminal;
	e.topology = collectTopology(src.root, e.numa_nodes);
	e.firmware = collectFirmware(src.root);
	e.platform = identifyPlatform(platformFacts(src.root, e));
	return e;
}

Env probeEnv(int cpu)
{
	struct utsname u;
	uname(&u);
	EnvSources src;
	src.arch = u.machine;
	src.page_size_bytes = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
	src.cpu = cpu;
	src.self_pid = getpid();
	/* A terminal on stdout costs the benchmark (its redraws compete for the CPUs). */
	src.stdout_is_terminal = isatty(STDOUT_FILENO) == 1;
	Env e = collectEnv(src);

	hwloc_topology_t topo;
	if (hwloc_topology_init(&topo) == 0 && hwloc_topology_load(topo) == 0) {
		e.cores = static_cast<unsigned>(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE));
		e.pus = static_cast<unsigned>(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
		int nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
		e.numa_nodes = nodes > 0 ? static_cast<unsigned>(nodes) : 1;
		e.topology.numa_nodes = e.numa_nodes;
		hwloc_topology_destroy(topo);
	}

	if (e.kmod.loaded) {
		std::string why;
		if (auto k = Kmod::open(e.kmod.ctl_path, &why)) {
			const pgtbench_info &i = k->info();
			e.kmod.usable = true;
			e.kmod.abi_version = i.abi_version;
			e.kmod.page_size = i.page_size;
			e.kmod.va_bits = i.va_bits;
			e.kmod.caps = i.caps;
			e.kmod.release = i.release;
			e.kmod.detail = fmt::format("loaded, ABI {}, can: {}", i.abi_version,
						    fmt::join(kmodCapNames(i.caps), ", "));
		} else {
			e.kmod.detail = "loaded but unusable: " + why;
		}
	}

	/*
	 * libpfm4 decides which event tables (arm_n1, arm_v1, amd64_fam19h, ...) apply to
	 * this CPU; without one only generic events can be named.
	 */
	int rc = pfm_initialize();
	if (rc != PFM_SUCCESS) {
		e.perf.pfm_error = pfm_strerror(rc);
	} else {
		for (int pmu = PFM_PMU_NONE + 1; pmu < PFM_PMU_MAX; pmu++) {
			pfm_pmu_info_t info = {};
			info.size = sizeof(info);
			if (pfm_get_pmu_info(static_cast<pfm_pmu_t>(pmu), &info) == PFM_SUCCESS &&
			    info.is_present)
				e.perf.pfm_pmus.push_back(info.name);
		}
	}

#if defined(__x86_64__) || defined(__i386__)
	/* The hypervisor's own name is in the cpuid leaf it reserves (0x40000000). */
	if (e.virt.vm.value_or(false) && e.virt.hypervisor.empty()) {
		unsigned a, b, c, d;
		__cpuid(0x40000000, a, b, c, d);
		char sig[13] = {};
		memcpy(sig, &b, 4);
		memcpy(sig + 4, &c, 4);
		memcpy(sig + 8, &d, 4);
		std::string s = trim(sig);
		if (s == "KVMKVMKVM")
			e.virt.hypervisor = "KVM";
		else if (s == "Microsoft Hv")
			e.virt.hypervisor = "Hyper-V";
		else if (s == "VMwareVMware")
			e.virt.hypervisor = "VMware";
		else if (s == "XenVMMXenVMM")
			e.virt.hypervisor = "Xen";
		else if (s == "TCGTCGTCGTCG")
			e.virt.hypervisor = "QEMU TCG";
		else if (!s.empty())
			e.virt.hypervisor = s;
		e.virt.evidence += ", cpuid 0x40000000";
	}
#endif
	return e;
}

bool Env::offersOrder(unsigned order) const
{
	if (order == 0)
		return true;
	if (thp.per_size_controls) {
		const ThpSize *s = thpSize(order);
		return s && s->anon;
	}
	/* Before mTHP, the only large anonymous folio was the PMD-sized THP. */
	return thp.present && order == thp.pmd_order;
}

const ThpSize *Env::thpSize(unsigned order) const
{
	for (const auto &s : thp.sizes)
		if (s.order == order)
			return &s;
	return nullptr;
}

nlohmann::json Env::toJson() const
{
	using nlohmann::json;
	json j;
	j["arch"] = arch;
	j["cpu"] = {{"model", cpu.model}, {"vendor", cpu.vendor}, {"midr", cpu.midr}};
	j["cores"] = cores;
	j["pus"] = pus;
	j["numa_nodes"] = numa_nodes;
	j["page_size_bytes"] = page_size_bytes;
	auto opt = [](const std::optional<bool> &b) { return b ? json(*b) : json(nullptr); };
	j["kernel"] = {{"release", kernel_release},
		       {"version", kernel_version},
		       {"cmdline", cmdline},
		       {"cmdline_notes", cmdline_notes},
		       {"config_source", kernel_config_source},
		       {"lockdown", security.lockdown.empty() ? json(nullptr) : json(security.lockdown)},
		       {"module_sig_enforce", opt(security.sig_enforce)},
		       {"secure_boot", opt(security.secure_boot)}};
	j["virtualization"] = {{"vm", virt.vm ? json(*virt.vm) : json(nullptr)},
			       {"hypervisor", virt.hypervisor},
			       {"evidence", virt.evidence}};
	json sizes = json::array();
	for (const auto &s : thp.sizes)
		sizes.push_back({{"size_bytes", s.size_bytes},
				 {"order", s.order},
				 {"anon", s.anon},
				 {"enabled", s.anon ? json(s.enabled) : json(nullptr)}});
	j["thp"] = {{"present", thp.present},
		    {"enabled", thp.enabled},
		    {"defrag", thp.defrag},
		    {"pmd_size_bytes", thp.pmd_size_bytes},
		    {"pmd_order", thp.pmd_order},
		    {"per_size_controls", thp.per_size_controls},
		    {"sizes", sizes}};
	j["mem_total_bytes"] = mem_total_bytes;
	j["mem_available_bytes"] = mem_available_bytes;
	json areas = json::array();
	for (const auto &a : swap.areas)
		areas.push_back({{"name", a.name},
				 {"type", a.type},
				 {"size_bytes", a.size_bytes},
				 {"used_bytes", a.used_bytes},
				 {"priority", a.priority}});
	j["swap"] = {{"readable", swap.readable}, {"total_bytes", swap.total_bytes}, {"areas", areas}};
	j["perf"] = {{"paranoid", perf.paranoid ? json(*perf.paranoid) : json(nullptr)},
		     {"pmus", perf.pmus},
		     {"kprobe_pmu", perf.kprobe_pmu},
		     {"user_access", perf.user_access ? json(*perf.user_access) : json(nullptr)},
		     {"pfm_pmus", perf.pfm_pmus},
		     {"pfm_error", perf.pfm_error}};
	j["kmod"] = {{"loaded", kmod.loaded},
		     {"usable", kmod.usable},
		     {"ctl_path", kmod.ctl_path},
		     {"detail", kmod.detail},
		     {"abi_version", kmod.usable ? json(kmod.abi_version) : json(nullptr)},
		     {"page_size_bytes", kmod.usable ? json(kmod.page_size) : json(nullptr)},
		     {"va_bits", kmod.usable && kmod.va_bits ? json(kmod.va_bits) : json(nullptr)},
		     {"caps", kmodCapNames(kmod.caps)},
		     {"release", kmod.release}};
	j["noise"] = noise.toJson();
	j["topology"] = topology.toJson();
	j["firmware"] = firmware.toJson();
	j["platform"] = platform.toJson();
	return j;
}

std::string formatEnv(const Env &e)
{
	std::string out;
	auto row = [&](std::string_view k, const std::string &v) {
		out += fmt::format("{:<16} {}\n", k, v);
	};
	row("platform", fmt::format("{}  [{}: {}]", e.platform.name, platformSourceName(e.platform.source),
				    e.platform.evidence));
	row("arch", e.arch);
	row("cpu", e.cpu.model + (e.cpu.midr.empty() ? "" : fmt::format(" (MIDR {})", fmt::join(e.cpu.midr, ", "))));
	row("topology", fmt::format("{} cores, {} PUs, {} NUMA node(s)", e.cores, e.pus, e.numa_nodes));
	row("page size", formatSize(e.page_size_bytes));
	row("kernel", e.kernel_release + "  " + e.kernel_version);
	row("cmdline", e.cmdline);
	row("config", e.kernel_config_source.empty() ? "none found (/boot/config-<release>, /proc/config.gz)"
						      : e.kernel_config_source);
	auto yn = [](const std::optional<bool> &b) { return !b ? "unknown" : *b ? "yes" : "no"; };
	row("modules", fmt::format("signatures enforced: {}, lockdown: {}, Secure Boot: {}", yn(e.security.sig_enforce),
				   e.security.lockdown.empty() ? "unknown" : e.security.lockdown,
				   yn(e.security.secure_boot)));
	if (!e.cmdline_notes.empty()) {
		std::vector<std::string> notes;
		for (const auto &[k, v] : e.cmdline_notes)
			notes.push_back(k + "=" + v);
		row("notable", fmt::format("{}", fmt::join(notes, " ")));
	}
	std::string virt = !e.virt.vm ? "unknown" : (*e.virt.vm ? "yes" : "no");
	if (!e.virt.hypervisor.empty())
		virt += " (" + e.virt.hypervisor + ")";
	row("vm", virt + "  [" + e.virt.evidence + "]");
	if (!e.thp.present) {
		row("thp", "not available");
	} else {
		row("thp", fmt::format("enabled={} defrag={} pmd={}", e.thp.enabled, e.thp.defrag,
				       formatSize(e.thp.pmd_size_bytes)));
		if (e.thp.per_size_controls) {
			std::vector<std::string> s;
			for (const auto &z : e.thp.sizes)
				s.push_back(fmt::format("{}(order {})={}", formatSize(z.size_bytes), z.order,
							z.anon ? z.enabled : "shmem-only"));
			row("mthp", fmt::format("{}", fmt::join(s, " ")));
		} else {
			row("mthp", "no per-size controls (kernel before 6.8)");
		}
	}
	row("memory", fmt::format("{} available of {}", humanSize(e.mem_available_bytes),
				  humanSize(e.mem_total_bytes)));
	{
		std::vector<std::string> areas;
		for (const auto &a : e.swap.areas)
			areas.push_back(fmt::format("{} {}", a.name, humanSize(a.size_bytes)));
		row("swap", e.swap.unavailable().empty() ? fmt::format("{}", fmt::join(areas, ", "))
							 : e.swap.unavailable());
	}
	row("perf", fmt::format("paranoid={} pmus={}",
				e.perf.paranoid ? std::to_string(*e.perf.paranoid) : "n/a",
				fmt::join(e.perf.pmus, ",")));
	row("libpfm4", e.perf.pfm_error.empty() ? fmt::format("{}", fmt::join(e.perf.pfm_pmus, ","))
						 : "unavailable: " + e.perf.pfm_error);
	row("kprobe pmu", e.perf.kprobe_pmu ? "yes" : "no");
	if (e.perf.user_access)
		row("perf_user_access", std::to_string(*e.perf.user_access));
	row("module", e.kmod.detail);
	row("noise", noiseCpuLine(e.noise));
	row("load", loadLine(e.noise));
	row("mm activity", mmActivityLine(e.noise));
	row("cpus", cpusLine(e.topology));
	row("firmware", firmwareLine(e.firmware));
	return out;
}

} /* namespace pgt */
