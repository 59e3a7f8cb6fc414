"""The stages of `pgtbench stack --git`: a kernel tree's commits BASE..TIP, each built
into an arm64 Image and a pgtbench.ko against that very tree.

One build directory per (tree, config) keeps the objects of the stage before, so a
stage recompiles only what its patch touches: the commits are checked out one after
the other into a private clone (git clone --shared: no objects copied, the user's
checkout and HEAD never touched), where a checkout rewrites only the files that
differ, and kbuild's dependency files do the rest. Each stage's artifacts are cached
by commit and config, so a stack run again boots at once."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cli import UsageError

REPO = Path(__file__).resolve().parents[2]
GUEST_FRAGMENT = REPO / "tools/kconfig/pgtbench-guest.config"
# make targets accepted as --kconfig besides a file: the generic ones every arch has,
# and arch/arm64/configs/*_defconfig.
NAMED_CONFIGS = ("defconfig", "allnoconfig", "tinyconfig")
# A stage's artifacts, cached under <build dir>/stages/<commit>/.
ARTIFACTS = ("Image", "config", "System.map")
# "  CC      mm/mmu_gather.o", "  CC [M]  lib/test_vmalloc.o", "  AS      arch/...o"
COMPILED = re.compile(r"^\s+(?:CC|AS)(?: \[M\])?\s+(\S+\.o)\s*$", re.M)


class StageError(Exception):
    """A stage that cannot be built; the message is one line, the log path is kept."""

    def __init__(self, message, log=None):
        super().__init__(message)
        self.log = log


def git(tree, *args, check=True):
    r = subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        err = (r.stderr.strip().splitlines() or ["no message"])[-1]
        raise UsageError(f"git {' '.join(args)} in {tree}: {err}")
    return r.stdout.strip()


@dataclass
class Commit:
    sha: str
    short: str
    subject: str

    @property
    def label(self) -> str:
        """The results file's label and table row: short hash and subject."""
        slug = re.sub(r"[^A-Za-z0-9._+]+", "-", self.subject).strip("-.")
        return f"{self.short}-{slug}"[:64].rstrip("-._+") if slug else self.short


