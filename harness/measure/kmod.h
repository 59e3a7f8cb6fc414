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

/* What a module scenario needs of the loaded module: a PGTBENCH_CAP_* bit. */
enum class KmodCap : uint64_t {
	Nop = PGTBENCH_CAP_NOP,
	VmallocStorm = PGTBENCH_CAP_VMALLOC_STORM,
	MapMemReplay = PGTBENCH_CAP_MAP_MEM_REPLAY,
	VmallocSplit = PGTBENCH_CAP_VMALLOC_SPLIT,
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
 * Load a module file for this run (finit_module). Unloads it again when destroyed
 * if it was this object that loaded it: a run leaves the machine as it found it.
 */
class KmodLoader
{
public:
	/* Throws UsageError for a missing/unreadable file, RuntimeError if the kernel refuses. */
	explicit KmodLoader(const std::string &ko_path);
	~KmodLoader();
	KmodLoader(const KmodLoader &) = delete;
	KmodLoader &operator=(const KmodLoader &) = delete;
	bool loadedByUs() const { return loaded_; }

private:
	bool loaded_ = false;
};

} /* namespace pgt */
