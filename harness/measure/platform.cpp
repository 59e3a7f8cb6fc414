// SPDX-License-Identifier: GPL-2.0
#include "platform.h"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cpu_model.h"
#include "env.h"
#include "errors.h"
#include "results.h"
#include "util.h"

namespace pgt {

namespace {

/* What a line of the table looks at. */
enum class Clue {
	Ec2Family,    /* the EC2 instance family: DMI product_name "m6g.metal" -> "m6g" */
	DmiVendor,    /* DMI sys_vendor starts with the value */
	SocFamily,    /* soc0/family: "jep106:<bank><code>", the SiP's JEP106 manufacturer */
	SocId,	      /* soc0/soc_id: the family and the SiP's own SoC number */
	DtCompatible, /* one of the device tree root's compatible strings */
	Midr,	      /* one of the CPUs' MIDR implementer:part */
};

struct KnownPlatform {
	const char *name;
	PlatformSource source;
	Clue clue;
	const char *values; /* space-separated: any one of them matches */
	/* The cores it must also have, "implementer:part" in hex ("41:d0c", "c0:*"); "" any. */
	const char *cores = "";
	/* Tells a bigger sibling apart by the CPUs one socket holds; 0: no condition. */
	unsigned min_cpus_per_package = 0;
};

/*
 * The known platforms. The first line that matches names the machine, so the most
 * specific evidence comes first: the EC2 instance type, DMI, the SoC ID, the device
 * tree, the CPU. Where each identifier comes from:
 * - EC2 instance families: AWS's instance type documentation (Graviton2: 6th
 *   generation "g" families and t4g/x2gd/im4gn/is4gen/g5g; Graviton3: 7th generation;
 *   c7gn and hpc7g are Graviton3E; Graviton4: 8th generation). DMI sys_vendor reads
 *   "Amazon EC2" on every Nitro instance, metal or not. Only Graviton2 is Neoverse-N1,
 *   Graviton3 Neoverse-V1 and Graviton4 Neoverse-V2 on EC2, which names families this
 *   table does not list yet.
 * - Ampere: the Altra reference boards (Mt.Jade, Mt.Mitchell) report DMI sys_vendor
 *   "Ampere(R)"; other boards (ADLINK, ASRock Rack, GIGABYTE, HPE, System76) report
 *   their maker, but the SMCCC SOC_ID of every Altra reads "jep106:0a16:0001":
 *   JEP106 bank 11 (10 continuation codes, 0x0a) code 0x16 is Ampere Computing (the
 *   kernel's drivers/firmware/smccc/soc_id.c prints bank and code without parity).
 *   Altra has at most 80 Neoverse-N1 cores a socket, Altra Max 96 to 128. AmpereOne
 *   runs Ampere's own cores: implementer 0xc0, parts 0xac3 (AmpereOne) and 0xac4
 *   (AmpereOne AC04) in the kernel's arch/arm64/include/asm/cputype.h.
 * - NVIDIA: JEP106 bank 4 code 0x6b ("jep106:036b"); SoC 0x0241 is the chip with the
 *   Grace CPU (what NVIDIA's DCGM checks); NVIDIA's only Neoverse-V2 part is Grace.
 * - Apple: Asahi Linux's device trees name the SoC (t8103 M1, t6000/t6001/t6002 M1
 *   Pro/Max/Ultra, t8112 M2, t6020/t6021/t6022 M2 Pro/Max/Ultra) after the board
 *   (apple,j274, apple,j413, ...). Under Virtualization.framework, Parallels, UTM or
 *   QEMU with HVF, the guest's MIDR is still the host's (implementer 0x61,
 *   cputype.h's APPLE_CPU_PART_*), while its device tree and DMI are the VMM's.
 * - QEMU virt: its device tree's compatible "linux,dummy-virt" and its SMBIOS vendor
 *   "QEMU"; only with an emulated CPU (implementer 0x00, "-cpu max"): a KVM guest
 *   shows the host's CPU, which says more than the VMM's name.
 *
 * Add a new platform here, with where its identifier comes from.
 */
constexpr KnownPlatform kPlatforms[] = {
	{"Graviton2", PlatformSource::Ec2, Clue::Ec2Family, "c6g c6gd c6gn g5g im4gn is4gen m6g m6gd r6g r6gd t4g x2gd"},
	{"Graviton3", PlatformSource::Ec2, Clue::Ec2Family, "c7g c7gd m7g m7gd r7g r7gd"},
	{"Graviton3E", PlatformSource::Ec2, Clue::Ec2Family, "c7gn hpc7g"},
	{"Graviton4", PlatformSource::Ec2, Clue::Ec2Family, "c8g i8g m8g r8g x8g"},
	{"Graviton2", PlatformSource::Ec2, Clue::DmiVendor, "Amazon EC2", "41:d0c"},
	{"Graviton3", PlatformSource::Ec2, Clue::DmiVendor, "Amazon EC2", "41:d40"},
	{"Graviton4", PlatformSource::Ec2, Clue::DmiVendor, "Amazon EC2", "41:d4f"},
	{"Ampere Altra Max", PlatformSource::Dmi, Clue::DmiVendor, "Ampere", "41:d0c", 81},
	{"Ampere Altra", PlatformSource::Dmi, Clue::DmiVendor, "Ampere", "41:d0c"},
	{"AmpereOne", PlatformSource::Dmi, Clue::DmiVendor, "Ampere", "c0:*"},
	{"QEMU virt", PlatformSource::Dmi, Clue::DmiVendor, "QEMU", "00:*"},
	{"Ampere Altra Max", PlatformSource::Soc0, Clue::SocFamily, "jep106:0a16", "41:d0c", 81},
	{"Ampere Altra", PlatformSource::Soc0, Clue::SocFamily, "jep106:0a16", "41:d0c"},
	{"AmpereOne", PlatformSource::Soc0, Clue::SocFamily, "jep106:0a16", "c0:*"},
	{"NVIDIA Grace", PlatformSource::Soc0, Clue::SocId, "jep106:036b:0241"},
	{"NVIDIA Grace", PlatformSource::Soc0, Clue::SocFamily, "jep106:036b", "41:d4f"},
	{"Apple M1", PlatformSource::Devicetree, Clue::DtCompatible, "apple,t8103"},
	{"Apple M1 Pro", PlatformSource::Devicetree, Clue::DtCompatible, "apple,t6000"},
	{"Apple M1 Max", PlatformSource::Devicetree, Clue::DtCompatible, "apple,t6001"},
	{"Apple M1 Ultra", PlatformSource::Devicetree, Clue::DtCompatible, "apple,t6002"},
	{"Apple M2", PlatformSource::Devicetree, Clue::DtCompatible, "apple,t8112"},
	{"Apple M2 Pro", PlatformSource::Devicetree, Clue::DtCompatible, "apple,t6020"},
	{"Apple M2 Max", PlatformSource::Devicetree, Clue::DtCompatible, "apple,t6021"},
	{"Apple M2 Ultra", PlatformSource::Devicetree, Clue::DtCompatible, "apple,t6022"},
	{"QEMU virt", PlatformSource::Devicetree, Clue::DtCompatible, "linux,dummy-virt", "00:*"},
	{"Apple M1", PlatformSource::Midr, Clue::Midr, "61:022 61:023"},
	{"Apple M1 Pro", PlatformSource::Midr, Clue::Midr, "61:024 61:025"},
	{"Apple M1 Max", PlatformSource::Midr, Clue::Midr, "61:028 61:029"},
	{"Apple M2", PlatformSource::Midr, Clue::Midr, "61:032 61:033"},
	{"Apple M2 Pro", PlatformSource::Midr, Clue::Midr, "61:034 61:035"},
	{"Apple M2 Max", PlatformSource::Midr, Clue::Midr, "61:038 61:039"},
	{"AmpereOne", PlatformSource::Midr, Clue::Midr, "c0:ac3 c0:ac4"},
};

/* "41:d0c" matches Neoverse-N1 (implementer 0x41, part 0xd0c); "c0:*" any Ampere core. */
bool coreMatches(const std::string &pattern, std::pair<uint32_t, uint32_t> core)
{
	auto colon = pattern.find(':');
	if (colon == std::string::npos)
		return false;
	std::string part = pattern.substr(colon + 1);
	return std::stoul(pattern.substr(0, colon), nullptr, 16) == core.first &&
	       (part == "*" || std::stoul(part, nullptr, 16) == core.second);
}

bool hasCore(const PlatformFacts &f, const std::string &pattern)
{
	return std::any_of(f.cores.begin(), f.cores.end(), [&](auto core) { return coreMatches(pattern, core); });
}

/* The instance family of an EC2 instance type: "m6g.metal" -> "m6g". */
std::string ec2Family(const PlatformFacts &f)
{
	if (f.dmi_vendor != "Amazon EC2")
		return "";
	return f.dmi_product.substr(0, f.dmi_product.find('.'));
}

/* The value of the facts this line's clue matched, and what to call it; "" no match. */
std::string matchedEvidence(const KnownPlatform &p, const PlatformFacts &f, const std::string &value)
{
	switch (p.clue) {
	case Clue::Ec2Family:
		return ec2Family(f) == value ? "EC2 instance type " + f.dmi_product : "";
	case Clue::DmiVendor:
		if (f.dmi_vendor.empty() || !startsWith(f.dmi_vendor, value))
			return "";
		return f.dmi_product.empty() ? "DMI sys_vendor " + f.dmi_vendor
					     : fmt::format("DMI sys_vendor {}, product {}", f.dmi_vendor, f.dmi_product);
	case Clue::SocFamily:
		return f.soc_family == value ? "soc0 " + (f.soc_id.empty() ? f.soc_family : f.soc_id) : "";
	case Clue::SocId:
		return f.soc_id == value ? "soc0 " + f.soc_id : "";
	case Clue::DtCompatible: {
		const auto &c = f.dt_compatible;
		return std::find(c.begin(), c.end(), value) != c.end() ? "devicetree compatible " + value : "";
	}
	case Clue::Midr:
		return hasCore(f, value) ? fmt::format("MIDR {}", fmt::join(f.midr, ", ")) : "";
	}
	return "";
}

/* The conditions beyond the clue, as the evidence says them: ", Neoverse-N1, 128 CPUs in a socket". */
std::optional<std::string> conditionsMet(const KnownPlatform &p, const PlatformFacts &f)
{
	std::string said;
	if (*p.cores) {
		std::string pattern = p.cores;
		auto core = std::find_if(f.cores.begin(), f.cores.end(), [&](auto c) { return coreMatches(pattern, c); });
		if (core == f.cores.end())
			return std::nullopt;
		said += ", " + decodeMidr(core->first, core->second).core;
	}
	if (p.min_cpus_per_package) {
		if (f.max_cpus_per_package < p.min_cpus_per_package)
			return std::nullopt;
		said += fmt::format(", {} CPUs in a socket", f.max_cpus_per_package);
	}
	return said;
}

/* The evidence for this line, or nullopt when it does not match. */
std::optional<std::string> matchPlatform(const KnownPlatform &p, const PlatformFacts &f)
{
	for (const auto &value : split(p.values, ' ')) {
		std::string evidence = matchedEvidence(p, f, value);
		if (evidence.empty())
			continue;
		auto conditions = conditionsMet(p, f);
		if (conditions)
			return evidence + *conditions;
	}
	return std::nullopt;
}

/* "jep106:0a16:0001" from a sysfs value; "" where it is missing. */
std::string firmwareValue(const std::map<std::string, std::optional<std::string>> &m, const char *key)
{
	auto it = m.find(key);
	return it == m.end() || !it->second ? "" : *it->second;
}

/* The compatible property: NUL-separated strings, most specific first. */
std::vector<std::string> dtCompatible(const std::string &root)
{
	std::vector<std::string> out;
	for (const auto &s : split(readFile(rooted(root, "/sys/firmware/devicetree/base/compatible")).value_or(""), '\0'))
		if (!trim(s).empty())
			out.push_back(trim(s));
	return out;
}

/* "0x413fd0c1" -> (0x41, 0xd0c): MIDR_EL1's implementer [31:24] and part number [15:4]. */
std::vector<std::pair<uint32_t, uint32_t>> midrCores(const std::vector<std::string> &midr)
{
	std::vector<std::pair<uint32_t, uint32_t>> out;
	for (const auto &m : midr) {
		auto v = static_cast<uint32_t>(std::stoul(m, nullptr, 16));
		std::pair<uint32_t, uint32_t> core{v >> 24, (v >> 4) & 0xfff};
		if (std::find(out.begin(), out.end(), core) == out.end())
			out.push_back(core);
	}
	return out;
}

unsigned maxCpusPerPackage(const TopologyInfo &t)
{
	std::map<int, unsigned> per_package;
	for (const auto &c : t.cpus)
		if (c.package_id)
			per_package[*c.package_id]++;
	unsigned most = 0;
	for (const auto &[package, n] : per_package)
		most = std::max(most, n);
	return most;
}

} /* namespace */

const char *platformSourceName(PlatformSource source)
{
	return kPlatformSources.at(static_cast<size_t>(source)).c_str();
}

nlohmann::json Platform::toJson() const
{
	return {{"name", name}, {"evidence", evidence}, {"source", platformSourceName(source)}};
}

PlatformFacts platformFacts(const std::string &root, const Env &env)
{
	PlatformFacts f;
	f.dmi_vendor = firmwareValue(env.firmware.dmi, "sys_vendor");
	f.dmi_product = firmwareValue(env.firmware.dmi, "product_name");
	f.soc_id = firmwareValue(env.firmware.soc, "soc_id");
	f.soc_family = firmwareValue(env.firmware.soc, "family");
	f.dt_compatible = dtCompatible(root);
	f.midr = env.cpu.midr;
	f.cores = midrCores(env.cpu.midr);
	f.max_cpus_per_package = maxCpusPerPackage(env.topology);
	f.cpu_model = env.cpu.model;
	f.hypervisor = env.virt.hypervisor;
	return f;
}

Platform identifyPlatform(const PlatformFacts &facts)
{
	for (const auto &p : kPlatforms)
		if (auto evidence = matchPlatform(p, facts))
			return {p.name, *evidence, p.source};
	/* Unknown: the CPU's name, as results files without env.platform are named. */
	return {cpuMachineName(facts.cpu_model, facts.hypervisor),
		fmt::format("CPU model {}, no known platform", facts.cpu_model.empty() ? "unknown" : facts.cpu_model),
		PlatformSource::Cpu};
}

Platform overridePlatform(const std::string &name)
{
	std::string n = trim(name);
	if (n.empty())
		throw UsageError("--machine: expected a name, not an empty one");
	if (std::any_of(n.begin(), n.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
		throw UsageError("--machine: the name must be one line without control characters");
	return {n, "--machine", PlatformSource::Override};
}

} /* namespace pgt */