def resolve_commits(tree: Path, commits: str) -> list[Commit]:
    """BASE..TIP -> [BASE, the commits after it up to TIP], oldest first. Refuses a
    tree that is not a clean git checkout of a kernel and a range that is not a
    linear series above BASE."""
    if not tree.is_dir():
        raise UsageError(f"--git {tree}: not a directory")
    if git(tree, "rev-parse", "--is-inside-work-tree", check=False) != "true":
        raise UsageError(f"--git {tree}: not a git work tree")
    dirty = git(tree, "status", "--porcelain", "-z", "--untracked-files=no")
    if dirty:
        first = dirty.split("\0")[0][3:] if dirty[2:3] == " " else dirty.split("\0")[0].split()[-1]
        raise UsageError(f"--git {tree} has uncommitted changes ({first}, ...): commit or "
                         "stash them (every stage is a commit; the work tree is not built)")
    base, sep, tip = commits.partition("..")
    if not sep or not base or not tip or tip.startswith("."):
        raise UsageError(f"--commits {commits!r}: expected BASE..TIP")
    shas = []
    for name in (base, tip):
        sha = git(tree, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", check=False)
        if not sha:
            raise UsageError(f"--commits {commits}: {name!r} is not a commit of {tree}")
        shas.append(sha)
    if subprocess.run(["git", "-C", str(tree), "merge-base", "--is-ancestor", *shas]).returncode:
        raise UsageError(f"--commits {commits}: {base} is not an ancestor of {tip}")
    lines = git(tree, "rev-list", "--reverse", "--parents", f"{shas[0]}..{shas[1]}").splitlines()
    if not lines:
        raise UsageError(f"--commits {commits}: no commits after {base}")
    for line in lines:
        if len(line.split()) > 2:
            raise UsageError(f"--commits {commits}: {line.split()[0][:12]} is a merge; a stack "
                             "is a linear series of patches")
    out = []
    for sha in [shas[0]] + [l.split()[0] for l in lines]:
        short, subject = git(tree, "log", "-1", "--format=%h%x00%s", sha).split("\0", 1)
        out.append(Commit(sha, short, subject))
    if git(tree, "cat-file", "-t", f"{shas[0]}:arch/arm64/Kconfig", check=False) != "blob":
        raise UsageError(f"--git {tree}: {base} has no arch/arm64/Kconfig (not a Linux tree?)")
    return out


@dataclass
class KernelConfig:
    """--kconfig (a make target or a file) and the fragments merged over it."""
    base: str
    base_file: Path | None
    fragments: list[Path]

    @classmethod
    def parse(cls, kconfig: str, fragments: list[str]) -> "KernelConfig":
        frags = [GUEST_FRAGMENT]
        for f in fragments:
            p = Path(f)
            if not p.is_file():
                raise UsageError(f"--fragment {f} does not exist")
            frags.append(p)
        if kconfig in NAMED_CONFIGS or re.fullmatch(r"[A-Za-z0-9_.-]+_defconfig", kconfig):
            return cls(kconfig, None, frags)
        p = Path(kconfig)
        if not p.is_file():
            raise UsageError(f"--kconfig {kconfig}: neither a file nor one of "
                             f"{', '.join(NAMED_CONFIGS)}, NAME_defconfig")
        text = p.read_text(errors="replace")
        if not re.search(r"^CONFIG_ARM64=y$", text, re.M):
            other = re.search(r"^CONFIG_(X86_64|X86|RISCV|PPC64|S390|ARM)=y$", text, re.M)
            what = f" (it is a CONFIG_{other[1]} config)" if other else ""
            raise UsageError(f"--kconfig {kconfig} is not an arm64 kernel config: no "
                             f"CONFIG_ARM64=y{what}")
        return cls(kconfig, p, frags)

    def key(self) -> str:
        h = hashlib.sha256()
        h.update(self.base.encode() if self.base_file is None else self.base_file.read_bytes())
        for f in self.fragments:
            h.update(b"\0" + f.read_bytes())
        return h.hexdigest()[:16]

    def wanted(self) -> dict[str, str]:
        """CONFIG_X -> value the fragments ask for (the last one wins, as in kconfig);
        "n" for "# CONFIG_X is not set"."""
        out = {}
        for f in self.fragments:
            for line in f.read_text(errors="replace").splitlines():
                m = re.fullmatch(r"(CONFIG_\w+)=(.*)", line.strip())
                n = re.fullmatch(r"# (CONFIG_\w+) is not set", line.strip())
                if m:
                    out[m[1]] = m[2]
                elif n:
                    out[n[1]] = "n"
        return out


def missing_symbols(config_text: str, wanted: dict[str, str]) -> list[str]:
    """What the fragments asked for and the final .config does not have: a symbol the
    tree does not know, or one whose dependencies kconfig could not satisfy."""
    have = {}
    for line in config_text.splitlines():
        m = re.fullmatch(r"(CONFIG_\w+)=(.*)", line)
        if m:
            have[m[1]] = m[2]
    out = []
    for sym, val in wanted.items():
        got = have.get(sym, "n")
        if got != val:
            out.append(f"{sym}={val} (got {'unset' if got == 'n' else got})")
    return out


def cross_env() -> dict[str, str]:
    """ARCH and CROSS_COMPILE for kbuild on this host."""
    env = {"ARCH": "arm64"}
    if platform.machine() not in ("aarch64", "arm64"):
        env["CROSS_COMPILE"] = "aarch64-linux-gnu-"
    return env


def check_toolchain() -> None:
    prefix = cross_env().get("CROSS_COMPILE", "")
    missing = [t for t in (f"{prefix}gcc", "make", "flex", "bison", "bc") if not shutil.which(t)]
    if missing:
        raise UsageError(f"building kernels needs {', '.join(missing)} "
                         "(tools/install-deps --guest installs them)")


def _make(src: Path, obj: Path, targets: list[str], log, jobs: int, cc: str | None):
    args = ["make", "-C", str(src), f"O={obj}", f"-j{jobs}"]
    args += [f"{k}={v}" for k, v in cross_env().items()]
    if cc:
        args.append(f"CC={cc}")
    args += targets
    log.write(f"$ {' '.join(args)}\n")
    log.flush()
    env = dict(os.environ)
    env.pop("MALLOC_PERTURB_", None)  # set by meson test; it slows compilers down
    return subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, env=env).returncode


