"""The boot order of `pgtbench stack`: every stage booted once per round, the rounds one
after the other, the stages of a round in the order given (interleaved: base p1 p2
base p1 p2 ...) or shuffled per round with a recorded seed. Either way each stage's
boots are spread over the whole command, so the host's drift (a VM's neighbours, a
thermal state) lands on every stage alike instead of on the last one."""

from __future__ import annotations

import random
from dataclasses import dataclass

ORDERS = ("interleave", "shuffle")


@dataclass(frozen=True)
class Boot:
    number: int  # 0-based position in the command's sequence of boots
    round: int   # 0-based
    stage: int   # index into the stages, in the order given

    def share(self, rounds: int) -> str:
        """The harness's --share K/R: which part of every variant's repetitions this
        boot runs."""
        return f"{self.round + 1}/{rounds}"


def boot_order(stages: int, rounds: int, order: str = "interleave",
               seed: int | None = None) -> list[Boot]:
    if stages < 1 or rounds < 1:
        raise ValueError("a stack needs at least one stage and one round")
    if order not in ORDERS:
        raise ValueError(f"order {order!r} is not one of {', '.join(ORDERS)}")
    rng = random.Random(seed)
    boots = []
    for r in range(rounds):
        idx = list(range(stages))
        if order == "shuffle":
            rng.shuffle(idx)
        for s in idx:
            boots.append(Boot(len(boots), r, s))
    return boots


def is_interleaved(boots: list[Boot]) -> bool:
    """Every round holds each stage exactly once and rounds do not overlap: what the
    results' run records must show."""
    stages = {b.stage for b in boots}
    rounds = sorted({b.round for b in boots})
    pos = 0
    for r in rounds:
        chunk = boots[pos:pos + len(stages)]
        if len(chunk) != len(stages) or {b.round for b in chunk} != {r} or \
                {b.stage for b in chunk} != stages:
            return False
        pos += len(stages)
    return pos == len(boots)
