/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which machine this is, by the name the mm threads give it in a cover letter
 * ("Ampere Altra", "Graviton2", "Apple M2"), and the evidence that named it.
 *
 * The CPU alone cannot say it: an Ampere Altra and an AWS Graviton2 are both
 * Neoverse-N1, so two such files of one memory size would meet in one column. The
 * firmware can: DMI (/sys/class/dmi/id), the SMCCC SOC_ID (/sys/devices/soc0), the
 * EC2 instance type, the device tree's compatible. platform.cpp holds the table of
 * known platforms, one line each with the evidence it matches on; a machine it does
 * not know keeps the CPU's name. `run --machine NAME` overrides the verdict.
 *
 * Recorded as env.platform {name, evidence, source} (results/schema.json); compare
 * reads only that, never this table.
 */
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgt {

struct Env;

/* Where a platform's name came from: results/schema.json's env.platform.source. */
enum class PlatformSource { Override, Ec2, Dmi, Soc0, Devicetree, Midr, Cpu };
/* "override", "ec2", "dmi", "soc0", "devicetree", "midr", "cpu" */
const char *platformSourceName(PlatformSource source);

struct Platform {
	std::string name;     /* "Ampere Altra"; the CPU's name when no platform matched */
	std::string evidence; /* "DMI sys_vendor Ampere(R), product Mt.Jade" */
	PlatformSource source = PlatformSource::Cpu;

	nlohmann::json toJson() const;
};

/* What a platform is recognised by, as this machine shows it. */
struct PlatformFacts {
	std::string dmi_vendor;  /* /sys/class/dmi/id/sys_vendor */
	std::string dmi_product; /* /sys/class/dmi/id/product_name: the instance type on EC2 */
	std::string soc_id;	 /* /sys/devices/soc0/soc_id: "jep106:0a16:0001" */
	std::string soc_family;	 /* /sys/devices/soc0/family: "jep106:0a16" */
	std::vector<std::string> dt_compatible; /* /sys/firmware/devicetree/base/compatible */
	/* Distinct (implementer, part) of the CPUs' MIDR_EL1 values, /proc/cpuinfo. */
	std::vector<std::pair<uint32_t, uint32_t>> cores;
	std::vector<std::string> midr;	 /* as env.cpu.midr lists them */
	unsigned max_cpus_per_package = 0; /* most CPUs sharing a physical_package_id */
	std::string cpu_model;		 /* env.cpu.model, for the fallback name */
	std::string hypervisor;		 /* env.virtualization.hypervisor */
};

/* The facts of an Env collected under `root` (its firmware, CPUs and topology). */
PlatformFacts platformFacts(const std::string &root, const Env &env);
/* The first platform of the table the facts match; the CPU's name when none does. */
Platform identifyPlatform(const PlatformFacts &facts);
/* `run --machine NAME`; UsageError for a name that is empty, blank or not one line. */
Platform overridePlatform(const std::string &name);

} /* namespace pgt */