def _last_errors(log_path: Path) -> str:
    lines = log_path.read_text(errors="replace").splitlines()
    errs = [l.strip() for l in lines if re.search(r"\berror\b|Error \d", l)]
    return (errs[0] if errs else (lines[-1].strip() if lines else "no output"))[:300]


def build_module(kdir: Path, dest: Path, log_path: Path, extra_make: dict[str, str]) -> Path:
    """pgtbench.ko from a copy of kmod/ against kdir (a kernel build tree or Debian's
    headers). StageError on failure, with the log kept."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for f in (REPO / "kmod").iterdir():
        if f.suffix in (".c", ".h") or f.name in ("Kbuild", "Makefile"):
            shutil.copy(f, dest / f.name)
    shutil.copy(REPO / "qemu-plugin/pgtbench_marker.h", dest)
    args = ["make", "-C", str(dest), f"KDIR={kdir.resolve()}"]
    args += [f"{k}={v}" for k, v in extra_make.items()]
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(args)}\n")
        log.flush()
        rc = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT).returncode
    ko = dest / "pgtbench.ko"
    if rc != 0 or not ko.is_file():
        raise StageError(f"pgtbench.ko did not build against {kdir}: {_last_errors(log_path)}",
                         log_path)
    return ko


def module_make_vars(kdir: Path) -> dict[str, str]:
    """Debian's arm64 headers set ARCH and the compiler themselves (.kernelvariables);
    a kernel's own build tree needs them from us."""
    return {} if (kdir / ".kernelvariables").is_file() else cross_env()


@dataclass
class Build:
    """What a stage's build left: artifacts and how it went (build.json)."""
    dir: Path
    info: dict = field(default_factory=dict)

    @property
    def image(self) -> Path:
        return self.dir / "Image"

    @property
    def kmod(self) -> Path | None:
        p = self.dir / "pgtbench.ko"
        return p if p.is_file() else None


