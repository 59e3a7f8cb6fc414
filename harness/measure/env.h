/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What this machine and kernel offer, as a snapshot stored in every results file so a
 * number is never separated from the machine that produced it.
 *
 * Everything that comes from /proc and /sys is read under a root prefix, so the same
 * parsing code runs against fixture trees in the tests. Facts that only a syscall can
 * give (uname, page size, hwloc topology, cpuid) are filled in by probeEnv().
 */
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "machine_state.h"
#include "platform.h"

namespace pgt {

struct ThpSize {
	uint64_t size_bytes = 0;
	unsigned order = 0;
	std::string enabled; /* "always", "inherit", "madvise", "never"; "" without anon control */
	bool anon = false;   /* has hugepages-<N>kB/enabled: offered for anonymous memory */
};

struct ThpInfo {
	bool present = false;	 /* /sys/kernel/mm/transparent_hugepage exists */
	std::string enabled;	 /* global mode */
	std::string defrag;
	uint64_t pmd_size_bytes = 0;
	unsigned pmd_order = 0;
	bool per_size_controls = false; /* hugepages-<N>kB/ directories (mTHP, 6.8+) */
	std::vector<ThpSize> sizes;	/* ascending */
};

struct PerfInfo {
	std::optional<int> paranoid;
	std::vector<std::string> pmus;
	bool kprobe_pmu = false;
	std::optional<int> user_access; /* arm64 /proc/sys/kernel/perf_user_access */
	std::vector<std::string> pfm_pmus; /* libpfm4's PMU models detected on this CPU */
	std::string pfm_error;
};

struct KmodInfo {
	bool loaded = false;
	bool usable = false; /* the ctl file opened and the ABI handshake passed */
	std::string ctl_path;
	std::string detail; /* why not usable, or what it reported */
	uint32_t abi_version = 0;
	uint32_t page_size = 0;
	uint32_t va_bits = 0;
	uint64_t caps = 0; /* PGTBENCH_CAP_* bits (kmod.h: KmodCap) */
	std::string release;
};

struct VirtInfo {
	std::optional<bool> vm; /* nullopt: could not tell */
	std::string hypervisor; /* "KVM", "QEMU virt", "Xen", ... when known */
	std::string evidence;	/* what the verdict is based on */
};

struct CpuInfo {
	std::string model;		/* "Neoverse-N1", "Intel(R) Xeon(R) ...", "Apple M2 Blizzard + Avalanche" */
	std::string vendor;
	std::vector<std::string> midr;	/* distinct MIDR values (arm64) */
	unsigned logical_cpus = 0;	/* processors listed in /proc/cpuinfo */
};

/* What decides whether the kernel loads an unsigned module. */
struct KernelSecurity {
	std::string lockdown;		  /* none, integrity, confidentiality; "" unknown */
	std::optional<bool> sig_enforce;  /* module.sig_enforce */
	std::optional<bool> secure_boot;  /* the EFI SecureBoot variable; false without EFI */
};

/* Active swap areas (/proc/swaps): what the swap-backed scenarios need. */
struct SwapArea {
	std::string name; /* /dev/zram0, /swapfile */
	std::string type; /* partition, file */
	uint64_t size_bytes = 0;
	uint64_t used_bytes = 0;
	int priority = 0;
};

struct SwapInfo {
	bool readable = false; /* /proc/swaps could be read */
	std::vector<SwapArea> areas;
	uint64_t total_bytes = 0;

	/* "" when anonymous memory can be paged out here, else why not. */
	std::string unavailable() const;
};

/* /proc/swaps' text, its header line included. */
SwapInfo parseSwaps(const std::string &text, bool readable);

struct Env {
	std::string root = "/"; /* where /proc and /sys were read; not reported */
	std::string arch;
	CpuInfo cpu;
	unsigned cores = 0;
	unsigned pus = 0;
	unsigned numa_nodes = 0;
	uint64_t page_size_bytes = 0;
	std::string kernel_release;
	std::string kernel_version;
	std::string cmdline;
	std::map<std::string, std::string> cmdline_notes;
	std::string kernel_config_source; /* /boot/config-<release>, /proc/config.gz, "" none */
	KernelSecurity security;
	VirtInfo virt;
	ThpInfo thp;
	uint64_t mem_total_bytes = 0;
	uint64_t mem_available_bytes = 0;
	SwapInfo swap;
	PerfInfo perf;
	KmodInfo kmod;
	NoiseFacts noise; /* the measuring CPU's state (machine_state.h) */
	TopologyInfo topology;
	FirmwareInfo firmware;
	Platform platform; /* which machine this is, by name (platform.h) */

	nlohmann::json toJson() const;
	/* True when the kernel offers anonymous folios of this order. */
	bool offersOrder(unsigned order) const;
	/* The mTHP size entry for an order, if any. */
	const ThpSize *thpSize(unsigned order) const;
};

/* The running kernel's config: /boot/config-<release> (distributions), else
 * /proc/config.gz (CONFIG_IKCONFIG_PROC: custom kernels, the guests); source "" none. */
struct KernelConfig {
	std::string text;
	std::string source;
};
KernelConfig kernelConfig(const std::string &root, const std::string &release);
/* A gzip file's contents; nullopt when unreadable, truncated or corrupt. */
std::optional<std::string> readGzipFile(const std::string &path);
KernelSecurity parseKernelSecurity(const std::string &root);
/* "module.sig_enforce=1, lockdown=integrity, Secure Boot": what refuses unsigned
 * modules here; "" when nothing does. */
std::string moduleRefusalReason(const KernelSecurity &k);

struct EnvSources {
	std::string root = "/";
	std::string arch;		/* uname -m */
	uint64_t page_size_bytes = 4096;
	int cpu = -1;	  /* the measuring CPU, whose noise facts are read; -1 unknown */
	int self_pid = 0; /* our process, whose threads are no competition */
	std::optional<bool> stdout_is_terminal; /* isatty(1) */
};

/* Parse everything readable under sources.root. */
Env collectEnv(const EnvSources &sources);
/* collectEnv("/") plus uname, sysconf, hwloc and cpuid; noise facts of `cpu` (-1: none). */
Env probeEnv(int cpu = -1);

/* Pieces exposed for the tests. */
CpuInfo parseCpuinfo(const std::string &text, const std::string &arch);
std::map<std::string, uint64_t> parseMeminfo(const std::string &text);
std::string thpSelected(const std::string &sysfs_value);
std::map<std::string, std::string> cmdlineNotes(const std::string &cmdline,
						const std::string &kernel_config);
VirtInfo detectVirt(const std::string &root, const std::string &arch, const std::string &cpuinfo);

/* Human, aligned "key  value" lines for `pgtbench env`. */
std::string formatEnv(const Env &env);

} /* namespace pgt */
