#!/usr/bin/python3
"""Unit tests of `pgtbench stack`'s pieces that need neither qemu nor a kernel build: the
boot order (interleaved, shuffled with a seed), stage labels, --kconfig and fragments,
the commit range of a git tree (on a tiny repository), how a boot's outcome is read from
tools/vm's output, and the command line's refusals. The command-line checks need a native
pgtbench ($PGTBENCH, else build/pgtbench).

    /usr/bin/python3 tests/guest/test_stack_unit.py
"""

import os
import shutil
import subprocess
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import testlib  # noqa: E402
from testlib import REPO  # noqa: E402

sys.path.insert(0, str(REPO / "tools"))
from pgtbench_vm.cli import UsageError  # noqa: E402
from pgtbench_vm.stack_build import (GUEST_FRAGMENT, Commit, KernelConfig,  # noqa: E402
                                     missing_symbols, resolve_commits)
from pgtbench_vm.stack_plan import Boot, boot_order, is_interleaved  # noqa: E402

STACK = REPO / "tools/stack"


def load_stack_module():
    """tools/stack as a module (it has no .py suffix), for boot_outcome."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("pgtbench_stack", str(STACK))
    spec = importlib.util.spec_from_loader("pgtbench_stack", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


class BootOrder(unittest.TestCase):
    def test_interleaved_order_boots_every_stage_once_per_round_in_stack_order(self):
        boots = boot_order(3, 2)
        self.assertEqual([(b.round, b.stage) for b in boots],
                         [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)])
        self.assertEqual([b.number for b in boots], list(range(6)))
        self.assertTrue(is_interleaved(boots))

    def test_each_round_runs_its_share_of_the_repetitions(self):
        self.assertEqual([b.share(3) for b in boot_order(1, 3)], ["1/3", "2/3", "3/3"])

    def test_shuffled_order_is_reproducible_from_its_seed_and_still_interleaved(self):
        a, b = boot_order(5, 4, "shuffle", 1234), boot_order(5, 4, "shuffle", 1234)
        self.assertEqual(a, b)
        self.assertTrue(is_interleaved(a))
        self.assertNotEqual([x.stage for x in a], [x.stage for x in boot_order(5, 4)])

    def test_stage_after_stage_is_not_interleaved(self):
        blocks = [Boot(i, i % 2, i // 2) for i in range(6)]  # 0 0 1 1 2 2
        self.assertFalse(is_interleaved(blocks))

    def test_bad_orders_are_refused(self):
        with self.assertRaises(ValueError):
            boot_order(0, 1)
        with self.assertRaises(ValueError):
            boot_order(2, 1, "random")


class Labels(unittest.TestCase):
    def test_a_commit_is_labelled_by_short_hash_and_subject_within_the_label_rule(self):
        c = Commit("a" * 40, "1a2b3c4", "mm: batch the TLB flush in munmap (v2)")
        self.assertEqual(c.label, "1a2b3c4-mm-batch-the-TLB-flush-in-munmap-v2")
        long = Commit("b" * 40, "1a2b3c4", "x" * 100)
        self.assertEqual(len(long.label), 64)
        self.assertEqual(Commit("c" * 40, "1a2b3c4", "!!!").label, "1a2b3c4")


class Kconfig(testlib.TempDirCase):
    def test_named_targets_need_no_file_and_the_guest_fragment_comes_first(self):
        for name in ("defconfig", "allnoconfig", "tinyconfig", "virt_defconfig"):
            k = KernelConfig.parse(name, [])
            self.assertEqual((k.base, k.base_file, k.fragments), (name, None, [GUEST_FRAGMENT]))

    def test_a_config_file_must_be_arm64(self):
        arm = self.tmp / "arm64.config"
        arm.write_text("CONFIG_ARM64=y\nCONFIG_64BIT=y\n")
        self.assertEqual(KernelConfig.parse(str(arm), []).base_file, arm)
        x86 = self.tmp / "x86.config"
        x86.write_text("CONFIG_X86_64=y\nCONFIG_64BIT=y\n")
        with self.assertRaisesRegex(UsageError, r"not an arm64 kernel config.*CONFIG_X86_64"):
            KernelConfig.parse(str(x86), [])
        with self.assertRaisesRegex(UsageError, "neither a file nor"):
            KernelConfig.parse(str(self.tmp / "missing"), [])
        with self.assertRaisesRegex(UsageError, "--fragment .* does not exist"):
            KernelConfig.parse("defconfig", [str(self.tmp / "nofrag")])

    def test_the_cache_key_changes_with_the_config_and_the_fragments(self):
        frag = self.tmp / "extra.config"
        frag.write_text("CONFIG_NUMA=y\n")
        keys = {KernelConfig.parse("defconfig", []).key(),
                KernelConfig.parse("allnoconfig", []).key(),
                KernelConfig.parse("defconfig", [str(frag)]).key()}
        self.assertEqual(len(keys), 3)

    def test_symbols_the_final_config_did_not_take_are_listed(self):
        frag = self.tmp / "extra.config"
        frag.write_text("CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=\"x\"\n")
        wanted = KernelConfig("defconfig", None, [frag]).wanted()
        self.assertEqual(wanted, {"CONFIG_A": "y", "CONFIG_B": "m", "CONFIG_C": "n",
                                  "CONFIG_D": '"x"'})
        final = "CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\n"
        self.assertEqual(missing_symbols(final, wanted),
                         ["CONFIG_B=m (got y)", "CONFIG_C=n (got y)", 'CONFIG_D="x" (got unset)'])

    def test_the_shipped_fragment_is_a_fragment(self):
        wanted = KernelConfig("defconfig", None, [GUEST_FRAGMENT]).wanted()
        for sym in ("CONFIG_SERIAL_AMBA_PL011_CONSOLE", "CONFIG_VIRTIO_CONSOLE",
                    "CONFIG_TRANSPARENT_HUGEPAGE", "CONFIG_ARM64_CONTPTE", "CONFIG_DEBUG_FS",
                    "CONFIG_KPROBES", "CONFIG_PERF_EVENTS", "CONFIG_MODULES", "CONFIG_IKCONFIG_PROC",
                    "CONFIG_PROC_PAGE_MONITOR", "CONFIG_BLK_DEV_INITRD"):
            self.assertEqual(wanted.get(sym), "y", sym)


class CommitRange(testlib.TempDirCase):
    def git(self, *args):
        return subprocess.run(["git", "-C", str(self.repo), "-c", "user.name=t", "-c",
                               "user.email=t@t.invalid", *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    def setUp(self):
        super().setUp()
        self.repo = self.tmp / self._testMethodName
        (self.repo / "arch/arm64").mkdir(parents=True)
        (self.repo / "arch/arm64/Kconfig").write_text("config ARM64\n")
        self.git("init", "-q", "-b", "main")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "base")
        self.git("tag", "base")
        for i in (1, 2):
            (self.repo / f"p{i}.c").write_text(f"{i}\n")
            self.git("add", "-A")
            self.git("commit", "-q", "-m", f"mm: patch {i}")
        self.git("tag", "tip")

    def test_stages_are_base_then_every_commit_up_to_tip_oldest_first(self):
        commits = resolve_commits(self.repo, "base..tip")
        self.assertEqual([c.subject for c in commits], ["base", "mm: patch 1", "mm: patch 2"])
        self.assertEqual(commits[0].sha, self.git("rev-parse", "base"))

    def test_refusals_say_what_is_wrong_in_one_line(self):
        cases = [("base", "expected BASE..TIP"), ("base..nope", "'nope' is not a commit"),
                 ("tip..base", "not an ancestor"), ("tip..tip", "no commits after tip")]
        for commits, needle in cases:
            with self.subTest(commits=commits):
                with self.assertRaisesRegex(UsageError, needle) as cm:
                    resolve_commits(self.repo, commits)
                self.assertNotIn("\n", str(cm.exception))

    def test_a_dirty_tree_is_refused_and_untracked_files_are_not_dirt(self):
        (self.repo / "untracked.txt").write_text("x\n")
        resolve_commits(self.repo, "base..tip")
        (self.repo / "p1.c").write_text("changed\n")
        with self.assertRaisesRegex(UsageError, r"uncommitted changes \(p1.c"):
            resolve_commits(self.repo, "base..tip")

    def test_a_merge_in_the_range_is_refused(self):
        self.git("checkout", "-q", "-b", "side", "base")
        (self.repo / "side.c").write_text("s\n")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "side")
        self.git("checkout", "-q", "main")
        self.git("merge", "-q", "--no-edit", "side")
        with self.assertRaisesRegex(UsageError, "is a merge"):
            resolve_commits(self.repo, "base..main")

    def test_a_tree_without_arm64_is_not_a_kernel(self):
        self.git("rm", "-q", "-r", "arch")
        self.git("commit", "-q", "-m", "no arch")
        self.git("tag", "noarch")
        self.git("commit", "-q", "--allow-empty", "-m", "after")
        with self.assertRaisesRegex(UsageError, "no arch/arm64/Kconfig"):
            resolve_commits(self.repo, "noarch..main")


class BootOutcome(testlib.TempDirCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack = load_stack_module()

    def boot_dir(self, console="", results=True):
        d = self.tmp / "boot"
        shutil.rmtree(d, ignore_errors=True)
        (d / "results").mkdir(parents=True)
        (d / "console.log").write_text(console)
        if results:
            (d / "results/run.json").write_text("{}")
        (d / "stderr.txt").write_text("pgtbench: bad thing\n")
        return d

    def test_a_clean_boot_with_results_is_merged_even_when_a_variant_failed(self):
        d = self.boot_dir("Linux version 6.12\n")
        for code in (0, 1, 4):
            self.assertIsNone(self.stack.boot_outcome(0, {"outcome": "ok", "exit_code": code}, d))

    def test_a_panic_is_named_with_its_line(self):
        d = self.boot_dir("Linux version 6.12\nKernel panic - not syncing: oops here\n", False)
        why = self.stack.boot_outcome(125, {"outcome": "no-results", "splats": []}, d)
        self.assertRegex(why, r"^kernel panic: .*not syncing: oops here")

    def test_a_warning_fails_the_boot(self):
        d = self.boot_dir("Linux version 6.12\n")
        why = self.stack.boot_outcome(6, {"outcome": "kernel-splat",
                                          "splats": ["WARNING: CPU: 0 PID: 1 at mm/x.c:1"],
                                          "exit_code": 0}, d)
        self.assertRegex(why, r"^kernel WARNING/BUG: WARNING: CPU: 0")

    def test_silence_on_the_console_is_a_kernel_that_did_not_boot(self):
        d = self.boot_dir("", False)
        self.assertRegex(self.stack.boot_outcome(125, {"outcome": "no-results"}, d),
                         "^did not boot")

    def test_counts_that_did_not_merge_fail_the_boot_of_a_counted_stack(self):
        d = self.boot_dir("Linux version 6.12\n")
        why = self.stack.boot_outcome(125, {"outcome": "count-failed", "exit_code": 0,
                                            "count": {"problem": "window 3 missing"}}, d)
        self.assertEqual(why, "emulator counts: window 3 missing")

    def test_a_timeout_and_a_usage_error_say_so(self):
        d = self.boot_dir("Linux version 6.12\n", False)
        self.assertRegex(self.stack.boot_outcome(3, {"outcome": "timeout"}, d), "timeout")
        d = self.boot_dir("Linux version 6.12\n", False)
        self.assertEqual(self.stack.boot_outcome(2, {"outcome": "command-failed", "exit_code": 2}, d),
                         "pgtbench run exited 2: pgtbench: bad thing")


@testlib.needs_pgtbench
class CommandLine(testlib.TempDirCase):
    def stack(self, *args):
        env = dict(os.environ, PGTBENCH=str(testlib.PGTBENCH))
        return subprocess.run(["/usr/bin/python3", STACK, *map(str, args)], capture_output=True,
                              text=True, env=env, timeout=120)

    def refused(self, needle, *args):
        r = self.stack(*args)
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(needle, lines[0])

    def setUp(self):
        super().setUp()
        self.toml = self.tmp / "c.toml"
        self.toml.write_text("[run]\nreps = 6\n[null]\n")
        self.image = self.tmp / "Image"
        self.image.write_bytes(b"\0" * 64)
        self.exe = self.tmp / "pgtbench-aarch64"
        self.exe.write_bytes(b"\0")

    def common(self):
        return ["--config", self.toml, "--pgtbench", self.exe]

    def test_stages_come_from_kernels_or_from_git_never_both_or_neither(self):
        self.refused("either as --kernel", *self.common())
        self.refused("either as --kernel", "--kernel", f"a={self.image}", "--git", self.tmp,
                     *self.common())

    def test_git_options_need_git_and_kernel_options_need_kernels(self):
        self.refused("--git needs --commits", "--git", self.tmp, *self.common())
        self.refused("--commits is for --git", "--kernel", f"a={self.image}", "--commits", "a..b",
                     *self.common())
        self.refused("no --kernel is labelled 'b'", "--kernel", f"a={self.image}", "--kdir",
                     f"b={self.tmp}", *self.common())

    def test_more_rounds_than_repetitions_is_refused_by_the_harness_before_any_boot(self):
        self.refused("fewer than the 7 rounds", "--kernel", f"a={self.image}", "--rounds", "7",
                     *self.common())

    def test_a_missing_config_and_a_seed_without_shuffle_are_refused(self):
        self.refused("does not exist", "--kernel", f"a={self.image}", "--config",
                     self.tmp / "none.toml", "--pgtbench", self.exe)
        self.refused("--seed is for --order shuffle", "--kernel", f"a={self.image}", "--seed", "1",
                     *self.common())

    def test_help_describes_the_command(self):
        r = self.stack("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--commits BASE..TIP", r.stdout)
        self.assertIn("Exit status", r.stdout)


if __name__ == "__main__":
    unittest.main()
