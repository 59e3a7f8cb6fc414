// SPDX-License-Identifier: GPL-2.0
#include "kmod.h"

#include <cerrno>
#include <cstring>
#include <map>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>
#include <libkmod.h>

#include "env.h"
#include "errors.h"
#include "util.h"

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
	{KmodCap::PteWalk, "pte_walk", "PTE_WALK"},
	{KmodCap::VmallocKthread, "vmalloc_kthread", "VMALLOC_STORM with PGTBENCH_VMALLOC_KTHREAD"},
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
		return "needs pgtbench.ko (--kmod pgtbench, or --kmod FILE): " + kmod.detail;
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

bool kmodSpecIsPath(const std::string &spec)
{
	if (spec.find('/') != std::string::npos)
		return true;
	for (const char *ext : {".ko", ".ko.xz", ".ko.zst", ".ko.gz"})
		if (spec.size() > strlen(ext) && spec.compare(spec.size() - strlen(ext), std::string::npos, ext) == 0)
			return true;
	return false;
}

std::string vermagicRelease(const std::string &vermagic)
{
	return vermagic.substr(0, vermagic.find(' '));
}

std::string kmodLoadError(const std::string &what, int err, const std::string &module_release,
			  const std::string &kernel_release, const KernelSecurity &security)
{
	std::string msg = fmt::format("loading {}: {}", what, strerror(err));
	std::string refusal = moduleRefusalReason(security);
	if (!module_release.empty() && module_release != kernel_release)
		return msg + fmt::format(" (built for {}, this kernel is {}: build it against this kernel's "
					 "headers, or install pgtbench-dkms)",
					 module_release, kernel_release);
	if ((err == EKEYREJECTED || err == EPERM || err == EACCES || err == ENOKEY) && !refusal.empty()) {
		msg += fmt::format(" (unsigned modules are refused here: {}; sign it with a key the kernel "
				   "trusts, e.g. an enrolled MOK: kmod/README.md",
				   refusal);
		/* LOCKDOWN_DEBUGFS is in the integrity set: signing alone would not do. */
		if (!security.lockdown.empty() && security.lockdown != "none")
			msg += "; lockdown also refuses the debugfs ioctls the module is driven by";
		return msg + ")";
	}
	if (err == ENOEXEC)
		return msg + " (not a module for this kernel: see the kernel log)";
	if (err == ENOENT)
		return msg + " (a symbol it needs is missing: see the kernel log)";
	return msg;
}

namespace {

struct KmodCtx {
	kmod_ctx *ctx = kmod_new(nullptr, nullptr);
	kmod_module *mod = nullptr;
	~KmodCtx()
	{
		if (mod)
			kmod_module_unref(mod);
		if (ctx)
			kmod_unref(ctx);
	}
};

/* The module's .modinfo (name, vermagic, ...): empty when it cannot be read. */
std::map<std::string, std::string> moduleInfo(kmod_module *mod)
{
	std::map<std::string, std::string> out;
	kmod_list *info = nullptr;
	if (kmod_module_get_info(mod, &info) < 0)
		return out;
	kmod_list *l;
	kmod_list_foreach(l, info)
	{
		out.emplace(kmod_module_info_get_key(l), kmod_module_info_get_value(l));
	}
	kmod_module_info_free_list(info);
	return out;
}

} /* namespace */

KmodLoader::KmodLoader(const std::string &spec)
{
	if (access("/sys/module/pgtbench", F_OK) == 0)
		return; /* already loaded: use it, and leave it loaded */
	KmodCtx k;
	if (!k.ctx)
		throw RuntimeError("libkmod: cannot set up a context");
	std::string release = trim(readLine("/proc/sys/kernel/osrelease").value_or(""));
	bool path = kmodSpecIsPath(spec);
	if (path) {
		if (access(spec.c_str(), R_OK) != 0)
			throw UsageError(fmt::format("--kmod {}: {}", spec, strerror(errno)));
		if (int err = kmod_module_new_from_path(k.ctx, spec.c_str(), &k.mod); err < 0)
			throw UsageError(fmt::format("--kmod {}: {}", spec, strerror(-err)));
	} else {
		kmod_list *list = nullptr;
		int err = kmod_module_new_from_lookup(k.ctx, spec.c_str(), &list);
		if (err < 0 || !list)
			throw RuntimeError(fmt::format("--kmod {}: no such module for {} (install it: make "
						       "modules_install and depmod, or pgtbench-dkms; or name the "
						       ".ko file)",
						       spec, release));
		k.mod = kmod_module_get_module(list);
		kmod_module_unref_list(list);
	}
	/*
	 * The name the module gives itself (modpost's name=), not the file's: a file may be
	 * called pgtbench-6.1.ko. Where the file has no readable .modinfo, the file name.
	 */
	auto info = moduleInfo(k.mod);
	const char *file_name = kmod_module_get_name(k.mod);
	std::string name = info.count("name") ? info["name"] : file_name ? file_name : "?";
	if (name != "pgtbench")
		throw UsageError(fmt::format("--kmod {}: that is module {}, not pgtbench", spec, name));
	std::string mod_release = info.count("vermagic") ? vermagicRelease(info["vermagic"]) : "";
	/* Refused here rather than by the kernel: the same answer, without its log line. */
	if (!mod_release.empty() && mod_release != release)
		throw RuntimeError(fmt::format("loading {}: built for {}, this kernel is {} (build it against this "
					       "kernel's headers, or install pgtbench-dkms)",
					       spec, mod_release, release));
	int rc = path ? kmod_module_insert_module(k.mod, 0, "")
		      : kmod_module_probe_insert_module(k.mod, 0, nullptr, nullptr, nullptr, nullptr);
	if (rc == -EEXIST)
		return; /* loaded meanwhile by someone else: theirs to unload */
	if (rc < 0) {
		const char *file = kmod_module_get_path(k.mod);
		throw RuntimeError(kmodLoadError(path ? spec : fmt::format("module {} ({})", spec, file ? file : "?"),
						 -rc, mod_release, release, parseKernelSecurity("/")));
	}
	loaded_ = true;
}

KmodLoader::~KmodLoader()
{
	if (loaded_ && syscall(SYS_delete_module, "pgtbench", O_NONBLOCK) != 0)
		fmt::print(stderr, "pgtbench: unloading pgtbench.ko: {}\n", strerror(errno));
}

} /* namespace pgt */
