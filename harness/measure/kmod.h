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
	bool can(uint64_t cap) const { return info_.caps & cap; }
	/* The ioctls return 0 or -errno, as the kernel does. */
	int nop(pgtbench_nop *arg) const;
	int ioctl(unsigned long cmd, void *arg) const;

private:
	Kmod(int fd, const pgtbench_info &info) : fd_(fd), info_(info) {}
	int fd_;
	pgtbench_info info_;
};

std::vector<std::string> kmodCapNames(uint64_t caps);

/*
 * Why a module scenario cannot run: "" when the loaded module passed the handshake and
 * offers `cap` (a kmodCapNames() name), else the reason, naming `command` if it is the
 * module that lacks it.
 */
std::string kmodMissing(const struct KmodInfo &kmod, const std::string &cap, const std::string &command);

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
