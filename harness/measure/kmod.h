/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The harness side of pgtbench.ko: loading it, the ABI handshake, and the ioctls.
 * The ABI itself is kmod/pgtbench_abi.h, shared with the module.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pgtbench_abi.h"

namespace pgt {

struct Env;
struct KmodInfo;
struct KernelSecurity;

/* What a module scenario needs of the loaded module: a PGTBENCH_CAP_* bit. */
enum class KmodCap : uint64_t {
	Nop = PGTBENCH_CAP_NOP,
	VmallocStorm = PGTBENCH_CAP_VMALLOC_STORM,
	MapMemReplay = PGTBENCH_CAP_MAP_MEM_REPLAY,
	VmallocSplit = PGTBENCH_CAP_VMALLOC_SPLIT,
	PteWalk = PGTBENCH_CAP_PTE_WALK,
	VmallocKthread = PGTBENCH_CAP_VMALLOC_KTHREAD,
};

/* An open ctl file whose module passed the version handshake. */
class Kmod
{
public:
	~Kmod();
	Kmod(const Kmod &) = delete;
	Kmod &operator=(const Kmod &) = delete;

	/* nullptr with *why set when the file is missing, not ours, or speaks another ABI. */
	static std::unique_ptr<Kmod> open(const std::string &ctl_path, std::string *why);

	const pgtbench_info &info() const { return info_; }
	bool can(KmodCap cap) const { return info_.caps & static_cast<uint64_t>(cap); }
	/* The ioctls return 0 or -errno, as the kernel does. */
	int nop(pgtbench_nop *arg) const;
	int ioctl(unsigned long cmd, void *arg) const;

private:
	Kmod(int fd, const pgtbench_info &info) : fd_(fd), info_(info) {}
	int fd_;
	pgtbench_info info_;
};

/* The names of the PGTBENCH_CAP_* bits set in `caps`, in bit order. */
std::vector<std::string> kmodCapNames(uint64_t caps);

/*
 * Why a module scenario cannot run (its `supported`): "" when the loaded module passed
 * the handshake and offers `cap`, else the reason.
 */
std::string kmodMissing(const KmodInfo &kmod, KmodCap cap);
/* The module, opened for a variant that needs `cap`; throws RuntimeError with the reason. */
std::unique_ptr<Kmod> requireKmod(const Env &env, KmodCap cap);

/*
 * Load pgtbench.ko for this run: `spec` is a module name ("pgtbench": modprobe's
 * semantics through libkmod, the running kernel's modules.dep, its options from
 * modprobe.d) or a file (anything with a '/' or ending in .ko, .ko.xz, .ko.zst,
 * .ko.gz; libkmod decompresses what the kernel cannot). Unloads it again when destroyed
 * if it was this object that loaded it: a run leaves the machine as it found it. A
 * module already loaded is used and left loaded.
 */
class KmodLoader
{
public:
	/*
	 * Throws UsageError for a file that is missing or not pgtbench, RuntimeError with
	 * the reason in one line when it cannot be loaded: no such module for this kernel,
	 * built for another release (both named), unsigned where signatures are enforced.
	 */
	explicit KmodLoader(const std::string &spec);
	~KmodLoader();
	KmodLoader(const KmodLoader &) = delete;
	KmodLoader &operator=(const KmodLoader &) = delete;
	bool loadedByUs() const { return loaded_; }

private:
	bool loaded_ = false;
};

/* Whether --kmod names a file rather than a module to look up. */
bool kmodSpecIsPath(const std::string &spec);
/* The release in a module's vermagic ("6.12.57+deb13-arm64 SMP preempt mod_unload ..."). */
std::string vermagicRelease(const std::string &vermagic);
/*
 * The one line for a module the kernel refused with errno err: the module's and the
 * kernel's releases when they differ, what enforces signatures when one does.
 */
std::string kmodLoadError(const std::string &what, int err, const std::string &module_release,
			  const std::string &kernel_release, const KernelSecurity &security);

} /* namespace pgt */
