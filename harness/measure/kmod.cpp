// SPDX-License-Identifier: GPL-2.0
#include "kmod.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include "env.h"
#include "errors.h"

namespace pgt {

Kmod::~Kmod()
{
	close(fd_);
}

std::unique_ptr<Kmod> Kmod::open(const std::string &ctl_path, std::string *why)
{
	int fd = ::open(ctl_path.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		*why = fmt::format("cannot open {}: {}", ctl_path, strerror(errno));
		return nullptr;
	}
	pgtbench_info info = {};
	if (::ioctl(fd, PGTBENCH_IOC_INFO, &info) < 0) {
		/* ENOTTY here means a module whose INFO struct differs: another ABI. */
		*why = fmt::format("INFO ioctl on {} failed: {}", ctl_path, strerror(errno));
		close(fd);
		return nullptr;
	}
	if (info.abi_version != PGTBENCH_ABI_VERSION) {
		*why = fmt::format("pgtbench.ko speaks ABI {}, this harness ABI {}: rebuild one of them",
				   info.abi_version, PGTBENCH_ABI_VERSION);
		close(fd);
		return nullptr;
	}
	info.release[sizeof(info.release) - 1] = '\0';
	return std::unique_ptr<Kmod>(new Kmod(fd, info));
}

int Kmod::ioctl(unsigned long cmd, void *arg) const
{
	return ::ioctl(fd_, cmd, arg) < 0 ? -errno : 0;
}

int Kmod::nop(pgtbench_nop *arg) const
{
	return ioctl(PGTBENCH_IOC_NOP, arg);
}

namespace {

/* Each capability: its name in `env`, and the ioctl (PGTBENCH_IOC_<command>) it brings. */
struct CapNames {
	KmodCap cap;
	const char *name;
	const char *command;
};
constexpr CapNames kCaps[] = {
	{KmodCap::Nop, "nop", "NOP"},
	{KmodCap::VmallocStorm, "vmalloc_storm", "VMALLOC_STORM"},
	{KmodCap::MapMemReplay, "map_mem_replay", "MAP_MEM_REPLAY"},
	{KmodCap::VmallocSplit, "vmalloc_split", "VMALLOC_STORM with PGTBENCH_VMALLOC_SPLIT"},
};

const CapNames &namesOf(KmodCap cap)
{
	for (const auto &c : kCaps)
		if (c.cap == cap)
			return c;
	throw RuntimeError("internal: unnamed module capability");
}

std::string notOffered(KmodCap cap)
{
	return std::string("the loaded pgtbench.ko does not offer ") + namesOf(cap).command;
}

} /* namespace */

std::vector<std::string> kmodCapNames(uint64_t caps)
{
	std::vector<std::string> names;
	for (const auto &c : kCaps)
		if (caps & static_cast<uint64_t>(c.cap))
			names.push_back(c.name);
	return names;
}

std::string kmodMissing(const KmodInfo &kmod, KmodCap cap)
{
	if (!kmod.usable)
		return "needs pgtbench.ko (--kmod PATH): " + kmod.detail;
	if (!(kmod.caps & static_cast<uint64_t>(cap)))
		return notOffered(cap);
	return {};
}

std::unique_ptr<Kmod> requireKmod(const Env &env, KmodCap cap)
{
	std::string why;
	std::unique_ptr<Kmod> kmod = Kmod::open(env.kmod.ctl_path, &why);
	if (!kmod)
		throw RuntimeError(why);
	if (!kmod->can(cap))
		throw RuntimeError(notOffered(cap));
	return kmod;
}

KmodLoader::KmodLoader(const std::string &ko_path)
{
	if (access("/sys/module/pgtbench", F_OK) == 0)
		return; /* already loaded: use it, and leave it loaded */
	int fd = ::open(ko_path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		throw UsageError(fmt::format("--kmod {}: {}", ko_path, strerror(errno)));
	long rc = syscall(SYS_finit_module, fd, "", 0);
	int err = errno;
	close(fd);
	if (rc != 0 && err != EEXIST)
		throw RuntimeError(fmt::format("loading {}: {}{}", ko_path, strerror(err),
					       err == ENOEXEC ? " (built for another kernel?)" : ""));
	loaded_ = rc == 0;
}

KmodLoader::~KmodLoader()
{
	if (loaded_ && syscall(SYS_delete_module, "pgtbench", O_NONBLOCK) != 0)
		fmt::print(stderr, "pgtbench: unloading pgtbench.ko: {}\n", strerror(errno));
}

} /* namespace pgt */
