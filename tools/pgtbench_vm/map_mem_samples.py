"""The samples document of a tools/boot-map-mem run: for one kernel, an entry per
(memory size, rodata setting) with a map_mem_ms sample per boot and what each boot's
log said, and the guest as far as the host knows it without running anything in it.
`pgtbench import` turns it into the kernel's results file (see harness.py), so the
entries' names, summaries and Google Benchmark records are the harness's own."""

from __future__ import annotations

import dataclasses

from .boot_log import rodata_args

MAP_MEM_SCENARIO = "map_mem_boot"
MAP_MEM_METRIC = "map_mem_ms"
EXECUTABLE = "tools/boot-map-mem"


@dataclasses.dataclass
class MapMemEntry:
    """One (kernel, memory size, rodata) of a tools/boot-map-mem run: a sample per boot."""
    mem_bytes: int
    rodata: str
    status: str = "ok"  # ok | skipped | error
    reason: str = ""
    boots: list[dict] = dataclasses.field(default_factory=list)  # one per boot

    def samples_ms(self) -> list[float]:
        return [b["map_mem_us"] / 1000.0 for b in self.boots
                if b.get("map_mem_us") is not None]


def samples_document(label: str, entries: list[MapMemEntry], *, release: str | None,
                     version: str | None, cmdline: str, cpu_model: str, accel: str,
                     smp: int, page_size: int, reps: int, command_line: list[str],
                     created_utc: str, host_name: str) -> dict:
    """The samples document (the input of `pgtbench import`) of one kernel's boots.

    env describes the guest as far as the host knows it without running anything in
    it: the memory size is a parameter of each entry, so mem_total_bytes is 0 and the
    entries' boots[] carry what each kernel reported."""
    variants = []
    for e in entries:
        variants.append({
            "scenario": MAP_MEM_SCENARIO,
            "params": {"mem_bytes": e.mem_bytes, "rodata": e.rodata},
            "status": e.status,
            "reason": e.reason if e.status != "ok" else "",
            "reps": reps, "warmup": 0,
            "cpu": 0,  # map_mem() runs on the boot CPU, before the others are up
            "metrics": [{"name": MAP_MEM_METRIC, "unit": "ms", "better": "lower",
                         "samples": e.samples_ms() if e.status == "ok" else []}],
            "extra": {"boots": e.boots},
        })
    rodata = rodata_args(cmdline)
    rodata_notes = {"rodata": rodata[-1]} if rodata else {}
    model = cpu_model.split(",")[0]
    return {
        "label": label,
        "command_line": command_line,
        "created_utc": created_utc,
        "context": {"host_name": host_name, "executable": EXECUTABLE, "num_cpus": smp},
        "cpu": 0,
        "config": {
            "path": "", "reps": reps, "warmup": 0, "label": label, "cpu": 0, "filter": "",
            "scenarios": {MAP_MEM_SCENARIO: {
                "mem": sorted({e.mem_bytes for e in entries}),
                "rodata": sorted({e.rodata for e in entries})}},
        },
        "env": {
            "arch": "aarch64",
            # What pgtbench env says in a -cpu max guest ("QEMU max"); other models
            # keep qemu's name for them.
            "cpu": {"model": f"QEMU {model}", "vendor": "QEMU", "midr": []},
            "cores": smp, "pus": smp, "numa_nodes": 1,
            "page_size_bytes": page_size,
            "kernel": {"release": release or "unknown", "version": version or "",
                       "cmdline": cmdline, "cmdline_notes": rodata_notes},
            "virtualization": {
                "vm": True,
                "hypervisor": "QEMU TCG" if accel == "tcg" else "KVM",
                "evidence": f"{EXECUTABLE} booted it: qemu-system-aarch64 "
                            f"-M virt -accel {accel} -cpu {cpu_model}"},
            # Not probed (null): nothing runs in the guest.
            "thp": {"present": None, "enabled": None, "defrag": None,
                    "pmd_size_bytes": None, "pmd_order": None,
                    "per_size_controls": None, "sizes": []},
            "mem_total_bytes": 0,
            "mem_available_bytes": 0,
            "perf": {"paranoid": None, "pmus": [], "kprobe_pmu": False,
                     "user_access": None, "pfm_pmus": [],
                     "pfm_error": "not probed: nothing runs in the guest"},
            "kmod": {"loaded": False, "detail": "not used: the kernel itself prints "
                                                "the time"},
        },
        "variants": variants,
    }