class BuildDir:
    """One build directory per kernel tree and config: src/ (a shared clone), obj/
    (kbuild's O=), stages/<commit>/ (artifacts, build.log, build.json)."""

    def __init__(self, cache: Path, tree: Path, config: KernelConfig, jobs: int,
                 ccache: bool):
        tree_id = hashlib.sha256(str(tree.resolve()).encode()).hexdigest()[:8]
        self.root = cache / f"{tree.resolve().name}-{tree_id}-{config.key()}"
        self.tree, self.config, self.jobs = tree.resolve(), config, jobs
        self.src, self.obj = self.root / "src", self.root / "obj"
        prefix = cross_env().get("CROSS_COMPILE", "")
        self.cc = f"ccache {prefix}gcc" if ccache and shutil.which("ccache") else None

    def stage_dir(self, commit: Commit) -> Path:
        return self.root / "stages" / commit.sha

    def cached(self, commit: Commit) -> Build | None:
        d = self.stage_dir(commit)
        try:
            info = json.loads((d / "build.json").read_text())
        except (OSError, ValueError):
            return None
        kmod_hash = kmod_source_hash()
        if not info.get("ok") or not (d / "Image").is_file():
            return None
        if info.get("kmod_source") != kmod_hash or not (d / "pgtbench.ko").is_file():
            return None  # pgtbench.ko is from other module sources: build again
        return Build(d, info)

    def _checkout(self, commit: Commit, log) -> None:
        if not (self.src / ".git").exists():
            shutil.rmtree(self.src, ignore_errors=True)
            self.root.mkdir(parents=True, exist_ok=True)
            # --shared: the clone borrows the tree's objects (commits made there later
            # are visible too) and never writes into the user's repository.
            r = subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout",
                                str(self.tree), str(self.src)], stdout=log,
                               stderr=subprocess.STDOUT)
            if r.returncode:
                raise StageError(f"git clone of {self.tree} failed (see {log.name})", log.name)
        r = subprocess.run(["git", "-C", str(self.src), "-c", "advice.detachedHead=false",
                            "checkout", "-q", "--force", "--detach", commit.sha],
                           stdout=log, stderr=subprocess.STDOUT)
        if r.returncode:
            raise StageError(f"git checkout {commit.short} failed (see {log.name})", log.name)

    def _configure(self, log) -> int:
        self.obj.mkdir(parents=True, exist_ok=True)
        if self.config.base_file is None:
            rc = _make(self.src, self.obj, [self.config.base], log, self.jobs, self.cc)
            if rc:
                return rc
        else:
            shutil.copyfile(self.config.base_file, self.obj / ".config")
        args = ["scripts/kconfig/merge_config.sh", "-m", "-O", str(self.obj),
                str(self.obj / ".config")] + [str(f.resolve()) for f in self.config.fragments]
        log.write(f"$ {' '.join(args)}\n")
        log.flush()
        rc = subprocess.run(args, cwd=self.src, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, **cross_env()}).returncode
        if rc:
            return rc
        return _make(self.src, self.obj, ["olddefconfig"], log, self.jobs, self.cc)

    def build(self, commit: Commit, say) -> Build:
        """Builds one stage (incrementally over whatever obj/ holds); StageError when
        it does not build, with its log kept in the stage directory."""
        d = self.stage_dir(commit)
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        log_path = d / "build.log"
        cold = not (self.obj / "vmlinux").is_file()
        t = time.monotonic()
        with open(log_path, "w") as log:
            self._checkout(commit, log)
            if self._configure(log):
                raise StageError(f"configuring failed: {_last_errors(log_path)}", log_path)
            missing = missing_symbols((self.obj / ".config").read_text(errors="replace"),
                                      self.config.wanted())
            mark = log.tell()
            say(f"building {'from scratch' if cold else 'incrementally'} in {self.obj}"
                f"{' with ccache' if self.cc else ''}")
            rc = _make(self.src, self.obj, ["Image", "modules"], log, self.jobs, self.cc)
        text = log_path.read_text(errors="replace")
        if rc:
            raise StageError(f"the kernel did not build: {_last_errors(log_path)}", log_path)
        compiled = COMPILED.findall(text[mark:])
        kernel_secs = time.monotonic() - t
        for name in ARTIFACTS:
            src = self.obj / ("arch/arm64/boot/Image" if name == "Image" else
                              ".config" if name == "config" else name)
            shutil.copyfile(src, d / name)
        ko = build_module(self.obj, d / "kmod-build", log_path, cross_env())
        shutil.copyfile(ko, d / "pgtbench.ko")
        shutil.rmtree(d / "kmod-build", ignore_errors=True)
        release = (self.obj / "include/config/kernel.release").read_text().strip()
        info = {"ok": True, "commit": commit.sha, "subject": commit.subject,
                "label": commit.label, "kind": "cold" if cold else "incremental",
                "kernel_seconds": round(kernel_secs, 1),
                "seconds": round(time.monotonic() - t, 1),
                "objects_compiled": len(compiled), "compiled": compiled[:200],
                "ccache": bool(self.cc), "kernel_release": release,
                "config_missing": missing, "kmod_source": kmod_source_hash(),
                "build_dir": str(self.obj)}
        (d / "build.json").write_text(json.dumps(info, indent=2) + "\n")
        return Build(d, info)


def kmod_source_hash() -> str:
    h = hashlib.sha256()
    files = sorted(p for p in (REPO / "kmod").iterdir()
                   if p.suffix in (".c", ".h") or p.name in ("Kbuild", "Makefile"))
    for p in files + [REPO / "qemu-plugin/pgtbench_marker.h"]:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]
